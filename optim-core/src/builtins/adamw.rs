optimizer! {
    /// AdamW (Loshchilov & Hutter, 2019), as `torch.optim.AdamW`: Adam with weight decay applied
    /// to the parameter directly, decoupled from the gradient.
    ///
    /// `cautious = true` is C-AdamW (Liang et al., 2024), as timm's `AdamW(caution=True)`: the
    /// update keeps only the elements where the first moment agrees in sign with the gradient,
    /// rescaled by the kept fraction (`mask / max(mean(mask), 1e-3)`, per tensor). That costs
    /// one read-only pass over the tensor before the update pass; off, the step is one pass.
    ///
    /// ```
    /// use optim_core::{builtins::AdamW, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = AdamW::optimizer(vec![p.clone()], AdamW::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[0.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - (1.0 - 0.1 * 0.01)).abs() < 1e-12); // decay alone
    /// ```
    pub AdamW {
        hyper {
            /// Learning rate.
            lr = 1e-3 in 0.0..,
            /// Decay rates of the first and second moment averages.
            betas = (0.9, 0.999) in 0.0..1.0,
            /// Added to the denominator for stability.
            eps = 1e-8 in 0.0..,
            /// Decoupled weight decay: each step multiplies the parameter by `1 - lr * weight_decay`.
            weight_decay = 1e-2 in 0.0..,
            /// Use the maximum of past second moments (AMSGrad).
            amsgrad = false,
            /// Ascend instead of descend.
            maximize = false,
            /// Mask the update where the first moment disagrees in sign with the gradient (C-AdamW).
            #[optional_on_load]
            cautious = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0, max_exp_avg_sq = 0 if amsgrad }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            param *= 1 - lr * weight_decay;
            exp_avg = lerp(exp_avg, g, 1 - b1);
            exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
            let v = if amsgrad { max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq); max_exp_avg_sq } else { exp_avg_sq };
            let agree = select(exp_avg * g > 0, 1, 0);
            let m = if cautious { exp_avg * (agree / max(mean(agree), 1e-3)) } else { exp_avg };
            param -= lr / (1 - pow(b1, step)) * m / (sqrt(v) / sqrt(1 - pow(b2, step)) + eps);
        }
    }
}
