//! The step of a rule with matrix values (Muon): one tensor at a time, a first pass stores the
//! matrix program's inputs, the program runs on whole matrices (its products threaded by the
//! linear-algebra crate), then the update pass walks the parameter, its states and the
//! program's results in parallel chunks. Scratch buffers are the optimizer's, sized by the
//! first step and reused, so later steps allocate nothing.

use crate::lowbit::PackedMut;
use crate::matrix::{MatrixScratch, Rounding};
use crate::parallel::{GRAIN, Work, chunked};
use crate::passes::stage_prep;
use crate::{Element, Factors, MAX_STATES, OptimError, ParamData, ParamGroup, ParamState, Rule, SimdLevel};

/// The scratch buffers of a rule's matrix program, by number: those the first pass stores
/// (inputs), those the update pass reads (results), and how many the program uses in all.
///
/// ```
/// use optim_core::{optimizer, MatrixLayout, Rule};
/// optimizer! {
///     pub Orthogonal {
///         hyper { lr = 0.1 }
///         step { let g = grad; param -= lr * matmul(g, transpose(matmul(transpose(g), g))) / (norm(matmul(g, transpose(g))) + 1.0); }
///     }
/// }
/// assert_eq!(Orthogonal::MATRIX.inputs.len(), 1);
/// assert_eq!(Orthogonal::MATRIX.results.len(), 1);
/// assert!(Orthogonal::MATRIX.buffers >= 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MatrixLayout {
    /// Buffers the first pass stores, one per element-wise value used as a matrix.
    pub inputs: &'static [usize],
    /// Buffers the update pass reads, one per matrix read element-wise.
    pub results: &'static [usize],
    /// Buffers the program uses in all (0: the rule has no matrices).
    pub buffers: usize,
}

impl MatrixLayout {
    /// Whether the rule computes matrices between its passes.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Rule};
    /// assert!(!Adam::MATRIX.is_used());
    /// ```
    pub const fn is_used(&self) -> bool {
        self.buffers > 0
    }
}

/// The matrix a parameter of `shape` is seen as: its first axis by the product of the others
/// (a convolution's `(out, in, h, w)` is `out x (in * h * w)`, as Muon's reference flattens
/// it). Rules with matrices refuse parameters of fewer than two axes.
///
/// ```
/// assert_eq!(optim_core::matrix_view_dims(&[8, 5]), (8, 5));
/// assert_eq!(optim_core::matrix_view_dims(&[4, 3, 2, 2]), (4, 12));
/// assert_eq!(optim_core::matrix_view_dims(&[7]), (1, 7));
/// ```
pub fn matrix_view_dims(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (1, *n),
        [rows, rest @ ..] => (*rows, rest.iter().product()),
    }
}

/// `value` rounded as the program's matrices are: to bfloat16 under [`Rounding::Bf16`] (a
/// number torch computes on a bfloat16 tensor, such as its norm), unchanged otherwise.
///
/// ```
/// use optim_core::{matrix::Rounding, round_scalar};
/// assert_eq!(round_scalar(1.0 + 1e-3, Rounding::Exact), 1.0 + 1e-3);
/// assert_eq!(round_scalar(1.0 + 1e-3, Rounding::Bf16), 1.0);
/// ```
pub fn round_scalar(value: f64, rounding: Rounding) -> f64 {
    match rounding {
        Rounding::Exact => value,
        Rounding::Bf16 => f64::from(half::bf16::from_f64(value)),
    }
}

/// The parameters a rule cannot take ([`Rule::RANKS`]): each refused, by position, when the
/// group is added; a matrix rule's vector as [`OptimError::NotAMatrix`].
pub(crate) fn check_ranks<R: Rule, T: Element>(group: usize, params: &[crate::Param<T>]) -> Result<(), OptimError> {
    for (index, param) in params.iter().enumerate() {
        if let Some(error) = rank_error::<R>(group, index, param.lock().value.shape()) {
            return Err(error);
        }
    }
    Ok(())
}

/// The error for parameter `index` of `group`, of `shape`, when the rule does not take its rank.
pub(crate) fn rank_error<R: Rule>(group: usize, index: usize, shape: &[usize]) -> Option<OptimError> {
    let (fewest, most) = R::RANKS;
    if (fewest..=most).contains(&shape.len()) {
        return None; // checked at every step: no allocation on this path
    }
    let shape = shape.to_vec();
    if shape.len() < fewest && fewest == 2 {
        return Some(OptimError::NotAMatrix { optimizer: R::NAME, group, index, shape });
    }
    Some(OptimError::RankUnsupported { optimizer: R::NAME, group, index, shape, fewest, most })
}

/// One tensor's matrix step on slices: stores the inputs with `prep` (stage 0), runs the
/// program, takes the last stage's prep from `restage`, and runs the update pass (in
/// parallel chunks when `parallel`).
#[allow(clippy::too_many_arguments)]
fn tensor_step<R: Rule, T: Element>(
    level: SimdLevel,
    prep: &R::Prep,
    shape: &[usize],
    param: &mut [T],
    grad: &[T],
    state: &mut [&mut [T]],
    packed: &mut [Option<PackedMut<'_>>],
    scratch: &mut MatrixScratch<T>,
    restage: impl FnOnce() -> R::Prep,
    parallel: bool,
) {
    let len = param.len();
    let layout = R::MATRIX;
    let any_packed = packed.iter().any(Option::is_some);
    // the matrix states (rows x rows, ...) are the program's alone: the passes walk the
    // per-element states, cut like the parameter, and never see them
    let mut matrix_states = crate::factored::take_factored(R::STATES, state);
    {
        let mut inputs = scratch.buffers_mut(layout.inputs, len);
        let inputs = &mut inputs[..layout.inputs.len()];
        if any_packed {
            crate::lowbit::tiles::matrix_inputs_tiles::<R, T>(prep, param, grad, state, packed, inputs);
        } else {
            let shared: [&[T]; MAX_STATES] = core::array::from_fn(|i| state.get(i).map_or(&[][..], |s| &**s));
            R::matrix_inputs(prep, param, grad, &shared[..state.len()], inputs);
        }
    }
    R::matrix_program(prep, shape, &mut matrix_states[..state.len()], scratch);
    let prep = restage();
    update_pass::<R, T>(level, &prep, shape, param, grad, state, packed, scratch, parallel);
    crate::factored::put_back(state, matrix_states);
}

/// The update pass of a matrix rule: the parameter, its per-element states and the program's
/// results, in parallel chunks when `parallel`.
#[allow(clippy::too_many_arguments)]
fn update_pass<R: Rule, T: Element>(
    level: SimdLevel,
    prep: &R::Prep,
    shape: &[usize],
    param: &mut [T],
    grad: &[T],
    state: &mut [&mut [T]],
    packed: &mut [Option<PackedMut<'_>>],
    scratch: &mut MatrixScratch<T>,
    parallel: bool,
) {
    let (len, layout, any_packed) = (param.len(), R::MATRIX, packed.iter().any(Option::is_some));
    let results = scratch.buffers_mut(layout.results, len);
    let mut slices: [&mut [T]; MAX_STATES] = Default::default();
    let states = state.len();
    let count = states + layout.results.len();
    for (slot, tensor) in slices.iter_mut().zip(state.iter_mut()) {
        *slot = &mut **tensor;
    }
    for (slot, result) in slices[states..].iter_mut().zip(results) {
        *slot = result;
    }
    if any_packed {
        // the results' slots are never packed
        let mut blocks: [Option<PackedMut<'_>>; MAX_STATES] = Default::default();
        for (slot, codes) in blocks.iter_mut().zip(packed.iter_mut()) {
            *slot = codes.as_mut().map(PackedMut::reborrow);
        }
        let (dense, blocks) = (&mut slices[..count], &mut blocks[..count]);
        let factors = Factors::whole(shape);
        crate::lowbit::tiles::halves::<R, T>(level, prep, factors, param, grad, dense, blocks, parallel);
    } else if parallel && len > GRAIN {
        chunked::<R, T>(prep, Factors::whole(shape), param, grad, &mut slices[..count]);
    } else {
        R::apply_at(level, prep, param, grad, &mut slices[..count]);
    }
}

/// [`Rule::step_slices`] of a matrix rule: one tensor on slices the caller owns.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn matrix_step_slices<R: Rule, T: Element>(
    level: SimdLevel,
    hyper: &R::Hyper,
    step: u64,
    scalar_state: &mut [f64],
    shape: &[usize],
    param: &mut [T],
    grad: &[T],
    state: &mut [&mut [T]],
    scratch: &mut MatrixScratch<T>,
) {
    let prep = R::prepare_stage(hyper, step, &mut *scalar_state, shape, &[], 0);
    let last = R::PASSES - 1;
    let restage = || R::prepare_stage(hyper, step, scalar_state, shape, &[], last);
    tensor_step::<R, T>(level, &prep, shape, param, grad, state, &mut [], scratch, restage, false);
}

/// Every tensor of an optimizer's step, one after the other ([`crate::Optimizer::step`] for a
/// rule with matrices). Gradients and parameters not laid out row-major are copied first.
pub(crate) fn run_matrix_work<R: Rule, T: Element>(
    groups: &[ParamGroup<R, T>],
    states: &mut [Vec<Option<ParamState<T>>>],
    work: &mut [Work<R::Prep>],
    group_next: &mut [f64],
    grad_scale: f64,
    scratch: &mut MatrixScratch<T>,
) {
    let parallel = rayon::current_num_threads() > 1;
    for item in work.iter_mut() {
        let Some(group) = groups.get(item.group) else { continue };
        let Some(param) = group.params.get(item.index) else { continue };
        let Some(Some(state)) = states.get_mut(item.group).and_then(|g| g.get_mut(item.index)) else { continue };
        let mut data = param.lock();
        let ParamData { value, grad, .. } = &mut *data;
        let Some(grad) = grad.as_ref() else { continue };
        if !value.is_standard_layout() {
            *value = value.as_standard_layout().into_owned();
        }
        let grad = grad.as_standard_layout();
        let (Some(param), Some(grad)) = (value.as_slice_mut(), grad.as_slice()) else { continue };
        // the matrix view's two sides stand for the shape (all the program reads of it), so the
        // step does not copy the shape and allocates nothing
        let (rows, cols) = matrix_view_dims(&state.shape);
        let shape = [rows, cols];
        let count = R::STATES.len().min(MAX_STATES);
        let last = R::PASSES - 1;
        let (group_index, prep) = (item.group, item.prep);
        let mut tensors = core::mem::take(&mut state.tensors);
        let mut packed = core::mem::take(&mut state.packed);
        {
            let mut slices: [&mut [T]; MAX_STATES] = Default::default();
            for (slot, tensor) in slices.iter_mut().zip(tensors.iter_mut()) {
                *slot = &mut tensor[..];
            }
            let mut blocks: [Option<PackedMut<'_>>; MAX_STATES] = Default::default();
            for (slot, codes) in blocks.iter_mut().zip(packed.iter_mut()) {
                *slot = codes.as_mut().map(crate::lowbit::PackedState::view_mut);
            }
            let restage = || {
                let next = crate::group_values::next_values::<R>(group_next, group_index);
                stage_prep(group, state, next, &[], last, grad_scale)
            };
            let level = SimdLevel::detected();
            let (slices, blocks) = (&mut slices[..count], &mut blocks[..count]);
            tensor_step::<R, T>(level, &prep, &shape, param, grad, slices, blocks, scratch, restage, parallel);
        }
        state.tensors = tensors;
        state.packed = packed;
    }
}
