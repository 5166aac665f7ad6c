optimizer! {
    /// Prodigy (Mishchenko & Defazio, 2024), as the official `prodigyopt.Prodigy` 1.1.2: Adam
    /// whose step size `d` is estimated from the whole param group, so `lr` stays at 1.
    ///
    /// One `d` is estimated for the whole model: the sums `Σ⟨g, p0 − p⟩` and `Σ‖s‖₁` run over
    /// every tensor of every param group that has a gradient (the package skips the others
    /// too), and `d` and the numbers behind it (`d_max`, `d_numerator`, `d_denom`, `d_hat`,
    /// `k`) are kept, identical, in every group
    /// ([`ParamGroup::value`](crate::ParamGroup::value)), as the package writes them into each
    /// of its `param_groups`. Groups may differ in `weight_decay`, `eps` and
    /// `safeguard_warmup`; the package reads the rest from group 0, so a step whose groups
    /// differ in them is refused ([`OptimError::GroupsDisagree`](crate::OptimError::GroupsDisagree)),
    /// and so is a group with `lr = 0`, which the package lets in. Two passes over memory: the
    /// two sums (read-only), then the update. The package's `slice_p` (estimating on every n-th
    /// element) and `fsdp_in_use` are not offered.
    ///
    /// ```
    /// use optim_core::{zoo::Prodigy, Param};
    /// let w = Param::new(ndarray::arr1(&[1.0f64, -2.0, 0.5]).into_dyn());
    /// let mut opt = Prodigy::optimizer(vec![w.clone()], Prodigy::hyper()).unwrap();
    /// for _ in 0..20 {
    ///     w.set_grad(w.value().mapv(|x| 2.0 * x));
    ///     opt.step().unwrap();
    /// }
    /// let d = opt.param_groups()[0].value("d").unwrap();
    /// assert!(d > 1e-6); // the estimate grew from d0 without a learning rate to tune
    /// ```
    #[name = "Prodigy"]
    #[across_groups(lr, betas, beta3, d0, d_coef, growth_rate, use_bias_correction, decouple)]
    pub Prodigy {
        hyper {
            /// Scales the estimated step size; leave at 1.
            lr = 1.0 in 0.0..,
            /// Adam's decay rates.
            betas = (0.9, 0.999) in 0.0..1.0,
            /// Decay of the step-size estimate's sums; not set: `sqrt(betas[1])`.
            beta3 = None in 0.0..=1.0,
            /// Added to the denominator (scaled by `d`).
            eps = 1e-8 in 0.0..,
            /// Weight decay: decoupled (AdamW) when `decouple`, else added to the gradient.
            weight_decay = 0.0 in 0.0.., decouple = true,
            /// Adam's bias correction in the step size; use `d` instead of `d·lr` in `s` early on.
            use_bias_correction = false, safeguard_warmup = false,
            /// Initial estimate, its multiplier, and the largest growth of `d` per step.
            d0 = 1e-6 in 0.0.., d_coef = 1.0 in 0.0.., growth_rate = inf in 0.0..,
        }
        require {
            lr > 0 => "lr must be positive",
            d0 > 0 => "d0 must be positive",
        }
        state {
            /// Running sum of scaled gradients, whose L1 norm is the estimate's denominator.
            s = 0,
            /// The parameter's initial value.
            p0 = param,
            exp_avg = 0 if betas.0 > 0,
            exp_avg_sq = 0,
            /// The step-size estimate and its history.
            group d = d0, group d_max = d0, group d_numerator = 0, group d_denom = 0, group d_hat = 0,
            /// Steps taken by the group.
            group k = 0,
        }
        step {
            let (b1, b2) = betas;
            let b3 = beta3.unwrap_or(sqrt(b2));
            let bias_correction = if use_bias_correction { sqrt(1 - pow(b2, k + 1)) / (1 - pow(b1, k + 1)) } else { 1 };
            let dlr = d * lr * bias_correction;
            let g = if weight_decay != 0 && !decouple { grad + weight_decay * param } else { grad };
            // each tensor's term is scaled before the terms are added, as the package does
            let numerator = group_sum((d / d0) * dlr * sum(g * (p0 - param)));
            if betas.0 > 0 { exp_avg = exp_avg * b1 + d * (1 - b1) * g; }
            exp_avg_sq = exp_avg_sq * b2 + d * d * (1 - b2) * (g * g);
            s = s * b3 + (d / d0) * select(safeguard_warmup, d, dlr) * g;
            let denominator = group_sum(abs(s));
            // the package returns before updating anything else when the sums are zero
            if denominator > 0 {
                d_numerator = d_numerator * b3 + numerator;
                d_denom = denominator;
                d_hat = d_coef * d_numerator / d_denom;
                if d == d0 { d = max(d, d_hat); }
                d_max = max(d_max, d_hat);
                d = min(d_max, d * growth_rate);
                if weight_decay != 0 && decouple { param += -weight_decay * dlr * param; }
                let denom = sqrt(exp_avg_sq) + d * eps;
                if betas.0 > 0 { param += -dlr * (exp_avg / denom); } else { param += -dlr * d * (g / denom); }
                k += 1;
            }
        }
    }
}
