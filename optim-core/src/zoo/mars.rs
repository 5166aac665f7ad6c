optimizer! {
    /// MARS (Yuan et al., 2024), as `pytorch_optimizer.MARS` 4.1.0: variance reduction by the
    /// change of the gradient since the last step (`c = g + γ·β₁/(1−β₁)·(g − g_prev)`, scaled to
    /// norm at most 1 per tensor), then AdamW (`mars_type = "adamw"`) or Lion
    /// (`"lion"`: the sign of the momentum). Tensors of one dimension take plain AdamW with
    /// `betas_1d`, `lr_1d` and `weight_decay_1d` unless `optimize_1d`. The step count is the
    /// group's (`param_groups()[g].value("step")`). Two passes over memory for matrices: the
    /// norm of `c` (read-only), then the update. Not offered: `mars_type = "shampoo"` (a matrix
    /// method), `ams_bound`.
    /// A parameter without a gradient is skipped, as the package skips it; a group none of whose
    /// parameters has one still advances its `step`, as the package's does.
    ///
    /// ```
    /// use optim_core::{zoo::{Mars, MarsMarsType}, Param};
    /// let w = Param::new(ndarray::Array2::<f64>::ones((2, 2)).into_dyn());
    /// let mut opt = Mars::optimizer(vec![w.clone()], Mars::hyper().mars_type(MarsMarsType::Lion).lr(0.01)).unwrap();
    /// w.set_grad(ndarray::Array2::from_elem((2, 2), 0.5).into_dyn());
    /// opt.step().unwrap();
    /// assert!((w.value()[[0, 0]] - 0.99).abs() < 1e-12); // lion: lr · sign
    /// ```
    #[name = "MARS"]
    pub Mars {
        hyper {
            /// Learning rate of matrices; decay rates of the momentum and second moment.
            lr = 3e-3 in 0.0.., betas = (0.95, 0.99) in 0.0..1.0,
            /// Strength of the gradient-change correction.
            gamma = 0.025 in 0.0..,
            /// The update after the correction.
            mars_type = "adamw" | "lion",
            /// Treat 1-D tensors as matrices; otherwise they take AdamW with these.
            optimize_1d = false, lr_1d = 3e-3 in 0.0.., betas_1d = (0.9, 0.95) in 0.0..1.0,
            /// Weight decay (of matrices, of 1-D tensors): decoupled when `weight_decouple` (times the step size unless `fixed_decay`), else added to the gradient.
            weight_decay = 0.0 in 0.0.., weight_decay_1d = 0.1 in 0.0.., weight_decouple = true, fixed_decay = false,
            /// Mask the update where its sign disagrees with the gradient's (the package's rescaling).
            cautious = false,
            /// Added to the denominator; and ascend instead of descend.
            eps = 1e-8 in 0.0.., maximize = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0, last_grad = 0, group step = 0 }
        step {
            step += 1;
            let p_old = param;
            let g = if maximize { -grad } else { grad };
            let mixed = optimize_1d || ndim >= 2;
            let b1 = if mixed { betas.0 } else { betas_1d.0 };
            let b2 = if mixed { betas.1 } else { betas_1d.1 };
            let step_size = if mixed { lr } else { lr_1d };
            let decay = if mixed { weight_decay } else { weight_decay_1d };
            let c = if mixed { g + (g - last_grad) * (gamma * (b1 / (1 - b1))) } else { g };
            let c_norm = if mixed { norm(c) } else { 0 };
            let c = if mixed && c_norm > 1 { c / c_norm } else { c };
            exp_avg = lerp(exp_avg, c, 1 - b1);
            let mask = select(exp_avg * g > 0, 1, 0);
            let update = if cautious { exp_avg * (mask * (numel / (sum(mask) + 1))) } else { exp_avg };
            let update = if mixed && mars_type == "lion" { sign(update) } else {
                exp_avg_sq = exp_avg_sq * b2 + (1 - b2) * (c * c);
                update / ((sqrt(exp_avg_sq + 1e-15) + eps) / sqrt(1 - pow(b2, step)) * (1 - pow(b1, step)))
            };
            if decay != 0 && weight_decouple { param *= 1 - decay * select(fixed_decay, 1, step_size); }
            param += -step_size * update;
            // the package adds L2 decay to the gradient after the update: only the kept copy sees it
            last_grad = if decay > 0 && !weight_decouple { g + decay * p_old } else { g };
        }
    }
}
