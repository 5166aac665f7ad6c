optimizer! {
    /// Adam for row-sparse gradients, as `torch.optim.SparseAdam`: only the rows a gradient
    /// covers have their moments and values updated ("lazy" Adam); `step` counts every step of
    /// the parameter. Unlike [`Adam`](super::Adam), `eps` is added to the uncorrected
    /// `sqrt(exp_avg_sq)` and the bias corrections fold into the step size, as PyTorch does.
    /// Dense gradients are accepted too and behave as a gradient covering every row.
    ///
    /// ```
    /// use optim_core::{builtins::SparseAdam, Param, RowSparse};
    /// let table = Param::new(ndarray::ArrayD::<f32>::zeros(vec![4, 2]));
    /// let mut opt = SparseAdam::optimizer(vec![table.clone()], SparseAdam::hyper().lr(0.1)).unwrap();
    /// table.set_sparse_grad(RowSparse::new(vec![2], ndarray::ArrayD::ones(vec![1, 2])).unwrap()).unwrap();
    /// opt.step().unwrap();
    /// let value = table.value();
    /// assert!((value[[2, 0]] + 0.1).abs() < 1e-6);
    /// assert_eq!(value[[0, 0]], 0.0); // untouched row
    /// ```
    pub SparseAdam {
        hyper {
            /// Learning rate.
            lr = 1e-3 in 0.0..,
            /// Decay rates of the first and second moment averages.
            betas = (0.9, 0.999) in 0.0..1.0,
            /// Added to `sqrt(exp_avg_sq)` for stability.
            eps = 1e-8 in 0.0..,
            /// Ascend instead of descend.
            maximize = false,
        }
        state { exp_avg = 0, exp_avg_sq = 0 }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            exp_avg = exp_avg + (g - exp_avg) * (1 - b1);
            exp_avg_sq = exp_avg_sq + (g * g - exp_avg_sq) * (1 - b2);
            param -= lr * sqrt(1 - pow(b2, step)) / (1 - pow(b1, step)) * (exp_avg / (sqrt(exp_avg_sq) + eps));
        }
    }
}
