//! Whole-slice coding for `examples/bench_codec.rs`, which times each format's encoder and
//! decoder apart from any optimizer step; not a public API (re-exported from `__private`).

use super::{PackedState, StateFormat};
use crate::SimdLevel;

/// A packed state of `values.len()` elements (whole blocks) in `format`, for [`encode`] and
/// [`decode`] to reuse.
pub fn packed(format: StateFormat, signed: bool, len: usize) -> PackedCodes {
    PackedCodes(PackedState::zeros(format, signed, len))
}

/// A packed state's codes and scales, opaque.
#[derive(Debug, Clone)]
pub struct PackedCodes(PackedState);

impl PackedCodes {
    /// Bytes of codes and scales.
    pub fn bytes(&self) -> usize {
        self.0.bytes()
    }
}

/// Codes `values` into `packed` with the clones of `level`.
pub fn encode(level: SimdLevel, packed: &mut PackedCodes, values: &[f32]) {
    packed.0.view_mut().encode(level, values);
}

/// Decodes `packed` into `out` with the clones of `level`.
pub fn decode(level: SimdLevel, packed: &PackedCodes, out: &mut [f32]) {
    packed.0.view().decode(level, out);
}

/// For each lookup table, how many of all 2^32 float32s it codes otherwise than torchao's
/// search (0 each: `bench_codec --exhaustive`).
pub fn exhaustive_mismatches() -> Vec<(&'static str, usize)> {
    super::search::exhaustive_mismatches()
}
