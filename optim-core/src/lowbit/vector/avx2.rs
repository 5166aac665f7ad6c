//! The 8-lane (AVX2) clones of the element loops: see the parent module.

use core::arch::x86_64::*;

use crate::lowbit::search::Search;

/// As `avx512::quotients`.
#[target_feature(enable = "avx2,fma")]
fn quotients(v: __m256, reciprocal: __m256d) -> __m256 {
    let low = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), reciprocal));
    let high = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)), reciprocal));
    _mm256_set_m128(high, low)
}

/// As `avx512::keys`.
#[target_feature(enable = "avx2,fma")]
fn keys(search: &Search, q: __m256) -> __m256i {
    if let Some(low) = search.low {
        let clamped = _mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(low)), _mm256_set1_ps(1.0));
        return _mm256_sub_epi32(_mm256_castps_si256(clamped), _mm256_set1_epi32(low.to_bits() as i32));
    }
    let clamped = _mm256_castps_si256(_mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(-1.0)), _mm256_set1_ps(1.0)));
    let magnitude = _mm256_and_si256(clamped, _mm256_set1_epi32(0x7FFF_FFFF));
    let floor = _mm256_set1_epi32(search.floor as i32);
    // counted from `floor`, negated for negative values (`sign` zeroes where the clamped
    // bits are zero, +0, whose count is zero anyway)
    let counted = _mm256_sign_epi32(_mm256_sub_epi32(_mm256_max_epu32(magnitude, floor), floor), clamped);
    _mm256_add_epi32(counted, _mm256_set1_epi32(search.offset as i32))
}

/// As `avx512::lane_codes`.
#[target_feature(enable = "avx2,fma")]
fn lane_codes(search: &Search, q: __m256) -> __m256i {
    let key = keys(search, q);
    let index = _mm256_srl_epi32(key, _mm_cvtsi32_si128(search.shift as i32));
    // SAFETY: a key is at most `Search::last_key`, whose bucket is the table's last entry
    let entry = unsafe { _mm256_i32gather_epi32::<4>(search.entries.as_ptr().cast(), index) };
    let within = _mm256_sll_epi32(key, _mm_cvtsi32_si128(32 - search.shift as i32));
    // -1 where the entry is at least `within` (unsigned), the threshold not reached
    let short = _mm256_cmpeq_epi32(_mm256_max_epu32(entry, within), entry);
    _mm256_add_epi32(_mm256_add_epi32(entry, _mm256_set1_epi32(1)), short)
}

/// The low byte of each 32-bit lane (`step` 4) or 64-bit lane (`step` 8), in order.
#[target_feature(enable = "avx2,fma")]
fn low_bytes<const STEP: i8>(v: __m256i) -> __m128i {
    let pick = _mm256_setr_epi8(
        0,
        STEP,
        2 * STEP,
        3 * STEP,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        0,
        STEP,
        2 * STEP,
        3 * STEP,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
    );
    let picked = _mm256_shuffle_epi8(v, pick);
    let (low, high) = (_mm256_castsi256_si128(picked), _mm256_extracti128_si256::<1>(picked));
    if STEP == 4 { _mm_unpacklo_epi32(low, high) } else { _mm_unpacklo_epi16(low, high) }
}

#[target_feature(enable = "avx2,fma")]
pub(super) fn codes_8bit(search: &Search, values: &[f32], reciprocal: f64, codes: &mut [u8]) -> usize {
    let reciprocal = _mm256_set1_pd(reciprocal);
    let mut done = 0;
    for (v, out) in values.chunks_exact(8).zip(codes.chunks_exact_mut(8)) {
        // SAFETY: 8 floats are read and 8 bytes written, the chunks' lengths
        let v = unsafe { _mm256_loadu_ps(v.as_ptr()) };
        let bytes = low_bytes::<4>(lane_codes(search, quotients(v, reciprocal)));
        unsafe { _mm_storel_epi64(out.as_mut_ptr().cast(), bytes) };
        done += 8;
    }
    done
}

#[target_feature(enable = "avx2,fma")]
pub(super) fn codes_4bit(search: &Search, values: &[f32], reciprocal: f64, codes: &mut [u8]) -> usize {
    let reciprocal = _mm256_set1_pd(reciprocal);
    let mut done = 0;
    for (v, out) in values.chunks_exact(8).zip(codes.chunks_exact_mut(4)) {
        // SAFETY: 8 floats are read, the chunk's length
        let v = unsafe { _mm256_loadu_ps(v.as_ptr()) };
        let code = lane_codes(search, quotients(v, reciprocal));
        // as in `avx512::codes_4bit`
        let pairs = _mm256_or_si256(_mm256_slli_epi64::<4>(code), _mm256_srli_epi64::<32>(code));
        out.copy_from_slice(&_mm_cvtsi128_si32(low_bytes::<8>(pairs)).to_le_bytes());
        done += 8;
    }
    done
}

#[target_feature(enable = "avx2,fma")]
pub(super) fn decode_8bit(map: &[f32; 256], codes: &[u8], scale: f32, out: &mut [f32]) -> usize {
    let scale = _mm256_set1_ps(scale);
    let mut done = 0;
    for (c, v) in codes.chunks_exact(8).zip(out.chunks_exact_mut(8)) {
        // eight loads, not a gather: `vgatherdps` ran this loop at 0.51-0.76 ns per element on
        // an AMD EPYC (Zen), eight loads at 0.34-0.56 (and gathers are slow on Intel cores
        // with the Gather Data Sampling mitigation); a byte always indexes the 256-entry map
        let at = |k: usize| map[usize::from(c[k])];
        let values = _mm256_setr_ps(at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7));
        // SAFETY: 8 floats are written, the chunk's length
        unsafe { _mm256_storeu_ps(v.as_mut_ptr(), _mm256_mul_ps(values, scale)) };
        done += 8;
    }
    done
}

#[target_feature(enable = "avx2,fma")]
pub(super) fn decode_4bit(map: &[f32; 16], codes: &[u8], scale: f32, out: &mut [f32]) -> usize {
    let scale = _mm256_set1_ps(scale);
    // SAFETY: the map is 16 floats
    let (map_low, map_high) = unsafe { (_mm256_loadu_ps(map.as_ptr()), _mm256_loadu_ps(map.as_ptr().add(8))) };
    let twice = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, -1, -1, -1, -1, -1, -1, -1, -1);
    let shifts = _mm256_setr_epi32(4, 0, 4, 0, 4, 0, 4, 0);
    let mut done = 0;
    for (c, v) in codes.chunks_exact(4).zip(out.chunks_exact_mut(8)) {
        let four = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        // each byte twice: the high half for the even element, the low for the odd
        let bytes = _mm_shuffle_epi8(_mm_cvtsi32_si128(four), twice);
        let index = _mm256_and_si256(_mm256_srlv_epi32(_mm256_cvtepu8_epi32(bytes), shifts), _mm256_set1_epi32(15));
        // entries 0-7 or 8-15 by the index's bit 3, moved to the sign bit blendv reads
        let low = _mm256_permutevar8x32_ps(map_low, index);
        let high = _mm256_permutevar8x32_ps(map_high, index);
        let values = _mm256_blendv_ps(low, high, _mm256_castsi256_ps(_mm256_slli_epi32::<28>(index)));
        // SAFETY: 8 floats are written, the chunk's length
        unsafe { _mm256_storeu_ps(v.as_mut_ptr(), _mm256_mul_ps(values, scale)) };
        done += 8;
    }
    done
}
