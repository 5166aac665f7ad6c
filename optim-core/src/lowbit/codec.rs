//! Block-wise quantization exactly as torchao computes it: per block, the largest magnitude
//! (clipped below at 1e-12) is the scale; each value divided by it is coded as the nearest entry
//! of the lookup table, found by a branch-free binary search (ties round up), or as the nearest
//! float8 e4m3fn value after a scale of absmax / 448. bfloat16 rounds each value to nearest even.

use super::fp8;
use super::qmap::{map_4bit, map_8bit};

/// The code of `x` (already divided by its block's scale) in `map`: torchao's search, which
/// finds the last entry not above `x` by halving steps from the middle, then moves up one entry
/// when `x` is at least half way to the next.
#[inline(always)]
fn nearest<const N: usize>(map: &[f32; N], x: f32) -> u8 {
    let mut code = 0usize;
    let mut step = N / 2;
    while step > 0 {
        // `& (N - 1)` keeps the index provably in bounds (it already is), so no check is emitted
        code += if x >= map[(code + step) & (N - 1)] { step } else { 0 };
        step /= 2;
    }
    let up = (code + 1).min(N - 1);
    let (down_value, up_value) = (map[code & (N - 1)], map[up & (N - 1)]);
    let rounded = if x - down_value >= (up_value - down_value) * 0.5 { up } else { code };
    rounded as u8
}

/// The scale torchao gives a block: its largest magnitude, at least 1e-12 (NaN stays NaN, as
/// `clip` keeps it).
#[inline(always)]
fn absmax_scale(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let mut nan = false;
    for chunk in values.chunks(16) {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(v.abs());
            nan |= v.is_nan();
        }
    }
    let absmax = lanes.iter().fold(0.0f32, |a, &b| a.max(b));
    if nan { f32::NAN } else { absmax.max(1e-12) }
}

/// Codes and scale of one block of the 8-bit format (`codes.len() == values.len()`).
#[inline(always)]
pub(crate) fn encode_8bit(signed: bool, values: &[f32], codes: &mut [u8]) -> f32 {
    let map = map_8bit(signed);
    let scale = absmax_scale(values);
    for (code, &v) in codes.iter_mut().zip(values) {
        *code = nearest(map, v / scale);
    }
    scale
}

/// Values of one block of the 8-bit format.
#[inline(always)]
pub(crate) fn decode_8bit(signed: bool, codes: &[u8], scale: f32, out: &mut [f32]) {
    let map = map_8bit(signed);
    for (v, &code) in out.iter_mut().zip(codes) {
        *v = map[code as usize] * scale;
    }
}

/// Codes (two per byte, the even element in the high half) and scale of one block of the
/// 4-bit format (`codes.len() * 2 == values.len()`).
#[inline(always)]
pub(crate) fn encode_4bit(signed: bool, values: &[f32], codes: &mut [u8]) -> f32 {
    let map = map_4bit(signed);
    let scale = absmax_scale(values);
    for (byte, pair) in codes.iter_mut().zip(values.chunks_exact(2)) {
        *byte = (nearest(map, pair[0] / scale) << 4) | nearest(map, pair[1] / scale);
    }
    scale
}

/// Values of one block of the 4-bit format.
#[inline(always)]
pub(crate) fn decode_4bit(signed: bool, codes: &[u8], scale: f32, out: &mut [f32]) {
    let map = map_4bit(signed);
    for (pair, &byte) in out.chunks_exact_mut(2).zip(codes) {
        pair[0] = map[(byte >> 4) as usize] * scale;
        pair[1] = map[(byte & 15) as usize] * scale;
    }
}

/// Codes and scale of one block of the float8 format: the scale is absmax / 448, so the block's
/// largest magnitude becomes e4m3fn's largest value.
#[inline(always)]
pub(crate) fn encode_fp8(values: &[f32], codes: &mut [u8]) -> f32 {
    let scale = absmax_scale(values) / fp8::E4M3_MAX;
    for (code, &v) in codes.iter_mut().zip(values) {
        *code = fp8::encode(v / scale);
    }
    scale
}

/// Values of one block of the float8 format.
#[inline(always)]
pub(crate) fn decode_fp8(codes: &[u8], scale: f32, out: &mut [f32]) {
    let table = fp8::decode_table();
    for (v, &code) in out.iter_mut().zip(codes) {
        *v = table[code as usize] * scale;
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

#[cfg(test)]
mod tests {
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
        let scale = encode_8bit(true, &values, &mut codes);
        let mut back = [0.0f32; 256];
        decode_8bit(true, &codes, scale, &mut back);
        let map = map_8bit(true);
        for (v, &code) in values.iter().zip(&codes) {
            let x = v / scale;
            // no entry of the map is nearer than the chosen one
            let chosen = (map[code as usize] - x).abs();
            assert!(map.iter().all(|m| (m - x).abs() >= chosen * (1.0 - 1e-6)), "{x} -> {code}");
        }
        let absmax = values.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        assert_eq!(scale, absmax);
        let zeros = [0.0f32; 128];
        let mut packed = [0u8; 64];
        assert_eq!(encode_4bit(false, &zeros, &mut packed), 1e-12);
    }
}
