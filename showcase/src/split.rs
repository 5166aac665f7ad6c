//! Matrix rules in the showcase: the weight matrices stepped by a matrix rule (Muon), the
//! biases by AdamW, as users of matrix rules split a model.

use optim::prelude::*;

use crate::train::Steps;

/// The learning rate of the AdamW that steps the biases beside a matrix rule.
pub const BIAS_LR: f64 = 1e-2;

/// Two optimizers over one model: `M` for the parameters of two or more axes, AdamW for the rest.
pub struct Split<M: Rule> {
    /// The matrix rule's optimizer (the weight matrices).
    pub matrices: Optimizer<M, f32>,
    /// AdamW over the biases.
    pub rest: Optimizer<AdamW, f32>,
}

impl<M: Rule> Split<M> {
    /// Splits `params` by their number of axes.
    ///
    /// ```
    /// use optim::zoo::Muon;
    /// let model = showcase::mlp::Mlp::new(4, 3, 2, 0);
    /// let split = showcase::split::Split::<Muon>::new(model.params(), Muon::hyper(), 1e-2).unwrap();
    /// assert_eq!(split.matrices.param_groups()[0].params().len(), 2);
    /// assert_eq!(split.rest.param_groups()[0].params().len(), 2);
    /// ```
    pub fn new(params: Vec<Param<f32>>, hyper: M::Hyper, bias_lr: f64) -> Result<Self, OptimError> {
        let (matrices, rest): (Vec<_>, Vec<_>) = params.into_iter().partition(|p| p.value().ndim() >= 2);
        Ok(Split {
            matrices: Optimizer::new(matrices, hyper)?,
            rest: Optimizer::new(rest, AdamW::hyper().lr(bias_lr))?,
        })
    }
}

impl<M: Rule> Steps for Split<M> {
    fn zero_grad(&mut self) {
        self.matrices.zero_grad();
        self.rest.zero_grad();
    }

    fn step(&mut self) -> Result<(), OptimError> {
        self.matrices.step()?;
        self.rest.step()
    }

    fn eval(&mut self) {
        self.matrices.eval();
        self.rest.eval();
    }

    fn state_bytes(&self) -> usize {
        self.matrices.state_bytes() + self.rest.state_bytes()
    }
}
