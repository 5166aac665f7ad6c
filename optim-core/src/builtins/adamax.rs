optimizer! {
    /// Adamax (Kingma & Ba, 2015), the infinity-norm variant of Adam, as `torch.optim.Adamax`.
    ///
    /// ```
    /// use optim_core::{builtins::Adamax, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Adamax::optimizer(vec![p.clone()], Adamax::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[4.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - 0.9).abs() < 1e-8); // the first step moves by about lr
    /// ```
    pub Adamax {
        hyper {
            /// Learning rate.
            lr = 2e-3 in 0.0..,
            /// Decay rates of the first moment and of the infinity norm.
            betas = (0.9, 0.999) in 0.0..1.0,
            /// Added to the infinity norm for stability.
            eps = 1e-8 in 0.0..,
            /// L2 penalty added to the gradient.
            weight_decay = 0.0 in 0.0..,
            /// Ascend instead of descend.
            maximize = false,
        }
        state { exp_avg = 0, exp_inf = 0 }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            let g = if weight_decay != 0 { g + weight_decay * param } else { g };
            exp_avg = lerp(exp_avg, g, 1 - b1);
            exp_inf = max(exp_inf * b2, abs(g) + eps);
            param -= lr / (1 - pow(b1, step)) * (exp_avg / exp_inf);
        }
    }
}
