//! Learning-rate schedulers: every policy of `torch.optim.lr_scheduler`, over any optimizer.
//!
//! A scheduler does not own its optimizer. It is built from one, which it reads (and, like
//! PyTorch's, adjusts: most policies take their first step on construction), and it is then
//! handed the optimizer at every [`LrScheduler::step`]; it reads and writes the param groups'
//! `"lr"` (and, for the cyclic policies, `"momentum"` or `"betas"`) through [`LrTarget`], which
//! every [`Optimizer`] implements. The loop is PyTorch's:
//!
//! ```
//! use optim_core::builtins::Sgd;
//! use optim_core::lr_scheduler::{LrScheduler, StepLR};
//! use optim_core::Param;
//!
//! let w = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
//! let mut opt = Sgd::optimizer(vec![w.clone()], Sgd::hyper().lr(0.1)).unwrap();
//! let mut sched = StepLR::new(&mut opt, 2, 0.5).unwrap();
//! let mut seen = Vec::new();
//! for _ in 0..5 {
//!     seen.push(opt.param_groups()[0].hyper.lr); // the lr this step uses
//!     w.set_grad(ndarray::arr1(&[1.0]).into_dyn());
//!     opt.step().unwrap();
//!     sched.step(&mut opt).unwrap();
//! }
//! assert_eq!(seen, [0.1, 0.1, 0.05, 0.05, 0.025]);
//! ```
//!
//! Each policy computes exactly what PyTorch 2.x computes, with the same recursions (the
//! "chainable" forms) and the same floating-point expressions, so learning rates agree to the
//! last bit with `torch.optim.lr_scheduler`.
//!
//! **Base learning rates.** PyTorch keeps each group's `initial_lr` in the group itself, so every
//! scheduler built on one optimizer shares it. Here a scheduler records its base learning rates
//! when it is built; [`SequentialLR`] and [`ChainedScheduler`] give all their (freshly built)
//! members the first member's base learning rates and replay their construction in order, which
//! is what sharing `initial_lr` does in PyTorch.
//!
//! **Checkpoints.** [`LrScheduler::state_dict`] returns a [`SchedulerState`]: plain named values
//! (the policy's arguments and its progress) plus the states of the members of a composite.
//! Loading checks the kind, every key and every length before it changes anything.
//!
//! [`Optimizer`]: crate::Optimizer

mod compose;
mod cosine;
mod cyclic;
mod decay;
mod factor;
mod lambda;
mod one_cycle;
mod plateau;
mod policy;
mod state;
mod target;

pub use compose::{ChainedScheduler, SequentialLR};
pub use cosine::{CosineAnnealingLR, CosineAnnealingWarmRestarts};
pub use cyclic::{CyclicConfig, CyclicLR, CyclicMode, ScaleMode};
pub use decay::{ExponentialLR, MultiStepLR, StepLR};
pub use factor::{ConstantLR, LinearLR, PolynomialLR};
pub use lambda::{LambdaLR, LrLambda, MultiplicativeLR};
pub use one_cycle::{Anneal, OneCycleConfig, OneCycleLR};
pub use plateau::{PlateauConfig, PlateauMode, ReduceLROnPlateau, ThresholdMode};
pub use state::{SchedulerState, StateValue};
pub use target::{LrTarget, PerGroup};

pub(crate) use policy::{
    Core, Policy, bisect_right, check_groups, drive, epochs, leaf_scheduler, scaled, start, start_with,
};
pub(crate) use target::{MomentumKey, Plan, apply, group_floats, invalid, refuse_non_finite, set_lrs, step_error};

use crate::Result;

/// A learning-rate policy over the param groups of an [`LrTarget`].
///
/// Built with the policy's `new`, which takes the first step as PyTorch's constructors do; then
/// [`LrScheduler::step`] once per epoch (or per batch for [`CyclicLR`] and [`OneCycleLR`]), after
/// the optimizer's step. [`ReduceLROnPlateau`] steps on a metric instead and is not an
/// `LrScheduler`.
///
/// The trait is sealed; custom schedules are written with [`LambdaLR`] or [`MultiplicativeLR`].
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{ExponentialLR, LrScheduler, StepLR};
/// use optim_core::Param;
///
/// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
/// let mut opt = Sgd::optimizer(vec![p], Sgd::hyper().lr(1.0)).unwrap();
/// let mut schedulers: Vec<Box<dyn LrScheduler>> = vec![
///     Box::new(ExponentialLR::new(&mut opt, 0.5).unwrap()),
///     Box::new(StepLR::new(&mut opt, 2, 0.1).unwrap()),
/// ];
/// for sched in &mut schedulers {
///     sched.step(&mut opt).unwrap();
/// }
/// assert_eq!(schedulers[1].get_last_lr(), [0.5]);
/// assert_eq!(schedulers[0].name(), "ExponentialLR");
/// ```
pub trait LrScheduler: sealed::Composable + Send {
    /// PyTorch's name of the policy (`"StepLR"`).
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{LrScheduler, ConstantLR}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert_eq!(ConstantLR::new(&mut opt, 0.5, 2).unwrap().name(), "ConstantLR");
    /// ```
    fn name(&self) -> &'static str;

    /// Advances the schedule by one epoch and sets the new learning rates.
    ///
    /// # Errors
    /// When `target` no longer has the param groups the scheduler was built for, or the policy
    /// cannot go further ([`OneCycleLR`] past its total steps); then nothing has changed.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{LrScheduler, ExponentialLR}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
    /// let mut sched = ExponentialLR::new(&mut opt, 0.9).unwrap();
    /// sched.step(&mut opt).unwrap();
    /// assert_eq!(opt.param_groups()[0].hyper.lr, 0.9);
    /// ```
    fn step(&mut self, target: &mut dyn LrTarget) -> Result<()>;

    /// The learning rates the last step (or the construction) set, one per group.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{LrScheduler, ConstantLR}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
    /// let sched = ConstantLR::new(&mut opt, 0.25, 3).unwrap();
    /// assert_eq!(sched.get_last_lr(), [0.25]);
    /// ```
    fn get_last_lr(&self) -> &[f64];

    /// The learning rates the schedule starts from, one per group (PyTorch's `base_lrs`).
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{LrScheduler, ConstantLR}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
    /// let sched = ConstantLR::new(&mut opt, 0.25, 3).unwrap();
    /// assert_eq!(sched.base_lrs(), [1.0]);
    /// ```
    fn base_lrs(&self) -> &[f64];

    /// The index of the last epoch (0 right after construction).
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{LrScheduler, ExponentialLR}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// let mut sched = ExponentialLR::new(&mut opt, 0.9).unwrap();
    /// sched.step(&mut opt).unwrap();
    /// assert_eq!(sched.last_epoch(), 1);
    /// ```
    fn last_epoch(&self) -> i64;

    /// The scheduler's arguments and progress, to resume it later.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{LrScheduler, StateValue, StepLR}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// let sched = StepLR::new(&mut opt, 3, 0.5).unwrap();
    /// let state = sched.state_dict();
    /// assert_eq!(state.scheduler, "StepLR");
    /// assert_eq!(state.get("gamma"), Some(&StateValue::Float(0.5)));
    /// ```
    fn state_dict(&self) -> SchedulerState;

    /// Restores a state from [`LrScheduler::state_dict`] of a scheduler of the same kind (and,
    /// for composites, with members of the same kinds) over as many param groups.
    ///
    /// The optimizer's learning rates are not touched: restore them with the optimizer's own
    /// state, as in PyTorch.
    ///
    /// # Errors
    /// [`OptimError::SchedulerState`](crate::OptimError::SchedulerState) when the kind, a key, a
    /// type, a length or a value does not fit; then nothing has changed.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{LrScheduler, ExponentialLR, StepLR}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// let mut a = StepLR::new(&mut opt, 3, 0.5).unwrap();
    /// a.step(&mut opt).unwrap();
    /// let mut b = StepLR::new(&mut opt, 1, 0.1).unwrap();
    /// b.load_state_dict(&a.state_dict()).unwrap();
    /// assert_eq!(b.state_dict(), a.state_dict());
    /// let other = ExponentialLR::new(&mut opt, 0.9).unwrap();
    /// assert!(b.load_state_dict(&other.state_dict()).is_err());
    /// ```
    fn load_state_dict(&mut self, state: &SchedulerState) -> Result<()>;
}

/// The hooks composites drive their members through (PyTorch's `_initial_step`,
/// `recursive_undo` and `_update_lr(epoch)`); sealed so that the set of schedulers is closed.
pub(crate) mod sealed {
    use super::{LrTarget, SchedulerState};
    use crate::Result;

    pub trait Composable {
        /// Checks that `state` would load, without loading it.
        fn check_state_dict(&self, state: &SchedulerState) -> Result<()>;
        /// Replays the construction as if the groups' `initial_lr` were `initial_lrs`.
        fn restart(&mut self, target: &mut dyn LrTarget, initial_lrs: &[f64]) -> Result<()>;
        /// Steps the epoch counters of the leaf schedulers back by one.
        fn undo(&mut self);
        /// PyTorch's `_initial_step`.
        fn initial_step(&mut self, target: &mut dyn LrTarget) -> Result<()>;
        /// PyTorch's `_update_lr(epoch)`: jumps to `epoch` by the closed form where there is one.
        fn jump_to(&mut self, target: &mut dyn LrTarget, epoch: i64) -> Result<()>;
    }
}
