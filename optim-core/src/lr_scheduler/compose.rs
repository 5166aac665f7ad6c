//! Schedulers made of schedulers: [`SequentialLR`], [`ChainedScheduler`].

use super::sealed::Composable;
use super::state::{StateReader, StateWriter};
use super::{
    LrScheduler, LrTarget, SchedulerState, bisect_right, check_groups, epochs, group_floats, invalid, set_lrs,
    step_error,
};
use crate::{HyperValue, Result};

/// Members of a composite: at least one, all over `target`'s param groups.
fn check_members(what: &'static str, target: &dyn LrTarget, schedulers: &[Box<dyn LrScheduler>]) -> Result<Vec<f64>> {
    let Some(first) = schedulers.first() else {
        return Err(invalid(what, "expects at least one scheduler"));
    };
    let groups = target.group_count();
    for (index, scheduler) in schedulers.iter().enumerate() {
        let theirs = scheduler.base_lrs().len();
        if theirs != groups {
            return Err(invalid(
                what,
                format!(
                    "scheduler {index} ({}) was built for {theirs} param groups, the optimizer has {groups}",
                    scheduler.name()
                ),
            ));
        }
    }
    Ok(first.base_lrs().to_vec())
}

/// Whether every member is as its constructor left it, so its construction can be replayed.
fn fresh(schedulers: &[Box<dyn LrScheduler>]) -> bool {
    schedulers.iter().all(|s| s.last_epoch() == 0)
}

/// Checks that every member state would load into its member.
fn check_member_states(r: &StateReader<'_>, schedulers: &[Box<dyn LrScheduler>]) -> Result<()> {
    let states = r.children();
    if states.len() != schedulers.len() {
        return Err(r.error(format!(
            "it has {} member states but the scheduler has {}",
            states.len(),
            schedulers.len()
        )));
    }
    schedulers.iter().zip(states).try_for_each(|(scheduler, state)| scheduler.check_state_dict(state))
}

/// Loads checked member states.
fn load_member_states(r: &StateReader<'_>, schedulers: &mut [Box<dyn LrScheduler>]) -> Result<()> {
    schedulers.iter_mut().zip(r.children()).try_for_each(|(scheduler, state)| scheduler.load_state_dict(state))
}

/// Implements [`Composable`] and [`LrScheduler`] for a composite with the fields `schedulers`,
/// `base_lrs`, `last_epoch` and `last_lr`, from its `NAME`, `JUMP` (why it cannot jump), `advance`
/// (a step), `replay` (a replayed construction), `read` and `commit` (its own progress) and
/// `write` (its own keys besides those fields).
macro_rules! composite_scheduler {
    ($ty:ty) => {
        impl Composable for $ty {
            fn check_state_dict(&self, state: &SchedulerState) -> Result<()> {
                let mut r = StateReader::new(state, Self::NAME)?;
                self.read(&mut r)?;
                check_member_states(&r, &self.schedulers)?;
                r.finish()
            }

            fn restart(&mut self, target: &mut dyn LrTarget, initial_lrs: &[f64]) -> Result<()> {
                self.replay(target, initial_lrs)
            }

            fn undo(&mut self) {
                for scheduler in &mut self.schedulers {
                    scheduler.undo();
                }
            }

            fn initial_step(&mut self, target: &mut dyn LrTarget) -> Result<()> {
                self.step(target)
            }

            fn jump_to(&mut self, _target: &mut dyn LrTarget, _epoch: i64) -> Result<()> {
                Err(step_error(Self::NAME, Self::JUMP))
            }
        }

        impl LrScheduler for $ty {
            fn name(&self) -> &'static str {
                Self::NAME
            }

            fn step(&mut self, target: &mut dyn LrTarget) -> Result<()> {
                check_groups(self.base_lrs.len(), target, Self::NAME)?;
                self.advance(target)
            }

            fn get_last_lr(&self) -> &[f64] {
                &self.last_lr
            }

            fn base_lrs(&self) -> &[f64] {
                &self.base_lrs
            }

            fn last_epoch(&self) -> i64 {
                self.last_epoch
            }

            fn state_dict(&self) -> SchedulerState {
                let mut w = StateWriter::new(Self::NAME);
                w.int("last_epoch", self.last_epoch);
                self.write(&mut w);
                w.floats("base_lrs", &self.base_lrs);
                w.floats("last_lr", &self.last_lr);
                for scheduler in &self.schedulers {
                    w.child(scheduler.state_dict());
                }
                w.finish()
            }

            fn load_state_dict(&mut self, state: &SchedulerState) -> Result<()> {
                self.check_state_dict(state)?;
                let mut r = StateReader::new(state, Self::NAME)?;
                let progress = self.read(&mut r)?;
                load_member_states(&r, &mut self.schedulers)?;
                self.commit(progress);
                Ok(())
            }
        }
    };
}

/// A composite's own saved progress.
struct Progress {
    last_epoch: i64,
    milestones: Vec<u64>,
    base_lrs: Vec<f64>,
    last_lr: Vec<f64>,
}

/// Runs one scheduler after another, switching at milestone epochs, as
/// `torch.optim.lr_scheduler.SequentialLR`: scheduler `i + 1` takes over at `milestones[i]`,
/// restarting from its base learning rates.
///
/// Build the members on the optimizer just before, as in PyTorch; their construction is replayed
/// so that they all start from the first member's base learning rates.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{ConstantLR, ExponentialLR, LrScheduler, SequentialLR};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
/// let warmup = ConstantLR::new(&mut opt, 0.1, 2).unwrap();
/// let decay = ExponentialLR::new(&mut opt, 0.5).unwrap();
/// let mut sched = SequentialLR::new(&mut opt, vec![Box::new(warmup), Box::new(decay)], vec![2]).unwrap();
/// let mut lrs = vec![sched.get_last_lr()[0]];
/// for _ in 0..4 {
///     sched.step(&mut opt).unwrap();
///     lrs.push(sched.get_last_lr()[0]);
/// }
/// assert_eq!(lrs, [0.1, 0.1, 1.0, 0.5, 0.25]);
/// ```
pub struct SequentialLR {
    schedulers: Vec<Box<dyn LrScheduler>>,
    milestones: Vec<u64>,
    base_lrs: Vec<f64>,
    last_epoch: i64,
    last_lr: Vec<f64>,
}

impl SequentialLR {
    const NAME: &'static str = "SequentialLR";

    /// `schedulers` in turn, switching at `milestones` (one fewer than the schedulers,
    /// non-decreasing).
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when there are no
    /// schedulers, the milestones do not fit them, or a member was built for another number of
    /// param groups.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::{LrScheduler, SequentialLR, StepLR};
    /// use optim_core::Param;
    ///
    /// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// let only: Vec<Box<dyn LrScheduler>> = vec![Box::new(StepLR::new(&mut opt, 1, 0.5).unwrap())];
    /// assert!(SequentialLR::new(&mut opt, only, vec![5]).is_err());
    /// ```
    pub fn new(target: &mut dyn LrTarget, schedulers: Vec<Box<dyn LrScheduler>>, milestones: Vec<u64>) -> Result<Self> {
        let initial = check_members(Self::NAME, target, &schedulers)?;
        let milestones = Self::checked(milestones, schedulers.len())?;
        let replay = fresh(&schedulers);
        let mut sequential =
            SequentialLR { schedulers, milestones, base_lrs: initial.clone(), last_epoch: 0, last_lr: initial.clone() };
        sequential.construct(target, &initial, replay)?;
        Ok(sequential)
    }

    fn checked(milestones: Vec<u64>, schedulers: usize) -> Result<Vec<u64>> {
        if milestones.len() + 1 != schedulers {
            return Err(invalid(
                Self::NAME,
                format!(
                    "expects one milestone fewer than schedulers, got {schedulers} schedulers and {} milestones",
                    milestones.len()
                ),
            ));
        }
        if milestones.windows(2).any(|w| w[0] > w[1]) {
            return Err(invalid(Self::NAME, format!("milestones must not decrease, got {milestones:?}")));
        }
        for &m in &milestones {
            epochs(Self::NAME, "a milestone", m, 0)?;
        }
        Ok(milestones)
    }

    /// PyTorch's constructor: learning rates back to the initial ones, every member's initial
    /// step undone, then the initial step again of the member in charge at epoch 0.
    fn construct(&mut self, target: &mut dyn LrTarget, initial: &[f64], replay: bool) -> Result<()> {
        if replay {
            set_lrs(target, initial)?;
            for scheduler in &mut self.schedulers {
                scheduler.restart(target, initial)?;
            }
        }
        set_lrs(target, initial)?;
        for scheduler in &mut self.schedulers {
            scheduler.undo();
        }
        let first = bisect_right(&self.milestones, 0);
        self.schedulers[first].initial_step(target)?;
        self.base_lrs = initial.to_vec();
        self.last_epoch = 0;
        self.last_lr = self.schedulers[first].get_last_lr().to_vec();
        Ok(())
    }

    fn read(&self, r: &mut StateReader<'_>) -> Result<Progress> {
        let groups = self.base_lrs.len();
        let last_epoch = r.epoch("last_epoch")?;
        let milestones = r.counts("milestones")?;
        let milestones = r.check(Self::checked(milestones, self.schedulers.len()))?;
        let base_lrs = r.floats("base_lrs", groups)?;
        let last_lr = r.floats("last_lr", groups)?;
        Ok(Progress { last_epoch, milestones, base_lrs, last_lr })
    }
}

impl core::fmt::Debug for SequentialLR {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names: Vec<&str> = self.schedulers.iter().map(|s| s.name()).collect();
        f.debug_struct("SequentialLR")
            .field("schedulers", &names)
            .field("milestones", &self.milestones)
            .field("last_epoch", &self.last_epoch)
            .field("last_lr", &self.last_lr)
            .finish()
    }
}

impl SequentialLR {
    const JUMP: &'static str = "has no closed form, so it cannot take over at a milestone of another SequentialLR";

    fn advance(&mut self, target: &mut dyn LrTarget) -> Result<()> {
        let epoch = self.last_epoch.saturating_add(1);
        let index = bisect_right(&self.milestones, epoch);
        let scheduler = &mut self.schedulers[index];
        if index > 0 && i128::from(self.milestones[index - 1]) == i128::from(epoch) {
            scheduler.jump_to(target, 0)?;
        } else {
            scheduler.step(target)?;
        }
        self.last_lr = scheduler.get_last_lr().to_vec();
        self.last_epoch = epoch;
        Ok(())
    }

    fn replay(&mut self, target: &mut dyn LrTarget, initial_lrs: &[f64]) -> Result<()> {
        self.construct(target, initial_lrs, true)
    }

    fn write(&self, w: &mut StateWriter) {
        w.ints("milestones", self.milestones.iter().map(|&m| m as i64));
    }

    fn commit(&mut self, progress: Progress) {
        let Progress { last_epoch, milestones, base_lrs, last_lr } = progress;
        (self.last_epoch, self.milestones, self.base_lrs, self.last_lr) = (last_epoch, milestones, base_lrs, last_lr);
    }
}

composite_scheduler!(SequentialLR);

/// Steps several schedulers together, each on the learning rates the previous one set, as
/// `torch.optim.lr_scheduler.ChainedScheduler`.
///
/// Build the members on the optimizer just before, as in PyTorch; their construction is replayed
/// so that they all start from the first member's base learning rates.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{ChainedScheduler, ConstantLR, ExponentialLR, LrScheduler};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper().lr(1.0)).unwrap();
/// let warmup = ConstantLR::new(&mut opt, 0.5, 2).unwrap();
/// let decay = ExponentialLR::new(&mut opt, 0.5).unwrap();
/// let mut sched = ChainedScheduler::new(&mut opt, vec![Box::new(warmup), Box::new(decay)]).unwrap();
/// let mut lrs = vec![sched.get_last_lr()[0]];
/// for _ in 0..3 {
///     sched.step(&mut opt).unwrap();
///     lrs.push(sched.get_last_lr()[0]);
/// }
/// assert_eq!(lrs, [0.5, 0.25, 0.25, 0.125]);
/// ```
pub struct ChainedScheduler {
    schedulers: Vec<Box<dyn LrScheduler>>,
    base_lrs: Vec<f64>,
    last_epoch: i64,
    last_lr: Vec<f64>,
}

impl ChainedScheduler {
    const NAME: &'static str = "ChainedScheduler";

    /// Chains `schedulers`, stepped in order.
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`](crate::OptimError::InvalidArgument) when there are no
    /// schedulers or a member was built for another number of param groups.
    ///
    /// ```
    /// use optim_core::builtins::Sgd;
    /// use optim_core::lr_scheduler::ChainedScheduler;
    /// use optim_core::Param;
    ///
    /// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert!(ChainedScheduler::new(&mut opt, vec![]).is_err());
    /// ```
    pub fn new(target: &mut dyn LrTarget, schedulers: Vec<Box<dyn LrScheduler>>) -> Result<Self> {
        let initial = check_members(Self::NAME, target, &schedulers)?;
        let mut chained =
            ChainedScheduler { schedulers, base_lrs: initial.clone(), last_epoch: 0, last_lr: Vec::new() };
        if fresh(&chained.schedulers) {
            set_lrs(target, &initial)?;
            chained.restart_members(target, &initial)?;
        }
        chained.last_lr = group_floats(target, Self::NAME, "lr")?;
        Ok(chained)
    }

    fn restart_members(&mut self, target: &mut dyn LrTarget, initial: &[f64]) -> Result<()> {
        for scheduler in &mut self.schedulers {
            scheduler.restart(target, initial)?;
        }
        Ok(())
    }

    fn read(&self, r: &mut StateReader<'_>) -> Result<(i64, Vec<f64>, Vec<f64>)> {
        let groups = self.base_lrs.len();
        Ok((r.epoch("last_epoch")?, r.floats("base_lrs", groups)?, r.floats("last_lr", groups)?))
    }
}

impl core::fmt::Debug for ChainedScheduler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names: Vec<&str> = self.schedulers.iter().map(|s| s.name()).collect();
        f.debug_struct("ChainedScheduler")
            .field("schedulers", &names)
            .field("last_epoch", &self.last_epoch)
            .field("last_lr", &self.last_lr)
            .finish()
    }
}

impl ChainedScheduler {
    const JUMP: &'static str = "has no closed form, so it cannot take over at a milestone of a SequentialLR";

    fn advance(&mut self, target: &mut dyn LrTarget) -> Result<()> {
        // Members step one after another: if one refuses, those before it are stepped back (their
        // own saved states, which always load) and the groups get their values back, so a failed
        // chained step changes nothing.
        let members: Vec<SchedulerState> = self.schedulers.iter().map(|s| s.state_dict()).collect();
        let values = scheduled_values(target);
        for index in 0..self.schedulers.len() {
            if let Err(error) = self.schedulers[index].step(target) {
                for (scheduler, state) in self.schedulers.iter_mut().zip(&members).take(index) {
                    let _ = scheduler.load_state_dict(state);
                }
                for &(group, name, value) in &values {
                    let _ = target.set_group_hyper(group, name, value);
                }
                return Err(error);
            }
        }
        self.last_epoch = self.last_epoch.saturating_add(1);
        self.last_lr = group_floats(target, Self::NAME, "lr")?;
        Ok(())
    }

    fn replay(&mut self, target: &mut dyn LrTarget, initial_lrs: &[f64]) -> Result<()> {
        self.restart_members(target, initial_lrs)?;
        self.base_lrs = initial_lrs.to_vec();
        self.last_epoch = 0;
        self.last_lr = group_floats(target, Self::NAME, "lr")?;
        Ok(())
    }

    fn write(&self, _w: &mut StateWriter) {}

    fn commit(&mut self, (last_epoch, base_lrs, last_lr): (i64, Vec<f64>, Vec<f64>)) {
        (self.last_epoch, self.base_lrs, self.last_lr) = (last_epoch, base_lrs, last_lr);
    }
}

composite_scheduler!(ChainedScheduler);

/// Every group's values of the hyperparameters schedulers write (`lr`, `momentum`, `betas`).
fn scheduled_values(target: &dyn LrTarget) -> Vec<(usize, &'static str, HyperValue)> {
    let names = ["lr", "momentum", "betas"];
    (0..target.group_count())
        .flat_map(|group| {
            names.into_iter().filter_map(move |name| Some((group, name, target.group_hyper(group, name)?)))
        })
        .collect()
}
