//! The training loop, written once for every optimizer: PyTorch's `zero_grad`, backward, `step`.

use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use ndarray::Axis;
use optim::prelude::*;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;

use crate::data::{CLASSES, Dataset, PIXELS};
use crate::mlp::Mlp;

/// Loss-curve points recorded per epoch (each the mean minibatch loss since the last point).
const POINTS_PER_EPOCH: usize = 3;

/// How to train: the same for every optimizer, so only the optimizer differs between runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per minibatch.
    pub batch_size: usize,
    /// Width of the hidden layer.
    pub hidden: usize,
    /// Seeds the initial weights and the minibatch order.
    pub seed: u64,
}

/// What one optimizer achieved.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainRun {
    /// `(epoch, mean minibatch loss)`, starting with the untrained model's loss at epoch 0.
    pub curve: Vec<(f64, f32)>,
    /// Loss on the whole training set after the last epoch.
    pub train_loss: f32,
    /// Accuracy on the held-out test set after the last epoch.
    pub test_accuracy: f32,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Total time spent inside `Optimizer::step`.
    pub step_time: Duration,
    /// Total time of the training loop: batching, forward, backward and step.
    pub train_time: Duration,
    /// Bytes of optimizer state per model parameter at the end (8 for Adam in float32).
    pub state_bytes_per_param: f64,
}

/// What the training loop needs of its optimizers: one [`Optimizer`], or several that share the
/// model's parameters between them (a matrix rule for the weights, AdamW for the biases).
pub trait Steps {
    /// Clears every gradient (PyTorch's `zero_grad`).
    fn zero_grad(&mut self);
    /// One step of every optimizer.
    fn step(&mut self) -> Result<(), OptimError>;
    /// Moves to the evaluation point, for rules that have one.
    fn eval(&mut self);
    /// Bytes every parameter's state occupies now ([`optim::ParamState::state_bytes`]).
    fn state_bytes(&self) -> usize;
}

impl<R: Rule> Steps for Optimizer<R, f32> {
    fn zero_grad(&mut self) {
        Optimizer::zero_grad(self);
    }

    fn step(&mut self) -> Result<(), OptimError> {
        Optimizer::step(self)
    }

    fn eval(&mut self) {
        Optimizer::eval(self);
    }

    fn state_bytes(&self) -> usize {
        let groups = self.param_groups().iter().enumerate();
        let states = groups.flat_map(|(g, group)| (0..group.params().len()).filter_map(move |i| self.state(g, i)));
        states.map(|state| state.state_bytes()).sum()
    }
}

/// Trains a fresh model (the same initial weights for every rule) with optimizer rule `R`.
///
/// `progress` advances once per epoch.
pub fn train<R: Rule>(
    hyper: R::Hyper,
    train_set: &Dataset,
    test_set: &Dataset,
    settings: &TrainSettings,
    progress: &ProgressBar,
) -> Result<TrainRun, OptimError> {
    train_with(|params| Optimizer::<R, f32>::new(params, hyper), train_set, test_set, settings, progress)
}

/// [`train`] with the optimizers `build` makes from the model's parameters (weights and biases
/// of each layer, in order).
pub fn train_with<S: Steps>(
    build: impl FnOnce(Vec<Param<f32>>) -> Result<S, OptimError>,
    train_set: &Dataset,
    test_set: &Dataset,
    settings: &TrainSettings,
    progress: &ProgressBar,
) -> Result<TrainRun, OptimError> {
    let model = Mlp::new(PIXELS, settings.hidden, CLASSES, settings.seed);
    let parameters: usize = model.params().iter().map(|p| p.value().len()).sum();
    let mut optimizer = build(model.params())?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(settings.seed);
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    let batches_per_epoch = train_set.len().div_ceil(settings.batch_size);
    let window = batches_per_epoch.div_ceil(POINTS_PER_EPOCH);

    let mut curve = vec![(0.0, model.evaluate(train_set.images.view(), &train_set.labels).loss)];
    let (mut window_loss, mut window_len) = (0.0, 0);
    let (mut steps, mut step_time) = (0, Duration::ZERO);
    let started = Instant::now();
    for epoch in 0..settings.epochs {
        order.shuffle(&mut rng);
        for (batch_index, batch) in order.chunks(settings.batch_size).enumerate() {
            let images = train_set.images.select(Axis(0), batch);
            let labels: Vec<usize> = batch.iter().map(|&i| train_set.labels[i]).collect();

            optimizer.zero_grad();
            let loss = model.backward(images.view(), &labels);
            let before_step = Instant::now();
            optimizer.step()?;
            step_time += before_step.elapsed();
            steps += 1;

            (window_loss, window_len) = (window_loss + loss, window_len + 1);
            if window_len == window || batch_index + 1 == batches_per_epoch {
                let at = epoch as f64 + (batch_index + 1) as f64 / batches_per_epoch as f64;
                curve.push((at, window_loss / window_len as f32));
                (window_loss, window_len) = (0.0, 0);
            }
        }
        progress.set_message(format!("loss {:.4}", curve.last().map_or(f32::NAN, |point| point.1)));
        progress.inc(1);
    }
    let train_time = started.elapsed();
    // rules with an evaluation point (Schedule-Free) are evaluated there; others ignore it
    optimizer.eval();

    Ok(TrainRun {
        curve,
        train_loss: model.evaluate(train_set.images.view(), &train_set.labels).loss,
        test_accuracy: model.evaluate(test_set.images.view(), &test_set.labels).accuracy,
        steps,
        step_time,
        train_time,
        state_bytes_per_param: optimizer.state_bytes() as f64 / parameters.max(1) as f64,
    })
}
