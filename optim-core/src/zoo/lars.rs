optimizer! {
    /// LARS (You et al., 2017), as `pytorch_optimizer.LARS` 4.1.0: for matrices and larger, the
    /// gradient plus weight decay is scaled by the layer-wise trust ratio
    /// `trust_coefficient · ‖w‖ / (‖g‖ + weight_decay · ‖w‖)`; vectors (biases) step as plain SGD
    /// with momentum, as that package does.
    ///
    /// ```
    /// use optim_core::{zoo::Lars, Param};
    /// let w = Param::new(ndarray::arr2(&[[3.0f64, 4.0]]).into_dyn());
    /// let mut opt = Lars::optimizer(vec![w.clone()], Lars::hyper().lr(1.0).momentum(0.0)).unwrap();
    /// w.set_grad(ndarray::arr2(&[[0.6, 0.8]]).into_dyn());
    /// opt.step().unwrap();
    /// // trust ratio 1e-3 · 5 / 1: the step is lr · 5e-3 · g
    /// assert!((w.value()[[0, 0]] - (3.0 - 5e-3 * 0.6)).abs() < 1e-15);
    /// ```
    #[name = "LARS"]
    pub Lars {
        hyper {
            /// Learning rate.
            lr = 1e-3 in 0.0..,
            /// Weight decay, added to the gradient before the trust ratio.
            weight_decay = 0.0 in 0.0..,
            /// Momentum factor and its dampening; `momentum = 0` disables the buffer.
            momentum = 0.9 in 0.0..=1.0, dampening = 0.0 in 0.0..=1.0,
            /// Scale of the trust ratio.
            trust_coefficient = 1e-3 in 0.0..,
            /// Nesterov momentum; and ascend instead of descend.
            nesterov = false, maximize = false,
        }
        state { momentum_buffer = 0 if momentum > 0 }
        step {
            let g = if maximize { -grad } else { grad };
            let param_norm = norm(param);
            let denominator = norm(g) + weight_decay * param_norm;
            let trust_ratio = if param_norm > 0 && denominator > 0 { trust_coefficient * param_norm / denominator } else { 1 };
            let g = if ndim > 1 { (g + weight_decay * param) * trust_ratio } else { g };
            if momentum > 0 { momentum_buffer = momentum * momentum_buffer + (1 - dampening) * g; }
            let g = if momentum > 0 { if nesterov { g + momentum * momentum_buffer } else { momentum_buffer } } else { g };
            param -= lr * g;
        }
    }
}
