//! Block-wise quantization exactly as torchao computes it: per block, the largest magnitude
//! (clipped below at 1e-12) is the scale; each value divided by it is coded as the nearest entry
//! of the lookup table, found by torchao's branch-free binary search (ties round up), or as the
//! nearest float8 e4m3fn value after a scale of absmax / 448. bfloat16 rounds each value to
//! nearest even.
//!
//! Every function here is `#[inline(always)]` and branch-free per element, so that each SIMD
//! level's clone (see [`super::packed`]) vectorises it; the 8-bit and 4-bit formats' loops,
//! which LLVM leaves scalar, run in [`super::vector`]'s instructions for the `level` given
//! ([`SimdLevel::effective`]). All of them compute the same bits.

use super::qmap::map_8bit;
use super::search::Search;
use super::{fp8, vector};
use crate::SimdLevel;

/// A block's reciprocal scale, for [`quotient`].
#[inline(always)]
fn reciprocal(scale: f32) -> f64 {
    1.0 / f64::from(scale)
}

/// `x / scale` rounded to float32, as torchao's float32 division gives it, from `reciprocal =
/// 1 / scale` in float64, without a division per element (the divider is the step's
/// bottleneck: the rule's own kernel divides and takes square roots).
///
/// Exact for every `x` and every scale (normal, infinite or NaN; a scale is never zero): the
/// product is within 2^-52 (relative) of `x / scale`, and a quotient of two float32s is never
/// within 2^-49 of a midpoint between two float32s unless it is a float32 itself. (Write
/// `scale = S·2^a`, `x = X·2^b`, a midpoint `m = M·2^c` with 24-bit `S`, `X` and 25-bit `M`:
/// `x - m·scale` is a non-zero multiple of `2^(a+c)`, so `|x/scale - m| / m >= 1 / (M·S) >
/// 2^-49`; below the normal range `M` is smaller and the margin wider.) So the product rounds
/// to float32 on the same side of every midpoint as the true quotient.
#[inline(always)]
fn quotient(x: f32, reciprocal: f64) -> f32 {
    (f64::from(x) * reciprocal) as f32
}

/// The bits of a block's largest magnitude: magnitudes order as their bit patterns do (NaN's
/// above infinity's), and an integer maximum is a plain reduction LLVM vectorises (a float
/// maximum is not associative with NaN about; lanes kept by hand it turned into gathers).
#[inline(always)]
pub(crate) fn absmax_bits(values: &[f32]) -> u32 {
    values.iter().fold(0, |a, &v| a.max(v.to_bits() & 0x7FFF_FFFF))
}

/// [`absmax_bits`] of `values`, and whether any of them differs from `before` in any bit: one
/// pass for a step's re-coding, which leaves unchanged blocks alone.
#[inline(always)]
pub(crate) fn absmax_bits_and_change(values: &[f32], before: &[f32]) -> (u32, bool) {
    let (absmax, difference) = values.iter().zip(before).fold((0, 0), |(absmax, difference), (&v, &b)| {
        (u32::max(absmax, v.to_bits() & 0x7FFF_FFFF), difference | (v.to_bits() ^ b.to_bits()))
    });
    (absmax, difference != 0)
}

/// The scale torchao gives a block whose largest magnitude has bits `absmax`: that magnitude,
/// at least 1e-12 (NaN stays NaN, as `clip` keeps it); divided by 448 for float8, whose
/// largest value the block's largest magnitude becomes.
#[inline(always)]
pub(crate) fn block_scale(absmax: u32, fp8: bool) -> f32 {
    let scale = if absmax > f32::INFINITY.to_bits() { f32::NAN } else { f32::from_bits(absmax).max(1e-12) };
    if fp8 { scale / fp8::E4M3_MAX } else { scale }
}

/// Codes of one block of the 8-bit format, with its `scale` (`codes.len() == values.len()`).
#[inline(always)]
pub(crate) fn encode_8bit(level: SimdLevel, search: &Search, values: &[f32], scale: f32, codes: &mut [u8]) {
    let r = reciprocal(scale);
    let done = vector::codes_8bit(level, search, values, r, codes);
    for (code, &v) in codes[done..].iter_mut().zip(&values[done..]) {
        *code = search.code(quotient(v, r));
    }
}

/// Values of one block of the 8-bit format.
#[inline(always)]
pub(crate) fn decode_8bit(level: SimdLevel, signed: bool, codes: &[u8], scale: f32, out: &mut [f32]) {
    let map = map_8bit(signed);
    let done = vector::decode_8bit(level, signed, codes, scale, out);
    for (v, &code) in out[done..].iter_mut().zip(&codes[done..]) {
        *v = map[usize::from(code)] * scale;
    }
}

/// Codes (two per byte, the even element in the high half) of one block of the 4-bit format,
/// with its `scale` (`codes.len() * 2 == values.len()`).
#[inline(always)]
pub(crate) fn encode_4bit(level: SimdLevel, search: &Search, values: &[f32], scale: f32, codes: &mut [u8]) {
    let r = reciprocal(scale);
    let done = vector::codes_4bit(level, search, values, r, codes);
    for (byte, pair) in codes[done / 2..].iter_mut().zip(values[done..].chunks_exact(2)) {
        *byte = (search.code_4bit(quotient(pair[0], r)) << 4) | search.code_4bit(quotient(pair[1], r));
    }
}

/// Values of one block of the 4-bit format.
#[inline(always)]
pub(crate) fn decode_4bit(level: SimdLevel, map: &[f32; 16], codes: &[u8], scale: f32, out: &mut [f32]) {
    let done = vector::decode_4bit(level, map, codes, scale, out);
    for (pair, &byte) in out[done..].chunks_exact_mut(2).zip(&codes[done / 2..]) {
        pair[0] = map[usize::from(byte >> 4)] * scale;
        pair[1] = map[usize::from(byte & 15)] * scale;
    }
}

/// Codes of one block of the float8 format, with its `scale` ([`block_scale`] for float8).
#[inline(always)]
pub(crate) fn encode_fp8(values: &[f32], scale: f32, codes: &mut [u8]) {
    let r = reciprocal(scale);
    for (code, &v) in codes.iter_mut().zip(values) {
        *code = fp8::encode(quotient(v, r));
    }
}

/// Values of one block of the float8 format: computed on the codes' bits where the level has
/// vector shifts and selects to do it with, from a table at the baseline (SSE2), where that
/// is faster; the same values.
#[inline(always)]
pub(crate) fn decode_fp8(level: SimdLevel, codes: &[u8], scale: f32, out: &mut [f32]) {
    if level == SimdLevel::Baseline {
        let table = fp8::decode_table();
        for (v, &code) in out.iter_mut().zip(codes) {
            *v = table[usize::from(code)] * scale;
        }
        return;
    }
    for (v, &code) in out.iter_mut().zip(codes) {
        *v = fp8::decode(code) * scale;
    }
}

/// bfloat16 bits of `x`, rounded to nearest even (NaN stays a quiet NaN).
#[inline(always)]
pub(crate) fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    let rounded = bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) >> 16;
    if x.is_nan() { ((bits >> 16) | 0x40) as u16 } else { rounded as u16 }
}

/// The float32 value of bfloat16 bits.
#[inline(always)]
pub(crate) fn from_bf16(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// bfloat16 codes of a run of values (two little-endian bytes each).
#[inline(always)]
pub(crate) fn encode_bf16(values: &[f32], codes: &mut [u8]) {
    for (pair, &v) in codes.chunks_exact_mut(2).zip(values) {
        pair.copy_from_slice(&to_bf16(v).to_le_bytes());
    }
}

/// Values of a run of bfloat16 codes.
#[inline(always)]
pub(crate) fn decode_bf16(codes: &[u8], out: &mut [f32]) {
    for (v, pair) in out.iter_mut().zip(codes.chunks_exact(2)) {
        *v = from_bf16(u16::from_le_bytes([pair[0], pair[1]]));
    }
}

#[cfg(test)]
mod tests {
    use super::super::search::search_8bit;
    use super::*;

    #[test]
    fn bfloat16_rounding_matches_the_half_crate() {
        let mut bits = 0u32;
        while bits < 0xFF80_0000 {
            let x = f32::from_bits(bits);
            assert_eq!(to_bf16(x), half::bf16::from_f32(x).to_bits(), "{x:e}");
            bits += 0x7FF3;
        }
        assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
        assert_eq!(from_bf16(to_bf16(1.0 + 2f32.powi(-8))), 1.0); // a tie goes to even
    }

    #[test]
    fn a_block_round_trips_to_its_nearest_codes() {
        let values: Vec<f32> = (0..256).map(|i| ((i as f32) * 0.37).sin() * 3.0).collect();
        let mut codes = [0u8; 256];
        let scale = block_scale(absmax_bits(&values), false);
        encode_8bit(SimdLevel::Baseline, search_8bit(true), &values, scale, &mut codes);
        let mut back = [0.0f32; 256];
        decode_8bit(SimdLevel::Baseline, true, &codes, scale, &mut back);
        let map = map_8bit(true);
        for (v, &code) in values.iter().zip(&codes) {
            let x = v / scale;
            // no entry of the map is nearer than the chosen one
            let chosen = (map[code as usize] - x).abs();
            assert!(map.iter().all(|m| (m - x).abs() >= chosen * (1.0 - 1e-6)), "{x} -> {code}");
        }
        let absmax = values.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        assert_eq!(scale, absmax);
        assert_eq!(block_scale(absmax_bits(&[0.0; 128]), false), 1e-12);
        assert!(block_scale(absmax_bits(&[1.0, f32::NAN, f32::INFINITY]), true).is_nan());
    }

    /// [`quotient`] is float32 division, over scales and values of every magnitude, and over
    /// quotients next to the midpoints between float32s (where a product that is a little off
    /// would round the other way).
    #[test]
    fn the_reciprocal_product_is_float32_division() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2_000_000 {
            let bits = next();
            let scale = f32::from_bits((bits as u32 & 0x007F_FFFF) | ((60 + (bits >> 32) as u32 % 100) << 23));
            let x = f32::from_bits((bits >> 23) as u32);
            // the value whose quotient is nearest a midpoint: a midpoint times the scale
            let midpoint = f64::from(f32::from_bits((bits >> 40) as u32 & 0x3F7F_FFFF)) * (1.0 + 2f64.powi(-24));
            let near = (midpoint * f64::from(scale)) as f32;
            for x in [x, -x, near, f32::from_bits(near.to_bits() + 1), f32::from_bits(near.to_bits().wrapping_sub(1))] {
                let expected = x / scale;
                let got = quotient(x, reciprocal(scale));
                assert!(
                    got.to_bits() == expected.to_bits() || (got.is_nan() && expected.is_nan()),
                    "{x:e} / {scale:e}"
                );
            }
        }
        for scale in [f32::INFINITY, f32::NAN, 1e-12, f32::MAX] {
            for x in [0.0, -0.0, 1.0, -3.5e-30, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MIN_POSITIVE] {
                let (expected, got) = (x / scale, quotient(x, reciprocal(scale)));
                assert!(
                    got.to_bits() == expected.to_bits() || (got.is_nan() && expected.is_nan()),
                    "{x:e} / {scale:e}"
                );
            }
        }
    }
}
