optimizer! {
    /// diffGrad (Dubey et al., 2019), as `pytorch_optimizer.DiffGrad` 4.1.0: Adam whose momentum
    /// is damped by `sigmoid(|previous_grad - grad|)`, slowing down where the gradient barely
    /// changes.
    ///
    /// Follows the package: weight decay is decoupled by default; `1e-15` is added under the
    /// square root; `rectify` gives RAdam's rectified step (with the undamped momentum below
    /// `n_sma_threshold`, if `degenerated_to_sgd`); `ams_bound` takes the running maximum of the
    /// second moment. The sigmoid is written `1 / (1 + exp(-x))`, as torch computes it. The
    /// package's `adanorm` and `adam_debias` extras are not provided.
    ///
    /// ```
    /// use optim_core::{zoo::DiffGrad, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = DiffGrad::optimizer(vec![p.clone()], DiffGrad::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// let damping = 1.0 / (1.0 + (-2.0f64).exp()); // previous_grad starts at zero
    /// assert!((p.value()[0] - (1.0 - 0.1 * damping)).abs() < 1e-6);
    /// ```
    #[dense_only]
    pub DiffGrad {
        hyper {
            /// Learning rate; decay rates of the first and second moments.
            lr = 1e-3 in 0.0.., betas = (0.9, 0.999) in 0.0..1.0,
            /// Weight decay: decoupled (times `lr` unless `fixed_decay`), or L2 on the gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// RAdam rectification; its threshold; below it an SGD step (else none).
            rectify = false, n_sma_threshold = 5, degenerated_to_sgd = true,
            /// Use the running maximum of the second moment; stability term; ascend instead of descend.
            ams_bound = false, eps = 1e-8 in 0.0.., maximize = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0, previous_grad = 0, max_exp_avg_sq = 0 if ams_bound }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * if fixed_decay { 1 } else { lr }; }
            let g = if weight_decay != 0 && !weight_decouple { g + weight_decay * param } else { g };
            exp_avg = lerp(exp_avg, g, 1 - b1);
            exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
            if ams_bound { max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq); }
            let v = if ams_bound { max_exp_avg_sq } else { exp_avg_sq };
            let b2t = pow(b2, step);
            let n_sma_max = 2 / (1 - b2) - 1;
            let n_sma = n_sma_max - 2 * step * b2t / (1 - b2t);
            let adaptive = !rectify || n_sma >= n_sma_threshold;
            let rt = (1 - b2t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma * n_sma_max / (n_sma_max - 2);
            let rt = if adaptive { sqrt(rt) } else if degenerated_to_sgd { 1 } else { -1 };
            let step_size = lr * (if rectify { rt } else { sqrt(1 - b2t) }) / (1 - pow(b1, step));
            let dfc = 1 / (1 + exp(-abs(previous_grad - g))) * exp_avg;
            if adaptive { param -= step_size * dfc / (sqrt(v + 1e-15) + eps); }
            if !adaptive && step_size > 0 { param -= step_size * exp_avg; }
            previous_grad = g;
        }
    }
}
