//! **optim-candle**: every [`optim_core`] rule, built-in or written with `optimizer!`, driving
//! [candle](https://github.com/huggingface/candle) [`Var`](candle_core::Var)s.
//!
//! [`CandleOptimizer<R, T>`] implements [`candle_nn::optim::Optimizer`], so a candle training
//! loop changes one line, and keeps everything optim's [`Optimizer`](optim_core::Optimizer) has:
//! param groups ([`VarGroup`]), the LR schedulers (it is an
//! [`LrTarget`](optim_core::lr_scheduler::LrTarget)), `state_dict` and safetensors checkpoints in
//! the same format, row-sparse gradients, and the fused multi-threaded kernels.
//!
//! ```
//! use candle_core::{DType, Device, Module, Tensor};
//! use candle_nn::{VarBuilder, VarMap};
//! use optim_candle::CandleOptimizer;
//! use optim_core::builtins::AdamW;
//!
//! let varmap = VarMap::new();
//! let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
//! let layer = candle_nn::linear(4, 1, vb.pp("fc")).unwrap();
//! // was: candle_nn::AdamW::new(varmap.all_vars(), candle_nn::ParamsAdamW { lr: 0.05, ..Default::default() })
//! let mut opt = CandleOptimizer::<AdamW>::new(varmap.all_vars(), AdamW::hyper().lr(0.05)).unwrap();
//! let x = Tensor::ones((8, 4), DType::F32, &Device::Cpu).unwrap();
//! let loss = || layer.forward(&x)?.affine(1.0, -3.0)?.sqr()?.mean_all(); // fit 3 everywhere
//! let first = loss().unwrap().to_scalar::<f32>().unwrap();
//! for _ in 0..100 {
//!     opt.backward_step(&loss().unwrap()).unwrap();
//! }
//! let last = loss().unwrap().to_scalar::<f32>().unwrap();
//! assert!(last < 0.1 * first);
//! ```
//!
//! # How a Var is updated: in place, without copies
//!
//! candle's public API gives mutable access to a tensor's buffer only inside an in-place custom
//! op ([`candle_core::InplaceOp1`]), which runs with the storage write-locked. For a step, the
//! bridge nests one such callback per Var and per gradient; each moves the storage's `Vec` into
//! the optimizer's parameter handle (an `ndarray` on the same allocation) and moves it back when
//! the callback returns or unwinds. In the innermost callback every buffer is in place and the
//! optimizer's ordinary step runs: one parallel region of fused kernels over all tensors. No
//! element is copied, so a step moves exactly what the kernel moves (28 B per parameter for
//! f32 Adam/AdamW: parameter, gradient and two states read, parameter and two states written)
//! plus a lock and two pointer moves per tensor. All locks are held for the whole step, so no
//! other thread can see a storage while its buffer is lent.
//!
//! A gradient is copied only when it does not own its storage (a view into another tensor,
//! e.g. after `Tensor::cat` of two Vars): 8 B more per such parameter. Vars must own their
//! storage (every Var candle creates does). CPU only: Vars or gradients on CUDA or Metal are a
//! [`BridgeError::Device`]. bfloat16 Vars are stepped by [`CandleBf16Optimizer`] (the rule's math
//! in `f32`, tile by tile, the Var rounded back in place; param groups, element-wise rules);
//! given to a `CandleOptimizer` they are a [`BridgeError::LowPrecision`], as f16 Vars always are.
//! Nothing falls back silently.

/// This crate's README example (also the top-level README's candle example), compiled and run.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

mod bf16;
mod checkpoint;
mod clip;
mod element;
mod error;
mod lend;
mod nn;
mod optimizer;
mod points;
mod step;
mod varmap;

pub use bf16::CandleBf16Optimizer;
/// The candle crates the bridge is built against, for code that must use exactly these versions.
pub use candle_core;
/// See [`candle_core`].
pub use candle_nn;
pub use element::CandleElement;
pub use error::BridgeError;
pub use optimizer::{CandleOptimizer, VarGroup};
pub use varmap::{decay_groups, sorted_vars};
