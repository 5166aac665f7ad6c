optimizer! {
    /// AdaBelief (Zhuang et al., 2020), as `pytorch_optimizer.AdaBelief` 4.1.0: Adam whose
    /// second moment tracks the squared deviation of the gradient from its mean (the "belief").
    ///
    /// Follows the package: `eps` is added to `exp_avg_var` at every step and again to the
    /// denominator; weight decay is decoupled by default; `rectify` gives RAdam's rectified step
    /// (without the second-moment bias correction), and below `n_sma_threshold` an SGD-momentum
    /// step if `degenerated_to_sgd`, else none; `ams_bound` takes the running maximum of the
    /// variance. The package's `adanorm` and `adam_debias` extras are not provided.
    ///
    /// ```
    /// use optim_core::{zoo::AdaBelief, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = AdaBelief::optimizer(vec![p.clone()], AdaBelief::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// // bias-corrected mean 2, deviation 1.8
    /// assert!((p.value()[0] - (1.0 - 0.1 * 2.0 / 1.8)).abs() < 1e-9);
    /// ```
    #[dense_only]
    pub AdaBelief {
        hyper {
            /// Learning rate; decay rates of the gradient mean and of its squared deviation.
            lr = 1e-3 in 0.0.., betas = (0.9, 0.999) in 0.0..1.0,
            /// Weight decay: decoupled (times `lr` unless `fixed_decay`), or L2 on the gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// RAdam rectification; its threshold; below it an SGD step (else none).
            rectify = false, n_sma_threshold = 5, degenerated_to_sgd = true,
            /// Stability term; use the running maximum of the variance; ascend instead of descend.
            eps = 1e-16 in 0.0.., ams_bound = false, maximize = false,
        }
        state { exp_avg = 0, exp_avg_var = 0, max_exp_avg_var = 0 if ams_bound }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * if fixed_decay { 1 } else { lr }; }
            let g = if weight_decay != 0 && !weight_decouple { g + weight_decay * param } else { g };
            exp_avg = lerp(exp_avg, g, 1 - b1);
            exp_avg_var = b2 * exp_avg_var + (1 - b2) * (g - exp_avg) * (g - exp_avg) + eps;
            if ams_bound { max_exp_avg_var = max(max_exp_avg_var, exp_avg_var); }
            let v = sqrt(if ams_bound { max_exp_avg_var } else { exp_avg_var });
            let b2t = pow(b2, step);
            let n_sma_max = 2 / (1 - b2) - 1;
            let n_sma = n_sma_max - 2 * step * b2t / (1 - b2t);
            let adaptive = !rectify || n_sma >= n_sma_threshold;
            let rt = (1 - b2t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma * n_sma_max / (n_sma_max - 2);
            let rt = if !rectify { 1 } else if adaptive { sqrt(rt) } else if degenerated_to_sgd { 1 } else { -1 };
            let step_size = lr * rt / (1 - pow(b1, step));
            let denom = if rectify { v + eps } else { v / sqrt(1 - b2t) + eps };
            if adaptive { param -= step_size * exp_avg / denom; }
            if !adaptive && step_size > 0 { param -= step_size * exp_avg; }
        }
    }
}
