optimizer! {
    /// AdaBound (Luo et al., 2019), as `pytorch_optimizer.AdaBound` 4.1.0: Adam whose per-element
    /// step size is clipped into bounds that tighten towards `final_lr`, turning it into SGD.
    ///
    /// Follows the package: `1e-15` is added under the square root, weight decay is decoupled by
    /// default, and `final_lr` is scaled by `lr / base_lr` so that an LR schedule moves the bounds.
    /// The package records `base_lr` per group when the optimizer is built; here it is the
    /// per-parameter scalar state `base_lr`, taken at the parameter's first step (and, as in the
    /// package, replaced by `lr` while it is zero). The package's `adam_debias` extra is not
    /// provided.
    ///
    /// ```
    /// use optim_core::{zoo::AdaBound, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = AdaBound::optimizer(vec![p.clone()], AdaBound::hyper().lr(0.01)).unwrap();
    /// p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// // the first Adam step, lr * sign(g), lies within the first bounds [1e-4, 100.1]
    /// assert!((p.value()[0] - 0.99).abs() < 1e-6);
    /// ```
    #[dense_only]
    pub AdaBound {
        hyper {
            /// Learning rate; the SGD learning rate the bounds converge to; decay rates of the moments.
            lr = 1e-3 in 0.0.., final_lr = 0.1, betas = (0.9, 0.999) in 0.0..1.0,
            /// Convergence speed of the bounds (positive).
            gamma = 1e-3 in 0.0..,
            /// Weight decay: decoupled (times `lr` unless `fixed_decay`), or L2 on the gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// Use the running maximum of the second moment; stability term; ascend instead of descend.
            ams_bound = false, eps = 1e-8 in 0.0.., maximize = false,
        }
        require { gamma > 0 => "gamma must be positive" }
        state { scalar base_lr = lr, exp_avg = 0, exp_avg_sq = 0, max_exp_avg_sq = 0 if ams_bound }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * if fixed_decay { 1 } else { lr }; }
            let g = if weight_decay != 0 && !weight_decouple { g + weight_decay * param } else { g };
            base_lr = if base_lr == 0 { lr } else { base_lr };
            let final_lr = if base_lr > 0 { final_lr * lr / base_lr } else { 0 };
            exp_avg = lerp(exp_avg, g, 1 - b1);
            exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
            if ams_bound { max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq); }
            let v = if ams_bound { max_exp_avg_sq } else { exp_avg_sq };
            let step_size = lr * sqrt(1 - pow(b2, step)) / (1 - pow(b1, step)) / (sqrt(v + 1e-15) + eps);
            let lower = final_lr * (1 - 1 / (gamma * step + 1));
            let upper = final_lr * (1 + 1 / (gamma * step));
            param -= clamp(step_size, lower, upper) * exp_avg;
        }
    }
}
