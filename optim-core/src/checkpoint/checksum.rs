//! The CRC-32 that makes any damage to a checkpoint file an error instead of silently wrong
//! state: safetensors validates structure only, not the values.

use safetensors::Dtype;

/// One tensor as the checksum sees it: name, dtype, shape and raw bytes.
pub(crate) struct TensorBytes<'a> {
    pub(crate) name: &'a str,
    pub(crate) dtype: Dtype,
    pub(crate) shape: &'a [usize],
    pub(crate) data: &'a [u8],
}

/// CRC-32 of every metadata entry but `skip` and of every tensor, each in name order, every
/// field prefixed with its length so no two different files feed the same bytes.
pub(crate) fn checksum<'a>(
    metadata: impl IntoIterator<Item = (&'a str, &'a str)>,
    skip: &str,
    tensors: impl IntoIterator<Item = TensorBytes<'a>>,
) -> u32 {
    let mut metadata: Vec<_> = metadata.into_iter().filter(|(key, _)| *key != skip).collect();
    metadata.sort_unstable();
    let mut tensors: Vec<_> = tensors.into_iter().collect();
    tensors.sort_unstable_by_key(|tensor| tensor.name);

    let mut hasher = crc32fast::Hasher::new();
    let mut field = |bytes: &[u8]| {
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    for (key, value) in metadata {
        field(key.as_bytes());
        field(value.as_bytes());
    }
    for tensor in tensors {
        field(tensor.name.as_bytes());
        field(tensor.dtype.to_string().as_bytes());
        let shape: Vec<u8> = tensor.shape.iter().flat_map(|&d| (d as u64).to_le_bytes()).collect();
        field(&shape);
        field(tensor.data);
    }
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor<'a>(name: &'a str, data: &'a [u8]) -> TensorBytes<'a> {
        TensorBytes { name, dtype: Dtype::F32, shape: &[1], data }
    }

    #[test]
    fn independent_of_order_and_of_the_skipped_key() {
        let a = checksum([("x", "1"), ("y", "2"), ("crc", "0")], "crc", [tensor("a", &[1; 4]), tensor("b", &[2; 4])]);
        let b = checksum([("y", "2"), ("x", "1"), ("crc", "9")], "crc", [tensor("b", &[2; 4]), tensor("a", &[1; 4])]);
        assert_eq!(a, b);
    }

    #[test]
    fn sees_every_field() {
        let base = checksum([("x", "1")], "crc", [tensor("a", &[1; 4])]);
        assert_ne!(base, checksum([("x", "2")], "crc", [tensor("a", &[1; 4])]));
        assert_ne!(base, checksum([("x", "1")], "crc", [tensor("b", &[1; 4])]));
        assert_ne!(base, checksum([("x", "1")], "crc", [tensor("a", &[1, 1, 1, 0])]));
        assert_ne!(base, checksum([("x1", "")], "crc", [tensor("a", &[1; 4])]));
    }
}
