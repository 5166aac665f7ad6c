//! Closed intervals of floats (either end may be infinite) and the DSL's operations on them.
//!
//! An interval bounds every non-NaN value an expression can take at run time, in whatever
//! precision the kernel computes it (`f64` scalars, `f32` or `f64` elements, values rounded to
//! bfloat16). Two rules keep the bounds honest under rounding:
//! - after a correctly rounded operation (`+ - * /`, `sqrt`, a rounding), an end that bfloat16
//!   represents exactly is kept: rounding to nearest is monotone and fixes representable
//!   values, so a result of operands within the bounds stays within it in every precision;
//!   any other end is widened by far more than one rounding (`settle`);
//! - after an operation that is not correctly rounded (`exp`, `pow`, a product taken in another
//!   order), every end but zero is widened (`loosen`); zero ends are kept only where the sign
//!   itself is proven (a product of non-negative factors). Where the error is not relative to
//!   the result (`lerp`, a mean), only the signs of the ends are kept.
//!
//! Only the sign of the lower end decides anything; the rest serves to reach it.

const INF: f64 = f64::INFINITY;

/// Far more than the relative error of one rounding to bfloat16 (2^-9), or of a few `f32`
/// or `f64` operations.
const RELATIVE: f64 = 1.0 / 128.0;
/// Below the smallest normal `f32` is above 1.2e-38: absolute slack for values rounded into
/// the subnormal range, where the relative bound no longer holds.
const ABSOLUTE: f64 = 1e-30;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Iv {
    pub lo: f64,
    pub hi: f64,
}

impl Iv {
    pub const TOP: Iv = Iv { lo: -INF, hi: INF };
    pub const NON_NEGATIVE: Iv = Iv { lo: 0.0, hi: INF };

    /// An interval from computed ends; a NaN end (`inf - inf`) bounds nothing.
    pub fn new(lo: f64, hi: f64) -> Iv {
        Iv { lo: if lo.is_nan() { -INF } else { lo }, hi: if hi.is_nan() { INF } else { hi } }
    }

    /// A number written in the spec, as the kernel holds it in any precision.
    pub fn literal(value: f64) -> Iv {
        Iv::new(value, value).settle()
    }

    pub fn non_negative(self) -> bool {
        self.lo >= 0.0
    }

    pub fn hull(self, other: Iv) -> Iv {
        Iv::new(self.lo.min(other.lo), self.hi.max(other.hi))
    }

    /// The ends after a correctly rounded operation: exact where bfloat16 holds them.
    pub fn settle(self) -> Iv {
        let lo = if representable(self.lo) { self.lo } else { widen_down(self.lo) };
        let hi = if representable(self.hi) { self.hi } else { -widen_down(-self.hi) };
        Iv::new(lo, hi)
    }

    /// The ends after an operation that is not correctly rounded: every end but zero widened.
    pub fn loosen(self) -> Iv {
        Iv::new(widen_down(self.lo), -widen_down(-self.hi))
    }

    pub fn neg(self) -> Iv {
        Iv::new(-self.hi, -self.lo)
    }

    pub fn add(self, other: Iv) -> Iv {
        Iv::new(self.lo + other.lo, self.hi + other.hi).settle()
    }

    pub fn sub(self, other: Iv) -> Iv {
        self.add(other.neg())
    }

    pub fn mul(self, other: Iv) -> Iv {
        self.mul_unrounded(other).settle()
    }

    /// The product of the ends; `0 * inf` counts as zero, since the value it stands for is
    /// either a finite product or NaN, which the analysis leaves out.
    pub fn mul_unrounded(self, other: Iv) -> Iv {
        let corner = |a: f64, b: f64| if a == 0.0 || b == 0.0 { 0.0 } else { a * b };
        let corners = [
            corner(self.lo, other.lo),
            corner(self.lo, other.hi),
            corner(self.hi, other.lo),
            corner(self.hi, other.hi),
        ];
        Iv::new(corners.iter().copied().fold(INF, f64::min), corners.iter().copied().fold(-INF, f64::max))
    }

    /// Only by a divisor that cannot be zero: dividing by zero gives an infinity whose sign
    /// is the zero's, and a zero may be `-0.0` (`sqrt(-0.0)`, a hyperparameter set to `-0.0`).
    pub fn div(self, other: Iv) -> Iv {
        if !(other.lo > 0.0 || other.hi < 0.0) {
            return Iv::TOP;
        }
        // `inf / inf` is NaN and left out; the other corners still bound the quotients
        corners(self, other, |a, b| a / b).settle()
    }

    /// `x * x`: never negative, whatever the sign of `x`.
    pub fn square(self) -> Iv {
        let (lo, hi) = (self.lo * self.lo, self.hi * self.hi);
        let exact = if self.lo >= 0.0 {
            Iv::new(lo, hi)
        } else if self.hi <= 0.0 {
            Iv::new(hi, lo)
        } else {
            Iv::new(0.0, lo.max(hi))
        };
        exact.settle()
    }

    /// `sqrt` is NaN below zero, `-0.0` at `-0.0`, which compares equal to zero.
    pub fn sqrt(self) -> Iv {
        Iv::new(self.lo.max(0.0).sqrt(), self.hi.max(0.0).sqrt()).settle()
    }

    pub fn abs(self) -> Iv {
        if self.lo >= 0.0 {
            self
        } else if self.hi <= 0.0 {
            self.neg()
        } else {
            Iv::new(0.0, (-self.lo).max(self.hi))
        }
    }

    pub fn exp(self) -> Iv {
        Iv::new(self.lo.exp(), self.hi.exp()).loosen()
    }

    /// `ln` is at least zero from one up; below one, nothing is kept.
    pub fn ln(self) -> Iv {
        if self.lo >= 1.0 { Iv::NON_NEGATIVE } else { Iv::TOP }
    }

    /// `powf` of a base that cannot be negative: `b * ln(a)` takes its extremes at the corners.
    /// A zero base may be `-0.0`, whose negative odd powers are `-inf`: then the exponent must
    /// not be negative.
    pub fn pow(self, exponent: Iv) -> Iv {
        if !(self.lo > 0.0 || (self.lo >= 0.0 && exponent.lo >= 0.0)) {
            return Iv::TOP;
        }
        let bounds = corners(self, exponent, f64::powf);
        Iv::new(bounds.lo.max(0.0), bounds.hi).loosen()
    }

    pub fn min(self, other: Iv) -> Iv {
        Iv::new(self.lo.min(other.lo), self.hi.min(other.hi))
    }

    pub fn max(self, other: Iv) -> Iv {
        Iv::new(self.lo.max(other.lo), self.hi.max(other.hi))
    }

    /// `-1`, `0` or `1`; the DSL's `sign(-0.0)` is `-0.0`, which compares equal to zero.
    pub fn sign(self) -> Iv {
        let lo = if self.lo > 0.0 {
            1.0
        } else if self.lo >= 0.0 {
            0.0
        } else {
            -1.0
        };
        let hi = if self.hi < 0.0 {
            -1.0
        } else if self.hi <= 0.0 {
            0.0
        } else {
            1.0
        };
        Iv::new(lo, hi)
    }

    /// `lerp(a, b, w)` with `w` in `[0, 1]`: between `a` and `b` in exact arithmetic, but the
    /// runtime's formulas (`a + w * (b - a)` below one half, `b - (b - a) * (1 - w)` above)
    /// can round past the nearer end by the rounding of the larger, so only the sign of each
    /// end is kept. That sign holds: with `a` and `b` at or above zero, `b - a` rounds to at
    /// least `-a`, so `a + w * (b - a)` is at least zero; `(b - a) * (1 - w)` rounds to at
    /// most `b`. Extrapolating (`w` outside `[0, 1]`), it is unknown.
    pub fn lerp(start: Iv, end: Iv, weight: Iv) -> Iv {
        if !(weight.lo >= 0.0 && weight.hi <= 1.0) {
            return Iv::TOP;
        }
        let hull = start.hull(end);
        Iv::new(if hull.lo >= 0.0 { 0.0 } else { -INF }, if hull.hi <= 0.0 { 0.0 } else { INF })
    }

    /// A sum of values within `self` (`sum`, `group_sum`), or their mean: the sign survives
    /// any order of accumulation, the magnitude is not tracked.
    pub fn sum_sign(self) -> Iv {
        if self.lo >= 0.0 {
            Iv::NON_NEGATIVE
        } else if self.hi <= 0.0 {
            Iv::NON_NEGATIVE.neg()
        } else {
            Iv::TOP
        }
    }
}

/// The hull of `f` at the four corners, leaving out NaN corners.
fn corners(a: Iv, b: Iv, f: impl Fn(f64, f64) -> f64) -> Iv {
    let values = [f(a.lo, b.lo), f(a.lo, b.hi), f(a.hi, b.lo), f(a.hi, b.hi)];
    let kept = values.iter().copied().filter(|v| !v.is_nan());
    let (lo, hi) = kept.fold((INF, -INF), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi { Iv::TOP } else { Iv::new(lo, hi) }
}

/// Whether bfloat16 (and so `f32` and `f64`) holds `value` exactly.
fn representable(value: f64) -> bool {
    let single = value as f32;
    f64::from(single) == value && single.to_bits() & 0xffff == 0
}

/// A lower end moved below every rounding of the values it bounds; zero stays (rounding to
/// nearest keeps the sign), and a positive end never crosses zero.
fn widen_down(value: f64) -> f64 {
    if value > 0.0 {
        (value * (1.0 - RELATIVE) - ABSOLUTE).max(0.0)
    } else if value < 0.0 {
        value * (1.0 + RELATIVE) - ABSOLUTE
    } else {
        value
    }
}
