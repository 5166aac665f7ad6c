//! Learning-rate schedulers over a [`Bf16Optimizer`]: its param groups as an [`LrTarget`].

use super::Bf16Optimizer;
use crate::lr_scheduler::{LrTarget, refuse_non_finite};
use crate::{HyperSet, HyperValue, OptimError, Result, Rule};

/// A `Bf16Optimizer`'s param groups, to a scheduler. As for
/// [`Optimizer`](crate::Optimizer), a NaN or infinite value is refused when the scheduler sets
/// it, and a finite value out of range (OneCycleLR past its end) by the next
/// [`step`](Bf16Optimizer::step).
///
/// ```
/// use optim_core::lr_scheduler::{CosineAnnealingLR, LrScheduler};
/// use optim_core::{builtins::AdamW, Bf16Optimizer, Param};
///
/// let p = Param::new(ndarray::ArrayD::from_elem(vec![4], half::bf16::ONE));
/// let mut opt = Bf16Optimizer::<AdamW>::new(vec![p], AdamW::hyper().lr(0.1)).unwrap();
/// let mut schedule = CosineAnnealingLR::new(&mut opt, 2, 0.0).unwrap();
/// opt.step().unwrap();
/// schedule.step(&mut opt).unwrap();
/// assert!((opt.hyper().lr - 0.05).abs() < 1e-12); // half way down the cosine
/// ```
impl<R: Rule> LrTarget for Bf16Optimizer<R> {
    fn optimizer_name(&self) -> &'static str {
        R::NAME
    }

    fn group_count(&self) -> usize {
        self.groups.len()
    }

    fn group_hyper(&self, group: usize, name: &str) -> Option<HyperValue> {
        self.groups.get(group)?.hyper.get(name)
    }

    fn set_group_hyper(&mut self, group: usize, name: &str, value: HyperValue) -> Result<()> {
        let len = self.groups.len();
        let Some(slot) = self.groups.get_mut(group) else {
            return Err(OptimError::IndexOutOfRange { what: "param group", index: group, len });
        };
        refuse_non_finite::<R>(&slot.hyper, name, value)?;
        slot.hyper.set(name, value)
    }

    fn has_hyper(&self, name: &str) -> bool {
        self.defaults.get(name).is_some()
    }
}
