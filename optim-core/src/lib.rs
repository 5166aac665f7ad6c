//! The runtime of the optim DSL: the [`Rule`] trait that `optimizer!` implements, the generic
//! PyTorch-style [`Optimizer`], and the built-in optimizers, each written in the DSL.
#![doc = include_str!("../DSL.md")]

mod buffer;
mod element;
mod elementary;
// debug builds only; not the crate's own unit tests, which step few rules, nor trybuild's
// build of it for the compile-fail cases, which step none
mod error;
mod factored;
mod grad_clip;
mod group;
mod group_values;
mod hooks;
mod hyper;
#[cfg(all(debug_assertions, not(test), not(trybuild)))]
#[doc(hidden)]
pub mod instantiate;
mod kernel;
mod lowbit;
mod matrix_step;
mod norm;
mod optimizer;
mod parallel;
mod param;
mod passes;
mod points;
mod profile;
mod reduce;
mod rule;
mod sparse;
mod staging;
mod state;
mod state_formats;

/// Defines an optimizer from its update rule: hyperparameters, state and one step of math,
/// compiled into a fused, SIMD-dispatched kernel. The language is described in the crate docs.
///
/// ```
/// optim_core::optimizer! {
///     /// Plain gradient descent.
///     pub Descent {
///         hyper { lr = 0.1 in 0.0.. }
///         step { param -= lr * grad; }
///     }
/// }
/// assert_eq!(Descent::hyper().lr, 0.1);
/// ```
#[macro_export]
macro_rules! optimizer {
    ($($spec:tt)*) => {
        $crate::__private::__optimizer! { ($crate) $($spec)* }
    };
}

pub mod builtins;
pub mod checkpoint;
pub mod clip;
pub mod lr_scheduler;
pub mod matrix;
pub mod mixed;
pub mod simd;
pub mod zoo;

pub use checkpoint::{CheckpointError, CorruptKind, StateDict};
pub use element::Element;
pub use error::{OptimError, Result};
pub use factored::{FactorBuffers, Factors, FactorsMut, StateShape, matrix_dims};
pub use grad_clip::GradClip;
pub use group::{Group, ParamGroup};
/// The `half` crate, whose `bf16` is the element type of [`Bf16Optimizer`]'s parameters.
pub use half;
pub use hooks::{HookHandle, StepHook};
pub use hyper::{ChoiceName, HyperSet, HyperValue};
pub use lowbit::{Codes, StateFormat, StateFormats};
pub use matrix_step::{MatrixLayout, matrix_view_dims, round_scalar};
pub use mixed::{Bf16Optimizer, Bf16Rounding};
pub use optim_contract::{MAX_CHOICE_NAME, MAX_CONDITIONS, MAX_REDUCTIONS, MAX_STATES, Mask};
pub use optimizer::Optimizer;
pub use param::{Param, ParamData};
pub use profile::{PassTime, StepProfile};
pub use rule::{GroupScalars, Prepared, ReduceKind, ReduceScope, Reduction, Rule, StateDecl};
pub use simd::SimdLevel;
pub use sparse::RowSparse;
pub use state::ParamState;

/// Paths the generated code and the benchmark examples use; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::factored::at;
    pub use crate::lowbit::bench as lowbit_bench;
    pub use crate::matrix::{MatView, MatrixScratch, Rounding};
    pub use crate::matrix_step::{MatrixLayout, matrix_step_slices, matrix_view_dims, round_scalar};
    pub use crate::simd::{Kernel, ReduceKernel, dispatch, dispatch_reduce};
    pub use crate::{
        ChoiceName, Element, FactorBuffers, Factors, FactorsMut, GroupScalars, HyperSet, HyperValue, Mask, OptimError,
        Optimizer, Param, Prepared, ReduceKind, ReduceScope, Reduction, Rule, SimdLevel, StateDecl, StateShape,
    };
    pub use optim_macros::__optimizer;
}
