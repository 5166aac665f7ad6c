//! **optim**: neural-network optimizers written as math in a small DSL, compiled into fused
//! kernels, and run with PyTorch's optimizer semantics.
//!
//! This facade re-exports [`optim_core`] (the runtime and the built-ins) and the [`optimizer!`]
//! macro.
//!
//! ```
//! use optim::prelude::*;
//!
//! optimizer! {
//!     /// Sign descent: move every weight by `lr` against the sign of its gradient.
//!     pub SignDescent {
//!         hyper { lr = 0.01 in 0.0.. }
//!         step { param -= lr * sign(grad); }
//!     }
//! }
//!
//! let w = Param::new(ndarray::arr1(&[1.0f32, -1.0]).into_dyn());
//! let mut opt = SignDescent::optimizer(vec![w.clone()], SignDescent::hyper().lr(0.5)).unwrap();
//! w.set_grad(ndarray::arr1(&[3.0, -0.1]).into_dyn());
//! opt.step().unwrap();
//! assert_eq!(w.value(), ndarray::arr1(&[0.5f32, -0.5]).into_dyn());
//! ```

pub use optim_core::*;

/// The candle bridge ([`optim_candle`]): any rule driving candle `Var`s through
/// `candle_nn::optim::Optimizer`. Enabled by the `candle` feature.
///
/// ```
/// use optim::candle::candle_core::{Device, Var}; // the candle this bridge is built against
/// use optim::candle::CandleOptimizer;
/// use optim::zoo::Lion;
/// let w = Var::new(&[1.0f32], &Device::Cpu).unwrap();
/// let mut opt = CandleOptimizer::<Lion>::new(vec![w.clone()], Lion::hyper().lr(0.5)).unwrap();
/// opt.backward_step(&w.as_tensor().sum_all().unwrap()).unwrap();
/// assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), [0.5]);
/// ```
#[cfg(feature = "candle")]
pub use optim_candle as candle;

/// Everything a training loop needs, in one import.
pub mod prelude {
    pub use optim_core::builtins::*;
    pub use optim_core::{Element, Group, HyperSet, HyperValue, OptimError, Optimizer, Param, Rule, optimizer};
}

/// The README's examples, compiled and run as doctests so they cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
