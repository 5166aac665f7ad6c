optimizer! {
    /// SOAP (Vyas et al., 2024), as pytorch-optimizer 4.1.0's `SOAP`: Adam run in the
    /// eigenbases of Shampoo's statistics. Each side of a matrix keeps a running `G·Gᵀ`
    /// (`GG_0`, rows x rows) and `Gᵀ·G` (`GG_1`, cols x cols) and its eigenbasis (`Q_0`,
    /// `Q_1`); the gradient and the momentum are rotated into the bases, Adam's second moment
    /// is kept there, and the update is rotated back. The bases come from a symmetric
    /// eigendecomposition on the first step and, every `precondition_frequency` steps after, from
    /// one power iteration and a QR factorisation, reordered by estimated eigenvalue (the second
    /// moment's rows and columns follow).
    ///
    /// As the reference: the first step only gathers statistics (the parameter does not move)
    /// and later steps count from 1 for the bias corrections; a side longer than
    /// `max_precondition_dim` is not rotated; a vector is plain Adam unless `precondition_1d`
    /// (its one side is then `GG_1`/`Q_1`, the columns of its `1 x n` view; the reference calls
    /// it `GG[0]`); weight decay is decoupled and applied after the update. SOAP takes
    /// parameters of at most two axes ([`OptimError::RankUnsupported`](crate::OptimError::RankUnsupported)
    /// otherwise: the reference preconditions every axis of a convolution kernel, which this
    /// language does not express yet), and refuses `merge_dims`. Where the reference runs the
    /// power iteration's QR in float32 for every dtype, this one runs it in the parameter's
    /// dtype (two LAPACKs differ by more than that choice does: `tests/data/gen_soap_golden.py`).
    ///
    /// ```
    /// use optim_core::{zoo::Soap, Param};
    /// let w = Param::new(ndarray::Array2::<f64>::eye(3).into_dyn());
    /// let mut opt = Soap::optimizer(vec![w.clone()], Soap::hyper().lr(0.01)).unwrap();
    /// for step in 0..3 {
    ///     w.set_grad(ndarray::Array2::from_shape_fn((3, 3), |(i, j)| (i + 2 * j + step) as f64 * 0.1).into_dyn());
    ///     opt.step().unwrap();
    /// }
    /// let state = opt.state(0, 0).unwrap();
    /// assert_eq!(state.tensor("Q_0").unwrap().shape(), &[3, 3]);
    /// assert_ne!(w.value(), ndarray::Array2::<f64>::eye(3).into_dyn()); // the second step moved it
    /// ```
    ///
    /// Each step runs one pass over memory (the gradient and the momentum stored as matrices),
    /// the matrix program (four products to rotate and two to rotate back per side, one for each
    /// statistic, and every `precondition_frequency` steps a product, a sort and a QR per side;
    /// the eigendecomposition on the first step), then the update pass.
    #[name = "SOAP"]
    #[dense_only]
    #[ranks(0..=2)]
    pub Soap {
        hyper {
            /// Learning rate.
            lr = 3e-3 in 0.0..,
            /// Decay of the momentum and of the second moment.
            betas = (0.95, 0.95) in 0.0..1.0,
            /// Decay of the statistics `GG`; not set: `betas.1`.
            shampoo_beta = None in 0.0..1.0,
            /// Decoupled weight decay: `param *= 1 - lr * weight_decay` after the update.
            weight_decay = 1e-2 in 0.0..,
            /// Steps between two refreshes of the eigenbases.
            precondition_frequency = 10 in 1..,
            /// Sides longer than this are not rotated.
            max_precondition_dim = 10000 in 1..,
            /// Must stay off: merging small axes is not supported.
            merge_dims = false,
            /// Rotate vectors too (a `n x n` basis each).
            precondition_1d = false,
            /// Adam's bias corrections on the step size.
            correct_bias = true,
            /// Divide the update by its root mean square (plus `eps`).
            normalize_gradient = false,
            /// Added to the second moment's root.
            eps = 1e-8 in 0.0..,
            /// Ascend instead of descend.
            maximize = false,
        }
        require { !merge_dims => "merge_dims is not supported: SOAP here rotates matrices and vectors as they are" }
        state {
            exp_avg = 0,
            /// Adam's second moment, in the eigenbases.
            exp_avg_sq = 0,
            /// Running `G·Gᵀ` and its eigenbasis (columns by descending eigenvalue).
            matrix(rows, rows) GG_0 = 0 if ndim == 2 && rows <= max_precondition_dim,
            matrix(rows, rows) Q_0 = 0 if ndim == 2 && rows <= max_precondition_dim,
            /// Running `Gᵀ·G` and its eigenbasis.
            matrix(cols, cols) GG_1 = 0 if (ndim == 2 || ndim == 1 && precondition_1d) && cols <= max_precondition_dim,
            matrix(cols, cols) Q_1 = 0 if (ndim == 2 || ndim == 1 && precondition_1d) && cols <= max_precondition_dim,
        }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            // the reference's step counter for the corrections and the refresh
            let s = step - 1;
            if step > 1 {
                exp_avg = lerp(exp_avg, g, 1 - b1);
            }
            // the gradient and the momentum in the bases: Q_0ᵀ · G · Q_1
            let gp = if ndim == 2 && rows <= max_precondition_dim { matmul(transpose(Q_0), g) } else { as_matrix(g) };
            let gp = if (ndim == 2 || ndim == 1 && precondition_1d) && cols <= max_precondition_dim { matmul(gp, Q_1) } else { gp };
            let m = if ndim == 2 && rows <= max_precondition_dim { matmul(transpose(Q_0), exp_avg) } else { as_matrix(exp_avg) };
            let m = if (ndim == 2 || ndim == 1 && precondition_1d) && cols <= max_precondition_dim { matmul(m, Q_1) } else { m };
            // Adam there, and the update rotated back: Q_0 · N · Q_1ᵀ
            let mut v = if step > 1 { lerp(as_matrix(exp_avg_sq), gp * gp, 1 - b2) } else { as_matrix(exp_avg_sq) };
            let n = m / (sqrt(v) + eps);
            let n = if ndim == 2 && rows <= max_precondition_dim { matmul(Q_0, n) } else { n };
            let n = if (ndim == 2 || ndim == 1 && precondition_1d) && cols <= max_precondition_dim { matmul(n, transpose(Q_1)) } else { n };
            let n = if normalize_gradient { n / (norm(n) / sqrt(numel) + eps) } else { n };
            let step_size = if correct_bias { lr * (sqrt(1 - pow(b2, s)) / (1 - pow(b1, s))) } else { lr };
            if step > 1 {
                param -= step_size * n;
                param *= 1 - weight_decay * lr;
            }
            // the statistics, then the bases: an eigendecomposition first, a power iteration after
            let sb = shampoo_beta.unwrap_or(b2);
            if ndim == 2 && rows <= max_precondition_dim {
                GG_0 = lerp(GG_0, matmul(g, transpose(g)), 1 - sb);
            }
            if (ndim == 2 || ndim == 1 && precondition_1d) && cols <= max_precondition_dim {
                GG_1 = lerp(GG_1, matmul(transpose(g), g), 1 - sb);
            }
            if step == 1 {
                if ndim == 2 && rows <= max_precondition_dim {
                    Q_0 = eigh(GG_0);
                }
                if (ndim == 2 || ndim == 1 && precondition_1d) && cols <= max_precondition_dim {
                    Q_1 = eigh(GG_1);
                }
            }
            if step > 1 && s % precondition_frequency == 0 {
                if ndim == 2 && rows <= max_precondition_dim {
                    let p = matmul(GG_0, Q_0);
                    let order = argsort_descending(column_sums(Q_0 * p));
                    v = take_rows(v, order);
                    Q_0 = qr(take_cols(p, order));
                }
                if (ndim == 2 || ndim == 1 && precondition_1d) && cols <= max_precondition_dim {
                    let p = matmul(GG_1, Q_1);
                    let order = argsort_descending(column_sums(Q_1 * p));
                    v = take_cols(v, order);
                    Q_1 = qr(take_cols(p, order));
                }
            }
            exp_avg_sq = v;
        }
    }
}
