//! Every built-in written the way a user writes it with ndarray arithmetic: one expression per
//! line of PyTorch's documented algorithm (`torch.optim.*`, single-tensor path), each operator a
//! separate pass over memory with its own temporary.
//!
//! They are written from the algorithms and PyTorch's code paths, not from this crate's specs,
//! so they double as an independent cross-check of the fused kernels (`tests/naive_reference.rs`)
//! as well as the baseline the benchmarks compare against. Scalars are computed in `f64`, as
//! Python computes them, and rounded to `f32` where they meet a tensor.
//!
//! Each optimizer is a struct whose first fields are its hyperparameters (PyTorch's defaults in
//! `Default`) and whose last are its state, empty until the first step, so that
//! `naive::Adam { lr: 0.1, ..Default::default() }` builds one.

// shared through `#[path]` by the benches, an example and a test, each using part of it
#![allow(dead_code)]

use ndarray::{Array1, Zip};

/// One optimizer over one tensor, holding its own state.
pub trait Naive: Send {
    /// One step: updates `param` in place from `grad`.
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>);
    /// The per-element states under PyTorch's names, in this crate's declaration order.
    fn states(&self) -> Vec<(&'static str, &Array1<f32>)>;
}

fn s(value: f64) -> f32 {
    value as f32
}

/// `maximize` and L2 `weight_decay` as every optimizer's first two lines.
fn direction(param: &Array1<f32>, grad: &Array1<f32>, maximize: bool, weight_decay: f64) -> Array1<f32> {
    let g = if maximize { -grad } else { grad.clone() };
    if weight_decay != 0.0 { &g + &(param * s(weight_decay)) } else { g }
}

/// `torch.Tensor.lerp_(end, weight)` for a scalar weight, as PyTorch evaluates it.
fn lerp(start: &mut Array1<f32>, end: &Array1<f32>, weight: f64) {
    let w = s(weight);
    let diff = end - &*start;
    if w < 0.5 {
        *start += &(&diff * w);
    } else {
        *start = end - &(&diff * (1.0 - w));
    }
}

fn sqrt(a: &Array1<f32>) -> Array1<f32> {
    a.mapv(f32::sqrt)
}

fn maximum(a: &Array1<f32>, b: &Array1<f32>) -> Array1<f32> {
    Zip::from(a).and(b).map_collect(|x, y| x.max(*y))
}

/// `torch.sign`: zero for zero, unlike `f32::signum`.
fn sign(a: &Array1<f32>) -> Array1<f32> {
    a.mapv(|x| {
        if x > 0.0 {
            1.0
        } else if x < 0.0 {
            -1.0
        } else {
            0.0
        }
    })
}

fn zeros(n: usize) -> Array1<f32> {
    Array1::zeros(n)
}

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

/// Adam's moments and step count, shared by Adam, AdamW and the variants.
#[derive(Debug, Clone, Default)]
pub struct Moments {
    step: u64,
    exp_avg: Array1<f32>,
    exp_avg_sq: Array1<f32>,
    max_exp_avg_sq: Option<Array1<f32>>,
}

impl Moments {
    fn start(&mut self, n: usize, amsgrad: bool) {
        if self.step == 0 {
            self.exp_avg = zeros(n);
            self.exp_avg_sq = zeros(n);
            self.max_exp_avg_sq = amsgrad.then(|| zeros(n));
        }
        self.step += 1;
    }

    /// `exp_avg.lerp_(g, 1 - b1)` and `exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2)`.
    fn update(&mut self, g: &Array1<f32>, (b1, b2): (f64, f64)) {
        lerp(&mut self.exp_avg, g, 1.0 - b1);
        self.exp_avg_sq *= s(b2);
        self.exp_avg_sq += &(&(g * g) * s(1.0 - b2));
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        let mut out = vec![("exp_avg", &self.exp_avg), ("exp_avg_sq", &self.exp_avg_sq)];
        out.extend(self.max_exp_avg_sq.iter().map(|m| ("max_exp_avg_sq", m)));
        out
    }

    /// Adam's update once `g` is final: bias corrections, optional AMSGrad, `addcdiv_`.
    fn adam_update(&mut self, param: &mut Array1<f32>, g: &Array1<f32>, lr: f64, betas: (f64, f64), eps: f64) {
        self.update(g, betas);
        let t = self.step as i32;
        let bias_correction1 = 1.0 - betas.0.powi(t);
        let bias_correction2_sqrt = (1.0 - betas.1.powi(t)).sqrt();
        let step_size = lr / bias_correction1;
        let v = match &mut self.max_exp_avg_sq {
            Some(max) => {
                *max = maximum(max, &self.exp_avg_sq);
                &*max
            }
            None => &self.exp_avg_sq,
        };
        let denom = &(&sqrt(v) / s(bias_correction2_sqrt)) + s(eps);
        *param -= &(&(&self.exp_avg / &denom) * s(step_size));
    }
}

/// `torch.optim.Adam`, or `torch.optim.AdamW` with `decoupled` (see [`Adam::adamw`]).
#[derive(Debug, Clone)]
pub struct Adam {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    /// AdamW: decay the parameter by `1 - lr * weight_decay` instead of adding L2 to the gradient.
    pub decoupled: bool,
    pub amsgrad: bool,
    pub maximize: bool,
    pub m: Moments,
}

impl Default for Adam {
    fn default() -> Self {
        Adam {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            amsgrad: false,
            maximize: false,
            m: Moments::default(),
        }
    }
}

impl Adam {
    /// `torch.optim.AdamW` with its defaults.
    pub fn adamw() -> Self {
        Adam { weight_decay: 1e-2, decoupled: true, ..Adam::default() }
    }
}

impl Naive for Adam {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        self.m.start(param.len(), self.amsgrad);
        let l2 = if self.decoupled { 0.0 } else { self.weight_decay };
        let g = direction(param, grad, self.maximize, l2);
        if self.decoupled {
            *param *= s(1.0 - self.lr * self.weight_decay);
        }
        self.m.adam_update(param, &g, self.lr, self.betas, self.eps);
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        self.m.states()
    }
}

/// RMSprop's `square_avg`, `momentum_buffer` (with a momentum) and `grad_avg` (if centered).
pub type RmsPropState = (Array1<f32>, Option<Array1<f32>>, Option<Array1<f32>>);

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

/// `torch.optim.Adamax`.
#[derive(Debug, Clone)]
pub struct Adamax {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
    pub step: u64,
    pub state: Option<(Array1<f32>, Array1<f32>)>,
}

impl Default for Adamax {
    fn default() -> Self {
        Adamax { lr: 2e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0, maximize: false, step: 0, state: None }
    }
}

impl Naive for Adamax {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        let n = param.len();
        let (exp_avg, exp_inf) = self.state.get_or_insert_with(|| (zeros(n), zeros(n)));
        self.step += 1;
        let g = direction(param, grad, self.maximize, self.weight_decay);
        lerp(exp_avg, &g, 1.0 - self.betas.0);
        // torch: amax over cat([exp_inf * b2, |g| + eps])
        *exp_inf = maximum(&(&*exp_inf * s(self.betas.1)), &(&g.mapv(f32::abs) + s(self.eps)));
        let clr = self.lr / (1.0 - self.betas.0.powi(self.step as i32));
        *param -= &(&(&*exp_avg / &*exp_inf) * s(clr));
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        self.state.iter().flat_map(|(m, u)| [("exp_avg", m), ("exp_inf", u)]).collect()
    }
}

/// `torch.optim.NAdam`, with `decoupled_weight_decay`.
#[derive(Debug, Clone)]
pub struct NAdam {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
    /// A float32 tensor in PyTorch.
    pub mu_product: f32,
    pub m: Moments,
}

impl Default for NAdam {
    fn default() -> Self {
        NAdam {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            momentum_decay: 4e-3,
            decoupled_weight_decay: false,
            maximize: false,
            mu_product: 1.0,
            m: Moments::default(),
        }
    }
}

impl Naive for NAdam {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        self.m.start(param.len(), false);
        let t = self.m.step as f64;
        let (b1, b2) = self.betas;
        let bias_correction2 = 1.0 - b2.powf(t);
        let mut g = direction(param, grad, self.maximize, 0.0);
        if self.weight_decay != 0.0 {
            if self.decoupled_weight_decay {
                *param *= s(1.0 - self.lr * self.weight_decay);
            } else {
                g = &g + &(&*param * s(self.weight_decay));
            }
        }
        let mu = b1 * (1.0 - 0.5 * 0.96f64.powf(t * self.momentum_decay));
        let mu_next = b1 * (1.0 - 0.5 * 0.96f64.powf((t + 1.0) * self.momentum_decay));
        self.mu_product *= s(mu);
        self.m.update(&g, self.betas);
        let denom = &sqrt(&(&self.m.exp_avg_sq / s(bias_correction2))) + s(self.eps);
        let mu_product = self.mu_product as f64;
        let mu_product_next = mu_product * mu_next;
        *param -= &(&(&g / &denom) * s(self.lr * (1.0 - mu) / (1.0 - mu_product)));
        *param -= &(&(&self.m.exp_avg / &denom) * s(self.lr * mu_next / (1.0 - mu_product_next)));
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        self.m.states()
    }
}

/// `torch.optim.RAdam`, with `decoupled_weight_decay`.
#[derive(Debug, Clone)]
pub struct RAdam {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
    pub m: Moments,
}

impl Default for RAdam {
    fn default() -> Self {
        RAdam {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            maximize: false,
            m: Moments::default(),
        }
    }
}

impl Naive for RAdam {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        self.m.start(param.len(), false);
        let mut g = direction(param, grad, self.maximize, 0.0);
        if self.weight_decay != 0.0 {
            if self.decoupled_weight_decay {
                *param *= s(1.0 - self.lr * self.weight_decay);
            } else {
                g = &g + &(&*param * s(self.weight_decay));
            }
        }
        let (b1, b2) = self.betas;
        let t = self.m.step as f64;
        self.m.update(&g, self.betas);
        let bias_correction1 = 1.0 - b1.powf(t);
        let bias_correction2 = 1.0 - b2.powf(t);
        let bias_corrected_exp_avg = &self.m.exp_avg / s(bias_correction1);
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * t * b2.powf(t) / bias_correction2;
        if rho_t > 5.0 {
            let rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)).sqrt();
            let exp_avg_sq_sqrt = &sqrt(&self.m.exp_avg_sq) + s(self.eps);
            let adaptive_lr = exp_avg_sq_sqrt.mapv(|x| s(bias_correction2.sqrt()) / x);
            *param -= &(&(&(&bias_corrected_exp_avg * s(self.lr)) * &adaptive_lr) * s(rect));
        } else {
            *param -= &(&bias_corrected_exp_avg * s(self.lr));
        }
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        self.m.states()
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

/// `torch.optim.SparseAdam` with a gradient that covers every row.
#[derive(Debug, Clone)]
pub struct SparseAdam {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub maximize: bool,
    pub m: Moments,
}

impl Default for SparseAdam {
    fn default() -> Self {
        SparseAdam { lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, maximize: false, m: Moments::default() }
    }
}

impl Naive for SparseAdam {
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>) {
        self.m.start(param.len(), false);
        let g = direction(param, grad, self.maximize, 0.0);
        let (b1, b2) = self.betas;
        let exp_avg_update = &(&g - &self.m.exp_avg) * s(1.0 - b1);
        self.m.exp_avg += &exp_avg_update;
        let exp_avg_sq_update = &(&(&g * &g) - &self.m.exp_avg_sq) * s(1.0 - b2);
        self.m.exp_avg_sq += &exp_avg_sq_update;
        let denom = &sqrt(&self.m.exp_avg_sq) + s(self.eps);
        let t = self.m.step as i32;
        let step_size = self.lr * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
        *param -= &(&(&self.m.exp_avg / &denom) * s(step_size));
    }

    fn states(&self) -> Vec<(&'static str, &Array1<f32>)> {
        self.m.states()
    }
}
