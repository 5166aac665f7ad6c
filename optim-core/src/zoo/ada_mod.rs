optimizer! {
    /// AdaMod (Ding et al., 2019), as `pytorch_optimizer.AdaMod` 4.1.0: Adam whose per-element
    /// step size is capped by its own exponential moving average, damping early large steps.
    ///
    /// Follows the package: its third beta is `beta3` here (the DSL has float pairs, not
    /// triples); weight decay is decoupled by default. The package's `adam_debias` extra is not
    /// provided.
    ///
    /// ```
    /// use optim_core::{zoo::AdaMod, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = AdaMod::optimizer(vec![p.clone()], AdaMod::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// // the first step is capped at (1 - beta3) = 1e-4 of the Adam step
    /// assert!((p.value()[0] - (1.0 - 0.1 * 1e-4)).abs() < 1e-9);
    /// ```
    #[dense_only]
    pub AdaMod {
        hyper {
            /// Learning rate; decay rates of the first and second moments.
            lr = 1e-3 in 0.0.., betas = (0.9, 0.99) in 0.0..1.0,
            /// Decay rate of the step-size average (the package's `betas[2]`).
            beta3 = 0.9999 in 0.0..=1.0,
            /// Weight decay: decoupled (times `lr` unless `fixed_decay`), or L2 on the gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// Added to the denominator; and ascend instead of descend.
            eps = 1e-8 in 0.0.., maximize = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0, exp_avg_lr = 0 }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * if fixed_decay { 1 } else { lr }; }
            let g = if weight_decay != 0 && !weight_decouple { g + weight_decay * param } else { g };
            exp_avg = lerp(exp_avg, g, 1 - b1);
            exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
            let step_size = lr * sqrt(1 - pow(b2, step)) / (1 - pow(b1, step)) / (sqrt(exp_avg_sq) + eps);
            exp_avg_lr = lerp(exp_avg_lr, step_size, 1 - beta3);
            param -= min(step_size, exp_avg_lr) * exp_avg;
        }
    }
}
