//! Training with bfloat16 weights: the model's parameters hold bfloat16 values, a
//! [`Bf16Optimizer`] steps them (its math in `f32`), and the forward and backward passes run in
//! `f32` on those values, as mixed-precision training does.

use optim::half::bf16;
use optim::{Bf16Optimizer, Bf16Rounding, OptimError, Param, Rule};

use crate::train::Steps;

/// A [`Bf16Optimizer`] over bfloat16 copies of the model's `f32` parameters: before each step
/// the gradients are rounded to bfloat16, after it the model reads the new bfloat16 weights.
pub struct Bf16Steps<R: Rule> {
    model: Vec<Param<f32>>,
    weights: Vec<Param<bf16>>,
    optimizer: Bf16Optimizer<R>,
}

impl<R: Rule> Bf16Steps<R> {
    /// Rounds the model's parameters to bfloat16 and builds the optimizer over them.
    ///
    /// ```
    /// use optim::{builtins::AdamW, Bf16Rounding, Param};
    /// use showcase::bf16::Bf16Steps;
    /// use showcase::train::Steps;
    /// let p = Param::new(ndarray::arr1(&[1.001f32]).into_dyn());
    /// let mut steps = Bf16Steps::<AdamW>::new(vec![p.clone()], AdamW::hyper(), Bf16Rounding::NearestEven).unwrap();
    /// assert_eq!(p.value()[0], 1.0); // 1.001 is not a bfloat16
    /// p.set_grad(ndarray::arr1(&[1.0f32]).into_dyn());
    /// steps.step().unwrap();
    /// assert_eq!(p.value()[0], 1.0); // a step of 1e-3 is below half a bfloat16 place at 1
    /// ```
    pub fn new(model: Vec<Param<f32>>, hyper: R::Hyper, rounding: Bf16Rounding) -> Result<Self, OptimError> {
        let weights: Vec<Param<bf16>> = model
            .iter()
            .map(|p| {
                let rounded = p.value().mapv(bf16::from_f32);
                p.lock().value = rounded.mapv(f32::from);
                Param::new(rounded)
            })
            .collect();
        let optimizer = Bf16Optimizer::<R>::new(weights.clone(), hyper)?.with_rounding(rounding);
        Ok(Bf16Steps { model, weights, optimizer })
    }
}

impl<R: Rule> Steps for Bf16Steps<R> {
    fn zero_grad(&mut self) {
        for p in &self.model {
            p.lock().grad = None;
        }
        self.optimizer.zero_grad();
    }

    fn step(&mut self) -> Result<(), OptimError> {
        for (p, w) in self.model.iter().zip(&self.weights) {
            let grad = p.lock().grad.as_ref().map(|g| g.mapv(bf16::from_f32));
            w.lock().grad = grad;
        }
        self.optimizer.step()?;
        for (p, w) in self.model.iter().zip(&self.weights) {
            p.lock().value = w.value().mapv(f32::from);
        }
        Ok(())
    }

    fn eval(&mut self) {}

    fn state_bytes(&self) -> usize {
        (0..self.weights.len()).filter_map(|i| self.optimizer.state(i)).map(|s| s.state_bytes()).sum()
    }
}
