//! Running a rule's own kernels over tensors whose states are packed: tile by tile, each packed
//! state's blocks decoded into a buffer the size of a tile (in L1), the kernel run on the
//! buffers and the dense slices, and the blocks the step changed coded again, in one sweep.

use super::{PackedMut, PackedRef};
use crate::factored::Factors;
use crate::mixed::{Stored, TensorRounding};
use crate::simd::{Call, at_level};
use crate::{Element, MAX_REDUCTIONS, MAX_STATES, Rule, SimdLevel};

/// Elements per tile: one block of the widest format, two of 4-bit; every chunk boundary of a
/// packed tensor is a multiple of it.
pub(crate) const TILE: usize = 256;

/// Decoded tiles of every packed state, and their values before the kernel ran.
struct Buffers<T> {
    values: [[T; TILE]; MAX_STATES],
    before: [[T; TILE]; MAX_STATES],
}

impl<T: Element> Buffers<T> {
    fn new() -> Self {
        Buffers { values: [[T::ZERO; TILE]; MAX_STATES], before: [[T::ZERO; TILE]; MAX_STATES] }
    }

    /// Decodes `len` elements from `from` (a tile boundary) of every packed state into its
    /// buffer, and keeps a copy in `before` when the pass may write them.
    fn decode(&mut self, level: SimdLevel, packed: &[Option<PackedMut<'_>>], from: usize, len: usize, keep: bool) {
        for (k, slot) in packed.iter().enumerate().take(MAX_STATES) {
            if let Some(blocks) = slot {
                blocks.as_ref().from(from).decode(level, &mut self.values[k][..len]);
                if keep {
                    self.before[k][..len].copy_from_slice(&self.values[k][..len]);
                }
            }
        }
    }
}

/// The update pass over a chunk that starts on a tile boundary: `dense` holds the chunk's slices
/// of the states kept in the element type (empty for packed or absent ones), `packed` the
/// chunk's blocks of the packed ones. The whole loop runs in one of [`at_level`]'s clones, so
/// decoding and coding are inlined into it rather than dispatched tile by tile.
///
/// A parameter and gradient stored as `P` other than `T` (bfloat16) are widened tile by tile
/// into buffers, the kernel runs on those, and the parameter's tile is rounded back by `rounding`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_stored_tiles<R: Rule, T: Element, P: Stored<T>>(
    level: SimdLevel,
    prep: &R::Prep,
    factors: &Factors<'_, T>,
    param: &mut [P],
    grad: &[P],
    dense: &mut [&mut [T]],
    packed: &mut [Option<PackedMut<'_>>],
    rounding: TensorRounding,
) {
    at_level(level, ApplyTiles::<R, T, P> { level, prep, factors, param, grad, dense, packed, rounding });
}

/// [`apply_stored_tiles`]'s arguments.
struct ApplyTiles<'a, 'b, 'c, 'd, R: Rule, T, P> {
    level: SimdLevel,
    prep: &'a R::Prep,
    factors: &'a Factors<'b, T>,
    param: &'a mut [P],
    grad: &'a [P],
    dense: &'a mut [&'c mut [T]],
    packed: &'a mut [Option<PackedMut<'d>>],
    rounding: TensorRounding,
}

impl<R: Rule, T: Element, P: Stored<T>> Call for ApplyTiles<'_, '_, '_, '_, R, T, P> {
    #[inline(always)]
    fn call(self) {
        let ApplyTiles { level, prep, factors, param, grad, dense, packed, rounding } = self;
        let here = level.effective();
        let mut buffers = Buffers::<T>::new();
        // the widened tile of a parameter and gradient not stored as `T`
        let mut wide = if P::NATIVE { None } else { Some(([T::ZERO; TILE], [T::ZERO; TILE])) };
        let count = dense.len().min(MAX_STATES);
        let mut start = 0;
        while start < param.len() {
            let end = (start + TILE).min(param.len());
            let n = end - start;
            for (k, slot) in packed.iter().enumerate().take(count) {
                if let Some(blocks) = slot {
                    blocks.as_ref().from(start).decode_here(here, &mut buffers.values[k][..n]);
                    buffers.before[k][..n].copy_from_slice(&buffers.values[k][..n]);
                }
            }
            {
                let mut slices: [&mut [T]; MAX_STATES] = Default::default();
                for (k, ((slice, tensor), values)) in
                    slices.iter_mut().zip(dense.iter_mut()).zip(buffers.values.iter_mut()).enumerate().take(count)
                {
                    *slice = if packed.get(k).is_some_and(Option::is_some) {
                        &mut values[..n]
                    } else if tensor.is_empty() {
                        &mut []
                    } else {
                        &mut tensor[start..end]
                    };
                }
                let grad = grad.get(start..end).unwrap_or_default();
                let factors = factors.advanced(start);
                let (param, slices) = (&mut param[start..end], &mut slices[..count]);
                if let (Some(param), Some(grad)) = (P::native_mut(param), P::native(grad)) {
                    R::apply_factored(level, prep, &factors, param, grad, slices);
                } else if let Some((wide_param, wide_grad)) = wide.as_mut() {
                    let (wide_param, wide_grad) = (&mut wide_param[..n], &mut wide_grad[..grad.len()]);
                    P::widen(param, wide_param);
                    P::widen(grad, wide_grad);
                    R::apply_factored(level, prep, &factors, wide_param, wide_grad, slices);
                    P::narrow(wide_param, param, rounding, factors.offset);
                }
            }
            for (k, slot) in packed.iter_mut().enumerate().take(count) {
                if let Some(blocks) = slot {
                    let (_, mut rest) = blocks.reborrow().split_at(start);
                    rest.encode_changed_here(here, &buffers.values[k][..n], Some(&buffers.before[k][..n]));
                }
            }
            start = end;
        }
    }
}

/// A reduction pass's leaf over elements `factors.offset ..` of a tensor (`param.len()` of them,
/// from any element): the packed states' blocks covering them are decoded tile by tile and the
/// rule's reduction runs on each tile's share, its partial results combined in order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reduce_tiles<R: Rule, T: Element>(
    level: SimdLevel,
    pass: usize,
    prep: &R::Prep,
    factors: &Factors<'_, T>,
    accumulators: &mut [f64],
    param: &[T],
    grad: &[T],
    dense: &[&[T]],
    packed: &[Option<PackedRef<'_>>],
    out: &mut [f64],
) {
    let mut buffers = Buffers::<T>::new();
    let count = dense.len().min(MAX_STATES);
    let first = factors.offset;
    let mut at = 0;
    let mut seen = false;
    while at < param.len() {
        // the tile of the whole tensor that element `first + at` lies in
        let tile_start = (first + at) / TILE * TILE;
        let end = (tile_start + TILE - first).min(param.len());
        let (skip, n) = (first + at - tile_start, end - at);
        for (k, slot) in packed.iter().enumerate().take(count) {
            if let Some(blocks) = slot {
                let tile_len = (skip + n).div_ceil(blocks.format.block_size()) * blocks.format.block_size();
                blocks.from(tile_start).decode(level, &mut buffers.values[k][..tile_len.min(TILE)]);
            }
        }
        let mut slices: [&[T]; MAX_STATES] = Default::default();
        for (k, ((slice, tensor), values)) in
            slices.iter_mut().zip(dense.iter()).zip(buffers.values.iter()).enumerate().take(count)
        {
            *slice = if packed.get(k).is_some_and(Option::is_some) {
                &values[skip..skip + n]
            } else {
                // row and column states are read through `factors`: their slot may be shorter
                tensor.get(at..end).unwrap_or_default()
            };
        }
        let mut partial = [0.0f64; MAX_REDUCTIONS];
        let partial = &mut partial[..out.len().min(MAX_REDUCTIONS)];
        let grad = grad.get(at..end).unwrap_or_default();
        let factors = factors.advanced(at);
        R::reduce_factored(level, pass, prep, &factors, accumulators, &param[at..end], grad, &slices[..count], partial);
        for ((slot, value), reduction) in out.iter_mut().zip(partial.iter()).zip(R::REDUCTIONS) {
            if reduction.pass == pass {
                *slot = if seen { reduction.kind.combine(*slot, *value) } else { *value };
            }
        }
        seen = true;
        at = end;
    }
}

/// The update pass of one tensor with packed states: dense gradients chunk by chunk (halves on
/// tile boundaries, on rayon's pool with `parallel`), row-sparse ones run by run.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_packed<R: Rule, T: Element>(
    prep: &R::Prep,
    factors: Factors<'_, T>,
    value: &mut ndarray::ArrayD<T>,
    grad: Option<&ndarray::ArrayD<T>>,
    sparse: Option<&crate::RowSparse<T>>,
    dense: &mut [&mut [T]],
    packed: &mut [Option<PackedMut<'_>>],
    parallel: bool,
) {
    let level = SimdLevel::detected();
    let row_len: usize = value.shape().iter().skip(1).product();
    crate::kernel::with_row_major(value, |param| match (grad, sparse) {
        (Some(grad), _) => {
            let grad_rows = grad.as_standard_layout();
            let grad = grad_rows.as_slice().unwrap_or_default();
            halves::<R, T>(level, prep, factors, param, grad, dense, packed, parallel);
        }
        (None, Some(sparse)) => sparse_runs::<R, T>(prep, param, row_len, sparse, dense, packed),
        (None, None) => {}
    });
}

/// The update pass over slices, halved on tile boundaries (on rayon's pool with `parallel`): a
/// matrix rule's `dense` slots after its states hold the matrix program's results.
#[allow(clippy::too_many_arguments)]
pub(crate) fn halves<R: Rule, T: Element>(
    level: SimdLevel,
    prep: &R::Prep,
    factors: Factors<'_, T>,
    param: &mut [T],
    grad: &[T],
    dense: &mut [&mut [T]],
    packed: &mut [Option<PackedMut<'_>>],
    parallel: bool,
) {
    let rounding = TensorRounding::NearestEven;
    stored_halves::<R, T, T>(level, prep, factors, param, grad, dense, packed, parallel, rounding);
}

/// [`halves`] for a parameter and gradient stored as `P`, rounded back by `rounding`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stored_halves<R: Rule, T: Element, P: Stored<T>>(
    level: SimdLevel,
    prep: &R::Prep,
    factors: Factors<'_, T>,
    param: &mut [P],
    grad: &[P],
    dense: &mut [&mut [T]],
    packed: &mut [Option<PackedMut<'_>>],
    parallel: bool,
    rounding: TensorRounding,
) {
    if !parallel || param.len() <= crate::parallel::GRAIN {
        return apply_stored_tiles::<R, T, P>(level, prep, &factors, param, grad, dense, packed, rounding);
    }
    let middle = param.len() / 2 / TILE * TILE;
    let (param_left, param_right) = param.split_at_mut(middle);
    let (grad_left, grad_right) = grad.split_at(middle.min(grad.len()));
    let mut left: [&mut [T]; MAX_STATES] = Default::default();
    let mut right: [&mut [T]; MAX_STATES] = Default::default();
    for ((tensor, l), r) in dense.iter_mut().zip(left.iter_mut()).zip(right.iter_mut()) {
        if !tensor.is_empty() {
            let whole = core::mem::take(tensor);
            (*l, *r) = whole.split_at_mut(middle.min(whole.len()));
        }
    }
    let mut packed_left: [Option<PackedMut<'_>>; MAX_STATES] = Default::default();
    let mut packed_right: [Option<PackedMut<'_>>; MAX_STATES] = Default::default();
    for ((blocks, l), r) in packed.iter_mut().zip(packed_left.iter_mut()).zip(packed_right.iter_mut()) {
        if let Some(blocks) = blocks {
            let (a, b) = blocks.reborrow().split_at(middle);
            (*l, *r) = (Some(a), Some(b));
        }
    }
    let count = dense.len();
    let right_factors = factors.advanced(middle);
    rayon::join(
        || {
            let (dense, packed) = (&mut left[..count], &mut packed_left[..count]);
            stored_halves::<R, T, P>(level, prep, factors, param_left, grad_left, dense, packed, parallel, rounding)
        },
        || {
            let (dense, packed) = (&mut right[..count], &mut packed_right[..count]);
            stored_halves::<R, T, P>(
                level,
                prep,
                right_factors,
                param_right,
                grad_right,
                dense,
                packed,
                parallel,
                rounding,
            )
        },
    );
}

/// A lazy step on the rows a sparse gradient covers: each run of rows is stepped tile by tile.
/// A tile's blocks are decoded whole and coded again when the step changed them, so values of
/// untouched rows sharing a block may move to the block's new scale (block-wise coding cannot
/// keep them apart); blocks with no touched row are left alone.
fn sparse_runs<R: Rule, T: Element>(
    prep: &R::Prep,
    param: &mut [T],
    row_len: usize,
    grad: &crate::RowSparse<T>,
    dense: &mut [&mut [T]],
    packed: &mut [Option<PackedMut<'_>>],
) {
    let Some(values) = grad.values().as_slice() else { return };
    let level = SimdLevel::detected();
    let mut buffers = Buffers::<T>::new();
    let count = dense.len().min(MAX_STATES);
    for (at, from, len) in grad.runs(row_len) {
        let mut done = 0;
        while done < len {
            let (first, tile_start) = (at + done, (at + done) / TILE * TILE);
            let tile_end = (tile_start + TILE).min(param.len());
            let n = (tile_end - first).min(len - done);
            let skip = first - tile_start;
            buffers.decode(level, &packed[..count], tile_start, tile_end - tile_start, true);
            {
                let mut slices: [&mut [T]; MAX_STATES] = Default::default();
                for (k, ((slice, tensor), values)) in
                    slices.iter_mut().zip(dense.iter_mut()).zip(buffers.values.iter_mut()).enumerate().take(count)
                {
                    *slice = if packed.get(k).is_some_and(Option::is_some) {
                        &mut values[skip..skip + n]
                    } else if tensor.is_empty() {
                        &mut []
                    } else {
                        &mut tensor[first..first + n]
                    };
                }
                let grad = &values[from + done..from + done + n];
                R::apply(prep, &mut param[first..first + n], grad, &mut slices[..count]);
            }
            for (k, slot) in packed.iter_mut().enumerate().take(count) {
                if let Some(blocks) = slot {
                    let (_, mut rest) = blocks.reborrow().split_at(tile_start);
                    let (values, before) =
                        (&buffers.values[k][..tile_end - tile_start], &buffers.before[k][..tile_end - tile_start]);
                    rest.encode_changed(level, values, Some(before));
                }
            }
            done += n;
        }
    }
}

/// The first pass of a matrix rule over a tensor with packed states: `R::matrix_inputs` tile by
/// tile on the decoded blocks, each tile's inputs stored at its own offset.
pub(crate) fn matrix_inputs_tiles<R: Rule, T: Element>(
    prep: &R::Prep,
    param: &[T],
    grad: &[T],
    dense: &[&mut [T]],
    packed: &[Option<PackedMut<'_>>],
    inputs: &mut [&mut [T]],
) {
    let level = SimdLevel::detected();
    let mut buffers = Buffers::<T>::new();
    let count = dense.len().min(MAX_STATES);
    let mut start = 0;
    while start < param.len() {
        let end = (start + TILE).min(param.len());
        let n = end - start;
        buffers.decode(level, &packed[..count], start, n, false);
        let mut slices: [&[T]; MAX_STATES] = Default::default();
        for (k, ((slice, tensor), values)) in
            slices.iter_mut().zip(dense.iter()).zip(buffers.values.iter()).enumerate().take(count)
        {
            *slice = if packed.get(k).is_some_and(Option::is_some) {
                &values[..n]
            } else if tensor.is_empty() {
                &[]
            } else {
                &tensor[start..end]
            };
        }
        let mut tile_inputs: [&mut [T]; MAX_STATES] = Default::default();
        let input_count = inputs.len().min(MAX_STATES);
        for (slot, input) in tile_inputs.iter_mut().zip(inputs.iter_mut()) {
            *slot = &mut input[start..end];
        }
        let grad = grad.get(start..end).unwrap_or_default();
        R::matrix_inputs(prep, &param[start..end], grad, &slices[..count], &mut tile_inputs[..input_count]);
        start = end;
    }
}
