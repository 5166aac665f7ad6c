//! Gradient clipping, as `torch.nn.utils`: by the norm of all gradients together
//! ([`clip_grad_norm_`], or its two halves [`get_total_norm`] and [`clip_grads_with_norm_`]) and
//! element by element ([`clip_grad_value_`]).
//!
//! A parameter's gradient is its dense `grad` or the values of its row-sparse gradient (rows it
//! does not cover count as zero); parameters without one are skipped, as in PyTorch. Norms are accumulated in `f64`; the scaling itself runs in the element type with the
//! coefficient PyTorch computes for that dtype.
//!
//! ```
//! use optim_core::clip::clip_grad_norm_;
//! use optim_core::Param;
//!
//! let a = Param::new(ndarray::arr1(&[0.0f64, 0.0]).into_dyn());
//! let b = Param::new(ndarray::arr1(&[0.0f64]).into_dyn());
//! a.set_grad(ndarray::arr1(&[3.0, 4.0]).into_dyn());
//! b.set_grad(ndarray::arr1(&[12.0]).into_dyn());
//! let total = clip_grad_norm_(&[a.clone(), b], 1.0, 2.0, false).unwrap();
//! assert_eq!(total, 13.0);
//! let clipped = a.lock().grad.clone().unwrap();
//! assert!((clipped[0] - 3.0 / 13.0).abs() < 1e-6);
//! ```

use ndarray::ArrayD;

use crate::{Element, OptimError, Param, ParamData, Result};

/// `torch.linalg.vector_norm(values, p)`, accumulated in `f64`: any `p`, with `inf` the largest
/// magnitude, `-inf` the smallest, and `0` the number of non-zero values.
pub(crate) fn vector_norm(values: impl Iterator<Item = f64>, p: f64) -> f64 {
    let magnitudes = values.map(f64::abs);
    if p == f64::INFINITY {
        magnitudes.fold(0.0, |acc, x| if x.is_nan() || x > acc { x } else { acc })
    } else if p == f64::NEG_INFINITY {
        magnitudes.fold(f64::INFINITY, |acc, x| if x.is_nan() || x < acc { x } else { acc })
    } else if p == 0.0 {
        magnitudes.filter(|&x| x != 0.0).count() as f64
    } else if p == 1.0 {
        magnitudes.sum()
    } else if p == 2.0 {
        magnitudes.map(|x| x * x).sum::<f64>().sqrt()
    } else {
        magnitudes.map(|x| x.powf(p)).sum::<f64>().powf(1.0 / p)
    }
}

/// The norm of order `p` of one parameter's gradient, `None` when it has none.
pub(crate) fn gradient_norm<T: Element>(data: &mut ParamData<T>, p: f64) -> Option<f64> {
    gradient(data).map(|grad| tensor_norm(grad, p))
}

fn tensor_norm<T: Element>(grad: &ArrayD<T>, p: f64) -> f64 {
    match grad.as_slice_memory_order() {
        // the 1- and 2-norms in a threaded, vectorised pass; other orders element by element
        Some(slice) => {
            crate::norm::fast_norm(slice, p).unwrap_or_else(|| vector_norm(slice.iter().map(|x| x.to_f64()), p))
        }
        None => vector_norm(grad.iter().map(|x| x.to_f64()), p),
    }
}

/// Every parameter's gradient norm into `norms` (one per parameter; -1 for one without a
/// gradient). The list is halved over rayon's pool, so all tensors share one parallel region
/// instead of one after another; the norms land in parameter order whatever the thread count.
pub(crate) fn fill_norms<T: Element>(params: &[Param<T>], norms: &mut [f64], p: f64) {
    let elements: usize = params.iter().map(|param| param.lock().value.len()).sum();
    let parallel = elements >= crate::parallel::INLINE_BELOW && rayon::current_num_threads() > 1;
    fill_norms_in(params, norms, p, parallel);
}

fn fill_norms_in<T: Element>(params: &[Param<T>], norms: &mut [f64], p: f64, parallel: bool) {
    match (params, norms) {
        ([], _) | (_, []) => {}
        ([one], [norm, ..]) => *norm = gradient_norm(&mut one.lock(), p).unwrap_or(-1.0),
        (params, norms) => {
            let middle = params.len() / 2;
            let (left, right) = params.split_at(middle);
            let (left_norms, right_norms) = norms.split_at_mut(middle.min(norms.len()));
            crate::parallel::both(
                parallel,
                || fill_norms_in(left, left_norms, p, parallel),
                || fill_norms_in(right, right_norms, p, parallel),
            );
        }
    }
}

/// The norm of order `p` of the per-parameter norms `fill_norms` wrote (those of parameters
/// with a gradient, in order); zero when none has one.
pub(crate) fn total_of(norms: &[f64], p: f64) -> f64 {
    // NaN is a norm (of a gradient holding NaN); only the -1 of "no gradient" is left out
    let present = norms.iter().copied().filter(|norm| norm.is_nan() || *norm >= 0.0);
    if present.clone().next().is_none() { 0.0 } else { vector_norm(present, p) }
}

/// The norm of order `norm_type` of every gradient of `params` together, as if they were one
/// vector: the norm of the per-parameter norms (PyTorch's `torch.nn.utils.get_total_norm` over
/// the parameters' gradients). Zero when no parameter has a gradient.
///
/// # Errors
/// [`OptimError::InvalidArgument`] when `norm_type` is NaN; with `error_if_nonfinite`,
/// [`OptimError::NonFiniteNorm`] when the norm is NaN or infinite.
///
/// ```
/// use optim_core::clip::get_total_norm;
/// use optim_core::Param;
///
/// let p = Param::new(ndarray::arr1(&[0.0f32, 0.0, 0.0]).into_dyn());
/// p.set_grad(ndarray::arr1(&[1.0, -5.0, 2.0]).into_dyn());
/// assert_eq!(get_total_norm(&[p.clone()], f64::INFINITY, false).unwrap(), 5.0);
/// assert_eq!(get_total_norm(&[p.clone()], 1.0, false).unwrap(), 8.0);
/// p.set_grad(ndarray::arr1(&[f32::NAN, 0.0, 0.0]).into_dyn());
/// assert!(get_total_norm(&[p], 2.0, true).is_err());
/// ```
pub fn get_total_norm<T: Element>(params: &[Param<T>], norm_type: f64, error_if_nonfinite: bool) -> Result<f64> {
    if norm_type.is_nan() {
        return Err(OptimError::InvalidArgument { what: "clip_grad_norm_", message: "norm_type is NaN".into() });
    }
    let mut norms = vec![0.0; params.len()];
    fill_norms(params, &mut norms, norm_type);
    let total = total_of(&norms, norm_type);
    if error_if_nonfinite && !total.is_finite() {
        return Err(OptimError::NonFiniteNorm { norm_type, total_norm: total });
    }
    Ok(total)
}

/// Scales every gradient of `params` by `max_norm / (total_norm + 1e-6)`, clamped to at most 1
/// (PyTorch's `torch.nn.utils.clip_grads_with_norm_`); the coefficient is computed in the
/// element type, as PyTorch computes it in the gradients' dtype, except where that would round
/// it to zero (a finite norm beyond the element type's range): then gradients are scaled in
/// `f64`, so they are clipped, never zeroed.
///
/// ```
/// use optim_core::clip::clip_grads_with_norm_;
/// use optim_core::Param;
///
/// let p = Param::new(ndarray::arr1(&[0.0f64, 0.0]).into_dyn());
/// p.set_grad(ndarray::arr1(&[2.0, -2.0]).into_dyn());
/// clip_grads_with_norm_(&[p.clone()], 1.0, 4.0);
/// let g = p.lock().grad.clone().unwrap();
/// assert!((g[0] - 0.5).abs() < 1e-6 && (g[1] + 0.5).abs() < 1e-6);
/// ```
pub fn clip_grads_with_norm_<T: Element>(params: &[Param<T>], max_norm: f64, total_norm: f64) {
    let coefficient = clip_coefficient::<T>(max_norm, total_norm);
    let wide = (max_norm / (total_norm + 1e-6)).min(1.0);
    for param in params {
        if let Some(grad) = gradient(&mut param.lock()) {
            match coefficient {
                Some(coef) => grad.mapv_inplace(|g| g * coef),
                None => grad.mapv_inplace(|g| T::from_f64(g.to_f64() * wide)),
            }
        }
    }
}

/// The factor gradients are multiplied by, in the element type as PyTorch computes it:
/// `max_norm / (total_norm + 1e-6)`, clamped to at most 1 (a NaN stays NaN). `None` where the
/// element type cannot hold it faithfully: a finite norm beyond the type's range (f32 gradients
/// near `f32::MAX`, whose norm is computed in `f64`) would make it 0 and zero the gradients,
/// so they are scaled in `f64` instead.
pub(crate) fn clip_coefficient<T: Element>(max_norm: f64, total_norm: f64) -> Option<T> {
    let one = T::from_f64(1.0);
    let coef = one / (T::from_f64(total_norm) + T::from_f64(1e-6)) * T::from_f64(max_norm);
    let coef = if coef > one { one } else { coef };
    let wide = (max_norm / (total_norm + 1e-6)).min(1.0);
    let overflowed = total_norm.is_finite() && !T::from_f64(total_norm).to_f64().is_finite();
    let underflowed = coef.to_f64() == 0.0 && wide > 0.0;
    (!overflowed && !underflowed).then_some(coef)
}

/// Clips the gradients of `params` so that their total norm of order `norm_type` (any `p`,
/// including `f64::INFINITY`) is at most `max_norm`, as `torch.nn.utils.clip_grad_norm_`;
/// returns the total norm before clipping.
///
/// # Errors
/// [`OptimError::InvalidArgument`] when `norm_type` is NaN; with `error_if_nonfinite`,
/// [`OptimError::NonFiniteNorm`] when the total norm is NaN or infinite. No gradient has changed
/// then.
///
/// ```
/// use optim_core::clip::clip_grad_norm_;
/// use optim_core::{OptimError, Param};
///
/// let p = Param::new(ndarray::arr1(&[0.0f32, 0.0]).into_dyn());
/// p.set_grad(ndarray::arr1(&[0.3, -0.4]).into_dyn());
/// let total = clip_grad_norm_(&[p.clone()], 1.0, 2.0, false).unwrap();
/// assert!((total - 0.5).abs() < 1e-7);
/// assert_eq!(p.lock().grad.as_ref().unwrap()[0], 0.3); // under the limit: unchanged
///
/// p.set_grad(ndarray::arr1(&[f32::INFINITY, 1.0]).into_dyn());
/// let err = clip_grad_norm_(&[p.clone()], 1.0, 2.0, true).unwrap_err();
/// assert!(matches!(err, OptimError::NonFiniteNorm { .. }));
/// assert_eq!(p.lock().grad.as_ref().unwrap()[1], 1.0);
/// ```
pub fn clip_grad_norm_<T: Element>(
    params: &[Param<T>],
    max_norm: f64,
    norm_type: f64,
    error_if_nonfinite: bool,
) -> Result<f64> {
    let total_norm = get_total_norm(params, norm_type, error_if_nonfinite)?;
    clip_grads_with_norm_(params, max_norm, total_norm);
    Ok(total_norm)
}

/// Clamps every gradient element of `params` into `[-clip_value, clip_value]`, as
/// `torch.nn.utils.clip_grad_value_` (NaN stays NaN).
///
/// ```
/// use optim_core::clip::clip_grad_value_;
/// use optim_core::Param;
///
/// let p = Param::new(ndarray::arr1(&[0.0f64, 0.0, 0.0]).into_dyn());
/// p.set_grad(ndarray::arr1(&[-3.0, 0.5, 7.0]).into_dyn());
/// clip_grad_value_(&[p.clone()], 1.0);
/// assert_eq!(p.lock().grad.clone().unwrap(), ndarray::arr1(&[-1.0, 0.5, 1.0]).into_dyn());
/// ```
pub fn clip_grad_value_<T: Element>(params: &[Param<T>], clip_value: f64) {
    let (low, high) = (T::from_f64(-clip_value), T::from_f64(clip_value));
    for param in params {
        if let Some(grad) = gradient(&mut param.lock()) {
            grad.mapv_inplace(|g| g.clamp(low, high));
        }
    }
}

/// The gradient values of a parameter: its dense gradient, or its row-sparse gradient's values.
fn gradient<T: Element>(data: &mut ParamData<T>) -> Option<&mut ArrayD<T>> {
    match (&mut data.grad, &mut data.sparse_grad) {
        (Some(grad), _) => Some(grad),
        (None, Some(sparse)) => Some(sparse.values_mut()),
        (None, None) => None,
    }
}
