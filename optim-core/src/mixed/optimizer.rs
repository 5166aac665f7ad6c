//! [`Bf16Optimizer`]: any element-wise rule over bfloat16 parameters, computed in `f32`.

use half::bf16;

use super::groups::Bf16Group;
use super::{Bf16Rounding, TensorRounding};
use crate::factored::Factors;
use crate::lowbit::{PackedMut, PackedState, tiles};
use crate::profile::{Lap, StepProfile};
use crate::{Group, HyperSet, MAX_STATES, OptimError, Param, ParamData, ParamState, Rule, SimdLevel, StateFormats};

/// An optimizer over parameters stored in bfloat16, whose math runs in `f32`: each step widens
/// a tile of 256 elements of the parameter and its gradient, runs the rule's own kernel on it
/// (the rule's state in `f32`, or in the [`StateFormat`](crate::StateFormat) chosen with
/// [`Bf16Optimizer::set_state_formats`]) and rounds the parameter back by [`Bf16Rounding`], in
/// one pass over memory, threaded over tiles.
///
/// This is what `torch.optim.AdamW(..., fused=True)` computes on bfloat16 parameters (its state
/// then in bfloat16: [`StateFormat::BFloat16`](crate::StateFormat::BFloat16)), and torchao's
/// low-bit optimizers with `bf16_stochastic_round=True` (with [`Bf16Rounding::Stochastic`]).
/// Stochastic rounding draws its bits from (seed, step, tensor, element), so a step gives the
/// same bits on any number of threads.
///
/// Rules whose step is one element-wise pass qualify (every built-in but SparseAdam's row-sparse
/// mode, and the zoo's element-wise rules); rules with reduction passes, factored or group state,
/// matrix programs or two points are refused with [`OptimError::Bf16Unsupported`]: keep float32
/// master weights for those ([module docs](crate::mixed)). Param groups
/// ([`Bf16Optimizer::with_groups`]), checkpoints ([`Bf16Optimizer::save`]: an
/// [`Optimizer`](crate::Optimizer)'s file, loadable into either) and every learning-rate
/// scheduler work as for `Optimizer`.
///
/// ```
/// use half::bf16;
/// use optim_core::{builtins::AdamW, Bf16Optimizer, Bf16Rounding, Param};
///
/// let w = Param::new(ndarray::ArrayD::from_elem(vec![1024], bf16::from_f32(1.0)));
/// let mut opt = Bf16Optimizer::<AdamW>::new(vec![w.clone()], AdamW::hyper().lr(1e-3).weight_decay(0.0))
///     .unwrap()
///     .with_rounding(Bf16Rounding::Stochastic { seed: 0 });
/// w.set_grad(ndarray::ArrayD::from_elem(vec![1024], bf16::from_f32(0.5)));
/// opt.step().unwrap();
/// // Adam's first step moves every element by lr = 1e-3, a quarter of a bfloat16 step near 1:
/// // rounding to nearest would keep 1.0; stochastic rounding moves about a quarter of them
/// let moved = w.value().iter().filter(|&&x| x < bf16::from_f32(1.0)).count();
/// assert!((150..370).contains(&moved), "{moved}");
/// assert_eq!(opt.state(0).unwrap().step(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Bf16Optimizer<R: Rule> {
    /// Every group's parameters, in group order (numbered across groups, as PyTorch numbers them).
    pub(super) params: Vec<Param<bf16>>,
    /// The param groups: hyperparameters, state formats and sizes.
    pub(super) groups: Vec<Bf16Group<R>>,
    /// `at[i]` is parameter `i`'s group and its position there.
    pub(super) at: Vec<(usize, usize)>,
    /// The hyperparameters the groups were built from (a checkpoint's missing optional ones).
    pub(super) defaults: R::Hyper,
    rounding: Bf16Rounding,
    /// `states[i]` belongs to parameter `i`; `None` until its first step.
    pub(super) states: Vec<Option<ParamState<f32>>>,
    /// Where each parameter's data sits during a step (so nobody sees it half updated).
    stand_ins: Vec<Param<bf16>>,
    /// `(address, index)` of every parameter, by address: the order a step takes them in.
    order: Vec<(usize, usize)>,
    /// Scalar states the checks run the scalar program on (kept so steps do not allocate).
    pub(super) scratch: Vec<f64>,
    /// Successful [`Bf16Optimizer::step`] calls (saved in checkpoints, as `Optimizer`'s).
    pub(super) steps_taken: u64,
}

impl<R: Rule> Bf16Optimizer<R> {
    /// An optimizer over `params` with hyperparameters `hyper`, rounding to nearest even and
    /// keeping state in `f32`.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, OptimError, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![3], half::bf16::ONE));
    /// assert!(Bf16Optimizer::<Sgd>::new(vec![p.clone()], Sgd::hyper().lr(0.1)).is_ok());
    /// let twice = Bf16Optimizer::<Sgd>::new(vec![p.clone(), p], Sgd::hyper());
    /// assert!(matches!(twice, Err(OptimError::DuplicateParam { group: 0, index: 1 })));
    /// ```
    pub fn new(params: Vec<Param<bf16>>, hyper: R::Hyper) -> Result<Self, OptimError> {
        Self::with_groups(vec![Group::new(params)], hyper)
    }

    /// An optimizer over param groups, each overriding some of `defaults` (PyTorch's
    /// `[{"params": ..., "weight_decay": 0.0}, ...]`), rounding to nearest even; a group's
    /// states are kept in `f32` unless it has formats of its own
    /// ([`Group::with_state_formats`]) or [`Bf16Optimizer::set_state_formats`] sets them.
    ///
    /// ```
    /// use half::bf16;
    /// use optim_core::{builtins::AdamW, Bf16Optimizer, Group, OptimError, Param};
    /// let weight = Param::new(ndarray::ArrayD::from_elem(vec![4, 4], bf16::ONE));
    /// let bias = Param::new(ndarray::ArrayD::from_elem(vec![4], bf16::ONE));
    /// let groups = vec![Group::new(vec![weight]), Group::new(vec![bias.clone()]).with("weight_decay", 0.0)];
    /// let opt = Bf16Optimizer::<AdamW>::with_groups(groups, AdamW::hyper().weight_decay(0.1)).unwrap();
    /// assert_eq!(opt.hyper_of(1).unwrap().weight_decay, 0.0);
    /// let twice = vec![Group::new(vec![bias.clone()]), Group::new(vec![bias])];
    /// let err = Bf16Optimizer::<AdamW>::with_groups(twice, AdamW::hyper()).unwrap_err();
    /// assert!(matches!(err, OptimError::DuplicateParam { group: 1, index: 0 }));
    /// ```
    pub fn with_groups(groups: Vec<Group<bf16>>, defaults: R::Hyper) -> Result<Self, OptimError> {
        super::supported::check::<R>()?;
        defaults.validate()?;
        let mut scratch = Vec::with_capacity(R::SCALAR_STATES.len());
        if groups.is_empty() {
            return Err(OptimError::EmptyGroup);
        }
        let mut built = Vec::with_capacity(groups.len());
        let (mut params, mut at) = (Vec::new(), Vec::new());
        for (g, group) in groups.into_iter().enumerate() {
            let hyper = group.resolve::<R>(&defaults)?;
            check_passes::<R>(&hyper, None, &[1], &mut scratch)?;
            if let Some(formats) = &group.formats {
                crate::state_formats::check_names::<R>(formats)?;
            }
            let own_formats = group.formats.is_some();
            let formats = group.formats.unwrap_or_default();
            built.push(Bf16Group { hyper, formats, own_formats, len: group.params.len() });
            at.extend((0..group.params.len()).map(|i| (g, i)));
            params.extend(group.params);
        }
        let mut order: Vec<(usize, usize)> = params.iter().enumerate().map(|(i, p)| (p.address(), i)).collect();
        order.sort_unstable();
        if let Some(pair) = order.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            let (group, index) = at[pair[0].1.max(pair[1].1)];
            return Err(OptimError::DuplicateParam { group, index });
        }
        let empty = || Param::new(ndarray::ArrayD::from_shape_vec(vec![0], Vec::new()).unwrap_or_default());
        Ok(Bf16Optimizer {
            stand_ins: params.iter().map(|_| empty()).collect(),
            states: vec![None; params.len()],
            params,
            groups: built,
            at,
            defaults,
            rounding: Bf16Rounding::NearestEven,
            order,
            scratch,
            steps_taken: 0,
        })
    }

    /// The same optimizer, rounding parameters back by `rounding`.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, Bf16Rounding, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![3], half::bf16::ONE));
    /// let opt = Bf16Optimizer::<Sgd>::new(vec![p], Sgd::hyper()).unwrap();
    /// let opt = opt.with_rounding(Bf16Rounding::Stochastic { seed: 42 });
    /// assert_eq!(opt.rounding(), Bf16Rounding::Stochastic { seed: 42 });
    /// ```
    pub fn with_rounding(mut self, rounding: Bf16Rounding) -> Self {
        self.rounding = rounding;
        self
    }

    /// How parameters are rounded back after each step.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, Bf16Rounding, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![3], half::bf16::ONE));
    /// let opt = Bf16Optimizer::<Sgd>::new(vec![p], Sgd::hyper()).unwrap();
    /// assert_eq!(opt.rounding(), Bf16Rounding::NearestEven);
    /// ```
    pub fn rounding(&self) -> Bf16Rounding {
        self.rounding
    }

    /// Stores the rule's states as `formats` says (existing states are converted), in every
    /// group but those built with formats of their own.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Bf16Optimizer, Param, StateFormat, StateFormats};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![4096], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<Adam>::new(vec![p.clone()], Adam::hyper()).unwrap();
    /// opt.set_state_formats(StateFormats::all(StateFormat::Int8)).unwrap();
    /// p.set_grad(ndarray::ArrayD::from_elem(vec![4096], half::bf16::ONE));
    /// opt.step().unwrap();
    /// assert_eq!(opt.state(0).unwrap().format("exp_avg"), Some(StateFormat::Int8));
    /// ```
    pub fn set_state_formats(&mut self, formats: StateFormats) -> Result<(), OptimError> {
        crate::state_formats::check_names::<R>(&formats)?;
        for group in self.groups.iter_mut().filter(|group| !group.own_formats) {
            group.formats = formats.clone();
        }
        for (state, &(g, _)) in self.states.iter_mut().zip(&self.at) {
            if let Some(state) = state {
                state.convert::<R>(&self.groups[g].formats);
            }
        }
        Ok(())
    }

    /// The hyperparameters (of the first param group; [`Bf16Optimizer::hyper_of`] reads any).
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![3], half::bf16::ONE));
    /// let opt = Bf16Optimizer::<Sgd>::new(vec![p], Sgd::hyper().lr(0.5)).unwrap();
    /// assert_eq!(opt.hyper().lr, 0.5);
    /// ```
    pub fn hyper(&self) -> &R::Hyper {
        &self.groups[0].hyper
    }

    /// Replaces the hyperparameters of every param group (a scheduler sets them group by group,
    /// through [`LrTarget`](crate::lr_scheduler::LrTarget)); they are validated first, and
    /// nothing changes if they are invalid.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![3], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<Sgd>::new(vec![p], Sgd::hyper().lr(0.5)).unwrap();
    /// opt.set_hyper(Sgd::hyper().lr(0.25)).unwrap();
    /// assert!(opt.set_hyper(Sgd::hyper().lr(-1.0)).is_err());
    /// assert_eq!(opt.hyper().lr, 0.25);
    /// ```
    pub fn set_hyper(&mut self, hyper: R::Hyper) -> Result<(), OptimError> {
        hyper.validate()?;
        check_passes::<R>(&hyper, None, &[1], &mut self.scratch)?;
        for group in &mut self.groups {
            group.hyper = hyper.clone();
        }
        Ok(())
    }

    /// The parameters, group after group, in the order given.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![3], half::bf16::ONE));
    /// let opt = Bf16Optimizer::<Sgd>::new(vec![p.clone()], Sgd::hyper()).unwrap();
    /// assert!(opt.params()[0].same_as(&p));
    /// ```
    pub fn params(&self) -> &[Param<bf16>] {
        &self.params
    }

    /// Parameter `index`'s state (numbered across groups): `None` before its first step (or out
    /// of range).
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Bf16Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<Adam>::new(vec![p.clone()], Adam::hyper()).unwrap();
    /// assert!(opt.state(0).is_none());
    /// p.set_grad(ndarray::ArrayD::from_elem(vec![2], half::bf16::from_f32(0.5)));
    /// opt.step().unwrap();
    /// assert_eq!(opt.state(0).unwrap().tensor("exp_avg").unwrap()[[0]], 0.05);
    /// ```
    pub fn state(&self, index: usize) -> Option<&ParamState<f32>> {
        self.states.get(index)?.as_ref()
    }

    /// Clears every gradient (PyTorch's `zero_grad(set_to_none=True)`).
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let opt = Bf16Optimizer::<Sgd>::new(vec![p.clone()], Sgd::hyper()).unwrap();
    /// p.set_grad(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// opt.zero_grad();
    /// assert!(p.lock().grad.is_none());
    /// ```
    pub fn zero_grad(&self) {
        for param in &self.params {
            param.lock().grad = None;
        }
    }

    /// One step over every parameter with a gradient (the others are skipped, as in PyTorch).
    /// Every parameter is checked first (gradient shape, a state that still fits, no row-sparse
    /// gradient): on an error nothing has changed.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, OptimError, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<Sgd>::new(vec![p.clone()], Sgd::hyper().lr(0.5)).unwrap();
    /// p.set_grad(ndarray::ArrayD::from_elem(vec![3], half::bf16::ONE));
    /// assert!(matches!(opt.step(), Err(OptimError::GradShape { .. })));
    /// p.set_grad(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// opt.step().unwrap();
    /// assert_eq!(p.value()[0], half::bf16::from_f32(0.5));
    /// ```
    pub fn step(&mut self) -> Result<(), OptimError> {
        self.step_with(None)
    }

    /// [`step`](Self::step), returning where its time went: the checks (`prepare`), the update
    /// pass (with the states' creation on a first step) and the whole, with the tensors and
    /// elements stepped. The same step as `step`, bit for bit; an element-wise rule has no
    /// reduction pass, so `reduction_passes` is empty and `clip_norm` is `None`.
    ///
    /// ```
    /// use optim_core::{builtins::AdamW, Bf16Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![1000], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<AdamW>::new(vec![p.clone()], AdamW::hyper()).unwrap();
    /// p.set_grad(ndarray::ArrayD::from_elem(vec![1000], half::bf16::ONE));
    /// let profile = opt.step_profiled().unwrap();
    /// assert_eq!((profile.tensors, profile.elements), (1, 1000));
    /// assert!(profile.update <= profile.total && profile.reduction_passes.is_empty());
    /// // bytes moved: bf16 param read and written, bf16 grad, two f32 states read and written
    /// let gb_per_s = profile.gb_per_s(profile.update, 2.0 * 2.0 + 2.0 + 2.0 * 8.0);
    /// assert!(gb_per_s > 0.0);
    /// ```
    ///
    /// # Errors
    /// As [`step`](Self::step), leaving everything unchanged.
    pub fn step_profiled(&mut self) -> Result<StepProfile, OptimError> {
        let mut profile = StepProfile::default();
        self.step_with(Some(&mut profile))?;
        Ok(profile)
    }

    fn step_with(&mut self, profile: Option<&mut StepProfile>) -> Result<(), OptimError> {
        let mut lap = Lap::new(profile.is_some());
        // a scheduler may have set a value out of range (OneCycleLR past its end)
        for group in &self.groups {
            group.hyper.validate()?;
        }
        let (states, groups, at, scratch) = (&self.states, &self.groups, &self.at, &mut self.scratch);
        let hyper_of = |index: usize| &groups[at[index].0].hyper;
        for (taken, &(_, index)) in self.order.iter().enumerate() {
            let check =
                |data: &ParamData<bf16>| check_param::<R>(states, hyper_of(index), scratch, index, at[index], data);
            let Err(error) = self.params[index].take_for_step(&self.stand_ins[index], check) else { continue };
            for &(_, i) in &self.order[..taken] {
                self.params[i].give_back(&self.stand_ins[i]);
            }
            // the first bad parameter in index order, not in address order
            for (i, param) in self.params.iter().enumerate() {
                check_param::<R>(states, hyper_of(i), scratch, i, at[i], &param.lock())?;
            }
            return Err(error);
        }
        let prepare = lap.split();
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.update()));
        let update = lap.split();
        for &(_, i) in &self.order {
            self.params[i].give_back(&self.stand_ins[i]);
        }
        let (tensors, elements) = match ran {
            Ok(stepped) => stepped,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        self.steps_taken += 1;
        if let Some(profile) = profile {
            *profile = StepProfile {
                prepare,
                update,
                total: lap.started().elapsed(),
                tensors,
                elements,
                ..StepProfile::default()
            };
        }
        Ok(())
    }

    /// How many times [`Bf16Optimizer::step`] has succeeded (restored by checkpoints).
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<Sgd>::new(vec![p], Sgd::hyper()).unwrap();
    /// opt.step().unwrap(); // no gradient: nothing moves, but the step is counted, as in `Optimizer`
    /// assert_eq!(opt.steps_taken(), 1);
    /// ```
    pub fn steps_taken(&self) -> u64 {
        self.steps_taken
    }

    /// The step on the taken parameters, infallible: the tensors and elements it stepped.
    fn update(&mut self) -> (usize, usize) {
        let Bf16Optimizer { stand_ins, states, groups, at, rounding, .. } = self;
        let (mut stepped, mut elements) = (0, 0);
        let threads = rayon::current_num_threads() > 1;
        let level = SimdLevel::detected();
        for (index, (stand_in, slot)) in stand_ins.iter().zip(states.iter_mut()).enumerate() {
            let mut data = stand_in.lock();
            let ParamData { value, grad, .. } = &mut *data;
            let Some(grad) = grad.as_ref() else { continue };
            let Bf16Group { hyper, formats, .. } = &groups[at[index].0];
            if slot.as_ref().is_none_or(|state| state.missing_states::<R>(hyper)) {
                // first step, or a state a flag turned on: states that start from the parameter
                // read its values widened (this step only; no copy when none does)
                let reads_param = (0..R::STATES.len()).any(R::state_init_reads_param);
                let wide = if reads_param { value.mapv(f32::from) } else { ndarray::ArrayD::zeros(vec![0]) };
                let state = slot.get_or_insert_with(|| ParamState::empty::<R>(value.shape(), hyper));
                state.allocate_present::<R>(hyper, &wide, formats);
            }
            let Some(state) = slot.as_mut() else { continue };
            if !value.is_standard_layout() {
                *value = value.as_standard_layout().into_owned();
            }
            let grad_rows = grad.as_standard_layout();
            let (Some(param), Some(grad)) = (value.as_slice_mut(), grad_rows.as_slice()) else { continue };
            let ParamState { step, shape, tensors, packed, scalars, .. } = state;
            *step += 1;
            // the checks ran the same program on a copy of these scalars: it cannot fail here
            let Ok(prep) = super::supported::stages::<R>(hyper, *step, scalars, shape) else { continue };
            let count = R::STATES.len().min(MAX_STATES);
            let mut dense: [&mut [f32]; MAX_STATES] = Default::default();
            for (slot, tensor) in dense.iter_mut().zip(tensors.iter_mut()) {
                *slot = &mut tensor[..];
            }
            let mut blocks: [Option<PackedMut<'_>>; MAX_STATES] = Default::default();
            for (slot, codes) in blocks.iter_mut().zip(packed.iter_mut()) {
                *slot = codes.as_mut().map(PackedState::view_mut);
            }
            let rounding = TensorRounding::new(*rounding, *step, index);
            let parallel = threads && param.len() > crate::parallel::GRAIN;
            let (dense, blocks) = (&mut dense[..count], &mut blocks[..count]);
            tiles::stored_halves::<R, f32, bf16>(
                level,
                &prep,
                Factors::whole(shape),
                param,
                grad,
                dense,
                blocks,
                parallel,
                rounding,
            );
            stepped += 1;
            elements += param.len();
        }
        (stepped, elements)
    }
}

/// Checks that a step of a tensor of `shape` whose state is `state` (`None` before its first)
/// needs no reduction pass, running the scalar program on a copy of its scalar states.
pub(super) fn check_passes<R: Rule>(
    hyper: &R::Hyper,
    state: Option<&ParamState<f32>>,
    shape: &[usize],
    scratch: &mut Vec<f64>,
) -> Result<(), OptimError> {
    if R::PASSES == 1 {
        return Ok(());
    }
    scratch.clear();
    let step = match state {
        Some(state) => {
            scratch.extend_from_slice(&state.scalars);
            state.step + 1
        }
        None => {
            scratch.extend((0..R::SCALAR_STATES.len()).map(|i| R::scalar_state_init(hyper, i)));
            1
        }
    };
    super::supported::stages::<R>(hyper, step, scratch, shape).map(|_| ())
}

/// Checks parameter `slot` (at `(group, index)`, as errors name it) before a step: no
/// row-sparse gradient, a gradient of its shape, a state (if any) created for its shape, and no
/// reduction pass needed.
fn check_param<R: Rule>(
    states: &[Option<ParamState<f32>>],
    hyper: &R::Hyper,
    scratch: &mut Vec<f64>,
    slot: usize,
    (group, index): (usize, usize),
    data: &ParamData<bf16>,
) -> Result<(), OptimError> {
    if data.sparse_grad.is_some() {
        return Err(OptimError::SparseUnsupported { optimizer: R::NAME, group, index });
    }
    let Some(grad) = &data.grad else { return Ok(()) };
    if let Some(Some(state)) = states.get(slot)
        && state.shape != data.value.shape()
    {
        let (state, param) = (state.shape.clone(), data.value.shape().to_vec());
        return Err(OptimError::ParamShape { group, index, state, param });
    }
    if grad.shape() != data.value.shape() {
        let (param, grad) = (data.value.shape().to_vec(), grad.shape().to_vec());
        return Err(OptimError::GradShape { group, index, param, grad });
    }
    let state = states.get(slot).and_then(Option::as_ref);
    check_passes::<R>(hyper, state, data.value.shape(), scratch)
}
