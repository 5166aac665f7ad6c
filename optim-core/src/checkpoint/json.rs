//! How values are written in the JSON metadata: floats exactly (non-finite ones as strings),
//! hyperparameters by their JSON type, and maps that refuse duplicate keys.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::HyperValue;

const NAN: &str = "NaN";
/// The NaN x86 arithmetic produces (0/0) has its sign bit set; kept so that a resumed run
/// carries the same bits.
const NEG_NAN: &str = "-NaN";
const INFINITY: &str = "Infinity";
const NEG_INFINITY: &str = "-Infinity";

/// A float as JSON: a number when finite (shortest round-trip form, so reading it back gives
/// the same bits), else `"NaN"`, `"-NaN"`, `"Infinity"` or `"-Infinity"`, which JSON numbers
/// cannot express (a NaN keeps its sign, not its payload).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct JsonFloat(pub(crate) f64);

impl Serialize for JsonFloat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            v if v.is_finite() => serializer.serialize_f64(v),
            v if v.is_nan() && v.is_sign_negative() => serializer.serialize_str(NEG_NAN),
            v if v.is_nan() => serializer.serialize_str(NAN),
            v if v > 0.0 => serializer.serialize_str(INFINITY),
            _ => serializer.serialize_str(NEG_INFINITY),
        }
    }
}

fn non_finite<E: de::Error>(text: &str) -> Result<f64, E> {
    match text {
        NAN => Ok(f64::NAN),
        NEG_NAN => Ok(-f64::NAN),
        INFINITY => Ok(f64::INFINITY),
        NEG_INFINITY => Ok(f64::NEG_INFINITY),
        other => Err(E::invalid_value(
            de::Unexpected::Str(other),
            &"a number, \"NaN\", \"-NaN\", \"Infinity\" or \"-Infinity\"",
        )),
    }
}

impl<'de> Deserialize<'de> for JsonFloat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FloatVisitor;
        impl Visitor<'_> for FloatVisitor {
            type Value = JsonFloat;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, \"NaN\", \"-NaN\", \"Infinity\" or \"-Infinity\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonFloat, E> {
                Ok(JsonFloat(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonFloat, E> {
                Ok(JsonFloat(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonFloat, E> {
                Ok(JsonFloat(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonFloat, E> {
                non_finite(v).map(JsonFloat)
            }
        }
        deserializer.deserialize_any(FloatVisitor)
    }
}

/// A hyperparameter as JSON: a float as [`JsonFloat`] (always with a fraction or exponent, so
/// it reads back as a float), an integer as an integer, a flag as a bool, a pair as a two-element
/// array.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct JsonHyper(pub(crate) HyperValue);

impl Serialize for JsonHyper {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            HyperValue::Float(v) => JsonFloat(v).serialize(serializer),
            HyperValue::Int(v) => serializer.serialize_i64(v),
            HyperValue::Bool(v) => serializer.serialize_bool(v),
            HyperValue::Pair(a, b) => (JsonFloat(a), JsonFloat(b)).serialize(serializer),
            HyperValue::Triple(a, b, c) => (JsonFloat(a), JsonFloat(b), JsonFloat(c)).serialize(serializer),
            HyperValue::Unset => serializer.serialize_none(),
            HyperValue::Choice(name) => serializer.serialize_str(name.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for JsonHyper {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HyperVisitor;
        impl<'de> Visitor<'de> for HyperVisitor {
            type Value = JsonHyper;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a float, an integer, a bool, a pair of floats, null or a choice name")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<JsonHyper, E> {
                Ok(JsonHyper(HyperValue::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonHyper, E> {
                Ok(JsonHyper(HyperValue::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonHyper, E> {
                let v = i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &"an i64"))?;
                Ok(JsonHyper(HyperValue::Int(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonHyper, E> {
                Ok(JsonHyper(HyperValue::Float(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonHyper, E> {
                // the non-finite float markers first (the macro refuses them as choice names)
                if let Ok(v) = non_finite::<E>(v) {
                    return Ok(JsonHyper(HyperValue::Float(v)));
                }
                let name = crate::ChoiceName::new(v).ok_or_else(|| {
                    E::invalid_value(de::Unexpected::Str(v), &"a choice name of at most MAX_CHOICE_NAME bytes")
                })?;
                Ok(JsonHyper(HyperValue::Choice(name)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<JsonHyper, E> {
                Ok(JsonHyper(HyperValue::Unset))
            }
            fn visit_none<E: de::Error>(self) -> Result<JsonHyper, E> {
                Ok(JsonHyper(HyperValue::Unset))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonHyper, A::Error> {
                let pair = "a pair or a triple of floats";
                let a: JsonFloat = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &pair))?;
                let b: JsonFloat = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &pair))?;
                let Some(c) = seq.next_element::<JsonFloat>()? else {
                    return Ok(JsonHyper(HyperValue::Pair(a.0, b.0)));
                };
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(4, &pair));
                }
                Ok(JsonHyper(HyperValue::Triple(a.0, b.0, c.0)))
            }
        }
        deserializer.deserialize_any(HyperVisitor)
    }
}

/// Deserializes a map, refusing a key given twice (which plain maps keep the last of silently).
pub(crate) fn unique_map<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord + fmt::Debug,
    V: Deserialize<'de>,
{
    struct MapVisitor<K, V>(PhantomData<(K, V)>);
    impl<'de, K, V> Visitor<'de> for MapVisitor<K, V>
    where
        K: Deserialize<'de> + Ord + fmt::Debug,
        V: Deserialize<'de>,
    {
        type Value = BTreeMap<K, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map without duplicate keys")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut map = BTreeMap::new();
            while let Some((key, value)) = access.next_entry::<K, V>()? {
                match map.entry(key) {
                    Entry::Vacant(slot) => {
                        slot.insert(value);
                    }
                    Entry::Occupied(slot) => return Err(de::Error::custom(format!("duplicate key {:?}", slot.key()))),
                }
            }
            Ok(map)
        }
    }
    deserializer.deserialize_map(MapVisitor(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hyper(text: &str) -> Result<HyperValue, serde_json::Error> {
        serde_json::from_str::<JsonHyper>(text).map(|h| h.0)
    }

    #[test]
    fn floats_round_trip_bit_for_bit() {
        let values =
            [0.1, 1e-8, 0.999, 1.0, -0.0, 1e300, 5e-324, f64::MAX, 2.0f64.sqrt(), f64::INFINITY, f64::NEG_INFINITY];
        for v in values {
            let text = serde_json::to_string(&JsonFloat(v)).unwrap();
            let back: JsonFloat = serde_json::from_str(&text).unwrap();
            assert_eq!(back.0.to_bits(), v.to_bits(), "{v} written as {text}");
        }
        let nan: JsonFloat = serde_json::from_str(&serde_json::to_string(&JsonFloat(f64::NAN)).unwrap()).unwrap();
        assert!(nan.0.is_nan());
        let negative = JsonFloat(0.0f64 / std::hint::black_box(0.0));
        let back: JsonFloat = serde_json::from_str(&serde_json::to_string(&negative).unwrap()).unwrap();
        assert_eq!(back.0.to_bits(), negative.0.to_bits());
    }

    #[test]
    fn hyperparameters_keep_their_type() {
        for value in [HyperValue::Float(1.0), HyperValue::Float(1e20), HyperValue::Int(3), HyperValue::Int(-3)]
            .into_iter()
            .chain([
                HyperValue::Bool(true),
                HyperValue::Pair(0.9, 0.999),
                HyperValue::Triple(3.4445, -4.775, 2.0315),
                HyperValue::Float(f64::INFINITY),
            ])
            .chain([HyperValue::Unset, HyperValue::Choice(crate::ChoiceName::new("lion").unwrap())])
        {
            let text = serde_json::to_string(&JsonHyper(value)).unwrap();
            assert_eq!(hyper(&text).unwrap(), value, "{text}");
        }
        assert!(hyper("[1.0]").is_err());
        assert_eq!(hyper("[1.0, 2.0, 3.0]").unwrap(), HyperValue::Triple(1.0, 2.0, 3.0));
        assert!(hyper("[1.0, 2.0, 3.0, 4.0]").is_err());
        // a string is a choice's name (the rule checks it), `null` an unset optional
        assert_eq!(hyper("\"fast\"").unwrap(), HyperValue::Choice(crate::ChoiceName::new("fast").unwrap()));
        assert_eq!(hyper("null").unwrap(), HyperValue::Unset);
        assert!(hyper(&format!("\"{}\"", "x".repeat(crate::MAX_CHOICE_NAME + 1))).is_err());
        assert!(hyper("{}").is_err());
        assert!(hyper("18446744073709551615").is_err());
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let mut de = serde_json::Deserializer::from_str(r#"{"a": 1, "a": 2}"#);
        let err = unique_map::<_, String, u32>(&mut de).unwrap_err();
        assert!(err.to_string().contains("duplicate key \"a\""), "{err}");
    }
}
