//! The element types the matrix stage computes in.

use crate::Element;

/// An element type the matrix stage computes in: implemented for `f32` and `f64` only.
///
/// The trait is sealed; what faer needs of it (its `RealField`) stays an implementation detail.
/// It extends [`Element`], so generic code over a `MatrixElement` also has the element-wise
/// operations of a kernel.
///
/// ```
/// use optim_core::matrix::{MatrixElement, MatrixScratch};
///
/// fn identity<T: MatrixElement>(n: usize) -> Vec<T> {
///     let mut eye = vec![T::ZERO; n * n];
///     for i in 0..n {
///         eye[i * n + i] = T::from_f64(1.0);
///     }
///     eye
/// }
/// let mut scratch = MatrixScratch::<f32>::new();
/// let view = scratch.load(0, &identity::<f32>(3), 3, 3);
/// assert_eq!(scratch.norm(view), 3f64.sqrt());
/// ```
pub trait MatrixElement: Element + sealed::Sealed {}

// every element type computes matrices: `Element` itself requires what the matrix module needs,
// so a rule's generated code (generic over `Element`) can run its matrix program
impl<T: Element> MatrixElement for T {}

pub mod sealed {
    use faer::traits::RealField;

    /// What the matrix module needs of an element type beyond [`crate::Element`]; not nameable
    /// outside the crate, so `MatrixElement` cannot be implemented elsewhere.
    pub trait Sealed: RealField + Copy {
        /// Whether `Self` is `f32` (a bfloat16 product then runs in `Self` directly).
        const IS_F32: bool;
        /// Rounds to single precision (exact for `f32`).
        fn to_f32(self) -> f32;
        /// Widens (or copies) a single-precision value.
        fn from_f32(value: f32) -> Self;
        /// The Frobenius norm of `values`, in `f64`.
        fn frobenius(values: &[Self]) -> f64;
        /// `values` as `f32`s when `Self` is `f32` (the compact state formats code `f32`
        /// values in place, and `f64` ones through a buffer).
        fn as_f32(values: &[Self]) -> Option<&[f32]>;
        /// The same, mutable.
        fn as_f32_mut(values: &mut [Self]) -> Option<&mut [f32]>;
        /// The bit pattern, widened to 64 bits.
        fn bits(self) -> u64;
    }

    impl Sealed for f32 {
        const IS_F32: bool = true;
        #[inline(always)]
        fn to_f32(self) -> f32 {
            self
        }
        #[inline(always)]
        fn from_f32(value: f32) -> Self {
            value
        }
        #[inline(always)]
        fn as_f32(values: &[Self]) -> Option<&[f32]> {
            Some(values)
        }
        #[inline(always)]
        fn as_f32_mut(values: &mut [Self]) -> Option<&mut [f32]> {
            Some(values)
        }
        #[inline(always)]
        fn bits(self) -> u64 {
            u64::from(self.to_bits())
        }
        /// Squares and sums in `f64`: each square is exact there and no `f32` value overflows,
        /// so the result is the norm correctly rounded to well below `f32`'s precision.
        fn frobenius(values: &[Self]) -> f64 {
            values.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt()
        }
    }

    impl Sealed for f64 {
        const IS_F32: bool = false;
        #[inline(always)]
        fn to_f32(self) -> f32 {
            self as f32
        }
        #[inline(always)]
        fn from_f32(value: f32) -> Self {
            f64::from(value)
        }
        #[inline(always)]
        fn as_f32(_: &[Self]) -> Option<&[f32]> {
            None
        }
        #[inline(always)]
        fn as_f32_mut(_: &mut [Self]) -> Option<&mut [f32]> {
            None
        }
        #[inline(always)]
        fn bits(self) -> u64 {
            self.to_bits()
        }
        /// faer's scaled norm: no overflow or underflow in the squares.
        fn frobenius(values: &[Self]) -> f64 {
            faer::ColRef::from_slice(values).norm_l2()
        }
    }
}
