//! Cyclical learning rates: [`CyclicLR`].

use std::sync::Arc;

use super::state::{StateReader, StateWriter};
use super::{Core, LrTarget, MomentumKey, PerGroup, Plan, Policy, epochs, leaf_scheduler, start};
use crate::Result;

/// How [`CyclicLR`] scales the amplitude of each cycle.
///
/// ```
/// use optim_core::lr_scheduler::{CyclicMode, ScaleMode};
/// let halving = CyclicMode::Triangular2;
/// let decaying = CyclicMode::ExpRange { gamma: 0.99994 };
/// let custom = CyclicMode::custom(|cycle| 1.0 / cycle, ScaleMode::Cycle);
/// assert_eq!(custom.name(), "custom");
/// assert_eq!(decaying.name(), "exp_range");
/// # let _ = halving;
/// ```
#[derive(Clone, Default)]
pub enum CyclicMode {
    /// Full amplitude in every cycle.
    #[default]
    Triangular,
    /// The amplitude halves every cycle.
    Triangular2,
    /// The amplitude is scaled by `gamma` to the power of the iteration.
    ExpRange {
        /// The per-iteration decay of the amplitude.
        gamma: f64,
    },
    /// The amplitude is scaled by `scale_fn` of the cycle number (from 1) or of the iteration.
    Custom {
        /// The scaling policy, `0 <= scale_fn(x) <= 1`.
        scale_fn: Arc<dyn Fn(f64) -> f64 + Send + Sync>,
        /// What `scale_fn` is evaluated on.
        scale_mode: ScaleMode,
    },
}

impl CyclicMode {
    /// A custom scaling policy.
    ///
    /// ```
    /// use optim_core::lr_scheduler::{CyclicMode, ScaleMode};
    /// let mode = CyclicMode::custom(|x| 0.5f64.powf(x), ScaleMode::Iterations);
    /// assert_eq!(mode.name(), "custom");
    /// ```
    pub fn custom(scale_fn: impl Fn(f64) -> f64 + Send + Sync + 'static, scale_mode: ScaleMode) -> Self {
        CyclicMode::Custom { scale_fn: Arc::new(scale_fn), scale_mode }
    }

    /// PyTorch's name of the mode (`"triangular"`, `"triangular2"`, `"exp_range"`), or `"custom"`.
    ///
    /// ```
    /// assert_eq!(optim_core::lr_scheduler::CyclicMode::Triangular.name(), "triangular");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            CyclicMode::Triangular => "triangular",
            CyclicMode::Triangular2 => "triangular2",
            CyclicMode::ExpRange { .. } => "exp_range",
            CyclicMode::Custom { .. } => "custom",
        }
    }

    fn scale_mode(&self) -> ScaleMode {
        match self {
            CyclicMode::Triangular | CyclicMode::Triangular2 => ScaleMode::Cycle,
            CyclicMode::ExpRange { .. } => ScaleMode::Iterations,
            CyclicMode::Custom { scale_mode, .. } => *scale_mode,
        }
    }

    fn scale(&self, x: f64) -> f64 {
        match self {
            CyclicMode::Triangular => 1.0,
            CyclicMode::Triangular2 => 1.0 / 2.0f64.powf(x - 1.0),
            CyclicMode::ExpRange { gamma } => gamma.powf(x),
            CyclicMode::Custom { scale_fn, .. } => scale_fn(x),
        }
    }

    fn gamma(&self) -> f64 {
        match self {
            CyclicMode::ExpRange { gamma } => *gamma,
            _ => 1.0,
        }
    }
}

impl core::fmt::Debug for CyclicMode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CyclicMode::ExpRange { gamma } => f.debug_struct("ExpRange").field("gamma", gamma).finish(),
            CyclicMode::Custom { scale_mode, .. } => {
                f.debug_struct("Custom").field("scale_mode", scale_mode).finish_non_exhaustive()
            }
            other => f.write_str(if other.name() == "triangular" { "Triangular" } else { "Triangular2" }),
        }
    }
}

/// What a custom [`CyclicMode`] scales by: the cycle number or the iteration.
///
/// ```
/// use optim_core::lr_scheduler::ScaleMode;
/// assert_ne!(ScaleMode::Cycle, ScaleMode::Iterations);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleMode {
    /// The cycle number, from 1.
    Cycle,
    /// The number of iterations since the start.
    Iterations,
}

/// The arguments of [`CyclicLR`], with PyTorch's defaults.
///
/// ```
/// use optim_core::lr_scheduler::{CyclicConfig, CyclicMode};
/// let config = CyclicConfig { step_size_up: 10, mode: CyclicMode::Triangular2, ..CyclicConfig::new(0.01, 0.1) };
/// assert!(config.cycle_momentum);
/// assert_eq!(config.step_size_down, None);
/// ```
#[derive(Debug, Clone)]
pub struct CyclicConfig {
    /// The lower learning-rate boundary of each group; the groups' `lr` is set to it.
    pub base_lr: PerGroup,
    /// The upper learning-rate boundary of each group.
    pub max_lr: PerGroup,
    /// Iterations in the increasing half of a cycle (default 2000).
    pub step_size_up: u64,
    /// Iterations in the decreasing half (default: `step_size_up`).
    pub step_size_down: Option<u64>,
    /// The amplitude policy (default triangular).
    pub mode: CyclicMode,
    /// Whether momentum (`momentum`, or the first of `betas`) cycles inversely to the learning
    /// rate (default true).
    pub cycle_momentum: bool,
    /// The lower momentum boundary (default 0.8), reached at the peak learning rate.
    pub base_momentum: PerGroup,
    /// The upper momentum boundary (default 0.9), held at the base learning rate.
    pub max_momentum: PerGroup,
}

impl CyclicConfig {
    /// Cycles between `base_lr` and `max_lr` with every other argument at PyTorch's default.
    ///
    /// ```
    /// let config = optim_core::lr_scheduler::CyclicConfig::new(0.001, vec![0.01, 0.02]);
    /// assert_eq!(config.step_size_up, 2000);
    /// ```
    pub fn new(base_lr: impl Into<PerGroup>, max_lr: impl Into<PerGroup>) -> Self {
        CyclicConfig {
            base_lr: base_lr.into(),
            max_lr: max_lr.into(),
            step_size_up: 2000,
            step_size_down: None,
            mode: CyclicMode::Triangular,
            cycle_momentum: true,
            base_momentum: PerGroup::All(0.8),
            max_momentum: PerGroup::All(0.9),
        }
    }
}

/// The cyclical learning-rate policy (CLR), as `torch.optim.lr_scheduler.CyclicLR`: every
/// group's learning rate goes up and down between `base_lr` and `max_lr`, stepping once per
/// batch; with `cycle_momentum` its momentum goes the opposite way.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{CyclicConfig, CyclicLR, LrScheduler};
/// use optim_core::Param;
///
/// let p = Param::new(ndarray::arr1(&[0.0f64]).into_dyn());
/// let mut opt = Sgd::optimizer(vec![p], Sgd::hyper().lr(0.1).momentum(0.9)).unwrap();
/// let config = CyclicConfig { step_size_up: 2, ..CyclicConfig::new(0.1, 0.5) };
/// let mut sched = CyclicLR::new(&mut opt, config).unwrap();
/// let mut lrs = vec![sched.get_last_lr()[0]];
/// for _ in 0..4 {
///     sched.step(&mut opt).unwrap();
///     lrs.push(sched.get_last_lr()[0]);
/// }
/// let expected = [0.1, 0.3, 0.5, 0.3, 0.1];
/// assert!(lrs.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12));
/// assert!((opt.param_groups()[0].hyper.momentum - 0.9).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct CyclicLR {
    core: Core,
    max_lrs: Vec<f64>,
    step_size_up: i64,
    step_size_down: i64,
    mode: CyclicMode,
    momentum: Option<MomentumKey>,
    base_momentums: Vec<f64>,
    max_momentums: Vec<f64>,
}

impl CyclicLR {
    /// A cyclical schedule as `config` describes.
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when a per-group list
    /// has the wrong length, `step_size_up` is zero, or `cycle_momentum` is set for an optimizer
    /// with neither `momentum` nor `betas`.
    ///
    /// ```
    /// use optim_core::builtins::Adagrad;
    /// use optim_core::lr_scheduler::{CyclicConfig, CyclicLR};
    /// use optim_core::Param;
    ///
    /// let mut opt = Adagrad::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Adagrad::hyper()).unwrap();
    /// assert!(CyclicLR::new(&mut opt, CyclicConfig::new(0.01, 0.1)).is_err()); // no momentum to cycle
    /// let config = CyclicConfig { cycle_momentum: false, ..CyclicConfig::new(0.01, 0.1) };
    /// assert!(CyclicLR::new(&mut opt, config).is_ok());
    /// ```
    pub fn new(target: &mut dyn LrTarget, config: CyclicConfig) -> Result<Self> {
        let groups = target.group_count();
        let base_lrs = config.base_lr.resolve(Self::NAME, "base_lr", groups)?;
        let max_lrs = config.max_lr.resolve(Self::NAME, "max_lr", groups)?;
        let step_size_up = epochs(Self::NAME, "step_size_up", config.step_size_up, 1)?;
        let step_size_down =
            epochs(Self::NAME, "step_size_down", config.step_size_down.unwrap_or(config.step_size_up), 0)?;
        let momentum = if config.cycle_momentum { Some(MomentumKey::of(target, Self::NAME)?) } else { None };
        let base_momentums = config.base_momentum.resolve(Self::NAME, "base_momentum", groups)?;
        let max_momentums = config.max_momentum.resolve(Self::NAME, "max_momentum", groups)?;
        let sched = CyclicLR {
            core: Core::with_base(base_lrs),
            max_lrs,
            step_size_up,
            step_size_down,
            mode: config.mode,
            momentum,
            base_momentums,
            max_momentums,
        };
        start(sched, target)
    }

    fn total_size(&self) -> f64 {
        self.step_size_up as f64 + self.step_size_down as f64
    }
}

impl Policy for CyclicLR {
    const NAME: &'static str = "CyclicLR";
    const REBASES: bool = false;

    fn get_lr(&self, target: &dyn LrTarget, _initial: bool) -> Result<Plan> {
        let epoch = self.core.last_epoch as f64;
        let total_size = self.total_size();
        let step_ratio = self.step_size_up as f64 / total_size;
        let cycle = (1.0 + epoch / total_size).floor();
        let x = 1.0 + epoch / total_size - cycle;
        let scale_factor = if x <= step_ratio { x / step_ratio } else { (x - 1.0) / (step_ratio - 1.0) };
        let scale = self.mode.scale(match self.mode.scale_mode() {
            ScaleMode::Cycle => cycle,
            ScaleMode::Iterations => epoch,
        });
        let lrs = self.core.base_lrs.iter().zip(&self.max_lrs);
        let lrs = lrs.map(|(base, max)| base + (max - base) * scale_factor * scale).collect();
        let mut plan = Plan { lrs, extra: Vec::new() };
        if let Some(key) = self.momentum {
            for (group, (base, max)) in self.base_momentums.iter().zip(&self.max_momentums).enumerate() {
                let momentum = max - (max - base) * scale_factor * scale;
                plan.extra.push(key.write(target, Self::NAME, group, momentum)?);
            }
        }
        Ok(plan)
    }

    fn save(&self, w: &mut StateWriter) {
        w.floats("max_lrs", &self.max_lrs);
        w.int("step_size_up", self.step_size_up);
        w.int("step_size_down", self.step_size_down);
        w.text("mode", self.mode.name());
        w.float("gamma", self.mode.gamma());
        w.int("cycle_momentum", i64::from(self.momentum.is_some()));
        w.floats("base_momentums", &self.base_momentums);
        w.floats("max_momentums", &self.max_momentums);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        let groups = self.core.groups();
        self.max_lrs = r.floats("max_lrs", groups)?;
        self.step_size_up = r.epochs("step_size_up", 1)?;
        self.step_size_down = r.epochs("step_size_down", 0)?;
        let mode = r.text("mode")?;
        if mode != self.mode.name() {
            return Err(r.error(format!("it was saved in mode {mode}, this scheduler runs {}", self.mode.name())));
        }
        let gamma = r.float("gamma")?;
        if let CyclicMode::ExpRange { gamma: g } = &mut self.mode {
            *g = gamma;
        }
        let cycles = r.int("cycle_momentum")? != 0;
        if cycles != self.momentum.is_some() {
            return Err(r.error("cycle_momentum differs from this scheduler's"));
        }
        self.base_momentums = r.floats("base_momentums", groups)?;
        self.max_momentums = r.floats("max_momentums", groups)?;
        Ok(())
    }
}

leaf_scheduler!(CyclicLR);
