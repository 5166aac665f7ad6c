//! The contract between a compiled DSL spec and the optimizer runtime.

use crate::{Element, HyperSet, SimdLevel};

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
    pub mask: u32,
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
pub trait Rule: Send + Sync + 'static {
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

    /// Whether state `index` of [`Rule::STATES`] exists under these hyperparameters.
    fn state_present(hyper: &Self::Hyper, index: usize) -> bool;
    /// The value state `index` starts at (PyTorch's `zeros_like`, `full_like`).
    fn state_init(hyper: &Self::Hyper, index: usize) -> f64;
    /// The value scalar state `index` starts at.
    fn scalar_state_init(hyper: &Self::Hyper, index: usize) -> f64;
    /// Computes the once-per-tensor scalars for step number `step` (1 on a parameter's first
    /// step) and advances the parameter's scalar states.
    fn prepare(hyper: &Self::Hyper, step: u64, scalar_state: &mut [f64]) -> Self::Prep;
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
}
