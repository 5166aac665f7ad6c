//! The 1- and 2-norms of one gradient at memory speed, for clipping (fused into the step or
//! [`crate::clip::clip_grad_norm_`]): a read-only pass, SIMD-dispatched and split over rayon's
//! pool, where a plain iterator sum runs one dependent `f64` add per element on one thread.
//!
//! The result is the same bits whatever the thread count and SIMD level: the slice is halved
//! down to [`LEAF`] elements at points that depend only on its length, halves add in a fixed
//! order, and within a leaf element `i` goes to `f64` lane `i % LANES` at every level (the
//! vector loop is the same scalar code, and LLVM never reassociates float adds).

use crate::parallel::{INLINE_BELOW, both};
use crate::simd::{ReduceKernel, dispatch_reduce};
use crate::{Element, SimdLevel};

/// Independent `f64` partial sums per leaf: enough vector adds in flight to hide their latency.
const LANES: usize = 32;

/// The largest piece one kernel call sums; pieces combine in a fixed tree.
const LEAF: usize = 1 << 16;

/// What a leaf sums: `x²` or `|x|`.
#[derive(Clone, Copy, PartialEq)]
enum Power {
    One,
    Two,
}

struct SumPowers(Power);

impl<T: Element> ReduceKernel<T> for SumPowers {
    #[inline(always)]
    fn run(&self, values: &[T], _: &[T], _: &[&[T]], out: &mut [f64]) {
        let sum = match self.0 {
            Power::One => accumulate::<T, false>(values),
            Power::Two => accumulate::<T, true>(values),
        };
        if let Some(first) = out.first_mut() {
            *first = sum;
        }
    }
}

/// Lanes per group: one AVX-512 register of `f64`.
const GROUP: usize = 8;

/// `Σ x²` (or `Σ |x|`) of `values` over [`LANES`] lanes, kept as groups of [`GROUP`]. Blocks
/// are fixed-size arrays, the power a constant and each group's loop exactly one register wide,
/// so every group is one vector conversion, multiply and add; written as one 32-lane loop it
/// was vectorised with shuffles and ran at a quarter of the memory's speed.
#[inline(always)]
fn accumulate<T: Element, const SQUARE: bool>(values: &[T]) -> f64 {
    let mut lanes = [[0.0f64; GROUP]; LANES / GROUP];
    let blocks = values.len() / LANES;
    for block in 0..blocks {
        let base = block * LANES;
        let row: &[T; LANES] = match values[base..base + LANES].try_into() {
            Ok(row) => row,
            Err(_) => return f64::NAN,
        };
        for (g, group) in lanes.iter_mut().enumerate() {
            for k in 0..GROUP {
                let x = row[g * GROUP + k].to_f64();
                group[k] += if SQUARE { x * x } else { x.abs() };
            }
        }
    }
    for (i, &x) in values.iter().enumerate().skip(blocks * LANES) {
        let x = x.to_f64();
        lanes[(i % LANES) / GROUP][i % GROUP] += if SQUARE { x * x } else { x.abs() };
    }
    lanes.iter().flatten().sum()
}

fn sum_powers<T: Element>(level: SimdLevel, power: Power, values: &[T], parallel: bool) -> f64 {
    if values.len() <= LEAF {
        let mut out = [0.0f64];
        dispatch_reduce(level, &SumPowers(power), values, &[], &[], &mut out);
        return out[0];
    }
    // halves on 64-element boundaries, as the reduction passes split a tensor
    let (left, right) = values.split_at((values.len() / 2) & !63);
    let (mut low, mut high) = (0.0, 0.0);
    both(
        parallel,
        || low = sum_powers(level, power, left, parallel),
        || high = sum_powers(level, power, right, parallel),
    );
    low + high
}

/// The norm of order `p` of `values` in `f64` when this module has a fast pass for `p` (1 and
/// 2), else `None`. Runs on rayon's pool when `values` is large enough.
pub(crate) fn fast_norm<T: Element>(values: &[T], p: f64) -> Option<f64> {
    let power = if p == 2.0 {
        Power::Two
    } else if p == 1.0 {
        Power::One
    } else {
        return None;
    };
    let parallel = values.len() >= INLINE_BELOW && rayon::current_num_threads() > 1;
    let sum = sum_powers(SimdLevel::detected(), power, values, parallel);
    Some(if power == Power::Two { sum.sqrt() } else { sum })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_and_thread_count_gives_the_same_bits() {
        let values: Vec<f32> = (0..300_001usize).map(|i| ((i * 7919 % 1013) as f32 - 506.0) * 1e-3).collect();
        let reference = |p| sum_powers(SimdLevel::Baseline, p, &values, false);
        for level in SimdLevel::available() {
            for power in [Power::One, Power::Two] {
                assert_eq!(sum_powers(level, power, &values, true).to_bits(), reference(power).to_bits());
            }
        }
        let exact: f64 = values.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        assert!((fast_norm(&values, 2.0).unwrap_or(0.0) - exact.sqrt()).abs() < 1e-9 * exact.sqrt());
        assert_eq!(fast_norm(&values, 3.0), None);
    }
}
