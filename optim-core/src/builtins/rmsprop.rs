optimizer! {
    /// RMSprop (Hinton, 2012) with optional momentum and centering, as `torch.optim.RMSprop`.
    ///
    /// ```
    /// use optim_core::{builtins::RmsProp, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = RmsProp::optimizer(vec![p.clone()], RmsProp::hyper().lr(0.01)).unwrap();
    /// p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// // square_avg = 0.01 * 4, so the step is 0.01 * 2 / (0.2 + 1e-8)
    /// assert!((p.value()[0] - (1.0 - 0.02 / (0.2 + 1e-8))).abs() < 1e-12);
    /// ```
    #[name = "RMSprop"]
    pub RmsProp {
        hyper {
            /// Learning rate.
            lr = 1e-2 in 0.0..,
            /// Smoothing constant of the squared-gradient average.
            alpha = 0.99 in 0.0..,
            /// Added to the denominator for stability.
            eps = 1e-8 in 0.0..,
            /// L2 penalty added to the gradient.
            weight_decay = 0.0 in 0.0..,
            /// Momentum factor; 0 disables the buffer.
            momentum = 0.0 in 0.0..,
            /// Normalise by the variance estimate instead of the raw second moment.
            centered = false,
            /// Ascend instead of descend.
            maximize = false,
        }
        state { square_avg = 0, momentum_buffer = 0 if momentum > 0, grad_avg = 0 if centered }
        step {
            let g = if maximize { -grad } else { grad };
            let g = if weight_decay != 0 { g + weight_decay * param } else { g };
            square_avg = alpha * square_avg + (1 - alpha) * g * g;
            let avg = if centered { grad_avg = lerp(grad_avg, g, 1 - alpha); sqrt(square_avg - grad_avg * grad_avg) }
                else { sqrt(square_avg) } + eps;
            if momentum > 0 { momentum_buffer = momentum * momentum_buffer + g / avg; }
            param -= lr * if momentum > 0 { momentum_buffer } else { g / avg };
        }
    }
}
