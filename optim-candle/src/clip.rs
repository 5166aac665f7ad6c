//! Clipping by the global gradient norm fused into the bridge's step.

use optim_core::{GradClip, Rule};

use crate::{BridgeError, CandleElement, CandleOptimizer};

impl<R: Rule, T: CandleElement> CandleOptimizer<R, T> {
    /// Clips every step's gradients by their global norm, fused into the step (see
    /// [`optim_core::Optimizer::set_grad_clip`]): the numbers of
    /// `clip_grad_norm_(all params, max_norm)` then `step()`, without writing candle's
    /// gradients. `None` turns it off.
    ///
    /// # Errors
    /// [`optim_core::OptimError::InvalidArgument`] for a NaN or negative `max_norm` or a NaN
    /// `norm_type`; nothing changes then.
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::{builtins::Sgd, GradClip};
    /// let w = Var::new(&[0.0f32, 0.0], &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<Sgd>::new(vec![w.clone()], Sgd::hyper().lr(1.0)).unwrap();
    /// opt.set_grad_clip(Some(GradClip::norm(1.0))).unwrap();
    /// let target = candle_core::Tensor::new(&[3.0f32, 4.0], &Device::Cpu).unwrap();
    /// opt.backward_step(&w.as_tensor().mul(&target).unwrap().sum_all().unwrap()).unwrap(); // gradient (3, 4)
    /// assert_eq!(opt.last_grad_norm(), Some(5.0));
    /// let w = w.as_tensor().to_vec1::<f32>().unwrap();
    /// assert!((w[0] + 0.6).abs() < 1e-6 && (w[1] + 0.8).abs() < 1e-6);
    /// ```
    pub fn set_grad_clip(&mut self, clip: Option<GradClip>) -> Result<(), BridgeError> {
        Ok(self.inner.set_grad_clip(clip)?)
    }

    /// The clipping in force, if any.
    ///
    /// ```
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::{builtins::Adam, GradClip};
    /// let v = candle_core::Var::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<Adam>::new(vec![v], Adam::hyper()).unwrap();
    /// assert!(opt.grad_clip().is_none());
    /// opt.set_grad_clip(Some(GradClip::norm(0.5))).unwrap();
    /// assert_eq!(opt.grad_clip().unwrap().max_norm, 0.5);
    /// ```
    pub fn grad_clip(&self) -> Option<GradClip> {
        self.inner.grad_clip()
    }

    /// The total gradient norm the last step measured before clipping (what
    /// `clip_grad_norm_` returns); `None` before a clipped step.
    ///
    /// ```
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Adam;
    /// let v = candle_core::Var::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    /// assert_eq!(CandleOptimizer::<Adam>::new(vec![v], Adam::hyper()).unwrap().last_grad_norm(), None);
    /// ```
    pub fn last_grad_norm(&self) -> Option<f64> {
        self.inner.last_grad_norm()
    }
}
