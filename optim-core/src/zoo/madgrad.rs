optimizer! {
    /// MADGRAD (Defazio & Jelassi, 2021), as `pytorch_optimizer.MADGRAD` 4.1.0: dual averaging
    /// with a cube-root AdaGrad denominator and momentum by interpolation towards the dual
    /// iterate `x0 - s / rms`.
    ///
    /// Follows the package: the step size is `lr + eps` (0 if `lr` is 0) times `sqrt(step)`;
    /// `x0` is the parameter at its first step when `momentum > 0`, else recomputed from the
    /// current iterate; weight decay is L2 on the gradient, or with `weight_decouple` subtracted
    /// from the new iterate as `(lr + eps) * weight_decay * old_param`. Where the package fills a
    /// zero `rms` (possible only with `eps = 0`) with infinity, `s / rms` is 0 here, the same
    /// quotient. The package counts `step` per optimizer (`state['k']`), here per parameter: the
    /// same while every parameter gets a gradient at every step. Row-sparse gradients, which
    /// the package accepts without momentum, are refused.
    ///
    /// ```
    /// use optim_core::{zoo::Madgrad, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Madgrad::optimizer(vec![p.clone()], Madgrad::hyper().momentum(0.0)).unwrap();
    /// p.set_grad(ndarray::arr1(&[8.0]).into_dyn());
    /// opt.step().unwrap();
    /// let lambda = 1e-3 + 1e-6; // (lr + eps) * sqrt(1)
    /// let expected = 1.0 - lambda * 8.0 / ((lambda * 64.0f64).cbrt() + 1e-6);
    /// assert!((p.value()[0] - expected).abs() < 1e-12);
    /// ```
    #[dense_only]
    #[name = "MADGRAD"]
    pub Madgrad {
        hyper {
            /// Learning rate; momentum (0 disables `x0`).
            lr = 1e-3 in 0.0.., momentum = 0.9 in 0.0..1.0,
            /// Weight decay: L2 on the gradient, or decoupled from the dual averaging.
            weight_decay = 0.0 in 0.0.., weight_decouple = false,
            /// Added to the cube-root denominator and to `lr`; and ascend instead of descend.
            eps = 1e-6 in 0.0.., maximize = false,
        }
        state { grad_sum_sq = 0, s = 0, x0 = 0 if momentum > 0 }
        step {
            let g = if maximize { -grad } else { grad };
            let g = if weight_decay > 0 && !weight_decouple { g + weight_decay * param } else { g };
            let lr = if lr != 0 { lr + eps } else { 0 };
            let lambda = lr * pow(step, 0.5);
            let rms = pow(grad_sum_sq, 1 / 3) + eps;
            let x = if momentum > 0 { if step == 1 { x0 = param; } x0 } else { param + select(rms == 0, 0, s / rms) };
            grad_sum_sq += lambda * g * g;
            s += lambda * g;
            let rms = pow(grad_sum_sq, 1 / 3) + eps;
            let z = x - select(rms == 0, 0, s / rms);
            let old = param;
            param = if momentum > 0 { lerp(param, z, 1 - momentum) } else { z };
            if weight_decay > 0 && weight_decouple { param -= lr * weight_decay * old; }
        }
    }
}
