//! Choosing how an optimizer's states are stored ([`crate::StateFormat`]), for every group or one.

use crate::{Element, OptimError, Optimizer, Rule, StateFormat, StateFormats};

/// Refuses formats for a state name the rule does not have (a typo would otherwise leave the
/// state in float32 without a word).
pub(crate) fn check_names<R: Rule>(formats: &StateFormats) -> Result<(), OptimError> {
    for name in formats.names() {
        if !R::STATES.iter().any(|decl| decl.name == name) {
            let known = R::STATES.iter().map(|decl| decl.name).collect::<Vec<_>>().join(", ");
            return Err(OptimError::UnknownState { optimizer: R::NAME, name: name.to_owned(), known });
        }
    }
    Ok(())
}

impl<R: Rule, T: Element> Optimizer<R, T> {
    /// Stores every state of every group, and of groups added later, in `format` (a state with
    /// fewer than 4096 elements, or not a whole number of blocks, or one value per row or
    /// column, stays in the element type, as torchao does). States that exist already are
    /// converted now: decoded and coded again.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Optimizer, Param, StateFormat};
    /// let w = Param::new(ndarray::ArrayD::<f32>::zeros(vec![8192]));
    /// let mut opt = Optimizer::<Adam, f32>::new(vec![w.clone()], Adam::hyper()).unwrap();
    /// opt.set_state_format(StateFormat::BFloat16).unwrap();
    /// w.set_grad(ndarray::ArrayD::ones(vec![8192]));
    /// opt.step().unwrap();
    /// assert_eq!(opt.state(0, 0).unwrap().state_bytes(), 2 * 2 * 8192);
    /// ```
    pub fn set_state_format(&mut self, format: StateFormat) -> Result<(), OptimError> {
        self.set_state_formats(StateFormats::all(format))
    }

    /// [`Optimizer::set_state_format`] with a format per state name.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, OptimError, Optimizer, Param, StateFormat, StateFormats};
    /// let w = Param::new(ndarray::ArrayD::<f32>::zeros(vec![4096]));
    /// let mut opt = Optimizer::<Adam, f32>::new(vec![w], Adam::hyper()).unwrap();
    /// let typo = StateFormats::default().with("exp_avg_sqr", StateFormat::Int8);
    /// assert!(matches!(opt.set_state_formats(typo), Err(OptimError::UnknownState { .. })));
    /// opt.set_state_formats(StateFormats::default().with("exp_avg", StateFormat::Int8)).unwrap();
    /// ```
    pub fn set_state_formats(&mut self, formats: StateFormats) -> Result<(), OptimError> {
        check_names::<R>(&formats)?;
        for group in 0..self.groups.len() {
            self.convert_group(group, &formats);
        }
        self.default_formats = formats;
        Ok(())
    }

    /// [`Optimizer::set_state_formats`] for group `group` alone.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Optimizer, Param, StateFormat, StateFormats};
    /// let w = Param::new(ndarray::ArrayD::<f32>::zeros(vec![4096]));
    /// let mut opt = Optimizer::<Adam, f32>::new(vec![w], Adam::hyper()).unwrap();
    /// opt.set_group_state_formats(0, StateFormats::all(StateFormat::Fp8)).unwrap();
    /// assert!(opt.set_group_state_formats(1, StateFormats::default()).is_err());
    /// ```
    pub fn set_group_state_formats(&mut self, group: usize, formats: StateFormats) -> Result<(), OptimError> {
        check_names::<R>(&formats)?;
        if group >= self.groups.len() {
            return Err(OptimError::IndexOutOfRange { what: "group", index: group, len: self.groups.len() });
        }
        self.convert_group(group, &formats);
        Ok(())
    }

    fn convert_group(&mut self, group: usize, formats: &StateFormats) {
        for state in self.states[group].iter_mut().flatten() {
            state.convert::<R>(formats);
        }
        self.groups[group].formats = formats.clone();
    }
}
