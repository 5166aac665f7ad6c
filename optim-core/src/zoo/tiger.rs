optimizer! {
    /// Tiger (Su, 2023, "Tight-fisted Optimizer"), as `pytorch_optimizer.Tiger` 4.1.0: Lion with
    /// one decay rate, stepping by the sign of the momentum itself.
    ///
    /// Follows the package: decoupled weight decay `0.01` by default, `weight_decouple = false`
    /// for L2 decay on the gradient, `fixed_decay` to drop the `lr` factor from decoupled decay.
    ///
    /// ```
    /// use optim_core::{zoo::Tiger, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Tiger::optimizer(vec![p.clone()], Tiger::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[-4.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - (1.0 * (1.0 - 0.01 * 0.1) + 0.1)).abs() < 1e-12);
    /// ```
    #[dense_only]
    pub Tiger {
        hyper {
            /// Learning rate; decay rate of the momentum.
            lr = 1e-3 in 0.0.., beta = 0.965 in 0.0..1.0,
            /// Weight decay: decoupled (times `lr` unless `fixed_decay`), or L2 on the gradient.
            weight_decay = 0.01 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// Ascend instead of descend.
            maximize = false,
        }
        state { exp_avg = 0 }
        step {
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * if fixed_decay { 1 } else { lr }; }
            let g = if weight_decay != 0 && !weight_decouple { g + weight_decay * param } else { g };
            exp_avg = lerp(exp_avg, g, 1 - beta);
            param -= lr * sign(exp_avg);
        }
    }
}
