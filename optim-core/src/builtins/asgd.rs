optimizer! {
    /// Averaged SGD (Polyak & Juditsky, 1992), as `torch.optim.ASGD`: SGD with a decaying step
    /// `eta`, plus a running average `ax` of the iterates that starts after `t0` steps.
    ///
    /// `eta` and `mu` are rounded to single precision because PyTorch keeps them in its default
    /// float32 scalar dtype. ASGD refuses row-sparse gradients: its average needs every step.
    ///
    /// ```
    /// use optim_core::{builtins::Asgd, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Asgd::optimizer(vec![p.clone()], Asgd::hyper().lr(0.5).lambd(0.0)).unwrap();
    /// p.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert_eq!(p.value()[0], 0.5);
    /// assert_eq!(opt.state(0, 0).unwrap().tensor("ax").unwrap()[[0]], 0.5);
    /// ```
    #[dense_only]
    #[name = "ASGD"]
    pub Asgd {
        hyper {
            /// Learning rate.
            lr = 1e-2 in 0.0..,
            /// Decay term.
            lambd = 1e-4 in 0.0..,
            /// Power of the eta decay.
            alpha = 0.75 in 0.0..,
            /// Step at which averaging starts.
            t0 = 1e6 in 0.0..,
            /// L2 penalty added to the gradient.
            weight_decay = 0.0 in 0.0..,
            /// Ascend instead of descend.
            maximize = false,
        }
        state { scalar eta = round_f32(lr), scalar mu = 1, ax = 0 }
        step {
            let g = if maximize { -grad } else { grad };
            let g = if weight_decay != 0 { g + weight_decay * param } else { g };
            param *= 1 - lambd * eta;
            param -= eta * g;
            ax = if mu != 1 { ax + (param - ax) * mu } else { param };
            eta = round_f32(lr / pow(1 + lambd * lr * step, alpha));
            mu = round_f32(1 / max(1, step - t0));
        }
    }
}
