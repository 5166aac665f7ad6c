//! Running a rule's element loop over ndarray tensors of any layout.

use ndarray::ArrayD;

use crate::{Element, Factors, RowSparse, Rule};

use optim_contract::MAX_STATES;

/// Runs `body` on the parameter's elements in row-major order: in place when the array is
/// row-major, through a copy otherwise (state is always row-major, matching the logical order).
pub(crate) fn with_row_major<T: Element>(value: &mut ArrayD<T>, body: impl FnOnce(&mut [T])) {
    match value.as_slice_mut() {
        Some(param) => body(param),
        None => {
            let mut param: Vec<T> = value.iter().copied().collect();
            body(&mut param);
            for (dst, src) in value.iter_mut().zip(param) {
                *dst = src;
            }
        }
    }
}

/// One dense step of `R` on one parameter.
pub(crate) fn run_dense<R: Rule, T: Element>(
    prep: &R::Prep,
    factors: &Factors<'_, T>,
    value: &mut ArrayD<T>,
    grad: &ArrayD<T>,
    state: &mut [&mut [T]],
) {
    let grad_rows = grad.as_standard_layout();
    let Some(grad_slice) = grad_rows.as_slice() else { return };
    let level = crate::SimdLevel::detected();
    with_row_major(value, |param| R::apply_factored(level, prep, factors, param, grad_slice, state));
}

/// One lazy step of `R` on the rows a sparse gradient covers: a kernel call per run of
/// consecutive rows, state of every other row untouched.
pub(crate) fn run_sparse<R: Rule, T: Element>(
    prep: &R::Prep,
    value: &mut ArrayD<T>,
    grad: &RowSparse<T>,
    state: &mut [&mut [T]],
) {
    let row_len: usize = value.shape()[1..].iter().product();
    let Some(values) = grad.values().as_slice() else { return };
    let count = state.len().min(MAX_STATES);
    with_row_major(value, |param| {
        for (at, from, len) in grad.runs(row_len) {
            let mut rows: [&mut [T]; MAX_STATES] = Default::default();
            for (slot, tensor) in rows.iter_mut().zip(state.iter_mut()) {
                if !tensor.is_empty() {
                    *slot = &mut tensor[at..at + len];
                }
            }
            R::apply(prep, &mut param[at..at + len], &values[from..from + len], &mut rows[..count]);
        }
    });
}
