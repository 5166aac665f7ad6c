optimizer! {
    /// signSGD and Signum (Bernstein et al., 2018), as `pytorch_optimizer.SignSGD` 4.1.0: the
    /// step is `lr` times the sign of the gradient, or with `momentum > 0` (the default, Signum)
    /// the sign of its exponential moving average.
    ///
    /// Follows the package: the average is `lerp(momentum_buffer, g, 1 - momentum)` (the paper's
    /// Signum weights the gradient by `1 - momentum` too), weight decay is decoupled by default.
    ///
    /// ```
    /// use optim_core::{zoo::SignSgd, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = SignSgd::optimizer(vec![p.clone()], SignSgd::hyper().lr(0.1)).unwrap();
    /// for g in [1.0, -0.5] {
    ///     p.set_grad(ndarray::arr1(&[g]).into_dyn());
    ///     opt.step().unwrap();
    /// }
    /// assert!((p.value()[0] - 0.8).abs() < 1e-12); // the average is still positive
    /// ```
    #[dense_only]
    #[name = "SignSGD"]
    pub SignSgd {
        hyper {
            /// Learning rate; decay rate of the gradient average, 0 for plain signSGD.
            lr = 1e-3 in 0.0.., momentum = 0.9 in 0.0..1.0,
            /// Weight decay: decoupled (times `lr`), or L2 on the gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = true,
            /// Ascend instead of descend.
            maximize = false,
        }
        state { momentum_buffer = 0 if momentum > 0 }
        step {
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * lr; }
            let g = if weight_decay != 0 && !weight_decouple { g + weight_decay * param } else { g };
            if momentum > 0 { momentum_buffer = lerp(momentum_buffer, g, 1 - momentum); }
            param -= lr * sign(if momentum > 0 { momentum_buffer } else { g });
        }
    }
}
