optimizer! {
    /// QHAdam (Ma & Yarats, 2019), as `pytorch_optimizer.QHAdam` 4.1.0: Adam whose numerator and
    /// denominator mix the averaged and the current gradient (squared) with weights `nus`.
    ///
    /// Follows the package: the averages are debiased through the running weights
    /// `beta1_weight = beta1 * beta1_weight + 1` (so they are exact weighted means, as in the
    /// paper), which the package keeps as float32 tensors whatever the parameter's dtype; here they
    /// are scalar states rounded to single precision like it, interpolated with the float32
    /// reciprocal. Weight decay is L2 on the gradient by default, decoupled with
    /// `weight_decouple`.
    ///
    /// ```
    /// use optim_core::{zoo::QHAdam, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = QHAdam::optimizer(vec![p.clone()], QHAdam::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - 0.9).abs() < 1e-6); // the first step moves by about lr
    /// let weight = opt.state(0, 0).unwrap().scalar("beta1_weight").unwrap();
    /// assert_eq!(weight, 1.0);
    /// ```
    #[dense_only]
    pub QHAdam {
        hyper {
            /// Learning rate; decay rates of the first and second moments.
            lr = 1e-3 in 0.0.., betas = (0.9, 0.999) in 0.0..1.0,
            /// Weights of the averages against the current gradient and its square.
            nus = (1.0, 1.0) in 0.0..=1.0,
            /// Weight decay: L2 on the gradient, or decoupled (times `lr` unless `fixed_decay`).
            weight_decay = 0.0 in 0.0.., weight_decouple = false, fixed_decay = false,
            /// Added to the denominator; and ascend instead of descend.
            eps = 1e-8 in 0.0.., maximize = false,
        }
        state { scalar beta1_weight = 0, scalar beta2_weight = 0, exp_avg = 0, exp_avg_sq = 0 }
        step {
            let (nu1, nu2) = nus;
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * if fixed_decay { 1 } else { lr }; }
            let g = if weight_decay != 0 && !weight_decouple { g + weight_decay * param } else { g };
            beta1_weight = round_f32(round_f32(beta1_weight * round_f32(betas.0)) + 1);
            beta2_weight = round_f32(round_f32(beta2_weight * round_f32(betas.1)) + 1);
            exp_avg = lerp(exp_avg, g, round_f32(1 / beta1_weight));
            exp_avg_sq = lerp(exp_avg_sq, g * g, round_f32(1 / beta2_weight));
            let avg_grad = if nu1 != 1 { exp_avg * nu1 + (1 - nu1) * g } else { exp_avg };
            let avg_grad_sq = if nu2 != 1 { exp_avg_sq * nu2 + (1 - nu2) * (g * g) } else { exp_avg_sq };
            param -= lr * avg_grad / (sqrt(avg_grad_sq) + eps);
        }
    }
}
