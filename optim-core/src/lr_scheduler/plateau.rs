//! Reducing the learning rate when a metric stops improving: [`ReduceLROnPlateau`].

use super::state::{StateReader, StateWriter};
use super::{LrTarget, PerGroup, Plan, SchedulerState, apply, group_floats, invalid, step_error};
use crate::Result;

/// Whether [`ReduceLROnPlateau`]'s metric should go down or up.
///
/// ```
/// assert_eq!(optim_core::lr_scheduler::PlateauMode::default().name(), "min");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlateauMode {
    /// A loss: lower is better.
    #[default]
    Min,
    /// An accuracy: higher is better.
    Max,
}

impl PlateauMode {
    /// PyTorch's name of the mode.
    ///
    /// ```
    /// assert_eq!(optim_core::lr_scheduler::PlateauMode::Max.name(), "max");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            PlateauMode::Min => "min",
            PlateauMode::Max => "max",
        }
    }
}

/// How [`ReduceLROnPlateau`] measures a significant improvement.
///
/// ```
/// assert_eq!(optim_core::lr_scheduler::ThresholdMode::default().name(), "rel");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThresholdMode {
    /// Better than `best * (1 ∓ threshold)`.
    #[default]
    Rel,
    /// Better than `best ∓ threshold`.
    Abs,
}

impl ThresholdMode {
    /// PyTorch's name of the mode.
    ///
    /// ```
    /// assert_eq!(optim_core::lr_scheduler::ThresholdMode::Abs.name(), "abs");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ThresholdMode::Rel => "rel",
            ThresholdMode::Abs => "abs",
        }
    }
}

/// The arguments of [`ReduceLROnPlateau`], with PyTorch's defaults.
///
/// ```
/// use optim_core::lr_scheduler::{PlateauConfig, PlateauMode};
/// let config = PlateauConfig { mode: PlateauMode::Max, patience: 3, ..PlateauConfig::default() };
/// assert_eq!(config.factor, 0.1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PlateauConfig {
    /// Whether the metric should decrease or increase (default min).
    pub mode: PlateauMode,
    /// The learning rate is multiplied by this on a plateau (default 0.1; must be below 1).
    pub factor: f64,
    /// Epochs without improvement tolerated before reducing (default 10).
    pub patience: u64,
    /// The smallest improvement that counts (default 1e-4).
    pub threshold: f64,
    /// Whether `threshold` is relative or absolute (default relative).
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a reduction before counting again (default 0).
    pub cooldown: u64,
    /// The lowest learning rate of each group (default 0).
    pub min_lr: PerGroup,
    /// Reductions smaller than this are skipped (default 1e-8).
    pub eps: f64,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: PerGroup::All(0.0),
            eps: 1e-8,
        }
    }
}

/// Reduces every group's learning rate by `factor` once a metric has not improved for
/// `patience` epochs, as `torch.optim.lr_scheduler.ReduceLROnPlateau`. It steps on the metric,
/// so it is not an [`LrScheduler`](super::LrScheduler).
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{PlateauConfig, ReduceLROnPlateau};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(0.1)).unwrap();
/// let config = PlateauConfig { factor: 0.5, patience: 1, ..PlateauConfig::default() };
/// let mut sched = ReduceLROnPlateau::new(&opt, config).unwrap();
/// for loss in [1.0, 0.5, 0.5, 0.5] {
///     sched.step(&mut opt, loss).unwrap();
/// }
/// assert_eq!(sched.get_last_lr(), [0.05]);
/// assert_eq!(sched.best(), 0.5);
/// ```
#[derive(Debug, Clone)]
pub struct ReduceLROnPlateau {
    mode: PlateauMode,
    factor: f64,
    patience: u64,
    threshold: f64,
    threshold_mode: ThresholdMode,
    cooldown: u64,
    min_lrs: Vec<f64>,
    default_min_lr: Option<f64>,
    eps: f64,
    best: f64,
    num_bad_epochs: u64,
    cooldown_counter: u64,
    last_epoch: i64,
    last_lr: Vec<f64>,
}

impl ReduceLROnPlateau {
    const NAME: &'static str = "ReduceLROnPlateau";

    /// A plateau detector over `target`'s groups, as `config` describes.
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when `factor` is not
    /// below 1, `min_lr` has the wrong length, or a group has no float `lr`.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{PlateauConfig, ReduceLROnPlateau};
    /// use optim_core::Param;
    ///
    /// let opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// let config = PlateauConfig { factor: 1.0, ..PlateauConfig::default() };
    /// assert!(ReduceLROnPlateau::new(&opt, config).is_err());
    /// ```
    pub fn new(target: &dyn LrTarget, config: PlateauConfig) -> Result<Self> {
        if config.factor.is_nan() || config.factor >= 1.0 {
            return Err(invalid(Self::NAME, format!("factor must be below 1.0, got {}", config.factor)));
        }
        let groups = target.group_count();
        let min_lrs = config.min_lr.resolve(Self::NAME, "min_lr", groups)?;
        let default_min_lr = match config.min_lr {
            PerGroup::All(value) => Some(value),
            PerGroup::Each(_) => None,
        };
        Ok(ReduceLROnPlateau {
            mode: config.mode,
            factor: config.factor,
            patience: config.patience,
            threshold: config.threshold,
            threshold_mode: config.threshold_mode,
            cooldown: config.cooldown,
            min_lrs,
            default_min_lr,
            eps: config.eps,
            best: Self::worst(config.mode),
            num_bad_epochs: 0,
            cooldown_counter: 0,
            last_epoch: 0,
            last_lr: group_floats(target, Self::NAME, "lr")?,
        })
    }

    fn worst(mode: PlateauMode) -> f64 {
        match mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        }
    }

    fn is_better(&self, a: f64, best: f64) -> bool {
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - self.threshold),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - self.threshold,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (self.threshold + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + self.threshold,
        }
    }

    /// Records the epoch's `metric` and reduces the learning rates if it has plateaued.
    ///
    /// # Errors
    /// When groups were added to `target` since construction and `min_lr` was given per group,
    /// or a group has no float `lr`; then nothing has changed.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{PlateauConfig, PlateauMode, ReduceLROnPlateau};
    /// use optim_core::Param;
    ///
    /// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
    /// let config = PlateauConfig { mode: PlateauMode::Max, patience: 0, ..PlateauConfig::default() };
    /// let mut sched = ReduceLROnPlateau::new(&opt, config).unwrap();
    /// sched.step(&mut opt, 0.9).unwrap(); // accuracy: a first best
    /// sched.step(&mut opt, 0.8).unwrap(); // worse: reduce at once
    /// assert!((opt.param_groups()[0].hyper.lr - 0.1).abs() < 1e-15);
    /// ```
    pub fn step(&mut self, target: &mut dyn LrTarget, metric: f64) -> Result<()> {
        let mut next = self.clone();
        next.last_epoch = next.last_epoch.saturating_add(1);
        if self.is_better(metric, self.best) {
            next.best = metric;
            next.num_bad_epochs = 0;
        } else {
            next.num_bad_epochs = next.num_bad_epochs.saturating_add(1);
        }
        if next.cooldown_counter > 0 {
            next.cooldown_counter -= 1;
            next.num_bad_epochs = 0;
        }
        let lrs = group_floats(target, Self::NAME, "lr")?;
        let mut plan = Plan { lrs: lrs.clone(), extra: Vec::new() };
        if next.num_bad_epochs > next.patience {
            if lrs.len() != next.min_lrs.len() {
                match next.default_min_lr {
                    Some(min_lr) => next.min_lrs = vec![min_lr; lrs.len()],
                    None => {
                        return Err(step_error(
                            Self::NAME,
                            format!(
                                "the optimizer has {} param groups but min_lr was given for {}; set it per group again",
                                lrs.len(),
                                next.min_lrs.len()
                            ),
                        ));
                    }
                }
            }
            for ((lr, &old), &min_lr) in plan.lrs.iter_mut().zip(&lrs).zip(&next.min_lrs) {
                let reduced = old * next.factor;
                let new = if min_lr > reduced { min_lr } else { reduced };
                if old - new > next.eps {
                    *lr = new;
                }
            }
            next.cooldown_counter = next.cooldown;
            next.num_bad_epochs = 0;
        }
        apply(target, &plan)?;
        next.last_lr = plan.lrs;
        *self = next;
        Ok(())
    }

    /// The learning rates after the last step (at construction, the groups' rates).
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{PlateauConfig, ReduceLROnPlateau};
    /// use optim_core::Param;
    ///
    /// let opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(0.3)).unwrap();
    /// assert_eq!(ReduceLROnPlateau::new(&opt, PlateauConfig::default()).unwrap().get_last_lr(), [0.3]);
    /// ```
    pub fn get_last_lr(&self) -> &[f64] {
        &self.last_lr
    }

    /// The best metric seen (infinitely bad before the first step).
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{PlateauConfig, ReduceLROnPlateau};
    /// use optim_core::Param;
    ///
    /// let opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert_eq!(ReduceLROnPlateau::new(&opt, PlateauConfig::default()).unwrap().best(), f64::INFINITY);
    /// ```
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Epochs since the last improvement (reset by a reduction and during cooldown).
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{PlateauConfig, ReduceLROnPlateau};
    /// use optim_core::Param;
    ///
    /// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// let mut sched = ReduceLROnPlateau::new(&opt, PlateauConfig::default()).unwrap();
    /// sched.step(&mut opt, 1.0).unwrap();
    /// sched.step(&mut opt, 1.0).unwrap();
    /// assert_eq!(sched.num_bad_epochs(), 1);
    /// ```
    pub fn num_bad_epochs(&self) -> u64 {
        self.num_bad_epochs
    }

    /// Whether the scheduler is in its cooldown after a reduction.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{PlateauConfig, ReduceLROnPlateau};
    /// use optim_core::Param;
    ///
    /// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// let config = PlateauConfig { patience: 0, cooldown: 2, ..PlateauConfig::default() };
    /// let mut sched = ReduceLROnPlateau::new(&opt, config).unwrap();
    /// sched.step(&mut opt, 1.0).unwrap();
    /// sched.step(&mut opt, 2.0).unwrap();
    /// assert!(sched.in_cooldown());
    /// ```
    pub fn in_cooldown(&self) -> bool {
        self.cooldown_counter > 0
    }

    /// How many metrics it has seen.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{PlateauConfig, ReduceLROnPlateau};
    /// use optim_core::Param;
    ///
    /// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// let mut sched = ReduceLROnPlateau::new(&opt, PlateauConfig::default()).unwrap();
    /// sched.step(&mut opt, 1.0).unwrap();
    /// assert_eq!(sched.last_epoch(), 1);
    /// ```
    pub fn last_epoch(&self) -> i64 {
        self.last_epoch
    }

    /// The arguments and progress, to resume later.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{PlateauConfig, ReduceLROnPlateau, StateValue};
    /// use optim_core::Param;
    ///
    /// let opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// let state = ReduceLROnPlateau::new(&opt, PlateauConfig::default()).unwrap().state_dict();
    /// assert_eq!(state.get("mode"), Some(&StateValue::Text("min".into())));
    /// ```
    pub fn state_dict(&self) -> SchedulerState {
        let mut w = StateWriter::new(Self::NAME);
        w.text("mode", self.mode.name());
        w.float("factor", self.factor);
        w.int("patience", self.patience as i64);
        w.float("threshold", self.threshold);
        w.text("threshold_mode", self.threshold_mode.name());
        w.int("cooldown", self.cooldown as i64);
        w.floats("min_lrs", &self.min_lrs);
        if let Some(min_lr) = self.default_min_lr {
            w.float("default_min_lr", min_lr);
        }
        w.float("eps", self.eps);
        w.float("best", self.best);
        w.int("num_bad_epochs", self.num_bad_epochs as i64);
        w.int("cooldown_counter", self.cooldown_counter as i64);
        w.int("last_epoch", self.last_epoch);
        w.floats("last_lr", &self.last_lr);
        w.finish()
    }

    /// Restores a state from [`ReduceLROnPlateau::state_dict`] over as many param groups.
    ///
    /// # Errors
    /// [`OptimError::SchedulerState`](crate::OptimError::SchedulerState) when a key, a type, a
    /// length or a value does not fit; then nothing has changed.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{PlateauConfig, ReduceLROnPlateau};
    /// use optim_core::Param;
    ///
    /// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// let mut a = ReduceLROnPlateau::new(&opt, PlateauConfig::default()).unwrap();
    /// a.step(&mut opt, 0.5).unwrap();
    /// let mut b = ReduceLROnPlateau::new(&opt, PlateauConfig::default()).unwrap();
    /// b.load_state_dict(&a.state_dict()).unwrap();
    /// assert_eq!(b.best(), 0.5);
    /// ```
    pub fn load_state_dict(&mut self, state: &SchedulerState) -> Result<()> {
        let mut r = StateReader::new(state, Self::NAME)?;
        r.no_children()?;
        let mut next = self.clone();
        next.mode = match r.text("mode")? {
            "min" => PlateauMode::Min,
            "max" => PlateauMode::Max,
            other => return Err(r.error(format!("unknown mode {other}"))),
        };
        next.factor = r.float("factor")?;
        if next.factor.is_nan() || next.factor >= 1.0 {
            return Err(r.error(format!("factor must be below 1.0, got {}", next.factor)));
        }
        next.patience = r.count("patience")?;
        next.threshold = r.float("threshold")?;
        next.threshold_mode = match r.text("threshold_mode")? {
            "rel" => ThresholdMode::Rel,
            "abs" => ThresholdMode::Abs,
            other => return Err(r.error(format!("unknown threshold_mode {other}"))),
        };
        next.cooldown = r.count("cooldown")?;
        next.min_lrs = r.floats("min_lrs", self.min_lrs.len())?;
        next.default_min_lr = r.maybe_float("default_min_lr")?;
        next.eps = r.float("eps")?;
        next.best = r.float("best")?;
        next.num_bad_epochs = r.counter("num_bad_epochs")?;
        next.cooldown_counter = r.counter("cooldown_counter")?;
        next.last_epoch = r.epoch("last_epoch")?;
        next.last_lr = r.floats("last_lr", self.last_lr.len())?;
        r.finish()?;
        *self = next;
        Ok(())
    }
}
