//! Param groups: parameters that share one set of hyperparameters.

use crate::{HyperSet, HyperValue, OptimError, Param, Rule, StateFormats};

/// A group being built: parameters plus the hyperparameters it overrides (PyTorch's
/// `{"params": [...], "lr": 0.05}`); everything not overridden comes from the defaults.
///
/// ```
/// use optim_core::{builtins::Adam, Group, Optimizer, Param};
/// let a = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
/// let b = Param::new(ndarray::arr1(&[2.0f32]).into_dyn());
/// let opt = Optimizer::<Adam, f32>::with_groups(
///     vec![Group::new(vec![a]), Group::new(vec![b]).with("lr", 0.05)],
///     Adam::hyper().lr(0.01),
/// ).unwrap();
/// assert_eq!(opt.param_groups()[1].hyper.lr, 0.05);
/// assert_eq!(opt.param_groups()[0].hyper.lr, 0.01);
/// ```
#[derive(Debug, Clone)]
pub struct Group<T> {
    pub(crate) params: Vec<Param<T>>,
    pub(crate) overrides: Vec<(String, HyperValue)>,
    /// How this group's states are stored, when it overrides the optimizer's formats.
    pub(crate) formats: Option<StateFormats>,
}

impl<T> Group<T> {
    /// A group of `params` that uses the defaults for every hyperparameter.
    ///
    /// ```
    /// let g = optim_core::Group::new(vec![optim_core::Param::new(ndarray::arr1(&[0.0f32]).into_dyn())]);
    /// assert_eq!(g.len(), 1);
    /// ```
    pub fn new(params: Vec<Param<T>>) -> Self {
        Group { params, overrides: Vec::new(), formats: None }
    }

    /// Overrides hyperparameter `name` for this group.
    ///
    /// ```
    /// let g = optim_core::Group::<f32>::new(vec![]).with("betas", (0.5, 0.9));
    /// assert!(g.is_empty());
    /// ```
    pub fn with(mut self, name: &str, value: impl Into<HyperValue>) -> Self {
        self.overrides.push((name.to_owned(), value.into()));
        self
    }

    /// Stores this group's states as `formats` says, whatever the optimizer's formats are.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Group, Optimizer, Param, StateFormat, StateFormats};
    /// let p = Param::new(ndarray::ArrayD::<f32>::zeros(vec![4096]));
    /// let group = Group::new(vec![p.clone()]).with_state_formats(StateFormats::all(StateFormat::Int4));
    /// let mut opt = Optimizer::<Adam, f32>::with_groups(vec![group], Adam::hyper()).unwrap();
    /// p.set_grad(ndarray::ArrayD::ones(vec![4096]));
    /// opt.step().unwrap();
    /// assert_eq!(opt.state(0, 0).unwrap().format("exp_avg"), Some(StateFormat::Int4));
    /// ```
    #[must_use]
    pub fn with_state_formats(mut self, formats: StateFormats) -> Self {
        self.formats = Some(formats);
        self
    }

    /// Number of parameters.
    ///
    /// ```
    /// assert_eq!(optim_core::Group::<f64>::new(vec![]).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether the group has no parameters.
    ///
    /// ```
    /// assert!(optim_core::Group::<f64>::new(vec![]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Resolves the overrides on top of `defaults` and validates the result.
    pub(crate) fn resolve<R: Rule>(&self, defaults: &R::Hyper) -> Result<R::Hyper, OptimError> {
        if self.params.is_empty() {
            return Err(OptimError::EmptyGroup);
        }
        let mut hyper = defaults.clone();
        for (name, value) in &self.overrides {
            hyper.set(name, *value)?;
        }
        hyper.validate()?;
        Ok(hyper)
    }
}

/// A live param group of an optimizer: its parameters and its own hyperparameters, which may be
/// changed between steps (this is how LR schedulers work). Written directly, through
/// [`Optimizer::param_groups_mut`](crate::Optimizer::param_groups_mut), they are checked at the
/// next step; [`LrTarget::set_group_hyper`](crate::lr_scheduler::LrTarget::set_group_hyper)
/// checks a value when it is set.
///
/// ```
/// use optim_core::{builtins::Sgd, Optimizer, Param};
/// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
/// let mut opt = Optimizer::<Sgd, f32>::new(vec![p], Sgd::hyper().lr(0.1)).unwrap();
/// opt.param_groups_mut()[0].hyper.lr = 0.01;
/// assert_eq!(opt.param_groups()[0].hyper.lr, 0.01);
/// assert_eq!(opt.param_groups()[0].params().len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct ParamGroup<R: Rule, T> {
    /// This group's hyperparameters.
    pub hyper: R::Hyper,
    pub(crate) params: Vec<Param<T>>,
    /// One value per [`Rule::GROUP_STATES`] (Prodigy's `d`, Schedule-Free's `weight_sum`).
    pub(crate) values: Vec<f64>,
    /// At the evaluation point (after `eval()`), for rules with [`Rule::POINTS`].
    pub(crate) eval_mode: bool,
    /// How the group's states are stored.
    pub(crate) formats: StateFormats,
}

impl<R: Rule, T> ParamGroup<R, T> {
    /// The group's parameters.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let opt = Optimizer::<Sgd, f32>::new(vec![p.clone()], Sgd::hyper()).unwrap();
    /// assert!(opt.param_groups()[0].params()[0].same_as(&p));
    /// ```
    pub fn params(&self) -> &[Param<T>] {
        &self.params
    }

    /// A group of `params` with hyperparameters `hyper`, its values at their initial values.
    pub(crate) fn new(hyper: R::Hyper, params: Vec<Param<T>>) -> Self {
        let values = (0..R::GROUP_STATES.len()).map(|index| R::group_state_init(&hyper, index)).collect();
        ParamGroup { hyper, params, values, eval_mode: false, formats: StateFormats::default() }
    }

    /// The group value `name` ([`Rule::GROUP_STATES`]), as PyTorch users read
    /// `optimizer.param_groups[0]["d"]`; `None` for a name the rule does not keep.
    ///
    /// ```
    /// use optim_core::{zoo::Prodigy, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64, -1.0]).into_dyn());
    /// let mut opt = Prodigy::optimizer(vec![p.clone()], Prodigy::hyper()).unwrap();
    /// assert_eq!(opt.param_groups()[0].value("d"), Some(1e-6)); // d0
    /// p.set_grad(ndarray::arr1(&[0.5, 0.5]).into_dyn());
    /// opt.step().unwrap();
    /// assert_eq!(opt.param_groups()[0].value("k"), Some(1.0));
    /// assert_eq!(opt.param_groups()[0].value("lr"), None); // a hyperparameter: see `hyper`
    /// ```
    pub fn value(&self, name: &str) -> Option<f64> {
        R::GROUP_STATES.iter().position(|n| *n == name).and_then(|i| self.values.get(i).copied())
    }

    /// Every group value, by name, in declaration order.
    ///
    /// ```
    /// use optim_core::{zoo::AdamWScheduleFree, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let opt = AdamWScheduleFree::optimizer(vec![p], AdamWScheduleFree::hyper()).unwrap();
    /// let names: Vec<&str> = opt.param_groups()[0].values().map(|(name, _)| name).collect();
    /// assert!(names.contains(&"weight_sum"));
    /// ```
    pub fn values(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        R::GROUP_STATES.iter().copied().zip(self.values.iter().copied())
    }

    /// Whether the group's parameters are at the evaluation point (after
    /// [`Optimizer::eval`](crate::Optimizer::eval)); always `false` for rules without one.
    ///
    /// ```
    /// use optim_core::{zoo::SGDScheduleFree, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let mut opt = SGDScheduleFree::optimizer(vec![p], SGDScheduleFree::hyper()).unwrap();
    /// opt.eval();
    /// assert!(opt.param_groups()[0].in_eval_mode());
    /// ```
    /// How the group's states are stored.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Optimizer, Param, StateFormat};
    /// let p = Param::new(ndarray::ArrayD::<f32>::zeros(vec![2]));
    /// let opt = Optimizer::<Sgd, f32>::new(vec![p], Sgd::hyper()).unwrap();
    /// assert_eq!(opt.param_groups()[0].state_formats().format_of("momentum_buffer"), StateFormat::Native);
    /// ```
    pub fn state_formats(&self) -> &StateFormats {
        &self.formats
    }

    pub fn in_eval_mode(&self) -> bool {
        self.eval_mode
    }
}
