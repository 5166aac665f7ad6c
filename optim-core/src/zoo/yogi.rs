optimizer! {
    /// Yogi (Zaheer et al., 2018), as `pytorch_optimizer.Yogi` 4.1.0: Adam whose second moment
    /// moves towards `g²` by a fixed fraction of `g²`, in the direction of the difference.
    ///
    /// Follows the package: both moments start at `initial_accumulator`, both are bias-corrected
    /// as in Adam (the step is `lr / (1 - beta1^t)` and the root of the second moment is divided
    /// by `sqrt(1 - beta2^t)`), weight decay is decoupled by default. The package's
    /// `adam_debias` extra is not provided.
    ///
    /// ```
    /// use optim_core::{zoo::Yogi, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Yogi::optimizer(vec![p.clone()], Yogi::hyper()).unwrap();
    /// p.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    /// opt.step().unwrap();
    /// let v = opt.state(0, 0).unwrap().tensor("exp_avg_sq").unwrap()[[0]];
    /// assert!((v - (1e-6 + 0.001)).abs() < 1e-15); // v < g²: grows by (1 - beta2) * g²
    /// ```
    #[dense_only]
    pub Yogi {
        hyper {
            /// Learning rate; decay rates of the first and second moments.
            lr = 1e-2 in 0.0.., betas = (0.9, 0.999) in 0.0..1.0,
            /// Initial value of both moments.
            initial_accumulator = 1e-6,
            /// Weight decay: decoupled (times `lr` unless `fixed_decay`), or L2 on the gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// Added to the denominator; and ascend instead of descend.
            eps = 1e-3 in 0.0.., maximize = false,
        }
        state { exp_avg = initial_accumulator, exp_avg_sq = initial_accumulator }
        step {
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * if fixed_decay { 1 } else { lr }; }
            let g = if weight_decay != 0 && !weight_decouple { g + weight_decay * param } else { g };
            exp_avg = lerp(exp_avg, g, 1 - betas.0);
            exp_avg_sq -= (1 - betas.1) * sign(exp_avg_sq - g * g) * (g * g);
            let denom = sqrt(exp_avg_sq) / sqrt(1 - pow(betas.1, step)) + eps;
            param -= lr / (1 - pow(betas.0, step)) * exp_avg / denom;
        }
    }
}
