//! Write an optimizer in the DSL and train with it: Signum (Bernstein et al., 2018), SGD that
//! steps by the sign of a momentum, fitting a linear regression.
//!
//! ```text
//! cargo run --release --example custom_rule
//! ```

use ndarray::{Array1, Array2, ArrayD, Axis};
use optim::prelude::*;

optimizer! {
    /// Signum: the sign of an exponential average of gradients, with decoupled weight decay.
    pub Signum {
        hyper {
            /// Step size: every weight moves by exactly this much per step (before decay).
            lr = 1e-3 in 0.0..,
            /// Momentum of the gradient average.
            momentum = 0.9 in 0.0..1.0,
            /// Decoupled weight decay.
            weight_decay = 0.0 in 0.0..,
        }
        state { momentum_buffer = 0 }
        step {
            param *= 1 - lr * weight_decay;                          // hoisted: once per tensor
            momentum_buffer = lerp(momentum_buffer, grad, 1 - momentum);
            param -= lr * sign(momentum_buffer);                     // one fused pass over memory
        }
    }
}

fn main() -> Result<(), OptimError> {
    // y = X · w_true + 0.5 on 256 points with 8 features (a fixed, deterministic design).
    let (n, d) = (256, 8);
    let x = Array2::from_shape_fn((n, d), |(i, j)| (((i * 31 + j * 17) % 97) as f32 / 48.5) - 1.0);
    let w_true = Array1::from_iter((0..d).map(|j| j as f32 * 0.25 - 1.0));
    let y = x.dot(&w_true) + 0.5;

    let w = Param::new(ArrayD::<f32>::zeros(vec![d]));
    let b = Param::new(ArrayD::<f32>::zeros(vec![1]));
    let mut opt = Signum::optimizer(vec![w.clone(), b.clone()], Signum::hyper().lr(0.01))?;

    for step in 0..=400 {
        // Forward and backward of the mean squared error, by hand.
        let (wv, bv) = (w.value().into_dimensionality::<ndarray::Ix1>().expect("1-D"), b.value()[0]);
        let residual = x.dot(&wv) + bv - &y;
        let loss = residual.mapv(|r| r * r).mean().unwrap_or(0.0);
        opt.zero_grad();
        w.set_grad((x.t().dot(&residual) * (2.0 / n as f32)).into_dyn());
        b.set_grad(ArrayD::from_elem(vec![1], residual.sum_axis(Axis(0)).into_scalar() * 2.0 / n as f32));
        opt.step()?;
        if step % 100 == 0 {
            println!("step {step:3}  mse {loss:.6}  lr {:.4}", opt.param_groups()[0].hyper.lr);
            opt.param_groups_mut()[0].hyper.lr *= 0.5; // sign steps never shrink: the rate must
        }
    }
    let error = (&w.value() - &w_true.into_dyn()).mapv(f32::abs).fold(0.0f32, |a, &e| a.max(e));
    println!("largest weight error {error:.4}");
    println!("the rule's state after training: {:?}", opt.state(0, 0).map(|s| s.tensor_names().collect::<Vec<_>>()));
    Ok(())
}
