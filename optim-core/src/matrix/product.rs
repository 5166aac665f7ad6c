//! Matrix products: `dst = alpha * (a · b) + beta * c` on faer's gemm.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par, unzip, zip};
use half::bf16;

use super::element::MatrixElement;
use super::scratch::{MatrixScratch, mat_ref};
use super::view::{MatView, Rounding};

/// `value` rounded to the nearest bfloat16, ties to even (NaN stays NaN).
pub(super) fn round_bf16(value: f32) -> f32 {
    bf16::from_f32(value).to_f32()
}

/// Rows of a product's result below which it is not split between threads.
const SPLIT_BELOW_ROWS: usize = 64;

/// `dst (accum) alpha * a · b` on `threads` threads: the rows of `dst` (and of `a`) cut into
/// `threads` bands, each computed by faer's sequential gemm, the bands run with `rayon::join`.
///
/// faer's own parallel gemm allocates its job tables and thread-team state on every call; a
/// sequential gemm per band allocates nothing once its thread's buffers are warm, and
/// `rayon::join` allocates nothing either. Each element of the result is the same whatever the
/// bands: faer's sequential gemm sums over the inner dimension in an order that does not depend
/// on the number of rows it is given (checked for bands of 1 to 512 rows on every Newton–Schulz
/// shape), so the result does not depend on the thread count.
pub(super) fn banded_matmul<U: faer::traits::RealField + Copy>(
    dst: MatMut<'_, U>,
    accum: Accum,
    a: MatRef<'_, U>,
    b: MatRef<'_, U>,
    alpha: U,
    threads: usize,
) {
    let rows = dst.nrows();
    if threads <= 1 || rows < SPLIT_BELOW_ROWS || b.ncols() == 1 {
        return matmul(dst, accum, a, b, alpha, Par::Seq);
    }
    let upper = threads / 2;
    // a band boundary on a multiple of 16 rows keeps each band's microkernel tiles whole
    let middle = ((rows * upper / threads) & !15).clamp(1, rows - 1);
    let (top, bottom) = dst.split_at_row_mut(middle);
    let (a_top, a_bottom) = a.split_at_row(middle);
    rayon::join(
        || banded_matmul(top, accum, a_top, b, alpha, upper),
        || banded_matmul(bottom, accum, a_bottom, b, alpha, threads - upper),
    );
}

/// Rows per band of a symmetric product: each band computes its rows up to the diagonal.
const SYMMETRIC_BAND: usize = 64;

/// The lower triangle (and the diagonal blocks) of a symmetric `dst (accum) alpha * a · b`:
/// bands of [`SYMMETRIC_BAND`] rows, band `[r0, r1)` computing columns `0..r1` with faer's
/// sequential gemm, about half the flops of the whole product. The bands are fixed whatever the
/// thread count and are shared between `threads` threads by work, so the result does not
/// depend on the thread count; and each element is the one the whole product gives (faer's
/// sequential gemm sums each element in an order that depends on neither the rows nor the
/// columns it is given). The caller mirrors the lower triangle.
fn lower_banded_matmul<U: faer::traits::RealField + Copy>(
    dst: MatMut<'_, U>,
    first_row: usize,
    accum: Accum,
    a: MatRef<'_, U>,
    b: MatRef<'_, U>,
    alpha: U,
    threads: usize,
) {
    let rows = dst.nrows();
    // whole bands, the last one taking the remainder: a band of one row would be a
    // matrix-vector product, which faer sums in another order
    let bands = (rows / SYMMETRIC_BAND).max(1);
    let band_end = |band: usize| if band + 1 == bands { rows } else { (band + 1) * SYMMETRIC_BAND };
    if threads <= 1 || bands < 2 {
        let mut dst = dst;
        for band in 0..bands {
            let (r0, r1) = (band * SYMMETRIC_BAND, band_end(band));
            let end = first_row + r1;
            let block = dst.as_mut().submatrix_mut(r0, 0, r1 - r0, end);
            matmul(block, accum, a.subrows(r0, r1 - r0), b.subcols(0, end), alpha, Par::Seq);
        }
        return;
    }
    // a band's work grows with its last row: split where the upper part holds its share
    let upper = threads / 2;
    let work = |band: usize| first_row + band_end(band);
    let total: usize = (0..bands).map(work).sum();
    let (mut split, mut done) = (0, 0);
    while split < bands - 1 && (done + work(split)) * threads <= total * upper {
        done += work(split);
        split += 1;
    }
    let middle = split.max(1) * SYMMETRIC_BAND;
    let (top, bottom) = dst.split_at_row_mut(middle);
    let (a_top, a_bottom) = a.split_at_row(middle);
    rayon::join(
        || lower_banded_matmul(top, first_row, accum, a_top, b, alpha, upper),
        || lower_banded_matmul(bottom, first_row + middle, accum, a_bottom, b, alpha, threads - upper),
    );
}

/// Copies the upper triangle of square row-major `dst` onto its lower triangle, in tiles, so
/// that the column-wise reads of one tile stay in cache (an element-by-element transpose of a
/// 1024 x 1024 matrix misses the cache on every read).
fn mirror_upper<U: Copy>(dst: &mut [U], n: usize) {
    const TILE: usize = 32;
    for i0 in (0..n).step_by(TILE) {
        for j0 in (0..=i0).step_by(TILE) {
            for i in i0..(i0 + TILE).min(n) {
                for j in j0..(j0 + TILE).min(i) {
                    dst[i * n + j] = dst[j * n + i];
                }
            }
        }
    }
}

/// `dst = beta * c` when `c` lies elsewhere, the accumulation mode faer's product then takes, and
/// whether `dst` already holds `c` (accumulation in place, scaled here).
fn seed<U: faer::traits::RealField + Copy>(
    dst: MatMut<'_, U>,
    c: Option<(U, Option<MatRef<'_, U>>)>,
    one: U,
    zero: U,
) -> Accum {
    match c {
        None => Accum::Replace,
        // as BLAS and torch.addmm: a zero beta ignores c (NaN or infinity in c do not propagate)
        Some((beta, _)) if beta == zero => Accum::Replace,
        Some((beta, None)) => {
            if beta != one {
                zip!(dst).for_each(|unzip!(x)| *x = beta * *x);
            }
            Accum::Add
        }
        Some((beta, Some(c))) => {
            zip!(dst, c).for_each(|unzip!(x, y)| *x = beta * *y);
            Accum::Add
        }
    }
}

impl<T: MatrixElement> MatrixScratch<T> {
    /// `dst = alpha * (a · b) + beta * c` (`c` optional), row-major and not transposed.
    ///
    /// `dst` differs from `a.buffer` and `b.buffer`; it may equal `c`'s buffer when `c` is not
    /// transposed (accumulation in place). `alpha` and `beta` are converted to `T` first, as
    /// torch converts Python floats for `addmm` on a tensor of dtype `T`; a zero `beta` ignores
    /// `c` (as BLAS and `torch.addmm` do). With [`Rounding::Bf16`] the product accumulates in
    /// `f32` (also when `T` is `f64`) and `beta * c + alpha * (a · b)` is rounded once to
    /// bfloat16, as `torch.addmm` on bfloat16 tensors on the CPU; the operands should then hold
    /// bfloat16 values.
    ///
    /// Runs on faer's sequential gemm, one band of the result's rows per thread of the current
    /// rayon pool (see [`Self::set_parallel`] and the [module docs](super)); a product with one
    /// row or one column runs on the calling thread.
    ///
    /// ```
    /// use optim_core::matrix::{MatrixScratch, Rounding};
    ///
    /// let mut s = MatrixScratch::<f64>::new();
    /// let a = s.load(0, &[1.0, 2.0, 3.0, 4.0], 2, 2);
    /// let b = s.load(1, &[1.0, 0.0, 1.0, 1.0], 2, 2);
    /// let c = s.load(2, &[10.0, 10.0, 10.0, 10.0], 2, 2);
    /// // in place: buffer 2 = 2 * (a · bᵀ) + 0.5 * buffer 2
    /// let d = s.gemm(2, 2.0, a, b.t(), Some((0.5, c)), Rounding::Exact);
    /// let mut out = [0.0; 4];
    /// s.store(d, &mut out);
    /// assert_eq!(out, [7.0, 11.0, 11.0, 19.0]);
    /// ```
    ///
    /// # Panics
    /// On mismatched shapes, or a `dst` the rules above forbid.
    pub fn gemm(
        &mut self,
        dst: usize,
        alpha: f64,
        a: MatView,
        b: MatView,
        c: Option<(f64, MatView)>,
        rounding: Rounding,
    ) -> MatView {
        let (m, k, n) = (a.rows, a.cols, b.cols);
        assert_eq!(k, b.rows, "gemm: {}x{} · {}x{}", a.rows, a.cols, b.rows, b.cols);
        assert!(dst != a.buffer && dst != b.buffer, "gemm: destination {dst} is an operand");
        let out = MatView { buffer: dst, rows: m, cols: n, transposed: false };
        if let Some((_, c)) = c {
            assert!(c.same_shape(&out), "gemm: c is {}x{}, the product {m}x{n}", c.rows, c.cols);
            assert!(c.buffer != dst || !c.transposed, "gemm: in-place accumulation into a transposed c");
        }
        let threads = if m == 1 || n == 1 { 1 } else { self.threads() };
        // X·Xᵀ, or a product of a symmetric matrix with itself, plus a symmetric c: the result
        // is symmetric, and half of it is computed
        let gram = a.buffer == b.buffer && a.transposed != b.transposed && a.rows == b.cols && a.cols == b.rows;
        let square_of_symmetric = a == b && self.is_symmetric(a);
        let symmetric = (gram || square_of_symmetric) && c.is_none_or(|(beta, c)| beta == 0.0 || self.is_symmetric(c));
        if rounding == Rounding::Bf16 && !T::IS_F32 {
            self.gemm_in_f32(dst, alpha, a, b, c, threads);
        } else {
            let mut d = self.take(dst, m * n);
            let source = c.map(|(beta, c)| (T::from_f64(beta), (c.buffer != dst).then(|| self.mat(c))));
            // a symmetric result is the same array row-major or column-major: it is computed
            // column-major, where faer's gemm keeps its speed on bands of few rows (row-major,
            // a band of 64 rows ran at the speed of the whole product); its lower triangle there
            // is the row-major upper one
            let mut dm = if symmetric {
                MatMut::from_column_major_slice_mut(&mut d[..m * n], m, n)
            } else {
                MatMut::from_row_major_slice_mut(&mut d[..m * n], m, n)
            };
            let accum = seed(dm.as_mut(), source, T::from_f64(1.0), T::ZERO);
            if symmetric {
                lower_banded_matmul(dm, 0, accum, self.mat(a), self.mat(b), T::from_f64(alpha), threads);
                mirror_upper(&mut d[..m * n], m);
            } else {
                banded_matmul(dm, accum, self.mat(a), self.mat(b), T::from_f64(alpha), threads);
            }
            if rounding == Rounding::Bf16 {
                for x in &mut d[..m * n] {
                    *x = T::from_f32(round_bf16(x.to_f32()));
                }
            }
            self.put(dst, d);
            self.symmetric[dst] = symmetric;
        }
        out
    }

    /// The bfloat16 product for `T = f64`: operands copied to `f32` (exact for bfloat16
    /// values), faer's `f32` gemm, then each result rounded to bfloat16 into `d`.
    /// The bfloat16 product for `T = f64`: operands copied to `f32` (exact for bfloat16
    /// values), faer's `f32` gemm, then each result rounded to bfloat16 into buffer `dst`.
    fn gemm_in_f32(
        &mut self,
        dst: usize,
        alpha: f64,
        a: MatView,
        b: MatView,
        c: Option<(f64, MatView)>,
        threads: usize,
    ) {
        let (m, n) = (a.rows, b.cols);
        self.slot(dst, m * n);
        let [low_a, low_b, low_d] = &mut self.low;
        lower(&self.buffers[a.buffer][..a.len()], low_a);
        lower(&self.buffers[b.buffer][..b.len()], low_b);
        if low_d.len() < m * n {
            low_d.resize(m * n, 0.0);
        }
        let mut dm = MatMut::from_row_major_slice_mut(&mut low_d[..m * n], m, n);
        let accum = match c {
            Some((beta, cv)) if beta != 0.0 => {
                let beta = beta as f32;
                let held = mat_ref(&self.buffers[cv.buffer], cv);
                zip!(dm.as_mut(), held).for_each(|unzip!(x, y)| *x = beta * y.to_f32());
                Accum::Add
            }
            _ => Accum::Replace,
        };
        banded_matmul(dm, accum, mat_ref(&low_a[..], a), mat_ref(&low_b[..], b), alpha as f32, threads);
        for (x, &y) in self.buffers[dst].iter_mut().zip(&low_d[..m * n]) {
            *x = T::from_f32(round_bf16(y));
        }
    }
}

/// `values` converted to `f32` into `low` (grown, never shrunk).
fn lower<T: MatrixElement>(values: &[T], low: &mut Vec<f32>) {
    if low.len() < values.len() {
        low.resize(values.len(), 0.0);
    }
    for (l, &v) in low.iter_mut().zip(values) {
        *l = v.to_f32();
    }
}
