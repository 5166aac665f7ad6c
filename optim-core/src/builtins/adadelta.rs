optimizer! {
    /// Adadelta (Zeiler, 2012), as `torch.optim.Adadelta`: steps scaled by the ratio of the
    /// running RMS of past updates to the running RMS of gradients.
    ///
    /// ```
    /// use optim_core::{builtins::Adadelta, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Adadelta::optimizer(vec![p.clone()], Adadelta::hyper()).unwrap();
    /// p.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    /// opt.step().unwrap();
    /// let delta = (1e-6f64).sqrt() / (0.1f64 + 1e-6).sqrt();
    /// assert!((p.value()[0] - (1.0 - delta)).abs() < 1e-15);
    /// ```
    pub Adadelta {
        hyper {
            /// Scale of the update.
            lr = 1.0 in 0.0..,
            /// Decay of the running averages.
            rho = 0.9 in 0.0..=1.0,
            /// Added inside the square roots for stability.
            eps = 1e-6 in 0.0..,
            /// L2 penalty added to the gradient.
            weight_decay = 0.0 in 0.0..,
            /// Ascend instead of descend.
            maximize = false,
        }
        state { square_avg = 0, acc_delta = 0 }
        step {
            let g = if maximize { -grad } else { grad };
            let g = if weight_decay != 0 { g + weight_decay * param } else { g };
            square_avg = rho * square_avg + (1 - rho) * g * g;
            let delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g;
            acc_delta = rho * acc_delta + (1 - rho) * delta * delta;
            param -= lr * delta;
        }
    }
}
