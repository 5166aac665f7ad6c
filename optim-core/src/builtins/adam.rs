optimizer! {
    /// Adam (Kingma & Ba, 2015) with optional AMSGrad, as `torch.optim.Adam`: L2 weight decay is
    /// added to the gradient.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let mut opt = Adam::optimizer(vec![p.clone()], Adam::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[3.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - 0.9).abs() < 1e-6); // the first step moves by lr
    /// ```
    pub Adam {
        hyper {
            /// Learning rate.
            lr = 1e-3 in 0.0..,
            /// Decay rates of the first and second moment averages.
            betas = (0.9, 0.999) in 0.0..1.0,
            /// Added to the denominator for stability.
            eps = 1e-8 in 0.0..,
            /// L2 penalty added to the gradient.
            weight_decay = 0.0 in 0.0..,
            /// Use the maximum of past second moments (AMSGrad).
            amsgrad = false,
            /// Ascend instead of descend.
            maximize = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0, max_exp_avg_sq = 0 if amsgrad }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            let g = if weight_decay != 0 { g + weight_decay * param } else { g };
            exp_avg = lerp(exp_avg, g, 1 - b1);
            exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
            let v = if amsgrad { max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq); max_exp_avg_sq } else { exp_avg_sq };
            param -= lr / (1 - pow(b1, step)) * exp_avg / (sqrt(v) / sqrt(1 - pow(b2, step)) + eps);
        }
    }
}
