//! The param groups of a [`Bf16Optimizer`]: each its own hyperparameters and state formats.

use super::Bf16Optimizer;
use crate::{Rule, StateFormats};

/// One param group of a [`Bf16Optimizer`]; its parameters are the next `len` of the optimizer's.
#[derive(Debug, Clone)]
pub(crate) struct Bf16Group<R: Rule> {
    pub(crate) hyper: R::Hyper,
    pub(crate) formats: StateFormats,
    /// Whether the group was built with formats of its own (which `set_state_formats` keeps).
    pub(crate) own_formats: bool,
    pub(crate) len: usize,
}

impl<R: Rule> Bf16Optimizer<R> {
    /// The hyperparameters of param group `group`, if there is one.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, Group, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let q = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let groups = vec![Group::new(vec![p]), Group::new(vec![q]).with("lr", 0.5)];
    /// let opt = Bf16Optimizer::<Sgd>::with_groups(groups, Sgd::hyper().lr(0.1)).unwrap();
    /// assert_eq!((opt.hyper_of(0).unwrap().lr, opt.hyper_of(1).unwrap().lr), (0.1, 0.5));
    /// assert!(opt.hyper_of(2).is_none());
    /// ```
    pub fn hyper_of(&self, group: usize) -> Option<&R::Hyper> {
        self.groups.get(group).map(|g| &g.hyper)
    }

    /// How many parameters each param group holds, in group order.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Bf16Optimizer, Group, Param};
    /// let p = || Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let groups = vec![Group::new(vec![p(), p()]), Group::new(vec![p()])];
    /// let opt = Bf16Optimizer::<Sgd>::with_groups(groups, Sgd::hyper()).unwrap();
    /// assert_eq!(opt.group_sizes().collect::<Vec<_>>(), [2, 1]);
    /// ```
    pub fn group_sizes(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.groups.iter().map(|g| g.len)
    }
}
