//! The lookup tables of the 8-bit and 4-bit formats, built as torchao builds them (bitsandbytes'
//! dynamic map: a decimal exponent and a linear fraction), in the same float32 arithmetic, so
//! every entry has torchao's exact bits.

use std::sync::OnceLock;

/// `torch.linspace(start, end, steps)` in float32: the first half counted up from `start`, the
/// second half down from `end`, each value one fused multiply-add, as ATen's vectorised CPU
/// kernel computes them (separate rounding of the product gives 42 of the 256 8-bit entries
/// one ulp off).
fn linspace(start: f32, end: f32, steps: usize) -> Vec<f32> {
    let step = (end - start) / (steps - 1) as f32;
    let halfway = steps / 2;
    (0..steps)
        .map(|i| if i < halfway { step.mul_add(i as f32, start) } else { (-step).mul_add((steps - i - 1) as f32, end) })
        .collect()
}

/// torchao's `create_dynamic_map(signed, max_exponent_bits, total_bits)`: for each decimal
/// exponent `10^(i - max_exponent_bits + 1)`, the midpoints of a float32 `linspace(0.1, 1, n)`
/// with more points for larger exponents; then 0 and 1; sorted. (torchao counts one sign bit
/// for unsigned maps too, which is why the unsigned map has no more fraction points.)
fn dynamic_map(signed: bool, max_exponent_bits: i32, total_bits: i32) -> Vec<f32> {
    let non_sign_bits = total_bits - 1;
    let mut data = Vec::new();
    for i in 0..max_exponent_bits {
        let exponent = i + non_sign_bits - max_exponent_bits + if signed { 0 } else { 1 };
        let boundaries = linspace(0.1, 1.0, (1usize << exponent) + 1);
        // a Python float times a float32 tensor multiplies in float32
        let decade = 10f64.powi(i - (max_exponent_bits - 1)) as f32;
        for pair in boundaries.windows(2) {
            let mean = (pair[0] + pair[1]) / 2.0;
            data.push(decade * mean);
            if signed {
                data.push(-(decade * mean));
            }
        }
    }
    data.push(0.0);
    data.push(1.0);
    data.sort_by(f32::total_cmp);
    data
}

/// The 256-entry signed (`exp_avg`) or unsigned (`exp_avg_sq`) map of the 8-bit format.
pub(crate) fn map_8bit(signed: bool) -> &'static [f32; 256] {
    static SIGNED: OnceLock<[f32; 256]> = OnceLock::new();
    static UNSIGNED: OnceLock<[f32; 256]> = OnceLock::new();
    let cell = if signed { &SIGNED } else { &UNSIGNED };
    cell.get_or_init(|| dynamic_map(signed, 7, 8).try_into().unwrap_or([0.0; 256]))
}

/// The 8-bit map's entries as four planes of bytes: `planes[p][e]` is byte `p` (little-endian)
/// of entry `e`'s bits, for lookups that permute bytes (`vector::avx512::decode_8bit_vbmi`).
pub(crate) fn map_8bit_planes(signed: bool) -> &'static [[u8; 256]; 4] {
    static SIGNED: OnceLock<[[u8; 256]; 4]> = OnceLock::new();
    static UNSIGNED: OnceLock<[[u8; 256]; 4]> = OnceLock::new();
    let cell = if signed { &SIGNED } else { &UNSIGNED };
    cell.get_or_init(|| {
        let map = map_8bit(signed);
        core::array::from_fn(|p| core::array::from_fn(|e| map[e].to_bits().to_le_bytes()[p]))
    })
}

/// The 16-entry maps of the 4-bit format: signed, a dynamic map with three exponent bits;
/// unsigned, `linspace(0, 1, 17)` without its zero.
pub(crate) fn map_4bit(signed: bool) -> &'static [f32; 16] {
    static SIGNED: OnceLock<[f32; 16]> = OnceLock::new();
    static UNSIGNED: OnceLock<[f32; 16]> = OnceLock::new();
    if signed {
        SIGNED.get_or_init(|| dynamic_map(true, 3, 4).try_into().unwrap_or([0.0; 16]))
    } else {
        UNSIGNED.get_or_init(|| linspace(0.0, 1.0, 17)[1..].try_into().unwrap_or([0.0; 16]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_are_sorted_and_span_the_unit_interval() {
        for signed in [true, false] {
            let maps: [&[f32]; 2] = [map_8bit(signed), map_4bit(signed)];
            for map in maps {
                assert!(map.windows(2).all(|w| w[0] < w[1]), "{map:?}");
                assert_eq!(map[map.len() - 1], 1.0);
                assert_eq!(map[0] < 0.0, signed);
            }
        }
        assert!(map_8bit(true).contains(&0.0) && map_8bit(false)[0] == 0.0);
        assert_eq!(map_4bit(false)[0], 0.0625);
    }
}

/// The maps against the tables torchao used in the recording (`tests/data/lowbit-golden.json`).
#[cfg(test)]
mod recorded {
    use super::*;

    #[test]
    fn maps_equal_torchaos_bit_for_bit() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/lowbit-golden.json");
        let recording: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let maps: [(&str, &[f32]); 4] = [
            ("AdamW8bit.exp_avg", map_8bit(true)),
            ("AdamW8bit.exp_avg_sq", map_8bit(false)),
            ("AdamW4bit.exp_avg", map_4bit(true)),
            ("AdamW4bit.exp_avg_sq", map_4bit(false)),
        ];
        for (key, ours) in maps {
            let theirs: Vec<f32> =
                recording["qmaps"][key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let differing: Vec<(usize, f32, f32)> = ours
                .iter()
                .zip(&theirs)
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .map(|(i, (a, b))| (i, *a, *b))
                .collect();
            assert!(differing.is_empty() && ours.len() == theirs.len(), "{key}: {differing:?}");
        }
    }
}
