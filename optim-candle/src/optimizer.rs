//! [`CandleOptimizer`]: an optim [`Optimizer`] whose parameters are candle [`Var`]s.

use std::collections::HashMap;

use candle_core::{DType, Storage, Tensor, Var};
use optim_core::{Group, HyperValue, OptimError, Optimizer, Param, ParamGroup, ParamState, Rule};

use crate::element::Lendable;
use crate::lend::empty;
use crate::{BridgeError, CandleElement};

/// Vars that share hyperparameters: [`optim_core::Group`] for candle.
///
/// ```
/// use optim_candle::{CandleOptimizer, VarGroup};
/// use optim_core::builtins::AdamW;
/// let cpu = &candle_core::Device::Cpu;
/// let w = candle_core::Var::zeros((4, 3), candle_core::DType::F32, cpu).unwrap();
/// let b = candle_core::Var::zeros(3, candle_core::DType::F32, cpu).unwrap();
/// let opt = CandleOptimizer::<AdamW>::with_groups(
///     vec![VarGroup::new(vec![w]), VarGroup::new(vec![b]).with("weight_decay", 0.0)],
///     AdamW::hyper().lr(1e-3),
/// ).unwrap();
/// assert_eq!(opt.param_groups()[1].hyper.weight_decay, 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct VarGroup {
    vars: Vec<Var>,
    pub(crate) overrides: Vec<(String, HyperValue)>,
}

impl VarGroup {
    /// A group of `vars` using the optimizer's defaults.
    ///
    /// ```
    /// let g = optim_candle::VarGroup::new(vec![]);
    /// assert!(g.vars().is_empty());
    /// ```
    pub fn new(vars: Vec<Var>) -> Self {
        VarGroup { vars, overrides: Vec::new() }
    }

    /// Overrides hyperparameter `name` for this group (checked when the optimizer is built).
    ///
    /// ```
    /// let g = optim_candle::VarGroup::new(vec![]).with("lr", 0.1);
    /// assert!(g.vars().is_empty());
    /// ```
    pub fn with(mut self, name: &str, value: impl Into<HyperValue>) -> Self {
        self.overrides.push((name.to_owned(), value.into()));
        self
    }

    /// The group's Vars.
    ///
    /// ```
    /// let v = candle_core::Var::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    /// assert_eq!(optim_candle::VarGroup::new(vec![v]).vars().len(), 1);
    /// ```
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }
}

/// Any optim rule driving candle [`Var`]s: param groups, schedulers, checkpoints and the fused
/// kernels, updating each Var's own buffer in place (no copy of a parameter or, in the common
/// case, of a gradient; see the crate docs).
///
/// It implements [`candle_nn::optim::Optimizer`], so a candle training loop changes one line:
///
/// ```
/// use candle_core::{DType, Device, Tensor, Var};
/// use optim_candle::CandleOptimizer;
/// use optim_core::builtins::AdamW;
///
/// let w = Var::new(&[1.0f32, -2.0], &Device::Cpu).unwrap();
/// // was: let mut opt = candle_nn::AdamW::new(vec![w.clone()], candle_nn::ParamsAdamW { lr: 0.1, ..Default::default() })?;
/// let mut opt = CandleOptimizer::<AdamW>::new(vec![w.clone()], AdamW::hyper().lr(0.1)).unwrap();
/// for _ in 0..5 {
///     let loss = w.as_tensor().sqr().unwrap().sum_all().unwrap();
///     opt.backward_step(&loss).unwrap();
/// }
/// let w = w.as_tensor().to_vec1::<f32>().unwrap();
/// assert!(w[0] < 1.0 && w[1] > -2.0);
/// ```
#[derive(Debug)]
pub struct CandleOptimizer<R: Rule, T: CandleElement = f32> {
    /// The optimizer; its parameter handles hold empty arrays except during a step, when they
    /// borrow the Vars' buffers.
    pub(crate) inner: Optimizer<R, T>,
    /// `vars[g][i]` is parameter `i` of group `g`.
    pub(crate) vars: Vec<Vec<Var>>,
    /// Each Var's storage address, to find Vars and refuse duplicates and aliased gradients.
    pub(crate) keys: HashMap<usize, (usize, usize)>,
    /// Row-sparse gradients set for the next step.
    pub(crate) sparse: Vec<((usize, usize), optim_core::RowSparse<T>)>,
}

impl<R: Rule, T: CandleElement> CandleOptimizer<R, T> {
    /// An optimizer over one group of `vars` with hyperparameters `defaults`.
    ///
    /// # Errors
    /// [`BridgeError`] for a Var that is not a CPU tensor of `T` owning its storage, a Var given
    /// twice, or invalid hyperparameters.
    ///
    /// ```
    /// use optim_candle::{BridgeError, CandleOptimizer};
    /// use optim_core::builtins::Sgd;
    /// let v = candle_core::Var::zeros(3, candle_core::DType::F64, &candle_core::Device::Cpu).unwrap();
    /// let err = CandleOptimizer::<Sgd>::new(vec![v.clone()], Sgd::hyper()).unwrap_err();
    /// assert!(matches!(err, BridgeError::DType { .. })); // f32 optimizer, f64 Var
    /// assert!(CandleOptimizer::<Sgd, f64>::new(vec![v], Sgd::hyper()).is_ok());
    /// ```
    pub fn new(vars: Vec<Var>, defaults: R::Hyper) -> Result<Self, BridgeError> {
        Self::with_groups(vec![VarGroup::new(vars)], defaults)
    }

    /// An optimizer over several groups, each overriding some of `defaults`.
    ///
    /// # Errors
    /// As [`CandleOptimizer::new`], and for an empty group or an unknown override.
    ///
    /// ```
    /// use optim_candle::{CandleOptimizer, VarGroup};
    /// use optim_core::{builtins::Sgd, OptimError};
    /// let v = candle_core::Var::zeros(3, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    /// let twice = vec![VarGroup::new(vec![v.clone()]), VarGroup::new(vec![v])];
    /// let err = CandleOptimizer::<Sgd>::with_groups(twice, Sgd::hyper()).unwrap_err();
    /// assert!(matches!(err, optim_candle::BridgeError::Optim(OptimError::DuplicateParam { group: 1, index: 0 })));
    /// ```
    pub fn with_groups(groups: Vec<VarGroup>, defaults: R::Hyper) -> Result<Self, BridgeError> {
        let mut groups = groups.into_iter();
        // as PyTorch (and `Optimizer::with_groups`): an optimizer needs a parameter
        let first = groups.next().ok_or(OptimError::EmptyGroup)?;
        let keys = HashMap::new();
        let (built, first_keys) = checked_group::<T>(&keys, 0, &first)?;
        let mut opt = CandleOptimizer {
            inner: Optimizer::with_groups(vec![built], defaults)?,
            vars: Vec::new(),
            keys,
            sparse: Vec::new(),
        };
        opt.record_group(first, first_keys);
        for group in groups {
            opt.add_param_group(group)?;
        }
        Ok(opt)
    }

    /// Adds a group, as PyTorch's `add_param_group`; on error nothing changes.
    ///
    /// # Errors
    /// As [`CandleOptimizer::with_groups`].
    ///
    /// ```
    /// use optim_candle::{CandleOptimizer, VarGroup};
    /// use optim_core::builtins::Adam;
    /// let cpu = &candle_core::Device::Cpu;
    /// let a = candle_core::Var::zeros(2, candle_core::DType::F32, cpu).unwrap();
    /// let b = candle_core::Var::zeros(2, candle_core::DType::F32, cpu).unwrap();
    /// let mut opt = CandleOptimizer::<Adam>::new(vec![a], Adam::hyper()).unwrap();
    /// opt.add_param_group(VarGroup::new(vec![b]).with("lr", 0.1)).unwrap();
    /// assert_eq!(opt.vars().len(), 2);
    /// ```
    pub fn add_param_group(&mut self, group: VarGroup) -> Result<(), BridgeError> {
        let (built, keys) = checked_group::<T>(&self.keys, self.vars.len(), &group)?;
        self.inner.add_param_group(built)?;
        self.record_group(group, keys);
        Ok(())
    }

    /// Remembers an accepted group's `Var`s and their keys.
    fn record_group(&mut self, group: VarGroup, keys: Vec<usize>) {
        let g = self.vars.len();
        self.keys.extend(keys.into_iter().enumerate().map(|(index, key)| (key, (g, index))));
        self.vars.push(group.vars);
    }

    /// The Vars, group by group.
    ///
    /// ```
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Sgd;
    /// let v = candle_core::Var::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    /// let opt = CandleOptimizer::<Sgd>::new(vec![v.clone()], Sgd::hyper()).unwrap();
    /// assert!(opt.vars()[0][0].as_tensor().id() == v.as_tensor().id());
    /// ```
    pub fn vars(&self) -> &[Vec<Var>] {
        &self.vars
    }

    /// The param groups and their hyperparameters.
    ///
    /// ```
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Sgd;
    /// let v = candle_core::Var::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    /// let opt = CandleOptimizer::<Sgd>::new(vec![v], Sgd::hyper().lr(0.5)).unwrap();
    /// assert_eq!(opt.param_groups()[0].hyper.lr, 0.5);
    /// ```
    pub fn param_groups(&self) -> &[ParamGroup<R, T>] {
        self.inner.param_groups()
    }

    /// The param groups, for changing hyperparameters between steps (validated at the next step).
    ///
    /// ```
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Sgd;
    /// let v = candle_core::Var::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<Sgd>::new(vec![v], Sgd::hyper()).unwrap();
    /// opt.param_groups_mut()[0].hyper.momentum = 0.9;
    /// assert_eq!(opt.param_groups()[0].hyper.momentum, 0.9);
    /// ```
    pub fn param_groups_mut(&mut self) -> &mut [ParamGroup<R, T>] {
        self.inner.param_groups_mut()
    }

    /// The state of parameter `index` of group `group`, `None` before its first step.
    ///
    /// ```
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Adam;
    /// let v = candle_core::Var::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    /// let opt = CandleOptimizer::<Adam>::new(vec![v], Adam::hyper()).unwrap();
    /// assert!(opt.state(0, 0).is_none());
    /// ```
    pub fn state(&self, group: usize, index: usize) -> Option<&ParamState<T>> {
        self.inner.state(group, index)
    }

    /// How many steps have succeeded.
    ///
    /// ```
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Adam;
    /// let v = candle_core::Var::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    /// assert_eq!(CandleOptimizer::<Adam>::new(vec![v], Adam::hyper()).unwrap().steps_taken(), 0);
    /// ```
    pub fn steps_taken(&self) -> u64 {
        self.inner.steps_taken()
    }

    /// The optimizer underneath. Its parameter handles are placeholders: the values live in the
    /// Vars, and are lent to the handles only while a step or a checkpoint load runs.
    ///
    /// ```
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Adam;
    /// let v = candle_core::Var::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    /// let opt = CandleOptimizer::<Adam>::new(vec![v], Adam::hyper()).unwrap();
    /// assert_eq!(opt.optimizer().param_groups().len(), 1);
    /// ```
    pub fn optimizer(&self) -> &Optimizer<R, T> {
        &self.inner
    }

    /// Where the Var with this storage is, if this optimizer holds it.
    pub(crate) fn position(&self, tensor: &Tensor) -> Option<(usize, usize)> {
        self.keys.get(&storage_key(tensor)).copied()
    }
}

/// The address of a tensor's storage: equal for tensors that share one allocation.
pub(crate) fn storage_key(tensor: &Tensor) -> usize {
    let (storage, _) = tensor.storage_and_layout();
    std::ptr::from_ref::<Storage>(&storage).addr()
}

/// Checks group `g`'s `Var`s (device, dtype `T`, ownership, not already optimized: not in
/// `known`) and builds the `Param` group that will hold their buffers during a step; returns it
/// with the Vars' storage keys, and changes nothing.
pub(crate) fn checked_group<T: Lendable>(
    known: &HashMap<usize, (usize, usize)>,
    g: usize,
    group: &VarGroup,
) -> Result<(Group<T>, Vec<usize>), BridgeError> {
    let mut keys = Vec::with_capacity(group.vars.len());
    for (index, var) in group.vars.iter().enumerate() {
        let key = check_var::<T>(var, g, index)?;
        if known.contains_key(&key) || keys.contains(&key) {
            return Err(OptimError::DuplicateParam { group: g, index }.into());
        }
        keys.push(key);
    }
    let params = group.vars.iter().map(|_| Param::new(empty())).collect();
    let built = group.overrides.iter().fold(Group::new(params), |built, (name, value)| built.with(name, *value));
    Ok((built, keys))
}

/// Checks that a Var can be lent as a buffer of `T`; returns its storage key. A bf16 or f16 Var
/// given to a kernel of `f32`/`f64` is [`BridgeError::LowPrecision`], another dtype
/// [`BridgeError::DType`].
fn check_var<T: Lendable>(var: &Var, group: usize, index: usize) -> Result<usize, BridgeError> {
    let device = var.device();
    if !device.is_cpu() {
        return Err(BridgeError::Device { group, index, what: "the Var", device: format!("{:?}", device.location()) });
    }
    let (expected, found) = (T::DTYPE, var.dtype());
    if found != expected {
        let half = |dtype| matches!(dtype, DType::BF16 | DType::F16);
        if half(found) && !half(expected) {
            return Err(BridgeError::LowPrecision { group, index, dtype: found });
        }
        return Err(BridgeError::DType { group, index, what: "the Var", expected, found });
    }
    owned_key::<T>(var.as_tensor()).ok_or(BridgeError::NotOwned { group, index })
}

/// The storage key of `tensor` when it is a contiguous CPU tensor of `T` covering its whole
/// storage from offset 0 (so its buffer can be lent), `None` otherwise.
pub(crate) fn owned_key<T: candle_core::WithDType>(tensor: &Tensor) -> Option<usize> {
    let (storage, layout) = tensor.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else { return None };
    let len = cpu.as_slice::<T>().map(<[T]>::len).ok();
    let whole = layout.is_contiguous() && layout.start_offset() == 0 && len == Some(layout.shape().elem_count());
    whole.then(|| std::ptr::from_ref::<Storage>(&storage).addr())
}
