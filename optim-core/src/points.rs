//! `Optimizer::eval` and `Optimizer::train`: the two points of averaging rules (Schedule-Free's
//! averaged x and training point y), as the `schedulefree` package's methods of those names.

use ndarray::ArrayD;

use crate::{Element, MAX_STATES, Optimizer, Rule};

impl<R: Rule, T: Element> Optimizer<R, T> {
    /// Moves every group's parameters to the evaluation point (Schedule-Free's averaged `x`),
    /// as `optimizer.eval()` in the `schedulefree` package: call it before evaluating or saving
    /// the model, and [`Optimizer::train`] before the next step. Idempotent; parameters that have
    /// not stepped yet (no state) stay where they are; state is untouched. Rules without an
    /// `eval` point ignore it.
    ///
    /// ```
    /// use optim_core::{zoo::SGDScheduleFree, OptimError, Optimizer, Param};
    /// let w = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = SGDScheduleFree::optimizer(vec![w.clone()], SGDScheduleFree::hyper().lr(0.1)).unwrap();
    /// for _ in 0..2 {
    ///     // after one step y, x and z coincide; the second step separates them
    ///     w.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    ///     opt.step().unwrap();
    /// }
    /// let y = w.value()[0];
    /// opt.eval();
    /// opt.eval(); // idempotent
    /// let x = w.value()[0];
    /// assert_ne!(x, y);
    /// assert!(matches!(opt.step(), Err(OptimError::EvalMode { .. })));
    /// opt.train();
    /// assert!((w.value()[0] - y).abs() < 1e-15);
    /// ```
    pub fn eval(&mut self) {
        self.switch_points(true);
    }

    /// Moves every group's parameters back to the training point (Schedule-Free's `y`), as
    /// `optimizer.train()` in the `schedulefree` package. Idempotent.
    ///
    /// ```
    /// use optim_core::{zoo::AdamWScheduleFree, Optimizer, Param};
    /// let w = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let mut opt = AdamWScheduleFree::optimizer(vec![w.clone()], AdamWScheduleFree::hyper()).unwrap();
    /// opt.train(); // already training: nothing moves
    /// assert_eq!(w.value()[0], 1.0);
    /// assert!(!opt.param_groups()[0].in_eval_mode());
    /// ```
    pub fn train(&mut self) {
        self.switch_points(false);
    }

    fn switch_points(&mut self, to_eval: bool) {
        if !R::POINTS {
            return;
        }
        for (group, states) in self.groups.iter_mut().zip(&self.states) {
            if group.eval_mode == to_eval {
                continue;
            }
            for (param, slot) in group.params.iter().zip(states) {
                let Some(state) = slot else { continue };
                // packed states are decoded whole: switching points is not a step, and happens
                // once per evaluation
                let decoded: Vec<Option<Vec<T>>> =
                    state.packed.iter().map(|p| p.as_ref().map(|codes| codes.values())).collect();
                let mut slices: [&[T]; MAX_STATES] = Default::default();
                for ((view, tensor), decoded) in slices.iter_mut().zip(&state.tensors).zip(&decoded) {
                    *view = decoded.as_deref().unwrap_or(tensor);
                }
                let states = &slices[..R::STATES.len().min(MAX_STATES)];
                let mut data = param.lock();
                if let Some(values) = data.value.as_slice_mut() {
                    R::switch_point(&group.hyper, to_eval, values, states);
                } else {
                    // a view in another memory order: the state follows the logical order
                    let mut values: Vec<T> = data.value.iter().copied().collect();
                    R::switch_point(&group.hyper, to_eval, &mut values, states);
                    let shape = data.value.shape().to_vec();
                    if let Ok(array) = ArrayD::from_shape_vec(shape, values) {
                        data.value.assign(&array);
                    }
                }
            }
            group.eval_mode = to_eval;
        }
    }
}
