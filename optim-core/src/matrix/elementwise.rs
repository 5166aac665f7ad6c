//! Element-wise combinations and the Frobenius norm.

use faer::{MatMut, MatRef, unzip, zip};

use super::element::MatrixElement;
use super::product::round_bf16;
use super::scratch::MatrixScratch;
use super::view::{MatView, Rounding};

/// `d = f1(a)` or `d = f2(a, b)` element-wise, an operand being `None` when it is `d` itself
/// (in place).
fn combine<T: MatrixElement>(
    d: MatMut<'_, T>,
    a: Option<MatRef<'_, T>>,
    b: Option<Option<MatRef<'_, T>>>,
    f1: impl Fn(T) -> T,
    f2: impl Fn(T, T) -> T,
) {
    match (a, b) {
        (None, None) => zip!(d).for_each(|unzip!(x)| *x = f1(*x)),
        (Some(a), None) => zip!(d, a).for_each(|unzip!(x, y)| *x = f1(*y)),
        (None, Some(None)) => zip!(d).for_each(|unzip!(x)| *x = f2(*x, *x)),
        (None, Some(Some(b))) => zip!(d, b).for_each(|unzip!(x, y)| *x = f2(*x, *y)),
        (Some(a), Some(None)) => zip!(d, a).for_each(|unzip!(x, y)| *x = f2(*y, *x)),
        (Some(a), Some(Some(b))) => zip!(d, a, b).for_each(|unzip!(x, y, z)| *x = f2(*y, *z)),
    }
}

impl<T: MatrixElement> MatrixScratch<T> {
    /// `dst = alpha * a + beta * b` (`b` optional), element-wise, materialised row-major.
    ///
    /// `dst` may equal `a.buffer` (or `b`'s) when that operand is not transposed. `alpha` and
    /// `beta` are converted to `T` first. With [`Rounding::Exact`] the expression is evaluated
    /// in `T` as written (two products and a sum, no fused multiply-add). With
    /// [`Rounding::Bf16`] it is evaluated in `f32` and rounded once to bfloat16: `alpha * a`
    /// alone is torch's `a * alpha` on a bfloat16 tensor, and `alpha = 1` with `b` is
    /// `torch.add(a, b, alpha=beta)`, each a single rounding; a longer bfloat16 expression is
    /// one call per torch operation.
    ///
    /// ```
    /// use optim_core::matrix::{MatrixScratch, Rounding};
    ///
    /// let mut s = MatrixScratch::<f32>::new();
    /// let a = s.load(0, &[1.0, 2.0, 3.0, 4.0], 2, 2);
    /// let b = s.load(1, &[1.0, 1.0, 1.0, 1.0], 2, 2);
    /// let d = s.axpby(0, 2.0, a, Some((-1.0, b.t())), Rounding::Exact); // in place
    /// let mut out = [0.0; 4];
    /// s.store(d, &mut out);
    /// assert_eq!(out, [1.0, 3.0, 5.0, 7.0]);
    /// ```
    ///
    /// # Panics
    /// On mismatched shapes, or a `dst` the rules above forbid.
    pub fn axpby(
        &mut self,
        dst: usize,
        alpha: f64,
        a: MatView,
        b: Option<(f64, MatView)>,
        rounding: Rounding,
    ) -> MatView {
        let out = MatView { buffer: dst, rows: a.rows, cols: a.cols, transposed: false };
        assert!(a.buffer != dst || !a.transposed, "axpby: in place over a transposed operand");
        if let Some((_, b)) = b {
            assert!(b.same_shape(&a), "axpby: {}x{} and {}x{}", a.rows, a.cols, b.rows, b.cols);
            assert!(b.buffer != dst || !b.transposed, "axpby: in place over a transposed operand");
        }
        let (m, n) = (a.rows, a.cols);
        let mut d = self.take(dst, m * n);
        let operand = |v: MatView| (v.buffer != dst).then(|| self.mat(v));
        let (a_src, b_src) = (operand(a), b.map(|(_, b)| operand(b)));
        let dm = MatMut::from_row_major_slice_mut(&mut d[..m * n], m, n);
        let beta = b.map_or(0.0, |(beta, _)| beta);
        match rounding {
            Rounding::Exact => {
                let (alpha, beta) = (T::from_f64(alpha), T::from_f64(beta));
                combine(dm, a_src, b_src, |x| alpha * x, |x, y| alpha * x + beta * y);
            }
            Rounding::Bf16 => {
                let (alpha, beta) = (alpha as f32, beta as f32);
                let round = |x: f32| T::from_f32(round_bf16(x));
                combine(
                    dm,
                    a_src,
                    b_src,
                    |x| round(alpha * x.to_f32()),
                    |x, y| round(alpha * x.to_f32() + beta * y.to_f32()),
                );
            }
        }
        self.put(dst, d);
        out
    }

    /// `dst = f(a)` element-wise, materialised row-major; under [`Rounding::Bf16`] each
    /// result is rounded to bfloat16, as an operation on a bfloat16 tensor is. `dst` may be
    /// `a.buffer` when `a` is not transposed. The program's element-wise functions of one
    /// matrix (`sqrt(v)`, `v + eps`) are this, one pass each.
    ///
    /// ```
    /// use optim_core::matrix::{MatrixScratch, Rounding};
    ///
    /// let mut s = MatrixScratch::<f64>::new();
    /// let a = s.load(0, &[1.0, 4.0, 9.0, 16.0], 2, 2);
    /// let r = s.map(1, a.t(), f64::sqrt, Rounding::Exact);
    /// assert_eq!(s.data(r), &[1.0, 3.0, 2.0, 4.0]);
    /// ```
    ///
    /// # Panics
    /// If `dst` is `a`'s buffer and `a` is transposed.
    pub fn map(&mut self, dst: usize, a: MatView, f: impl Fn(T) -> T, rounding: Rounding) -> MatView {
        self.map2(dst, a, None, |x, _| f(x), rounding)
    }

    /// `dst = f(a, b)` element-wise (`b` defaults to `a`), materialised row-major, rounded as
    /// [`Self::map`]: the program's element-wise products and quotients of matrices.
    ///
    /// ```
    /// use optim_core::matrix::{MatrixScratch, Rounding};
    ///
    /// let mut s = MatrixScratch::<f32>::new();
    /// let a = s.load(0, &[1.0, 2.0, 3.0, 4.0], 2, 2);
    /// let b = s.load(1, &[2.0, 2.0, 4.0, 4.0], 2, 2);
    /// let q = s.map2(0, a, Some(b), |x, y| x / y, Rounding::Exact); // in place
    /// assert_eq!(s.data(q), &[0.5, 1.0, 0.75, 1.0]);
    /// ```
    ///
    /// # Panics
    /// On mismatched shapes, or a `dst` that is a transposed operand's buffer.
    pub fn map2(
        &mut self,
        dst: usize,
        a: MatView,
        b: Option<MatView>,
        f: impl Fn(T, T) -> T,
        rounding: Rounding,
    ) -> MatView {
        let out = MatView { buffer: dst, rows: a.rows, cols: a.cols, transposed: false };
        assert!(a.buffer != dst || !a.transposed, "map: in place over a transposed operand");
        if let Some(b) = b {
            assert!(b.same_shape(&a), "map: {}x{} and {}x{}", a.rows, a.cols, b.rows, b.cols);
            assert!(b.buffer != dst || !b.transposed, "map: in place over a transposed operand");
        }
        let (m, n) = (a.rows, a.cols);
        let mut d = self.take(dst, m * n);
        let operand = |v: MatView| (v.buffer != dst).then(|| self.mat(v));
        let (a_src, b_src) = (operand(a), b.map(operand));
        let dm = MatMut::from_row_major_slice_mut(&mut d[..m * n], m, n);
        let round = |x: T| match rounding {
            Rounding::Exact => x,
            Rounding::Bf16 => T::from_f32(round_bf16(x.to_f32())),
        };
        combine(dm, a_src, b_src, |x| round(f(x, x)), |x, y| round(f(x, y)));
        self.put(dst, d);
        out
    }

    /// The Frobenius norm of `a`, in `f64` (for `f32`, squares summed in `f64`; for `f64`,
    /// faer's overflow-safe scaled norm).
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f32>::new();
    /// let a = s.load(0, &[3.0, 0.0, 0.0, 4.0], 2, 2);
    /// assert_eq!(s.norm(a), 5.0);
    /// assert_eq!(s.norm(a.t()), 5.0);
    /// ```
    ///
    /// # Panics
    /// If `a` reaches past its buffer.
    pub fn norm(&self, a: MatView) -> f64 {
        T::frobenius(self.data(a))
    }
}
