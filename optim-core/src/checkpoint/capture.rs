//! `Optimizer::state_dict`: copying the live state into a [`StateDict`].

use std::collections::BTreeMap;

use ndarray::{Array1, ArrayD, IxDyn};

use super::{GroupDict, PackedTensor, ParamStateDict, StateDict};
use crate::{Element, HyperSet, Optimizer, ParamState, Rule};

impl<R: Rule, T: Element> Optimizer<R, T> {
    /// A copy of the optimizer's state, as PyTorch's `optimizer.state_dict()`: every param
    /// group's hyperparameters and parameter indices, and the step count, scalar states and
    /// existing state tensors of every parameter that has taken a step.
    ///
    /// Parameters are numbered across groups in order, as PyTorch numbers them. Parameter values
    /// are not included (they belong to the model).
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Group, Optimizer, Param};
    /// let a = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let b = Param::new(ndarray::arr1(&[2.0f64, 3.0]).into_dyn());
    /// let groups = vec![Group::new(vec![a.clone()]), Group::new(vec![b]).with("lr", 0.5)];
    /// let mut opt = Optimizer::<Sgd, f64>::with_groups(groups, Sgd::hyper().momentum(0.9)).unwrap();
    /// a.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    /// opt.step().unwrap();
    ///
    /// let sd = opt.state_dict();
    /// assert_eq!(sd.param_groups[1].params, vec![1]);
    /// assert_eq!(sd.param_groups[1].hyper["lr"], optim_core::HyperValue::Float(0.5));
    /// assert_eq!(sd.state.keys().collect::<Vec<_>>(), vec![&0]); // b has no gradient yet
    /// assert_eq!(sd.state[&0].tensors["momentum_buffer"][[0]], 1.0);
    /// ```
    pub fn state_dict(&self) -> StateDict<T> {
        let mut state = BTreeMap::new();
        let mut param_groups = Vec::with_capacity(self.groups.len());
        let mut first = 0;
        for (group, states) in self.groups.iter().zip(&self.states) {
            let hyper = group.hyper.names().iter().filter_map(|&name| Some((name.to_owned(), group.hyper.get(name)?)));
            let mut dict = GroupDict::new((first..first + group.params.len()).collect());
            dict.hyper = hyper.collect();
            dict.values = group.values().map(|(name, value)| (name.to_owned(), value)).collect();
            dict.eval_mode = group.eval_mode;
            for (offset, slot) in states.iter().enumerate() {
                if let Some(param_state) = slot {
                    state.insert(first + offset, capture::<R, T>(param_state, &group.hyper));
                }
            }
            first += group.params.len();
            param_groups.push(dict);
        }
        StateDict {
            optimizer: R::NAME.to_owned(),
            dtype: T::DTYPE.to_owned(),
            steps_taken: self.steps_taken,
            state,
            param_groups,
        }
    }
}

/// One parameter's entry. A state exists when its buffer is allocated; a parameter with no
/// elements has no buffers, so its entry lists the states its group's hyperparameters call for.
pub(crate) fn capture<R: Rule, T: Element>(state: &ParamState<T>, hyper: &R::Hyper) -> ParamStateDict<T> {
    let mut entry = ParamStateDict::new(state.step);
    let elements = state.shape.iter().product::<usize>();
    for (index, ((decl, data), packed)) in R::STATES.iter().zip(&state.tensors).zip(&state.packed).enumerate() {
        if let Some(packed) = packed {
            let (format, signed, shape) = (packed.format, packed.signed, decl.shape.dims(&state.shape));
            let (codes, scales) = (packed.codes.clone(), packed.scales.clone());
            entry.packed.insert(decl.name.to_owned(), PackedTensor { format, signed, shape, codes, scales });
        } else if !data.is_empty() || (elements == 0 && R::state_present(hyper, &state.shape, index)) {
            entry.tensors.insert(decl.name.to_owned(), shaped(&decl.shape.dims(&state.shape), data));
        }
    }
    entry.scalars = R::SCALAR_STATES.iter().map(|name| name.to_string()).zip(state.scalars.iter().copied()).collect();
    entry
}

/// `data` as an array of `shape`; state buffers always hold exactly that many elements, and
/// should one not, it is kept flat rather than lost (loading then reports the shape).
fn shaped<T: Element>(shape: &[usize], data: &[T]) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), data.to_vec()).unwrap_or_else(|_| Array1::from(data.to_vec()).into_dyn())
}
