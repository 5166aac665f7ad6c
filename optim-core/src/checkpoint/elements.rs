//! Element tensors as little-endian bytes, exactly (every bit, NaN payloads included).

use std::any::{Any, TypeId};

use ndarray::ArrayD;
use safetensors::Dtype;

use super::CheckpointError;
use crate::Element;

/// The safetensors dtype that stores `T`.
pub(crate) fn dtype_of<T: Element>() -> Result<Dtype, CheckpointError> {
    let id = TypeId::of::<T>();
    if id == TypeId::of::<f32>() {
        Ok(Dtype::F32)
    } else if id == TypeId::of::<f64>() {
        Ok(Dtype::F64)
    } else {
        Err(CheckpointError::UnsupportedElement { dtype: T::DTYPE })
    }
}

/// The elements of `array` in logical (row-major) order, as little-endian bytes.
pub(crate) fn to_bytes<T: Element>(array: &ArrayD<T>) -> Result<Vec<u8>, CheckpointError> {
    let any: &dyn Any = array;
    if let Some(array) = any.downcast_ref::<ArrayD<f32>>() {
        Ok(array.iter().flat_map(|x| x.to_le_bytes()).collect())
    } else if let Some(array) = any.downcast_ref::<ArrayD<f64>>() {
        Ok(array.iter().flat_map(|x| x.to_le_bytes()).collect())
    } else {
        Err(CheckpointError::UnsupportedElement { dtype: T::DTYPE })
    }
}

/// The elements little-endian `bytes` hold; `None` when the length is not a whole number of
/// elements.
pub(crate) fn from_bytes<T: Element>(bytes: &[u8]) -> Result<Option<Vec<T>>, CheckpointError> {
    let mut out: Vec<T> = Vec::new();
    let any: &mut dyn Any = &mut out;
    let whole = if let Some(out) = any.downcast_mut::<Vec<f32>>() {
        decode_into(bytes, out, f32::from_le_bytes)
    } else if let Some(out) = any.downcast_mut::<Vec<f64>>() {
        decode_into(bytes, out, f64::from_le_bytes)
    } else {
        return Err(CheckpointError::UnsupportedElement { dtype: T::DTYPE });
    };
    Ok(whole.then_some(out))
}

fn decode_into<E, const N: usize>(bytes: &[u8], out: &mut Vec<E>, decode: fn([u8; N]) -> E) -> bool {
    let chunks = bytes.chunks_exact(N);
    if !chunks.remainder().is_empty() {
        return false;
    }
    out.reserve_exact(bytes.len() / N);
    out.extend(chunks.filter_map(|chunk| chunk.try_into().ok()).map(decode));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bit_survives() {
        let nan_with_payload = f32::from_bits(0x7fc0_1234);
        let array = ndarray::arr1(&[1.5f32, -0.0, f32::INFINITY, nan_with_payload]).into_dyn();
        let bytes = to_bytes(&array).unwrap();
        assert_eq!(bytes.len(), 16);
        let back: Vec<f32> = from_bytes(&bytes).unwrap().unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(array.as_slice().unwrap()));
    }

    #[test]
    fn logical_order_for_any_layout() {
        let array = ndarray::arr2(&[[1.0f64, 2.0], [3.0, 4.0]]).reversed_axes().into_dyn();
        let back: Vec<f64> = from_bytes(&to_bytes(&array).unwrap()).unwrap().unwrap();
        assert_eq!(back, vec![1.0, 3.0, 2.0, 4.0]);
    }

    #[test]
    fn partial_elements_are_refused() {
        assert_eq!(from_bytes::<f64>(&[0; 12]).unwrap(), None);
        assert_eq!(dtype_of::<f64>().unwrap(), Dtype::F64);
    }
}
