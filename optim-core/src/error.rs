//! Typed errors of the optimizer layer.

use thiserror::Error;

/// Everything that can go wrong when building or stepping an optimizer.
///
/// Every fallible operation validates before it mutates: when one of these is returned, the
/// optimizer and its parameters are exactly as they were before the call.
///
/// ```
/// use optim_core::{builtins::Adam, OptimError, Optimizer, Param};
/// let p = Param::new(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
/// let bad = Adam::hyper().lr(-1.0);
/// let err = Optimizer::<Adam, f32>::new(vec![p], bad).unwrap_err();
/// assert!(matches!(err, OptimError::InvalidHyper { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum OptimError {
    /// A hyperparameter is outside its valid range.
    #[error("{optimizer}: invalid {name} = {value}: must satisfy {constraint}")]
    InvalidHyper {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The hyperparameter's name.
        name: &'static str,
        /// The offending value, formatted.
        value: String,
        /// The violated constraint, as written in the spec.
        constraint: &'static str,
    },
    /// A combination of hyperparameters is invalid.
    #[error("{optimizer}: {message}")]
    InvalidHyperCombination {
        /// The optimizer's name.
        optimizer: &'static str,
        /// What is wrong, from the spec's `require` block.
        message: &'static str,
    },
    /// A rule that works on whole matrices (Muon) was given a parameter of fewer than two
    /// axes: when the group is added, or at a step when the parameter was replaced by one since
    /// (the step then changes nothing). The usual split: matrices to the matrix rule, biases and gains to AdamW, in two
    /// optimizers or two param groups.
    ///
    /// ```
    /// use optim_core::{zoo::Muon, OptimError, Optimizer, Param};
    /// let bias = Param::new(ndarray::ArrayD::<f32>::zeros(vec![4]));
    /// let err = Muon::optimizer(vec![bias], Muon::hyper()).unwrap_err();
    /// assert!(matches!(err, OptimError::NotAMatrix { group: 0, index: 0, .. }));
    /// ```
    #[error(
        "{optimizer} works on matrices: group {group}, parameter {index} has shape {shape:?} (fewer than two axes); give it to another optimizer (AdamW) or another param group"
    )]
    NotAMatrix {
        /// The optimizer's name.
        optimizer: &'static str,
        /// Index of the param group.
        group: usize,
        /// Index of the parameter within its group.
        index: usize,
        /// The parameter's shape.
        shape: Vec<usize>,
    },
    /// A parameter with more or fewer axes than the rule takes ([`crate::Rule::RANKS`]): SOAP
    /// preconditions matrices and vectors, and refuses a convolution kernel rather than
    /// preconditioning it other than its reference does.
    ///
    /// ```
    /// use optim_core::{zoo::Soap, OptimError, Param};
    /// let kernel = Param::new(ndarray::ArrayD::<f32>::zeros(vec![4, 3, 2, 2]));
    /// let err = Soap::optimizer(vec![kernel], Soap::hyper()).unwrap_err();
    /// assert!(matches!(err, OptimError::RankUnsupported { index: 0, fewest: 0, most: 2, .. }));
    /// ```
    #[error(
        "{optimizer} takes parameters of {fewest} to {most} axes: group {group}, parameter {index} has shape {shape:?}; give it to another optimizer or another param group"
    )]
    RankUnsupported {
        /// The optimizer's name.
        optimizer: &'static str,
        /// Index of the param group.
        group: usize,
        /// Index of the parameter within its group.
        index: usize,
        /// The parameter's shape.
        shape: Vec<usize>,
        /// The fewest axes the rule takes.
        fewest: usize,
        /// The most axes the rule takes.
        most: usize,
    },
    /// A hyperparameter name the optimizer does not have.
    #[error("{optimizer} has no hyperparameter `{name}` (it has: {known})")]
    UnknownHyper {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The unknown name.
        name: String,
        /// The names it does have, comma-separated.
        known: String,
    },
    /// A state format given for a state name the rule does not have.
    #[error("{optimizer} has no state `{name}` to store in another format (it has: {known})")]
    UnknownState {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The unknown name.
        name: String,
        /// The states it does have, comma-separated.
        known: String,
    },
    /// A hyperparameter set to a value of the wrong type.
    #[error("{optimizer}: hyperparameter `{name}` is {expected}, got {got}")]
    HyperType {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The hyperparameter's name.
        name: &'static str,
        /// The type it has.
        expected: &'static str,
        /// What was given.
        got: String,
    },
    /// A gradient whose shape differs from its parameter's.
    #[error("group {group}, parameter {index}: gradient shape {grad:?} differs from parameter shape {param:?}")]
    GradShape {
        /// Index of the param group.
        group: usize,
        /// Index of the parameter within its group.
        index: usize,
        /// The parameter's shape.
        param: Vec<usize>,
        /// The gradient's shape.
        grad: Vec<usize>,
    },
    /// A parameter whose shape changed after its state was created (its state has the old
    /// shape); the step is refused and nothing changes.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, OptimError, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
    /// let mut opt = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper()).unwrap();
    /// p.set_grad(ndarray::arr1(&[0.5f32, 0.5]).into_dyn());
    /// opt.step().unwrap();
    /// p.lock().value = ndarray::arr1(&[1.0f32, 2.0, 3.0]).into_dyn();
    /// p.set_grad(ndarray::arr1(&[0.5f32, 0.5, 0.5]).into_dyn());
    /// assert!(matches!(opt.step(), Err(OptimError::ParamShape { group: 0, index: 0, .. })));
    /// ```
    #[error(
        "group {group}, parameter {index}: the parameter has shape {param:?} but its state was created for {state:?}"
    )]
    ParamShape {
        /// Index of the param group.
        group: usize,
        /// Index of the parameter within its group.
        index: usize,
        /// The shape the parameter's state has.
        state: Vec<usize>,
        /// The parameter's shape now.
        param: Vec<usize>,
    },
    /// A parameter given twice, in one group or across groups.
    #[error(
        "a parameter appears in more than one place (group {group}, parameter {index}); each parameter may be optimized once"
    )]
    DuplicateParam {
        /// Group of the second occurrence.
        group: usize,
        /// Index within that group.
        index: usize,
    },
    /// A row-sparse gradient that does not fit its parameter.
    #[error("row-sparse gradient: {reason}")]
    SparseGrad {
        /// What does not fit.
        reason: String,
    },
    /// A rule whose step cannot run on bfloat16 parameters tile by tile (see
    /// [`Bf16Optimizer`](crate::Bf16Optimizer)): it has reduction passes, factored or group
    /// state, a matrix program or two points.
    ///
    /// ```
    /// use optim_core::{zoo::Lamb, Bf16Optimizer, OptimError, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let err = Bf16Optimizer::<Lamb>::new(vec![p], Lamb::hyper()).unwrap_err();
    /// assert!(matches!(err, OptimError::Bf16Unsupported { optimizer: "Lamb", .. }));
    /// ```
    #[error("{optimizer} cannot step bfloat16 parameters: {reason}; keep float32 master weights instead")]
    Bf16Unsupported {
        /// The optimizer's name.
        optimizer: &'static str,
        /// What the rule needs that a tile-by-tile step cannot give.
        reason: &'static str,
    },
    /// A row-sparse gradient given to a rule that needs every element each step.
    #[error("{optimizer} does not support row-sparse gradients (group {group}, parameter {index})")]
    SparseUnsupported {
        /// The optimizer's name.
        optimizer: &'static str,
        /// Index of the param group.
        group: usize,
        /// Index of the parameter within its group.
        index: usize,
    },
    /// A param group without parameters, or an optimizer without any group.
    #[error("a param group needs at least one parameter, and an optimizer at least one group")]
    EmptyGroup,
    /// A group or parameter index that does not exist.
    #[error("{what} index {index} out of range (there are {len})")]
    IndexOutOfRange {
        /// What was indexed.
        what: &'static str,
        /// The index given.
        index: usize,
        /// How many there are.
        len: usize,
    },
    /// Saving or loading a checkpoint failed; nothing was changed.
    #[error("checkpoint: {0}")]
    Checkpoint(crate::checkpoint::CheckpointError),
    /// An argument of a scheduler or a clipping function outside its valid range.
    #[error("{what}: {message}")]
    InvalidArgument {
        /// The scheduler or function that refused it (`"StepLR"`, `"clip_grad_norm_"`).
        what: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A scheduler step that cannot be taken; the scheduler and the optimizer are unchanged.
    #[error("{scheduler}: {message}")]
    SchedulerStep {
        /// The scheduler's name.
        scheduler: &'static str,
        /// Why the step cannot be taken.
        message: String,
    },
    /// A saved scheduler state that does not fit the scheduler it is loaded into.
    #[error("{scheduler} state: {message}")]
    SchedulerState {
        /// The scheduler's name.
        scheduler: &'static str,
        /// What does not fit.
        message: String,
    },
    /// A gradient norm that is NaN or infinite while clipping was asked to refuse one.
    #[error("the total norm of order {norm_type} of the gradients is non-finite ({total_norm}); nothing was clipped")]
    NonFiniteNorm {
        /// The order of the norm.
        norm_type: f64,
        /// The norm found.
        total_norm: f64,
    },
    /// `step` while a group is at its evaluation point: call `train()` first (Schedule-Free's
    /// "not in train mode" error).
    #[error("{optimizer}: group {group} is in eval mode; call `train()` before `step()`")]
    EvalMode {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The first group in eval mode.
        group: usize,
    },
    /// A rule whose values span every param group (Prodigy's one step size for the whole
    /// model) found groups with different values of a hyperparameter those values are computed
    /// from; the reference would silently use group 0's.
    ///
    /// ```
    /// use optim_core::{zoo::Prodigy, Group, OptimError, Optimizer, Param};
    /// let (a, b) = (Param::new(ndarray::arr1(&[1.0f64]).into_dyn()), Param::new(ndarray::arr1(&[1.0f64]).into_dyn()));
    /// let groups = vec![Group::new(vec![a.clone()]), Group::new(vec![b.clone()]).with("lr", 0.5)];
    /// let mut opt = Optimizer::<Prodigy, f64>::with_groups(groups, Prodigy::hyper()).unwrap();
    /// a.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    /// b.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    /// assert!(matches!(opt.step(), Err(OptimError::GroupsDisagree { name: "lr", group: 1, .. })));
    /// ```
    #[error(
        "{optimizer}: group {group} has another `{name}` than group 0; it shares one step size across groups, so they must agree"
    )]
    GroupsDisagree {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The hyperparameter.
        name: &'static str,
        /// The first group that differs from group 0.
        group: usize,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = OptimError> = core::result::Result<T, E>;
