//! Schedule-Free's two points on candle Vars: `eval()` and `train()` move the Vars' values
//! between the training point and the averaged point, as the `schedulefree` package's methods.

use optim_core::Rule;

use crate::{BridgeError, CandleElement, CandleOptimizer};

impl<R: Rule, T: CandleElement> CandleOptimizer<R, T> {
    /// Moves every Var to the evaluation point (Schedule-Free's averaged `x`), in place, as
    /// [`optim_core::Optimizer::eval`]: call it before evaluating or saving the model, and
    /// [`CandleOptimizer::train`] before the next step (a step in eval mode is refused).
    /// Idempotent; rules without an evaluation point ignore it.
    ///
    /// # Errors
    /// Only if candle cannot lend a Var's buffer (a Var replaced by a tensor that does not own
    /// its storage); nothing moves then.
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::zoo::SGDScheduleFree;
    /// let w = Var::new(&[1.0f64], &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<SGDScheduleFree, f64>::new(vec![w.clone()], SGDScheduleFree::hyper().lr(0.1)).unwrap();
    /// for _ in 0..2 {
    ///     opt.backward_step(&w.as_tensor().sum_all().unwrap()).unwrap(); // gradient 1
    /// }
    /// let y = w.as_tensor().to_vec1::<f64>().unwrap()[0];
    /// opt.eval().unwrap();
    /// let x = w.as_tensor().to_vec1::<f64>().unwrap()[0];
    /// assert_ne!(x, y);
    /// opt.train().unwrap();
    /// assert!((w.as_tensor().to_vec1::<f64>().unwrap()[0] - y).abs() < 1e-15);
    /// ```
    pub fn eval(&mut self) -> Result<(), BridgeError> {
        self.with_values(|inner| {
            inner.eval();
            Ok(())
        })
    }

    /// Moves every Var back to the training point (Schedule-Free's `y`), as
    /// [`optim_core::Optimizer::train`]. Idempotent.
    ///
    /// # Errors
    /// As [`CandleOptimizer::eval`].
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::zoo::AdamWScheduleFree;
    /// let w = Var::new(&[1.0f32], &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<AdamWScheduleFree>::new(vec![w.clone()], AdamWScheduleFree::hyper()).unwrap();
    /// opt.train().unwrap(); // already training: nothing moves
    /// assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), [1.0]);
    /// ```
    pub fn train(&mut self) -> Result<(), BridgeError> {
        self.with_values(|inner| {
            inner.train();
            Ok(())
        })
    }
}
