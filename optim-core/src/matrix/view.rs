//! Matrix views into numbered scratch buffers, result rounding, and errors.

use thiserror::Error;

/// A logical `rows x cols` matrix held row-major in scratch buffer `buffer`; when `transposed`,
/// the buffer holds the transpose (`cols x rows`, row-major) and this view reads it transposed
/// (no copy).
///
/// ```
/// use optim_core::matrix::{MatView, MatrixScratch};
///
/// let mut scratch = MatrixScratch::<f64>::new();
/// let a = scratch.load(0, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
/// assert_eq!(a, MatView { buffer: 0, rows: 2, cols: 3, transposed: false });
/// let mut out = [0.0; 6];
/// scratch.store(a.t(), &mut out); // the 3 x 2 transpose, materialised
/// assert_eq!(out, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatView {
    /// The scratch buffer holding the elements.
    pub buffer: usize,
    /// Logical row count.
    pub rows: usize,
    /// Logical column count.
    pub cols: usize,
    /// Whether the buffer holds the transpose of this matrix.
    pub transposed: bool,
}

impl MatView {
    /// The transpose: the same buffer read the other way (no copy).
    ///
    /// ```
    /// use optim_core::matrix::MatView;
    ///
    /// let v = MatView { buffer: 2, rows: 3, cols: 5, transposed: false };
    /// assert_eq!(v.t(), MatView { buffer: 2, rows: 5, cols: 3, transposed: true });
    /// assert_eq!(v.t().t(), v);
    /// ```
    #[must_use]
    pub fn t(self) -> Self {
        MatView { rows: self.cols, cols: self.rows, transposed: !self.transposed, ..self }
    }

    /// Element count, `rows * cols`.
    ///
    /// ```
    /// use optim_core::matrix::MatView;
    ///
    /// assert_eq!(MatView { buffer: 0, rows: 3, cols: 5, transposed: true }.len(), 15);
    /// ```
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Whether the matrix has no element.
    ///
    /// ```
    /// use optim_core::matrix::MatView;
    ///
    /// assert!(MatView { buffer: 0, rows: 0, cols: 5, transposed: false }.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both views have the same logical shape.
    pub(crate) fn same_shape(&self, other: &MatView) -> bool {
        self.rows == other.rows && self.cols == other.cols
    }
}

/// How a result is rounded after each operation.
///
/// `Bf16` reproduces torch's stock Muon, which runs Newton–Schulz on bfloat16 tensors: each
/// operation computes in `f32` (torch's "opmath" type for bfloat16) and rounds its result once
/// to the nearest bfloat16, ties to even; the values stay stored as `T`.
///
/// ```
/// use optim_core::matrix::{MatrixScratch, Rounding};
///
/// let mut scratch = MatrixScratch::<f32>::new();
/// let a = scratch.load(0, &[1.0, 1.0 / 256.0], 1, 2);
/// let b = scratch.load(1, &[1.0, 1.0], 2, 1);
/// let exact = scratch.gemm(2, 1.0, a, b, None, Rounding::Exact);
/// let mut out = [0.0f32];
/// scratch.store(exact, &mut out);
/// assert_eq!(out[0], 1.0 + 1.0 / 256.0);
/// let rounded = scratch.gemm(2, 1.0, a, b, None, Rounding::Bf16);
/// scratch.store(rounded, &mut out);
/// assert_eq!(out[0], 1.0); // a tie, to even
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// No rounding beyond `T`'s own.
    #[default]
    Exact,
    /// Computed in `f32`, rounded once per operation to bfloat16 (nearest, ties to even).
    Bf16,
}

/// A matrix operation that did not produce a result.
///
/// ```
/// use optim_core::matrix::MatrixError;
///
/// assert_eq!(MatrixError::NoConvergence.to_string(), "eigendecomposition did not converge");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MatrixError {
    /// faer's symmetric eigensolver reached its iteration limit (non-finite input, typically).
    #[error("eigendecomposition did not converge")]
    NoConvergence,
}
