//! Running a rule's element loop over ndarray tensors of any layout.

use ndarray::ArrayD;

use crate::{Element, Rule};

/// The most per-element state tensors a rule may declare (the macro enforces it).
pub const MAX_STATES: usize = 8;

/// Runs `R::apply` on one parameter: in place when param and grad are both row-major, through
/// row-major copies otherwise (state is always kept row-major, matching the logical order).
pub(crate) fn run_kernel<R: Rule, T: Element>(
    prep: &R::Prep,
    value: &mut ArrayD<T>,
    grad: &ArrayD<T>,
    state: &mut [&mut [T]],
) {
    let grad_rows = grad.as_standard_layout();
    let Some(grad_slice) = grad_rows.as_slice() else { return };
    match value.as_slice_mut() {
        Some(param) => R::apply(prep, param, grad_slice, state),
        None => {
            let mut param: Vec<T> = value.iter().copied().collect();
            R::apply(prep, &mut param, grad_slice, state);
            for (dst, src) in value.iter_mut().zip(param) {
                *dst = src;
            }
        }
    }
}
