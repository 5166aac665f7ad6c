optimizer! {
    /// Rprop (Riedmiller & Braun, 1993), as `torch.optim.Rprop`: per-element step sizes grow
    /// while the gradient keeps its sign and shrink when it flips; only the sign of the gradient
    /// is used, and a step after a sign flip is skipped.
    ///
    /// ```
    /// use optim_core::{builtins::Rprop, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Rprop::optimizer(vec![p.clone()], Rprop::hyper().lr(0.1)).unwrap();
    /// for _ in 0..2 {
    ///     p.set_grad(ndarray::arr1(&[5.0]).into_dyn());
    ///     opt.step().unwrap();
    /// }
    /// assert!((p.value()[0] - (1.0 - 0.1 - 0.12)).abs() < 1e-12); // the step grew by etas.1
    /// ```
    pub Rprop {
        hyper {
            /// Initial step size.
            lr = 1e-2 in 0.0..,
            /// Multiplicative decrease and increase of the step size.
            etas = (0.5, 1.2) in 0.0..,
            /// Smallest and largest step size.
            step_sizes = (1e-6, 50.0) in 0.0..,
            /// Ascend instead of descend.
            maximize = false,
        }
        require {
            0 < etas.0 && etas.0 < 1 && 1 < etas.1 => "etas must satisfy 0 < etas.0 < 1 < etas.1",
        }
        state { prev = 0, step_size = lr }
        step {
            let (eta_minus, eta_plus) = etas;
            let g = if maximize { -grad } else { grad };
            let agreement = g * prev;
            let factor = select(agreement > 0, eta_plus, select(agreement < 0, eta_minus, 1));
            step_size = clamp(step_size * factor, step_sizes.0, step_sizes.1);
            let g = select(agreement < 0, 0, g);
            param -= sign(g) * step_size;
            prev = g;
        }
    }
}
