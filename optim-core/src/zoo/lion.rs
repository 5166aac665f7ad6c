optimizer! {
    /// Lion (Chen et al., 2023), as `pytorch_optimizer.Lion` 4.1.0: the step is `lr` times the
    /// sign of an interpolation between the momentum and the gradient.
    ///
    /// Follows the package where it departs from the paper: besides the paper's decoupled weight
    /// decay, `weight_decouple = false` adds L2 decay to the gradient, and `fixed_decay` drops the
    /// `lr` factor from decoupled decay. `cautious` (Liang et al., 2024) keeps the step only
    /// where its sign agrees with the gradient's, rescaled as the package does
    /// (`mask · numel / (Σ mask + 1)`, per tensor): one read-only pass before the update pass
    /// while it is on. The package's `use_gc` and `adanorm` extras are not provided.
    ///
    /// ```
    /// use optim_core::{zoo::Lion, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64, 1.0]).into_dyn());
    /// let mut opt = Lion::optimizer(vec![p.clone()], Lion::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[3.0, -0.5]).into_dyn());
    /// opt.step().unwrap();
    /// let moved: Vec<f64> = p.value().iter().map(|v| v - 1.0).collect();
    /// assert!((moved[0] + 0.1).abs() < 1e-12 && (moved[1] - 0.1).abs() < 1e-12); // lr * sign
    /// ```
    #[dense_only]
    pub Lion {
        hyper {
            /// Learning rate; decay rates of the interpolation whose sign is the step, and of the momentum.
            lr = 1e-4 in 0.0.., betas = (0.9, 0.99) in 0.0..1.0,
            /// Weight decay: decoupled (times `lr` unless `fixed_decay`), or L2 on the gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// Ascend instead of descend.
            maximize = false,
            /// Mask the step where its sign disagrees with the gradient's.
            #[optional_on_load]
            cautious = false,
        }
        state { exp_avg = 0 }
        step {
            let g = if maximize { -grad } else { grad };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * if fixed_decay { 1 } else { lr }; }
            let g = if weight_decay != 0 && !weight_decouple { g + weight_decay * param } else { g };
            let update = sign(lerp(exp_avg, g, 1 - betas.0));
            let agree = select(update * g > 0, 1, 0);
            param -= lr * if cautious { update * (agree * (numel / (sum(agree) + 1))) } else { update };
            exp_avg = lerp(exp_avg, g, 1 - betas.1);
        }
    }
}
