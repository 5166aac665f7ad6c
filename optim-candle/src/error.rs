//! The bridge's typed errors.

use candle_core::DType;
use optim_core::OptimError;

/// Why the bridge refused a Var, a gradient or a step; the optimizer and every Var are unchanged.
///
/// ```
/// use optim_candle::{BridgeError, CandleOptimizer};
/// use optim_core::builtins::AdamW;
/// let half = candle_core::Var::zeros(4, candle_core::DType::BF16, &candle_core::Device::Cpu).unwrap();
/// let err = CandleOptimizer::<AdamW>::new(vec![half], AdamW::hyper()).unwrap_err();
/// assert!(matches!(err, BridgeError::LowPrecision { group: 0, index: 0, .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The optimizer refused (hyperparameters, gradient shape, checkpoint contents...).
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// candle reported an error while the bridge read or lent a tensor.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// A Var or gradient lives on a device whose memory the CPU kernels cannot reach.
    #[error("parameter {index} of group {group}: {what} is on {device}; the optim kernels run on CPU tensors only")]
    Device {
        /// Param group.
        group: usize,
        /// Position in the group.
        index: usize,
        /// `"the Var"` or `"its gradient"`.
        what: &'static str,
        /// The device, as candle prints it.
        device: String,
    },
    /// A bf16 or f16 Var given to a [`CandleOptimizer`](crate::CandleOptimizer), whose kernels
    /// run in the Var's own `f32` or `f64` (silently widening would double the memory traffic):
    /// bf16 Vars go to a [`CandleBf16Optimizer`](crate::CandleBf16Optimizer); f16 is not supported.
    #[error(
        "parameter {index} of group {group} is {dtype:?}; CandleOptimizer steps f32 or f64 Vars (bf16 Vars: CandleBf16Optimizer; f16 is not supported)"
    )]
    LowPrecision {
        /// Param group.
        group: usize,
        /// Position in the group.
        index: usize,
        /// The Var's dtype.
        dtype: DType,
    },
    /// A Var or gradient whose dtype is not the optimizer's element type.
    #[error("parameter {index} of group {group}: {what} is {found:?}, the optimizer runs in {expected:?}")]
    DType {
        /// Param group.
        group: usize,
        /// Position in the group.
        index: usize,
        /// `"the Var"` or `"its gradient"`.
        what: &'static str,
        /// The optimizer's dtype.
        expected: DType,
        /// The tensor's dtype.
        found: DType,
    },
    /// A Var that is not a contiguous tensor owning all of its storage (a view of another
    /// tensor), which the kernels cannot update in place.
    #[error("parameter {index} of group {group} is not a contiguous tensor that owns its storage")]
    NotOwned {
        /// Param group.
        group: usize,
        /// Position in the group.
        index: usize,
    },
    /// A Var this optimizer does not hold.
    #[error("the Var is not one of this optimizer's parameters")]
    UnknownVar,
}

impl From<BridgeError> for candle_core::Error {
    fn from(err: BridgeError) -> Self {
        match err {
            BridgeError::Candle(inner) => inner,
            other => candle_core::Error::wrap(other),
        }
    }
}
