//! A custom optimizer in a few lines: the whole definition is the `optimizer!` block below.

use optim::prelude::*;

optimizer! {
    /// Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"): every weight
    /// moves by exactly `lr` in the direction of the sign of an interpolation between the
    /// momentum and the gradient, with decoupled weight decay.
    ///
    /// ```
    /// use optim::prelude::*;
    /// use showcase::lion::Lion;
    /// let w = Param::new(ndarray::arr1(&[1.0f32, 1.0]).into_dyn());
    /// let mut opt = Lion::optimizer(vec![w.clone()], Lion::hyper().lr(0.1)).unwrap();
    /// w.set_grad(ndarray::arr1(&[5.0, -0.01]).into_dyn());
    /// opt.step().unwrap();
    /// assert_eq!(w.value(), ndarray::arr1(&[0.9f32, 1.1]).into_dyn());
    /// ```
    pub Lion {
        hyper {
            /// Learning rate: the size of every step.
            lr = 1e-4 in 0.0..,
            /// Interpolation for the update direction, and decay of the momentum.
            betas = (0.9, 0.99) in 0.0..1.0,
            /// Decoupled weight decay, as in AdamW.
            weight_decay = 0.0 in 0.0..,
        }
        state { exp_avg = 0 }
        step {
            let (b1, b2) = betas;
            param *= 1 - lr * weight_decay;
            param -= lr * sign(lerp(exp_avg, grad, 1 - b1));
            exp_avg = lerp(exp_avg, grad, 1 - b2);
        }
    }
}
