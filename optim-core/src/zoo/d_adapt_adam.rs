optimizer! {
    /// D-Adaptation Adam (Defazio & Mishchenko, 2023), as `pytorch_optimizer.DAdaptAdam` 4.1.0:
    /// Adam whose step size `d` is estimated from the whole param group.
    ///
    /// One `d` is estimated for the whole model, over every param group: `d`,
    /// `numerator_weighted` and `step` are kept, identical, in every group
    /// ([`ParamGroup::value`](crate::ParamGroup::value)), as the package writes them into each.
    /// Groups may differ in weight decay and `eps`; the package reads `lr`, `betas`,
    /// `bias_correction` and `growth_rate` from one group, so a step whose groups differ in them
    /// is refused ([`OptimError::GroupsDisagree`](crate::OptimError::GroupsDisagree)). As in the package, the estimate's two
    /// sums are float32 accumulators (`torch.tensor([0.0])`) whatever the parameters' dtype:
    /// each tensor's term is added in float32 (`group_sum_f32`), the numerator's `d_lr · Σ…`
    /// with one rounding, as torch's `add_(x, alpha=d_lr)` fuses the multiply and the add, and
    /// `numerator_weighted` and `d_hat` are float32 numbers. Two passes over memory: the two
    /// group sums (read-only), then the update. Tensors without a gradient are skipped, as by
    /// the package; a step in which no parameter has one still advances `step`, as the
    /// package's does.
    ///
    /// ```
    /// use optim_core::{zoo::DAdaptAdam, Param};
    /// let w = Param::new(ndarray::arr1(&[1.0f32, -2.0]).into_dyn());
    /// let mut opt = DAdaptAdam::optimizer(vec![w.clone()], DAdaptAdam::hyper()).unwrap();
    /// for _ in 0..10 {
    ///     w.set_grad(w.value().mapv(|x| 2.0 * x + 0.5));
    ///     opt.step().unwrap();
    /// }
    /// assert_eq!(opt.param_groups()[0].value("step"), Some(10.0));
    /// assert!(opt.param_groups()[0].value("d").unwrap() > 1e-6);
    /// ```
    #[name = "DAdaptAdam"]
    #[across_groups(lr, betas, bias_correction, growth_rate)]
    pub DAdaptAdam {
        hyper {
            /// Scales the estimated step size; leave at 1.
            lr = 1.0 in 0.0..,
            /// Adam's decay rates.
            betas = (0.9, 0.999) in 0.0..1.0,
            /// Initial estimate and the largest growth of `d` per step.
            d0 = 1e-6 in 0.0.., growth_rate = inf in 0.0..,
            /// Weight decay: decoupled when `weight_decouple` (times the step size unless `fixed_decay`), else added to the gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = false, fixed_decay = false,
            /// Divide the step size by Adam's bias correction.
            bias_correction = false,
            /// Added to the denominator; and ascend instead of descend.
            eps = 1e-8 in 0.0.., maximize = false,
        }
        state {
            s = 0, exp_avg = 0, exp_avg_sq = 0,
            /// The step-size estimate.
            group d = d0,
            /// The estimate's running numerator (a float32 number).
            group numerator_weighted = 0,
            /// Steps taken by the group.
            group step = 0,
        }
        step {
            let (b1, b2) = betas;
            let b2_sq = sqrt(b2);
            let bias = (1 - pow(b1, step + 1)) / sqrt(1 - pow(b2, step + 1));
            let d_lr = if bias_correction { d * lr / bias } else { d * lr };
            let g = if maximize { -grad } else { grad };
            let g = if weight_decay > 0 && !weight_decouple { g + weight_decay * param } else { g };
            // the exact product of two float32 numbers: the accumulator rounds once (torch's fused `add_(x, alpha)`)
            let numerator = group_sum_f32(round_f32(d_lr) * round_f32(sum(g * (s / (sqrt(exp_avg_sq) + eps)))));
            exp_avg = exp_avg * b1 + d_lr * (1 - b1) * g;
            exp_avg_sq = exp_avg_sq * b2 + (1 - b2) * (g * g);
            s = s * b2_sq + d_lr * (1 - b2_sq) * g;
            let sk_l1 = group_sum_f32(round_f32(sum(abs(s))));
            step += 1;
            // the package returns before the update when the sum is zero
            if sk_l1 != 0 {
                // torch's float32 lerp on one element: a fused multiply-add of the rounded difference
                let w = round_f32(1 - b2_sq);
                numerator_weighted = round_f32(numerator_weighted + w * round_f32(numerator - numerator_weighted));
                let d_hat = round_f32(numerator_weighted / round_f32(round_f32(1 - b2_sq) * sk_l1));
                d = max(d, min(d_hat, d * growth_rate));
                if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * select(fixed_decay, 1, d_lr); }
                param += -1 * (exp_avg / (sqrt(exp_avg_sq) + eps));
            }
        }
    }
}
