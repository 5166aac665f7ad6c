//! Every SIMD level and thread count codes and decodes to the same bytes as the scalar code the
//! formats were first written in (torchao's binary search, float32 division, table decoding),
//! kept here as the reference.

use super::qmap::{map_4bit, map_8bit};
use super::search::nearest;
use super::{PackedState, StateFormat, codec, fp8};
use crate::SimdLevel;

/// The reference coding of one block: codes and scale.
mod reference {
    use super::*;

    pub fn absmax_scale(values: &[f32]) -> f32 {
        let absmax = values.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        if values.iter().any(|v| v.is_nan()) { f32::NAN } else { absmax.max(1e-12) }
    }

    /// Codes (one byte per element, or packed pairs for 4-bit; bfloat16 bits) and scales.
    pub fn encode(format: StateFormat, signed: bool, values: &[f32]) -> (Vec<u8>, Vec<f32>) {
        let (mut codes, mut scales) = (Vec::new(), Vec::new());
        if format == StateFormat::BFloat16 {
            let bytes = values.iter().flat_map(|&v| codec::to_bf16(v).to_le_bytes());
            return (bytes.collect(), scales);
        }
        for block in values.chunks(format.block_size()) {
            let mut scale = absmax_scale(block);
            match format {
                StateFormat::Int8 => codes.extend(block.iter().map(|v| nearest(map_8bit(signed), v / scale))),
                StateFormat::Int4 => codes.extend(block.chunks(2).map(|pair| {
                    let map = map_4bit(signed);
                    (nearest(map, pair[0] / scale) << 4) | nearest(map, pair[1] / scale)
                })),
                _ => {
                    scale /= fp8::E4M3_MAX;
                    codes.extend(block.iter().map(|v| fp8::encode(v / scale)));
                }
            }
            scales.push(scale);
        }
        (codes, scales)
    }

    pub fn decode(format: StateFormat, signed: bool, codes: &[u8], scales: &[f32], len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let scale = scales.get(i / format.block_size()).copied().unwrap_or(1.0);
                match format {
                    StateFormat::Int8 => map_8bit(signed)[usize::from(codes[i])] * scale,
                    StateFormat::Int4 => {
                        map_4bit(signed)[usize::from((codes[i / 2] >> (4 - 4 * (i % 2))) & 15)] * scale
                    }
                    StateFormat::Fp8 => fp8::decode_table()[usize::from(codes[i])] * scale,
                    _ => codec::from_bf16(u16::from_le_bytes([codes[2 * i], codes[2 * i + 1]])),
                }
            })
            .collect()
    }
}

/// A deterministic stream of 64-bit numbers.
fn stream(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Blocks of 256 values meant to find differences: magnitudes over many decades, both signs,
/// zeros of both signs, subnormals, values a block's scale maps onto the maps' entries and
/// the midpoints between them (where the rounding decides), and blocks holding NaN, infinity,
/// nothing but tiny values (scale clipped to 1e-12), or float32's largest values.
fn hard_values(blocks: usize, seed: u64) -> Vec<f32> {
    let mut next = stream(seed);
    let maps: Vec<f32> =
        map_8bit(true).iter().chain(map_8bit(false)).chain(map_4bit(true)).chain(map_4bit(false)).copied().collect();
    let mut values = Vec::new();
    for block in 0..blocks {
        let scale = f32::from_bits(0x2000_0000 + (next() as u32 % 0x3F00_0000));
        for i in 0..256 {
            let r = next();
            let entry = maps[(r >> 8) as usize % maps.len()];
            let neighbour = maps[(r >> 20) as usize % maps.len()];
            let nudge = ((r >> 40) % 5) as i32 - 2;
            let value = match (r % 8, block % 7) {
                (_, 6) => f32::from_bits((r >> 32) as u32), // any bits: NaNs, infinities, subnormals
                (_, 5) => (r >> 40) as f32 * 1e-20,         // below 1e-12: the scale is clipped
                (0, _) => entry * scale,
                (1, _) => (entry + neighbour) / 2.0 * scale,
                (2, _) => f32::from_bits(((entry + neighbour) / 2.0 * scale).to_bits().wrapping_add_signed(nudge)),
                (3, _) => f32::from_bits((r >> 32) as u32 & 0x807F_FFFF), // subnormal or zero
                (4, _) if i == 0 && block % 3 == 0 => [f32::INFINITY, f32::MAX, -f32::MAX][block % 9 / 3],
                _ => f32::from_bits((r >> 32) as u32 & 0xBFFF_FFFF) * scale,
            };
            values.push(if r & (1 << 63) != 0 { -value } else { value });
        }
    }
    values
}

/// Bits, so that NaNs compare too.
fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// The first index where two runs of bits differ, with both, or `None`.
fn first_difference<T: PartialEq + Copy>(a: &[T], b: &[T]) -> Option<(usize, T, T)> {
    if a.len() != b.len() {
        return a.first().map(|&x| (usize::MAX, x, x));
    }
    a.iter().zip(b).position(|(x, y)| x != y).map(|i| (i, a[i], b[i]))
}

const FORMATS: [(StateFormat, bool); 6] = [
    (StateFormat::Int8, true),
    (StateFormat::Int8, false),
    (StateFormat::Int4, true),
    (StateFormat::Int4, false),
    (StateFormat::Fp8, true),
    (StateFormat::BFloat16, true),
];

#[test]
fn every_level_codes_and_decodes_as_the_reference_does() {
    let values = hard_values(200, 1);
    for (format, signed) in FORMATS {
        let (codes, scales) = reference::encode(format, signed, &values);
        let decoded = reference::decode(format, signed, &codes, &scales, values.len());
        for level in SimdLevel::available() {
            let mut packed = PackedState::zeros(format, signed, values.len());
            packed.view_mut().encode(level, &values);
            let name = format!("{format:?} signed {signed} at {level:?}");
            assert_eq!(first_difference(&packed.codes, &codes), None, "{name}: codes");
            assert_eq!(first_difference(&bits(&packed.scales), &bits(&scales)), None, "{name}: scales");
            let mut out = vec![0.0f32; values.len()];
            packed.view().decode(level, &mut out);
            // a NaN code times a NaN scale keeps either payload, as the compiler orders the
            // operands (in the reference too), so NaNs compare as NaN
            let canonical = |values: &[f32]| {
                bits(&values.iter().map(|v| if v.is_nan() { f32::NAN } else { *v }).collect::<Vec<_>>())
            };
            assert_eq!(first_difference(&canonical(&out), &canonical(&decoded)), None, "{name}: decoded");
            // float64 values are coded from their float32 rounding, and decode to it widened
            let wide: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
            let mut packed_wide = PackedState::zeros(format, signed, values.len());
            packed_wide.view_mut().encode(level, &wide);
            assert!(packed_wide.codes == packed.codes, "{name}: from float64");
            assert_eq!(bits(&packed_wide.scales), bits(&packed.scales), "{name}: from float64");
            let mut out_wide = vec![0.0f64; values.len()];
            packed.view().decode(level, &mut out_wide);
            assert!(out_wide.iter().zip(&out).all(|(w, n)| (*w as f32).to_bits() == n.to_bits()), "{name}: to float64");
        }
    }
}

/// A block whose values are those decoding gave is left alone, at every level; any other is
/// coded again.
#[test]
fn only_changed_blocks_are_coded_again() {
    let values = hard_values(8, 2);
    for (format, signed) in FORMATS {
        for level in SimdLevel::available() {
            let mut packed = PackedState::zeros(format, signed, values.len());
            packed.view_mut().encode(level, &values);
            let before = packed.values::<f32>();
            let mut after = before.clone();
            // the second block changes by one bit of one value; the others are as decoded
            after[300] = f32::from_bits(after[300].to_bits() ^ 1);
            // what re-coding the unchanged blocks would give, if they were re-coded
            let mut recoded = packed.clone();
            recoded.view_mut().encode(level, &after);
            let mut stepped = packed.clone();
            stepped.view_mut().encode_changed(level, &after, Some(&before));
            let block = format.block_size();
            let bytes = |p: &PackedState, range: core::ops::Range<usize>| {
                p.codes[format.code_bytes(range.start)..format.code_bytes(range.end)].to_vec()
            };
            for start in (0..values.len()).step_by(block) {
                let range = start..start + block;
                let expected = if range.contains(&300) { &recoded } else { &packed };
                assert_eq!(
                    bytes(&stepped, range.clone()),
                    bytes(expected, range),
                    "{format:?} {signed} {level:?} {start}"
                );
            }
            assert_eq!(
                bits(&stepped.scales),
                bits(
                    &packed
                        .scales
                        .iter()
                        .enumerate()
                        .map(|(i, &s)| if i == 300 / block { recoded.scales[i] } else { s })
                        .collect::<Vec<_>>()
                )
            );
        }
    }
}

/// Adam with each format on pools of 1 and 2 threads (the tensor large enough to be split):
/// the same codes and scales.
#[test]
fn every_thread_count_gives_the_same_codes() {
    use crate::builtins::Adam;
    use crate::{Optimizer, Param};
    let len = 1 << 18;
    let run = |format: StateFormat, threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut next = stream(3);
            let value = |_| (next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let param = Param::new(ndarray::ArrayD::from_shape_fn(vec![len], value));
            let mut optimizer = Optimizer::<Adam, f32>::new(vec![param.clone()], Adam::hyper()).unwrap();
            optimizer.set_state_format(format).unwrap();
            for step in 0..3 {
                let grad = ndarray::ArrayD::from_shape_fn(vec![len], |i| ((i[0] * 7 + step) % 13) as f32 - 6.0);
                param.set_grad(grad);
                optimizer.step().unwrap();
            }
            let state = optimizer.state(0, 0).unwrap();
            ["exp_avg", "exp_avg_sq"].map(|name| {
                let codes = state.codes(name).unwrap();
                (codes.codes.to_vec(), bits(codes.scales))
            })
        })
    };
    for format in StateFormat::COMPACT {
        assert!(run(format, 1) == run(format, 2), "{format:?}");
    }
}
