optimizer! {
    /// NAdam (Dozat, 2016), Adam with Nesterov momentum and a momentum schedule, as
    /// `torch.optim.NAdam`, including `decoupled_weight_decay` (NAdamW).
    ///
    /// `mu_product` is rounded to single precision after each update because PyTorch keeps it in
    /// its default float32 scalar dtype, whatever the parameter's dtype.
    ///
    /// ```
    /// use optim_core::{builtins::NAdam, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = NAdam::optimizer(vec![p.clone()], NAdam::hyper()).unwrap();
    /// p.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    /// opt.step().unwrap();
    /// let mu_product = opt.state(0, 0).unwrap().scalar("mu_product").unwrap();
    /// assert!((mu_product - 0.9 * (1.0 - 0.5 * 0.96f64.powf(0.004))).abs() < 1e-7);
    /// ```
    pub NAdam {
        hyper {
            /// Learning rate.
            lr = 2e-3 in 0.0..,
            /// Decay rates of the first and second moment averages.
            betas = (0.9, 0.999) in 0.0..1.0,
            /// Added to the denominator for stability.
            eps = 1e-8 in 0.0..,
            /// Weight decay: L2 on the gradient, or decoupled if `decoupled_weight_decay`.
            weight_decay = 0.0 in 0.0..,
            /// Speed of the momentum schedule.
            momentum_decay = 4e-3 in 0.0..,
            /// Apply weight decay to the parameter directly (NAdamW); and ascend instead of descend.
            decoupled_weight_decay = false, maximize = false,
        }
        state { scalar mu_product = 1, exp_avg = 0, exp_avg_sq = 0 }
        step {
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && decoupled_weight_decay { param *= 1 - lr * weight_decay; }
            let g = if weight_decay != 0 && !decoupled_weight_decay { g + weight_decay * param } else { g };
            let mu = betas.0 * (1 - 0.5 * pow(0.96, step * momentum_decay));
            let mu_next = betas.0 * (1 - 0.5 * pow(0.96, (step + 1) * momentum_decay));
            mu_product = round_f32(mu_product * round_f32(mu));
            exp_avg = lerp(exp_avg, g, 1 - betas.0);
            exp_avg_sq = betas.1 * exp_avg_sq + (1 - betas.1) * g * g;
            let denom = sqrt(exp_avg_sq / (1 - pow(betas.1, step))) + eps;
            param -= lr * (1 - mu) / (1 - mu_product) * (g / denom);
            param -= lr * mu_next / (1 - mu_product * mu_next) * (exp_avg / denom);
        }
    }
}
