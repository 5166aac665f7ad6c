optimizer! {
    /// Stochastic gradient descent with optional momentum, dampening and Nesterov momentum, as
    /// `torch.optim.SGD`. The momentum buffer starts as the first gradient.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Sgd::optimizer(vec![p.clone()], Sgd::hyper().lr(0.1).momentum(0.9)).unwrap();
    /// p.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - 0.9).abs() < 1e-12);
    /// ```
    #[name = "SGD"]
    pub Sgd {
        hyper {
            /// Learning rate.
            lr = 1e-3 in 0.0..,
            /// Momentum factor; 0 disables the buffer.
            momentum = 0.0 in 0.0..,
            /// Dampening of the gradient added to the buffer.
            dampening = 0.0,
            /// L2 penalty added to the gradient.
            weight_decay = 0.0 in 0.0..,
            /// Nesterov momentum.
            nesterov = false,
            /// Ascend instead of descend.
            maximize = false,
        }
        require {
            !nesterov || (momentum > 0 && dampening == 0) => "nesterov momentum requires a momentum and zero dampening",
        }
        state { momentum_buffer = 0 if momentum != 0 }
        step {
            let g = if maximize { -grad } else { grad };
            let g = if weight_decay != 0 { g + weight_decay * param } else { g };
            if momentum != 0 {
                momentum_buffer = if step == 1 { g } else { momentum * momentum_buffer + (1 - dampening) * g };
                param -= lr * if nesterov { g + momentum * momentum_buffer } else { momentum_buffer };
            } else {
                param -= lr * g;
            }
        }
    }
}
