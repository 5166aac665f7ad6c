//! The 1cycle policy: [`OneCycleLR`].

use core::f64::consts::PI;

use super::state::{StateReader, StateWriter};
use super::{Core, LrTarget, MomentumKey, PerGroup, Plan, Policy, epochs, invalid, leaf_scheduler, start, step_error};
use crate::Result;

/// How [`OneCycleLR`] moves between two values within a phase.
///
/// ```
/// use optim_core::lr_scheduler::Anneal;
/// assert_eq!(Anneal::default(), Anneal::Cos);
/// assert_eq!(Anneal::Linear.name(), "linear");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Anneal {
    /// Along a half cosine (PyTorch's `"cos"`).
    #[default]
    Cos,
    /// In a straight line (PyTorch's `"linear"`).
    Linear,
}

impl Anneal {
    /// PyTorch's name of the strategy.
    ///
    /// ```
    /// assert_eq!(optim_core::lr_scheduler::Anneal::Cos.name(), "cos");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Anneal::Cos => "cos",
            Anneal::Linear => "linear",
        }
    }

    fn at(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            Anneal::Cos => end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0),
            Anneal::Linear => (end - start) * pct + start,
        }
    }
}

/// The arguments of [`OneCycleLR`], with PyTorch's defaults.
///
/// ```
/// use optim_core::lr_scheduler::{Anneal, OneCycleConfig};
/// let config = OneCycleConfig { anneal: Anneal::Linear, three_phase: true, ..OneCycleConfig::new(0.1, 1000) };
/// assert_eq!(config.pct_start, 0.3);
/// assert_eq!(OneCycleConfig::from_epochs(0.1, 10, 100).total_steps, 1000);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OneCycleConfig {
    /// The peak learning rate of each group.
    pub max_lr: PerGroup,
    /// The number of steps in the cycle.
    pub total_steps: u64,
    /// The fraction of the cycle spent increasing the learning rate (default 0.3).
    pub pct_start: f64,
    /// The annealing strategy (default cosine).
    pub anneal: Anneal,
    /// Whether momentum (`momentum`, or the first of `betas`) cycles inversely to the learning
    /// rate (default true).
    pub cycle_momentum: bool,
    /// The lower momentum boundary (default 0.85), reached at the peak learning rate.
    pub base_momentum: PerGroup,
    /// The upper momentum boundary (default 0.95).
    pub max_momentum: PerGroup,
    /// The initial learning rate is `max_lr / div_factor` (default 25).
    pub div_factor: f64,
    /// The final learning rate is the initial one divided by this (default 1e4).
    pub final_div_factor: f64,
    /// Use three phases (up, down to the initial rate, then annihilate) instead of two (default
    /// false).
    pub three_phase: bool,
}

impl OneCycleConfig {
    /// A cycle of `total_steps` steps peaking at `max_lr`, every other argument at PyTorch's
    /// default.
    ///
    /// ```
    /// let config = optim_core::lr_scheduler::OneCycleConfig::new(0.01, 500);
    /// assert!(config.cycle_momentum);
    /// ```
    pub fn new(max_lr: impl Into<PerGroup>, total_steps: u64) -> Self {
        OneCycleConfig {
            max_lr: max_lr.into(),
            total_steps,
            pct_start: 0.3,
            anneal: Anneal::Cos,
            cycle_momentum: true,
            base_momentum: PerGroup::All(0.85),
            max_momentum: PerGroup::All(0.95),
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }

    /// A cycle of `epochs * steps_per_epoch` steps (PyTorch's other way to give its length).
    ///
    /// ```
    /// let config = optim_core::lr_scheduler::OneCycleConfig::from_epochs(0.01, 3, 7);
    /// assert_eq!(config.total_steps, 21);
    /// ```
    pub fn from_epochs(max_lr: impl Into<PerGroup>, epochs: u64, steps_per_epoch: u64) -> Self {
        OneCycleConfig::new(max_lr, epochs.saturating_mul(steps_per_epoch))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Lr {
    Initial,
    Max,
    Min,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Momentum {
    Base,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Phase {
    end_step: f64,
    lr: (Lr, Lr),
    momentum: (Momentum, Momentum),
}

fn phases(total_steps: i64, pct_start: f64, three_phase: bool) -> Vec<Phase> {
    let total = total_steps as f64;
    let last = (total_steps - 1) as f64;
    let up = Phase {
        end_step: pct_start * total - 1.0,
        lr: (Lr::Initial, Lr::Max),
        momentum: (Momentum::Max, Momentum::Base),
    };
    if three_phase {
        vec![
            up,
            Phase {
                end_step: 2.0 * pct_start * total - 2.0,
                lr: (Lr::Max, Lr::Initial),
                momentum: (Momentum::Base, Momentum::Max),
            },
            Phase { end_step: last, lr: (Lr::Initial, Lr::Min), momentum: (Momentum::Max, Momentum::Max) },
        ]
    } else {
        vec![up, Phase { end_step: last, lr: (Lr::Max, Lr::Min), momentum: (Momentum::Base, Momentum::Max) }]
    }
}

/// The 1cycle policy (Smith & Topin, super-convergence), as
/// `torch.optim.lr_scheduler.OneCycleLR`: every group's learning rate rises from
/// `max_lr / div_factor` to `max_lr` and then anneals far below the start, stepping once per
/// batch; with `cycle_momentum` its momentum (or first beta) goes the opposite way.
///
/// ```
/// use optim_core::builtins::Adam;
/// use optim_core::lr_scheduler::{LrScheduler, OneCycleConfig, OneCycleLR};
/// use optim_core::Param;
///
/// let mut opt = Adam::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Adam::hyper()).unwrap();
/// let mut sched = OneCycleLR::new(&mut opt, OneCycleConfig::new(1.0, 10)).unwrap();
/// assert!((sched.get_last_lr()[0] - 0.04).abs() < 1e-12);
/// assert!((opt.param_groups()[0].hyper.betas.0 - 0.95).abs() < 1e-12);
/// for _ in 0..2 {
///     sched.step(&mut opt).unwrap();
/// }
/// assert_eq!(sched.get_last_lr(), [1.0]); // the peak, at 30% of the cycle
/// assert_eq!(opt.param_groups()[0].hyper.betas.0, 0.85);
/// ```
#[derive(Debug, Clone)]
pub struct OneCycleLR {
    core: Core,
    total_steps: i64,
    pct_start: f64,
    anneal: Anneal,
    three_phase: bool,
    div_factor: f64,
    final_div_factor: f64,
    phases: Vec<Phase>,
    max_lrs: Vec<f64>,
    min_lrs: Vec<f64>,
    momentum: Option<MomentumKey>,
    base_momentums: Vec<f64>,
    max_momentums: Vec<f64>,
}

impl OneCycleLR {
    /// A 1cycle schedule as `config` describes.
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when `total_steps` is
    /// zero, `pct_start` is outside `[0, 1]`, a division factor is not positive, a per-group list
    /// has the wrong length, or `cycle_momentum` is set for an optimizer with neither `momentum`
    /// nor `betas`.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{OneCycleConfig, OneCycleLR};
    /// use optim_core::Param;
    ///
    /// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert!(OneCycleLR::new(&mut opt, OneCycleConfig::new(0.1, 0)).is_err());
    /// let late = OneCycleConfig { pct_start: 1.5, ..OneCycleConfig::new(0.1, 100) };
    /// assert!(OneCycleLR::new(&mut opt, late).is_err());
    /// ```
    pub fn new(target: &mut dyn LrTarget, config: OneCycleConfig) -> Result<Self> {
        let groups = target.group_count();
        let (total_steps, pct_start) = Self::checked(config.total_steps, config.pct_start)?;
        for (name, value) in [("div_factor", config.div_factor), ("final_div_factor", config.final_div_factor)] {
            if value.is_nan() || value <= 0.0 {
                return Err(invalid(Self::NAME, format!("{name} must be positive, got {value}")));
            }
        }
        let max_lrs = config.max_lr.resolve(Self::NAME, "max_lr", groups)?;
        let initial_lrs: Vec<f64> = max_lrs.iter().map(|max| max / config.div_factor).collect();
        let min_lrs = initial_lrs.iter().map(|initial| initial / config.final_div_factor).collect();
        let momentum = if config.cycle_momentum { Some(MomentumKey::of(target, Self::NAME)?) } else { None };
        let sched = OneCycleLR {
            core: Core::with_base(initial_lrs),
            total_steps,
            pct_start,
            anneal: config.anneal,
            three_phase: config.three_phase,
            div_factor: config.div_factor,
            final_div_factor: config.final_div_factor,
            phases: phases(total_steps, pct_start, config.three_phase),
            max_lrs,
            min_lrs,
            momentum,
            base_momentums: config.base_momentum.resolve(Self::NAME, "base_momentum", groups)?,
            max_momentums: config.max_momentum.resolve(Self::NAME, "max_momentum", groups)?,
        };
        start(sched, target)
    }

    fn checked(total_steps: u64, pct_start: f64) -> Result<(i64, f64)> {
        let total_steps = epochs(Self::NAME, "total_steps", total_steps, 1)?;
        if !(0.0..=1.0).contains(&pct_start) {
            return Err(invalid(Self::NAME, format!("pct_start must be in [0, 1], got {pct_start}")));
        }
        Ok((total_steps, pct_start))
    }
}

impl Policy for OneCycleLR {
    const NAME: &'static str = "OneCycleLR";
    const REBASES: bool = false;

    fn get_lr(&self, target: &dyn LrTarget, _initial: bool) -> Result<Plan> {
        let step = self.core.last_epoch;
        if step > self.total_steps {
            return Err(step_error(
                Self::NAME,
                format!("tried to step {step} times; the cycle has {} total steps", self.total_steps),
            ));
        }
        let step = step as f64;
        let mut start_step = 0.0;
        let mut found = None;
        for (i, phase) in self.phases.iter().enumerate() {
            if step <= phase.end_step || i == self.phases.len() - 1 {
                let width = phase.end_step - start_step;
                if width == 0.0 {
                    return Err(step_error(Self::NAME, "a phase of zero steps; lengthen the cycle or move pct_start"));
                }
                found = Some((phase, (step - start_step) / width));
                break;
            }
            start_step = phase.end_step;
        }
        let Some((phase, pct)) = found else { return Ok(Plan::default()) };
        let mut plan = Plan::default();
        for group in 0..self.core.groups() {
            let lr = |which| match which {
                Lr::Initial => self.core.base_lrs[group],
                Lr::Max => self.max_lrs[group],
                Lr::Min => self.min_lrs[group],
            };
            plan.lrs.push(self.anneal.at(lr(phase.lr.0), lr(phase.lr.1), pct));
            if let Some(key) = self.momentum {
                let momentum = |which| match which {
                    Momentum::Base => self.base_momentums[group],
                    Momentum::Max => self.max_momentums[group],
                };
                let value = self.anneal.at(momentum(phase.momentum.0), momentum(phase.momentum.1), pct);
                plan.extra.push(key.write(target, Self::NAME, group, value)?);
            }
        }
        Ok(plan)
    }

    fn save(&self, w: &mut StateWriter) {
        w.int("total_steps", self.total_steps);
        w.float("pct_start", self.pct_start);
        w.text("anneal_strategy", self.anneal.name());
        w.int("three_phase", i64::from(self.three_phase));
        w.float("div_factor", self.div_factor);
        w.float("final_div_factor", self.final_div_factor);
        w.floats("max_lrs", &self.max_lrs);
        w.floats("min_lrs", &self.min_lrs);
        w.int("cycle_momentum", i64::from(self.momentum.is_some()));
        w.floats("base_momentums", &self.base_momentums);
        w.floats("max_momentums", &self.max_momentums);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        let groups = self.core.groups();
        let total_steps = r.count("total_steps")?;
        let pct_start = r.float("pct_start")?;
        (self.total_steps, self.pct_start) = r.check(Self::checked(total_steps, pct_start))?;
        self.anneal = match r.text("anneal_strategy")? {
            "cos" => Anneal::Cos,
            "linear" => Anneal::Linear,
            other => return Err(r.error(format!("unknown anneal_strategy {other}"))),
        };
        self.three_phase = r.int("three_phase")? != 0;
        self.div_factor = r.float("div_factor")?;
        self.final_div_factor = r.float("final_div_factor")?;
        self.phases = phases(self.total_steps, self.pct_start, self.three_phase);
        self.max_lrs = r.floats("max_lrs", groups)?;
        self.min_lrs = r.floats("min_lrs", groups)?;
        if (r.int("cycle_momentum")? != 0) != self.momentum.is_some() {
            return Err(r.error("cycle_momentum differs from this scheduler's"));
        }
        self.base_momentums = r.floats("base_momentums", groups)?;
        self.max_momentums = r.floats("max_momentums", groups)?;
        Ok(())
    }
}

leaf_scheduler!(OneCycleLR);
