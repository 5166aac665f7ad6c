//! float8 e4m3fn codes (4 exponent bits, 3 mantissa bits, no infinities, largest finite 448), as
//! `torch.float8_e4m3fn`: encoding rounds to nearest even. Both directions are written
//! branch-free on the bits so they vectorise (decoding is also a table, for the baseline
//! level), and are tested against the `float8` crate.

/// The largest finite e4m3fn value: torchao scales each block so its largest magnitude is this.
pub(crate) const E4M3_MAX: f32 = 448.0;

/// The float32 value of every code, from the `float8` crate: [`decode`] as a table (and what
/// it is tested against).
pub(crate) fn decode_table() -> &'static [f32; 256] {
    static TABLE: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| core::array::from_fn(|code| float8::F8E4M3::from_bits(code as u8).to_f32()))
}

/// The float32 value of `code`, as [`decode_table`] gives it, computed on the bits (a table
/// lookup per element would be a gather): normal codes move their exponent and mantissa into
/// place and rebias the exponent (7 -> 127); subnormal ones are their mantissa times 2^-9, both
/// exact; the two NaN codes give the NaN the `float8` crate gives (through float16: a
/// positive NaN with every mantissa bit float16 has set, for both signs).
#[inline(always)]
pub(crate) fn decode(code: u8) -> f32 {
    let code = u32::from(code);
    let sign = (code & 0x80) << 24;
    let magnitude = code & 0x7F;
    let normal = (magnitude << 20) + ((127 - 7) << 23);
    let subnormal = (magnitude as f32 * (1.0 / 512.0)).to_bits();
    let bits = if magnitude < 8 { subnormal } else { normal };
    f32::from_bits(if magnitude == 0x7F { 0x7FFF_E000 } else { bits | sign })
}

/// The e4m3fn code nearest `value` (ties to even), for `|value| < 464`; larger magnitudes and NaN
/// give the NaN code, as torch's conversion does. Branch-free: both the normal and the
/// subnormal result are computed and one is selected.
#[inline(always)]
pub(crate) fn encode(value: f32) -> u8 {
    let bits = value.to_bits();
    let sign = ((bits >> 24) & 0x80) as u8;
    let magnitude = bits & 0x7FFF_FFFF;
    // below 2^-6 the code is subnormal: adding 2^14, whose float32 ulp is 2^-9 (e4m3fn's
    // subnormal spacing), makes the float addition itself round to nearest even on that grid
    let denorm_mask: u32 = 141 << 23;
    let subnormal = (f32::from_bits(magnitude) + f32::from_bits(denorm_mask)).to_bits().wrapping_sub(denorm_mask);
    // normal: rebias the exponent (127 -> 7) and round the 20 dropped mantissa bits to even
    let odd = (magnitude >> 20) & 1;
    let normal = magnitude.wrapping_add(((7u32.wrapping_sub(127)) << 23).wrapping_add(0x7FFFF)).wrapping_add(odd) >> 20;
    let code = if magnitude < (121 << 23) { subnormal } else { normal };
    // 480 and above (or NaN) has no finite code
    let code = if magnitude >= (1087 << 20) { 0x7F } else { code };
    code as u8 | sign
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every float32 in e4m3fn's finite range, sampled densely (all of them near the codes'
    /// midpoints, where rounding matters), encodes as the `float8` crate's conversion does.
    #[test]
    fn encoding_matches_the_float8_crate() {
        let mut checked = 0u64;
        let mut bits = 0u32;
        while bits < 0x43E8_0000 {
            // 464 = the midpoint above 448
            for value in [f32::from_bits(bits), -f32::from_bits(bits)] {
                let expected = float8::F8E4M3::from_f32(value).to_bits();
                assert_eq!(encode(value), expected, "{value:e} ({:#x})", value.to_bits());
                checked += 1;
            }
            bits += if bits & 0xFFFF < 8 || bits & 0xFFFF > 0xFFF8 { 1 } else { 251 };
        }
        assert!(checked > 1_000_000);
        assert_eq!(encode(448.0), 0x7E);
        assert_eq!(encode(f32::NAN) & 0x7F, 0x7F);
        assert_eq!(decode_table()[0x7E], 448.0);
        assert_eq!(decode_table()[1], 2f32.powi(-9));
        for code in 0..=255u8 {
            assert_eq!(decode(code).to_bits(), decode_table()[usize::from(code)].to_bits(), "{code:#x}");
        }
    }
}
