//! Reductions over one tensor, deterministic whatever the thread count: the tensor is halved
//! recursively down to a fixed grain and the halves combine in a fixed order.

use crate::factored::Factors;
use crate::parallel::{GRAIN, both};
use crate::{Element, MAX_REDUCTIONS, MAX_STATES, Rule};

/// Reduction pass `pass` over one whole tensor, into `out` (one entry per `R::REDUCTIONS`;
/// entries of other passes are left alone). The tensor is halved recursively down to `GRAIN`
/// elements whatever the thread count, and halves combine in a fixed order, so the result is the
/// same for any number of threads; with `parallel` the halves run on rayon's pool.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reduce_tensor<R: Rule, T: Element>(
    level: crate::SimdLevel,
    pass: usize,
    prep: &R::Prep,
    factors: Factors<'_, T>,
    accumulators: &mut [f64],
    param: &[T],
    grad: &[T],
    state: &[&mut [T]],
    out: &mut [f64],
    parallel: bool,
) {
    let mut views: [&[T]; MAX_STATES] = Default::default();
    for (view, tensor) in views.iter_mut().zip(state) {
        *view = tensor;
    }
    let count = state.len().min(MAX_STATES);
    let mut partial = [0.0f64; MAX_REDUCTIONS];
    let factors = Factors { states: views, ..factors };
    if accumulators.is_empty() {
        reduce_range::<R, T>(level, pass, prep, factors, param, grad, &views[..count], &mut partial, parallel);
    } else {
        // row and column sums are added in row-major order, on one thread: the same result
        // whatever the thread count
        let out = &mut partial[..R::REDUCTIONS.len().min(MAX_REDUCTIONS)];
        R::reduce_factored(level, pass, prep, &factors, accumulators, param, grad, &views[..count], out);
    }
    for ((slot, value), reduction) in out.iter_mut().zip(partial).zip(R::REDUCTIONS) {
        if reduction.pass == pass {
            *slot = value;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn reduce_range<R: Rule, T: Element>(
    level: crate::SimdLevel,
    pass: usize,
    prep: &R::Prep,
    factors: Factors<'_, T>,
    param: &[T],
    grad: &[T],
    state: &[&[T]],
    out: &mut [f64; MAX_REDUCTIONS],
    parallel: bool,
) {
    if param.len() <= GRAIN {
        let out = &mut out[..R::REDUCTIONS.len().min(MAX_REDUCTIONS)];
        R::reduce_factored(level, pass, prep, &factors, &mut [], param, grad, state, out);
        return;
    }
    let middle = (param.len() / 2) & !63;
    fn split<T>(slice: &[T], at: usize) -> (&[T], &[T]) {
        slice.split_at(at.min(slice.len()))
    }
    let (param_left, param_right) = param.split_at(middle);
    let (grad_left, grad_right) = split(grad, middle);
    let mut left: [&[T]; MAX_STATES] = Default::default();
    let mut right: [&[T]; MAX_STATES] = Default::default();
    for ((tensor, l), r) in state.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
        (*l, *r) = split(tensor, middle);
    }
    let count = state.len();
    let (mut out_left, mut out_right) = ([0.0f64; MAX_REDUCTIONS], [0.0f64; MAX_REDUCTIONS]);
    let right_factors = factors.advanced(middle);
    both(
        parallel,
        || {
            reduce_range::<R, T>(
                level,
                pass,
                prep,
                factors,
                param_left,
                grad_left,
                &left[..count],
                &mut out_left,
                parallel,
            )
        },
        || {
            let (state, out) = (&right[..count], &mut out_right);
            reduce_range::<R, T>(level, pass, prep, right_factors, param_right, grad_right, state, out, parallel)
        },
    );
    for (r, reduction) in R::REDUCTIONS.iter().enumerate().take(MAX_REDUCTIONS) {
        if reduction.pass == pass {
            out[r] = reduction.kind.combine(out_left[r], out_right[r]);
        }
    }
}
