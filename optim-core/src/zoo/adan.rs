optimizer! {
    /// Adan (Xie et al., 2022), as `pytorch_optimizer.Adan` 4.1.0: Nesterov-style adaptive
    /// momentum from averages of the gradient, of its difference to the previous gradient, and of
    /// the squared Nesterov-corrected gradient.
    ///
    /// Follows the package: `previous_grad` holds the *negated* last gradient and starts as minus
    /// the first raw gradient, so the first difference is zero (`-2 * grad` with `maximize`,
    /// which the package applies after taking that copy); the default weight decay is the
    /// paper's proximal `param / (1 + lr * weight_decay)` after the step, `weight_decouple` makes
    /// it `param * (1 - lr * weight_decay)` before. The package's third beta is `beta3` here (the
    /// DSL has float pairs, not triples). Its `max_grad_norm` clipping needs the global gradient
    /// norm over all parameters, a reduction the DSL lacks: it is left out, as are `use_gc` and
    /// `adanorm`.
    ///
    /// ```
    /// use optim_core::{zoo::Adan, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Adan::optimizer(vec![p.clone()], Adan::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert!((p.value()[0] - 0.9).abs() < 1e-6); // the first step moves by about lr
    /// assert_eq!(opt.state(0, 0).unwrap().tensor("previous_grad").unwrap()[[0]], -2.0);
    /// ```
    #[dense_only]
    pub Adan {
        hyper {
            /// Learning rate; decay rates of the gradient and gradient-difference averages.
            lr = 1e-3 in 0.0.., betas = (0.98, 0.92) in 0.0..1.0,
            /// Decay rate of the second moment (the package's `betas[2]`).
            beta3 = 0.99 in 0.0..=1.0,
            /// Weight decay: proximal after the step, or decoupled before it.
            weight_decay = 0.0 in 0.0.., weight_decouple = false,
            /// Added to the denominator; and ascend instead of descend.
            eps = 1e-8 in 0.0.., maximize = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0, exp_avg_diff = 0, previous_grad = 0 }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            let diff = g + if step == 1 { -grad } else { previous_grad };
            exp_avg = lerp(exp_avg, g, 1 - b1);
            exp_avg_diff = lerp(exp_avg_diff, diff, 1 - b2);
            let n = diff * b2 + g;
            exp_avg_sq = beta3 * exp_avg_sq + (1 - beta3) * n * n;
            let denom = sqrt(exp_avg_sq) / sqrt(1 - pow(beta3, step)) + eps;
            if weight_decay != 0 && weight_decouple { param *= 1 - lr * weight_decay; }
            param -= lr / (1 - pow(b1, step)) * exp_avg / denom;
            param -= lr * b2 / (1 - pow(b2, step)) * exp_avg_diff / denom;
            if weight_decay != 0 && !weight_decouple { param /= 1 + lr * weight_decay; }
            previous_grad = -g;
        }
    }
}
