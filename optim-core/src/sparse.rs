//! Row-sparse gradients: embedding tables whose gradient covers a few rows per step.

use ndarray::{ArrayD, Axis, IxDyn};

use crate::{Element, OptimError};

/// A gradient given as the rows it covers plus their values (PyTorch's coalesced sparse COO
/// gradient of an embedding). Rows not listed have no gradient: a rule then updates only the
/// listed rows and leaves the rest of the parameter and its state untouched (the "lazy" update).
///
/// Rows may come in any order and repeat; repeated rows are summed, as PyTorch's `coalesce`.
///
/// ```
/// use optim_core::RowSparse;
/// let values = ndarray::arr2(&[[1.0f32, 1.0], [2.0, 2.0], [3.0, 3.0]]).into_dyn();
/// let grad = RowSparse::new(vec![4, 1, 4], values).unwrap();
/// assert_eq!(grad.rows(), &[1, 4]);
/// assert_eq!(grad.values(), &ndarray::arr2(&[[2.0f32, 2.0], [4.0, 4.0]]).into_dyn());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RowSparse<T> {
    rows: Vec<usize>,
    values: ArrayD<T>,
}

impl<T: Element> RowSparse<T> {
    /// Rows `rows` of a gradient with values `values` (shape `[rows.len(), ...]`, the rest of the
    /// parameter's shape).
    ///
    /// ```
    /// use optim_core::{OptimError, RowSparse};
    /// let values = ndarray::ArrayD::<f64>::zeros(vec![2, 3]);
    /// assert!(matches!(RowSparse::new(vec![0], values), Err(OptimError::SparseGrad { .. })));
    /// ```
    pub fn new(rows: Vec<usize>, values: ArrayD<T>) -> Result<Self, OptimError> {
        if values.ndim() == 0 || values.shape()[0] != rows.len() {
            return Err(OptimError::SparseGrad {
                reason: format!("{} row indices but values of shape {:?}", rows.len(), values.shape()),
            });
        }
        if rows.windows(2).all(|w| w[0] < w[1]) {
            return Ok(RowSparse { rows, values: values.as_standard_layout().into_owned() });
        }
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| rows[i]);
        let mut unique: Vec<usize> = order.iter().map(|&i| rows[i]).collect();
        unique.dedup();
        let mut shape = values.shape().to_vec();
        shape[0] = unique.len();
        let mut summed = ArrayD::from_elem(IxDyn(&shape), T::ZERO);
        let mut target = 0;
        for (k, &i) in order.iter().enumerate() {
            if k > 0 && rows[i] != rows[order[k - 1]] {
                target += 1;
            }
            let mut row = summed.index_axis_mut(Axis(0), target);
            row.zip_mut_with(&values.index_axis(Axis(0), i), |acc, &v| *acc += v);
        }
        Ok(RowSparse { rows: unique, values: summed })
    }

    /// The covered rows, strictly increasing.
    ///
    /// ```
    /// let g = optim_core::RowSparse::new(vec![2, 0], ndarray::ArrayD::<f32>::zeros(vec![2, 1])).unwrap();
    /// assert_eq!(g.rows(), &[0, 2]);
    /// ```
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// The values of the covered rows, row-major, in the order of [`RowSparse::rows`].
    ///
    /// ```
    /// let g = optim_core::RowSparse::new(vec![0], ndarray::ArrayD::<f32>::ones(vec![1, 3])).unwrap();
    /// assert_eq!(g.values().len(), 3);
    /// ```
    pub fn values(&self) -> &ArrayD<T> {
        &self.values
    }

    /// The values, for in-place changes that keep their shape (gradient clipping).
    pub(crate) fn values_mut(&mut self) -> &mut ArrayD<T> {
        &mut self.values
    }

    /// Checks that this gradient fits a parameter of shape `shape`: the same row shape, and
    /// every row in range.
    ///
    /// # Errors
    /// [`OptimError::SparseGrad`] saying what does not fit.
    ///
    /// ```
    /// let g = optim_core::RowSparse::new(vec![3], ndarray::ArrayD::<f32>::ones(vec![1, 2])).unwrap();
    /// assert!(g.check_fits(&[4, 2]).is_ok());
    /// assert!(g.check_fits(&[3, 2]).is_err() && g.check_fits(&[4, 5]).is_err());
    /// ```
    pub fn check_fits(&self, shape: &[usize]) -> Result<(), OptimError> {
        let fits = !shape.is_empty() && self.values.shape()[1..] == shape[1..];
        if !fits {
            return Err(OptimError::SparseGrad {
                reason: format!(
                    "rows of shape {:?} do not fit a parameter of shape {shape:?}",
                    &self.values.shape()[1..]
                ),
            });
        }
        match self.rows.last() {
            Some(&last) if last >= shape[0] => Err(OptimError::SparseGrad {
                reason: format!("row {last} out of range for a parameter with {} rows", shape[0]),
            }),
            _ => Ok(()),
        }
    }

    /// Maximal runs of consecutive rows as element ranges: `(param range start, values range
    /// start, length)`, so each run is one contiguous kernel call.
    pub(crate) fn runs(&self, row_len: usize) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        let mut start = 0;
        core::iter::from_fn(move || {
            if start >= self.rows.len() {
                return None;
            }
            let mut end = start + 1;
            while end < self.rows.len() && self.rows[end] == self.rows[end - 1] + 1 {
                end += 1;
            }
            let run = (self.rows[start] * row_len, start * row_len, (end - start) * row_len);
            start = end;
            Some(run)
        })
    }
}
