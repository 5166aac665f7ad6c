//! The 8-bit and 4-bit formats' element loops in x86 vector instructions, which LLVM does not
//! produce from the portable loops in `codec.rs` (it keeps a table lookup per element scalar):
//! the 8-bit [`Search`] table is read with a gather; the 4-bit codes are a binary search over
//! the 15 thresholds held in a register; the 8-bit map is read with eight loads at AVX2, with a
//! gather at AVX-512, or with byte permutes where the CPU has AVX-512 VBMI (on an AMD EPYC a
//! gather of the search table beat eight loads, 1.4-1.5 against 1.8-1.9 ns per element, a
//! gather of the map did not); the 16-entry 4-bit map is held in registers and permuted. Each
//! lane computes exactly what the portable code computes (the same float64 product for the
//! quotient, the same key or comparisons, `map[code] * scale`), so every level gives the same
//! bytes, as the tests check.
//!
//! Each function handles a multiple of its vector width and returns how many elements it did;
//! the caller finishes the rest with the portable code. `level` must be
//! [`SimdLevel::effective`], so that it names only instruction sets the CPU has.

use super::qmap::{map_8bit, map_8bit_planes};
use super::search::Search;
use crate::SimdLevel;

/// Codes of `values / scale` (`reciprocal = 1 / scale` in float64), one byte each.
#[inline(always)]
pub(super) fn codes_8bit(
    level: SimdLevel,
    search: &Search,
    values: &[f32],
    reciprocal: f64,
    codes: &mut [u8],
) -> usize {
    match level {
        // SAFETY: `level` is effective, so the CPU has AVX-512 (F, VL, DQ, BW) and AVX2.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { avx512::codes_8bit(search, values, reciprocal, codes) },
        // SAFETY: as above, for AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { avx2::codes_8bit(search, values, reciprocal, codes) },
        _ => 0,
    }
}

/// Codes of `values / scale`, two per byte (the even element in the high half).
#[inline(always)]
pub(super) fn codes_4bit(
    level: SimdLevel,
    search: &Search,
    values: &[f32],
    reciprocal: f64,
    codes: &mut [u8],
) -> usize {
    match level {
        // SAFETY: as in `codes_8bit`.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { avx512::codes_4bit(search, values, reciprocal, codes) },
        // SAFETY: as in `codes_8bit`.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { avx2::codes_4bit(search, values, reciprocal, codes) },
        _ => 0,
    }
}

/// `map[code] * scale` for one byte of code each, `map` the 8-bit map `signed` names.
#[inline(always)]
pub(super) fn decode_8bit(level: SimdLevel, signed: bool, codes: &[u8], scale: f32, out: &mut [f32]) -> usize {
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 if vbmi() => {
            // SAFETY: as in `codes_8bit`, and the CPU has AVX-512 VBMI
            unsafe { avx512::decode_8bit_vbmi(map_8bit_planes(signed), codes, scale, out) }
        }
        // SAFETY: as in `codes_8bit`.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { avx512::decode_8bit(map_8bit(signed), codes, scale, out) },
        // SAFETY: as in `codes_8bit`.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { avx2::decode_8bit(map_8bit(signed), codes, scale, out) },
        _ => 0,
    }
}

/// Whether the CPU has AVX-512 VBMI (byte permutes), which the AVX-512 level does not require:
/// with it, 8-bit decoding permutes bytes instead of gathering, to the same values.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn vbmi() -> bool {
    std::arch::is_x86_feature_detected!("avx512vbmi")
}

/// `map[code] * scale` for two codes per byte.
#[inline(always)]
pub(super) fn decode_4bit(level: SimdLevel, map: &[f32; 16], codes: &[u8], scale: f32, out: &mut [f32]) -> usize {
    match level {
        // SAFETY: as in `codes_8bit`.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { avx512::decode_4bit(map, codes, scale, out) },
        // SAFETY: as in `codes_8bit`.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { avx2::decode_4bit(map, codes, scale, out) },
        _ => 0,
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// Each x86 clone of 8-bit decoding the CPU can run, the AVX-512 one with and without VBMI
/// (the level tests reach only the one this CPU picks), against the scalar loop.
#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// One clone of 8-bit decoding: signed map or not, codes, scale, output.
    type Clone = fn(bool, &[u8], f32, &mut [f32]) -> usize;

    #[test]
    fn every_clone_of_8bit_decoding_gives_the_maps_values() {
        let codes: Vec<u8> = (0..1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for signed in [true, false] {
            let map = map_8bit(signed);
            let scale = 0.37;
            let expected: Vec<u32> = codes.iter().map(|&c| (map[usize::from(c)] * scale).to_bits()).collect();
            let mut clones: Vec<(&str, Clone)> = Vec::new();
            if SimdLevel::Avx2.is_available() {
                // SAFETY: the CPU has AVX2
                clones.push(("avx2", |s, c, k, o| unsafe { avx2::decode_8bit(map_8bit(s), c, k, o) }));
            }
            if SimdLevel::Avx512.is_available() {
                // SAFETY: the CPU has the AVX-512 level's features
                clones.push(("avx512", |s, c, k, o| unsafe { avx512::decode_8bit(map_8bit(s), c, k, o) }));
            }
            if SimdLevel::Avx512.is_available() && vbmi() {
                // SAFETY: and VBMI
                clones.push(("vbmi", |s, c, k, o| unsafe { avx512::decode_8bit_vbmi(map_8bit_planes(s), c, k, o) }));
            }
            for (name, clone) in clones {
                let mut out = vec![0.0f32; codes.len()];
                assert_eq!(clone(signed, &codes, scale, &mut out), codes.len(), "{name}");
                assert!(out.iter().map(|v| v.to_bits()).eq(expected.iter().copied()), "{name} signed {signed}");
            }
        }
    }
}
