//! Matrix rules in the showcase: the weight matrices stepped by a matrix rule (Muon), the
//! biases by AdamW, as users of matrix rules split a model.

use indicatif::ProgressBar;
use optim::prelude::*;

use crate::bench::KernelTiming;
use crate::data::Dataset;
use crate::lineup::Entrant;
use crate::rosenbrock;
use crate::train::{self, Steps, TrainRun, TrainSettings};

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
}

/// A lineup entry for matrix rule `M`: the MLP's weight matrices with `M`, its biases with
/// AdamW; on Rosenbrock the point is a one-row matrix. Its step is matrix-multiply bound, so it
/// has no row in the memory-bandwidth table (`benches/` measures it against gemm).
pub struct MatrixEntry<M: Rule> {
    key: &'static str,
    label: &'static str,
    mlp_lr: f64,
    rosenbrock_lr: f64,
    hyper: fn(f64) -> M::Hyper,
}

impl<M: Rule> MatrixEntry<M> {
    /// An entry whose hyperparameters are `hyper(lr)`, with `lr` chosen per task.
    pub fn boxed(
        key: &'static str,
        label: &'static str,
        mlp_lr: f64,
        rosenbrock_lr: f64,
        hyper: fn(f64) -> M::Hyper,
    ) -> Box<dyn Entrant> {
        Box::new(MatrixEntry::<M> { key, label, mlp_lr, rosenbrock_lr, hyper })
    }
}

impl<M: Rule> Entrant for MatrixEntry<M> {
    fn key(&self) -> &'static str {
        self.key
    }

    fn label(&self) -> &'static str {
        self.label
    }

    fn mlp_lr(&self) -> f64 {
        self.mlp_lr
    }

    fn rosenbrock_lr(&self) -> f64 {
        self.rosenbrock_lr
    }

    fn train(
        &self,
        train_set: &Dataset,
        test_set: &Dataset,
        settings: &TrainSettings,
        progress: &ProgressBar,
    ) -> Result<TrainRun, OptimError> {
        let hyper = (self.hyper)(self.mlp_lr);
        train::train_with(|params| Split::<M>::new(params, hyper, BIAS_LR), train_set, test_set, settings, progress)
    }

    fn rosenbrock(&self, steps: usize) -> Result<Vec<[f64; 2]>, OptimError> {
        rosenbrock::descend_shaped::<M>((self.hyper)(self.rosenbrock_lr), steps, &[1, 2])
    }

    fn time_kernel(&self, _: usize, _: usize) -> Option<KernelTiming> {
        None
    }
}
