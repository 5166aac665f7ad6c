//! The in-memory checkpoint: PyTorch's `state_dict()` structure, typed.

use std::collections::BTreeMap;

use ndarray::ArrayD;

use crate::{HyperValue, StateFormat};

/// An optimizer's complete state, structured as PyTorch's `optimizer.state_dict()`: per-parameter
/// `state` keyed by global parameter index (parameters numbered across groups in order) and
/// `param_groups` holding each group's hyperparameters and the indices of its parameters.
///
/// Made by [`Optimizer::state_dict`](crate::Optimizer::state_dict), applied by
/// [`Optimizer::load_state_dict`](crate::Optimizer::load_state_dict), and written to or read from
/// a file by [`StateDict::save`] and [`StateDict::load`]. The fields are public so a checkpoint can
/// be inspected or edited; loading validates everything.
///
/// ```
/// use optim_core::{builtins::Adam, Optimizer, Param};
/// let p = Param::new(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
/// let mut opt = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper().lr(0.1)).unwrap();
/// p.set_grad(ndarray::arr1(&[0.5, -0.5]).into_dyn());
/// opt.step().unwrap();
///
/// let sd = opt.state_dict();
/// assert_eq!((sd.optimizer.as_str(), sd.dtype.as_str()), ("Adam", "float32"));
/// assert_eq!(sd.param_groups[0].params, vec![0]);
/// assert_eq!(sd.param_groups[0].hyper["lr"], optim_core::HyperValue::Float(0.1));
/// assert_eq!(sd.state[&0].step, 1);
/// assert_eq!(sd.state[&0].tensors["exp_avg"].shape(), &[2]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StateDict<T> {
    /// The optimizer's PyTorch class name ([`Rule::NAME`](crate::Rule::NAME)), such as `"Adam"`.
    pub optimizer: String,
    /// PyTorch's name of the element type ([`Element::DTYPE`](crate::Element::DTYPE)).
    pub dtype: String,
    /// How many optimizer steps had succeeded.
    pub steps_taken: u64,
    /// The state of every parameter that has taken a step, by global parameter index.
    pub state: BTreeMap<usize, ParamStateDict<T>>,
    /// The param groups, in order.
    pub param_groups: Vec<GroupDict>,
}

/// One parameter's entry of [`StateDict::state`]: PyTorch's `state[p]` dict.
///
/// ```
/// use optim_core::checkpoint::ParamStateDict;
/// let mut entry = ParamStateDict::<f64>::new(3);
/// entry.tensors.insert("momentum_buffer".into(), ndarray::arr1(&[0.5, 0.25]).into_dyn());
/// assert_eq!(entry.step, 3);
/// assert!(entry.scalars.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ParamStateDict<T> {
    /// How many steps this parameter has taken (PyTorch's `state[p]["step"]`).
    pub step: u64,
    /// The per-element state tensors that exist, by PyTorch's name, each shaped like the parameter.
    pub tensors: BTreeMap<String, ArrayD<T>>,
    /// The scalar states (such as NAdam's `mu_product`), by name.
    pub scalars: BTreeMap<String, f64>,
    /// The state tensors stored in a compact [`StateFormat`], by name, as their codes and
    /// scales (a state is in `tensors` or here, never both).
    pub packed: BTreeMap<String, PackedTensor>,
}

/// A state tensor in a compact [`StateFormat`], as checkpoints keep it: bit for bit.
///
/// ```
/// use optim_core::{checkpoint::PackedTensor, StateFormat};
/// let t = PackedTensor { format: StateFormat::Int8, signed: true, shape: vec![4096], codes: vec![127; 4096], scales: vec![0.0; 16] };
/// assert!(t.check().is_ok());
/// let short = PackedTensor { codes: vec![0; 100], ..t };
/// assert!(short.check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PackedTensor {
    /// The format (never [`StateFormat::Native`]).
    pub format: StateFormat,
    /// Coded with the signed lookup table (8-bit and 4-bit).
    pub signed: bool,
    /// The state's shape (the parameter's).
    pub shape: Vec<usize>,
    /// The codes, laid out as [`crate::Codes::codes`] describes.
    pub codes: Vec<u8>,
    /// One scale per block.
    pub scales: Vec<f32>,
}

impl PackedTensor {
    /// Whether the codes and scales are as many as the format and shape call for, and the
    /// format is one a state of that size is stored in; the reason otherwise.
    pub fn check(&self) -> Result<(), String> {
        let len: usize = self.shape.iter().product();
        let format = self.format;
        // any size of whole blocks is valid storage (the 4096 threshold is a setting)
        if !crate::StateFormats::default().with_min_elements(0).stores(format, len) {
            return Err(format!("{} elements are not stored as {}", len, format.name()));
        }
        if self.codes.len() != format.code_bytes(len) || self.scales.len() != format.blocks(len) {
            let (codes, scales) = (self.codes.len(), self.scales.len());
            return Err(format!(
                "{codes} code bytes and {scales} scales for {len} elements as {} (expected {} and {})",
                format.name(),
                format.code_bytes(len),
                format.blocks(len)
            ));
        }
        if self.scales.iter().any(|s| *s < 0.0) {
            return Err("a negative scale".to_owned());
        }
        Ok(())
    }
}

impl<T> ParamStateDict<T> {
    /// An entry at step `step` with no tensors and no scalars yet.
    ///
    /// ```
    /// let entry = optim_core::checkpoint::ParamStateDict::<f32>::new(0);
    /// assert!(entry.tensors.is_empty());
    /// ```
    pub fn new(step: u64) -> Self {
        ParamStateDict { step, tensors: BTreeMap::new(), scalars: BTreeMap::new(), packed: BTreeMap::new() }
    }
}

/// One entry of [`StateDict::param_groups`]: a group's hyperparameters by name, the global
/// indices of its parameters (PyTorch's `{"params": [0, 1], "lr": 0.01, ...}`), and for
/// whole-group rules the values kept in the group (Prodigy's `"d"`) and whether it is at its
/// evaluation point (Schedule-Free's `train_mode` is `!eval_mode`).
///
/// ```
/// use optim_core::{checkpoint::GroupDict, HyperValue};
/// let mut group = GroupDict::new(vec![0, 1]);
/// group.hyper.insert("lr".into(), HyperValue::Float(0.01));
/// assert_eq!(group.params.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDict {
    /// Every hyperparameter of the group, by name.
    pub hyper: BTreeMap<String, HyperValue>,
    /// The global indices of the group's parameters, in order.
    pub params: Vec<usize>,
    /// The group's values ([`Rule::GROUP_STATES`](crate::Rule::GROUP_STATES)), by name.
    pub values: BTreeMap<String, f64>,
    /// Whether the group was at its evaluation point (after `eval()`).
    pub eval_mode: bool,
}

impl GroupDict {
    /// A group over `params` with no hyperparameters yet.
    ///
    /// ```
    /// let group = optim_core::checkpoint::GroupDict::new(vec![3]);
    /// assert!(group.hyper.is_empty());
    /// ```
    pub fn new(params: Vec<usize>) -> Self {
        GroupDict { hyper: BTreeMap::new(), params, values: BTreeMap::new(), eval_mode: false }
    }
}
