//! Schedules given as closures of the epoch: [`LambdaLR`], [`MultiplicativeLR`].

use std::sync::Arc;

use super::state::{StateReader, StateWriter};
use super::{Core, LrTarget, Plan, Policy, group_floats, invalid, leaf_scheduler, start_with};
use crate::Result;

/// A schedule's factor as a function of the epoch, shared by the schedulers that call it.
///
/// ```
/// use optim_core::lr_scheduler::LrLambda;
/// let halve_every_ten: LrLambda = std::sync::Arc::new(|epoch| 0.5f64.powf((epoch / 10) as f64));
/// assert_eq!(halve_every_ten(25), 0.25);
/// ```
pub type LrLambda = Arc<dyn Fn(u64) -> f64 + Send + Sync>;

/// One closure for every group, or one per group (checked against the group count).
fn lambdas(
    what: &'static str,
    target: &dyn LrTarget,
    per_group: Vec<Box<dyn Fn(u64) -> f64 + Send + Sync>>,
) -> Result<Vec<LrLambda>> {
    let groups = target.group_count();
    if per_group.len() != groups {
        return Err(invalid(
            what,
            format!("expected {groups} lr_lambdas, one per param group, got {}", per_group.len()),
        ));
    }
    Ok(per_group.into_iter().map(LrLambda::from).collect())
}

/// One closure, shared by every group.
fn every_group(target: &dyn LrTarget, lr_lambda: impl Fn(u64) -> f64 + Send + Sync + 'static) -> Vec<LrLambda> {
    let lr_lambda: LrLambda = Arc::new(lr_lambda);
    vec![lr_lambda; target.group_count()]
}

/// The closures cannot be shown; the progress can.
fn debug_lambdas(name: &str, core: &Core, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    f.debug_struct(name).field("core", core).finish_non_exhaustive()
}

fn epoch_arg(epoch: i64) -> u64 {
    u64::try_from(epoch).unwrap_or(0)
}

/// Sets every group's learning rate to its base rate times `lr_lambda(epoch)`, as
/// `torch.optim.lr_scheduler.LambdaLR`. The closures should be pure functions of the epoch: a
/// composite may replay the first epochs.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{LambdaLR, LrScheduler};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
/// let mut sched = LambdaLR::new(&mut opt, |epoch| 1.0 / (epoch + 1) as f64).unwrap();
/// sched.step(&mut opt).unwrap();
/// assert_eq!(sched.get_last_lr(), [0.5]);
/// ```
#[derive(Clone)]
pub struct LambdaLR {
    core: Core,
    lambdas: Vec<LrLambda>,
}

impl LambdaLR {
    /// One closure for every group.
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when a group has no
    /// float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{LambdaLR, LrScheduler}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
    /// let sched = LambdaLR::new(&mut opt, |_| 0.1).unwrap();
    /// assert_eq!(sched.get_last_lr(), [0.1]);
    /// ```
    pub fn new(target: &mut dyn LrTarget, lr_lambda: impl Fn(u64) -> f64 + Send + Sync + 'static) -> Result<Self> {
        let lambdas = every_group(target, lr_lambda);
        start_with(target, |core| LambdaLR { core, lambdas })
    }

    /// One closure per group, in group order.
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when there are not as
    /// many closures as groups or a group has no float `lr`.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{LambdaLR, LrScheduler};
    /// use optim_core::{Group, Optimizer, Param};
    ///
    /// let a = Param::new(ndarray::arr1(&[0.0f32]).into_dyn());
    /// let b = Param::new(ndarray::arr1(&[0.0f32]).into_dyn());
    /// let groups = vec![Group::new(vec![a]), Group::new(vec![b]).with("lr", 2.0)];
    /// let mut opt = Optimizer::<Sgd, f32>::with_groups(groups, Sgd::hyper().lr(1.0)).unwrap();
    /// let mut sched = LambdaLR::per_group(&mut opt, vec![
    ///     Box::new(|epoch| (epoch / 30) as f64),
    ///     Box::new(|epoch| 0.5f64.powf(epoch as f64)),
    /// ]).unwrap();
    /// sched.step(&mut opt).unwrap();
    /// assert_eq!(sched.get_last_lr(), [0.0, 1.0]);
    /// ```
    pub fn per_group(
        target: &mut dyn LrTarget,
        lr_lambdas: Vec<Box<dyn Fn(u64) -> f64 + Send + Sync>>,
    ) -> Result<Self> {
        let lambdas = lambdas(Self::NAME, target, lr_lambdas)?;
        start_with(target, |core| LambdaLR { core, lambdas })
    }
}

impl core::fmt::Debug for LambdaLR {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        debug_lambdas("LambdaLR", &self.core, f)
    }
}

impl Policy for LambdaLR {
    const NAME: &'static str = "LambdaLR";

    fn get_lr(&self, _target: &dyn LrTarget, _initial: bool) -> Result<Plan> {
        let epoch = epoch_arg(self.core.last_epoch);
        let lrs = self.core.base_lrs.iter().zip(&self.lambdas).map(|(base, lambda)| base * lambda(epoch));
        Ok(lrs.collect::<Vec<_>>().into())
    }

    fn save(&self, _w: &mut StateWriter) {}

    fn load(&mut self, _r: &mut StateReader<'_>) -> Result<()> {
        Ok(())
    }
}

leaf_scheduler!(LambdaLR);

/// Multiplies every group's learning rate by `lr_lambda(epoch)` at every step, as
/// `torch.optim.lr_scheduler.MultiplicativeLR`. The closures should be pure functions of the
/// epoch: a composite may replay the first epochs.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{LrScheduler, MultiplicativeLR};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
/// let mut sched = MultiplicativeLR::new(&mut opt, |_| 0.5).unwrap();
/// sched.step(&mut opt).unwrap();
/// sched.step(&mut opt).unwrap();
/// assert_eq!(sched.get_last_lr(), [0.25]);
/// ```
#[derive(Clone)]
pub struct MultiplicativeLR {
    core: Core,
    lambdas: Vec<LrLambda>,
}

impl MultiplicativeLR {
    /// One closure for every group.
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when a group has no
    /// float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{LrScheduler, MultiplicativeLR}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
    /// let sched = MultiplicativeLR::new(&mut opt, |_| 0.95).unwrap();
    /// assert_eq!(sched.get_last_lr(), [1.0]); // the first factor applies at the first step
    /// ```
    pub fn new(target: &mut dyn LrTarget, lr_lambda: impl Fn(u64) -> f64 + Send + Sync + 'static) -> Result<Self> {
        let lambdas = every_group(target, lr_lambda);
        start_with(target, |core| MultiplicativeLR { core, lambdas })
    }

    /// One closure per group, in group order.
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when there are not as
    /// many closures as groups or a group has no float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::MultiplicativeLR};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert!(MultiplicativeLR::per_group(&mut opt, vec![]).is_err());
    /// assert!(MultiplicativeLR::per_group(&mut opt, vec![Box::new(|_| 0.9)]).is_ok());
    /// ```
    pub fn per_group(
        target: &mut dyn LrTarget,
        lr_lambdas: Vec<Box<dyn Fn(u64) -> f64 + Send + Sync>>,
    ) -> Result<Self> {
        let lambdas = lambdas(Self::NAME, target, lr_lambdas)?;
        start_with(target, |core| MultiplicativeLR { core, lambdas })
    }
}

impl core::fmt::Debug for MultiplicativeLR {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        debug_lambdas("MultiplicativeLR", &self.core, f)
    }
}

impl Policy for MultiplicativeLR {
    const NAME: &'static str = "MultiplicativeLR";

    fn get_lr(&self, target: &dyn LrTarget, initial: bool) -> Result<Plan> {
        let lrs = group_floats(target, Self::NAME, "lr")?;
        if initial {
            return Ok(lrs.into());
        }
        let epoch = epoch_arg(self.core.last_epoch);
        Ok(lrs.iter().zip(&self.lambdas).map(|(lr, lambda)| lr * lambda(epoch)).collect::<Vec<_>>().into())
    }

    fn save(&self, _w: &mut StateWriter) {}

    fn load(&mut self, _r: &mut StateReader<'_>) -> Result<()> {
        Ok(())
    }
}

leaf_scheduler!(MultiplicativeLR);
