optimizer! {
    /// AdEMAMix (Pagliardini et al., 2024), as `pytorch_optimizer.AdEMAMix` 4.1.0: Adam whose
    /// numerator adds `alpha` times a slow, un-debiased gradient average to the fast one.
    ///
    /// Follows the package: its third beta is `beta3` here (the DSL has float pairs, not
    /// triples), and its `t_alpha_beta3 = None` (no warmup) is `t_alpha_beta3 = 0` here (zero
    /// would divide by zero in the package). With a warmup, `alpha` grows linearly and the slow
    /// decay rate follows the paper's half-life schedule from `beta1` to `beta3`. Weight decay is
    /// L2 on the gradient by default, decoupled with `weight_decouple`. The package's `cautious`
    /// and `stable_adamw` extras are not provided.
    ///
    /// ```
    /// use optim_core::{zoo::AdEmaMix, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = AdEmaMix::optimizer(vec![p.clone()], AdEmaMix::hyper().lr(0.1).alpha(0.0)).unwrap();
    /// p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - 0.9).abs() < 1e-6); // without the slow average: Adam
    /// ```
    #[dense_only]
    #[name = "AdEMAMix"]
    pub AdEmaMix {
        hyper {
            /// Learning rate; decay rates of the fast first moment and of the second moment.
            lr = 1e-3 in 0.0.., betas = (0.9, 0.999) in 0.0..1.0,
            /// Decay rate of the slow average; its weight; warmup steps of both (0: none).
            beta3 = 0.9999 in 0.0..=1.0, alpha = 5.0 in 0.0.., t_alpha_beta3 = 0.0 in 0.0..,
            /// Weight decay: L2 on the gradient, or decoupled (times `lr` unless `fixed_decay`).
            weight_decay = 0.0 in 0.0.., weight_decouple = false, fixed_decay = false,
            /// Added to the denominator; and ascend instead of descend.
            eps = 1e-8 in 0.0.., maximize = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0, exp_avg_slow = 0 }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * if fixed_decay { 1 } else { lr }; }
            let g = if weight_decay != 0 && !weight_decouple { g + weight_decay * param } else { g };
            let t = step / t_alpha_beta3;
            let beta3_t = min(exp(ln(b1) * ln(beta3) / ((1 - t) * ln(beta3) + t * ln(b1))), beta3);
            let alpha = if t_alpha_beta3 != 0 { min(step * alpha / t_alpha_beta3, alpha) } else { alpha };
            let beta3 = if t_alpha_beta3 != 0 { beta3_t } else { beta3 };
            exp_avg = lerp(exp_avg, g, 1 - b1);
            exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
            exp_avg_slow = lerp(exp_avg_slow, g, 1 - beta3);
            let denom = sqrt(exp_avg_sq) / sqrt(1 - pow(b2, step)) + eps;
            param -= lr * (exp_avg / (1 - pow(b1, step)) + alpha * exp_avg_slow) / denom;
        }
    }
}
