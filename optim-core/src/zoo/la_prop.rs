optimizer! {
    /// LaProp (Ziyin et al., 2020), as `pytorch_optimizer.LaProp` 4.1.0: the momentum averages
    /// the gradient *already divided* by the RMS of past gradients, decoupling momentum from
    /// adaptivity.
    ///
    /// Follows the package: the first-moment bias correction is the running average of `lr`
    /// itself (`exp_avg_lr_1 / lr`, exact under an LR schedule; `exp_avg_lr_2` is kept as the
    /// package keeps it, unused); `centered` subtracts the squared mean gradient after
    /// `steps_before_using_centered` steps; `ams_bound` takes the running maximum; `1e-15` is added
    /// under the square root. Weight decay is decoupled, after the step; with `weight_decouple =
    /// false` the package adds it to the gradient only after the gradient's last use, so it has
    /// no effect, and none here. The package's `cautious` extra is not provided.
    ///
    /// ```
    /// use optim_core::{zoo::LaProp, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = LaProp::optimizer(vec![p.clone()], LaProp::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - 0.9).abs() < 1e-6); // the first step moves by about lr
    /// ```
    #[dense_only]
    pub LaProp {
        hyper {
            /// Learning rate; decay rates of the momentum and of the second moment.
            lr = 4e-4 in 0.0.., betas = (0.9, 0.999) in 0.0..1.0,
            /// Centre the second moment, from this step on.
            centered = false, steps_before_using_centered = 10,
            /// Decoupled weight decay (times `lr` unless `fixed_decay`); see above for `weight_decouple`.
            weight_decay = 0.0 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// Use the running maximum of the second moment; stability term; ascend instead of descend.
            ams_bound = false, eps = 1e-15 in 0.0.., maximize = false,
        }
        state {
            exp_avg = 0, exp_avg_sq = 0, scalar exp_avg_lr_1 = 0, scalar exp_avg_lr_2 = 0,
            exp_mean_avg_beta2 = 0 if centered, max_exp_avg_sq = 0 if ams_bound,
        }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
            exp_avg_lr_1 = exp_avg_lr_1 * b1 + (1 - b1) * lr;
            exp_avg_lr_2 = exp_avg_lr_2 * b2 + (1 - b2);
            if centered { exp_mean_avg_beta2 = lerp(exp_mean_avg_beta2, g, 1 - b2); }
            let mean = if centered { exp_mean_avg_beta2 } else { 0 };
            let v = if step > steps_before_using_centered { exp_avg_sq - mean * mean } else { exp_avg_sq };
            if ams_bound { max_exp_avg_sq = max(max_exp_avg_sq, v); }
            let v = if ams_bound { max_exp_avg_sq } else { v };
            exp_avg = b1 * exp_avg + (1 - b1) * lr * g / ((sqrt(v + 1e-15) + eps) / sqrt(1 - pow(b2, step)));
            param -= (1 / if lr != 0 { exp_avg_lr_1 / lr } else { 1 }) * exp_avg;
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * if fixed_decay { 1 } else { lr }; }
        }
    }
}
