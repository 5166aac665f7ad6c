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
    /// Runs on faer's gemm, with the current rayon pool's threads (see
    /// [`Self::set_parallel`]). A product with one row or one column (a matrix–vector product)
    /// always runs sequentially: faer's parallel column-major matrix–vector product splits the
    /// inner dimension across threads, so its rounding would depend on the thread count.
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
        let par = if m == 1 || n == 1 { Par::Seq } else { self.par() };
        if rounding == Rounding::Bf16 && !T::IS_F32 {
            self.gemm_in_f32(dst, alpha, a, b, c, par);
        } else {
            let mut d = self.take(dst, m * n);
            let source = c.map(|(beta, c)| (T::from_f64(beta), (c.buffer != dst).then(|| self.mat(c))));
            let mut dm = MatMut::from_row_major_slice_mut(&mut d[..m * n], m, n);
            let accum = seed(dm.as_mut(), source, T::from_f64(1.0), T::ZERO);
            matmul(dm, accum, self.mat(a), self.mat(b), T::from_f64(alpha), par);
            if rounding == Rounding::Bf16 {
                for x in &mut d[..m * n] {
                    *x = T::from_f32(round_bf16(x.to_f32()));
                }
            }
            self.put(dst, d);
        }
        out
    }

    /// The bfloat16 product for `T = f64`: operands copied to `f32` (exact for bfloat16
    /// values), faer's `f32` gemm, then each result rounded to bfloat16 into `d`.
    /// The bfloat16 product for `T = f64`: operands copied to `f32` (exact for bfloat16
    /// values), faer's `f32` gemm, then each result rounded to bfloat16 into buffer `dst`.
    fn gemm_in_f32(&mut self, dst: usize, alpha: f64, a: MatView, b: MatView, c: Option<(f64, MatView)>, par: Par) {
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
        matmul(dm, accum, mat_ref(&low_a[..], a), mat_ref(&low_b[..], b), alpha as f32, par);
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
