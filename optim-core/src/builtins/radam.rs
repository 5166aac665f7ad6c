optimizer! {
    /// RAdam (Liu et al., 2020), Adam with a rectified adaptive learning rate, as
    /// `torch.optim.RAdam`, including `decoupled_weight_decay`. While the variance estimate is
    /// unreliable (`rho_t <= 5`) the step is plain bias-corrected momentum.
    ///
    /// ```
    /// use optim_core::{builtins::RAdam, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = RAdam::optimizer(vec![p.clone()], RAdam::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[3.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - (1.0 - 0.1 * 3.0)).abs() < 1e-12); // rho_1 = 1: momentum step
    /// ```
    pub RAdam {
        hyper {
            /// Learning rate.
            lr = 1e-3 in 0.0..,
            /// Decay rates of the first and second moment averages.
            betas = (0.9, 0.999) in 0.0..1.0,
            /// Added to the denominator for stability.
            eps = 1e-8 in 0.0..,
            /// Weight decay: L2 on the gradient, or decoupled if `decoupled_weight_decay`.
            weight_decay = 0.0 in 0.0..,
            /// Apply weight decay to the parameter directly; and ascend instead of descend.
            decoupled_weight_decay = false, maximize = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0 }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && decoupled_weight_decay { param *= 1 - lr * weight_decay; }
            let g = if weight_decay != 0 && !decoupled_weight_decay { g + weight_decay * param } else { g };
            exp_avg = lerp(exp_avg, g, 1 - b1);
            exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
            let bc2 = 1 - pow(b2, step);
            let rho_inf = 2 / (1 - b2) - 1;
            let rho_t = rho_inf - 2 * step * pow(b2, step) / bc2;
            let m = exp_avg / (1 - pow(b1, step)) * lr;
            let rect = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t));
            param -= if rho_t > 5 { m * (sqrt(bc2) / (sqrt(exp_avg_sq) + eps)) * rect } else { m };
        }
    }
}
