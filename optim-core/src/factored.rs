//! Factored state: tensors holding one value per row or per column of a parameter (AdaFactor's
//! second moment), and the views of them that a rule's generated code reads and writes.
//!
//! A parameter of shape `(..., R, C)` is seen as `S` stacked `R x C` matrices, `S` being the
//! product of the leading axes (a vector is one `1 x n` matrix, a scalar one `1 x 1`). A row
//! state holds `S * R` values (PyTorch's `shape[:-1]`), a column state `S * C`
//! (`shape[:-2] + shape[-1:]`). Between memory passes the generated code updates them with
//! plain loops over those few values; the element loop reads them, never writes them, so it
//! stays parallel.

use crate::{Element, MAX_STATES};

/// The shape of a state tensor relative to its parameter.
///
/// ```
/// use optim_core::StateShape;
/// assert_eq!(StateShape::Full.dims(&[4, 3]), vec![4, 3]);
/// assert_eq!(StateShape::Rows.dims(&[2, 4, 3]), vec![2, 4]);
/// assert_eq!(StateShape::Cols.dims(&[2, 4, 3]), vec![2, 3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateShape {
    /// One value per element, shaped like the parameter.
    Full,
    /// One value per row: the parameter's shape without its last axis.
    Rows,
    /// One value per column: the parameter's shape without its second-to-last axis.
    Cols,
    /// A square matrix as wide as the parameter's matrix view has rows (`rows x rows`, the view
    /// of [`crate::matrix_view_dims`]): SOAP's left preconditioner `GG_0`.
    RowsByRows,
    /// A square matrix as wide as the matrix view has columns (`cols x cols`): SOAP's `GG_1`.
    ColsByCols,
}

impl StateShape {
    /// The state's shape for a parameter of shape `param`.
    ///
    /// ```
    /// use optim_core::StateShape;
    /// assert_eq!(StateShape::Rows.dims(&[5]), Vec::<usize>::new());
    /// assert_eq!(StateShape::Cols.dims(&[5]), vec![5]);
    /// assert_eq!(StateShape::RowsByRows.dims(&[4, 3, 2]), vec![4, 4]);
    /// assert_eq!(StateShape::ColsByCols.dims(&[4, 3, 2]), vec![6, 6]);
    /// ```
    pub fn dims(self, param: &[usize]) -> Vec<usize> {
        let n = param.len();
        let (rows, cols) = crate::matrix_view_dims(param);
        match self {
            StateShape::RowsByRows => vec![rows, rows],
            StateShape::ColsByCols => vec![cols, cols],
            StateShape::Full => param.to_vec(),
            StateShape::Rows => param[..n.saturating_sub(1)].to_vec(),
            StateShape::Cols if n < 2 => param.to_vec(),
            StateShape::Cols => param[..n - 2].iter().chain(&param[n - 1..]).copied().collect(),
        }
    }

    /// How many values the state holds for a parameter of shape `param`.
    ///
    /// ```
    /// use optim_core::StateShape;
    /// assert_eq!(StateShape::Rows.len(&[4, 3]), 4);
    /// assert_eq!(StateShape::Cols.len(&[4, 3]), 3);
    /// assert_eq!(StateShape::ColsByCols.len(&[4, 3]), 9);
    /// ```
    pub fn len(self, param: &[usize]) -> usize {
        // without building the shape: this runs for every state at every step
        let n = param.len();
        match self {
            StateShape::RowsByRows => crate::matrix_view_dims(param).0.pow(2),
            StateShape::ColsByCols => crate::matrix_view_dims(param).1.pow(2),
            StateShape::Full => param.iter().product(),
            StateShape::Rows => param[..n.saturating_sub(1)].iter().product(),
            StateShape::Cols if n < 2 => param.iter().product(),
            StateShape::Cols => param[..n - 2].iter().product::<usize>() * param[n - 1],
        }
    }
}

/// A parameter as stacked matrices: `(slices, rows, cols)`.
///
/// ```
/// assert_eq!(optim_core::matrix_dims(&[2, 4, 3]), (2, 4, 3));
/// assert_eq!(optim_core::matrix_dims(&[5]), (1, 1, 5));
/// assert_eq!(optim_core::matrix_dims(&[]), (1, 1, 1));
/// ```
pub fn matrix_dims(shape: &[usize]) -> (usize, usize, usize) {
    match shape {
        [] => (1, 1, 1),
        [n] => (1, 1, *n),
        [lead @ .., r, c] => (lead.iter().product(), *r, *c),
    }
}

/// What the element loop of a rule with factored state reads besides its slices: where the
/// chunk starts in the tensor, the matrix view, the factored states and the row/column values
/// computed between passes. Rules without factored state ignore it.
///
/// ```
/// use optim_core::Factors;
/// let whole = Factors::<f32>::whole(&[4, 3]);
/// assert_eq!((whole.offset, whole.rows, whole.cols), (0, 4, 3));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Factors<'a, T> {
    /// Flat index, in the tensor, of the first element the loop sees.
    pub offset: usize,
    /// Matrices stacked in the tensor.
    pub slices: usize,
    /// Rows per matrix.
    pub rows: usize,
    /// Columns per matrix (the contiguous axis).
    pub cols: usize,
    /// Every state by index; only factored ones are read through here (others are empty).
    pub states: [&'a [T]; MAX_STATES],
    /// Row and column values computed between passes, laid out as [`Rule::TEMPORARIES`](crate::Rule::TEMPORARIES) says,
    /// rounded to the element type once per stage (the element loops read them as `T`, which
    /// keeps them as wide as the loop's other vectors).
    pub temps: &'a [T],
}

impl<'a, T> Factors<'a, T> {
    /// The view of a whole tensor of `shape` with no factored data (what rules without factored
    /// state get).
    ///
    /// ```
    /// let none = optim_core::Factors::<f64>::whole(&[7]);
    /// assert!(none.temps.is_empty());
    /// ```
    pub fn whole(shape: &[usize]) -> Self {
        let (slices, rows, cols) = matrix_dims(shape);
        Factors { offset: 0, slices, rows, cols, states: [&[]; MAX_STATES], temps: &[] }
    }

    /// The same view, for a chunk starting `by` elements further.
    ///
    /// ```
    /// let f = optim_core::Factors::<f32>::whole(&[4, 3]).advanced(6);
    /// assert_eq!(f.offset, 6);
    /// ```
    #[must_use]
    pub fn advanced(self, by: usize) -> Self {
        Factors { offset: self.offset + by, ..self }
    }
}

/// The mutable side of factored state, handed to [`Rule::factored_stage`](crate::Rule::factored_stage)
/// between passes.
///
/// ```
/// use optim_core::FactorsMut;
/// let mut temps = [0.0f64; 4];
/// let f = FactorsMut { slices: 1, rows: 4, cols: 3, temps: &mut temps, accumulators: &[] };
/// assert_eq!(f.rows * f.cols, 12);
/// ```
#[derive(Debug)]
pub struct FactorsMut<'a> {
    /// Matrices stacked in the tensor.
    pub slices: usize,
    /// Rows per matrix.
    pub rows: usize,
    /// Columns per matrix.
    pub cols: usize,
    /// Row and column values the stage writes for later passes.
    pub temps: &'a mut [f64],
    /// Row and column sums the last pass accumulated.
    pub accumulators: &'a [f64],
}

/// Sizes of a rule's row/column buffers: how many hold one value per row and how many one per
/// column.
///
/// ```
/// let b = optim_core::FactorBuffers { rows: 2, cols: 1 };
/// assert_eq!(b.len(&[4, 3]), 2 * 4 + 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FactorBuffers {
    /// Buffers with one value per row.
    pub rows: usize,
    /// Buffers with one value per column.
    pub cols: usize,
}

impl FactorBuffers {
    /// Total values for a parameter of `shape`.
    ///
    /// ```
    /// assert_eq!(optim_core::FactorBuffers { rows: 1, cols: 1 }.len(&[5]), 1 + 5);
    /// ```
    pub fn len(&self, shape: &[usize]) -> usize {
        let (slices, rows, cols) = matrix_dims(shape);
        self.rows * slices * rows + self.cols * slices * cols
    }
}

/// Reads value `index` of a factored buffer, zero past its end (an absent state).
#[doc(hidden)]
#[inline(always)]
pub fn at<T: Element>(buffer: &[T], index: usize) -> T {
    buffer.get(index).copied().unwrap_or(T::ZERO)
}

/// Moves the factored states (those not shaped like the parameter) out of `state`, leaving
/// empty slices, so that the element loop can read them shared while it writes the others.
pub(crate) fn take_factored<'s, T>(decls: &[crate::StateDecl], state: &mut [&'s mut [T]]) -> [&'s mut [T]; MAX_STATES] {
    let mut taken: [&'s mut [T]; MAX_STATES] = Default::default();
    for ((decl, slot), out) in decls.iter().zip(state.iter_mut()).zip(taken.iter_mut()) {
        if decl.shape != StateShape::Full {
            *out = core::mem::take(slot);
        }
    }
    taken
}

/// Shared views of the slices [`take_factored`] moved out.
pub(crate) fn views<'v, T>(taken: &'v [&mut [T]; MAX_STATES]) -> [&'v [T]; MAX_STATES] {
    taken.each_ref().map(|s| &**s)
}

/// Returns what [`take_factored`] moved out to its places in `state`.
pub(crate) fn put_back<'s, T>(state: &mut [&'s mut [T]], taken: [&'s mut [T]; MAX_STATES]) {
    for (slot, tensor) in state.iter_mut().zip(taken) {
        if !tensor.is_empty() {
            *slot = tensor;
        }
    }
}
