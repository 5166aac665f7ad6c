optimizer! {
    /// Schedule-Free AdamW (Defazio et al., 2024), as `schedulefree.AdamWScheduleFree` 1.4.1:
    /// no learning-rate schedule; the parameters hold the training point `y`, an interpolation
    /// between the averaged point `x` (what to evaluate) and the SGD-like iterate `z` (state).
    /// Call [`Optimizer::eval`](crate::Optimizer::eval) before evaluating or saving the model and
    /// [`Optimizer::train`](crate::Optimizer::train) before the next step, as with the package.
    ///
    /// The averaging weights are kept once per param group (`k`, `weight_sum`, `lr_max`,
    /// `scheduled_lr` in [`ParamGroup::value`](crate::ParamGroup::value)), as the package keeps
    /// them in `param_groups`. One pass over memory. The optimizer starts in train mode (the
    /// package starts in eval mode and needs `train()` first; before any step that moves
    /// nothing). A parameter without a gradient is skipped; a group none of whose parameters
    /// has one still advances `k`, `weight_sum` and `lr_max`, as the package does. Row-sparse
    /// gradients are refused.
    ///
    /// ```
    /// use optim_core::{zoo::AdamWScheduleFree, Param};
    /// let w = Param::new(ndarray::arr1(&[1.0f64, -1.0]).into_dyn());
    /// let mut opt = AdamWScheduleFree::optimizer(vec![w.clone()], AdamWScheduleFree::hyper().lr(0.01)).unwrap();
    /// for _ in 0..3 {
    ///     w.set_grad(w.value().mapv(|x| 2.0 * x));
    ///     opt.step().unwrap();
    /// }
    /// assert_eq!(opt.param_groups()[0].value("k"), Some(3.0));
    /// opt.eval(); // evaluate at x
    /// let x = w.value();
    /// opt.train(); // back to y for the next step
    /// assert!(x[0] < 1.0);
    /// ```
    #[name = "AdamWScheduleFree"]
    pub AdamWScheduleFree {
        hyper {
            /// Learning rate (the peak, after warmup).
            lr = 0.0025 in 0.0..,
            /// Interpolation between `z` and `x` for the gradient point (`beta1`), and the second-moment decay.
            betas = (0.9, 0.999) in 0.0..1.0,
            /// Added to the denominator.
            eps = 1e-8 in 0.0..,
            /// Weight decay, computed at `y` and applied through the normalised gradient.
            weight_decay = 0.0 in 0.0..,
            /// Steps of linear learning-rate warmup.
            warmup_steps = 0 in 0..,
            /// Weight of step `k` in the average: `(k + 1)^r · lr_max^weight_lr_power`.
            r = 0.0, weight_lr_power = 2.0,
        }
        require { betas.0 > 0 => "betas[0] must be positive: the evaluation point divides by it" }
        state {
            /// The SGD-like iterate; starts at the parameter.
            z = param,
            exp_avg_sq = 0,
            /// Steps taken by the group.
            group k = 0,
            /// Sum of the averaging weights so far.
            group weight_sum = 0,
            /// Largest scheduled learning rate so far.
            group lr_max = -1,
            /// The learning rate of the last step, after warmup.
            group scheduled_lr = 0,
        }
        step {
            let (b1, b2) = betas;
            let sched = if k < warmup_steps { (k + 1) / warmup_steps } else { 1 };
            let bias_correction2 = 1 - pow(b2, k + 1);
            let lr_k = lr * sched;
            scheduled_lr = lr_k;
            lr_max = max(lr_k, lr_max);
            let weight = pow(k + 1, r) * pow(lr_max, weight_lr_power);
            weight_sum += weight;
            let ckp1 = if weight_sum == 0 { 0 } else { weight / weight_sum };
            exp_avg_sq = exp_avg_sq * b2 + (1 - b2) * (grad * grad);
            let g = grad / (sqrt(exp_avg_sq / bias_correction2) + eps);
            let g = if weight_decay != 0 { g + weight_decay * param } else { g };
            param = lerp(param, z, ckp1);
            param += lr_k * (b1 * (1 - ckp1) - 1) * g;
            z -= lr_k * g;
            k += 1;
        }
        eval { param = lerp(param, z, 1 - 1 / betas.0); }
        train { param = lerp(param, z, 1 - betas.0); }
    }
}

optimizer! {
    /// Schedule-Free SGD (Defazio et al., 2024), as `schedulefree.SGDScheduleFree` 1.4.1: SGD
    /// at `z` with the parameters at an interpolation `y` of `z` and the averaged point `x`.
    /// [`Optimizer::eval`](crate::Optimizer::eval) and [`Optimizer::train`](crate::Optimizer::train)
    /// move between `y` and `x`, as with the package; the group keeps `k`, `weight_sum`,
    /// `lr_max` and `scheduled_lr`. One pass over memory; the same notes as
    /// [`AdamWScheduleFree`] on train mode and groups without gradients.
    ///
    /// ```
    /// use optim_core::{zoo::SGDScheduleFree, Param};
    /// let w = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = SGDScheduleFree::optimizer(vec![w.clone()], SGDScheduleFree::hyper().lr(0.1)).unwrap();
    /// w.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    /// opt.step().unwrap();
    /// // first step: ckp1 = 1, so y = z - lr·g·(1 - 0) ... = 1 - 0.1
    /// assert!((w.value()[0] - 0.9).abs() < 1e-15);
    /// assert_eq!(opt.param_groups()[0].value("weight_sum"), Some(0.1f64.powi(2)));
    /// ```
    #[name = "SGDScheduleFree"]
    pub SGDScheduleFree {
        hyper {
            /// Learning rate (the peak, after warmup).
            lr = 1.0 in 0.0..,
            /// Interpolation between `z` and `x` for the gradient point; in (0, 1).
            momentum = 0.9 in 0.0..1.0,
            /// Weight decay, added to the gradient at `y`.
            weight_decay = 0.0 in 0.0..,
            /// Steps of linear learning-rate warmup.
            warmup_steps = 0 in 0..,
            /// Weight of step `k` in the average: `(k + 1)^r · lr_max^weight_lr_power`.
            r = 0.0, weight_lr_power = 2.0,
        }
        require { momentum > 0 => "momentum must be in (0, 1)" }
        state {
            /// The SGD iterate; starts at the parameter.
            z = param,
            group k = 0, group weight_sum = 0, group lr_max = -1, group scheduled_lr = 0,
        }
        step {
            let sched = if k < warmup_steps { (k + 1) / warmup_steps } else { 1 };
            let lr_k = lr * sched;
            scheduled_lr = lr_k;
            lr_max = max(lr_k, lr_max);
            let weight = pow(k + 1, r) * pow(lr_max, weight_lr_power);
            weight_sum += weight;
            let ckp1 = if weight_sum == 0 { 0 } else { weight / weight_sum };
            let g = if weight_decay != 0 { grad + weight_decay * param } else { grad };
            param = lerp(param, z, ckp1);
            param += lr_k * (momentum * (1 - ckp1) - 1) * g;
            z -= lr_k * g;
            k += 1;
        }
        eval { param = lerp(param, z, 1 - 1 / momentum); }
        train { param = lerp(param, z, 1 - momentum); }
    }
}
