//! The contract between a compiled DSL spec and the optimizer runtime.

use crate::factored::{Factors, FactorsMut};
use crate::{Element, FactorBuffers, HyperSet, SimdLevel, StateShape};

/// The scalars a rule's prologue computed for one tensor and one step.
///
/// `scalars` are the hoisted sub-expressions the element loop reads (converted to the element type
/// once per call); `mask` holds one bit per hoisted condition (a flag, `step == 1`, a presence
/// condition), which selects a loop specialised for exactly that configuration.
///
/// ```
/// use optim_core::Prepared;
/// let p = Prepared::<2> { scalars: [0.1, 0.9], mask: 0b1 };
/// assert_eq!(p.scalars[1], 0.9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prepared<const K: usize> {
    /// Hoisted scalar values, in `f64`.
    pub scalars: [f64; K],
    /// One bit per hoisted condition.
    pub mask: crate::Mask,
}

/// A per-element state tensor of a rule, as declared in its spec.
///
/// ```
/// use optim_core::{builtins::Adam, Rule};
/// assert_eq!(Adam::STATES[0].name, "exp_avg");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateDecl {
    /// PyTorch's name of the state (`exp_avg`, `momentum_buffer`, ...).
    pub name: &'static str,
    /// The presence condition as written in the spec (`"amsgrad"`), or `None` when always present.
    pub condition: Option<&'static str>,
    /// Shaped like the parameter, or one value per row or per column (`row` / `col` in the spec).
    pub shape: StateShape,
    /// Whether the macro proved the state never negative (Adam's `exp_avg_sq`: its initial value
    /// and every assignment are), so an 8-bit or 4-bit [`crate::StateFormat`] stores it with the
    /// unsigned map, as torchao and bitsandbytes do; states it cannot prove use the signed map.
    pub non_negative: bool,
    /// Whether the state holds a copy of the parameter (Schedule-Free's `z = param`, Prodigy's
    /// `p0`, MADGRAD's `x0 = param` on the first step): [`crate::StateFormats::all`] leaves it
    /// in the element type, since rounding a parameter-sized value to a few bits moves the
    /// parameter by more than a step; [`crate::StateFormats::with`] can still name it.
    pub param_copy: bool,
}

/// How a reduction's partial results combine.
///
/// ```
/// use optim_core::ReduceKind;
/// assert_eq!(ReduceKind::Sum.identity(), 0.0);
/// assert_eq!(ReduceKind::Max.combine(1.0, 3.0), 3.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceKind {
    /// Partial sums add (`sum`, `mean`, `norm` in the DSL).
    Sum,
    /// Partial maxima take the larger (`amax`).
    Max,
}

impl ReduceKind {
    /// The value of an empty reduction.
    pub fn identity(self) -> f64 {
        match self {
            ReduceKind::Sum => 0.0,
            ReduceKind::Max => f64::NEG_INFINITY,
        }
    }

    /// Combines two partial results.
    pub fn combine(self, a: f64, b: f64) -> f64 {
        match self {
            ReduceKind::Sum => a + b,
            ReduceKind::Max => a.max(b),
        }
    }
}

/// A reduction of a rule: the memory pass that completes it, how partial results combine and
/// over what.
///
/// ```
/// use optim_core::{optimizer, Reduction, ReduceKind, ReduceScope, Rule};
/// optimizer! {
///     pub Normalized {
///         hyper { lr = 0.1 }
///         step { param -= lr * grad / norm(grad); }
///     }
/// }
/// assert_eq!(Normalized::REDUCTIONS, &[Reduction { pass: 1, kind: ReduceKind::Sum, scope: ReduceScope::Tensor }]);
/// assert_eq!(Normalized::PASSES, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reduction {
    /// The reduction pass (1-based) whose loop accumulates it.
    pub pass: usize,
    /// How partial results combine.
    pub kind: ReduceKind,
    /// One result per tensor, or one per param group.
    pub scope: ReduceScope,
}

/// Whether a reduction gives one number per tensor (`sum`, `norm`) or one per param group
/// (`group_sum`, `group_norm`): the per-tensor results of every tensor of the group that steps,
/// combined in parameter order, so the result does not depend on threads or chunking.
///
/// ```
/// use optim_core::{optimizer, ReduceScope, Rule};
/// optimizer! {
///     pub GroupNormalized {
///         hyper { lr = 0.1 }
///         step { param -= lr * grad / group_norm(grad); }
///     }
/// }
/// assert_eq!(GroupNormalized::REDUCTIONS[0].scope, ReduceScope::Group { f32_accumulator: false, from_prologue: false });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceScope {
    /// Over the elements of one tensor.
    Tensor,
    /// Over every tensor of the param group that has a gradient this step.
    Group {
        /// The running sum is kept in float32, rounded after each tensor's term (`group_sum_f32`).
        f32_accumulator: bool,
        /// Each tensor's term is a number its prologue computed ([`Rule::fold_input`]), not a sum
        /// a memory pass accumulated.
        from_prologue: bool,
    },
}

/// A param group's values (`group` state in the spec) for one tensor's prologue: the values at
/// the start of the step, and where the last stage writes the new ones. Every tensor of the group
/// computes the same new values; the optimizer keeps one copy in the group.
///
/// ```
/// use optim_core::GroupScalars;
/// let current = [1e-6];
/// let mut next = [0.0];
/// let group = GroupScalars { current: &current, next: &mut next };
/// assert_eq!(group.current[0], 1e-6);
/// ```
#[derive(Debug)]
pub struct GroupScalars<'a> {
    /// The group's values when the step started, one per [`Rule::GROUP_STATES`].
    pub current: &'a [f64],
    /// Where the last stage of the prologue writes the group's new values.
    pub next: &'a mut [f64],
}

/// An update rule compiled by `optimizer!`: hyperparameters, state layout and a fused kernel.
///
/// This is also the kernel layer of the API: [`Rule::prepare`] and [`Rule::apply`] run one step on
/// raw slices the caller owns, with no allocation and no bookkeeping.
///
/// ```
/// use optim_core::{builtins::Sgd, Rule};
/// let hyper = Sgd::hyper().lr(0.5);
/// let mut param = [1.0f32, 2.0];
/// let grad = [1.0f32, -1.0];
/// let mut scalars = [];
/// let prep = Sgd::prepare(&hyper, 1, &mut scalars);
/// let mut momentum_buffer: [f32; 0] = [];
/// Sgd::apply(&prep, &mut param, &grad, &mut [&mut momentum_buffer[..]]);
/// assert_eq!(param, [0.5, 2.5]);
/// ```
pub trait Rule: Sized + Send + Sync + 'static {
    /// The typed hyperparameters, with defaults, builder methods and validation.
    type Hyper: HyperSet;
    /// What [`Rule::prepare`] hands to [`Rule::apply`].
    type Prep: Copy + Send + Sync + core::fmt::Debug;
    /// The optimizer's name, as PyTorch spells it.
    const NAME: &'static str;
    /// Per-element state tensors, in declaration order.
    const STATES: &'static [StateDecl];
    /// Per-parameter scalar states (such as NAdam's `mu_product`), in declaration order.
    const SCALAR_STATES: &'static [&'static str];
    /// Whether the rule accepts row-sparse gradients (updating only the rows they cover);
    /// `#[dense_only]` in the spec sets it to `false`.
    const SPARSE: bool;

    /// Whether state `index` of [`Rule::STATES`] exists under these hyperparameters for a
    /// parameter of `shape` (a condition may read `ndim` and `numel`).
    fn state_present(hyper: &Self::Hyper, shape: &[usize], index: usize) -> bool;
    /// The value state `index` starts at (PyTorch's `zeros_like`, `full_like`).
    fn state_init(hyper: &Self::Hyper, index: usize) -> f64;
    /// Whether state `index` starts from the parameter's values (`z = param` in the spec)
    /// rather than from the constant [`Rule::state_init`].
    ///
    /// ```
    /// use optim_core::{optimizer, Rule};
    /// optimizer! {
    ///     pub Averaged {
    ///         hyper { lr = 0.1 }
    ///         state { z = param }
    ///         step { z = z - lr * grad; param = 0.5 * (param + z); }
    ///     }
    /// }
    /// assert!(Averaged::state_init_reads_param(0));
    /// assert_eq!(Averaged::state_init_at(&Averaged::hyper(), 0, 3.0f64), 3.0);
    /// ```
    fn state_init_reads_param(index: usize) -> bool {
        let _ = index;
        false
    }
    /// The value state `index` starts at for a parameter element of value `param`: the
    /// spec's initial value evaluated per element ([`Rule::state_init`] when it is a constant).
    fn state_init_at<T: Element>(hyper: &Self::Hyper, index: usize, param: T) -> T {
        let _ = param;
        T::from_f64(Self::state_init(hyper, index))
    }
    /// The value scalar state `index` starts at.
    fn scalar_state_init(hyper: &Self::Hyper, index: usize) -> f64;
    /// Values kept once per param group (`group d = d0` in the spec: Prodigy's `d`,
    /// Schedule-Free's `weight_sum`), in declaration order. The optimizer keeps them in each
    /// [`ParamGroup`](crate::ParamGroup), where PyTorch users find them.
    const GROUP_STATES: &'static [&'static str] = &[];
    /// Whether the group values and group reductions span every param group (`#[across_groups]`
    /// in the spec), as Prodigy and D-Adaptation compute one step size over the whole model: one
    /// set of values, kept identical in every group.
    const ACROSS_GROUPS: bool = false;
    /// The hyperparameters every group must agree on when [`Rule::ACROSS_GROUPS`]: those the
    /// shared values are computed from. A step with groups that disagree is refused
    /// ([`OptimError::GroupsDisagree`](crate::OptimError::GroupsDisagree)).
    const SHARED_HYPERS: &'static [&'static str] = &[];
    /// The value group state `index` starts at.
    fn group_state_init(hyper: &Self::Hyper, index: usize) -> f64 {
        let _ = (hyper, index);
        0.0
    }
    /// Whether the rule has an evaluation point (`eval` and `train` in the spec): see
    /// [`Rule::switch_point`].
    const POINTS: bool = false;
    /// Moves one parameter between its training point and its evaluation point
    /// (Schedule-Free's `optimizer.eval()` / `train()`): `to_eval` applies the spec's `eval`
    /// assignment to every element, otherwise its `train` one. `state` holds one slice per
    /// entry of [`Rule::STATES`]. Rules without points leave the parameter alone.
    fn switch_point<T: Element>(hyper: &Self::Hyper, to_eval: bool, param: &mut [T], state: &[&[T]]) {
        let _ = (hyper, to_eval, param, state);
    }
    /// The term this tensor adds to group reduction `reduction` when the reduction folds
    /// per-tensor numbers ([`ReduceScope::Group`] with `from_prologue`), read from the prologue
    /// of the stage before its pass.
    fn fold_input(prep: &Self::Prep, reduction: usize) -> f64 {
        let _ = (prep, reduction);
        0.0
    }
    /// Memory passes per step: 1 for element-wise rules; one more per stage of reductions.
    const PASSES: usize;
    /// The rule's per-tensor reductions, in order of appearance in the spec.
    const REDUCTIONS: &'static [Reduction];
    /// Whether the rule has row or column state or values (`row_mean`, `col_mean`): its passes
    /// then go through [`Rule::apply_factored`], [`Rule::reduce_factored`] and
    /// [`Rule::factored_stage`].
    const FACTORED: bool = false;
    /// Row and column values the rule computes between passes and its element loop reads.
    const TEMPORARIES: FactorBuffers = FactorBuffers { rows: 0, cols: 0 };
    /// Row and column sums (`row_mean`, `col_mean` of element-wise values) its passes accumulate.
    const ACCUMULATORS: FactorBuffers = FactorBuffers { rows: 0, cols: 0 };

    /// The matrix program's buffers (Muon's Newton–Schulz iteration): a rule with matrices
    /// steps one tensor at a time through [`Rule::matrix_inputs`], [`Rule::matrix_program`] and
    /// its update pass, and takes parameters of two or more axes only.
    const MATRIX: crate::MatrixLayout = crate::MatrixLayout { inputs: &[], results: &[], buffers: 0 };

    /// The first pass of a matrix rule: stores every element-wise value the program uses as a
    /// matrix into `inputs` (one slice per [`crate::MatrixLayout::inputs`]), reading `param`,
    /// `grad` and `state` (one slice per [`Rule::STATES`]) without writing them.
    fn matrix_inputs<T: Element>(prep: &Self::Prep, param: &[T], grad: &[T], state: &[&[T]], inputs: &mut [&mut [T]]) {
        let _ = (prep, param, grad, state, inputs);
    }

    /// The matrix program of a rule with matrices, on the scratch buffers [`Rule::matrix_inputs`]
    /// filled; leaves the matrices element-wise code reads in the buffers of
    /// [`crate::MatrixLayout::results`], shaped like the parameter. It reads and writes the
    /// matrix states (SOAP's `GG_0`, [`crate::StateShape::RowsByRows`]) in `state`, one slice
    /// per [`Rule::STATES`] (empty for an absent state), and no other state.
    fn matrix_program<T: Element>(
        prep: &Self::Prep,
        shape: &[usize],
        state: &mut [&mut [T]],
        scratch: &mut crate::matrix::MatrixScratch<T>,
    ) {
        let _ = (prep, shape, state, scratch);
    }

    /// The ranks (numbers of axes) of the parameters the rule takes, `(fewest, most)`: a
    /// parameter outside them is refused when its group is added. Matrix rules take two axes or
    /// more unless the spec says `#[ranks(0..=2)]` (SOAP: scalars, vectors and matrices).
    ///
    /// ```
    /// use optim_core::{builtins::Adam, zoo::Muon, Rule};
    /// assert_eq!(Adam::RANKS, (0, usize::MAX));
    /// assert_eq!(Muon::RANKS, (2, usize::MAX));
    /// ```
    const RANKS: (usize, usize) = (0, usize::MAX);

    /// Computes the once-per-tensor scalars for step number `step` (1 on a parameter's first
    /// step) and advances the parameter's scalar states: [`Rule::prepare_stage`] for an
    /// element-wise rule and a parameter of unknown shape (`numel` reads 1, `ndim` 0).
    fn prepare(hyper: &Self::Hyper, step: u64, scalar_state: &mut [f64]) -> Self::Prep {
        Self::prepare_stage(hyper, step, scalar_state, &[], &[], 0)
    }

    /// The scalar program at reduction stage `stage` (0 before any reduction), given the
    /// parameter's shape and the reductions computed so far (one entry per
    /// [`Rule::REDUCTIONS`]). Scalar state is advanced only at the last stage,
    /// `PASSES - 1`; earlier stages recompute from the same inputs.
    fn prepare_stage(
        hyper: &Self::Hyper,
        step: u64,
        scalar_state: &mut [f64],
        shape: &[usize],
        reductions: &[f64],
        stage: usize,
    ) -> Self::Prep;
    /// Whether [`Rule::scale_grad`] works: every rule `optimizer!` compiles can multiply its
    /// gradient loads by a factor, which is how clipping is fused into the step.
    const SCALES_GRAD: bool = false;
    /// Makes the kernels of `prep` read every gradient element multiplied by `scale` (in the
    /// element type), so clipping by the global norm costs no pass that writes the gradients.
    /// Returns whether it could ([`Rule::SCALES_GRAD`]).
    fn scale_grad(prep: &mut Self::Prep, scale: f64) -> bool {
        let _ = (prep, scale);
        false
    }
    /// [`Rule::prepare_stage`] for a tensor of a param group whose group values are `group`
    /// (the optimizer's entry point; rules without group state ignore `group`).
    fn prepare_in_group(
        hyper: &Self::Hyper,
        step: u64,
        scalar_state: &mut [f64],
        group: GroupScalars<'_>,
        shape: &[usize],
        reductions: &[f64],
        stage: usize,
    ) -> Self::Prep {
        let _ = group;
        Self::prepare_stage(hyper, step, scalar_state, shape, reductions, stage)
    }
    /// The fused element loop: one pass over `param`, `grad` and the present states.
    ///
    /// `state` holds one slice per entry of [`Rule::STATES`]; slices of absent states may be
    /// empty and are never touched. The loop covers the common length of the slices it reads.
    fn apply<T: Element>(prep: &Self::Prep, param: &mut [T], grad: &[T], state: &mut [&mut [T]]) {
        Self::apply_at(SimdLevel::detected(), prep, param, grad, state)
    }

    /// [`Rule::apply`] compiled for instruction-set `level` (the baseline if the CPU lacks it).
    /// Every level gives bit-identical results; benchmarks and tests pick levels explicitly.
    fn apply_at<T: Element>(level: SimdLevel, prep: &Self::Prep, param: &mut [T], grad: &[T], state: &mut [&mut [T]]);

    /// Reduction pass `pass` over a contiguous piece of the tensor: writes this piece's partial
    /// result of every reduction of that pass into `out` (one entry per [`Rule::REDUCTIONS`]),
    /// reading but never writing. Element-wise rules have no reduction passes.
    fn reduce_at<T: Element>(
        level: SimdLevel,
        pass: usize,
        prep: &Self::Prep,
        param: &[T],
        grad: &[T],
        state: &[&[T]],
        out: &mut [f64],
    ) {
        let _ = (level, pass, prep, param, grad, state, out);
    }

    /// [`Rule::apply_at`] for a chunk of a tensor that `factors` places (its offset and matrix
    /// view) and whose row and column data it carries. Rules without factored state ignore it.
    fn apply_factored<T: Element>(
        level: SimdLevel,
        prep: &Self::Prep,
        factors: &Factors<'_, T>,
        param: &mut [T],
        grad: &[T],
        state: &mut [&mut [T]],
    ) {
        let _ = factors;
        Self::apply_at(level, prep, param, grad, state)
    }

    /// [`Rule::reduce_at`] for a chunk that `factors` places; row and column sums of the pass
    /// are added into `accumulators` (laid out as [`Rule::ACCUMULATORS`] says).
    #[allow(clippy::too_many_arguments)]
    fn reduce_factored<T: Element>(
        level: SimdLevel,
        pass: usize,
        prep: &Self::Prep,
        factors: &Factors<'_, T>,
        accumulators: &mut [f64],
        param: &[T],
        grad: &[T],
        state: &[&[T]],
        out: &mut [f64],
    ) {
        let _ = (factors, accumulators);
        Self::reduce_at(level, pass, prep, param, grad, state, out)
    }

    /// The row and column computations of stage `stage` (0 before any pass, `p` after
    /// reduction pass `p`): updates row/column states in `state` and the temporaries in
    /// `factors`. Runs once per stage, between passes, on the calling thread. Returns whether
    /// it wrote a temporary: the runtime then rounds them to `T` for the element loops (a
    /// vector under AdaFactor's `if ndim >= 2` writes none, and its column buffer, as long as
    /// the vector, is never touched).
    fn factored_stage<T: Element>(
        prep: &Self::Prep,
        stage: usize,
        state: &mut [&mut [T]],
        factors: FactorsMut<'_>,
    ) -> bool {
        let _ = (prep, stage, state, factors);
        false
    }

    /// Whether reduction pass `pass` of a factored rule accumulates row or column sums for a
    /// tensor whose prologue gave `prep` (`false` when every such sum sits under a condition
    /// that is false, e.g. a vector's under `if ndim >= 2`). Without sums the pass runs as a
    /// plain tree reduction: threaded, with no sum buffers to zero.
    fn factor_sums_needed(prep: &Self::Prep, pass: usize) -> bool {
        let _ = (prep, pass);
        Self::FACTORED
    }

    /// Whether reduction pass `pass` must run for a tensor whose prologue gave `prep`: `false`
    /// when every reduction of that pass sits under a scalar condition (a flag) that is false,
    /// so a rule with an optional reduction pays for its pass only when the option is on.
    ///
    /// ```
    /// use optim_core::{optimizer, Rule};
    /// optimizer! {
    ///     pub MaybeNormalized {
    ///         hyper { lr = 0.1, normalize = false }
    ///         step {
    ///             if normalize { param -= lr * grad / norm(grad); } else { param -= lr * grad; }
    ///         }
    ///     }
    /// }
    /// let off = MaybeNormalized::prepare(&MaybeNormalized::hyper(), 1, &mut []);
    /// let on = MaybeNormalized::prepare(&MaybeNormalized::hyper().normalize(true), 1, &mut []);
    /// assert!(!MaybeNormalized::pass_needed(&off, 1));
    /// assert!(MaybeNormalized::pass_needed(&on, 1));
    /// ```
    fn pass_needed(prep: &Self::Prep, pass: usize) -> bool {
        let _ = (prep, pass);
        true
    }

    /// One whole step of the rule on slices the caller owns, every pass included, on the calling
    /// thread: the kernel layer's entry point for rules with reductions. `shape` is the
    /// parameter's shape (its product is the slices' length).
    ///
    /// ```
    /// use optim_core::{optimizer, Rule, SimdLevel};
    /// optimizer! {
    ///     pub Normalized {
    ///         hyper { lr = 0.1 }
    ///         step { let n = norm(grad); param -= lr * grad / n; }
    ///     }
    /// }
    /// let mut param = [0.0f64, 0.0];
    /// Normalized::step_slices(SimdLevel::detected(), &Normalized::hyper(), 1, &mut [], &[2], &mut param, &[3.0, 4.0], &mut []);
    /// assert!((param[0] + 0.06).abs() < 1e-15 && (param[1] + 0.08).abs() < 1e-15);
    /// ```
    #[allow(clippy::too_many_arguments)]
    fn step_slices<T: Element>(
        level: SimdLevel,
        hyper: &Self::Hyper,
        step: u64,
        scalar_state: &mut [f64],
        shape: &[usize],
        param: &mut [T],
        grad: &[T],
        state: &mut [&mut [T]],
    ) {
        let mut reductions = [0.0f64; crate::MAX_REDUCTIONS];
        let reductions = &mut reductions[..Self::REDUCTIONS.len().min(crate::MAX_REDUCTIONS)];
        let mut plan = crate::passes::SlicePlan::<Self, T>::start(
            level,
            hyper,
            step,
            scalar_state,
            shape,
            param,
            grad,
            state,
            reductions,
        );
        crate::passes::run_passes::<Self>(&mut plan, None);
    }
}
