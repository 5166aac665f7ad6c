//! The checkpoint's metadata: the safetensors `__metadata__` entries and the JSON they hold.

use std::collections::BTreeMap;

use serde::de::Deserialize;
use serde::{Deserialize as DeserializeDerive, Serialize};

use super::json::{JsonFloat, JsonHyper, unique_map};
use super::{CheckpointError, GroupDict, PackedTensor, ParamStateDict};
use crate::StateFormat;

/// The format this version writes and reads.
pub(crate) const FORMAT: &str = "optim-checkpoint/1";

/// Names of the `__metadata__` entries.
pub(crate) mod key {
    /// [`super::FORMAT`].
    pub(crate) const FORMAT: &str = "format";
    /// The optimizer's PyTorch class name.
    pub(crate) const OPTIMIZER: &str = "optimizer";
    /// PyTorch's dtype name of every state tensor.
    pub(crate) const DTYPE: &str = "dtype";
    /// The optimizer's step count, in decimal.
    pub(crate) const STEPS_TAKEN: &str = "steps_taken";
    /// JSON: the param groups.
    pub(crate) const PARAM_GROUPS: &str = "param_groups";
    /// JSON: per-parameter step counts and scalar states.
    pub(crate) const STATE: &str = "state";
    /// CRC-32 of everything else, as 8 lowercase hex digits.
    pub(crate) const CHECKSUM: &str = "crc32";
    /// Every entry, so any other is refused.
    pub(crate) const ALL: [&str; 7] = [FORMAT, OPTIMIZER, DTYPE, STEPS_TAKEN, PARAM_GROUPS, STATE, CHECKSUM];
}

/// One param group: `{"params": [0, 1], "hyper": {"lr": 0.001, "betas": [0.9, 0.999], ...}}`.
#[derive(Serialize, DeserializeDerive)]
#[serde(deny_unknown_fields)]
struct GroupJson {
    params: Vec<usize>,
    #[serde(deserialize_with = "unique_map")]
    hyper: BTreeMap<String, JsonHyper>,
    /// Values kept in the group (whole-group rules only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "unique_map")]
    values: BTreeMap<String, JsonFloat>,
    /// At the evaluation point (rules with `eval` / `train` only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    eval_mode: bool,
}

/// One parameter's non-tensor state: `{"step": 4}` or `{"step": 4, "scalars": {"mu_product": 0.9}}`.
#[derive(Serialize, DeserializeDerive)]
#[serde(deny_unknown_fields)]
struct StateJson {
    step: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "unique_map")]
    scalars: BTreeMap<String, JsonFloat>,
    /// States in a compact format, whose codes and scales are the tensors
    /// `state.<i>.<name>.codes` and `.scales`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "unique_map")]
    packed: BTreeMap<String, PackedJson>,
}

/// How a packed state is coded: `{"format": "int8", "signed": true, "shape": [64, 128]}`.
#[derive(Serialize, DeserializeDerive)]
#[serde(deny_unknown_fields)]
struct PackedJson {
    format: String,
    signed: bool,
    shape: Vec<usize>,
}

fn to_json(key: &'static str, value: &impl Serialize) -> Result<String, CheckpointError> {
    serde_json::to_string(value).map_err(|e| CheckpointError::BadMetadata { key, reason: e.to_string() })
}

/// Parses all of `text` (trailing characters are an error) with `parse`.
fn from_json<'a, V>(
    key: &'static str,
    text: &'a str,
    parse: impl FnOnce(&mut serde_json::Deserializer<serde_json::de::StrRead<'a>>) -> Result<V, serde_json::Error>,
) -> Result<V, CheckpointError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    parse(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| CheckpointError::BadMetadata { key, reason: e.to_string() })
}

/// The `param_groups` entry.
pub(crate) fn groups_to_json(groups: &[GroupDict]) -> Result<String, CheckpointError> {
    let groups: Vec<GroupJson> = groups
        .iter()
        .map(|g| GroupJson {
            params: g.params.clone(),
            hyper: g.hyper.iter().map(|(name, value)| (name.clone(), JsonHyper(*value))).collect(),
            values: g.values.iter().map(|(name, &value)| (name.clone(), JsonFloat(value))).collect(),
            eval_mode: g.eval_mode,
        })
        .collect();
    to_json(key::PARAM_GROUPS, &groups)
}

/// The param groups from the `param_groups` entry.
pub(crate) fn groups_from_json(text: &str) -> Result<Vec<GroupDict>, CheckpointError> {
    let groups = from_json(key::PARAM_GROUPS, text, |de| Vec::<GroupJson>::deserialize(de))?;
    Ok(groups
        .into_iter()
        .map(|g| GroupDict {
            hyper: g.hyper.into_iter().map(|(name, value)| (name, value.0)).collect(),
            params: g.params,
            values: g.values.into_iter().map(|(name, value)| (name, value.0)).collect(),
            eval_mode: g.eval_mode,
        })
        .collect())
}

/// The `state` entry: every entry's step and scalars (its tensors are stored as tensors).
pub(crate) fn state_to_json<T>(state: &BTreeMap<usize, ParamStateDict<T>>) -> Result<String, CheckpointError> {
    let state: BTreeMap<usize, StateJson> = state
        .iter()
        .map(|(&index, entry)| {
            let scalars = entry.scalars.iter().map(|(name, &v)| (name.clone(), JsonFloat(v))).collect();
            let packed = entry
                .packed
                .iter()
                .map(|(name, t)| {
                    let json =
                        PackedJson { format: t.format.name().to_owned(), signed: t.signed, shape: t.shape.clone() };
                    (name.clone(), json)
                })
                .collect();
            (index, StateJson { step: entry.step, scalars, packed })
        })
        .collect();
    to_json(key::STATE, &state)
}

/// The state entries from the `state` entry, without tensors yet.
/// Packed states get their format, sign and shape here, and empty codes and scales, which the
/// file's tensors fill.
pub(crate) fn state_from_json<T>(text: &str) -> Result<BTreeMap<usize, ParamStateDict<T>>, CheckpointError> {
    let state: BTreeMap<usize, StateJson> = from_json(key::STATE, text, |de| unique_map(de))?;
    let mut out = BTreeMap::new();
    for (index, entry) in state {
        let mut dict = ParamStateDict::new(entry.step);
        dict.scalars = entry.scalars.into_iter().map(|(name, v)| (name, v.0)).collect();
        for (name, packed) in entry.packed {
            let format =
                StateFormat::from_name(&packed.format).filter(|f| *f != StateFormat::Native).ok_or_else(|| {
                    CheckpointError::BadMetadata {
                        key: key::STATE,
                        reason: format!("state {index} `{name}`: unknown format {:?}", packed.format),
                    }
                })?;
            let tensor = PackedTensor {
                format,
                signed: packed.signed,
                shape: packed.shape,
                codes: Vec::new(),
                scales: Vec::new(),
            };
            dict.packed.insert(name, tensor);
        }
        out.insert(index, dict);
    }
    Ok(out)
}

/// Parses the `crc32` entry.
pub(crate) fn checksum_from_hex(text: &str) -> Result<u32, CheckpointError> {
    let bad = |reason: &str| CheckpointError::BadMetadata { key: key::CHECKSUM, reason: reason.to_owned() };
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(bad("expected 8 lowercase hex digits"));
    }
    u32::from_str_radix(text, 16).map_err(|e| bad(&e.to_string()))
}

/// Parses the `steps_taken` entry.
pub(crate) fn steps_from_decimal(text: &str) -> Result<u64, CheckpointError> {
    let bad = |reason: String| CheckpointError::BadMetadata { key: key::STEPS_TAKEN, reason };
    // plain decimal as the writer writes it: `u64::from_str` alone would also take "+3"
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(bad(format!("{text:?} is not a plain decimal count")));
    }
    text.parse().map_err(|e: std::num::ParseIntError| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HyperValue;

    #[test]
    fn groups_round_trip() {
        let mut group = GroupDict::new(vec![0, 2]);
        group.hyper.insert("lr".into(), HyperValue::Float(0.1));
        group.hyper.insert("betas".into(), HyperValue::Pair(0.9, 0.999));
        group.hyper.insert("amsgrad".into(), HyperValue::Bool(true));
        let text = groups_to_json(std::slice::from_ref(&group)).unwrap();
        assert_eq!(text, r#"[{"params":[0,2],"hyper":{"amsgrad":true,"betas":[0.9,0.999],"lr":0.1}}]"#);
        assert_eq!(groups_from_json(&text).unwrap(), vec![group]);
    }

    #[test]
    fn state_round_trips() {
        let mut entry = ParamStateDict::<f32>::new(7);
        entry.scalars.insert("mu_product".into(), 0.25);
        let state = BTreeMap::from([(3, entry), (5, ParamStateDict::new(1))]);
        let text = state_to_json(&state).unwrap();
        assert_eq!(text, r#"{"3":{"step":7,"scalars":{"mu_product":0.25}},"5":{"step":1}}"#);
        assert_eq!(state_from_json::<f32>(&text).unwrap(), state);
    }

    #[test]
    fn malformed_json_names_the_entry() {
        for (text, needle) in [
            (r#"{"0":{"step":1}"#, "EOF"),
            (r#"{"0":{"step":-1}}"#, "invalid value"),
            (r#"{"0":{"step":1,"steps":2}}"#, "unknown field"),
            (r#"{"0":{"step":1},"0":{"step":2}}"#, "duplicate key"),
            (r#"{"x":{"step":1}}"#, "invalid"),
            (r#"{"0":{"step":1}} trailing"#, "trailing"),
        ] {
            let err = state_from_json::<f64>(text).unwrap_err();
            let CheckpointError::BadMetadata { key: "state", reason } = &err else { panic!("{err:?}") };
            assert!(reason.contains(needle), "{text}: {reason}");
        }
        assert!(matches!(groups_from_json(r#"[{"params":[0]}]"#), Err(CheckpointError::BadMetadata { .. })));
        assert!(matches!(
            groups_from_json(r#"[{"params":[0],"hyper":{"lr":0.1,"lr":0.2}}]"#),
            Err(CheckpointError::BadMetadata { .. })
        ));
        assert!(checksum_from_hex("0000000g").is_err() && checksum_from_hex("ABCDEF01").is_err());
        assert_eq!(checksum_from_hex("0000002a").unwrap(), 42);
        assert!(steps_from_decimal("-1").is_err());
        for bad in ["+3", "03", "", " 3", "3 "] {
            assert!(steps_from_decimal(bad).is_err(), "{bad:?}");
        }
        assert_eq!(steps_from_decimal("0").unwrap(), 0);
    }
}
