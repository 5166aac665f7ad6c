optimizer! {
    /// LAMB (You et al., 2020), as `pytorch_optimizer.Lamb` 4.1.0: Adam's update scaled per
    /// tensor by the trust ratio `‖w‖ / ‖update‖`, with `‖w‖` clamped to 10 as that package does.
    /// Decoupled weight decay is the package's default. Its `rectify`, `adam_debias` and
    /// `pre_norm` options are not offered. Two passes over memory: the norms, then the update.
    ///
    /// ```
    /// use optim_core::{zoo::Lamb, Param};
    /// let w = Param::new(ndarray::arr1(&[3.0f64, 4.0]).into_dyn());
    /// let mut opt = Lamb::optimizer(vec![w.clone()], Lamb::hyper().lr(0.1)).unwrap();
    /// w.set_grad(ndarray::arr1(&[1.0, 1.0]).into_dyn());
    /// opt.step().unwrap();
    /// let state = opt.state(0, 0).unwrap();
    /// assert_eq!(state.scalar("weight_norm"), Some(5.0));
    /// assert!(w.value()[0] < 3.0);
    /// ```
    pub Lamb {
        hyper {
            /// Learning rate.
            lr = 1e-3 in 0.0..,
            /// Decay rates of the first and second moment averages.
            betas = (0.9, 0.999) in 0.0..1.0,
            /// Weight decay, decoupled (AdamW-style) when `weight_decouple`, else added to the update.
            weight_decay = 0.0 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// Scale the gradient by `1 - beta1` in the first moment; `adam` turns the trust ratio off.
            grad_averaging = true, adam = false,
            /// Added to the denominators.
            eps = 1e-6 in 0.0.., maximize = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0, scalar weight_norm = 0, scalar adam_norm = 0, scalar trust_ratio = 0 }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            exp_avg = b1 * exp_avg + select(grad_averaging, 1 - b1, 1) * g;
            exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * select(fixed_decay, 1, lr); }
            let update = exp_avg / (sqrt(exp_avg_sq) + eps);
            let update = if weight_decay > 0 && !weight_decouple { update + weight_decay * param } else { update };
            weight_norm = clamp(norm(param), 0, 10);
            adam_norm = norm(update);
            trust_ratio = if weight_norm == 0 || adam_norm == 0 { 1 } else { weight_norm / (adam_norm + eps) };
            param -= lr / (1 - pow(b1, step)) * select(adam, 1, trust_ratio) * update;
        }
    }
}
