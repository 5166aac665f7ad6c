//! `exp`, `ln` and `pow` of element-wise values, in a form the element loop vectorises.
//!
//! The platform's `exp`, `log` and `pow` are calls into libm, one element at a time: a spec
//! that takes `exp` of an element-wise value (DiffGrad's sigmoid) or a power of one (MADGRAD's
//! cube root) ran its whole loop without SIMD, at a fifth of the memory speed. These are
//! written in plain `f64` arithmetic and bit operations, branch-free (every special case a
//! selection), so every SIMD clone of a kernel vectorises them and computes the same bits as
//! the others. `f32` values are computed in `f64` and rounded once.
//!
//! Accuracy, measured by the tests against the platform's functions: `exp` and `ln` within one
//! unit in the last place of `f64`; `pow(x, y)` as `exp(y · ln|x|)`, within `4e-16 · (1 + |y ·
//! ln x|)` relative; in `f32`, within one unit of the platform's `f32` functions. Special values follow C's `pow` and
//! `exp`: `pow(x, 0) = pow(1, y) = 1` even for NaN, a negative base needs an integer exponent
//! (odd ones keep its sign), infinities and zeros as C gives them.
//!
//! Scalar code (per tensor: `pow(b2, step)`) keeps the platform's functions, so the numbers it
//! gave do not change.

/// `ln 2` in two parts (fdlibm's): the high part has its low 32 bits zero, so `k · LN2_HI` is
/// exact, and the low part carries the next 53 bits.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// 1.5 · 2^52: adding it rounds a number below 2^51 to an integer, kept in the low bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0;
const TWO_52: f64 = 4_503_599_627_370_496.0;

/// `2^k` for an integer `k` in `[-1100, 1100]` as two normal factors, whose product with a
/// number near 1 rounds once even when the result is subnormal.
#[inline(always)]
fn scales(k: i64) -> (f64, f64) {
    let half = (((k + 1100) as u64) >> 1) as i64 - 550;
    let rest = k - half;
    (f64::from_bits(((half + 1023) as u64) << 52), f64::from_bits(((rest + 1023) as u64) << 52))
}

/// `e^x`.
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    // past these, the result is 0 or infinite; NaN stays NaN throughout
    let x = x.clamp(-746.0, 710.0);
    let shifted = x * std::f64::consts::LOG2_E + SHIFTER;
    let kf = shifted - SHIFTER;
    let k = (shifted.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    // |r| <= ln(2) / 2
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    // e^r = 1 + r + r² q(r), q the Taylor series from 1/2! to 1/13! (the next term is below
    // 2^-60 of the sum)
    let mut q = EXP_SERIES[11];
    for c in EXP_SERIES[..11].iter().rev() {
        q = q * r + c;
    }
    let p = 1.0 + (r + r * r * q);
    let (a, b) = scales(k.clamp(-1100, 1100));
    p * a * b
}

/// `1/n!` for n = 2..=13: `exp`'s series past `1 + r`.
const EXP_SERIES: [f64; 12] = {
    let mut c = [0.0; 12];
    let mut factorial = 1.0;
    let mut n = 2;
    while n <= 13 {
        factorial *= n as f64;
        c[n - 2] = 1.0 / factorial;
        n += 1;
    }
    c
};

/// `2/(2k+1)` for k = 1..=11: `2 atanh(s) / s - 2` as a series in `s²`.
const ATANH_SERIES: [f64; 11] = {
    let mut c = [0.0; 11];
    let mut k = 1;
    while k <= 11 {
        c[k - 1] = 2.0 / (2 * k + 1) as f64;
        k += 1;
    }
    c
};

/// `ln x` (NaN below zero, `-inf` at zero).
#[inline(always)]
pub(crate) fn ln(x: f64) -> f64 {
    // subnormals are scaled into the normal range first
    let tiny = x < f64::MIN_POSITIVE;
    let scaled = if tiny { x * 18_014_398_509_481_984.0 } else { x };
    // x = 2^e · m with m in [√2/2, √2)
    let bits = scaled.to_bits().wrapping_add(0x3FF0_0000_0000_0000 - 0x3FE6_A09E_667F_3BCD);
    let biased = (bits >> 52) & 0x7FF;
    let e = f64::from_bits(0x4330_0000_0000_0000 | biased) - (TWO_52 + 1023.0) - if tiny { 54.0 } else { 0.0 };
    let m = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) + 0x3FE6_A09E_667F_3BCD);
    // ln m = 2 atanh(s), s = f / (2 + f): f - f²/2 + s (f²/2 + R(s²)), R the series of
    // 2 atanh(s) / s - 2 past its first term (|s| < 0.172: the terms past z^11 are below 2^-60)
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut series = ATANH_SERIES[10];
    for c in ATANH_SERIES[..10].iter().rev() {
        series = series * z + c;
    }
    let r = z * series;
    let half_square = 0.5 * f * f;
    let value = e * LN2_HI - ((half_square - (s * (half_square + r) + e * LN2_LO)) - f);
    if x == f64::INFINITY {
        f64::INFINITY
    } else if x == 0.0 {
        f64::NEG_INFINITY
    } else if x > 0.0 {
        value
    } else {
        f64::NAN
    }
}

/// `x^y`, as C's `pow`.
#[inline(always)]
pub(crate) fn pow(x: f64, y: f64) -> f64 {
    let magnitude = exp(y * ln(x.abs()));
    let magnitude = if x.abs() == 1.0 && y.is_infinite() { 1.0 } else { magnitude };
    let integer = y.floor() == y;
    let half = y * 0.5;
    let odd = integer && half.floor() != half;
    let signed = if x.is_sign_negative() && odd { -magnitude } else { magnitude };
    // a finite negative base needs an integer exponent (C: `pow(-inf, 0.5)` is `inf`)
    let value = if x < 0.0 && x.is_finite() && !integer { f64::NAN } else { signed };
    if y == 0.0 || x == 1.0 { 1.0 } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units in the last place between `a` and the reference `b` (0 for equal or both NaN).
    fn ulps(a: f64, b: f64) -> f64 {
        if a == b || (a.is_nan() && b.is_nan()) {
            return 0.0;
        }
        if !a.is_finite() || !b.is_finite() {
            return f64::INFINITY;
        }
        let unit = (f64::from_bits(b.abs().to_bits() + 1) - b.abs()).max(f64::from_bits(1));
        (a - b).abs() / unit
    }

    fn numbers(count: usize, mut seed: u64) -> impl Iterator<Item = f64> {
        (0..count).map(move |_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        })
    }

    const SPECIAL: [f64; 16] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        -2.0,
        3.0,
        -3.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
        5e-324,
        f64::MAX,
    ];

    #[test]
    fn exp_is_within_one_unit_everywhere() {
        let mut worst = 0.0f64;
        for u in numbers(400_000, 1) {
            let x = u * 1500.0 - 750.0;
            worst = worst.max(ulps(exp(x), x.exp()));
            let small = (u - 0.5) * 4.0;
            worst = worst.max(ulps(exp(small), small.exp()));
        }
        assert!(worst <= 1.0, "{worst} units");
        for x in SPECIAL.iter().chain(&[709.78, 709.79, -745.1, -745.2, -708.5, 1e-300, -1e-300]) {
            let (ours, std) = (exp(*x), x.exp());
            assert!(ulps(ours, std) <= 1.0, "exp({x:e}) = {ours:e}, not {std:e}");
        }
    }

    #[test]
    fn ln_is_within_one_unit_everywhere() {
        let mut worst = 0.0f64;
        for u in numbers(400_000, 2) {
            for x in [f64::from_bits((u * (0x7FEF_FFFF_FFFF_FFFFu64 as f64)) as u64), 1.0 + (u - 0.5) * 0.1] {
                worst = worst.max(ulps(ln(x), x.ln()));
            }
        }
        assert!(worst <= 1.0, "{worst} units");
        for x in SPECIAL {
            let (ours, std) = (ln(x), x.ln());
            assert!(ulps(ours, std) <= 1.0, "ln({x:e}) = {ours:e}, not {std:e}");
        }
    }

    #[test]
    fn pow_follows_c_on_special_values_and_is_close_elsewhere() {
        for x in SPECIAL {
            for y in SPECIAL.iter().chain(&[1.0 / 3.0, 0.25, -7.0, 1e20, -1e20]) {
                let (ours, std) = (pow(x, *y), x.powf(*y));
                let same = ours == std || (ours.is_nan() && std.is_nan()) || ((ours - std) / std).abs() < 1e-13;
                assert!(same, "pow({x:e}, {y:e}) = {ours:e}, not {std:e}");
                if !std.is_nan() {
                    assert_eq!(ours.is_sign_negative(), std.is_sign_negative(), "sign of pow({x:e}, {y:e})");
                }
            }
        }
        let mut worst = 0.0f64;
        for (u, v) in numbers(200_000, 3).zip(numbers(200_000, 4)) {
            let x = (u - 0.3) * 100.0; // negative ones too
            let y = if v < 0.2 { (v * 100.0).round() - 10.0 } else { (v - 0.5) * 20.0 };
            let (ours, std) = (pow(x, y), x.powf(y));
            assert_eq!(ours.is_nan(), std.is_nan(), "pow({x:e}, {y:e}) = {ours:e}, not {std:e}");
            if std.is_finite() && std != 0.0 {
                let relative = ((ours - std) / std).abs() / (1.0 + (y * x.abs().ln()).abs());
                worst = worst.max(relative);
            }
        }
        assert!(worst < 4e-16, "{worst:e} relative per unit of |y ln x|");
    }

    #[test]
    fn float32_values_round_from_the_float64_ones() {
        let mut off = 0;
        for u in numbers(200_000, 5) {
            let x = (u as f32 - 0.5) * 60.0;
            off += usize::from((exp(f64::from(x)) as f32).to_bits().abs_diff(x.exp().to_bits()) > 1);
            let y = u as f32 * 1e6;
            let third = 1.0f32 / 3.0;
            off += usize::from(
                (pow(f64::from(y), f64::from(third)) as f32).to_bits().abs_diff(y.powf(third).to_bits()) > 1,
            );
        }
        assert_eq!(off, 0);
    }
}
