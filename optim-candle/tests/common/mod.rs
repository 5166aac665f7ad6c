//! A candle MLP on the showcase's embedded digits, shared by the bridge's tests.

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::optim::Optimizer;

/// The 64-32-10 perceptron `tanh(x·w1 + b1)·w2 + b2`, as candle Vars.
pub struct Mlp {
    pub vars: Vec<Var>,
}

/// A small deterministic generator (xorshift), so both runs start from the same weights.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn uniform(&mut self, scale: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * scale
    }
}

impl Mlp {
    /// Glorot-uniform weights from `seed`, zero biases, in `dtype`.
    pub fn new(seed: u64, dtype: DType) -> Result<Self> {
        let mut rng = XorShift(seed);
        let mut var = |shape: (usize, usize), scale: f64| -> Result<Var> {
            let values: Vec<f64> = (0..shape.0 * shape.1).map(|_| rng.uniform(scale)).collect();
            Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu)?.to_dtype(dtype)?)
        };
        let w1 = var((64, 32), (6.0f64 / 96.0).sqrt())?;
        let w2 = var((32, 10), (6.0f64 / 42.0).sqrt())?;
        let b1 = Var::zeros(32, dtype, &Device::Cpu)?;
        let b2 = Var::zeros(10, dtype, &Device::Cpu)?;
        Ok(Mlp { vars: vec![w1, b1, w2, b2] })
    }

    /// Mean softmax cross-entropy on a batch.
    pub fn loss(&self, x: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let [w1, b1, w2, b2] = [0, 1, 2, 3].map(|i| self.vars[i].as_tensor());
        let hidden = x.matmul(w1)?.broadcast_add(b1)?.tanh()?;
        let logits = hidden.matmul(w2)?.broadcast_add(b2)?;
        candle_nn::loss::cross_entropy(&logits, labels)
    }

    /// Every parameter, flattened, widened to f64.
    pub fn values(&self) -> Result<Vec<Vec<f64>>> {
        self.vars.iter().map(|v| v.as_tensor().flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()).collect()
    }
}

/// `batches` minibatches of `size` digits, in `dtype`.
pub fn digits(batches: usize, size: usize, dtype: DType) -> Result<Vec<(Tensor, Tensor)>> {
    let data = showcase::data::Dataset::embedded().map_err(candle_core::Error::wrap)?;
    (0..batches)
        .map(|b| {
            let rows = b * size..(b + 1) * size;
            let pixels: Vec<f32> = data.images.slice(ndarray::s![rows.clone(), ..]).iter().copied().collect();
            let labels: Vec<u32> = data.labels[rows].iter().map(|&l| l as u32).collect();
            let x = Tensor::from_vec(pixels, (size, 64), &Device::Cpu)?.to_dtype(dtype)?;
            Ok((x, Tensor::new(labels, &Device::Cpu)?))
        })
        .collect()
}

/// Trains a fresh model for `steps` minibatch steps with any candle optimizer; returns it.
pub fn train<O: Optimizer>(config: O::Config, dtype: DType, steps: usize) -> Result<Mlp> {
    let model = Mlp::new(0x9E37_79B9_7F4A_7C15, dtype)?;
    let batches = digits(8, 64, dtype)?;
    let mut opt = O::new(model.vars.clone(), config)?;
    for step in 0..steps {
        let (x, y) = &batches[step % batches.len()];
        opt.backward_step(&model.loss(x, y)?)?;
    }
    Ok(model)
}

/// The largest difference between two models' parameters: `(absolute, relative to the
/// parameter's magnitude, floored at 1e-3)`.
pub fn max_difference(a: &Mlp, b: &Mlp) -> Result<(f64, f64)> {
    let (mut abs, mut rel) = (0.0f64, 0.0f64);
    for (x, y) in a.values()?.iter().zip(&b.values()?) {
        for (p, q) in x.iter().zip(y) {
            abs = abs.max((p - q).abs());
            rel = rel.max((p - q).abs() / p.abs().max(q.abs()).max(1e-3));
        }
    }
    Ok((abs, rel))
}
