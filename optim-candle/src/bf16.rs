//! [`CandleBf16Optimizer`]: bfloat16 Vars stepped in place by a [`Bf16Optimizer`].

use std::collections::{HashMap, HashSet};
use std::path::Path;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use optim_core::half::bf16;
use optim_core::lr_scheduler::LrTarget;
use optim_core::{Bf16Optimizer, Bf16Rounding, HyperValue, OptimError, ParamState, Rule, StateDict, StateFormats};

use crate::checkpoint::lend_values;
use crate::optimizer::checked_group;
use crate::step::{dense_grad, run_lent};
use crate::{BridgeError, VarGroup};

/// Any element-wise optim rule over candle bfloat16 [`Var`]s: each step lends every Var's
/// buffer and its gradient's to a [`Bf16Optimizer`], which widens them tile by tile, runs the
/// rule's kernel in `f32` and rounds the Var back (to nearest even or stochastically), in
/// place. The optimizer's state is `f32` or any [`StateFormat`](optim_core::StateFormat).
///
/// Param groups ([`VarGroup`]) as for [`CandleOptimizer`](crate::CandleOptimizer); rules that
/// need a whole tensor first (norms, group values, matrices) are refused as
/// [`Bf16Optimizer::new`] refuses them.
///
/// ```
/// use candle_core::{DType, Device, Var};
/// use optim_candle::CandleBf16Optimizer;
/// use optim_core::{builtins::AdamW, Bf16Rounding};
///
/// let w = Var::ones((2, 3), DType::BF16, &Device::Cpu).unwrap();
/// let mut opt = CandleBf16Optimizer::<AdamW>::new(vec![w.clone()], AdamW::hyper().lr(0.05))
///     .unwrap()
///     .with_rounding(Bf16Rounding::Stochastic { seed: 1 });
/// for _ in 0..10 {
///     let loss = w.as_tensor().sqr().unwrap().sum_all().unwrap();
///     opt.backward_step(&loss).unwrap();
/// }
/// let after = w.as_tensor().to_dtype(DType::F32).unwrap().to_vec2::<f32>().unwrap();
/// assert!(after.iter().flatten().all(|&x| x < 0.7)); // ten steps of about 0.05 down
/// ```
#[derive(Debug)]
pub struct CandleBf16Optimizer<R: Rule> {
    /// Its parameter handles hold empty arrays except while a step or a load borrows the Vars.
    inner: Bf16Optimizer<R>,
    vars: Vec<Var>,
    /// Each Var's storage address, with its (group, index): to refuse duplicates and aliased
    /// gradients.
    keys: HashMap<usize, (usize, usize)>,
}

impl<R: Rule> CandleBf16Optimizer<R> {
    /// An optimizer over bfloat16 `vars` with hyperparameters `hyper`, rounding to nearest even.
    ///
    /// # Errors
    /// A Var that is not a CPU bfloat16 tensor owning its storage, a Var given twice, invalid
    /// hyperparameters, or a rule a `Bf16Optimizer` cannot run.
    ///
    /// ```
    /// use candle_core::{DType, Device, Var};
    /// use optim_candle::{BridgeError, CandleBf16Optimizer};
    /// use optim_core::builtins::Adam;
    /// let f32_var = Var::zeros(3, DType::F32, &Device::Cpu).unwrap();
    /// let err = CandleBf16Optimizer::<Adam>::new(vec![f32_var], Adam::hyper()).unwrap_err();
    /// assert!(matches!(err, BridgeError::DType { expected: DType::BF16, found: DType::F32, .. }));
    /// ```
    pub fn new(vars: Vec<Var>, hyper: R::Hyper) -> Result<Self, BridgeError> {
        Self::with_groups(vec![VarGroup::new(vars)], hyper)
    }

    /// An optimizer over several groups of bfloat16 Vars, each overriding some of `defaults`.
    ///
    /// # Errors
    /// As [`CandleBf16Optimizer::new`], and for an empty group or an unknown override.
    ///
    /// ```
    /// use candle_core::{DType, Device, Var};
    /// use optim_candle::{CandleBf16Optimizer, VarGroup};
    /// use optim_core::builtins::AdamW;
    /// let w = Var::ones((3, 2), DType::BF16, &Device::Cpu).unwrap();
    /// let b = Var::ones(2, DType::BF16, &Device::Cpu).unwrap();
    /// let groups = vec![VarGroup::new(vec![w]), VarGroup::new(vec![b]).with("weight_decay", 0.0)];
    /// let opt = CandleBf16Optimizer::<AdamW>::with_groups(groups, AdamW::hyper()).unwrap();
    /// assert_eq!(opt.optimizer().hyper_of(1).unwrap().weight_decay, 0.0);
    /// ```
    pub fn with_groups(groups: Vec<VarGroup>, defaults: R::Hyper) -> Result<Self, BridgeError> {
        let mut keys = HashMap::new();
        let (mut vars, mut built) = (Vec::new(), Vec::with_capacity(groups.len()));
        for (g, group) in groups.into_iter().enumerate() {
            let (params, group_keys) = checked_group::<bf16>(&keys, g, &group)?;
            keys.extend(group_keys.into_iter().enumerate().map(|(index, key)| (key, (g, index))));
            built.push(params);
            vars.extend(group.vars().iter().cloned());
        }
        Ok(CandleBf16Optimizer { inner: Bf16Optimizer::with_groups(built, defaults)?, vars, keys })
    }

    /// The same optimizer, rounding the Vars back by `rounding`.
    ///
    /// ```
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::{builtins::Sgd, Bf16Rounding};
    /// let w = candle_core::Var::zeros(2, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
    /// let opt = CandleBf16Optimizer::<Sgd>::new(vec![w], Sgd::hyper()).unwrap();
    /// let opt = opt.with_rounding(Bf16Rounding::Stochastic { seed: 3 });
    /// assert_eq!(opt.optimizer().rounding(), Bf16Rounding::Stochastic { seed: 3 });
    /// ```
    pub fn with_rounding(mut self, rounding: Bf16Rounding) -> Self {
        self.inner = self.inner.with_rounding(rounding);
        self
    }

    /// Stores the rule's states as `formats` says, as [`Bf16Optimizer::set_state_formats`].
    ///
    /// # Errors
    /// A state name the rule does not have.
    ///
    /// ```
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::{builtins::Adam, StateFormat, StateFormats};
    /// let w = candle_core::Var::zeros(4096, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
    /// let mut opt = CandleBf16Optimizer::<Adam>::new(vec![w.clone()], Adam::hyper()).unwrap();
    /// opt.set_state_formats(StateFormats::all(StateFormat::Int8)).unwrap();
    /// opt.backward_step(&w.as_tensor().sum_all().unwrap()).unwrap();
    /// assert_eq!(opt.optimizer().state(0).unwrap().format("exp_avg"), Some(StateFormat::Int8));
    /// ```
    pub fn set_state_formats(&mut self, formats: StateFormats) -> Result<(), BridgeError> {
        Ok(self.inner.set_state_formats(formats)?)
    }

    /// The Vars, group after group, in the order given.
    ///
    /// ```
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::builtins::Sgd;
    /// let w = candle_core::Var::zeros(2, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
    /// let opt = CandleBf16Optimizer::<Sgd>::new(vec![w.clone()], Sgd::hyper()).unwrap();
    /// assert!(opt.vars()[0].as_tensor().id() == w.as_tensor().id());
    /// ```
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// The optimizer underneath (hyperparameters, states, step count). Its parameter handles
    /// are placeholders: the values live in the Vars.
    ///
    /// ```
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::builtins::Sgd;
    /// let w = candle_core::Var::zeros(2, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
    /// let opt = CandleBf16Optimizer::<Sgd>::new(vec![w], Sgd::hyper().lr(0.5)).unwrap();
    /// assert_eq!(opt.optimizer().hyper().lr, 0.5);
    /// ```
    pub fn optimizer(&self) -> &Bf16Optimizer<R> {
        &self.inner
    }

    /// Parameter `index`'s state (numbered across groups): `None` before its first step.
    ///
    /// ```
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::builtins::Adam;
    /// let w = candle_core::Var::zeros(2, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
    /// let opt = CandleBf16Optimizer::<Adam>::new(vec![w], Adam::hyper()).unwrap();
    /// assert!(opt.state(0).is_none());
    /// ```
    pub fn state(&self, index: usize) -> Option<&ParamState<f32>> {
        self.inner.state(index)
    }

    /// One step over every Var that has a gradient in `grads` (the others are skipped). Every
    /// Var's buffer, and every gradient's that owns its storage, is lent without a copy; all
    /// of them are checked first, so on error the Vars and the state are as they were.
    ///
    /// # Errors
    /// A gradient on another device, of another dtype or shape; what [`Bf16Optimizer::step`]
    /// refuses.
    ///
    /// ```
    /// use candle_core::{DType, Device, Var};
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::builtins::Sgd;
    /// let w = Var::ones(2, DType::BF16, &Device::Cpu).unwrap();
    /// let mut opt = CandleBf16Optimizer::<Sgd>::new(vec![w.clone()], Sgd::hyper().lr(0.5)).unwrap();
    /// let grads = w.as_tensor().sum_all().unwrap().backward().unwrap(); // gradient 1 everywhere
    /// opt.step(&grads).unwrap();
    /// assert_eq!(w.as_tensor().to_dtype(DType::F32).unwrap().to_vec1::<f32>().unwrap(), [0.5, 0.5]);
    /// ```
    pub fn step(&mut self, grads: &GradStore) -> Result<(), BridgeError> {
        let mut work = Vec::new();
        let mut lent = HashSet::new();
        // (group, position in the group) of each Var, for errors
        let positions = self.inner.group_sizes().enumerate().flat_map(|(g, len)| (0..len).map(move |i| (g, i)));
        for ((param, var), at) in self.inner.params().iter().zip(&self.vars).zip(positions) {
            let Some(grad) = grads.get(var.as_tensor()) else { continue };
            let grad = dense_grad::<bf16>(at, var, grad, |key| self.keys.contains_key(&key), &mut lent)?;
            work.push((param.clone(), var.clone(), grad));
        }
        let inner = &mut self.inner;
        run_lent(work, move || inner.step())
    }

    /// `loss.backward()` then [`CandleBf16Optimizer::step`].
    ///
    /// # Errors
    /// candle's backward errors, and those of [`CandleBf16Optimizer::step`].
    ///
    /// ```
    /// use candle_core::{DType, Device, Var};
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::builtins::Sgd;
    /// let w = Var::ones(1, DType::BF16, &Device::Cpu).unwrap();
    /// let mut opt = CandleBf16Optimizer::<Sgd>::new(vec![w.clone()], Sgd::hyper().lr(0.25)).unwrap();
    /// opt.backward_step(&w.as_tensor().sqr().unwrap().sum_all().unwrap()).unwrap(); // d/dw = 2
    /// assert_eq!(w.as_tensor().to_dtype(DType::F32).unwrap().to_vec1::<f32>().unwrap(), [0.5]);
    /// ```
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<(), BridgeError> {
        let grads = loss.backward()?;
        self.step(&grads)
    }

    /// The optimizer's state ([`Bf16Optimizer::state_dict`]; the Vars are the model's).
    ///
    /// ```
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::builtins::Adam;
    /// let w = candle_core::Var::ones(2, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
    /// let mut opt = CandleBf16Optimizer::<Adam>::new(vec![w.clone()], Adam::hyper()).unwrap();
    /// opt.backward_step(&w.as_tensor().sum_all().unwrap()).unwrap();
    /// assert_eq!(opt.state_dict().state[&0].step, 1);
    /// ```
    pub fn state_dict(&self) -> StateDict<f32> {
        self.inner.state_dict()
    }

    /// Replaces the state with `sd` after checking all of it against the Vars' shapes; on
    /// error nothing changes.
    ///
    /// # Errors
    /// Everything [`Bf16Optimizer::load_state_dict`] refuses.
    ///
    /// ```
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::builtins::Adam;
    /// let cpu = &candle_core::Device::Cpu;
    /// let w = candle_core::Var::ones(2, candle_core::DType::BF16, cpu).unwrap();
    /// let mut opt = CandleBf16Optimizer::<Adam>::new(vec![w.clone()], Adam::hyper()).unwrap();
    /// opt.backward_step(&w.as_tensor().sum_all().unwrap()).unwrap();
    /// let longer = candle_core::Var::ones(3, candle_core::DType::BF16, cpu).unwrap();
    /// let mut other = CandleBf16Optimizer::<Adam>::new(vec![longer], Adam::hyper()).unwrap();
    /// assert!(other.load_state_dict(&opt.state_dict()).is_err()); // shape [2] vs [3]
    /// ```
    pub fn load_state_dict(&mut self, sd: &StateDict<f32>) -> Result<(), BridgeError> {
        self.with_values(|inner| inner.load_state_dict(sd))
    }

    /// Saves the state as a checkpoint file ([`Bf16Optimizer::save`]).
    ///
    /// # Errors
    /// I/O errors.
    ///
    /// ```
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::builtins::AdamW;
    /// let w = candle_core::Var::ones(2, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
    /// let mut opt = CandleBf16Optimizer::<AdamW>::new(vec![w.clone()], AdamW::hyper()).unwrap();
    /// opt.backward_step(&w.as_tensor().sum_all().unwrap()).unwrap();
    /// let path = std::env::temp_dir().join(format!("optim-candle-bf16-doc-{}.safetensors", std::process::id()));
    /// opt.save(&path).unwrap();
    /// let mut resumed = CandleBf16Optimizer::<AdamW>::new(vec![w], AdamW::hyper()).unwrap();
    /// resumed.load(&path).unwrap();
    /// assert_eq!(resumed.state_dict(), opt.state_dict());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), BridgeError> {
        Ok(self.inner.save(path)?)
    }

    /// Loads a file written by [`CandleBf16Optimizer::save`] (or by an optim optimizer of the
    /// same rule over parameters of the same shapes in the same groups); on error nothing changes.
    ///
    /// # Errors
    /// I/O errors, a corrupt file, or a state that does not fit these Vars.
    ///
    /// ```
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::builtins::AdamW;
    /// let w = candle_core::Var::ones(2, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
    /// let mut opt = CandleBf16Optimizer::<AdamW>::new(vec![w], AdamW::hyper()).unwrap();
    /// assert!(opt.load(std::env::temp_dir().join("optim-candle-bf16-no-such-file")).is_err());
    /// ```
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<(), BridgeError> {
        let path = path.as_ref();
        self.with_values(|inner| inner.load(path))
    }

    /// Runs `f` with every Var's buffer lent to its parameter handle (loading checks the saved
    /// states' shapes against the parameters').
    fn with_values(
        &mut self,
        f: impl FnOnce(&mut Bf16Optimizer<R>) -> Result<(), OptimError> + Send,
    ) -> Result<(), BridgeError> {
        let params = self.inner.params().to_vec();
        let inner = &mut self.inner;
        lend_values(self.vars.iter(), &params, move || f(inner))
    }
}

/// candle's optimizer interface, as for [`CandleOptimizer`](crate::CandleOptimizer): the
/// rule's hyperparameters as the config, one learning rate.
///
/// ```
/// use candle_nn::optim::Optimizer as _;
/// use optim_candle::CandleBf16Optimizer;
/// use optim_core::builtins::Adam;
/// let w = candle_core::Var::ones(2, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
/// let mut opt = <CandleBf16Optimizer<Adam> as candle_nn::optim::Optimizer>::new(vec![w], Adam::hyper()).unwrap();
/// opt.set_learning_rate(0.01);
/// assert_eq!(opt.learning_rate(), 0.01);
/// ```
impl<R: Rule> candle_nn::optim::Optimizer for CandleBf16Optimizer<R> {
    type Config = R::Hyper;

    fn new(vars: Vec<Var>, config: R::Hyper) -> candle_core::Result<Self> {
        Ok(CandleBf16Optimizer::new(vars, config)?)
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        Ok(CandleBf16Optimizer::step(self, grads)?)
    }

    fn backward_step(&mut self, loss: &Tensor) -> candle_core::Result<()> {
        Ok(CandleBf16Optimizer::backward_step(self, loss)?)
    }

    fn learning_rate(&self) -> f64 {
        self.inner.group_hyper(0, "lr").and_then(HyperValue::as_f64).unwrap_or(f64::NAN)
    }

    fn set_learning_rate(&mut self, lr: f64) {
        // a rule without `lr` has nothing to set; a negative one is refused at the next step
        let _ = self.inner.set_group_hyper(0, "lr", HyperValue::Float(lr));
    }
}

crate::nn::lr_target_of_inner!(
    /// Every scheduler of [`optim_core::lr_scheduler`] drives a [`CandleBf16Optimizer`].
    ///
    /// ```
    /// use optim_candle::CandleBf16Optimizer;
    /// use optim_core::builtins::Adam;
    /// use optim_core::lr_scheduler::{LrScheduler, StepLR};
    /// let w = candle_core::Var::ones(2, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
    /// let mut opt = CandleBf16Optimizer::<Adam>::new(vec![w], Adam::hyper().lr(0.1)).unwrap();
    /// let mut schedule = StepLR::new(&mut opt, 1, 0.5).unwrap();
    /// schedule.step(&mut opt).unwrap();
    /// assert_eq!(opt.optimizer().hyper().lr, 0.05);
    /// ```
    impl<R: Rule> for CandleBf16Optimizer<R>
);
