//! The element types a parameter can be stored in, for the tile loop: the kernel's own (the
//! kernel runs on the parameter's memory) or bfloat16 (each tile widened into a buffer, the
//! kernel run on it in `f32`, the result rounded back).

use half::bf16;

use super::rounding::{TensorRounding, narrow, widen};
use crate::Element;

/// A parameter (and gradient) storage type for kernels that compute in `T`.
pub(crate) trait Stored<T: Element>: Copy + Send + Sync + 'static {
    /// Whether the values are `T` themselves (then [`Stored::native_mut`] always succeeds).
    const NATIVE: bool;
    /// The values as `T`, when they are stored as `T`.
    fn native_mut(values: &mut [Self]) -> Option<&mut [T]>;
    /// The same, shared.
    fn native(values: &[Self]) -> Option<&[T]>;
    /// Converts `values` into `out` (exact).
    fn widen(values: &[Self], out: &mut [T]);
    /// Rounds `values` into `out`; `at` is the first element's flat index in its tensor.
    fn narrow(values: &[T], out: &mut [Self], rounding: TensorRounding, at: usize);
}

impl<T: Element> Stored<T> for T {
    const NATIVE: bool = true;
    #[inline(always)]
    fn native_mut(values: &mut [Self]) -> Option<&mut [T]> {
        Some(values)
    }
    #[inline(always)]
    fn native(values: &[Self]) -> Option<&[T]> {
        Some(values)
    }
    #[inline(always)]
    fn widen(values: &[Self], out: &mut [T]) {
        out.copy_from_slice(values);
    }
    #[inline(always)]
    fn narrow(values: &[T], out: &mut [Self], _: TensorRounding, _: usize) {
        out.copy_from_slice(values);
    }
}

impl Stored<f32> for bf16 {
    const NATIVE: bool = false;
    #[inline(always)]
    fn native_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
    #[inline(always)]
    fn native(_: &[Self]) -> Option<&[f32]> {
        None
    }
    #[inline(always)]
    fn widen(values: &[Self], out: &mut [f32]) {
        widen(values, out);
    }
    #[inline(always)]
    fn narrow(values: &[f32], out: &mut [Self], rounding: TensorRounding, at: usize) {
        narrow(values, out, rounding, at);
    }
}
