//! From `f32` to bfloat16 and back, for parameters stored in bfloat16: widening is exact;
//! narrowing rounds to nearest even, or stochastically with random bits that a counter-based
//! hash draws from (seed, step, tensor, element), so they do not depend on how a step is split
//! between threads.

use half::bf16;

/// How a step writes its `f32` result back into a bfloat16 parameter.
///
/// Stochastic rounding (torchao's `bf16_stochastic_round`) rounds up with probability equal to
/// the distance from the bfloat16 value below, so small updates survive on average where
/// rounding to nearest would drop them: a step of `lr · update` below half a bfloat16 step
/// (1/256 of the parameter's binade) leaves a parameter unchanged under `NearestEven`.
///
/// ```
/// use optim_core::Bf16Rounding;
/// assert_eq!(Bf16Rounding::default(), Bf16Rounding::NearestEven);
/// let sr = Bf16Rounding::Stochastic { seed: 7 };
/// assert_ne!(sr, Bf16Rounding::NearestEven);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bf16Rounding {
    /// Round to nearest, ties to even (PyTorch's `.to(torch.bfloat16)`).
    #[default]
    NearestEven,
    /// Add 16 random bits below the bfloat16 mantissa, then truncate: element `e` of tensor `t`
    /// at step `s` draws its bits from `(seed, s, t, e)`.
    Stochastic {
        /// The generator's seed.
        seed: u64,
    },
}

/// The rounding of one tensor at one step: nearest even, or the stochastic stream's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TensorRounding {
    NearestEven,
    Stochastic(u64),
}

impl TensorRounding {
    /// Tensor `tensor`'s rounding at step `step` (1 for a parameter's first step).
    pub(crate) fn new(rounding: Bf16Rounding, step: u64, tensor: usize) -> Self {
        match rounding {
            Bf16Rounding::NearestEven => TensorRounding::NearestEven,
            Bf16Rounding::Stochastic { seed } => {
                TensorRounding::Stochastic(mix64(seed ^ mix64(step ^ mix64(tensor as u64 ^ 0x5eed))))
            }
        }
    }
}

/// SplitMix64's finalizer: a bijection of `u64` whose output bits each depend on every input bit.
#[inline(always)]
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Wellons' `lowbias32`, a bijection of `u32` with low bias, in 32-bit lanes (so it
/// vectorises on every SIMD level).
#[inline(always)]
fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x21f0_aaad);
    x ^= x >> 15;
    x = x.wrapping_mul(0x735a_2d97);
    x ^ (x >> 15)
}

/// Rounds `value` to bfloat16, adding `noise` (16 random bits) below the kept mantissa first.
/// NaN stays NaN; values already in bfloat16 stay as they are; infinities stay infinite.
#[inline(always)]
pub(crate) fn round_stochastic(value: f32, noise: u32) -> bf16 {
    let bits = value.to_bits();
    // no carry past bit 31: the largest non-NaN pattern is -inf, 0xff80_0000
    let rounded = bf16::from_bits((bits.wrapping_add(noise & 0xffff) >> 16) as u16);
    if value.is_nan() { bf16::from_f32(value) } else { rounded }
}

/// Rounds `value` to the nearest bfloat16, ties to even, NaN staying NaN: `half`'s rounding, in
/// a form without branches, so the loop vectorises.
#[inline(always)]
fn round_nearest_even(value: f32) -> bf16 {
    let bits = value.to_bits();
    let rounded = bf16::from_bits((bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16) as u16);
    if value.is_nan() { bf16::from_f32(value) } else { rounded }
}

/// Widens bfloat16 values into `out` (exact).
#[inline(always)]
pub(crate) fn widen(values: &[bf16], out: &mut [f32]) {
    for (o, v) in out.iter_mut().zip(values) {
        *o = f32::from_bits(u32::from(v.to_bits()) << 16);
    }
}

/// Narrows `values` into `out` with `rounding`; `at` is the flat index, in the tensor, of the
/// first element (the stochastic stream is indexed by it).
#[inline(always)]
pub(crate) fn narrow(values: &[f32], out: &mut [bf16], rounding: TensorRounding, at: usize) {
    match rounding {
        TensorRounding::NearestEven => {
            for (o, &v) in out.iter_mut().zip(values) {
                *o = round_nearest_even(v);
            }
        }
        TensorRounding::Stochastic(key) => {
            // elements past 2^32 fold their high bits into the key, so the 32-bit hash below
            // never repeats within a tensor
            let key = if (at as u64) >> 32 == 0 { key } else { mix64(key ^ ((at as u64) >> 32)) };
            let (low, high) = (key as u32, (key >> 32) as u32);
            let first = at as u32;
            for (k, (o, &v)) in out.iter_mut().zip(values).enumerate() {
                let noise = mix32(first.wrapping_add(k as u32).wrapping_add(low)) ^ high;
                *o = round_stochastic(v, noise >> 16);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stochastic_rounding_picks_a_neighbour_with_the_right_odds() {
        // 1 + 2^-9 lies a quarter of the way from 1 to the next bfloat16 (1 + 2^-7)
        let value = 1.0f32 + 2f32.powi(-9);
        let (low, high) = (bf16::from_f32(1.0), bf16::from_f32(1.0 + 2f32.powi(-7)));
        let mut ups = 0u32;
        let n = 1 << 16;
        for at in 0..n {
            let mut out = [bf16::ZERO];
            narrow(&[value], &mut out, TensorRounding::new(Bf16Rounding::Stochastic { seed: 3 }, 1, 0), at);
            assert!(out[0] == low || out[0] == high, "{} is not a neighbour", out[0]);
            ups += u32::from(out[0] == high);
        }
        // a binomial with p = 1/4 over 65536 draws: 4.5 standard deviations is about 500
        let expected = n as f64 / 4.0;
        assert!((f64::from(ups) - expected).abs() < 500.0, "{ups} rounded up, expected about {expected}");
    }

    #[test]
    fn exact_values_infinities_and_nan_survive_stochastic_rounding() {
        let values = [1.5f32, -0.0, f32::INFINITY, f32::NEG_INFINITY, bf16::MAX.to_f32()];
        for noise in [0, 1, 0x7fff, 0xffff] {
            for &v in &values {
                assert_eq!(round_stochastic(v, noise).to_f32().to_bits(), v.to_bits(), "{v} with {noise:#x}");
            }
            assert!(round_stochastic(f32::NAN, noise).is_nan());
            assert!(round_stochastic(f32::from_bits(0x7f80_0001), noise).is_nan(), "a NaN with low payload");
        }
        // the largest finite value rounds up to infinity only through noise, as torchao's does
        assert_eq!(round_stochastic(f32::MAX, 0xffff).to_f32(), f32::INFINITY);
    }

    #[test]
    fn the_stream_depends_on_seed_step_tensor_and_element_not_on_where_a_slice_starts() {
        let values: Vec<f32> = (0..600).map(|k| 1.0 + k as f32 * 1e-4).collect();
        let key = TensorRounding::new(Bf16Rounding::Stochastic { seed: 11 }, 4, 2);
        let mut whole = vec![bf16::ZERO; 600];
        narrow(&values, &mut whole, key, 0);
        let mut pieces = vec![bf16::ZERO; 600];
        narrow(&values[..256], &mut pieces[..256], key, 0);
        narrow(&values[256..], &mut pieces[256..], key, 256);
        assert_eq!(whole, pieces);
        for other in [
            TensorRounding::new(Bf16Rounding::Stochastic { seed: 12 }, 4, 2),
            TensorRounding::new(Bf16Rounding::Stochastic { seed: 11 }, 5, 2),
            TensorRounding::new(Bf16Rounding::Stochastic { seed: 11 }, 4, 3),
        ] {
            let mut out = vec![bf16::ZERO; 600];
            narrow(&values, &mut out, other, 0);
            assert_ne!(out, whole, "{other:?} gave the same stream");
        }
    }

    #[test]
    fn nearest_even_matches_half() {
        for bits in (0..=u32::MAX).step_by(65_521) {
            let v = f32::from_bits(bits);
            let mut out = [bf16::ZERO];
            narrow(&[v], &mut out, TensorRounding::NearestEven, 0);
            let expected = bf16::from_f32(v);
            assert!(out[0].to_bits() == expected.to_bits() || (v.is_nan() && out[0].is_nan()), "{v:e}");
            let mut back = [0.0f32];
            widen(&out, &mut back);
            assert_eq!(back[0].to_bits(), out[0].to_f32().to_bits());
        }
    }
}
