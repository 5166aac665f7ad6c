//! Reductions over one tensor, deterministic whatever the thread count: the tensor is halved
//! recursively down to a fixed grain and the halves combine in a fixed order. A factored rule's
//! pass (row and column sums) is cut by whole rows into a number of pieces fixed by the shape,
//! each summing into its own accumulator buffer, and the buffers combine in a fixed tree.

use crate::factored::Factors;
use crate::lowbit::{PackedRef, tiles};
use crate::parallel::{GRAIN, both};
use crate::{Element, MAX_REDUCTIONS, MAX_STATES, Rule};

/// How a piece of a reduction pass reads its states: straight from the slices, or, for the
/// states stored packed, decoded tile by tile.
#[derive(Clone, Copy)]
struct Leaf<'a, 'p> {
    packed: &'a [Option<PackedRef<'p>>],
}

impl Leaf<'_, '_> {
    #[allow(clippy::too_many_arguments)]
    fn reduce<R: Rule, T: Element>(
        self,
        level: crate::SimdLevel,
        pass: usize,
        prep: &R::Prep,
        factors: &Factors<'_, T>,
        accumulators: &mut [f64],
        param: &[T],
        grad: &[T],
        state: &[&[T]],
        out: &mut [f64],
    ) {
        if self.packed.iter().any(Option::is_some) {
            let packed = self.packed;
            tiles::reduce_tiles::<R, T>(level, pass, prep, factors, accumulators, param, grad, state, packed, out);
        } else {
            R::reduce_factored(level, pass, prep, factors, accumulators, param, grad, state, out);
        }
    }
}

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
    packed: &[Option<PackedRef<'_>>],
    out: &mut [f64],
    parallel: bool,
) {
    let leaf = Leaf { packed };
    let mut views: [&[T]; MAX_STATES] = Default::default();
    for (view, tensor) in views.iter_mut().zip(state) {
        *view = tensor;
    }
    let count = state.len().min(MAX_STATES);
    let mut partial = [0.0f64; MAX_REDUCTIONS];
    let factors = Factors { states: views, ..factors };
    if accumulators.is_empty() {
        reduce_range::<R, T>(leaf, level, pass, prep, factors, param, grad, &views[..count], &mut partial, parallel);
    } else {
        let all_rows = factors.slices * factors.rows;
        let buffer = accumulator_len::<R>(&factors);
        let pieces = accumulators.len().checked_div(buffer).unwrap_or(1).max(1);
        let rows = Rows { first: 0, end: all_rows, depth: pieces.ilog2() };
        let state = &views[..count];
        reduce_rows::<R, T>(
            leaf,
            level,
            pass,
            prep,
            factors,
            accumulators,
            param,
            grad,
            state,
            &mut partial,
            rows,
            parallel,
        );
    }
    for ((slot, value), reduction) in out.iter_mut().zip(partial).zip(R::REDUCTIONS) {
        if reduction.pass == pass {
            *slot = value;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn reduce_range<R: Rule, T: Element>(
    leaf: Leaf<'_, '_>,
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
        leaf.reduce::<R, T>(level, pass, prep, &factors, &mut [], param, grad, state, out);
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
                leaf,
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
            reduce_range::<R, T>(leaf, level, pass, prep, right_factors, param_right, grad_right, state, out, parallel)
        },
    );
    for (r, reduction) in R::REDUCTIONS.iter().enumerate().take(MAX_REDUCTIONS) {
        if reduction.pass == pass {
            out[r] = reduction.kind.combine(out_left[r], out_right[r]);
        }
    }
}

/// Values of one piece's accumulator buffer: the row sums, then the column sums.
fn accumulator_len<R: Rule>(factors: &Factors<'_, impl Sized>) -> usize {
    let buffers = R::ACCUMULATORS;
    buffers.rows * factors.slices * factors.rows + buffers.cols * factors.slices * factors.cols
}

/// Pieces a factored rule's reduction pass over a tensor of `shape` is cut into, fixed by the
/// shape alone so results do not depend on the thread count: a power of two, by whole rows, each
/// piece at least `GRAIN` elements, and their buffers (one per piece, in `f64`) at most a
/// sixteenth of the tensor's elements in count, so tall thin matrices stay on few pieces.
pub(crate) fn factored_pieces<R: Rule>(shape: &[usize]) -> usize {
    let (slices, rows, cols) = crate::matrix_dims(shape);
    let buffer = R::ACCUMULATORS.len(shape);
    let (all_rows, len) = (slices * rows, slices * rows * cols);
    let mut pieces = 1usize;
    while buffer > 0
        && pieces < 64
        && 2 * pieces <= all_rows
        && len / (2 * pieces) >= GRAIN
        && 2 * pieces * buffer * 16 <= len
    {
        pieces *= 2;
    }
    pieces
}

/// Room for every piece's accumulators, as [`factored_pieces`] cuts a tensor of `shape`.
pub(crate) fn accumulators_len<R: Rule>(shape: &[usize]) -> usize {
    factored_pieces::<R>(shape) * R::ACCUMULATORS.len(shape)
}

/// Flat rows `first..end` of the tensor, to be cut `depth` more times.
#[derive(Clone, Copy)]
struct Rows {
    first: usize,
    end: usize,
    depth: u32,
}

/// A factored rule's reduction pass over `rows`: each leaf sums into the first buffer of
/// `accumulators` it is given, halves run with `parallel`, and the right half's buffer is folded
/// into the left's: its row sums copied (a row lies in one piece, so row sums are those of one
/// uncut pass), its column sums added.
#[allow(clippy::too_many_arguments)]
fn reduce_rows<R: Rule, T: Element>(
    leaf: Leaf<'_, '_>,
    level: crate::SimdLevel,
    pass: usize,
    prep: &R::Prep,
    factors: Factors<'_, T>,
    accumulators: &mut [f64],
    param: &[T],
    grad: &[T],
    state: &[&[T]],
    out: &mut [f64; MAX_REDUCTIONS],
    rows: Rows,
    parallel: bool,
) {
    if rows.depth == 0 || rows.end - rows.first < 2 {
        let out = &mut out[..R::REDUCTIONS.len().min(MAX_REDUCTIONS)];
        leaf.reduce::<R, T>(level, pass, prep, &factors, accumulators, param, grad, state, out);
        return;
    }
    let buffer = accumulator_len::<R>(&factors);
    let middle_row = rows.first + (rows.end - rows.first) / 2;
    let at = (middle_row - rows.first) * factors.cols;
    fn split<T>(slice: &[T], at: usize) -> (&[T], &[T]) {
        slice.split_at(at.min(slice.len()))
    }
    let (param_left, param_right) = split(param, at);
    let (grad_left, grad_right) = split(grad, at);
    let mut left: [&[T]; MAX_STATES] = Default::default();
    let mut right: [&[T]; MAX_STATES] = Default::default();
    for ((tensor, l), r) in state.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
        (*l, *r) = split(tensor, at);
    }
    let count = state.len();
    let half = (1usize << (rows.depth - 1)) * buffer;
    let (acc_left, acc_right) = accumulators.split_at_mut(half.min(accumulators.len()));
    let (mut out_left, mut out_right) = ([0.0f64; MAX_REDUCTIONS], [0.0f64; MAX_REDUCTIONS]);
    let right_factors = factors.advanced(at);
    let depth = rows.depth - 1;
    let (left_rows, right_rows) =
        (Rows { first: rows.first, end: middle_row, depth }, Rows { first: middle_row, end: rows.end, depth });
    both(
        parallel,
        || {
            let (state, out) = (&left[..count], &mut out_left);
            reduce_rows::<R, T>(
                leaf, level, pass, prep, factors, acc_left, param_left, grad_left, state, out, left_rows, parallel,
            )
        },
        || {
            let (state, out, acc) = (&right[..count], &mut out_right, &mut *acc_right);
            reduce_rows::<R, T>(
                leaf,
                level,
                pass,
                prep,
                right_factors,
                acc,
                param_right,
                grad_right,
                state,
                out,
                right_rows,
                parallel,
            )
        },
    );
    let all_rows = factors.slices * factors.rows;
    let row_sums = R::ACCUMULATORS.rows * all_rows;
    let (mine_len, theirs_len) = (buffer.min(acc_left.len()), buffer.min(acc_right.len()));
    let (mine, theirs) = (&mut acc_left[..mine_len], &acc_right[..theirs_len]);
    for m in 0..R::ACCUMULATORS.rows {
        let span = m * all_rows + middle_row..m * all_rows + rows.end;
        if let (Some(to), Some(from)) = (mine.get_mut(span.clone()), theirs.get(span)) {
            to.copy_from_slice(from);
        }
    }
    for (to, from) in mine.iter_mut().zip(theirs).skip(row_sums) {
        *to += from;
    }
    for (r, reduction) in R::REDUCTIONS.iter().enumerate().take(MAX_REDUCTIONS) {
        if reduction.pass == pass {
            out[r] = reduction.kind.combine(out_left[r], out_right[r]);
        }
    }
}
