//! Which optimizers the showcase runs, each with its learning rates: one line per optimizer.

use indicatif::ProgressBar;
use optim::prelude::*;
use optim::zoo::{AdamWScheduleFree, Muon, Prodigy, Soap};
use optim::{Bf16Rounding, StateFormat, StateFormats};

use crate::bench::{self, KernelTiming};
use crate::bf16::Bf16Steps;
use crate::data::Dataset;
use crate::lion::Lion;
use crate::rosenbrock;
use crate::split::{self, Split};
use crate::train::{self, TrainRun, TrainSettings};

/// Every optimizer the showcase knows, in display order.
///
/// To add one, add a line: its command-line name, its display name, its learning rate on the
/// digits MLP, its learning rate on Rosenbrock, and its hyperparameters for a given `lr`.
/// `SparseAdam` is left out: it is Adam for row-sparse gradients, and this model's are dense.
///
/// ```
/// let names: Vec<_> = showcase::lineup::lineup().iter().map(|e| e.key()).collect();
/// assert_eq!(names[..2], ["sgd", "asgd"]);
/// ```
pub fn lineup() -> Vec<Box<dyn Entrant>> {
    vec![
        Entry::<Sgd>::boxed("sgd", "SGD+momentum", 0.1, 5e-4, |lr| Sgd::hyper().lr(lr).momentum(0.9)),
        Entry::<Asgd>::boxed("asgd", "ASGD", 0.3, 1e-3, |lr| Asgd::hyper().lr(lr)),
        Entry::<Adagrad>::boxed("adagrad", "Adagrad", 0.1, 0.5, |lr| Adagrad::hyper().lr(lr)),
        Entry::<RmsProp>::boxed("rmsprop", "RMSprop", 3e-3, 3e-3, |lr| RmsProp::hyper().lr(lr)),
        Entry::<Adadelta>::boxed("adadelta", "Adadelta", 1.0, 0.3, |lr| Adadelta::hyper().lr(lr)),
        Entry::<Rprop>::boxed("rprop", "Rprop", 1e-3, 1e-2, |lr| Rprop::hyper().lr(lr)),
        Entry::<Adam>::boxed("adam", "Adam", 1e-2, 0.05, |lr| Adam::hyper().lr(lr)),
        Entry::<AdamW>::boxed("adamw", "AdamW", 1e-2, 0.05, |lr| AdamW::hyper().lr(lr)),
        Entry::<Adamax>::boxed("adamax", "Adamax", 1e-2, 0.1, |lr| Adamax::hyper().lr(lr)),
        Entry::<NAdam>::boxed("nadam", "NAdam", 1e-2, 1e-2, |lr| NAdam::hyper().lr(lr)),
        Entry::<RAdam>::boxed("radam", "RAdam", 1e-2, 1e-2, |lr| RAdam::hyper().lr(lr)),
        Entry::<Lion>::boxed("lion", "Lion (custom)", 1e-3, 3e-3, |lr| Lion::hyper().lr(lr)),
        // no learning rate to tune: Prodigy estimates its step size from the whole model
        Entry::<Prodigy>::boxed("prodigy", "Prodigy (lr = 1)", 1.0, 1.0, |lr| Prodigy::hyper().lr(lr)),
        // no schedule: evaluated at the averaged point (`Optimizer::eval`)
        Entry::<AdamWScheduleFree>::boxed("sf-adamw", "Schedule-Free AdamW", 1e-2, 0.05, |lr| {
            AdamWScheduleFree::hyper().lr(lr).warmup_steps(50)
        }),
        // the weight matrices with Muon (orthogonalised momentum), the biases with AdamW
        Entry::<Muon>::matrices("muon", "Muon + AdamW", 0.02, 0.01, |lr| Muon::hyper().lr(lr)),
        // the weight matrices with SOAP (Adam in the eigenbases of the gradients' covariances)
        Entry::<Soap>::matrices("soap", "SOAP + AdamW", 3e-3, 0.01, |lr| Soap::hyper().lr(lr)),
        // AdamW with its moments in 8 and 4 bits (torchao's formats), on every weight matrix of
        // whole blocks (this model's are below torchao's 4096-element threshold)
        Entry::<AdamW>::compact(
            "adamw-8bit",
            "AdamW 8-bit state",
            1e-2,
            0.05,
            |lr| AdamW::hyper().lr(lr),
            StateFormat::Int8,
        ),
        Entry::<AdamW>::compact(
            "adamw-4bit",
            "AdamW 4-bit state",
            1e-2,
            0.05,
            |lr| AdamW::hyper().lr(lr),
            StateFormat::Int4,
        ),
        // bfloat16 weights (and gradients), the math in f32: rounded to nearest, updates below
        // half a bfloat16 place are lost; rounded stochastically, they are kept on average
        Entry::<AdamW>::bf16(
            "adamw-bf16",
            "AdamW bf16 weights",
            1e-2,
            |lr| AdamW::hyper().lr(lr),
            Bf16Rounding::NearestEven,
        ),
        Entry::<AdamW>::bf16(
            "adamw-bf16-sr",
            "AdamW bf16 weights, SR",
            1e-2,
            |lr| AdamW::hyper().lr(lr),
            Bf16Rounding::Stochastic { seed: 0 },
        ),
    ]
}

/// One optimizer in the lineup, with its rule type erased so different rules share a list.
pub trait Entrant {
    /// The name `--optimizers` accepts.
    fn key(&self) -> &'static str;
    /// The name tables and legends show.
    fn label(&self) -> &'static str;
    /// The learning rate on the digits MLP (also used by the kernel benchmark).
    fn mlp_lr(&self) -> f64;
    /// The learning rate on Rosenbrock.
    fn rosenbrock_lr(&self) -> f64;
    /// Trains the digits MLP; see [`train::train`].
    fn train(
        &self,
        train_set: &Dataset,
        test_set: &Dataset,
        settings: &TrainSettings,
        progress: &ProgressBar,
    ) -> Result<TrainRun, OptimError>;
    /// Walks `steps` steps on Rosenbrock; see [`rosenbrock::descend`]. `None` for an entry
    /// whose walk is another's (compact state: a two-element point keeps float32 state).
    fn rosenbrock(&self, steps: usize) -> Result<Option<Vec<[f64; 2]>>, OptimError>;
    /// Times the fused kernel with the MLP hyperparameters; see [`bench::time_kernel`]. `None`
    /// for a rule that is not bound by memory bandwidth (a matrix rule).
    fn time_kernel(&self, elements: usize, repeats: usize) -> Option<KernelTiming>;
}

/// An [`Entrant`] for rule `R`.
pub struct Entry<R: Rule> {
    key: &'static str,
    label: &'static str,
    mlp_lr: f64,
    rosenbrock_lr: f64,
    hyper: fn(f64) -> R::Hyper,
    /// A matrix rule: it steps the weight matrices, AdamW the biases ([`Split`]).
    matrices: bool,
    /// How its states are stored, when not in float32.
    formats: Option<StateFormats>,
    /// bfloat16 weights, rounded back this way after each step ([`Bf16Steps`]).
    bf16: Option<Bf16Rounding>,
}

impl<R: Rule> Entry<R> {
    /// An entry whose hyperparameters are `hyper(lr)`, with `lr` chosen per task.
    pub fn boxed(
        key: &'static str,
        label: &'static str,
        mlp_lr: f64,
        rosenbrock_lr: f64,
        hyper: fn(f64) -> R::Hyper,
    ) -> Box<dyn Entrant> {
        Box::new(Entry::<R> { key, label, mlp_lr, rosenbrock_lr, hyper, matrices: false, formats: None, bf16: None })
    }

    /// An entry whose states are stored in `format` wherever a tensor is whole blocks of it.
    pub fn compact(
        key: &'static str,
        label: &'static str,
        mlp_lr: f64,
        rosenbrock_lr: f64,
        hyper: fn(f64) -> R::Hyper,
        format: StateFormat,
    ) -> Box<dyn Entrant> {
        let formats = Some(StateFormats::all(format).with_min_elements(0));
        Box::new(Entry::<R> { key, label, mlp_lr, rosenbrock_lr, hyper, matrices: false, formats, bf16: None })
    }

    /// An entry that trains bfloat16 weights with a [`Bf16Optimizer`](optim::Bf16Optimizer),
    /// rounding back by `rounding`. Like the compact-state entries, it has no Rosenbrock walk
    /// (a float32 point) and no kernel timing (`bench_table`'s state-formats table has its rows).
    pub fn bf16(
        key: &'static str,
        label: &'static str,
        mlp_lr: f64,
        hyper: fn(f64) -> R::Hyper,
        rounding: Bf16Rounding,
    ) -> Box<dyn Entrant> {
        let bf16 = Some(rounding);
        Box::new(Entry::<R> { key, label, mlp_lr, rosenbrock_lr: mlp_lr, hyper, matrices: false, formats: None, bf16 })
    }

    /// An entry for a matrix rule (Muon): the MLP's weight matrices with `R`, its biases with
    /// AdamW; on Rosenbrock the point is a one-row matrix. Its step is matrix-multiply bound, so
    /// it has no row in the memory-bandwidth table (`bench_muon` measures it against gemm).
    pub fn matrices(
        key: &'static str,
        label: &'static str,
        mlp_lr: f64,
        rosenbrock_lr: f64,
        hyper: fn(f64) -> R::Hyper,
    ) -> Box<dyn Entrant> {
        Box::new(Entry::<R> { key, label, mlp_lr, rosenbrock_lr, hyper, matrices: true, formats: None, bf16: None })
    }
}

impl<R: Rule> Entrant for Entry<R> {
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
        if self.matrices {
            let build = |params| Split::<R>::new(params, hyper, split::BIAS_LR);
            return train::train_with(build, train_set, test_set, settings, progress);
        }
        if let Some(rounding) = self.bf16 {
            let build = |params| Bf16Steps::<R>::new(params, hyper, rounding);
            return train::train_with(build, train_set, test_set, settings, progress);
        }
        let formats = self.formats.clone().unwrap_or_default();
        let build = |params| {
            let mut optimizer = Optimizer::<R, f32>::new(params, hyper)?;
            optimizer.set_state_formats(formats)?;
            Ok(optimizer)
        };
        train::train_with(build, train_set, test_set, settings, progress)
    }

    fn rosenbrock(&self, steps: usize) -> Result<Option<Vec<[f64; 2]>>, OptimError> {
        if self.formats.is_some() || self.bf16.is_some() {
            return Ok(None);
        }
        let shape: &[usize] = if self.matrices { &[1, 2] } else { &[2] };
        rosenbrock::descend_shaped::<R>((self.hyper)(self.rosenbrock_lr), steps, shape).map(Some)
    }

    fn time_kernel(&self, elements: usize, repeats: usize) -> Option<KernelTiming> {
        // compact state's speed is `bench_table`'s state-formats table
        let hyper = (self.hyper)(self.mlp_lr);
        (!self.matrices && self.formats.is_none() && self.bf16.is_none())
            .then(|| bench::time_kernel::<R>(&hyper, elements, repeats))
    }
}
