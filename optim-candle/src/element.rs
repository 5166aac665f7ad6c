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

macro_rules! candle_element {
    ($($ty:ty => $variant:ident),*) => {$(
        impl CandleElement for $ty {
            const CANDLE_DTYPE: DType = DType::$variant;
            fn storage_vec(storage: &mut CpuStorage) -> Option<&mut Vec<$ty>> {
                match storage {
                    CpuStorage::$variant(data) => Some(data),
                    _ => None,
                }
            }
        }
    )*};
}

candle_element!(f32 => F32, f64 => F64);

/// A storage element the bridge can lend to the optimizer: the kernels' element types and
/// bfloat16 (lent to a [`Bf16Optimizer`](optim_core::Bf16Optimizer)).
pub(crate) trait Lendable: candle_core::WithDType {
    /// The storage's buffer, when it holds this element type.
    fn buffer_of(storage: &mut CpuStorage) -> Option<&mut Vec<Self>>;
}

impl<T: CandleElement> Lendable for T {
    fn buffer_of(storage: &mut CpuStorage) -> Option<&mut Vec<T>> {
        T::storage_vec(storage)
    }
}

impl Lendable for optim_core::half::bf16 {
    fn buffer_of(storage: &mut CpuStorage) -> Option<&mut Vec<Self>> {
        match storage {
            CpuStorage::BF16(data) => Some(data),
            _ => None,
        }
    }
}
