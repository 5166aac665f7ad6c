//! Warm-ups and polynomial decay by a factor of the base rate: [`ConstantLR`], [`LinearLR`],
//! [`PolynomialLR`].

use super::state::{StateReader, StateWriter};
use super::{
    Core, LrTarget, Plan, Policy, epochs, group_floats, invalid, leaf_scheduler, scaled, start_with, step_error,
};
use crate::Result;

/// Multiplies every group's learning rate by `factor` until epoch `total_iters`, as
/// `torch.optim.lr_scheduler.ConstantLR`.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{ConstantLR, LrScheduler};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(0.05)).unwrap();
/// let mut sched = ConstantLR::new(&mut opt, 0.5, 2).unwrap();
/// assert_eq!(sched.get_last_lr(), [0.025]);
/// sched.step(&mut opt).unwrap();
/// sched.step(&mut opt).unwrap();
/// assert_eq!(sched.get_last_lr(), [0.05]);
/// ```
#[derive(Debug, Clone)]
pub struct ConstantLR {
    core: Core,
    factor: f64,
    total_iters: i64,
}

impl ConstantLR {
    /// A constant `factor` in `[0, 1]` for the first `total_iters` epochs (PyTorch's defaults are
    /// 1/3 and 5).
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when `factor` is
    /// outside `[0, 1]` or a group has no float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::ConstantLR};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert!(ConstantLR::new(&mut opt, 1.5, 5).is_err());
    /// ```
    pub fn new(target: &mut dyn LrTarget, factor: f64, total_iters: u64) -> Result<Self> {
        let (factor, total_iters) = Self::checked(factor, total_iters)?;
        start_with(target, |core| ConstantLR { core, factor, total_iters })
    }

    fn checked(factor: f64, total_iters: u64) -> Result<(f64, i64)> {
        if !(0.0..=1.0).contains(&factor) {
            return Err(invalid(Self::NAME, format!("factor must be in [0, 1], got {factor}")));
        }
        Ok((factor, epochs(Self::NAME, "total_iters", total_iters, 0)?))
    }
}

impl Policy for ConstantLR {
    const NAME: &'static str = "ConstantLR";

    fn get_lr(&self, target: &dyn LrTarget, _initial: bool) -> Result<Plan> {
        let lrs = group_floats(target, Self::NAME, "lr")?;
        let epoch = self.core.last_epoch;
        let scale = if epoch == 0 {
            self.factor
        } else if epoch != self.total_iters {
            return Ok(lrs.into());
        } else if self.factor == 0.0 {
            return Err(step_error(Self::NAME, "a factor of 0 cannot be undone at total_iters"));
        } else {
            1.0 / self.factor
        };
        Ok(scaled(lrs, scale).into())
    }

    fn closed_form(&self) -> Option<Result<Vec<f64>>> {
        let rest = if self.core.last_epoch >= self.total_iters { 1.0 - self.factor } else { 0.0 };
        Some(Ok(self.core.scaled_base(self.factor + rest)))
    }

    fn save(&self, w: &mut StateWriter) {
        w.float("factor", self.factor);
        w.int("total_iters", self.total_iters);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        let factor = r.float("factor")?;
        let total_iters = r.count("total_iters")?;
        (self.factor, self.total_iters) = r.check(Self::checked(factor, total_iters))?;
        Ok(())
    }
}

leaf_scheduler!(ConstantLR);

/// Multiplies every group's learning rate by a factor that moves linearly from `start_factor`
/// to `end_factor` over `total_iters` epochs, as `torch.optim.lr_scheduler.LinearLR`.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{LinearLR, LrScheduler};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
/// let mut sched = LinearLR::new(&mut opt, 0.5, 1.0, 2).unwrap();
/// assert_eq!(sched.get_last_lr(), [0.5]);
/// sched.step(&mut opt).unwrap();
/// assert_eq!(sched.get_last_lr(), [0.75]);
/// sched.step(&mut opt).unwrap();
/// assert_eq!(sched.get_last_lr(), [1.0]);
/// ```
#[derive(Debug, Clone)]
pub struct LinearLR {
    core: Core,
    start_factor: f64,
    end_factor: f64,
    total_iters: i64,
}

impl LinearLR {
    /// A linear ramp of the factor, `start_factor` in `(0, 1]` and `end_factor` in `[0, 1]`
    /// (PyTorch's defaults are 1/3, 1.0 and 5).
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when a factor is out of
    /// range or a group has no float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::LinearLR};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert!(LinearLR::new(&mut opt, 0.0, 1.0, 5).is_err());
    /// ```
    pub fn new(target: &mut dyn LrTarget, start_factor: f64, end_factor: f64, total_iters: u64) -> Result<Self> {
        let (start_factor, end_factor, total_iters) = Self::checked(start_factor, end_factor, total_iters)?;
        start_with(target, |core| LinearLR { core, start_factor, end_factor, total_iters })
    }

    fn checked(start_factor: f64, end_factor: f64, total_iters: u64) -> Result<(f64, f64, i64)> {
        if !(start_factor > 0.0 && start_factor <= 1.0) {
            return Err(invalid(Self::NAME, format!("start_factor must be in (0, 1], got {start_factor}")));
        }
        if !(0.0..=1.0).contains(&end_factor) {
            return Err(invalid(Self::NAME, format!("end_factor must be in [0, 1], got {end_factor}")));
        }
        Ok((start_factor, end_factor, epochs(Self::NAME, "total_iters", total_iters, 0)?))
    }
}

impl Policy for LinearLR {
    const NAME: &'static str = "LinearLR";

    fn get_lr(&self, target: &dyn LrTarget, initial: bool) -> Result<Plan> {
        let lrs = group_floats(target, Self::NAME, "lr")?;
        let epoch = self.core.last_epoch;
        let (start, end) = (self.start_factor, self.end_factor);
        let scale = if epoch == 0 {
            start
        } else if initial || epoch > self.total_iters {
            return Ok(lrs.into());
        } else {
            1.0 + (end - start) / (self.total_iters as f64 * start + (epoch - 1) as f64 * (end - start))
        };
        Ok(scaled(lrs, scale).into())
    }

    fn closed_form(&self) -> Option<Result<Vec<f64>>> {
        if self.total_iters == 0 {
            return Some(Err(step_error(Self::NAME, "the closed form is undefined for total_iters = 0")));
        }
        let (start, end) = (self.start_factor, self.end_factor);
        let done = self.total_iters.min(self.core.last_epoch) as f64;
        let factor = start + (end - start) * done / self.total_iters as f64;
        Some(Ok(self.core.scaled_base(factor)))
    }

    fn save(&self, w: &mut StateWriter) {
        w.float("start_factor", self.start_factor);
        w.float("end_factor", self.end_factor);
        w.int("total_iters", self.total_iters);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        let start_factor = r.float("start_factor")?;
        let end_factor = r.float("end_factor")?;
        let total_iters = r.count("total_iters")?;
        (self.start_factor, self.end_factor, self.total_iters) =
            r.check(Self::checked(start_factor, end_factor, total_iters))?;
        Ok(())
    }
}

leaf_scheduler!(LinearLR);

/// Decays every group's learning rate to zero over `total_iters` epochs along
/// `(1 - epoch / total_iters) ^ power`, as `torch.optim.lr_scheduler.PolynomialLR`.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{LrScheduler, PolynomialLR};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
/// let mut sched = PolynomialLR::new(&mut opt, 4, 1.0).unwrap();
/// sched.step(&mut opt).unwrap();
/// sched.step(&mut opt).unwrap();
/// assert_eq!(sched.get_last_lr(), [0.5]);
/// ```
#[derive(Debug, Clone)]
pub struct PolynomialLR {
    core: Core,
    total_iters: i64,
    power: f64,
}

impl PolynomialLR {
    /// A polynomial decay of degree `power` over `total_iters` epochs (PyTorch's defaults are 5
    /// and 1.0).
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when a group has no
    /// float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::{LrScheduler, PolynomialLR}};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(0.1)).unwrap();
    /// assert_eq!(PolynomialLR::new(&mut opt, 50, 0.9).unwrap().get_last_lr(), [0.1]);
    /// ```
    pub fn new(target: &mut dyn LrTarget, total_iters: u64, power: f64) -> Result<Self> {
        let total_iters = epochs(Self::NAME, "total_iters", total_iters, 0)?;
        start_with(target, |core| PolynomialLR { core, total_iters, power })
    }

    /// `base ^ power`, refusing what Python refuses (zero to a negative power).
    fn pow(&self, base: f64) -> Result<f64> {
        if base == 0.0 && self.power < 0.0 {
            return Err(step_error(Self::NAME, "0 cannot be raised to a negative power"));
        }
        Ok(base.powf(self.power))
    }
}

impl Policy for PolynomialLR {
    const NAME: &'static str = "PolynomialLR";

    fn get_lr(&self, target: &dyn LrTarget, initial: bool) -> Result<Plan> {
        let lrs = group_floats(target, Self::NAME, "lr")?;
        let epoch = self.core.last_epoch;
        if initial || epoch > self.total_iters {
            return Ok(lrs.into());
        }
        if self.total_iters == 0 {
            return Err(step_error(Self::NAME, "the decay is undefined for total_iters = 0"));
        }
        let total = self.total_iters as f64;
        let decay = self.pow((1.0 - epoch as f64 / total) / (1.0 - (epoch - 1) as f64 / total))?;
        Ok(scaled(lrs, decay).into())
    }

    fn closed_form(&self) -> Option<Result<Vec<f64>>> {
        if self.total_iters == 0 {
            return Some(Err(step_error(Self::NAME, "the closed form is undefined for total_iters = 0")));
        }
        let done = self.total_iters.min(self.core.last_epoch) as f64;
        Some(self.pow(1.0 - done / self.total_iters as f64).map(|factor| self.core.scaled_base(factor)))
    }

    fn save(&self, w: &mut StateWriter) {
        w.int("total_iters", self.total_iters);
        w.float("power", self.power);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        self.total_iters = r.epochs("total_iters", 0)?;
        self.power = r.float("power")?;
        Ok(())
    }
}

leaf_scheduler!(PolynomialLR);
