optimizer! {
    /// Muon (Jordan et al., 2024), as `torch.optim.Muon` (torch 2.9 and later): SGD momentum
    /// whose update matrix is orthogonalised by a quintic Newton–Schulz iteration, then scaled
    /// by a learning rate adjusted to the matrix's shape.
    ///
    /// Muon takes matrices only (parameters of two or more axes; more are seen as `shape[0]` by
    /// the product of the others); a vector is refused at construction
    /// ([`OptimError::NotAMatrix`](crate::OptimError::NotAMatrix)). The usual split gives the
    /// weight matrices to Muon and the biases, gains and embeddings to AdamW, as two optimizers:
    ///
    /// ```
    /// use optim_core::{builtins::AdamW, zoo::Muon, Param};
    /// let weight = Param::new(ndarray::Array2::<f32>::eye(4).into_dyn());
    /// let bias = Param::new(ndarray::Array1::<f32>::zeros(4).into_dyn());
    /// let mut muon = Muon::optimizer(vec![weight.clone()], Muon::hyper().lr(0.02)).unwrap();
    /// let mut adamw = AdamW::optimizer(vec![bias.clone()], AdamW::hyper()).unwrap();
    /// weight.set_grad(ndarray::Array2::from_elem((4, 4), 0.1f32).into_dyn());
    /// bias.set_grad(ndarray::Array1::from_elem(4, 0.1f32).into_dyn());
    /// muon.step().unwrap();
    /// adamw.step().unwrap();
    /// assert!(weight.value()[[0, 1]] < 0.0);
    /// ```
    ///
    /// `ns_dtype` chooses the iteration's precision: `"bfloat16"` (torch's default) rounds
    /// every matrix of the iteration to bfloat16 after each product, as torch's CPU and GPU
    /// kernels do on bfloat16 tensors; `"param"` runs it in the parameter's own dtype (what
    /// the reference recording does, so float64 can be compared exactly). Each product is one
    /// call into `faer`'s matrix multiply on the optimizer's rayon threads.
    #[name = "Muon"]
    #[dense_only]
    #[bf16_matrices(ns_dtype == "bfloat16")]
    pub Muon {
        hyper {
            /// Learning rate, before the shape adjustment.
            lr = 1e-3 in 0.0..,
            /// Decoupled weight decay: `param *= 1 - lr * weight_decay`.
            weight_decay = 0.1 in 0.0..,
            /// Momentum of the gradient average; Nesterov's look-ahead on the update.
            momentum = 0.95 in 0.0.., nesterov = true,
            /// The quintic iteration's coefficients `(a, b, c)`: `x ← a·x + (b·G + c·G²)·x`, `G = x·xᵀ`.
            ns_coefficients = (3.4445, -4.775, 2.0315),
            /// Lower bound of the norm the update is divided by before the iteration.
            eps = 1e-7 in 0.0..,
            /// Newton–Schulz iterations (torch refuses 100 or more).
            ns_steps = 5 in 0..100,
            /// The learning-rate adjustment: `sqrt(max(1, rows / cols))` (`"original"`), or
            /// `0.2 * sqrt(max(rows, cols))` to match AdamW's update RMS (`"match_rms_adamw"`).
            adjust_lr_fn = "original" | "match_rms_adamw",
            /// The precision of the iteration: bfloat16 as torch, or the parameter's dtype.
            ns_dtype = "bfloat16" | "param",
        }
        state { momentum_buffer = 0 }
        step {
            momentum_buffer = lerp(momentum_buffer, grad, 1 - momentum);
            let update = if nesterov { lerp(grad, momentum_buffer, momentum) } else { momentum_buffer };
            let (a, b, c) = ns_coefficients;
            // the iteration runs on the wide orientation: a tall matrix is transposed
            let mut x = if rows > cols { transpose(update) } else { update };
            x = x / max(norm(x), eps);
            for _ in 0..ns_steps {
                let gram = matmul(x, transpose(x));
                let gram_update = b * gram + c * matmul(gram, gram);
                x = a * x + matmul(gram_update, x);
            }
            let ortho = if rows > cols { transpose(x) } else { x };
            let ratio = if adjust_lr_fn == "original" { sqrt(max(1, rows / cols)) } else { 0.2 * sqrt(max(rows, cols)) };
            param *= 1 - lr * weight_decay;
            param -= lr * ratio * ortho;
        }
    }
}
