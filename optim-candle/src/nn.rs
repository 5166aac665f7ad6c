//! The traits a candle training loop and optim's schedulers call: [`candle_nn::optim::Optimizer`]
//! and [`LrTarget`].

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use optim_core::{HyperSet, HyperValue, Rule};

use crate::{CandleElement, CandleOptimizer};

/// candle's optimizer interface: `new(vars, config)` with the rule's hyperparameters as the
/// config, `step`, `backward_step` and one learning rate (that of the first group; setting it
/// sets every group's).
///
/// ```
/// use candle_core::{Device, Var};
/// use candle_nn::optim::Optimizer as _;
/// use optim_candle::CandleOptimizer;
/// use optim_core::builtins::NAdam;
///
/// fn train<O: candle_nn::optim::Optimizer>(w: &Var, config: O::Config) -> candle_core::Result<f64> {
///     let mut opt = O::new(vec![w.clone()], config)?;
///     opt.set_learning_rate(0.05);
///     for _ in 0..3 {
///         opt.backward_step(&w.as_tensor().sqr()?.sum_all()?)?;
///     }
///     Ok(opt.learning_rate())
/// }
/// let w = Var::new(&[1.0f32], &Device::Cpu).unwrap();
/// assert_eq!(train::<CandleOptimizer<NAdam>>(&w, NAdam::hyper()).unwrap(), 0.05);
/// assert!(train::<candle_nn::AdamW>(&w, Default::default()).is_ok()); // the same loop
/// ```
impl<R: Rule, T: CandleElement> candle_nn::optim::Optimizer for CandleOptimizer<R, T> {
    type Config = R::Hyper;

    fn new(vars: Vec<Var>, config: R::Hyper) -> candle_core::Result<Self> {
        Ok(CandleOptimizer::new(vars, config)?)
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        Ok(CandleOptimizer::step(self, grads)?)
    }

    fn backward_step(&mut self, loss: &Tensor) -> candle_core::Result<()> {
        Ok(CandleOptimizer::backward_step(self, loss)?)
    }

    fn learning_rate(&self) -> f64 {
        let first = self.inner.param_groups().first().map(|g| &g.hyper);
        let lr = first.unwrap_or(self.inner.defaults()).get("lr");
        lr.and_then(HyperValue::as_f64).unwrap_or(f64::NAN)
    }

    fn set_learning_rate(&mut self, lr: f64) {
        for group in self.inner.param_groups_mut() {
            // a rule without `lr` has nothing to set; a negative one is refused at the next step
            let _ = group.hyper.set("lr", HyperValue::Float(lr));
        }
    }
}

/// `LrTarget` for a bridge type by handing every call to its `inner` optimizer.
macro_rules! lr_target_of_inner {
    ($(#[$attr:meta])* impl<$($param:ident: $bound:path),*> for $bridge:ty) => {
        $(#[$attr])*
        impl<$($param: $bound),*> optim_core::lr_scheduler::LrTarget for $bridge {
            fn optimizer_name(&self) -> &'static str {
                self.inner.optimizer_name()
            }

            fn group_count(&self) -> usize {
                self.inner.group_count()
            }

            fn group_hyper(&self, group: usize, name: &str) -> Option<optim_core::HyperValue> {
                self.inner.group_hyper(group, name)
            }

            fn set_group_hyper(
                &mut self,
                group: usize,
                name: &str,
                value: optim_core::HyperValue,
            ) -> Result<(), optim_core::OptimError> {
                self.inner.set_group_hyper(group, name, value)
            }

            fn has_hyper(&self, name: &str) -> bool {
                self.inner.has_hyper(name)
            }
        }
    };
}
pub(crate) use lr_target_of_inner;

lr_target_of_inner!(
    /// Every scheduler of [`optim_core::lr_scheduler`] drives a [`CandleOptimizer`] directly.
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Adam;
    /// use optim_core::lr_scheduler::{CosineAnnealingLR, LrScheduler};
    /// let w = Var::new(&[1.0f32], &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<Adam>::new(vec![w], Adam::hyper().lr(0.1)).unwrap();
    /// let mut cosine = CosineAnnealingLR::new(&mut opt, 10, 0.0).unwrap();
    /// for _ in 0..10 {
    ///     cosine.step(&mut opt).unwrap();
    /// }
    /// assert!(opt.param_groups()[0].hyper.lr.abs() < 1e-12);
    /// ```
    impl<R: Rule, T: CandleElement> for CandleOptimizer<R, T>
);
