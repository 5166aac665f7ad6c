optimizer! {
    /// AdaFactor (Shazeer & Stern, 2018), as `pytorch_optimizer.AdaFactor` 4.1.0: the second
    /// moment of a matrix kept as a row vector and a column vector (memory `R + C` instead of
    /// `R * C`), a relative step size scaled by the parameter's RMS, and the update clipped to
    /// RMS `clip_threshold`.
    ///
    /// Follows the package, which follows the BigVision variant rather than the paper: `eps1` is
    /// added to `g²` before averaging, the second-moment decay is
    /// `beta2_t = min(beta2, 1 - step^decay_rate)`, momentum (`exp_avg`) is kept on by default
    /// and rounded to bfloat16 (the package's `momentum_dtype` default), the update is
    /// `exp_avg` itself. Tensors of two or more axes are factored over their last two axes
    /// (the leading axes stack matrices); vectors keep a full `exp_avg_sq`. Not offered: the
    /// package's `betas[0] = None` (no momentum), other momentum dtypes, `cautious`.
    ///
    /// Three passes over memory: the parameter's RMS with the row and column means of `g²`,
    /// then the RMS of the update, then the update. Row and column vectors are updated
    /// between passes. A vector takes two: both RMS, then the update.
    ///
    /// ```
    /// use optim_core::{zoo::AdaFactor, Param};
    /// let w = Param::new(ndarray::Array2::<f32>::ones((4, 3)).into_dyn());
    /// let mut opt = AdaFactor::optimizer(vec![w.clone()], AdaFactor::hyper()).unwrap();
    /// w.set_grad(ndarray::Array2::from_elem((4, 3), 0.5).into_dyn());
    /// opt.step().unwrap();
    /// let state = opt.state(0, 0).unwrap();
    /// assert_eq!(state.tensor("exp_avg_sq_row").unwrap().shape(), &[4]);
    /// assert_eq!(state.tensor("exp_avg_sq_col").unwrap().shape(), &[3]);
    /// assert!(state.tensor("exp_avg_sq").is_none());
    /// assert_eq!(state.scalar("RMS"), Some(1.0));
    /// assert!(w.value()[[0, 0]] < 1.0);
    /// ```
    #[name = "AdaFactor"]
    pub AdaFactor {
        hyper {
            /// Learning rate, used when `relative_step` is off; decay of the momentum and cap of the second-moment decay.
            lr = 1e-3 in 0.0.., betas = (0.9, 0.999) in 0.0..=1.0,
            /// Exponent of the step-dependent second-moment decay `1 - step^decay_rate`.
            decay_rate = -0.8,
            /// Weight decay: decoupled (times the step size unless `fixed_decay`), or L2 on the gradient.
            weight_decay = 0.0 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// Largest RMS of the update; `ams_bound` keeps the running maximum of the second moment.
            clip_threshold = 1.0 in 0.0.., ams_bound = false,
            /// Scale the step by the parameter's RMS; step size `min(1e-2, 1/sqrt(step))` instead of `lr`; warm it up as `1e-6 * step`.
            scale_parameter = true, relative_step = true, warmup_init = false,
            /// Added to `g²`; lower bound of the parameter RMS; and ascend instead of descend.
            eps1 = 1e-30 in 0.0.., eps2 = 1e-3 in 0.0.., maximize = false,
        }
        state {
            scalar RMS = 0, exp_avg = 0, exp_avg_sq_hat = 0 if ams_bound,
            row exp_avg_sq_row = 0 if ndim >= 2, col exp_avg_sq_col = 0 if ndim >= 2, exp_avg_sq = 0 if ndim < 2,
        }
        step {
            let (b1, b2) = betas;
            let w2 = 1 - min(b2, 1 - pow(step, decay_rate));
            let rel = if relative_step { min(select(warmup_init, 1e-6 * step, 1e-2), 1 / sqrt(step)) } else { lr };
            RMS = norm(param) / sqrt(numel);
            let lr_t = select(scale_parameter, max(eps2, RMS) * rel, rel);
            let g = if maximize { -grad } else { grad };
            let g = if weight_decay > 0 && !weight_decouple { g + weight_decay * param } else { g };
            if weight_decay != 0 && weight_decouple { param *= 1 - weight_decay * select(fixed_decay, 1, lr_t); }
            let u = g * g + eps1;
            if ndim >= 2 {
                exp_avg_sq_row = lerp(exp_avg_sq_row, row_mean(u), w2);
                exp_avg_sq_col = lerp(exp_avg_sq_col, col_mean(u), w2);
            } else {
                exp_avg_sq = lerp(exp_avg_sq, u, w2);
            }
            let v = if ndim >= 2 {
                (1 / sqrt(exp_avg_sq_row / row_mean(exp_avg_sq_row))) * (1 / sqrt(exp_avg_sq_col))
            } else { 1 / sqrt(exp_avg_sq) };
            // a vector's update needs no row or column sums, so its norm (the same values as
            // `norm(update)`, summed in the same order) is taken in the first pass and the
            // second does not run for it: one read of param, grad and exp_avg_sq, not two
            let vector_norm = if ndim < 2 {
                norm(if ams_bound { 1 / sqrt(max(exp_avg_sq_hat, 1 / (1 / sqrt(exp_avg_sq))) / w2) } else { 1 / sqrt(exp_avg_sq) } * g)
            } else { 0 };
            let v = if ams_bound { exp_avg_sq_hat = max(exp_avg_sq_hat, 1 / v); 1 / sqrt(exp_avg_sq_hat / w2) } else { v };
            let update = v * g;
            let update_norm = if ndim >= 2 { norm(update) } else { vector_norm };
            let update = update / max(update_norm / sqrt(numel) / clip_threshold, 1) * lr_t;
            exp_avg = round_bf16(lerp(exp_avg, round_bf16(update), 1 - b1));
            param -= exp_avg;
        }
    }
}
