//! Adam and AdamW (through `Moments`), Adamax, NAdam, RAdam and SparseAdam, as ndarray expressions.

use ndarray::Array1;

use super::*;

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
