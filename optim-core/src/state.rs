//! Per-parameter optimizer state, created lazily on a parameter's first step.

use ndarray::{ArrayD, CowArray, IxDyn};

use crate::buffer::StateBuffer;
use crate::lowbit::PackedState;
use crate::{Element, FactorsMut, Rule, StateFormat, StateFormats, StateShape};

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
    /// One buffer per declared state, row-major; empty while the state is absent or packed.
    pub(crate) tensors: Vec<StateBuffer<T>>,
    /// One entry per declared state: its codes when it is stored in a compact format.
    pub(crate) packed: Vec<Option<PackedState>>,
    pub(crate) scalars: Vec<f64>,
    /// Row and column values a factored rule computes between passes (not part of the state
    /// dict: every step recomputes them).
    pub(crate) temps: Vec<f64>,
    /// `temps` rounded to the element type after each stage: what the element loops read.
    pub(crate) temps_elem: Vec<T>,
    /// Row and column sums a factored rule's passes accumulate.
    pub(crate) accumulators: Vec<f64>,
}

impl<T: Element> ParamState<T> {
    /// The state of a parameter of value `value` before its first step, with every state the
    /// hyperparameters need allocated and initialised.
    pub(crate) fn new<R: Rule>(value: &ArrayD<T>, hyper: &R::Hyper, formats: &StateFormats) -> Self {
        let mut state = Self::empty::<R>(value.shape(), hyper);
        state.allocate_present::<R>(hyper, value, formats);
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
            packed: vec![None; R::STATES.len()],
            scalars,
            temps: vec![0.0; R::TEMPORARIES.len(shape)],
            temps_elem: vec![T::ZERO; R::TEMPORARIES.len(shape)],
            // allocated by the first pass that accumulates row or column sums (a vector under
            // AdaFactor never does: its buffer would be as long as the vector)
            accumulators: Vec::new(),
        }
    }

    /// Whether a state the hyperparameters need is not allocated yet ([`Self::allocate_present`]
    /// would create it).
    pub(crate) fn missing_states<R: Rule>(&self, hyper: &R::Hyper) -> bool {
        (0..R::STATES.len()).any(|index| self.missing::<R>(hyper, index))
    }

    /// Whether state `index` is needed by `hyper` and has neither values nor codes yet (a
    /// column state of a 0 x C parameter still holds C values, as in PyTorch).
    fn missing<R: Rule>(&self, hyper: &R::Hyper, index: usize) -> bool {
        let len = R::STATES.get(index).map_or(0, |decl| decl.shape.len(&self.shape));
        let (Some(tensor), Some(packed)) = (self.tensors.get(index), self.packed.get(index)) else { return false };
        tensor.is_empty() && packed.is_none() && len > 0 && R::state_present(hyper, &self.shape, index)
    }

    /// Allocates every state the current hyperparameters need and that does not exist yet, so
    /// turning a flag on between steps works as it does in PyTorch (fresh state from then on).
    /// A state that starts from the parameter (`z = param`) reads `value`, in row-major order.
    pub(crate) fn allocate_present<R: Rule>(&mut self, hyper: &R::Hyper, value: &ArrayD<T>, formats: &StateFormats) {
        for (index, decl) in R::STATES.iter().enumerate() {
            if !self.missing::<R>(hyper, index) {
                continue;
            }
            let len = decl.shape.len(&self.shape);
            let (Some(tensor), Some(packed)) = (self.tensors.get_mut(index), self.packed.get_mut(index)) else {
                continue;
            };
            let format = stored_format(decl, len, formats);
            let reads_param = R::state_init_reads_param(index) && value.len() == len;
            let init = R::state_init(hyper, index);
            if format != StateFormat::Native && !reads_param && init == 0.0 {
                // torchao's zeros: every code and every scale 0
                *packed = Some(PackedState::zeros(format, !decl.non_negative, len));
                continue;
            }
            *tensor = if reads_param {
                StateBuffer::from_values(value.iter().map(|&p| R::state_init_at(hyper, index, p)), index)
            } else {
                StateBuffer::filled(T::from_f64(init), len, index)
            };
            if format != StateFormat::Native {
                *packed = Some(PackedState::from_values(format, !decl.non_negative, tensor));
                *tensor = StateBuffer::default();
            }
        }
    }

    /// Stores every existing state as `formats` says, converting those stored otherwise (their
    /// values decoded, then coded in the new format).
    pub(crate) fn convert<R: Rule>(&mut self, formats: &StateFormats) {
        for (index, ((tensor, packed), decl)) in
            self.tensors.iter_mut().zip(&mut self.packed).zip(R::STATES).enumerate()
        {
            let len = decl.shape.len(&self.shape);
            let format = stored_format(decl, len, formats);
            let current = packed.as_ref().map_or(StateFormat::Native, |p| p.format);
            if format == current || (tensor.is_empty() && packed.is_none()) {
                continue;
            }
            let values: Vec<T> = match packed.take() {
                Some(codes) => codes.values(),
                None => tensor.to_vec(),
            };
            if format == StateFormat::Native {
                *tensor = StateBuffer::from_values(values.into_iter(), index);
            } else {
                *packed = Some(PackedState::from_values(format, !decl.non_negative, &values));
                *tensor = StateBuffer::default();
            }
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
        if R::factored_stage(prep, stage, &mut views[..count], factors) {
            round_temps(&self.temps, &mut self.temps_elem);
        }
    }

    /// How many steps this parameter has taken (PyTorch's `state["step"]`).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The state tensor called `name`, shaped like the parameter, if it exists: borrowed when
    /// it is stored in the element type, decoded when it is stored in a compact
    /// [`StateFormat`] (the values the next step reads).
    pub fn tensor(&self, name: &str) -> Option<CowArray<'_, T, IxDyn>> {
        let index = self.names.iter().position(|decl| decl.name == name)?;
        let dims = IxDyn(&self.names[index].shape.dims(&self.shape));
        if let Some(Some(packed)) = self.packed.get(index) {
            return ArrayD::from_shape_vec(dims, packed.values()).ok().map(CowArray::from);
        }
        let data = &self.tensors[index];
        if data.is_empty() && self.shape.iter().product::<usize>() != 0 {
            return None;
        }
        ndarray::ArrayViewD::from_shape(dims, data).ok().map(CowArray::from)
    }

    /// How state `name` is stored, if it exists.
    pub fn format(&self, name: &str) -> Option<StateFormat> {
        let index = self.names.iter().position(|decl| decl.name == name)?;
        match (&self.packed[index], self.tensors[index].is_empty()) {
            (Some(packed), _) => Some(packed.format),
            (None, false) => Some(StateFormat::Native),
            (None, true) => None,
        }
    }

    /// The codes and scales of state `name`, when it is stored in a compact [`StateFormat`].
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Optimizer, Param, StateFormat};
    /// let w = Param::new(ndarray::ArrayD::<f32>::zeros(vec![4096]));
    /// let mut opt = Optimizer::<Adam, f32>::new(vec![w.clone()], Adam::hyper()).unwrap();
    /// opt.set_state_format(StateFormat::Int4).unwrap();
    /// w.set_grad(ndarray::ArrayD::ones(vec![4096]));
    /// opt.step().unwrap();
    /// let codes = opt.state(0, 0).unwrap().codes("exp_avg_sq").unwrap();
    /// assert_eq!((codes.codes.len(), codes.scales.len(), codes.signed), (2048, 32, false));
    /// ```
    pub fn codes(&self, name: &str) -> Option<crate::lowbit::Codes<'_>> {
        let index = self.names.iter().position(|decl| decl.name == name)?;
        let packed = self.packed.get(index)?.as_ref()?;
        Some(crate::lowbit::Codes {
            format: packed.format,
            signed: packed.signed,
            codes: &packed.codes,
            scales: &packed.scales,
        })
    }

    /// Bytes the state tensors occupy: elements in the element type, codes and scales of packed ones.
    pub fn state_bytes(&self) -> usize {
        let dense: usize = self.tensors.iter().map(|t| t.len() * core::mem::size_of::<T>()).sum();
        dense + self.packed.iter().flatten().map(PackedState::bytes).sum::<usize>()
    }

    /// The scalar state called `name` (such as NAdam's `mu_product`), if the rule has it.
    pub fn scalar(&self, name: &str) -> Option<f64> {
        let index = self.scalar_names.iter().position(|n| *n == name)?;
        self.scalars.get(index).copied()
    }

    /// Names of the tensors that exist now, in declaration order.
    pub fn tensor_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        let present = self.tensors.iter().zip(&self.packed).map(|(data, packed)| !data.is_empty() || packed.is_some());
        self.names.iter().zip(present).filter(|(_, present)| *present).map(|(decl, _)| decl.name)
    }
}

/// The format a state of `len` elements is stored in: the one `formats` names for it when it
/// applies (a per-element state of enough elements); otherwise the element type.
fn stored_format(decl: &crate::StateDecl, len: usize, formats: &StateFormats) -> StateFormat {
    let format = formats.format_of_state(decl);
    if decl.shape == StateShape::Full && formats.stores(format, len) { format } else { StateFormat::Native }
}

/// `elem[i] = T::from_f64(temps[i])`: the row and column values as the element loops read them.
pub(crate) fn round_temps<T: Element>(temps: &[f64], elem: &mut [T]) {
    for (e, &t) in elem.iter_mut().zip(temps) {
        *e = T::from_f64(t);
    }
}
