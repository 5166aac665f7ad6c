//! `StateDict::from_bytes`: reading a checkpoint file, trusting nothing in it.

use ndarray::{ArrayD, IxDyn};
use safetensors::SafeTensors;
use safetensors::tensor::TensorInfo;

use super::checksum::{TensorBytes, checksum};
use super::header::{self, PREFIX};
use super::metadata::{self, FORMAT, key};
use super::{CheckpointError, CorruptKind, StateDict, elements};
use crate::{Element, OptimError};

impl<T: Element> StateDict<T> {
    /// Reads a checkpoint from the bytes of a file written by [`StateDict::to_bytes`].
    ///
    /// The file's structure, checksum, format version and dtype are checked here; whether it
    /// fits a particular optimizer is checked by
    /// [`Optimizer::load_state_dict`](crate::Optimizer::load_state_dict).
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, CheckpointError, OptimError, Optimizer, Param, StateDict};
    /// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let opt = Optimizer::<Sgd, f32>::new(vec![p], Sgd::hyper()).unwrap();
    /// let bytes = opt.to_bytes().unwrap();
    /// assert_eq!(StateDict::<f32>::from_bytes(&bytes).unwrap(), opt.state_dict());
    ///
    /// let truncated = StateDict::<f32>::from_bytes(&bytes[..bytes.len() / 2]);
    /// assert!(matches!(truncated, Err(OptimError::Checkpoint(CheckpointError::Corrupt { .. }))));
    /// let wrong_dtype = StateDict::<f64>::from_bytes(&bytes);
    /// assert!(matches!(wrong_dtype, Err(OptimError::Checkpoint(CheckpointError::WrongDtype { .. }))));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OptimError> {
        Ok(decode(bytes)?)
    }
}

fn corrupt(reason: impl ToString) -> CheckpointError {
    header::corrupt(CorruptKind::Layout, reason)
}

/// What the safetensors reader found wrong, by kind (the strict header check before it has
/// already refused truncation, trailing bytes and malformed headers).
fn safetensors_error(error: safetensors::SafeTensorError) -> CheckpointError {
    use safetensors::SafeTensorError as E;
    let kind = match &error {
        E::HeaderTooSmall | E::InvalidHeaderLength => CorruptKind::Truncated,
        E::MetadataIncompleteBuffer => CorruptKind::Layout,
        E::HeaderTooLarge => CorruptKind::HeaderTooLarge,
        E::InvalidHeader(_) | E::InvalidHeaderDeserialization(_) | E::JsonError(_) => CorruptKind::Header,
        _ => CorruptKind::Layout,
    };
    header::corrupt(kind, error)
}

fn decode<T: Element>(bytes: &[u8]) -> Result<StateDict<T>, CheckpointError> {
    header::check(bytes)?;
    let (header_len, header) = SafeTensors::read_metadata(bytes).map_err(safetensors_error)?;
    let data = PREFIX.checked_add(header_len).and_then(|start| bytes.get(start..)).ok_or_else(|| corrupt("no data"))?;
    let entries = header.metadata().as_ref().ok_or(CheckpointError::MissingMetadata { key: key::FORMAT })?;
    if let Some(unknown) = entries.keys().filter(|k| !key::ALL.contains(&k.as_str())).min() {
        return Err(CheckpointError::UnknownMetadata { key: unknown.clone() });
    }
    let entry =
        |key: &'static str| entries.get(key).map(String::as_str).ok_or(CheckpointError::MissingMetadata { key });
    let format = entry(key::FORMAT)?;
    if format != FORMAT {
        return Err(CheckpointError::UnsupportedFormat { expected: FORMAT, found: format.to_owned() });
    }

    let infos = header.tensors();
    let mut tensors: Vec<(&str, &TensorInfo, &[u8])> = Vec::with_capacity(infos.len());
    for (name, &info) in &infos {
        let (start, end) = info.data_offsets;
        let raw = data.get(start..end).ok_or_else(|| corrupt(format!("tensor `{name}` lies outside the file")))?;
        tensors.push((name, info, raw));
    }
    tensors.sort_unstable_by_key(|(name, ..)| *name);
    let stored = metadata::checksum_from_hex(entry(key::CHECKSUM)?)?;
    let computed = checksum(
        entries.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        key::CHECKSUM,
        tensors.iter().map(|&(name, info, data)| TensorBytes { name, dtype: info.dtype, shape: &info.shape, data }),
    );
    if stored != computed {
        return Err(CheckpointError::Checksum { stored, computed });
    }

    let dtype = entry(key::DTYPE)?;
    if dtype != T::DTYPE {
        return Err(CheckpointError::WrongDtype { expected: T::DTYPE, found: dtype.to_owned() });
    }
    let wire = elements::dtype_of::<T>()?;
    let mut sd = StateDict {
        optimizer: entry(key::OPTIMIZER)?.to_owned(),
        dtype: dtype.to_owned(),
        steps_taken: metadata::steps_from_decimal(entry(key::STEPS_TAKEN)?)?,
        state: metadata::state_from_json(entry(key::STATE)?)?,
        param_groups: metadata::groups_from_json(entry(key::PARAM_GROUPS)?)?,
    };
    for (name, info, raw) in tensors {
        let unexpected = || CheckpointError::UnexpectedTensor { name: name.to_owned() };
        let (index, state_name) = parse_tensor_name(name).ok_or_else(unexpected)?;
        let slot = sd.state.get_mut(&index).ok_or_else(unexpected)?;
        if let Some((state_name, part)) = state_name.rsplit_once('.') {
            // a packed state's codes or scales: its entry in the metadata says how it is coded
            let packed = slot.packed.get_mut(state_name).ok_or_else(unexpected)?;
            read_packed_part(name, info, raw, part, packed)?;
            continue;
        }
        if info.dtype != wire {
            return Err(CheckpointError::TensorDtype {
                tensor: name.to_owned(),
                expected: wire.to_string(),
                found: info.dtype.to_string(),
            });
        }
        let values = elements::from_bytes::<T>(raw)?.ok_or_else(|| corrupt(format!("tensor `{name}` is cut short")))?;
        let array =
            ArrayD::from_shape_vec(IxDyn(&info.shape), values).map_err(|e| corrupt(format!("tensor `{name}`: {e}")))?;
        if slot.tensors.insert(state_name.to_owned(), array).is_some() {
            return Err(unexpected());
        }
    }
    for (index, entry) in &sd.state {
        for (name, packed) in &entry.packed {
            packed.check().map_err(|reason| corrupt(format!("state {index} `{name}`: {reason}")))?;
        }
    }
    Ok(sd)
}

/// The suffixes of a packed state's two tensors (state names are identifiers: no dots).
pub(crate) const CODES: &str = "codes";
pub(crate) const SCALES: &str = "scales";

/// Reads the codes (`U8`) or the scales (`F32`) of a packed state, each once.
fn read_packed_part(
    name: &str,
    info: &TensorInfo,
    raw: &[u8],
    part: &str,
    packed: &mut super::PackedTensor,
) -> Result<(), CheckpointError> {
    let (expected, duplicate) = match part {
        CODES => (safetensors::Dtype::U8, !packed.codes.is_empty()),
        SCALES => (safetensors::Dtype::F32, !packed.scales.is_empty()),
        _ => return Err(CheckpointError::UnexpectedTensor { name: name.to_owned() }),
    };
    if info.dtype != expected {
        let (expected, found) = (expected.to_string(), info.dtype.to_string());
        return Err(CheckpointError::TensorDtype { tensor: name.to_owned(), expected, found });
    }
    if duplicate || info.shape.len() != 1 {
        return Err(corrupt(format!("tensor `{name}`: expected one flat list, once")));
    }
    if part == CODES {
        packed.codes = raw.to_vec();
    } else {
        let (chunks, rest) = raw.as_chunks::<4>();
        if !rest.is_empty() {
            return Err(corrupt(format!("tensor `{name}` is cut short")));
        }
        packed.scales = chunks.iter().map(|b| f32::from_le_bytes(*b)).collect();
    }
    Ok(())
}

/// `state.<index>.<name>` with `<index>` in canonical decimal, so no two names alias one state.
fn parse_tensor_name(name: &str) -> Option<(usize, &str)> {
    let (index, state_name) = name.strip_prefix("state.")?.split_once('.')?;
    let canonical =
        !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) && (index == "0" || !index.starts_with('0'));
    (canonical && !state_name.is_empty()).then_some(())?;
    Some((index.parse().ok()?, state_name))
}

/// Rebuilds a file with some metadata entries replaced and the checksum recomputed, to reach
/// the checks behind the checksum.
#[cfg(test)]
pub(crate) fn reseal(bytes: &[u8], edit: impl FnOnce(&mut std::collections::HashMap<String, String>)) -> Vec<u8> {
    use safetensors::tensor::TensorView;
    let parsed = SafeTensors::deserialize(bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let mut entries = header.metadata().clone().unwrap();
    edit(&mut entries);
    let tensors = parsed.tensors();
    let crc = checksum(
        entries.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        key::CHECKSUM,
        tensors.iter().map(|(name, view)| TensorBytes {
            name,
            dtype: view.dtype(),
            shape: view.shape(),
            data: view.data(),
        }),
    );
    entries.insert(key::CHECKSUM.to_owned(), format!("{crc:08x}"));
    let views: Vec<(String, TensorView<'_>)> = tensors;
    safetensors::serialize(views, Some(entries)).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtins::Adam;
    use crate::{Optimizer, Param};

    fn sample() -> Vec<u8> {
        let p = Param::new(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
        let mut opt = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper()).unwrap();
        p.set_grad(ndarray::arr1(&[0.5, -0.5]).into_dyn());
        opt.step().unwrap();
        opt.to_bytes().unwrap()
    }

    fn decode_err(bytes: &[u8]) -> CheckpointError {
        decode::<f32>(bytes).unwrap_err()
    }

    #[test]
    fn resealing_alone_changes_nothing() {
        let bytes = sample();
        assert_eq!(decode::<f32>(&reseal(&bytes, |_| {})).unwrap(), decode::<f32>(&bytes).unwrap());
    }

    #[test]
    fn bad_json_metadata() {
        let bytes = sample();
        let broken = reseal(&bytes, |m| {
            m.insert(key::PARAM_GROUPS.into(), "[{\"params\": [0], \"hyper\": ".into());
        });
        assert!(matches!(decode_err(&broken), CheckpointError::BadMetadata { key: "param_groups", .. }));
        let broken = reseal(&bytes, |m| {
            m.insert(key::STATE.into(), "{\"0\": {\"step\": \"four\"}}".into());
        });
        assert!(matches!(decode_err(&broken), CheckpointError::BadMetadata { key: "state", .. }));
        let broken = reseal(&bytes, |m| {
            m.insert(key::STEPS_TAKEN.into(), "many".into());
        });
        assert!(matches!(decode_err(&broken), CheckpointError::BadMetadata { key: "steps_taken", .. }));
    }

    #[test]
    fn missing_unknown_and_unsupported_metadata() {
        let bytes = sample();
        for missing in [key::OPTIMIZER, key::DTYPE, key::STEPS_TAKEN, key::PARAM_GROUPS, key::STATE, key::FORMAT] {
            let broken = reseal(&bytes, |m| {
                m.remove(missing);
            });
            assert_eq!(decode_err(&broken), CheckpointError::MissingMetadata { key: missing });
        }
        let broken = reseal(&bytes, |m| {
            m.insert("comment".into(), "hello".into());
        });
        assert_eq!(decode_err(&broken), CheckpointError::UnknownMetadata { key: "comment".into() });
        let broken = reseal(&bytes, |m| {
            m.insert(key::FORMAT.into(), "optim-checkpoint/2".into());
        });
        assert!(matches!(decode_err(&broken), CheckpointError::UnsupportedFormat { .. }));
        let no_metadata =
            safetensors::serialize(Vec::<(&str, safetensors::tensor::TensorView<'_>)>::new(), None).unwrap();
        assert_eq!(decode_err(&no_metadata), CheckpointError::MissingMetadata { key: key::FORMAT });
    }

    #[test]
    fn tensor_names_dtypes_and_orphans() {
        assert_eq!(parse_tensor_name("state.12.exp_avg"), Some((12, "exp_avg")));
        assert_eq!(parse_tensor_name("state.0.a.b"), Some((0, "a.b")));
        for bad in ["state.01.exp_avg", "state..x", "state.1.", "state.-1.x", "state.+1.x", "other.1.x", "state.1"] {
            assert_eq!(parse_tensor_name(bad), None, "{bad}");
        }
        // A state entry's tensor under another index than any entry is an orphan.
        let bytes = sample();
        let orphan = reseal(&bytes, |m| {
            m.insert(key::STATE.into(), "{\"1\": {\"step\": 1}}".into());
        });
        assert!(matches!(decode_err(&orphan), CheckpointError::UnexpectedTensor { .. }));
        // A tensor stored as another dtype than the file declares.
        let f64_file = {
            let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
            let mut opt = Optimizer::<Adam, f64>::new(vec![p.clone()], Adam::hyper()).unwrap();
            p.set_grad(ndarray::arr1(&[0.5]).into_dyn());
            opt.step().unwrap();
            opt.to_bytes().unwrap()
        };
        let mislabeled = reseal(&f64_file, |m| {
            m.insert(key::DTYPE.into(), "float32".into());
        });
        assert!(matches!(decode_err(&mislabeled), CheckpointError::TensorDtype { .. }));
    }

    #[test]
    fn checksum_catches_any_single_bit_flip() {
        let bytes = sample();
        for position in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[position] ^= 1 << bit;
                assert!(decode::<f32>(&flipped).is_err(), "flip of bit {bit} at byte {position} went unnoticed");
            }
        }
    }
}
