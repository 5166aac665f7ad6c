//! RMSprop, Adagrad and Adadelta, as ndarray expressions.

use ndarray::Array1;

use super::*;

/// `torch.optim.RMSprop`.
#[derive(Debug, Clone)]
pub struct RmsProp {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub centered: bool,
    pub maximize: bool,
    pub state: Option<RmsPropState>,
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
            state: None,
        }
    }
}

impl Naive for RmsProp {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        let n = param.len();
        let (momentum, centered) = (self.momentum, self.centered);
        let (square_avg, buf, grad_avg) = self
            .state
            .get_or_insert_with(|| (zeros(n), (momentum > 0.0).then(|| zeros(n)), centered.then(|| zeros(n))));
        let g = direction(param, grad, self.maximize, self.weight_decay);
        *square_avg *= s(self.alpha);
        *square_avg += &(&(&g * &g) * s(1.0 - self.alpha));
        let avg = match grad_avg {
            Some(grad_avg) => {
                lerp(grad_avg, &g, 1.0 - self.alpha);
                sqrt(&(&*square_avg - &(&*grad_avg * &*grad_avg)))
            }
            None => sqrt(square_avg),
        };
        let avg = &avg + s(self.eps);
        match buf {
            Some(buf) => {
                *buf *= s(self.momentum);
                *buf += &(&g / &avg);
                *param -= &(&*buf * s(self.lr));
            }
            None => *param -= &(&(&g / &avg) * s(self.lr)),
        }
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        let Some((square_avg, buf, grad_avg)) = &self.state else { return Vec::new() };
        let mut out = vec![("square_avg", square_avg)];
        out.extend(buf.iter().map(|b| ("momentum_buffer", b)));
        out.extend(grad_avg.iter().map(|a| ("grad_avg", a)));
        out
    }
}

/// `torch.optim.Adagrad`.
#[derive(Debug, Clone)]
pub struct Adagrad {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub initial_accumulator_value: f64,
    pub eps: f64,
    pub maximize: bool,
    pub step: u64,
    pub sum: Array1<f32>,
}

impl Default for Adagrad {
    fn default() -> Self {
        Adagrad {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
            step: 0,
            sum: zeros(0),
        }
    }
}

impl Naive for Adagrad {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        if self.step == 0 {
            self.sum = Array1::from_elem(param.len(), s(self.initial_accumulator_value));
        }
        self.step += 1;
        let g = direction(param, grad, self.maximize, self.weight_decay);
        let clr = self.lr / (1.0 + (self.step - 1) as f64 * self.lr_decay);
        self.sum += &(&g * &g);
        let std = &sqrt(&self.sum) + s(self.eps);
        *param -= &(&(&g / &std) * s(clr));
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        vec![("sum", &self.sum)]
    }
}

/// `torch.optim.Adadelta`.
#[derive(Debug, Clone)]
pub struct Adadelta {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
    pub state: Option<(Array1<f32>, Array1<f32>)>,
}

impl Default for Adadelta {
    fn default() -> Self {
        Adadelta { lr: 1.0, rho: 0.9, eps: 1e-6, weight_decay: 0.0, maximize: false, state: None }
    }
}

impl Naive for Adadelta {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        let n = param.len();
        let (square_avg, acc_delta) = self.state.get_or_insert_with(|| (zeros(n), zeros(n)));
        let g = direction(param, grad, self.maximize, self.weight_decay);
        let (rho, eps) = (s(self.rho), s(self.eps));
        *square_avg *= rho;
        *square_avg += &(&(&g * &g) * s(1.0 - self.rho));
        let std = sqrt(&(&*square_avg + eps));
        let delta = &(&sqrt(&(&*acc_delta + eps)) / &std) * &g;
        *acc_delta *= rho;
        *acc_delta += &(&(&delta * &delta) * s(1.0 - self.rho));
        *param -= &(&delta * s(self.lr));
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        self.state.iter().flat_map(|(a, d)| [("square_avg", a), ("acc_delta", d)]).collect()
    }
}
