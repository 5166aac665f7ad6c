optimizer! {
    /// Adagrad (Duchi et al., 2011), as `torch.optim.Adagrad`: the learning rate decays with the
    /// step count and is divided by the root of the running sum of squared gradients.
    ///
    /// ```
    /// use optim_core::{builtins::Adagrad, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Adagrad::optimizer(vec![p.clone()], Adagrad::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - (1.0 - 0.1 * 2.0 / (2.0 + 1e-10))).abs() < 1e-12);
    /// ```
    pub Adagrad {
        hyper {
            /// Learning rate.
            lr = 1e-2 in 0.0..,
            /// Decay of the learning rate with the step count.
            lr_decay = 0.0 in 0.0..,
            /// L2 penalty added to the gradient.
            weight_decay = 0.0 in 0.0..,
            /// Starting value of the running sum.
            initial_accumulator_value = 0.0 in 0.0..,
            /// Added to the denominator for stability.
            eps = 1e-10 in 0.0..,
            /// Ascend instead of descend.
            maximize = false,
        }
        state { sum = initial_accumulator_value }
        step {
            let g = if maximize { -grad } else { grad };
            let g = if weight_decay != 0 { g + weight_decay * param } else { g };
            sum += g * g;
            param -= lr / (1 + (step - 1) * lr_decay) * g / (sqrt(sum) + eps);
        }
    }
}
