//! What schedulers drive: [`LrTarget`], per-group arguments, and atomic writes of
//! hyperparameters.

use crate::{Element, HyperSet, HyperValue, OptimError, Optimizer, Result, Rule};

/// What a scheduler drives: param groups whose hyperparameters can be read and set by name.
///
/// Implemented for every [`Optimizer`] and [`Bf16Optimizer`](crate::Bf16Optimizer);
/// implement it for another container of param groups to schedule that.
///
/// ```
/// use optim_core::builtins::Adam;
/// use optim_core::lr_scheduler::LrTarget;
/// use optim_core::{HyperValue, Param};
///
/// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
/// let mut opt = Adam::optimizer(vec![p], Adam::hyper().lr(0.01)).unwrap();
/// assert_eq!(opt.group_count(), 1);
/// assert_eq!(opt.group_hyper(0, "lr"), Some(HyperValue::Float(0.01)));
/// opt.set_group_hyper(0, "lr", HyperValue::Float(0.02)).unwrap();
/// assert_eq!(opt.param_groups()[0].hyper.lr, 0.02);
/// assert!(opt.has_hyper("betas") && !opt.has_hyper("momentum"));
/// assert_eq!(opt.optimizer_name(), "Adam");
/// ```
///
/// [`Optimizer`]: crate::Optimizer
pub trait LrTarget {
    /// The optimizer's name, for error messages.
    fn optimizer_name(&self) -> &'static str;
    /// How many param groups there are.
    fn group_count(&self) -> usize;
    /// Hyperparameter `name` of group `group`, if both exist.
    fn group_hyper(&self, group: usize, name: &str) -> Option<HyperValue>;
    /// Sets hyperparameter `name` of group `group`; nothing changes on error.
    ///
    /// # Errors
    /// When the group or the hyperparameter does not exist, the value has the wrong type, or
    /// the value is NaN or infinite.
    fn set_group_hyper(&mut self, group: usize, name: &str, value: HyperValue) -> Result<()>;
    /// Whether the optimizer has hyperparameter `name` at all (PyTorch's `name in
    /// optimizer.defaults`).
    fn has_hyper(&self, name: &str) -> bool;
}

impl<R: Rule, T: Element> LrTarget for Optimizer<R, T> {
    fn optimizer_name(&self) -> &'static str {
        R::NAME
    }

    fn group_count(&self) -> usize {
        self.param_groups().len()
    }

    fn group_hyper(&self, group: usize, name: &str) -> Option<HyperValue> {
        self.param_groups().get(group)?.hyper.get(name)
    }

    fn set_group_hyper(&mut self, group: usize, name: &str, value: HyperValue) -> Result<()> {
        let len = self.param_groups().len();
        let Some(slot) = self.param_groups_mut().get_mut(group) else {
            return Err(OptimError::IndexOutOfRange { what: "param group", index: group, len });
        };
        refuse_non_finite::<R>(&slot.hyper, name, value)?;
        slot.hyper.set(name, value)
    }

    fn has_hyper(&self, name: &str) -> bool {
        self.defaults().get(name).is_some()
    }
}

/// Refuses a NaN or infinite `value` for hyperparameter `name` of `hyper`: here, by the
/// scheduler step that computed it, not at the optimizer's next step. Finite values out of
/// range are let through: PyTorch's OneCycleLR extrapolates past its last step (a negative lr),
/// which the next step then refuses.
pub(crate) fn refuse_non_finite<R: Rule>(hyper: &R::Hyper, name: &str, value: HyperValue) -> Result<()> {
    let finite = match value {
        HyperValue::Float(v) => v.is_finite(),
        HyperValue::Pair(a, b) => a.is_finite() && b.is_finite(),
        HyperValue::Triple(a, b, c) => a.is_finite() && b.is_finite() && c.is_finite(),
        _ => true,
    };
    if finite {
        return Ok(());
    }
    let name = hyper.names().iter().copied().find(|n| *n == name).unwrap_or("hyperparameter");
    let value = format!("{value:?}");
    Err(OptimError::InvalidHyper { optimizer: R::NAME, name, value, constraint: "finite" })
}

/// A value given either once for every param group or once per group (PyTorch accepts a float
/// or a list for `max_lr`, `base_momentum`, `min_lr`, ...). A list must have one value per
/// group, or the scheduler refuses it.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{OneCycleConfig, OneCycleLR, PerGroup};
/// use optim_core::Param;
///
/// assert_eq!(PerGroup::from(0.1), PerGroup::All(0.1));
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
/// let two_values = OneCycleConfig::new(vec![0.1, 0.2], 100);
/// assert!(OneCycleLR::new(&mut opt, two_values).is_err()); // one group
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum PerGroup {
    /// The same value for every group.
    All(f64),
    /// One value per group, in group order.
    Each(Vec<f64>),
}

impl PerGroup {
    /// One value per group for `groups` groups; a list of another length is refused.
    pub(crate) fn resolve(&self, what: &'static str, name: &str, groups: usize) -> Result<Vec<f64>> {
        match self {
            PerGroup::All(value) => Ok(vec![*value; groups]),
            PerGroup::Each(values) if values.len() == groups => Ok(values.clone()),
            PerGroup::Each(values) => Err(invalid(
                what,
                format!("{name} has {} values but the optimizer has {groups} param groups", values.len()),
            )),
        }
    }
}

impl From<f64> for PerGroup {
    fn from(value: f64) -> Self {
        PerGroup::All(value)
    }
}

impl From<Vec<f64>> for PerGroup {
    fn from(values: Vec<f64>) -> Self {
        PerGroup::Each(values)
    }
}

pub(crate) fn invalid(what: &'static str, message: impl Into<String>) -> OptimError {
    OptimError::InvalidArgument { what, message: message.into() }
}

pub(crate) fn step_error(scheduler: &'static str, message: impl Into<String>) -> OptimError {
    OptimError::SchedulerStep { scheduler, message: message.into() }
}

/// Hyperparameter `name` of every group, as floats.
pub(crate) fn group_floats(target: &dyn LrTarget, scheduler: &'static str, name: &str) -> Result<Vec<f64>> {
    (0..target.group_count()).map(|g| group_float(target, scheduler, g, name)).collect()
}

pub(crate) fn group_float(target: &dyn LrTarget, scheduler: &'static str, group: usize, name: &str) -> Result<f64> {
    target.group_hyper(group, name).and_then(HyperValue::as_f64).ok_or_else(|| {
        invalid(
            scheduler,
            format!("param group {group} of {} has no float hyperparameter `{name}`", target.optimizer_name()),
        )
    })
}

/// Which hyperparameter the cyclic policies cycle as momentum: `momentum`, or the first of
/// `betas` (PyTorch prefers `betas` when the optimizer has both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MomentumKey {
    Momentum,
    Beta1,
}

impl MomentumKey {
    pub(crate) fn of(target: &dyn LrTarget, scheduler: &'static str) -> Result<Self> {
        if target.has_hyper("betas") {
            Ok(MomentumKey::Beta1)
        } else if target.has_hyper("momentum") {
            Ok(MomentumKey::Momentum)
        } else {
            Err(invalid(
                scheduler,
                format!(
                    "{} has neither `momentum` nor `betas`, so cycle_momentum must be false",
                    target.optimizer_name()
                ),
            ))
        }
    }

    /// The write that sets group `group`'s momentum to `value`, keeping the second beta.
    pub(crate) fn write(
        self,
        target: &dyn LrTarget,
        scheduler: &'static str,
        group: usize,
        value: f64,
    ) -> Result<Write> {
        match self {
            MomentumKey::Momentum => Ok((group, "momentum", HyperValue::Float(value))),
            MomentumKey::Beta1 => match target.group_hyper(group, "betas") {
                Some(HyperValue::Pair(_, beta2)) => Ok((group, "betas", HyperValue::Pair(value, beta2))),
                _ => Err(invalid(scheduler, format!("param group {group} has no `betas` pair"))),
            },
        }
    }
}

/// One hyperparameter assignment: group, name, value.
pub(crate) type Write = (usize, &'static str, HyperValue);

/// What one step of a policy sets: the learning rates, then any other hyperparameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub lrs: Vec<f64>,
    pub extra: Vec<Write>,
}

impl From<Vec<f64>> for Plan {
    fn from(lrs: Vec<f64>) -> Self {
        Plan { lrs, extra: Vec::new() }
    }
}

/// Sets every value of `plan`, or none: a failed assignment rolls the earlier ones back.
pub(crate) fn apply(target: &mut dyn LrTarget, plan: &Plan) -> Result<()> {
    let writes = plan.lrs.iter().enumerate().map(|(g, &lr)| (g, "lr", HyperValue::Float(lr)));
    let writes: Vec<Write> = writes.chain(plan.extra.iter().copied()).collect();
    let mut undo: Vec<Write> = Vec::with_capacity(writes.len());
    for &(group, name, value) in &writes {
        let old = target.group_hyper(group, name);
        if let Err(error) = target.set_group_hyper(group, name, value) {
            for &(group, name, value) in undo.iter().rev() {
                // Restoring a value the group held a moment ago cannot fail.
                let _ = target.set_group_hyper(group, name, value);
            }
            return Err(error);
        }
        if let Some(old) = old {
            undo.push((group, name, old));
        }
    }
    Ok(())
}

/// Sets every group's learning rate to `lrs`.
pub(crate) fn set_lrs(target: &mut dyn LrTarget, lrs: &[f64]) -> Result<()> {
    apply(target, &Plan::from(lrs.to_vec()))
}
