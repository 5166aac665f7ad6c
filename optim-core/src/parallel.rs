//! One parallel region per step: every tensor of the step in one work list, large tensors cut
//! into chunks, small ones batched, all split recursively with `rayon::join` (which needs no heap
//! allocation). Element-wise kernels make chunking exact, so results do not depend on the thread
//! count.

use crate::MAX_STATES;
use crate::factored::{Factors, take_factored, views};
use crate::kernel::{run_dense, run_sparse};
use crate::lowbit::{PackedMut, PackedRef, PackedState, tiles};
use crate::reduce::reduce_tensor;
use crate::{Element, Param, ParamData, ParamGroup, ParamState, Rule};

/// Below this many elements in a whole step, it runs on the caller's thread.
pub const INLINE_BELOW: usize = 1 << 15;
/// The smallest piece of work handed to another thread (elements).
pub(crate) const GRAIN: usize = 1 << 16;

/// One parameter's share of a step: where it is, its prologue's result and its size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Work<P> {
    pub group: usize,
    pub index: usize,
    pub prep: P,
    pub len: usize,
}

fn total<P>(work: &[Work<P>]) -> usize {
    work.iter().map(|w| w.len).sum()
}

/// Runs the kernels of every work item; `work` is ordered by (group, index).
pub(crate) fn run_all<R: Rule, T: Element>(
    groups: &[ParamGroup<R, T>],
    states: &mut [Vec<Option<ParamState<T>>>],
    work: &[Work<R::Prep>],
) {
    let parallel = total(work) >= INLINE_BELOW && rayon::current_num_threads() > 1;
    let each = |param: &Param<T>, state: &mut ParamState<T>, item: &Work<R::Prep>, _: &mut [f64], parallel| {
        run_one::<R, T>(param, state, item, parallel)
    };
    let items = Items { groups, width: 0, parallel };
    items.run_groups(states, 0, work, &mut [], &each);
}

pub(crate) fn both(parallel: bool, left: impl FnOnce() + Send, right: impl FnOnce() + Send) {
    if parallel {
        rayon::join(left, right);
    } else {
        left();
        right();
    }
}

/// One pass over every work item in one parallel region: groups, then parameters, are halved
/// recursively (each half on rayon's pool when large enough), and each item gets its parameter,
/// its state and its row of `width` numbers in the pass's output (none for the update pass).
struct Items<'a, R: Rule, T> {
    groups: &'a [ParamGroup<R, T>],
    width: usize,
    parallel: bool,
}

/// What a pass does with one item: parameter, state, the item, its output row, and whether
/// the item itself may split over the pool.
trait EachItem<R: Rule, T>: Fn(&Param<T>, &mut ParamState<T>, &Work<R::Prep>, &mut [f64], bool) + Sync {}
impl<R: Rule, T, F: Fn(&Param<T>, &mut ParamState<T>, &Work<R::Prep>, &mut [f64], bool) + Sync> EachItem<R, T> for F {}

impl<R: Rule, T: Element> Items<'_, R, T> {
    fn run_groups(
        &self,
        states: &mut [Vec<Option<ParamState<T>>>],
        first_group: usize,
        work: &[Work<R::Prep>],
        out: &mut [f64],
        each: &impl EachItem<R, T>,
    ) {
        let (Some(first), Some(last)) = (work.first(), work.last()) else { return };
        if first.group == last.group {
            let Some(row) = states.get_mut(first.group - first_group) else { return };
            let Some(group) = self.groups.get(first.group) else { return };
            return self.run_params(&group.params, row, 0, work, out, each);
        }
        let middle = first.group + (last.group - first.group).div_ceil(2);
        let split = work.partition_point(|w| w.group < middle);
        let (left_states, right_states) = states.split_at_mut(middle - first_group);
        let (left, right) = work.split_at(split);
        let (left_out, right_out) = out.split_at_mut((split * self.width).min(out.len()));
        both(
            self.parallel && total(work) >= GRAIN,
            || self.run_groups(left_states, first_group, left, left_out, each),
            || self.run_groups(right_states, middle, right, right_out, each),
        );
    }

    fn run_params(
        &self,
        params: &[Param<T>],
        states: &mut [Option<ParamState<T>>],
        first_index: usize,
        work: &[Work<R::Prep>],
        out: &mut [f64],
        each: &impl EachItem<R, T>,
    ) {
        match work {
            [] => {}
            [one] => {
                let (param, state) = (params.get(one.index), states.get_mut(one.index - first_index));
                if let (Some(param), Some(Some(state)), Some(row)) = (param, state, out.get_mut(..self.width)) {
                    each(param, state, one, row, self.parallel);
                }
            }
            _ if !self.parallel || total(work) < GRAIN => {
                for (k, item) in work.iter().enumerate() {
                    let row = out.get_mut(k * self.width..).unwrap_or_default();
                    self.run_params(params, states, first_index, core::slice::from_ref(item), row, each);
                }
            }
            _ => {
                let middle = work.len() / 2;
                let split_index = work[middle].index;
                let (left_states, right_states) = states.split_at_mut(split_index - first_index);
                let (left, right) = work.split_at(middle);
                let (left_out, right_out) = out.split_at_mut((middle * self.width).min(out.len()));
                rayon::join(
                    || self.run_params(params, left_states, first_index, left, left_out, each),
                    || self.run_params(params, right_states, split_index, right, right_out, each),
                );
            }
        }
    }
}

fn run_one<R: Rule, T: Element>(param: &Param<T>, state: &mut ParamState<T>, work: &Work<R::Prep>, parallel: bool) {
    let mut data = param.lock();
    let ParamData { value, grad, sparse_grad } = &mut *data;
    let count = R::STATES.len().min(MAX_STATES);
    let ParamState { tensors, packed, temps_elem: temps, shape, .. } = state;
    let mut slices: [&mut [T]; MAX_STATES] = Default::default();
    for (slot, tensor) in slices.iter_mut().zip(tensors.iter_mut()) {
        *slot = &mut tensor[..];
    }
    let slices = &mut slices[..count];
    let mut blocks: [Option<PackedMut<'_>>; MAX_STATES] = Default::default();
    for (slot, codes) in blocks.iter_mut().zip(packed.iter_mut()) {
        *slot = codes.as_mut().map(PackedState::view_mut);
    }
    let blocks = &mut blocks[..count];
    // row and column states are read, never written, by the element loop: shared by every chunk
    let taken = take_factored(R::STATES, slices);
    let factors = Factors { temps, states: views(&taken), ..Factors::whole(shape) };
    if blocks.iter().any(Option::is_some) {
        return tiles::run_packed::<R, T>(
            &work.prep,
            factors,
            value,
            grad.as_ref(),
            sparse_grad.as_ref(),
            slices,
            blocks,
            parallel,
        );
    }
    match (grad, sparse_grad) {
        (Some(grad), _) => {
            let chunkable = parallel && work.len > GRAIN && grad.is_standard_layout();
            match (value.as_slice_mut(), grad.as_slice()) {
                (Some(param), Some(grad)) if chunkable => chunked::<R, T>(&work.prep, factors, param, grad, slices),
                _ => run_dense::<R, T>(&work.prep, &factors, value, grad, slices),
            }
        }
        (None, Some(sparse)) => run_sparse::<R, T>(&work.prep, value, sparse, slices),
        (None, None) => {}
    }
}

pub(crate) fn chunked<R: Rule, T: Element>(
    prep: &R::Prep,
    factors: Factors<'_, T>,
    param: &mut [T],
    grad: &[T],
    state: &mut [&mut [T]],
) {
    if param.len() <= GRAIN {
        R::apply_factored(crate::SimdLevel::detected(), prep, &factors, param, grad, state);
        return;
    }
    // halves on 64-element boundaries keep every chunk's vector loop aligned with the others
    let middle = (param.len() / 2) & !63;
    let (param_left, param_right) = param.split_at_mut(middle);
    let (grad_left, grad_right) = grad.split_at(middle.min(grad.len()));
    let mut left: [&mut [T]; MAX_STATES] = Default::default();
    let mut right: [&mut [T]; MAX_STATES] = Default::default();
    for ((tensor, l), r) in state.iter_mut().zip(left.iter_mut()).zip(right.iter_mut()) {
        if !tensor.is_empty() {
            let whole = core::mem::take(tensor);
            let at = middle.min(whole.len());
            (*l, *r) = whole.split_at_mut(at);
        }
    }
    let count = state.len();
    let right_factors = factors.advanced(middle);
    rayon::join(
        || chunked::<R, T>(prep, factors, param_left, grad_left, &mut left[..count]),
        || chunked::<R, T>(prep, right_factors, param_right, grad_right, &mut right[..count]),
    );
}

/// Runs reduction pass `pass` for every work item in one parallel region; `results` holds
/// `R::REDUCTIONS.len()` entries (at least one) per item, in work order. Each tensor's result is
/// its own fixed tree, so splitting the work list between threads changes no bit.
pub(crate) fn reduce_all<R: Rule, T: Element>(
    groups: &[ParamGroup<R, T>],
    states: &mut [Vec<Option<ParamState<T>>>],
    work: &[Work<R::Prep>],
    pass: usize,
    results: &mut [f64],
) {
    let parallel = total(work) >= INLINE_BELOW && rayon::current_num_threads() > 1;
    let each = |param: &Param<T>, state: &mut ParamState<T>, item: &Work<R::Prep>, out: &mut [f64], parallel| {
        reduce_one::<R, T>(param, state, item, pass, out, parallel)
    };
    let items = Items { groups, width: R::REDUCTIONS.len().max(1), parallel };
    items.run_groups(states, 0, work, results, &each);
}

/// One tensor's reduction pass `pass`, into `out`.
fn reduce_one<R: Rule, T: Element>(
    param: &Param<T>,
    state: &mut ParamState<T>,
    item: &Work<R::Prep>,
    pass: usize,
    out: &mut [f64],
    parallel: bool,
) {
    if !R::pass_needed(&item.prep, pass) {
        // every reduction of this pass sits under a condition that is false for this tensor
        return;
    }
    let data = param.lock();
    let count = R::STATES.len().min(MAX_STATES);
    let ParamState { tensors, packed, temps_elem: temps, accumulators, shape, .. } = state;
    let mut slices: [&mut [T]; MAX_STATES] = Default::default();
    for (slot, tensor) in slices.iter_mut().zip(tensors.iter_mut()) {
        *slot = &mut tensor[..];
    }
    let mut blocks: [Option<PackedRef<'_>>; MAX_STATES] = Default::default();
    for (slot, codes) in blocks.iter_mut().zip(packed.iter()) {
        *slot = codes.as_ref().map(PackedState::view);
    }
    let blocks = &blocks[..count];
    let accumulators = sum_buffers::<R>(accumulators, shape, R::factor_sums_needed(&item.prep, pass));
    let factors = Factors { temps, ..Factors::whole(shape) };
    let level = crate::SimdLevel::detected();
    let state = &slices[..count];
    let (Some(grad), Some(values)) = (data.grad.as_ref(), data.value.as_slice()) else {
        // a non-row-major tensor: reduce over row-major copies
        let values: Vec<T> = data.value.iter().copied().collect();
        let grads: Vec<T> = data.grad.iter().flat_map(|g| g.iter().copied()).collect();
        let (values, grads) = (&values[..], &grads[..]);
        reduce_tensor::<R, T>(
            level,
            pass,
            &item.prep,
            factors,
            accumulators,
            values,
            grads,
            state,
            blocks,
            out,
            parallel,
        );
        return;
    };
    let grad_rows = grad.as_standard_layout();
    let grad = grad_rows.as_slice().unwrap_or_default();
    reduce_tensor::<R, T>(level, pass, &item.prep, factors, accumulators, values, grad, state, blocks, out, parallel);
}

/// The zeroed row and column sum buffers of a factored pass that accumulates them, allocated
/// the first time one does; none for a pass that does not (it then runs as a plain tree
/// reduction), so a vector under AdaFactor neither holds nor zeroes a buffer as long as itself.
pub(crate) fn sum_buffers<'a, R: Rule>(buffers: &'a mut Vec<f64>, shape: &[usize], needed: bool) -> &'a mut [f64] {
    if !needed {
        return &mut [];
    }
    if buffers.is_empty() {
        buffers.resize(crate::reduce::accumulators_len::<R>(shape), 0.0);
    }
    buffers.fill(0.0);
    buffers
}
