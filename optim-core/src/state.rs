//! Per-parameter optimizer state, created lazily on a parameter's first step.

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::buffer::StateBuffer;
use crate::{Element, FactorsMut, Rule};

/// The state of one parameter: its step count, its per-element tensors (by PyTorch's names) and
/// its scalar states.
///
/// ```
/// use optim_core::{builtins::Adam, Optimizer, Param};
/// let p = Param::new(ndarray::arr1(&[1.0f64, 2.0]).into_dyn());
/// p.set_grad(ndarray::arr1(&[0.5, -0.5]).into_dyn());
/// let mut opt = Optimizer::<Adam, f64>::new(vec![p], Adam::hyper()).unwrap();
/// opt.step().unwrap();
/// let state = opt.state(0, 0).unwrap();
/// assert_eq!(state.step(), 1);
/// assert!((state.tensor("exp_avg").unwrap()[[0]] - 0.05).abs() < 1e-15);
/// assert!(state.tensor("max_exp_avg_sq").is_none()); // amsgrad is off
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ParamState<T> {
    pub(crate) step: u64,
    pub(crate) shape: Vec<usize>,
    pub(crate) names: &'static [crate::StateDecl],
    pub(crate) scalar_names: &'static [&'static str],
    /// One buffer per declared state, row-major; empty while the state is absent.
    pub(crate) tensors: Vec<StateBuffer<T>>,
    pub(crate) scalars: Vec<f64>,
    /// Row and column values a factored rule computes between passes (not part of the state
    /// dict: every step recomputes them).
    pub(crate) temps: Vec<f64>,
    /// Row and column sums a factored rule's passes accumulate.
    pub(crate) accumulators: Vec<f64>,
}

impl<T: Element> ParamState<T> {
    /// The state of a parameter of value `value` before its first step, with every state the
    /// hyperparameters need allocated and initialised.
    pub(crate) fn new<R: Rule>(value: &ArrayD<T>, hyper: &R::Hyper) -> Self {
        let mut state = Self::empty::<R>(value.shape(), hyper);
        state.allocate_present::<R>(hyper, value);
        state
    }

    /// The state of a parameter of `shape` with no tensor allocated yet (a checkpoint fills them).
    pub(crate) fn empty<R: Rule>(shape: &[usize], hyper: &R::Hyper) -> Self {
        let scalars = (0..R::SCALAR_STATES.len()).map(|i| R::scalar_state_init(hyper, i)).collect();
        ParamState {
            step: 0,
            shape: shape.to_vec(),
            names: R::STATES,
            scalar_names: R::SCALAR_STATES,
            tensors: vec![StateBuffer::default(); R::STATES.len()],
            scalars,
            temps: vec![0.0; R::TEMPORARIES.len(shape)],
            accumulators: vec![0.0; crate::reduce::accumulators_len::<R>(shape)],
        }
    }

    /// Allocates every state the current hyperparameters need and that does not exist yet, so
    /// turning a flag on between steps works as it does in PyTorch (fresh state from then on).
    /// A state that starts from the parameter (`z = param`) reads `value`, in row-major order.
    pub(crate) fn allocate_present<R: Rule>(&mut self, hyper: &R::Hyper, value: &ArrayD<T>) {
        for (index, (tensor, decl)) in self.tensors.iter_mut().zip(R::STATES).enumerate() {
            // a column state of a 0 x C parameter still holds C values, as in PyTorch
            let len = decl.shape.len(&self.shape);
            if !(tensor.is_empty() && len > 0 && R::state_present(hyper, &self.shape, index)) {
                continue;
            }
            *tensor = if R::state_init_reads_param(index) && value.len() == len {
                StateBuffer::from_values(value.iter().map(|&p| R::state_init_at(hyper, index, p)), index)
            } else {
                StateBuffer::filled(T::from_f64(R::state_init(hyper, index)), len, index)
            };
        }
    }

    /// Runs `R`'s row and column computations of `stage` on this parameter's factored state.
    pub(crate) fn factored_stage<R: Rule>(&mut self, prep: &R::Prep, stage: usize) {
        if !R::FACTORED {
            return;
        }
        let (slices, rows, cols) = crate::matrix_dims(&self.shape);
        let count = self.tensors.len().min(crate::MAX_STATES);
        let mut views: [&mut [T]; crate::MAX_STATES] = Default::default();
        for (view, tensor) in views.iter_mut().zip(self.tensors.iter_mut()) {
            *view = &mut tensor[..];
        }
        let factors = FactorsMut { slices, rows, cols, temps: &mut self.temps, accumulators: &self.accumulators };
        R::factored_stage(prep, stage, &mut views[..count], factors);
    }

    /// How many steps this parameter has taken (PyTorch's `state["step"]`).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The state tensor called `name`, shaped like the parameter, if it exists.
    pub fn tensor(&self, name: &str) -> Option<ArrayViewD<'_, T>> {
        let index = self.names.iter().position(|decl| decl.name == name)?;
        let data = &self.tensors[index];
        if data.is_empty() && self.shape.iter().product::<usize>() != 0 {
            return None;
        }
        ArrayViewD::from_shape(IxDyn(&self.names[index].shape.dims(&self.shape)), data).ok()
    }

    /// The scalar state called `name` (such as NAdam's `mu_product`), if the rule has it.
    pub fn scalar(&self, name: &str) -> Option<f64> {
        let index = self.scalar_names.iter().position(|n| *n == name)?;
        self.scalars.get(index).copied()
    }

    /// Names of the tensors that exist now, in declaration order.
    pub fn tensor_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.names.iter().zip(&self.tensors).filter(|(_, data)| !data.is_empty()).map(|(decl, _)| decl.name)
    }
}
