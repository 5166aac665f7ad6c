//! Step decays: [`StepLR`], [`MultiStepLR`], [`ExponentialLR`].

use super::state::{StateReader, StateWriter};
use super::{Core, LrTarget, Plan, Policy, bisect_right, epochs, group_floats, leaf_scheduler, scaled, start_with};
use crate::Result;

/// Multiplies every group's learning rate by `gamma` every `step_size` epochs, as
/// `torch.optim.lr_scheduler.StepLR`.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{LrScheduler, StepLR};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(0.05)).unwrap();
/// let mut sched = StepLR::new(&mut opt, 30, 0.1).unwrap();
/// for _ in 0..30 {
///     sched.step(&mut opt).unwrap();
/// }
/// assert!((sched.get_last_lr()[0] - 0.005).abs() < 1e-15);
/// ```
#[derive(Debug, Clone)]
pub struct StepLR {
    core: Core,
    step_size: i64,
    gamma: f64,
}

impl StepLR {
    /// A step decay by `gamma` every `step_size` epochs (PyTorch's default `gamma` is 0.1).
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when `step_size` is
    /// zero or a group has no float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::StepLR};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert!(StepLR::new(&mut opt, 0, 0.1).is_err());
    /// assert!(StepLR::new(&mut opt, 10, 0.1).is_ok());
    /// ```
    pub fn new(target: &mut dyn LrTarget, step_size: u64, gamma: f64) -> Result<Self> {
        let step_size = epochs(Self::NAME, "step_size", step_size, 1)?;
        start_with(target, |core| StepLR { core, step_size, gamma })
    }
}

impl Policy for StepLR {
    const NAME: &'static str = "StepLR";

    fn get_lr(&self, target: &dyn LrTarget, _initial: bool) -> Result<Plan> {
        let lrs = group_floats(target, Self::NAME, "lr")?;
        let epoch = self.core.last_epoch;
        if epoch == 0 || epoch.rem_euclid(self.step_size) != 0 {
            return Ok(lrs.into());
        }
        Ok(scaled(lrs, self.gamma).into())
    }

    fn closed_form(&self) -> Option<Result<Vec<f64>>> {
        let decays = self.core.last_epoch.div_euclid(self.step_size) as f64;
        Some(Ok(self.core.scaled_base(self.gamma.powf(decays))))
    }

    fn save(&self, w: &mut StateWriter) {
        w.int("step_size", self.step_size);
        w.float("gamma", self.gamma);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        self.step_size = r.epochs("step_size", 1)?;
        self.gamma = r.float("gamma")?;
        Ok(())
    }
}

leaf_scheduler!(StepLR);

/// Multiplies every group's learning rate by `gamma` at each milestone epoch, as
/// `torch.optim.lr_scheduler.MultiStepLR` (a milestone given twice decays twice).
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{LrScheduler, MultiStepLR};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
/// let mut sched = MultiStepLR::new(&mut opt, [2, 4], 0.5).unwrap();
/// let mut lrs = vec![];
/// for _ in 0..5 {
///     sched.step(&mut opt).unwrap();
///     lrs.push(sched.get_last_lr()[0]);
/// }
/// assert_eq!(lrs, [1.0, 0.5, 0.5, 0.25, 0.25]);
/// ```
#[derive(Debug, Clone)]
pub struct MultiStepLR {
    core: Core,
    milestones: Vec<u64>,
    gamma: f64,
}

impl MultiStepLR {
    /// Decays by `gamma` at every epoch of `milestones` (in any order; PyTorch's default `gamma`
    /// is 0.1).
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when a milestone does
    /// not fit an `i64` or a group has no float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::MultiStepLR};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert!(MultiStepLR::new(&mut opt, vec![30, 80], 0.1).is_ok());
    /// ```
    pub fn new(target: &mut dyn LrTarget, milestones: impl IntoIterator<Item = u64>, gamma: f64) -> Result<Self> {
        let milestones = Self::checked(milestones.into_iter().collect())?;
        start_with(target, |core| MultiStepLR { core, milestones, gamma })
    }

    fn checked(mut milestones: Vec<u64>) -> Result<Vec<u64>> {
        for &m in &milestones {
            epochs(Self::NAME, "a milestone", m, 0)?;
        }
        milestones.sort_unstable();
        Ok(milestones)
    }
}

impl Policy for MultiStepLR {
    const NAME: &'static str = "MultiStepLR";

    fn get_lr(&self, target: &dyn LrTarget, _initial: bool) -> Result<Plan> {
        let lrs = group_floats(target, Self::NAME, "lr")?;
        let epoch = self.core.last_epoch;
        let hits = self.milestones.iter().filter(|&&m| i128::from(m) == i128::from(epoch)).count();
        if hits == 0 {
            return Ok(lrs.into());
        }
        Ok(scaled(lrs, self.gamma.powf(hits as f64)).into())
    }

    fn closed_form(&self) -> Option<Result<Vec<f64>>> {
        let decays = bisect_right(&self.milestones, self.core.last_epoch) as f64;
        Some(Ok(self.core.scaled_base(self.gamma.powf(decays))))
    }

    fn save(&self, w: &mut StateWriter) {
        w.ints("milestones", self.milestones.iter().map(|&m| m as i64));
        w.float("gamma", self.gamma);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        let milestones = r.counts("milestones")?;
        self.milestones = r.check(Self::checked(milestones))?;
        self.gamma = r.float("gamma")?;
        Ok(())
    }
}

leaf_scheduler!(MultiStepLR);

/// Multiplies every group's learning rate by `gamma` every epoch, as
/// `torch.optim.lr_scheduler.ExponentialLR`.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{ExponentialLR, LrScheduler};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
/// let mut sched = ExponentialLR::new(&mut opt, 0.5).unwrap();
/// sched.step(&mut opt).unwrap();
/// sched.step(&mut opt).unwrap();
/// assert_eq!(sched.get_last_lr(), [0.25]);
/// ```
#[derive(Debug, Clone)]
pub struct ExponentialLR {
    core: Core,
    gamma: f64,
}

impl ExponentialLR {
    /// A decay by `gamma` per epoch.
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when a group has no
    /// float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{ExponentialLR, LrScheduler}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(0.1)).unwrap();
    /// assert_eq!(ExponentialLR::new(&mut opt, 0.9).unwrap().get_last_lr(), [0.1]);
    /// ```
    pub fn new(target: &mut dyn LrTarget, gamma: f64) -> Result<Self> {
        start_with(target, |core| ExponentialLR { core, gamma })
    }
}

impl Policy for ExponentialLR {
    const NAME: &'static str = "ExponentialLR";

    fn get_lr(&self, target: &dyn LrTarget, initial: bool) -> Result<Plan> {
        let lrs = group_floats(target, Self::NAME, "lr")?;
        Ok(if initial { lrs } else { scaled(lrs, self.gamma) }.into())
    }

    fn closed_form(&self) -> Option<Result<Vec<f64>>> {
        Some(Ok(self.core.scaled_base(self.gamma.powf(self.core.last_epoch as f64))))
    }

    fn save(&self, w: &mut StateWriter) {
        w.float("gamma", self.gamma);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        self.gamma = r.float("gamma")?;
        Ok(())
    }
}

leaf_scheduler!(ExponentialLR);
