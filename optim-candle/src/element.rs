//! The element types the bridge moves between candle storage and the kernels.

use candle_core::{CpuStorage, DType};
use optim_core::Element;

/// A kernel element type with its candle dtype: `f32` or `f64`.
///
/// The bridge lends a Var's `Vec` to the optimizer by moving it out of candle's CPU storage and
/// back, so it needs the matching [`CpuStorage`] variant.
///
/// ```
/// use optim_candle::CandleElement;
/// assert_eq!(<f32 as CandleElement>::CANDLE_DTYPE, candle_core::DType::F32);
/// let mut storage = candle_core::CpuStorage::F64(vec![1.0, 2.0]);
/// assert_eq!(f64::storage_vec(&mut storage).map(|v| v.len()), Some(2));
/// assert!(f32::storage_vec(&mut storage).is_none());
/// ```
pub trait CandleElement: Element + candle_core::WithDType {
    /// The candle dtype of this element type.
    const CANDLE_DTYPE: DType;
    /// The storage's buffer, when it holds this element type.
    fn storage_vec(storage: &mut CpuStorage) -> Option<&mut Vec<Self>>;
}

impl CandleElement for f32 {
    const CANDLE_DTYPE: DType = DType::F32;
    fn storage_vec(storage: &mut CpuStorage) -> Option<&mut Vec<f32>> {
        match storage {
            CpuStorage::F32(data) => Some(data),
            _ => None,
        }
    }
}

impl CandleElement for f64 {
    const CANDLE_DTYPE: DType = DType::F64;
    fn storage_vec(storage: &mut CpuStorage) -> Option<&mut Vec<f64>> {
        match storage {
            CpuStorage::F64(data) => Some(data),
            _ => None,
        }
    }
}
