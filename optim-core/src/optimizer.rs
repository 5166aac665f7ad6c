//! The generic PyTorch-style optimizer that turns any [`Rule`] into `torch.optim.*`.

use crate::group_values::{advance_idle_groups, check_groups_agree, commit_group_values, next_values};
use crate::hooks::Hooks;
use crate::parallel::Work;
use crate::passes::{WorkPlan, run_passes, stage_prep};
use crate::profile::{Lap, StepProfile};
use crate::staging::Staging;
use crate::{Element, GradClip, Group, HyperSet, OptimError, Param, ParamGroup, ParamState, Rule};

/// An optimizer: param groups with their own hyperparameters, lazily created per-parameter
/// state, `zero_grad`, `step` and `add_param_group`, for any rule `R` and element type `T`.
///
/// ```
/// use optim_core::{builtins::Adam, Optimizer, Param};
/// let w = Param::new(ndarray::arr1(&[1.0f32, -1.0]).into_dyn());
/// let mut opt = Optimizer::<Adam, f32>::new(vec![w.clone()], Adam::hyper().lr(0.1)).unwrap();
/// for _ in 0..3 {
///     opt.zero_grad();
///     let g = w.value().mapv(|x| 2.0 * x); // gradient of x²
///     w.set_grad(g);
///     opt.step().unwrap();
/// }
/// assert!(w.value()[0] < 1.0 && w.value()[1] > -1.0);
/// ```
#[derive(Debug, Clone)]
pub struct Optimizer<R: Rule, T: Element = f32> {
    pub(crate) defaults: R::Hyper,
    pub(crate) groups: Vec<ParamGroup<R, T>>,
    /// `states[g][i]` belongs to parameter `i` of group `g`; `None` until its first step.
    pub(crate) states: Vec<Vec<Option<ParamState<T>>>>,
    pub(crate) steps_taken: u64,
    /// The current step's work list, kept so steps after the first do not allocate.
    work: Vec<Work<R::Prep>>,
    /// Reduction results of the current step, `R::REDUCTIONS.len()` per work item.
    reductions: Vec<f64>,
    /// The group values the current step computes, `R::GROUP_STATES.len()` per group.
    group_next: Vec<f64>,
    /// Clipping by the global gradient norm, fused into the step.
    pub(crate) clip: Option<GradClip>,
    /// The gradient norm the last step measured for clipping.
    pub(crate) last_grad_norm: Option<f64>,
    /// The per-parameter gradient norms of the current step (kept to avoid allocating).
    pub(crate) norms: Vec<f64>,
    pub(crate) hooks: Hooks<R, T>,
    /// Where parameters' data sits during a step, so the step sees one consistent view.
    staging: Staging<T>,
    /// The matrix program's buffers (rules with matrices), sized by the first step.
    matrix_scratch: crate::matrix::MatrixScratch<T>,
    /// How the states of groups added later are stored ([`Optimizer::set_state_formats`]).
    pub(crate) default_formats: crate::StateFormats,
}

impl<R: Rule, T: Element> Optimizer<R, T> {
    /// An optimizer over one group of `params` with hyperparameters `defaults`.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::<f64>::zeros(vec![3]));
    /// let opt = Optimizer::<Sgd, f64>::new(vec![p], Sgd::hyper().lr(0.1).momentum(0.9)).unwrap();
    /// assert_eq!(opt.defaults().momentum, 0.9);
    /// ```
    pub fn new(params: Vec<Param<T>>, defaults: R::Hyper) -> Result<Self, OptimError> {
        Self::with_groups(vec![Group::new(params)], defaults)
    }

    /// An optimizer over several groups, each overriding some of `defaults`.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Group, OptimError, Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::<f32>::zeros(vec![3]));
    /// let twice = vec![Group::new(vec![p.clone()]), Group::new(vec![p])];
    /// let err = Optimizer::<Sgd, f32>::with_groups(twice, Sgd::hyper()).unwrap_err();
    /// assert!(matches!(err, OptimError::DuplicateParam { group: 1, index: 0 }));
    /// let none = Optimizer::<Sgd, f32>::with_groups(vec![], Sgd::hyper()).unwrap_err();
    /// assert_eq!(none, OptimError::EmptyGroup);
    /// ```
    pub fn with_groups(groups: Vec<Group<T>>, defaults: R::Hyper) -> Result<Self, OptimError> {
        defaults.validate()?;
        // PyTorch refuses an optimizer with no parameter at all, with or without groups
        if groups.is_empty() {
            return Err(OptimError::EmptyGroup);
        }
        let mut optimizer = Optimizer {
            defaults,
            groups: Vec::new(),
            states: Vec::new(),
            steps_taken: 0,
            work: Vec::new(),
            reductions: Vec::new(),
            group_next: Vec::new(),
            clip: None,
            last_grad_norm: None,
            norms: Vec::new(),
            hooks: Hooks::default(),
            staging: Staging::default(),
            matrix_scratch: crate::matrix::MatrixScratch::new(),
            default_formats: crate::StateFormats::default(),
        };
        for group in groups {
            optimizer.add_param_group(group)?;
        }
        Ok(optimizer)
    }

    /// Adds a group (PyTorch's `add_param_group`): missing hyperparameters come from the
    /// defaults; a parameter that is already optimized is an error and nothing is added.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Group, Optimizer, Param};
    /// let a = Param::new(ndarray::ArrayD::<f32>::zeros(vec![2]));
    /// let b = Param::new(ndarray::ArrayD::<f32>::zeros(vec![2]));
    /// let mut opt = Optimizer::<Adam, f32>::new(vec![a.clone()], Adam::hyper()).unwrap();
    /// opt.add_param_group(Group::new(vec![b]).with("lr", 0.2)).unwrap();
    /// assert_eq!(opt.param_groups()[1].hyper.lr, 0.2);
    /// assert!(opt.add_param_group(Group::new(vec![a])).is_err());
    /// assert_eq!(opt.param_groups().len(), 2);
    /// ```
    pub fn add_param_group(&mut self, group: Group<T>) -> Result<(), OptimError> {
        let hyper = group.resolve::<R>(&self.defaults)?;
        let group_index = self.groups.len();
        crate::matrix_step::check_ranks::<R, T>(group_index, &group.params)?;
        for (index, param) in group.params.iter().enumerate() {
            let earlier_in_group = group.params[..index].iter();
            let in_other_groups = self.groups.iter().flat_map(|g| g.params.iter());
            if earlier_in_group.chain(in_other_groups).any(|p| p.same_as(param)) {
                return Err(OptimError::DuplicateParam { group: group_index, index });
            }
        }
        let formats = group.formats.unwrap_or_else(|| self.default_formats.clone());
        crate::state_formats::check_names::<R>(&formats)?;
        self.states.push(vec![None; group.params.len()]);
        let mut added = ParamGroup::new(hyper, group.params);
        added.formats = formats;
        if R::ACROSS_GROUPS
            && let Some(first) = self.groups.first()
        {
            // one set of values for the whole model: a new group joins the current estimate
            added.values.clone_from(&first.values);
        }
        self.groups.push(added);
        Ok(())
    }

    /// The hyperparameters new groups start from (PyTorch's `defaults`).
    pub fn defaults(&self) -> &R::Hyper {
        &self.defaults
    }

    /// The param groups.
    pub fn param_groups(&self) -> &[ParamGroup<R, T>] {
        &self.groups
    }

    /// The param groups, for changing hyperparameters between steps; they are validated again
    /// at the next [`Optimizer::step`].
    pub fn param_groups_mut(&mut self) -> &mut [ParamGroup<R, T>] {
        &mut self.groups
    }

    /// The state of parameter `index` of group `group`, `None` before its first step.
    pub fn state(&self, group: usize, index: usize) -> Option<&ParamState<T>> {
        self.states.get(group)?.get(index)?.as_ref()
    }

    /// How many times [`Optimizer::step`] has succeeded.
    pub fn steps_taken(&self) -> u64 {
        self.steps_taken
    }

    /// Clears every gradient to absent, as PyTorch's default `zero_grad(set_to_none=True)`.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::<f32>::zeros(vec![2]));
    /// p.set_grad(ndarray::ArrayD::ones(vec![2]));
    /// let opt = Optimizer::<Sgd, f32>::new(vec![p.clone()], Sgd::hyper()).unwrap();
    /// opt.zero_grad();
    /// assert!(p.lock().grad.is_none());
    /// ```
    pub fn zero_grad(&self) {
        self.zero_grad_with(true);
    }

    /// `zero_grad(set_to_none)`: with `false`, gradients are filled with zeros instead.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::<f32>::zeros(vec![2]));
    /// p.set_grad(ndarray::ArrayD::ones(vec![2]));
    /// let opt = Optimizer::<Sgd, f32>::new(vec![p.clone()], Sgd::hyper()).unwrap();
    /// opt.zero_grad_with(false);
    /// assert_eq!(p.lock().grad.as_ref().unwrap().sum(), 0.0);
    /// ```
    pub fn zero_grad_with(&self, set_to_none: bool) {
        for param in self.groups.iter().flat_map(|g| &g.params) {
            let mut data = param.lock();
            data.sparse_grad = None;
            match (&mut data.grad, set_to_none) {
                (grad @ Some(_), true) => *grad = None,
                (Some(grad), false) => grad.fill(T::ZERO),
                (None, _) => {}
            }
        }
    }

    /// One optimization step over every parameter that has a gradient.
    ///
    /// Validates everything first (hyperparameters of every group, every gradient's shape, every
    /// parameter's shape against its state); on error nothing has changed. Each parameter is
    /// checked under the lock that holds it for the whole step, so another thread changing a
    /// gradient meanwhile cannot make the step update what was not checked: its
    /// [`Param::lock`] waits until the step is done.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, OptimError, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
    /// let mut opt = Optimizer::<Sgd, f32>::new(vec![p.clone()], Sgd::hyper().lr(0.5)).unwrap();
    /// p.set_grad(ndarray::arr1(&[1.0f32]).into_dyn());
    /// assert!(matches!(opt.step(), Err(OptimError::GradShape { .. })));
    /// assert_eq!(p.value(), ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
    /// p.set_grad(ndarray::arr1(&[1.0f32, 1.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert_eq!(p.value(), ndarray::arr1(&[0.5f32, 1.5]).into_dyn());
    /// ```
    pub fn step(&mut self) -> Result<(), OptimError> {
        self.step_with(None)
    }

    /// [`step`](Self::step), timing its parts into `profile` when given (else no clock is read).
    pub(crate) fn step_with(&mut self, mut profile: Option<&mut StepProfile>) -> Result<(), OptimError> {
        let mut lap = Lap::new(profile.is_some());
        self.run_hooks(false);
        for (index, group) in self.groups.iter().enumerate() {
            group.hyper.validate()?;
            if group.eval_mode {
                return Err(OptimError::EvalMode { optimizer: R::NAME, group: index });
            }
        }
        check_groups_agree::<R, T>(&self.groups)?;
        // each parameter is checked under the lock that takes it for the whole step
        let states = &self.states;
        self.staging.take(&mut self.groups, |g, i, data| check_param::<R, T>(states, g, i, data))?;
        let checked = lap.split();
        let (grad_scale, grad_norm) = match self.clip.map(|clip| self.clip_scale(clip)) {
            None => (1.0, None),
            Some(Ok((scale, norm))) => (scale, Some(norm)),
            Some(Err(error)) => {
                self.staging.give_back(&mut self.groups);
                return Err(error);
            }
        };
        let clip_norm = lap.split();
        // Everything below is infallible: state creation, step counts and the scalar prologues
        // (once per tensor, in order), then every pass in one parallel region each. Should it
        // panic all the same, the parameters are given back first: held ones would block every lock.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.group_next.clear();
            self.group_next.resize(self.groups.len() * R::GROUP_STATES.len(), 0.0);
            self.prepare_work(grad_scale);
            let prepared = lap.split();
            if let Some(profile) = profile.as_deref_mut() {
                profile.prepare = checked + prepared;
                profile.clip_norm = self.clip.map(|_| clip_norm);
                profile.tensors = self.work.len();
                profile.elements = self.work.iter().map(|w| w.len).sum();
            }
            self.reductions.clear();
            if R::PASSES > 1 {
                // a rule with only row/column sums has no per-tensor results but still runs its passes
                self.reductions.resize(self.work.len() * R::REDUCTIONS.len().max(1), 0.0);
            }
            let mut plan = WorkPlan {
                groups: &self.groups,
                states: &mut self.states,
                work: &mut self.work,
                reductions: &mut self.reductions,
                group_next: &mut self.group_next,
                grad_scale,
            };
            if R::MATRIX.is_used() {
                let WorkPlan { groups, states, work, group_next, .. } = plan;
                let scratch = &mut self.matrix_scratch;
                crate::matrix_step::run_matrix_work::<R, T>(groups, states, work, group_next, grad_scale, scratch);
                if let Some(profile) = profile.as_deref_mut() {
                    profile.update = lap.split();
                }
            } else {
                run_passes::<R>(&mut plan, profile.as_deref_mut());
            }
            advance_idle_groups(&self.groups, &mut self.group_next, &self.work);
            commit_group_values(&mut self.groups, &self.group_next, &self.work);
        }));
        self.staging.give_back(&mut self.groups);
        if let Err(panic) = ran {
            std::panic::resume_unwind(panic);
        }
        self.steps_taken += 1;
        self.last_grad_norm = grad_norm;
        self.run_hooks(true);
        if let Some(profile) = profile {
            profile.total = lap.started().elapsed();
        }
        Ok(())
    }

    /// The step's work list: every parameter with a gradient, its state created or completed,
    /// its step count advanced and its scalar program run at stage 0.
    fn prepare_work(&mut self, grad_scale: f64) {
        self.work.clear();
        for (group_index, (group, states)) in self.groups.iter().zip(&mut self.states).enumerate() {
            for (index, (param, slot)) in group.params.iter().zip(states.iter_mut()).enumerate() {
                let data = param.lock();
                if data.grad.is_none() && data.sparse_grad.is_none() {
                    continue;
                }
                let formats = &group.formats;
                let state = slot.get_or_insert_with(|| ParamState::new::<R>(&data.value, &group.hyper, formats));
                state.allocate_present::<R>(&group.hyper, &data.value, formats);
                state.step += 1;
                let next = next_values::<R>(&mut self.group_next, group_index);
                let prep = stage_prep(group, state, next, &[], 0, grad_scale);
                self.work.push(Work { group: group_index, index, prep, len: data.value.len() });
            }
        }
    }
}

/// Checks one parameter before a step: its gradient fits it, and so does its state, if any.
fn check_param<R: Rule, T: Element>(
    states: &[Vec<Option<ParamState<T>>>],
    group: usize,
    index: usize,
    data: &crate::ParamData<T>,
) -> Result<(), OptimError> {
    let stepped = data.grad.is_some() || data.sparse_grad.is_some();
    if let Some(Some(state)) = states.get(group).and_then(|g| g.get(index))
        && stepped
        && state.shape != data.value.shape()
    {
        // a parameter reshaped after its state was created: the state no longer fits it (one
        // without a gradient is skipped by this step, so its state is not touched)
        let (state, param) = (state.shape.clone(), data.value.shape().to_vec());
        return Err(OptimError::ParamShape { group, index, state, param });
    }
    if stepped && let Some(error) = crate::matrix_step::rank_error::<R>(group, index, data.value.shape()) {
        // a parameter replaced by one of another rank since the group was added
        return Err(error);
    }
    if let Some(grad) = &data.grad
        && grad.shape() != data.value.shape()
    {
        let (param, grad) = (data.value.shape().to_vec(), grad.shape().to_vec());
        return Err(OptimError::GradShape { group, index, param, grad });
    }
    if let Some(sparse) = &data.sparse_grad {
        if !R::SPARSE {
            return Err(OptimError::SparseUnsupported { optimizer: R::NAME, group, index });
        }
        sparse.check_fits(data.value.shape())?;
    }
    Ok(())
}
