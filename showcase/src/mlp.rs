//! A two-layer perceptron with hand-written forward and backward passes over ndarray.
//!
//! `logits = tanh(x · w1 + b1) · w2 + b2`, trained with softmax cross-entropy. The weights are
//! [`Param`] handles: the model reads them and writes their gradients, the optimizer updates
//! them in place, and both see the same arrays.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, Ix1, Ix2};
use optim::ParamData;
use optim::prelude::*;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Mean loss and accuracy of a model on some images.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean softmax cross-entropy.
    pub loss: f32,
    /// Fraction of images whose most likely class is the label.
    pub accuracy: f32,
}

/// The multilayer perceptron `inputs -> hidden (tanh) -> classes`.
#[derive(Debug, Clone)]
pub struct Mlp {
    w1: Param<f32>,
    b1: Param<f32>,
    w2: Param<f32>,
    b2: Param<f32>,
}

/// What the backward pass needs from the forward pass.
struct Activations {
    hidden: Array2<f32>,
    probabilities: Array2<f32>,
}

impl Mlp {
    /// A model with Glorot-uniform weights drawn from `seed` and zero biases.
    ///
    /// ```
    /// let model = showcase::mlp::Mlp::new(64, 32, 10, 0);
    /// assert_eq!(model.params().len(), 4);
    /// ```
    pub fn new(inputs: usize, hidden: usize, classes: usize, seed: u64) -> Self {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut glorot = |fan_in: usize, fan_out: usize| {
            let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
            Array2::from_shape_simple_fn((fan_in, fan_out), || rng.random_range(-limit..limit))
        };
        let (w1, w2) = (glorot(inputs, hidden), glorot(hidden, classes));
        Mlp {
            w1: Param::new(w1.into_dyn()),
            b1: Param::new(Array1::zeros(hidden).into_dyn()),
            w2: Param::new(w2.into_dyn()),
            b2: Param::new(Array1::zeros(classes).into_dyn()),
        }
    }

    /// Handles to every trainable tensor, for the optimizer.
    pub fn params(&self) -> Vec<Param<f32>> {
        vec![self.w1.clone(), self.b1.clone(), self.w2.clone(), self.b2.clone()]
    }

    /// Runs the forward and backward passes on a minibatch, sets the gradient of every parameter
    /// and returns the batch's mean cross-entropy.
    ///
    /// ```
    /// use ndarray::Array2;
    /// let model = showcase::mlp::Mlp::new(4, 3, 2, 0);
    /// let loss = model.backward(Array2::ones((5, 4)).view(), &[0, 1, 0, 1, 1]);
    /// assert!(loss > 0.0 && model.params().iter().all(|p| p.lock().grad.is_some()));
    /// ```
    pub fn backward(&self, images: ArrayView2<f32>, labels: &[usize]) -> f32 {
        let Activations { hidden, probabilities } = self.forward(images);
        let loss = cross_entropy(&probabilities, labels);
        // d(loss)/d(logits) of softmax cross-entropy is `probabilities - one_hot(labels)`
        let mut d_logits = probabilities;
        for (mut row, &label) in d_logits.rows_mut().into_iter().zip(labels) {
            row[label] -= 1.0;
        }
        d_logits /= labels.len() as f32;
        let d_hidden = d_logits.dot(&matrix(&self.w2.lock()).t()) * hidden.mapv(|h| 1.0 - h * h);
        self.w2.set_grad(hidden.t().dot(&d_logits).into_dyn());
        self.b2.set_grad(d_logits.sum_axis(Axis(0)).into_dyn());
        self.w1.set_grad(images.t().dot(&d_hidden).into_dyn());
        self.b1.set_grad(d_hidden.sum_axis(Axis(0)).into_dyn());
        loss
    }

    /// Mean loss and accuracy on `images`, without touching gradients.
    pub fn evaluate(&self, images: ArrayView2<f32>, labels: &[usize]) -> Evaluation {
        let probabilities = self.forward(images).probabilities;
        let correct =
            probabilities.rows().into_iter().zip(labels).filter(|(row, label)| argmax(*row) == **label).count();
        Evaluation { loss: cross_entropy(&probabilities, labels), accuracy: correct as f32 / labels.len() as f32 }
    }

    fn forward(&self, images: ArrayView2<f32>) -> Activations {
        let hidden = (images.dot(&matrix(&self.w1.lock())) + vector(&self.b1.lock())).mapv_into(f32::tanh);
        let logits = hidden.dot(&matrix(&self.w2.lock())) + vector(&self.b2.lock());
        Activations { hidden, probabilities: softmax_rows(logits) }
    }
}

fn matrix(data: &ParamData<f32>) -> ArrayView2<'_, f32> {
    data.value.view().into_dimensionality::<Ix2>().expect("weights are matrices")
}

fn vector(data: &ParamData<f32>) -> ArrayView1<'_, f32> {
    data.value.view().into_dimensionality::<Ix1>().expect("biases are vectors")
}

fn softmax_rows(mut logits: Array2<f32>) -> Array2<f32> {
    for mut row in logits.rows_mut() {
        let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
    logits
}

fn cross_entropy(probabilities: &Array2<f32>, labels: &[usize]) -> f32 {
    let total: f32 = labels.iter().enumerate().map(|(i, &label)| -probabilities[[i, label]].max(1e-30).ln()).sum();
    total / labels.len() as f32
}

fn argmax(row: ArrayView1<f32>) -> usize {
    row.indexed_iter().fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic gradient matches central finite differences of the loss.
    #[test]
    fn gradients_match_finite_differences() {
        let model = Mlp::new(5, 4, 3, 1);
        let images = Array2::from_shape_fn((6, 5), |(i, j)| ((i * 5 + j) as f32 * 0.37).sin());
        let labels = [0, 1, 2, 2, 1, 0];
        model.backward(images.view(), &labels);
        for param in model.params() {
            let grad = param.lock().grad.clone().unwrap();
            for index in 0..grad.len() {
                let nudge = |delta: f32| {
                    param.lock().value.as_slice_mut().unwrap()[index] += delta;
                    let loss = model.evaluate(images.view(), &labels).loss;
                    param.lock().value.as_slice_mut().unwrap()[index] -= delta;
                    loss
                };
                let numeric = (nudge(1e-2) - nudge(-1e-2)) / 2e-2;
                let analytic = grad.as_slice().unwrap()[index];
                assert!((numeric - analytic).abs() < 2e-3, "{numeric} vs {analytic}");
            }
        }
    }
}
