//! The leaf policies' shared driver: PyTorch's `LRScheduler` bookkeeping ([`Core`]), the
//! [`Policy`] each policy implements, and the step, initial step, jump and state handling that
//! turn a policy into an [`LrScheduler`](super::LrScheduler).

use super::state::{StateReader, StateWriter};
use super::{LrTarget, Plan, SchedulerState, apply, group_floats, invalid, step_error};
use crate::Result;

/// The bookkeeping every leaf policy shares (PyTorch's `LRScheduler` attributes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Core {
    pub base_lrs: Vec<f64>,
    pub last_epoch: i64,
    pub step_count: u64,
    pub last_lr: Vec<f64>,
}

impl Core {
    /// Base learning rates from the groups' current `lr`; the initial step is still to come.
    pub(crate) fn from_target(target: &dyn LrTarget, scheduler: &'static str) -> Result<Self> {
        let lrs = group_floats(target, scheduler, "lr")?;
        Ok(Core::with_base(lrs))
    }

    pub(crate) fn with_base(base_lrs: Vec<f64>) -> Self {
        Core { last_lr: base_lrs.clone(), base_lrs, last_epoch: -1, step_count: 0 }
    }

    /// The base learning rates times `factor`.
    pub(crate) fn scaled_base(&self, factor: f64) -> Vec<f64> {
        scaled(self.base_lrs.iter().copied(), factor)
    }

    pub(crate) fn groups(&self) -> usize {
        self.base_lrs.len()
    }

    pub(crate) fn check_groups(&self, target: &dyn LrTarget, scheduler: &'static str) -> Result<()> {
        check_groups(self.groups(), target, scheduler)
    }

    fn save(&self, w: &mut StateWriter) {
        w.int("last_epoch", self.last_epoch);
        w.int("step_count", self.step_count as i64);
        w.floats("base_lrs", &self.base_lrs);
        w.floats("last_lr", &self.last_lr);
    }

    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()> {
        let groups = self.groups();
        self.last_epoch = r.epoch("last_epoch")?;
        self.step_count = r.counter("step_count")?;
        self.base_lrs = r.floats("base_lrs", groups)?;
        self.last_lr = r.floats("last_lr", groups)?;
        Ok(())
    }
}

/// Every learning rate times `factor`.
pub(crate) fn scaled(lrs: impl IntoIterator<Item = f64>, factor: f64) -> Vec<f64> {
    lrs.into_iter().map(|lr| lr * factor).collect()
}

/// The largest epoch count or counter a scheduler takes or loads: exact as an `f64` (the
/// policies compute in `f64`), and far enough from `i64::MAX` that counting on and the policies'
/// arithmetic (`2 * T_max`) never overflow.
pub(crate) const MAX_EPOCH: i64 = 1 << 53;

/// An epoch count given as `u64`, checked to be at least `min` and at most [`MAX_EPOCH`].
pub(crate) fn epochs(what: &'static str, name: &str, value: u64, min: u64) -> Result<i64> {
    match i64::try_from(value) {
        Ok(v) if value >= min && v <= MAX_EPOCH => Ok(v),
        _ => Err(invalid(what, format!("{name} must be at least {min} and at most 2^53, got {value}"))),
    }
}

pub(crate) fn check_groups(groups: usize, target: &dyn LrTarget, scheduler: &'static str) -> Result<()> {
    let now = target.group_count();
    if now == groups {
        Ok(())
    } else {
        Err(step_error(
            scheduler,
            format!("the optimizer has {now} param groups but the scheduler was built for {groups}"),
        ))
    }
}

/// A leaf policy's [`Core`], its field `core`; [`leaf_scheduler!`] implements it.
pub(crate) trait HasCore {
    fn core(&self) -> &Core;
    fn core_mut(&mut self) -> &mut Core;
}

/// A leaf policy: PyTorch's `get_lr` and `_get_closed_form_lr` over [`Core`]. The driver below
/// turns it into an [`LrScheduler`] with PyTorch's step, initial step and undo.
pub(crate) trait Policy: HasCore + Clone + Send {
    const NAME: &'static str;
    /// Whether the base learning rates come from the groups' `initial_lr` (not from an argument).
    const REBASES: bool = true;

    /// PyTorch's chainable `get_lr` at `core().last_epoch`, which the caller already advanced.
    fn get_lr(&self, target: &dyn LrTarget, initial: bool) -> Result<Plan>;

    /// PyTorch's `_get_closed_form_lr`, for the policies that have one.
    fn closed_form(&self) -> Option<Result<Vec<f64>>> {
        None
    }

    /// PyTorch's `step()` up to `get_lr`: advance the counters, then compute.
    fn advance(&mut self, target: &dyn LrTarget, initial: bool) -> Result<Plan> {
        // saturating: a loaded counter is at most 2^53, so this never saturates in practice
        self.core_mut().last_epoch = self.core().last_epoch.saturating_add(1);
        self.get_lr(target, initial)
    }

    /// Forgets progress before a replayed construction.
    fn reset(&mut self) {
        self.core_mut().last_epoch = -1;
    }

    /// The policy's own arguments and state, besides [`Core`]'s.
    fn save(&self, w: &mut StateWriter);
    /// Reads what [`Policy::save`] wrote; checks values as the constructor does.
    fn load(&mut self, r: &mut StateReader<'_>) -> Result<()>;
}

/// Runs `f` on `policy` and applies its plan; on any error restores `policy` and the target.
pub(crate) fn drive<P: Policy>(
    policy: &mut P,
    target: &mut dyn LrTarget,
    f: impl FnOnce(&mut P, &dyn LrTarget) -> Result<Plan>,
) -> Result<()> {
    policy.core().check_groups(target, P::NAME)?;
    let before = policy.clone();
    let result = f(policy, target).and_then(|plan| apply(target, &plan).map(|()| plan));
    match result {
        Ok(plan) => {
            policy.core_mut().last_lr = plan.lrs;
            Ok(())
        }
        Err(error) => {
            *policy = before;
            Err(error)
        }
    }
}

pub(crate) fn policy_step<P: Policy>(policy: &mut P, target: &mut dyn LrTarget) -> Result<()> {
    drive(policy, target, |p, t| {
        p.core_mut().step_count = p.core().step_count.saturating_add(1);
        p.advance(t, false)
    })
}

pub(crate) fn policy_initial_step<P: Policy>(policy: &mut P, target: &mut dyn LrTarget) -> Result<()> {
    drive(policy, target, |p, t| {
        p.core_mut().step_count = 1;
        p.advance(t, true)
    })
}

pub(crate) fn policy_jump_to<P: Policy>(policy: &mut P, target: &mut dyn LrTarget, epoch: i64) -> Result<()> {
    drive(policy, target, |p, t| {
        p.core_mut().last_epoch = epoch;
        match p.closed_form() {
            Some(lrs) => lrs.map(Plan::from),
            None => p.get_lr(t, false),
        }
    })
}

pub(crate) fn policy_state<P: Policy>(policy: &P) -> SchedulerState {
    let mut w = StateWriter::new(P::NAME);
    policy.core().save(&mut w);
    policy.save(&mut w);
    w.finish()
}

pub(crate) fn policy_loaded<P: Policy>(policy: &P, state: &SchedulerState) -> Result<P> {
    let mut r = StateReader::new(state, P::NAME)?;
    r.no_children()?;
    let mut copy = policy.clone();
    copy.core_mut().load(&mut r)?;
    copy.load(&mut r)?;
    r.finish()?;
    Ok(copy)
}

/// Implements [`HasCore`] and [`LrScheduler`] for a [`Policy`] whose [`Core`] is its field `core`.
macro_rules! leaf_scheduler {
    ($ty:ty) => {
        impl $crate::lr_scheduler::policy::HasCore for $ty {
            fn core(&self) -> &$crate::lr_scheduler::Core {
                &self.core
            }
            fn core_mut(&mut self) -> &mut $crate::lr_scheduler::Core {
                &mut self.core
            }
        }

        impl $crate::lr_scheduler::sealed::Composable for $ty {
            fn check_state_dict(&self, state: &$crate::lr_scheduler::SchedulerState) -> $crate::Result<()> {
                $crate::lr_scheduler::policy::policy_loaded(self, state).map(|_| ())
            }
            fn restart(
                &mut self,
                target: &mut dyn $crate::lr_scheduler::LrTarget,
                initial_lrs: &[f64],
            ) -> $crate::Result<()> {
                use $crate::lr_scheduler::Policy;
                let before = self.clone();
                if <$ty as Policy>::REBASES {
                    self.core.base_lrs = initial_lrs.to_vec();
                }
                self.reset();
                let result = $crate::lr_scheduler::policy::policy_initial_step(self, target);
                if result.is_err() {
                    *self = before;
                }
                result
            }
            fn undo(&mut self) {
                self.core.last_epoch -= 1;
            }
            fn initial_step(&mut self, target: &mut dyn $crate::lr_scheduler::LrTarget) -> $crate::Result<()> {
                $crate::lr_scheduler::policy::policy_initial_step(self, target)
            }
            fn jump_to(&mut self, target: &mut dyn $crate::lr_scheduler::LrTarget, epoch: i64) -> $crate::Result<()> {
                $crate::lr_scheduler::policy::policy_jump_to(self, target, epoch)
            }
        }

        impl $crate::lr_scheduler::LrScheduler for $ty {
            fn name(&self) -> &'static str {
                <$ty as $crate::lr_scheduler::Policy>::NAME
            }
            fn step(&mut self, target: &mut dyn $crate::lr_scheduler::LrTarget) -> $crate::Result<()> {
                $crate::lr_scheduler::policy::policy_step(self, target)
            }
            fn get_last_lr(&self) -> &[f64] {
                &self.core.last_lr
            }
            fn base_lrs(&self) -> &[f64] {
                &self.core.base_lrs
            }
            fn last_epoch(&self) -> i64 {
                self.core.last_epoch
            }
            fn state_dict(&self) -> $crate::lr_scheduler::SchedulerState {
                $crate::lr_scheduler::policy::policy_state(self)
            }
            fn load_state_dict(&mut self, state: &$crate::lr_scheduler::SchedulerState) -> $crate::Result<()> {
                *self = $crate::lr_scheduler::policy::policy_loaded(self, state)?;
                Ok(())
            }
        }
    };
}
pub(crate) use leaf_scheduler;

/// Builds a leaf policy: its initial step, as PyTorch's constructors take it.
pub(crate) fn start<P: Policy>(mut policy: P, target: &mut dyn LrTarget) -> Result<P> {
    policy_initial_step(&mut policy, target)?;
    Ok(policy)
}

/// Builds a leaf policy on a [`Core`] from the groups' current `lr`, then [`start`]s it.
pub(crate) fn start_with<P: Policy>(target: &mut dyn LrTarget, build: impl FnOnce(Core) -> P) -> Result<P> {
    let core = Core::from_target(target, P::NAME)?;
    start(build(core), target)
}

/// Python's `bisect.bisect_right`: how many of the sorted `values` are `<= x`.
pub(crate) fn bisect_right(values: &[u64], x: i64) -> usize {
    values.partition_point(|&v| i128::from(v) <= i128::from(x))
}
