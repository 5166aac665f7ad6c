//! The float types a kernel runs on.

use core::fmt::{Debug, Display};
use core::ops::{Add, Div, Mul, Neg, Sub};

/// A floating-point element type that generated kernels compute in: `f32` or `f64`.
///
/// Scalar quantities (bias corrections, step sizes) are computed once per tensor in `f64` and
/// converted with [`Element::from_f64`]; the element loop then runs entirely in `Self`, as
/// PyTorch does for a tensor of that dtype.
///
/// ```
/// use optim_core::Element;
/// assert_eq!(<f32 as Element>::from_f64(0.5), 0.5f32);
/// assert_eq!(Element::lerp(1.0f64, 3.0, 0.25), 1.5);
/// ```
pub trait Element:
    Copy
    + Send
    + Sync
    + Debug
    + Display
    + PartialOrd
    + Default
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + crate::matrix::ElementForMatrices
{
    /// Additive identity.
    const ZERO: Self;
    /// PyTorch's name of the dtype (`"float32"`, `"float64"`).
    const DTYPE: &'static str;
    /// Rounds an `f64` to this type.
    fn from_f64(value: f64) -> Self;
    /// Widens to `f64`.
    fn to_f64(self) -> f64;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// `e^self`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// `self^exponent`.
    fn powf(self, exponent: Self) -> Self;
    /// `e^self` in arithmetic the element loop vectorises (a spec's element-wise `exp`): within
    /// one unit in the last place of [`Element::exp`].
    fn exp_lanes(self) -> Self;
    /// `ln self`, vectorisable, within one unit in the last place of [`Element::ln`].
    fn ln_lanes(self) -> Self;
    /// `self^exponent`, vectorisable, with C's special values (element-wise `pow` of a spec).
    fn pow_lanes(self, exponent: Self) -> Self;
    /// The larger of two values (`torch.maximum`).
    fn max(self, other: Self) -> Self;
    /// The smaller of two values (`torch.minimum`).
    fn min(self, other: Self) -> Self;
    /// `-1`, `0` or `1` (`torch.sign`; zero maps to zero).
    fn sign(self) -> Self;
    /// `self` clamped into `[low, high]` (`torch.clamp`).
    fn clamp(self, low: Self, high: Self) -> Self {
        self.max(low).min(high)
    }
    /// Rounds to single precision (exact for `f32`): for state PyTorch keeps in float32.
    fn round_f32(self) -> Self {
        Self::from_f64(self.to_f64() as f32 as f64)
    }
    /// Rounds to bfloat16 as PyTorch's `.to(torch.bfloat16)` does: to single precision first,
    /// then to the nearest bfloat16, ties to even (NaN stays NaN). For state a rule keeps in
    /// bfloat16, such as AdaFactor's momentum.
    ///
    /// ```
    /// use optim_core::Element;
    /// assert_eq!(1.0f64.round_bf16(), 1.0);
    /// assert_eq!((1.0f64 + 1.0 / 256.0).round_bf16(), 1.0); // a tie: to even
    /// assert_eq!((1.0f32 + 3.0 / 256.0).round_bf16(), 1.0 + 1.0 / 64.0);
    /// ```
    fn round_bf16(self) -> Self {
        let single = self.to_f64() as f32;
        let bits = single.to_bits();
        let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) & 0xffff_0000;
        let value = Self::from_f64(f64::from(f32::from_bits(rounded)));
        // a select, not an early return: the branch kept element loops with bf16 rounding
        // (AdaFactor's) scalar
        if single.is_nan() { self } else { value }
    }
    /// Linear interpolation from `self` to `end` by `weight`, rounded as `torch.lerp` rounds.
    fn lerp(self, end: Self, weight: Self) -> Self;
}

macro_rules! impl_element {
    ($t:ty, $name:literal) => {
        impl Element for $t {
            const ZERO: Self = 0.0;
            const DTYPE: &'static str = $name;
            #[inline(always)]
            fn from_f64(value: f64) -> Self {
                value as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn powf(self, exponent: Self) -> Self {
                <$t>::powf(self, exponent)
            }
            #[inline(always)]
            fn exp_lanes(self) -> Self {
                crate::elementary::exp(self as f64) as $t
            }
            #[inline(always)]
            fn ln_lanes(self) -> Self {
                crate::elementary::ln(self as f64) as $t
            }
            #[inline(always)]
            fn pow_lanes(self, exponent: Self) -> Self {
                crate::elementary::pow(self as f64, exponent as f64) as $t
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                // NaN-propagating like torch.maximum, and branch-free so loops vectorize.
                if self > other || <$t>::is_nan(self) { self } else { other }
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                if self < other || <$t>::is_nan(self) { self } else { other }
            }
            #[inline(always)]
            fn sign(self) -> Self {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else {
                    self * 0.0
                }
            }
            #[inline(always)]
            fn lerp(self, end: Self, weight: Self) -> Self {
                // ATen's formula: exact at both ends, symmetric rounding around 0.5.
                if weight.abs() < 0.5 { self + weight * (end - self) } else { end - (end - self) * (1.0 - weight) }
            }
        }
    };
}

impl_element!(f32, "float32");
impl_element!(f64, "float64");
