//! Parameters stored in bfloat16 and stepped in `f32`: [`Bf16Optimizer`].
//!
//! Two ways to train a model whose weights are bfloat16:
//!
//! - **bfloat16 weights, updated in place** ([`Bf16Optimizer`]): the model's parameters and
//!   gradients are `Param<bf16>`. Each step widens a tile of the parameter and gradient into
//!   `f32`, runs the rule's kernel there (its state in `f32`, or in any [`StateFormat`]), and
//!   rounds the parameter back, to nearest even or stochastically ([`Bf16Rounding`]). Memory
//!   per parameter: 2 bytes of weights, 2 of gradient, and the state (8 for Adam in `f32`, about
//!   2 with [`StateFormat::Int8`]). Updates smaller than half a bfloat16 step are lost under
//!   rounding to nearest; stochastic rounding keeps them on average.
//! - **float32 master weights**: the optimizer steps `f32` copies (a plain
//!   [`Optimizer`](crate::Optimizer) over `Param<f32>`), and after each step the model's
//!   bfloat16 weights are refreshed from them. Nothing is lost to rounding, at 4 more bytes per
//!   parameter; the gradients are widened into the masters before the step:
//!
//! ```
//! use half::bf16;
//! use ndarray::ArrayD;
//! use optim_core::{builtins::AdamW, Optimizer, Param};
//!
//! let model = Param::new(ArrayD::from_elem(vec![4], bf16::from_f32(1.0)));
//! let master = Param::new(model.value().mapv(f32::from));
//! let mut opt = Optimizer::<AdamW, f32>::new(vec![master.clone()], AdamW::hyper().lr(1e-4).weight_decay(0.0)).unwrap();
//! for _ in 0..3 {
//!     model.set_grad(ArrayD::from_elem(vec![4], bf16::from_f32(0.5))); // the backward pass
//!     let grad = model.lock().grad.take().map(|g| g.mapv(f32::from));
//!     master.lock().grad = grad;
//!     opt.step().unwrap();
//!     model.lock().value = master.value().mapv(bf16::from_f32); // the forward pass's copy
//! }
//! // three steps of 1e-4 move the master; the bfloat16 copy (a step of 2^-8 near 1) cannot tell
//! assert!((master.value()[0] - (1.0 - 3e-4)).abs() < 1e-6);
//! assert_eq!(model.value()[0], bf16::from_f32(1.0));
//! ```

mod checkpoint;
mod groups;
mod optimizer;
mod rounding;
mod schedule;
mod stored;
mod supported;

pub use optimizer::Bf16Optimizer;
pub use rounding::Bf16Rounding;
pub(crate) use rounding::TensorRounding;
pub(crate) use stored::Stored;

#[allow(unused_imports)] // for the module's documentation
use crate::StateFormat;
