//! torchao's code search as one table lookup, giving the same code for every float32.
//!
//! torchao finds a value's code with a binary search over the map (eight dependent loads for
//! 256 entries) and a rounding step. The code it gives is a non-decreasing step function of
//! the value (NaN aside): within the interval between two entries the rounding test is a
//! rounded subtraction compared with a constant, monotone in the value, and each interval's
//! codes lie between those of its neighbours. So the search is fully described by its N - 1
//! thresholds (the smallest float32 reaching each code), which are found once, by running the
//! search itself, and tabulated by the float's bits (its key, [`Search::key`]): values are
//! clamped to [-1, 1] (NaN to -1, as its code is 0), magnitudes below the smallest threshold
//! folded onto zero, and the keys cut into buckets of 2^shift consecutive bit patterns, each
//! holding at most one threshold. A code is then the bucket's first code, plus one if the key
//! reaches the bucket's threshold: one load, no branch. The thresholds themselves, as
//! float32s, give a second exact search, a binary search over 15 values for the 4-bit maps
//! that fits in one vector register.

use std::sync::OnceLock;

use super::qmap::{map_4bit, map_8bit};

/// torchao's search: the last entry not above `x` by halving steps from the middle, then one
/// entry up when `x` is at least half way to the next (NaN gives 0). The definition of the
/// codes; [`Search`] is built from it, and checked against it by the tests.
pub(super) fn nearest<const N: usize>(map: &[f32; N], x: f32) -> u8 {
    let mut code = 0usize;
    let mut step = N / 2;
    while step > 0 {
        code += if x >= map[(code + step) & (N - 1)] { step } else { 0 };
        step /= 2;
    }
    let up = (code + 1).min(N - 1);
    let (down_value, up_value) = (map[code & (N - 1)], map[up & (N - 1)]);
    let rounded = if x - down_value >= (up_value - down_value) * 0.5 { up } else { code };
    rounded as u8
}

/// The bits of 1.0: every larger magnitude codes as 1 or -1 does (the map's ends).
const ONE: u32 = 0x3F80_0000;

/// Buckets of at most 2^23 bit patterns: a threshold's offset in its bucket sits above the
/// bucket's first code (8 bits) in one `u32`.
const MAX_SHIFT: u32 = 23;

/// One map's codes as a table: see the module's comment.
#[derive(Debug)]
pub(crate) struct Search {
    /// For unsigned maps (every value up to `low`, negative ones and NaN included, has code 0):
    /// values are clamped to [`low`, 1] and a key is the bits counted from `low`'s. `None` for
    /// signed maps: values are clamped to [-1, 1], magnitudes raised to `floor`, and a key is
    /// `offset` plus or minus the magnitude's bits counted from `floor`'s.
    pub low: Option<f32>,
    /// Magnitudes below `floor` code as zero does (signed maps).
    pub floor: u32,
    /// The key of zero (signed maps): keys run from 0 (-1) to `2 * offset` (1).
    pub offset: u32,
    /// log2 of the bit patterns per bucket.
    pub shift: u32,
    /// Per bucket: its first code in the low 8 bits, and in the top `shift` the offset of its
    /// threshold from its first key, less one (`2^shift - 1` when it holds none: no key in the
    /// bucket is above that). A key reaches the threshold when its own offset, in the same
    /// place, is above the entry. Covers every key up to that of 1, so a key's bucket is
    /// always in range.
    pub entries: Vec<u32>,
    /// `thresholds[k]` is the smallest float32 whose code is at least `k` (`k` from 1; entry 0
    /// is negative infinity), so a code is the number of thresholds at most the value.
    pub thresholds: Vec<f32>,
}

impl Search {
    /// The key of `x`, a number that grows with `x` (NaN counts as -1): see [`Search::low`].
    /// (`max` and `min` give the other argument for NaN, as the vector instructions do.)
    #[inline(always)]
    #[allow(clippy::manual_clamp)] // `clamp` keeps NaN, whose code is the lower bound's
    pub(crate) fn key(&self, x: f32) -> u32 {
        if let Some(low) = self.low {
            return x.max(low).min(1.0).to_bits() - low.to_bits();
        }
        let bits = x.max(-1.0).min(1.0).to_bits();
        let counted = (bits & 0x7FFF_FFFF).max(self.floor) - self.floor;
        // negated for negative values, without a branch (signs are unpredictable)
        let negative = ((bits as i32) >> 31) as u32;
        self.offset.wrapping_add((counted ^ negative).wrapping_sub(negative))
    }

    /// The code of `x`: torchao's [`nearest`] of the map the table was built from.
    #[inline(always)]
    pub(crate) fn code(&self, x: f32) -> u8 {
        let key = self.key(x);
        let entry = self.entries[((key >> self.shift) as usize).min(self.entries.len() - 1)];
        let up = (key << (32 - self.shift)) > entry;
        (entry as u8).wrapping_add(u8::from(up))
    }

    /// The code of `x` by binary search over the 15 thresholds of a 4-bit map: the same code
    /// as [`Search::code`] (NaN fails every comparison and gives 0).
    #[inline(always)]
    pub(crate) fn code_4bit(&self, x: f32) -> u8 {
        let mut code = 0;
        for step in [8, 4, 2, 1] {
            code += if x >= self.thresholds[(code + step) & 15] { step } else { 0 };
        }
        code as u8
    }

    /// The largest key, that of 1.
    pub(crate) fn last_key(&self) -> u32 {
        match self.low {
            Some(low) => ONE - low.to_bits(),
            None => 2 * self.offset,
        }
    }

    /// The smallest value with key `key` (the inverse of [`Search::key`] within its range).
    pub(crate) fn value(&self, key: u32) -> f32 {
        if let Some(low) = self.low {
            return f32::from_bits(low.to_bits() + key);
        }
        let signed = i64::from(key) - i64::from(self.offset);
        let magnitude = f32::from_bits(signed.unsigned_abs() as u32 + self.floor);
        if signed < 0 { -magnitude } else { magnitude }
    }

    /// The table of `map`'s codes, with the widest buckets that hold one threshold each.
    fn build<const N: usize>(map: &[f32; N]) -> Search {
        let reference = |x: f32| nearest(map, x);
        let thresholds = float_thresholds(&reference, N);
        // the largest power of two below which every magnitude codes as zero does, both signs
        let zero = reference(0.0);
        let mut low = ONE;
        while low > 0 && [1.0, -1.0].iter().any(|&s| reference(s * f32::from_bits(low - 1)) != zero) {
            low -= 1 << 23;
        }
        let unsigned = map[0] >= 0.0;
        for shift in (0..=MAX_SHIFT).rev() {
            let floor = low.saturating_sub(1 << shift);
            let mut search = Search {
                // the largest value below the first threshold
                low: unsigned.then(|| f32::from_bits(thresholds[1].to_bits() - 1)),
                floor,
                offset: ONE - floor,
                shift,
                entries: Vec::new(),
                thresholds: thresholds.clone(),
            };
            // the first key reaching each code, found by bisection over the monotone keys
            let keys: Vec<u32> = (1..N)
                .map(|c| {
                    let (mut below, mut at) = (0u32, search.last_key());
                    while at - below > 1 {
                        let mid = below + (at - below) / 2;
                        if usize::from(reference(search.value(mid))) >= c { at = mid } else { below = mid }
                    }
                    at
                })
                .collect();
            let mut fits = true;
            for bucket in 0..=search.last_key() >> shift {
                let first = bucket << shift;
                let inside: Vec<u32> = keys.iter().copied().filter(|t| t >> shift == bucket && *t > first).collect();
                fits &= inside.len() <= 1;
                let offset = inside.first().map_or(1 << shift, |t| t - first);
                search.entries.push(((offset - 1) << (32 - shift)) | u32::from(reference(search.value(first))));
            }
            if fits {
                return search;
            }
        }
        panic!("a map whose thresholds are closer than one float32 apart")
    }
}

/// The smallest float32 reaching each code (`[0]` negative infinity), by bisection over the
/// float32s in order (negative ones by decreasing bits, then positive ones by increasing bits).
fn float_thresholds(reference: &impl Fn(f32) -> u8, n: usize) -> Vec<f32> {
    let value = |order: u32| f32::from_bits(if order < 0x8000_0000 { !order } else { order & 0x7FFF_FFFF });
    let (first, last) = (!f32::NEG_INFINITY.to_bits(), f32::INFINITY.to_bits() | 0x8000_0000);
    let mut thresholds = vec![f32::NEG_INFINITY];
    for c in 1..n {
        let (mut below, mut at) = (first, last);
        while at - below > 1 {
            let mid = below + (at - below) / 2;
            if usize::from(reference(value(mid))) >= c { at = mid } else { below = mid }
        }
        thresholds.push(value(at));
    }
    thresholds
}

/// The tables of the 8-bit maps, signed and unsigned.
pub(crate) fn search_8bit(signed: bool) -> &'static Search {
    static SIGNED: OnceLock<Search> = OnceLock::new();
    static UNSIGNED: OnceLock<Search> = OnceLock::new();
    let cell = if signed { &SIGNED } else { &UNSIGNED };
    cell.get_or_init(|| Search::build(map_8bit(signed)))
}

/// The tables of the 4-bit maps, signed and unsigned.
pub(crate) fn search_4bit(signed: bool) -> &'static Search {
    static SIGNED: OnceLock<Search> = OnceLock::new();
    static UNSIGNED: OnceLock<Search> = OnceLock::new();
    let cell = if signed { &SIGNED } else { &UNSIGNED };
    cell.get_or_init(|| Search::build(map_4bit(signed)))
}

/// A map's name, its table, and torchao's search over it.
type Case = (&'static str, &'static Search, fn(f32) -> u8);

/// Each map with its table.
fn cases() -> [Case; 4] {
    [
        ("8-bit signed", search_8bit(true), |x| nearest(map_8bit(true), x)),
        ("8-bit unsigned", search_8bit(false), |x| nearest(map_8bit(false), x)),
        ("4-bit signed", search_4bit(true), |x| nearest(map_4bit(true), x)),
        ("4-bit unsigned", search_4bit(false), |x| nearest(map_4bit(false), x)),
    ]
}

/// For each map, how many of all 2^32 float32s the table codes otherwise than torchao's search
/// (a minute with `--release` on two cores, too long for the test suite, whose test checks
/// every pattern where a code can change: `cargo run --release --example bench_codec --
/// --exhaustive` runs this).
pub(crate) fn exhaustive_mismatches() -> Vec<(&'static str, usize)> {
    use rayon::prelude::*;
    cases()
        .into_iter()
        .map(|(name, search, reference)| {
            let wrong = (0..=u32::MAX >> 16)
                .into_par_iter()
                .map(|high| {
                    (0..=u16::MAX)
                        .filter(|&low| {
                            let x = f32::from_bits((high << 16) | u32::from(low));
                            let expected = reference(x);
                            search.code(x) != expected || (name.starts_with('4') && search.code_4bit(x) != expected)
                        })
                        .count()
                })
                .sum::<usize>();
            (name, wrong)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bit pattern where either side's code can change: 256 patterns either side of each
    /// of the table's bucket boundaries and thresholds (which include every threshold of the
    /// search, or the table would differ there), of the clamping bounds, and of zero; then a
    /// sweep of every float32 in steps of 4099 patterns, and the special values. The test
    /// below covers all 2^32.
    #[test]
    fn the_table_gives_torchaos_code_near_every_step() {
        for (name, search, reference) in cases() {
            let mut keys: Vec<u32> = vec![0, search.last_key(), search.offset.min(search.last_key())];
            for (bucket, &entry) in search.entries.iter().enumerate() {
                let first = (bucket as u32) << search.shift;
                keys.push(first);
                keys.push(first + (entry & 0xFF_FFFF));
            }
            let mut patterns: Vec<u32> = Vec::new();
            for key in keys {
                let bits = search.value(key.min(search.last_key())).to_bits();
                patterns.extend((0..256).flat_map(|d| [bits.wrapping_add(d), bits.wrapping_sub(d)]));
            }
            let low = search.low.map_or(0, f32::to_bits);
            for bound in [search.floor, search.floor + (1 << search.shift), ONE, 0, low] {
                patterns.extend((0..256).flat_map(|d| [bound.wrapping_add(d), bound.wrapping_sub(d)]));
            }
            patterns.extend((0..=u32::MAX / 4099).map(|i| i * 4099));
            let specials = [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN, 1.0, -1.0];
            patterns.extend(specials.iter().map(|x| x.to_bits()));
            patterns.extend([0x7F80_0001, 0xFFFF_FFFF, 0x7FFF_FFFF, 0xFF80_0001]);
            patterns.extend(
                search.thresholds.iter().flat_map(|t| (0..64).flat_map(move |d| [t.to_bits() + d, t.to_bits() - d])),
            );
            for bits in patterns.into_iter().flat_map(|b| [b, b ^ 0x8000_0000]) {
                let x = f32::from_bits(bits);
                assert_eq!(search.code(x), reference(x), "{name}: {x:e} ({bits:#010x})");
                if name.starts_with('4') {
                    assert_eq!(search.code_4bit(x), reference(x), "{name}, by thresholds: {x:e} ({bits:#010x})");
                }
            }
        }
    }
}
