//! A strict first reading of a safetensors header, before the safetensors crate sees it: its
//! JSON reader keeps the last of duplicate keys and ignores unknown fields, so a file could name
//! one tensor twice (both pointing at the same bytes) or carry fields no writer produces. Here
//! both are refused, and the file's size is checked against what the header declares, which
//! tells a truncated file from one with bytes appended.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::{CheckpointError, CorruptKind};

/// The length of the header-size prefix of a safetensors file.
pub(crate) const PREFIX: usize = 8;
/// The largest header accepted (the safetensors crate's own limit).
pub(crate) const MAX_HEADER: usize = 100_000_000;

pub(crate) fn corrupt(kind: CorruptKind, reason: impl ToString) -> CheckpointError {
    CheckpointError::Corrupt { kind, reason: reason.to_string() }
}

/// One tensor's entry, exactly the fields the format defines.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TensorEntry {
    #[serde(rename = "dtype")]
    _dtype: String,
    #[serde(rename = "shape")]
    _shape: Vec<u64>,
    data_offsets: (u64, u64),
}

#[derive(Deserialize)]
struct Metadata(#[serde(deserialize_with = "super::json::unique_map")] BTreeMap<String, String>);

/// The header's top level: tensors by name and at most one `__metadata__`, no key twice.
struct Header {
    /// The end of the data section the tensors' offsets declare.
    data_len: u64,
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = Header;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a safetensors header")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Header, A::Error> {
                let mut seen = std::collections::BTreeSet::new();
                let mut data_len = 0u64;
                while let Some(key) = access.next_key::<String>()? {
                    if key == "__metadata__" {
                        // read only to refuse duplicate or non-string entries; decode reads them
                        let Metadata(_entries) = access.next_value()?;
                    } else {
                        let entry = access.next_value::<TensorEntry>()?;
                        data_len = data_len.max(entry.data_offsets.1);
                    }
                    if !seen.insert(key.clone()) {
                        return Err(de::Error::custom(format!("duplicate key {key:?}")));
                    }
                }
                Ok(Header { data_len })
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

/// The header's length from the 8-byte prefix, checked against [`MAX_HEADER`].
pub(crate) fn header_len(prefix: &[u8]) -> Result<usize, CheckpointError> {
    let prefix: [u8; PREFIX] = prefix
        .get(..PREFIX)
        .and_then(|p| p.try_into().ok())
        .ok_or_else(|| corrupt(CorruptKind::Truncated, "shorter than the 8-byte header length"))?;
    let declared = u64::from_le_bytes(prefix);
    match usize::try_from(declared) {
        Ok(len) if len <= MAX_HEADER => Ok(len),
        _ => Err(corrupt(CorruptKind::HeaderTooLarge, format!("the header declares {declared} bytes"))),
    }
}

/// Parses a header strictly and returns the length of the data section it declares.
pub(crate) fn data_len(header: &[u8]) -> Result<u64, CheckpointError> {
    let text = std::str::from_utf8(header).map_err(|e| corrupt(CorruptKind::Header, e))?;
    let parsed: Header = serde_json::from_str(text).map_err(|e| corrupt(CorruptKind::Header, e))?;
    Ok(parsed.data_len)
}

/// The total file size a header of `header_len` bytes declaring `data_len` data bytes implies.
pub(crate) fn file_len(header_len: usize, data_len: u64) -> Result<u64, CheckpointError> {
    (PREFIX as u64)
        .checked_add(header_len as u64)
        .and_then(|n| n.checked_add(data_len))
        .ok_or_else(|| corrupt(CorruptKind::Layout, "tensor offsets overflow"))
}

/// Checks the whole file's bytes against its header: prefix, strict header, and exact size.
pub(crate) fn check(bytes: &[u8]) -> Result<(), CheckpointError> {
    let len = header_len(bytes)?;
    let header = PREFIX
        .checked_add(len)
        .and_then(|end| bytes.get(PREFIX..end))
        .ok_or_else(|| corrupt(CorruptKind::Truncated, format!("the header of {len} bytes is cut short")))?;
    let expected = file_len(len, data_len(header)?)?;
    let actual = bytes.len() as u64;
    match actual.cmp(&expected) {
        std::cmp::Ordering::Less => {
            Err(corrupt(CorruptKind::Truncated, format!("{actual} bytes, the header declares {expected}")))
        }
        std::cmp::Ordering::Greater => {
            Err(corrupt(CorruptKind::TrailingBytes, format!("{actual} bytes, the header declares {expected}")))
        }
        std::cmp::Ordering::Equal => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    fn kind(bytes: &[u8]) -> Option<CorruptKind> {
        match check(bytes) {
            Err(CheckpointError::Corrupt { kind, .. }) => Some(kind),
            _ => None,
        }
    }

    #[test]
    fn duplicates_and_unknown_fields_are_refused() {
        let one = r#""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
        assert_eq!(check(&file(&format!("{{{one}}}"), &[0; 4])), Ok(()));
        assert_eq!(kind(&file(&format!("{{{one},{one}}}"), &[0; 4])), Some(CorruptKind::Header));
        let meta = r#""__metadata__":{"k":"1","k":"2"}"#;
        assert_eq!(kind(&file(&format!("{{{meta}}}"), &[])), Some(CorruptKind::Header));
        let extra = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"note":1}}"#;
        assert_eq!(kind(&file(extra, &[0; 4])), Some(CorruptKind::Header));
    }

    #[test]
    fn sizes_tell_truncation_from_trailing_bytes() {
        let header = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
        assert_eq!(kind(&file(header, &[0; 3])), Some(CorruptKind::Truncated));
        assert_eq!(kind(&file(header, &[0; 5])), Some(CorruptKind::TrailingBytes));
        assert_eq!(kind(&[1, 2, 3]), Some(CorruptKind::Truncated));
        assert_eq!(kind(&u64::MAX.to_le_bytes()), Some(CorruptKind::HeaderTooLarge));
    }
}
