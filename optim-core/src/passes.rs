//! The order of a step's memory passes, written once: `Optimizer::step` (every tensor of every
//! group) and `Rule::step_slices` (one tensor on caller-owned slices) both run it.
//!
//! A step is: stage 0 of the scalar program (done by the caller while it creates state), then
//! for each reduction pass its read-only pass over memory and the next stage of the scalar
//! program and row/column code, then the update pass.

use crate::factored::{Factors, FactorsMut, take_factored, views};
use crate::group_values::{fold_group_reductions, next_values};
use crate::parallel::{Work, reduce_all, run_all};
use crate::profile::{Lap, PassTime, StepProfile};
use crate::{Element, GroupScalars, ParamGroup, ParamState, Rule, SimdLevel};

/// What a step does at each point of the sequence; the driver decides the order.
pub(crate) trait PassPlan {
    /// Reduction pass `pass` over every tensor whose current flags need it.
    fn reduce(&mut self, pass: usize);
    /// Stage `stage` of the scalar program and the row/column code, with the reductions so far.
    fn restage(&mut self, stage: usize);
    /// The update pass.
    fn update(&mut self);
    /// Elements of the tensors that need reduction pass `pass` (for a profile).
    fn elements_in_pass(&self, pass: usize) -> usize;
}

/// Runs a step's passes after stage 0 in the one order every caller shares, timing each into
/// `profile` when given.
pub(crate) fn run_passes<R: Rule>(plan: &mut impl PassPlan, mut profile: Option<&mut StepProfile>) {
    let mut lap = Lap::new(profile.is_some());
    for pass in 1..R::PASSES {
        let elements = if profile.is_some() { plan.elements_in_pass(pass) } else { 0 };
        lap.split();
        plan.reduce(pass);
        let time = lap.split();
        plan.restage(pass);
        let staged = lap.split();
        if let Some(profile) = profile.as_deref_mut() {
            profile.reduction_passes.push(PassTime { pass, elements, time });
            profile.stages += staged;
        }
    }
    plan.update();
    if let Some(profile) = profile {
        profile.update = lap.split();
    }
}

/// One tensor's scalar program at `stage` in its group (reading the group's values, writing
/// their new ones into `next`), its gradient scale set and its row/column code run.
pub(crate) fn stage_prep<R: Rule, T: Element>(
    group: &ParamGroup<R, T>,
    state: &mut ParamState<T>,
    next: &mut [f64],
    results: &[f64],
    stage: usize,
    grad_scale: f64,
) -> R::Prep {
    let values = GroupScalars { current: &group.values, next };
    let (step, shape) = (state.step, &state.shape);
    let mut prep = R::prepare_in_group(&group.hyper, step, &mut state.scalars, values, shape, results, stage);
    R::scale_grad(&mut prep, grad_scale);
    state.factored_stage::<R>(&prep, stage);
    prep
}

/// One tensor's step on slices the caller owns, on the calling thread ([`Rule::step_slices`]).
pub(crate) struct SlicePlan<'a, 's, R: Rule, T> {
    pub level: SimdLevel,
    pub hyper: &'a R::Hyper,
    pub step: u64,
    pub scalar_state: &'a mut [f64],
    pub shape: &'a [usize],
    pub param: &'a mut [T],
    pub grad: &'a [T],
    pub state: &'a mut [&'s mut [T]],
    pub prep: R::Prep,
    pub reductions: &'a mut [f64],
    pub temps: Vec<f64>,
    pub temps_elem: Vec<T>,
    pub accumulators: Vec<f64>,
}

impl<'a, 's, R: Rule, T: Element> SlicePlan<'a, 's, R, T> {
    /// Stage 0 done: the plan is ready for [`run_passes`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        level: SimdLevel,
        hyper: &'a R::Hyper,
        step: u64,
        scalar_state: &'a mut [f64],
        shape: &'a [usize],
        param: &'a mut [T],
        grad: &'a [T],
        state: &'a mut [&'s mut [T]],
        reductions: &'a mut [f64],
    ) -> Self {
        let prep = R::prepare_stage(hyper, step, scalar_state, shape, reductions, 0);
        let temps = vec![0.0f64; R::TEMPORARIES.len(shape)];
        let temps_elem = vec![T::ZERO; R::TEMPORARIES.len(shape)];
        // allocated by the first pass that accumulates row or column sums
        let accumulators = Vec::new();
        let mut plan = SlicePlan {
            level,
            hyper,
            step,
            scalar_state,
            shape,
            param,
            grad,
            state,
            prep,
            reductions,
            temps,
            temps_elem,
            accumulators,
        };
        plan.factored_stage(0);
        plan
    }

    fn factored_stage(&mut self, stage: usize) {
        let (slices, rows, cols) = crate::matrix_dims(self.shape);
        let factors = FactorsMut { slices, rows, cols, temps: &mut self.temps, accumulators: &self.accumulators };
        if R::factored_stage(&self.prep, stage, self.state, factors) {
            crate::state::round_temps(&self.temps, &mut self.temps_elem);
        }
    }
}

impl<R: Rule, T: Element> PassPlan for SlicePlan<'_, '_, R, T> {
    fn reduce(&mut self, pass: usize) {
        if R::pass_needed(&self.prep, pass) {
            let needed = R::factor_sums_needed(&self.prep, pass);
            let accumulators = crate::parallel::sum_buffers::<R>(&mut self.accumulators, self.shape, needed);
            let whole = Factors { temps: &self.temps_elem, ..Factors::whole(self.shape) };
            crate::reduce::reduce_tensor::<R, T>(
                self.level,
                pass,
                &self.prep,
                whole,
                accumulators,
                self.param,
                self.grad,
                self.state,
                &[],
                self.reductions,
                false,
            );
        }
        // the tensor alone is its group
        let alone = [Work { group: 0, index: 0, prep: self.prep, len: self.param.len() }];
        fold_group_reductions::<R>(&alone, self.reductions, pass);
    }

    fn restage(&mut self, stage: usize) {
        self.prep = R::prepare_stage(self.hyper, self.step, self.scalar_state, self.shape, self.reductions, stage);
        self.factored_stage(stage);
    }

    fn update(&mut self) {
        let taken = take_factored(R::STATES, self.state);
        let factors = Factors { temps: &self.temps_elem, states: views(&taken), ..Factors::whole(self.shape) };
        R::apply_factored(self.level, &self.prep, &factors, self.param, self.grad, self.state);
        crate::factored::put_back(self.state, taken);
    }

    fn elements_in_pass(&self, pass: usize) -> usize {
        if R::pass_needed(&self.prep, pass) { self.param.len() } else { 0 }
    }
}

/// Every tensor of an optimizer's step, in one work list ([`crate::Optimizer::step`]).
pub(crate) struct WorkPlan<'a, R: Rule, T> {
    pub groups: &'a [ParamGroup<R, T>],
    pub states: &'a mut [Vec<Option<ParamState<T>>>],
    pub work: &'a mut [Work<R::Prep>],
    /// `R::REDUCTIONS.len()` results per work item (at least one slot each).
    pub reductions: &'a mut [f64],
    /// The group values the prologues compute, `R::GROUP_STATES.len()` per group.
    pub group_next: &'a mut [f64],
    /// The factor the kernels multiply gradients by (clipping fused into the step; else 1).
    pub grad_scale: f64,
}

impl<R: Rule, T: Element> PassPlan for WorkPlan<'_, R, T> {
    fn reduce(&mut self, pass: usize) {
        reduce_all::<R, T>(self.groups, self.states, self.work, pass, self.reductions);
        fold_group_reductions::<R>(self.work, self.reductions, pass);
    }

    fn restage(&mut self, stage: usize) {
        let width = R::REDUCTIONS.len().max(1);
        for (item, results) in self.work.iter_mut().zip(self.reductions.chunks(width)) {
            let group = &self.groups[item.group];
            if let Some(Some(state)) = self.states[item.group].get_mut(item.index) {
                let next = next_values::<R>(self.group_next, item.group);
                item.prep = stage_prep(group, state, next, results, stage, self.grad_scale);
            }
        }
    }

    fn update(&mut self) {
        run_all::<R, T>(self.groups, self.states, self.work);
    }

    fn elements_in_pass(&self, pass: usize) -> usize {
        self.work.iter().filter(|item| R::pass_needed(&item.prep, pass)).map(|item| item.len).sum()
    }
}
