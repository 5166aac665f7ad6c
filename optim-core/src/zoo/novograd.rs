optimizer! {
    /// NovoGrad (Ginsburg et al., 2019), as `pytorch_optimizer.NovoGrad` 4.1.0: the second moment
    /// is one number per tensor, an average of `‖g‖²`; the first moment averages the gradient
    /// normalised by it. As in that package the first step copies rather than averages.
    ///
    /// ```
    /// use optim_core::{zoo::NovoGrad, Param};
    /// let w = Param::new(ndarray::arr1(&[1.0f64, 1.0]).into_dyn());
    /// let mut opt = NovoGrad::optimizer(vec![w.clone()], NovoGrad::hyper().lr(0.1)).unwrap();
    /// w.set_grad(ndarray::arr1(&[3.0, 4.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert_eq!(opt.state(0, 0).unwrap().scalar("grads_ema"), Some(25.0));
    /// assert!((w.value()[0] - (1.0 - 0.1 * 3.0 / (5.0 + 1e-8))).abs() < 1e-15);
    /// ```
    #[name = "NovoGrad"]
    pub NovoGrad {
        hyper {
            /// Learning rate.
            lr = 1e-3 in 0.0..,
            /// Decay rates of the first moment and of the per-tensor second moment.
            betas = (0.95, 0.98) in 0.0..1.0,
            /// Weight decay: decoupled when `weight_decouple`, else added to the normalised gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = false, fixed_decay = false,
            /// Scale the normalised gradient by `1 - beta1` in the first moment.
            grad_averaging = false,
            /// Added to the denominator; and ascend instead of descend.
            eps = 1e-8 in 0.0.., maximize = false,
        }
        state { scalar grads_ema = 0, moments = 0 }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            let squares = sum(g * g);
            grads_ema = if step == 1 { squares } else { lerp(grads_ema, squares, 1 - b2) };
            let g = g / (sqrt(grads_ema) + eps);
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * select(fixed_decay, 1, lr); }
            let g = if weight_decay > 0 && !weight_decouple { g + weight_decay * param } else { g };
            moments = if step == 1 { g } else { b1 * moments + select(grad_averaging, 1 - b1, 1) * g };
            param -= lr * moments;
        }
    }
}
