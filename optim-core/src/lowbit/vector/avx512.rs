//! The 16-lane (AVX-512) clones of the element loops: see the parent module.

use core::arch::x86_64::*;

use crate::lowbit::search::Search;

/// `v / scale` as `codec::quotient` computes it: each half widened to float64, multiplied by
/// the reciprocal, rounded back.
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
fn quotients(v: __m512, reciprocal: __m512d) -> __m512 {
    let low = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), reciprocal));
    let high = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(v)), reciprocal));
    _mm512_insertf32x8::<1>(_mm512_castps256_ps512(low), high)
}

/// [`Search::key`] of each lane.
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
fn keys(search: &Search, q: __m512) -> __m512i {
    if let Some(low) = search.low {
        let clamped = _mm512_min_ps(_mm512_max_ps(q, _mm512_set1_ps(low)), _mm512_set1_ps(1.0));
        return _mm512_sub_epi32(_mm512_castps_si512(clamped), _mm512_set1_epi32(low.to_bits() as i32));
    }
    let clamped = _mm512_castps_si512(_mm512_min_ps(_mm512_max_ps(q, _mm512_set1_ps(-1.0)), _mm512_set1_ps(1.0)));
    let magnitude = _mm512_and_si512(clamped, _mm512_set1_epi32(0x7FFF_FFFF));
    let magnitude = _mm512_max_epu32(magnitude, _mm512_set1_epi32(search.floor as i32));
    let positive = _mm512_add_epi32(magnitude, _mm512_set1_epi32(search.offset.wrapping_sub(search.floor) as i32));
    let from = _mm512_set1_epi32(search.offset.wrapping_add(search.floor) as i32);
    _mm512_mask_sub_epi32(positive, _mm512_movepi32_mask(clamped), from, magnitude)
}

/// [`Search::code`] of each lane, in the low byte of its 32 bits.
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
fn lane_codes(search: &Search, q: __m512) -> __m512i {
    let key = keys(search, q);
    let index = _mm512_srl_epi32(key, _mm_cvtsi32_si128(search.shift as i32));
    // SAFETY: a key is at most `Search::last_key`, whose bucket is the table's last entry
    let entry = unsafe { _mm512_i32gather_epi32::<4>(index, search.entries.as_ptr().cast()) };
    let within = _mm512_sll_epi32(key, _mm_cvtsi32_si128(32 - search.shift as i32));
    _mm512_mask_add_epi32(entry, _mm512_cmpgt_epu32_mask(within, entry), entry, _mm512_set1_epi32(1))
}

/// [`Search::code_4bit`] of each lane, the thresholds held in a register.
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
fn lane_codes_4bit(thresholds: __m512, q: __m512) -> __m512i {
    let mut code = _mm512_setzero_si512();
    for step in [8, 4, 2, 1] {
        let next = _mm512_add_epi32(code, _mm512_set1_epi32(step));
        let reached = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(q, _mm512_permutexvar_ps(next, thresholds));
        code = _mm512_mask_mov_epi32(code, reached, next);
    }
    code
}

#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
pub(super) fn codes_8bit(search: &Search, values: &[f32], reciprocal: f64, codes: &mut [u8]) -> usize {
    let reciprocal = _mm512_set1_pd(reciprocal);
    let mut done = 0;
    for (v, out) in values.chunks_exact(16).zip(codes.chunks_exact_mut(16)) {
        // SAFETY: 16 floats are read and 16 bytes written, the chunks' lengths
        let v = unsafe { _mm512_loadu_ps(v.as_ptr()) };
        let bytes = _mm512_cvtepi32_epi8(lane_codes(search, quotients(v, reciprocal)));
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), bytes) };
        done += 16;
    }
    done
}

#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
pub(super) fn codes_4bit(search: &Search, values: &[f32], reciprocal: f64, codes: &mut [u8]) -> usize {
    let reciprocal = _mm512_set1_pd(reciprocal);
    let mut done = 0;
    // SAFETY: a 4-bit map has 16 thresholds (with the unused first)
    let thresholds = unsafe { _mm512_loadu_ps(search.thresholds[..16].as_ptr()) };
    for (v, out) in values.chunks_exact(16).zip(codes.chunks_exact_mut(8)) {
        // SAFETY: 16 floats are read and 8 bytes written, the chunks' lengths
        let v = unsafe { _mm512_loadu_ps(v.as_ptr()) };
        let code = lane_codes_4bit(thresholds, quotients(v, reciprocal));
        // a pair of codes is a 64-bit lane, the even element in its low half: (even << 4) |
        // odd in its low byte
        let pairs = _mm512_or_si512(_mm512_slli_epi64::<4>(code), _mm512_srli_epi64::<32>(code));
        unsafe { _mm_storel_epi64(out.as_mut_ptr().cast(), _mm512_cvtepi64_epi8(pairs)) };
        done += 16;
    }
    done
}

#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
pub(super) fn decode_8bit(map: &[f32; 256], codes: &[u8], scale: f32, out: &mut [f32]) -> usize {
    let scale = _mm512_set1_ps(scale);
    let mut done = 0;
    for (c, v) in codes.chunks_exact(16).zip(out.chunks_exact_mut(16)) {
        // SAFETY: 16 bytes are read and 16 floats written, the chunks' lengths; every byte
        // indexes the 256-entry map
        let index = _mm512_cvtepu8_epi32(unsafe { _mm_loadu_si128(c.as_ptr().cast()) });
        let values = unsafe { _mm512_i32gather_ps::<4>(index, map.as_ptr()) };
        unsafe { _mm512_storeu_ps(v.as_mut_ptr(), _mm512_mul_ps(values, scale)) };
        done += 16;
    }
    done
}

/// [`decode_8bit`] with byte permutes (AVX-512 VBMI) in place of a gather, 64 codes at a time:
/// each byte of the entries' bits is looked up in its plane of the map (two 128-entry
/// permutes and a blend on the code's top bit), and the four planes interleaved back into
/// float32s. The codes are first transposed by groups of four, so that the interleaving,
/// which works within 128-bit lanes, leaves the values in order.
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx512vbmi,avx2,fma")]
pub(super) fn decode_8bit_vbmi(planes: &[[u8; 256]; 4], codes: &[u8], scale: f32, out: &mut [f32]) -> usize {
    // SAFETY: each plane is 256 bytes, read 64 at a time
    let tables: [[__m512i; 4]; 4] = core::array::from_fn(|p| {
        core::array::from_fn(|q| unsafe { _mm512_loadu_si512(planes[p][64 * q..].as_ptr().cast()) })
    });
    // 32-bit group 4 * lane + k takes group 4 * k + lane, and the other way round
    let transpose = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    let scale = _mm512_set1_ps(scale);
    let mut done = 0;
    for (c, v) in codes.chunks_exact(64).zip(out.chunks_exact_mut(64)) {
        // SAFETY: 64 bytes are read, the chunk's length
        let codes = _mm512_permutexvar_epi32(transpose, unsafe { _mm512_loadu_si512(c.as_ptr().cast()) });
        let high = _mm512_movepi8_mask(codes);
        let plane = |t: &[__m512i; 4]| {
            let low_half = _mm512_permutex2var_epi8(t[0], codes, t[1]);
            _mm512_mask_blend_epi8(high, low_half, _mm512_permutex2var_epi8(t[2], codes, t[3]))
        };
        let bytes = [plane(&tables[0]), plane(&tables[1]), plane(&tables[2]), plane(&tables[3])];
        let (low01, high01) = (_mm512_unpacklo_epi8(bytes[0], bytes[1]), _mm512_unpackhi_epi8(bytes[0], bytes[1]));
        let (low23, high23) = (_mm512_unpacklo_epi8(bytes[2], bytes[3]), _mm512_unpackhi_epi8(bytes[2], bytes[3]));
        let values = [
            _mm512_unpacklo_epi16(low01, low23),
            _mm512_unpackhi_epi16(low01, low23),
            _mm512_unpacklo_epi16(high01, high23),
            _mm512_unpackhi_epi16(high01, high23),
        ];
        for (k, bits) in values.into_iter().enumerate() {
            // SAFETY: 16 floats are written at 16 * k of the 64-float chunk
            unsafe { _mm512_storeu_ps(v[16 * k..].as_mut_ptr(), _mm512_mul_ps(_mm512_castsi512_ps(bits), scale)) };
        }
        done += 64;
    }
    done
}

#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
pub(super) fn decode_4bit(map: &[f32; 16], codes: &[u8], scale: f32, out: &mut [f32]) -> usize {
    let scale = _mm512_set1_ps(scale);
    // SAFETY: the map is 16 floats
    let map = unsafe { _mm512_loadu_ps(map.as_ptr()) };
    let twice = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    let shifts = _mm512_set_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4);
    let mut done = 0;
    for (c, v) in codes.chunks_exact(8).zip(out.chunks_exact_mut(16)) {
        // SAFETY: 8 bytes are read and 16 floats written, the chunks' lengths
        let bytes = _mm_shuffle_epi8(unsafe { _mm_loadl_epi64(c.as_ptr().cast()) }, twice);
        // each byte twice: the high half for the even element, the low for the odd
        let index = _mm512_and_si512(_mm512_srlv_epi32(_mm512_cvtepu8_epi32(bytes), shifts), _mm512_set1_epi32(15));
        let values = _mm512_permutexvar_ps(index, map);
        unsafe { _mm512_storeu_ps(v.as_mut_ptr(), _mm512_mul_ps(values, scale)) };
        done += 16;
    }
    done
}
