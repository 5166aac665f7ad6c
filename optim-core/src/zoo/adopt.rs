optimizer! {
    /// ADOPT (Taniguchi et al., 2024), as `pytorch_optimizer.ADOPT` 4.1.0: the second moment of
    /// the previous steps normalises the gradient before the momentum, clipped to
    /// `±step^0.25` (the package's default `clip_lambda`), so the update is bounded for any
    /// `beta2`. The first step only initialises `exp_avg_sq`. The step count is the group's
    /// (`param_groups()[g].value("step")`), as the package keeps it; `cautious` masks the update
    /// where it disagrees in sign with the gradient (the package's rescaling,
    /// `mask · numel / (Σ mask + 1)`), one extra read-only pass only while it is on.
    /// A parameter without a gradient is skipped, as the package skips it; a group none of whose
    /// parameters has one still advances its `step`, as the package's does.
    ///
    /// ```
    /// use optim_core::{zoo::Adopt, Param};
    /// let w = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let mut opt = Adopt::optimizer(vec![w.clone()], Adopt::hyper().lr(0.1)).unwrap();
    /// w.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert_eq!(w.value()[0], 1.0); // the first step only measures
    /// opt.step().unwrap();
    /// assert!(w.value()[0] < 1.0);
    /// ```
    #[name = "ADOPT"]
    pub Adopt {
        hyper {
            /// Learning rate.
            lr = 1e-3 in 0.0..,
            /// Decay rates of the momentum and of the second moment.
            betas = (0.9, 0.9999) in 0.0..1.0,
            /// Weight decay: decoupled when `weight_decouple` (times `lr` unless `fixed_decay`), else added to the gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = false, fixed_decay = false,
            /// Lower bound of the denominator.
            eps = 1e-6 in 0.0..,
            /// Mask the update where its sign disagrees with the gradient's; ascend instead of descend.
            cautious = false, maximize = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0, group step = 0 }
        step {
            let (b1, b2) = betas;
            step += 1;
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * select(fixed_decay, 1, lr); }
            let g = if weight_decay > 0 && !weight_decouple { g + weight_decay * param } else { g };
            if step == 1 {
                exp_avg_sq = exp_avg_sq + g * g;
            } else {
                let clip = pow(step, 0.25);
                let normed = clamp(g / max(sqrt(exp_avg_sq), eps), -clip, clip);
                exp_avg = lerp(exp_avg, normed, 1 - b1);
                let mask = select(exp_avg * g > 0, 1, 0);
                let update = if cautious { exp_avg * (mask * (numel / (sum(mask) + 1))) } else { exp_avg };
                param += -lr * update;
                exp_avg_sq = exp_avg_sq * b2 + (1 - b2) * (g * g);
            }
        }
    }
}
