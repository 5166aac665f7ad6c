//! Clipping by the global gradient norm fused into the step: the norm is taken in a read-only
//! pass and the clip coefficient folded into the kernels' gradient loads, so the gradients are
//! never written, where `clip_grad_norm_` + `step()` reads every gradient, writes it back and
//! reads it again.

use crate::clip::{clip_coefficient, clip_grads_with_norm_, fill_norms, total_of};
use crate::{Element, OptimError, Optimizer, Rule};

/// Clipping by the global norm of every gradient of the optimizer, fused into
/// [`Optimizer::step`]: the same numbers as `torch.nn.utils.clip_grad_norm_(all params,
/// max_norm, norm_type, error_if_nonfinite)` followed by `step()`.
///
/// ```
/// use optim_core::{builtins::Sgd, GradClip, Optimizer, Param};
/// let w = Param::new(ndarray::arr1(&[0.0f64, 0.0]).into_dyn());
/// let mut opt = Optimizer::<Sgd, f64>::new(vec![w.clone()], Sgd::hyper().lr(1.0)).unwrap();
/// opt.set_grad_clip(Some(GradClip::norm(1.0))).unwrap();
/// w.set_grad(ndarray::arr1(&[3.0, 4.0]).into_dyn());
/// opt.step().unwrap();
/// assert_eq!(opt.last_grad_norm(), Some(5.0)); // what clip_grad_norm_ returns
/// assert!((w.value()[0] + 0.6).abs() < 1e-6); // the step saw the clipped gradient
/// assert_eq!(w.lock().grad.as_ref().unwrap()[0], 3.0); // the gradient itself is not written
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradClip {
    /// The largest total norm the step lets through.
    pub max_norm: f64,
    /// The order of the norm (`2.0`; `f64::INFINITY` for the largest magnitude).
    pub norm_type: f64,
    /// Refuse the step ([`OptimError::NonFiniteNorm`]) when the norm is NaN or infinite.
    pub error_if_nonfinite: bool,
}

impl GradClip {
    /// Clipping to total 2-norm `max_norm`, as `clip_grad_norm_(params, max_norm)`.
    ///
    /// ```
    /// let clip = optim_core::GradClip::norm(1.0);
    /// assert_eq!((clip.norm_type, clip.error_if_nonfinite), (2.0, false));
    /// ```
    pub fn norm(max_norm: f64) -> Self {
        GradClip { max_norm, norm_type: 2.0, error_if_nonfinite: false }
    }

    /// The same clipping with a norm of order `norm_type`.
    ///
    /// ```
    /// let clip = optim_core::GradClip::norm(1.0).norm_type(f64::INFINITY);
    /// assert_eq!(clip.norm_type, f64::INFINITY);
    /// ```
    pub fn norm_type(self, norm_type: f64) -> Self {
        GradClip { norm_type, ..self }
    }

    /// The same clipping, refusing a step whose gradient norm is NaN or infinite.
    ///
    /// ```
    /// assert!(optim_core::GradClip::norm(1.0).error_if_nonfinite(true).error_if_nonfinite);
    /// ```
    pub fn error_if_nonfinite(self, error_if_nonfinite: bool) -> Self {
        GradClip { error_if_nonfinite, ..self }
    }
}

impl<R: Rule, T: Element> Optimizer<R, T> {
    /// Clips every step's gradients by their global norm (over every parameter of every group
    /// that has a gradient, dense or row-sparse), fused into the step; `None` turns it off.
    ///
    /// # Errors
    /// [`OptimError::InvalidArgument`] when `max_norm` or `norm_type` is NaN, or `max_norm` is
    /// negative; nothing changes then.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, GradClip, OptimError, Optimizer, Param};
    /// let w = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let mut opt = Optimizer::<Adam, f32>::new(vec![w], Adam::hyper()).unwrap();
    /// assert!(matches!(opt.set_grad_clip(Some(GradClip::norm(f64::NAN))), Err(OptimError::InvalidArgument { .. })));
    /// opt.set_grad_clip(Some(GradClip::norm(0.5))).unwrap();
    /// assert_eq!(opt.grad_clip().unwrap().max_norm, 0.5);
    /// ```
    pub fn set_grad_clip(&mut self, clip: Option<GradClip>) -> Result<(), OptimError> {
        if let Some(clip) = clip
            && (clip.max_norm.is_nan() || clip.max_norm < 0.0 || clip.norm_type.is_nan())
        {
            let message = format!("max_norm must be a non-negative number and norm_type a number, got {clip:?}");
            return Err(OptimError::InvalidArgument { what: "set_grad_clip", message });
        }
        self.clip = clip;
        Ok(())
    }

    /// The clipping fused into the step, if any.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Optimizer, Param};
    /// let opt = Optimizer::<Sgd, f32>::new(vec![Param::new(ndarray::arr1(&[1.0f32]).into_dyn())], Sgd::hyper()).unwrap();
    /// assert!(opt.grad_clip().is_none());
    /// ```
    pub fn grad_clip(&self) -> Option<GradClip> {
        self.clip
    }

    /// The total gradient norm before clipping that the last successful step measured (what
    /// `clip_grad_norm_` returns); `None` without clipping.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, GradClip, Optimizer, Param};
    /// let w = Param::new(ndarray::arr1(&[0.0f32]).into_dyn());
    /// let mut opt = Optimizer::<Sgd, f32>::new(vec![w.clone()], Sgd::hyper()).unwrap();
    /// opt.set_grad_clip(Some(GradClip::norm(10.0))).unwrap();
    /// w.set_grad(ndarray::arr1(&[-2.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert_eq!(opt.last_grad_norm(), Some(2.0));
    /// ```
    pub fn last_grad_norm(&self) -> Option<f64> {
        self.last_grad_norm
    }

    /// The gradient scale of this step under `clip`, with the total norm: called with every
    /// parameter taken. Where the kernels cannot apply the coefficient faithfully (a rule not
    /// compiled by `optimizer!`, a norm beyond the element type's range) the gradients are
    /// clipped in place as `clip_grads_with_norm_` does, and the scale is 1.
    pub(crate) fn clip_scale(&mut self, clip: GradClip) -> Result<(f64, f64), OptimError> {
        let count: usize = self.groups.iter().map(|g| g.params.len()).sum();
        self.norms.clear();
        self.norms.resize(count, -1.0);
        let mut rest = &mut self.norms[..];
        for group in &self.groups {
            let (mine, others) = rest.split_at_mut(group.params.len().min(rest.len()));
            fill_norms(&group.params, mine, clip.norm_type);
            rest = others;
        }
        let total = total_of(&self.norms, clip.norm_type);
        if clip.error_if_nonfinite && !total.is_finite() {
            return Err(OptimError::NonFiniteNorm { norm_type: clip.norm_type, total_norm: total });
        }
        match clip_coefficient::<T>(clip.max_norm, total) {
            Some(coef) if R::SCALES_GRAD => Ok((coef.to_f64(), total)),
            _ => {
                for group in &self.groups {
                    clip_grads_with_norm_(&group.params, clip.max_norm, total);
                }
                Ok((1.0, total))
            }
        }
    }
}
