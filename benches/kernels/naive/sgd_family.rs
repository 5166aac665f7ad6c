//! SGD with momentum, Rprop and ASGD, as ndarray expressions.

use ndarray::{Array1, Zip};

use super::*;

/// `torch.optim.SGD`.
#[derive(Debug, Clone)]
pub struct Sgd {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    pub maximize: bool,
    pub buf: Option<Array1<f32>>,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd { lr: 1e-3, momentum: 0.0, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false, buf: None }
    }
}

impl Naive for Sgd {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        let mut d = direction(param, grad, self.maximize, self.weight_decay);
        if self.momentum != 0.0 {
            let buf = match self.buf.as_mut() {
                None => self.buf.insert(d.clone()),
                Some(buf) => {
                    *buf *= s(self.momentum);
                    *buf += &(&d * s(1.0 - self.dampening));
                    buf
                }
            };
            d = if self.nesterov { &d + &(&*buf * s(self.momentum)) } else { buf.clone() };
        }
        *param -= &(&d * s(self.lr));
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        self.buf.iter().map(|b| ("momentum_buffer", b)).collect()
    }
}

/// `torch.optim.Rprop`.
#[derive(Debug, Clone)]
pub struct Rprop {
    pub lr: f64,
    pub etas: (f64, f64),
    pub step_sizes: (f64, f64),
    pub maximize: bool,
    pub state: Option<(Array1<f32>, Array1<f32>)>,
}

impl Default for Rprop {
    fn default() -> Self {
        Rprop { lr: 1e-2, etas: (0.5, 1.2), step_sizes: (1e-6, 50.0), maximize: false, state: None }
    }
}

impl Naive for Rprop {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        let n = param.len();
        let lr = s(self.lr);
        let (prev, step_size) = self.state.get_or_insert_with(|| (zeros(n), Array1::from_elem(n, lr)));
        let g = direction(param, grad, self.maximize, 0.0);
        let (eta_minus, eta_plus) = (s(self.etas.0), s(self.etas.1));
        let factor = sign(&(&g * &*prev)).mapv(|x| match x {
            x if x > 0.0 => eta_plus,
            x if x < 0.0 => eta_minus,
            _ => 1.0,
        });
        *step_size *= &factor;
        step_size.mapv_inplace(|x| x.clamp(s(self.step_sizes.0), s(self.step_sizes.1)));
        let g = Zip::from(&g).and(&factor).map_collect(|&g, &f| if f == eta_minus { 0.0 } else { g });
        *param -= &(&sign(&g) * &*step_size);
        prev.assign(&g);
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        self.state.iter().flat_map(|(p, z)| [("prev", p), ("step_size", z)]).collect()
    }
}

/// `torch.optim.ASGD`.
#[derive(Debug, Clone)]
pub struct Asgd {
    pub lr: f64,
    pub lambd: f64,
    pub alpha: f64,
    pub t0: f64,
    pub weight_decay: f64,
    pub maximize: bool,
    pub step: u64,
    /// Float32 tensors in PyTorch.
    pub eta: f32,
    pub mu: f32,
    pub ax: Array1<f32>,
}

impl Default for Asgd {
    fn default() -> Self {
        Asgd {
            lr: 1e-2,
            lambd: 1e-4,
            alpha: 0.75,
            t0: 1e6,
            weight_decay: 0.0,
            maximize: false,
            step: 0,
            eta: 0.0,
            mu: 1.0,
            ax: zeros(0),
        }
    }
}

impl Naive for Asgd {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        if self.step == 0 {
            self.eta = s(self.lr);
            self.ax = zeros(param.len());
        }
        self.step += 1;
        let g = direction(param, grad, self.maximize, self.weight_decay);
        let eta = self.eta as f64;
        *param *= s(1.0 - self.lambd * eta);
        *param -= &(&g * s(eta));
        if self.mu != 1.0 {
            self.ax += &(&(&*param - &self.ax) * self.mu);
        } else {
            self.ax.assign(param);
        }
        let t = self.step as f64;
        self.eta = s(self.lr / (1.0 + self.lambd * self.lr * t).powf(self.alpha));
        self.mu = s(1.0 / (t - self.t0).max(1.0));
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        vec![("ax", &self.ax)]
    }
}
