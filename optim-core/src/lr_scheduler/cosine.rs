//! Cosine annealing: [`CosineAnnealingLR`], [`CosineAnnealingWarmRestarts`].

use core::f64::consts::PI;

use super::state::{StateReader, StateWriter};
use super::{Core, LrTarget, Plan, Policy, drive, epochs, group_floats, invalid, leaf_scheduler, start_with};
use crate::Result;

/// The point `(1 + cos) / 2` of the way from `eta_min` up to `base`.
fn annealed(base: f64, eta_min: f64, cos: f64) -> f64 {
    eta_min + (base - eta_min) * (1.0 + cos) / 2.0
}

/// Anneals every group's learning rate from its base rate to `eta_min` along a half cosine over
/// `t_max` epochs (and back up over the next `t_max`, and so on), as
/// `torch.optim.lr_scheduler.CosineAnnealingLR`, with PyTorch's recursive form.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{CosineAnnealingLR, LrScheduler};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
/// let mut sched = CosineAnnealingLR::new(&mut opt, 2, 0.0).unwrap();
/// sched.step(&mut opt).unwrap();
/// assert!((sched.get_last_lr()[0] - 0.5).abs() < 1e-15);
/// sched.step(&mut opt).unwrap();
/// assert!(sched.get_last_lr()[0].abs() < 1e-15);
/// ```
#[derive(Debug, Clone)]
pub struct CosineAnnealingLR {
    core: Core,
    t_max: i64,
    eta_min: f64,
}

impl CosineAnnealingLR {
    /// A half cosine from the base rate down to `eta_min` over `t_max` epochs (PyTorch's default
    /// `eta_min` is 0).
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when `t_max` is zero
    /// or a group has no float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::CosineAnnealingLR};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert!(CosineAnnealingLR::new(&mut opt, 0, 0.0).is_err());
    /// ```
    pub fn new(target: &mut dyn LrTarget, t_max: u64, eta_min: f64) -> Result<Self> {
        let t_max = epochs(Self::NAME, "T_max", t_max, 1)?;
        start_with(target, |core| CosineAnnealingLR { core, t_max, eta_min })
    }
}

impl Policy for CosineAnnealingLR {
    const NAME: &'static str = "CosineAnnealingLR";

    fn get_lr(&self, target: &dyn LrTarget, initial: bool) -> Result<Plan> {
        let lrs = group_floats(target, Self::NAME, "lr")?;
        let (epoch, t_max, eta_min) = (self.core.last_epoch, self.t_max as f64, self.eta_min);
        let bases = &self.core.base_lrs;
        let next: Vec<f64> = if initial {
            lrs
        } else if self.core.step_count == 1 && epoch > 0 {
            let cos = (epoch as f64 * PI / t_max).cos();
            bases.iter().map(|&base| annealed(base, eta_min, cos)).collect()
        } else if (epoch - 1 - self.t_max).rem_euclid(2 * self.t_max) == 0 {
            let rise = (1.0 - (PI / t_max).cos()) / 2.0;
            lrs.iter().zip(bases).map(|(lr, base)| lr + (base - eta_min) * rise).collect()
        } else {
            let ratio = (1.0 + (PI * epoch as f64 / t_max).cos()) / (1.0 + (PI * (epoch - 1) as f64 / t_max).cos());
            lrs.iter().map(|lr| ratio * (lr - eta_min) + eta_min).collect()
        };
        Ok(next.into())
    }

    fn closed_form(&self) -> Option<Result<Vec<f64>>> {
        let cos = (PI * self.core.last_epoch as f64 / self.t_max as f64).cos();
        Some(Ok(self.core.base_lrs.iter().map(|&base| annealed(base, self.eta_min, cos)).collect()))
    }

    fn save(&self, w: &mut StateWriter) {
        w.int("T_max", self.t_max);
        w.float("eta_min", self.eta_min);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        self.t_max = r.epochs("T_max", 1)?;
        self.eta_min = r.float("eta_min")?;
        Ok(())
    }
}

leaf_scheduler!(CosineAnnealingLR);

/// Cosine annealing with warm restarts (SGDR), as
/// `torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`: a half cosine from the base rate to
/// `eta_min` over `t_0` epochs, then again over `t_0 * t_mult`, `t_0 * t_mult²`, ...
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{CosineAnnealingWarmRestarts, LrScheduler};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
/// let mut sched = CosineAnnealingWarmRestarts::new(&mut opt, 2, 1, 0.0).unwrap();
/// sched.step(&mut opt).unwrap();
/// assert!((sched.get_last_lr()[0] - 0.5).abs() < 1e-15);
/// sched.step(&mut opt).unwrap();
/// assert_eq!(sched.get_last_lr(), [1.0]); // restarted
/// ```
#[derive(Debug, Clone)]
pub struct CosineAnnealingWarmRestarts {
    core: Core,
    t_0: i64,
    t_mult: i64,
    eta_min: f64,
    t_i: i64,
    t_cur: f64,
}

impl CosineAnnealingWarmRestarts {
    /// Restarts after `t_0` epochs, each period `t_mult` times the last (PyTorch's defaults are
    /// `t_mult` 1 and `eta_min` 0).
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when `t_0` or `t_mult`
    /// is zero or a group has no float `lr`.
    ///
    /// ```
    /// # use optim_core::{builtins::Sgd, Param, lr_scheduler::CosineAnnealingWarmRestarts};
    /// # let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert!(CosineAnnealingWarmRestarts::new(&mut opt, 10, 0, 0.0).is_err());
    /// ```
    pub fn new(target: &mut dyn LrTarget, t_0: u64, t_mult: u64, eta_min: f64) -> Result<Self> {
        let (t_0, t_mult) = Self::checked(t_0, t_mult)?;
        start_with(target, |core| CosineAnnealingWarmRestarts { core, t_0, t_mult, eta_min, t_i: t_0, t_cur: -1.0 })
    }

    fn checked(t_0: u64, t_mult: u64) -> Result<(i64, i64)> {
        Ok((epochs(Self::NAME, "T_0", t_0, 1)?, epochs(Self::NAME, "T_mult", t_mult, 1)?))
    }

    /// Jumps to a possibly fractional `epoch` (PyTorch's `scheduler.step(epoch + i / iters)`, to
    /// anneal within an epoch batch by batch).
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when `epoch` is
    /// negative or not finite; then nothing has changed.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{CosineAnnealingWarmRestarts, LrScheduler};
    /// use optim_core::Param;
    ///
    /// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
    /// let mut sched = CosineAnnealingWarmRestarts::new(&mut opt, 4, 2, 0.0).unwrap();
    /// sched.step_to(&mut opt, 2.0).unwrap();
    /// assert!((sched.get_last_lr()[0] - 0.5).abs() < 1e-15);
    /// sched.step_to(&mut opt, 4.0).unwrap(); // the second period, 8 epochs long, starts
    /// assert_eq!(sched.get_last_lr(), [1.0]);
    /// assert_eq!(sched.last_epoch(), 4);
    /// ```
    pub fn step_to(&mut self, target: &mut dyn LrTarget, epoch: f64) -> Result<()> {
        if !(epoch >= 0.0 && epoch.is_finite()) {
            return Err(invalid(Self::NAME, format!("expected a finite non-negative epoch, got {epoch}")));
        }
        drive(self, target, |s, t| {
            s.set_epoch(epoch);
            s.get_lr(t, false)
        })
    }

    fn set_epoch(&mut self, epoch: f64) {
        let t_0 = self.t_0 as f64;
        if epoch >= t_0 {
            if self.t_mult == 1 {
                self.t_cur = epoch % t_0;
            } else {
                let t_mult = self.t_mult as f64;
                let n = ((epoch / t_0 * (t_mult - 1.0) + 1.0).ln() / t_mult.ln()) as u32;
                let grown = self.t_mult.saturating_pow(n);
                self.t_cur = epoch - (self.t_0.saturating_mul(grown - 1)) as f64 / (t_mult - 1.0);
                self.t_i = self.t_0.saturating_mul(grown);
            }
        } else {
            self.t_i = self.t_0;
            self.t_cur = epoch;
        }
        self.core.last_epoch = epoch.floor() as i64;
    }
}

impl Policy for CosineAnnealingWarmRestarts {
    const NAME: &'static str = "CosineAnnealingWarmRestarts";

    fn get_lr(&self, _target: &dyn LrTarget, _initial: bool) -> Result<Plan> {
        let cos = (PI * self.t_cur / self.t_i as f64).cos();
        Ok(self.core.base_lrs.iter().map(|&base| annealed(base, self.eta_min, cos)).collect::<Vec<_>>().into())
    }

    fn advance(&mut self, target: &dyn LrTarget, _initial: bool) -> Result<Plan> {
        if self.core.last_epoch < 0 {
            self.set_epoch(0.0);
        } else {
            self.core.last_epoch = self.core.last_epoch.saturating_add(1);
            self.t_cur += 1.0;
            if self.t_cur >= self.t_i as f64 {
                self.t_cur %= self.t_i as f64;
                self.t_i = self.t_i.saturating_mul(self.t_mult);
            }
        }
        self.get_lr(target, false)
    }

    fn reset(&mut self) {
        self.core.last_epoch = -1;
        self.t_cur = -1.0;
        self.t_i = self.t_0;
    }

    fn save(&self, w: &mut StateWriter) {
        w.int("T_0", self.t_0);
        w.int("T_mult", self.t_mult);
        w.float("eta_min", self.eta_min);
        w.int("T_i", self.t_i);
        w.float("T_cur", self.t_cur);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        let t_0 = r.count("T_0")?;
        let t_mult = r.count("T_mult")?;
        (self.t_0, self.t_mult) = r.check(Self::checked(t_0, t_mult))?;
        self.eta_min = r.float("eta_min")?;
        self.t_i = r.epochs("T_i", 1)?;
        self.t_cur = r.float("T_cur")?;
        Ok(())
    }
}

leaf_scheduler!(CosineAnnealingWarmRestarts);
