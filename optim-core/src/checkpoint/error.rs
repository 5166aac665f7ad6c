//! What can be wrong with a checkpoint, each case naming what it found.

use std::path::PathBuf;

use thiserror::Error;

use crate::OptimError;

/// Why a checkpoint could not be saved, read or loaded.
///
/// Returned inside [`OptimError::Checkpoint`]. Whenever a load fails, the optimizer is exactly as
/// it was before the call.
///
/// ```
/// use optim_core::{builtins::{Adam, Sgd}, CheckpointError, OptimError, Optimizer, Param};
/// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
/// let adam = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper()).unwrap();
/// let mut sgd = Optimizer::<Sgd, f32>::new(vec![p], Sgd::hyper()).unwrap();
/// let err = sgd.load_state_dict(&adam.state_dict()).unwrap_err();
/// assert_eq!(
///     err,
///     OptimError::Checkpoint(CheckpointError::WrongOptimizer { expected: "SGD", found: "Adam".into() })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("cannot {action} {}: {message}", path.display())]
    Io {
        /// `"read"` or `"write"`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The kind of I/O error.
        kind: std::io::ErrorKind,
        /// The I/O error, formatted.
        message: String,
    },
    /// The bytes are not a well-formed safetensors file; `kind` says how.
    #[error("not a valid checkpoint file ({kind}): {reason}")]
    Corrupt {
        /// What kind of damage.
        kind: CorruptKind,
        /// The details, for people.
        reason: String,
    },
    /// The file's checksum does not match its contents: the file was damaged or edited.
    #[error("checksum mismatch (stored {stored:08x}, computed {computed:08x}): the file is damaged or was edited")]
    Checksum {
        /// The checksum stored in the file.
        stored: u32,
        /// The checksum of what was read.
        computed: u32,
    },
    /// A metadata entry every checkpoint has is absent.
    #[error("the metadata has no `{key}` entry")]
    MissingMetadata {
        /// The absent entry.
        key: &'static str,
    },
    /// A metadata entry this format does not define.
    #[error("unknown metadata entry `{key}`")]
    UnknownMetadata {
        /// The entry's name.
        key: String,
    },
    /// A metadata entry that cannot be parsed (bad JSON, a wrong type, a duplicate key).
    #[error("metadata entry `{key}` is malformed: {reason}")]
    BadMetadata {
        /// The entry's name.
        key: &'static str,
        /// What the parser found wrong.
        reason: String,
    },
    /// A file written in another format or format version.
    #[error("unsupported checkpoint format `{found}` (this version reads `{expected}`)")]
    UnsupportedFormat {
        /// The format this version reads.
        expected: &'static str,
        /// The format the file declares.
        found: String,
    },
    /// A checkpoint of another optimizer.
    #[error("the checkpoint is of optimizer {found}, not {expected}")]
    WrongOptimizer {
        /// This optimizer's name.
        expected: &'static str,
        /// The checkpoint's.
        found: String,
    },
    /// A checkpoint of another element type.
    #[error("the checkpoint holds {found} state, this optimizer uses {expected}")]
    WrongDtype {
        /// This optimizer's dtype.
        expected: &'static str,
        /// The checkpoint's.
        found: String,
    },
    /// A tensor stored with another dtype than the checkpoint declares.
    #[error("tensor `{tensor}` is stored as {found}, expected {expected}")]
    TensorDtype {
        /// The tensor's name in the file.
        tensor: String,
        /// The dtype the checkpoint declares, as safetensors names it.
        expected: String,
        /// The tensor's, as safetensors names it.
        found: String,
    },
    /// A tensor whose name is not `state.<index>.<name>` for a parameter with a state entry.
    #[error("unexpected tensor `{name}`: tensors are named state.<index>.<name> after an entry of `state`")]
    UnexpectedTensor {
        /// The tensor's name in the file.
        name: String,
    },
    /// The state could not be encoded (its metadata would exceed the format's header limit).
    #[error("cannot encode the checkpoint: {reason}")]
    Encode {
        /// What the safetensors writer refused.
        reason: String,
    },
    /// An element type other than `f32` and `f64`, which the file format cannot store.
    #[error("element type {dtype} cannot be stored in a checkpoint (only float32 and float64)")]
    UnsupportedElement {
        /// The element type's [`Element::DTYPE`](crate::Element::DTYPE).
        dtype: &'static str,
    },
    /// The checkpoint has a different number of param groups than the optimizer.
    #[error("the checkpoint has {found} param groups, the optimizer has {expected}")]
    GroupCount {
        /// The optimizer's.
        expected: usize,
        /// The checkpoint's.
        found: usize,
    },
    /// A param group with a different number of parameters than the optimizer's.
    #[error("param group {group}: the checkpoint has {found} parameters, the optimizer has {expected}")]
    ParamCount {
        /// Index of the group.
        group: usize,
        /// The optimizer's.
        expected: usize,
        /// The checkpoint's.
        found: usize,
    },
    /// A parameter index listed twice in the param groups.
    #[error("parameter index {index} is listed more than once in the param groups")]
    DuplicateParam {
        /// The repeated index.
        index: usize,
    },
    /// State for a parameter index that no param group lists.
    #[error("the state has an entry for parameter {index}, which no param group lists")]
    UnknownParam {
        /// The index.
        index: usize,
    },
    /// A param group without a value for one of the optimizer's hyperparameters.
    #[error("param group {group}: hyperparameter `{name}` is missing")]
    MissingHyper {
        /// Index of the group.
        group: usize,
        /// The missing hyperparameter.
        name: &'static str,
    },
    /// A hyperparameter the optimizer does not have, of the wrong type, or out of range
    /// ([`OptimError::UnknownHyper`], [`OptimError::HyperType`], [`OptimError::InvalidHyper`],
    /// [`OptimError::InvalidHyperCombination`]).
    #[error("param group {group}: {error}")]
    Hyper {
        /// Index of the group.
        group: usize,
        /// What is wrong with the group's hyperparameters.
        error: Box<OptimError>,
    },
    /// A param group without one of the values the rule keeps per group (Prodigy's `d`).
    #[error("param group {group}: value `{name}` is missing")]
    MissingGroupValue {
        /// Index of the group.
        group: usize,
        /// The missing value.
        name: &'static str,
    },
    /// A rule whose values span every group (Prodigy's one `d`) found a group whose value
    /// differs from group 0's.
    #[error("param group {group}: value `{name}` differs from group 0's, and {optimizer} keeps one for every group")]
    GroupValuesDisagree {
        /// Index of the group.
        group: usize,
        /// The optimizer's name.
        optimizer: &'static str,
        /// The value.
        name: &'static str,
    },
    /// A param group value the rule does not keep, or an evaluation point for a rule without
    /// one (`eval_mode`).
    #[error("param group {group}: {optimizer} keeps no group value `{name}`")]
    UnknownGroupValue {
        /// Index of the group.
        group: usize,
        /// The optimizer's name.
        optimizer: &'static str,
        /// The unknown value.
        name: String,
    },
    /// A state (tensor or scalar) the optimizer does not have.
    #[error("parameter {param}: {optimizer} has no state `{name}`")]
    UnknownState {
        /// Global index of the parameter.
        param: usize,
        /// The optimizer's name.
        optimizer: &'static str,
        /// The unknown state.
        name: String,
    },
    /// A state every stepped parameter has is absent.
    #[error("parameter {param}: state `{name}` is missing")]
    MissingState {
        /// Global index of the parameter.
        param: usize,
        /// The missing state.
        name: &'static str,
    },
    /// A state whose presence depends on the parameter's shape alone (AdaFactor's full
    /// `exp_avg_sq`, kept for vectors only) saved for a parameter of a shape that has none.
    #[error("parameter {param}: state `{name}` does not exist for a parameter of shape {shape:?}")]
    StateForShape {
        /// Global index of the parameter.
        param: usize,
        /// The state's name.
        name: &'static str,
        /// The parameter's shape.
        shape: Vec<usize>,
    },
    /// A step count too large to keep counting: kernels see the step as an `f64`, exact up to
    /// 2^53, and the next step must not overflow.
    #[error("{} step count {found} is out of range (at most 2^53)", match param {
        Some(param) => format!("parameter {param}:"),
        None => "the optimizer's".to_owned(),
    })]
    StepCount {
        /// Global index of the parameter, or `None` for the optimizer's own count.
        param: Option<usize>,
        /// The step count.
        found: u64,
    },
    /// A state tensor shaped unlike its parameter.
    #[error("parameter {param}: state `{name}` has shape {found:?}, the parameter has shape {expected:?}")]
    StateShape {
        /// Global index of the parameter.
        param: usize,
        /// The state's name.
        name: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The state tensor's shape.
        found: Vec<usize>,
    },
}

/// How a checkpoint file is malformed, in [`CheckpointError::Corrupt`]: what a caller may act on
/// (a truncated file may be a copy still in progress; the others are damage).
///
/// ```
/// use optim_core::{builtins::Sgd, CheckpointError, CorruptKind, OptimError, Optimizer, Param};
/// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
/// let mut opt = Optimizer::<Sgd, f32>::new(vec![p], Sgd::hyper()).unwrap();
/// let mut bytes = opt.to_bytes().unwrap();
/// let cut = opt.load_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
/// assert!(matches!(cut, OptimError::Checkpoint(CheckpointError::Corrupt { kind: CorruptKind::Truncated, .. })));
/// bytes.push(0);
/// let long = opt.load_bytes(&bytes).unwrap_err();
/// assert!(matches!(long, OptimError::Checkpoint(CheckpointError::Corrupt { kind: CorruptKind::TrailingBytes, .. })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CorruptKind {
    /// The file ends before what its header declares (the length prefix, the header or the
    /// tensor data cut short).
    Truncated,
    /// Bytes after the end the header declares.
    TrailingBytes,
    /// A header length beyond the format's limit (100 MB).
    HeaderTooLarge,
    /// A header that is not UTF-8 JSON of the format's structure: a wrong type, a duplicate
    /// key, an unknown field.
    Header,
    /// Tensor offsets, shapes and dtypes that do not add up: outside the data, overlapping,
    /// leaving gaps, or a byte count that does not fit the shape.
    Layout,
}

impl core::fmt::Display for CorruptKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CorruptKind::Truncated => "truncated",
            CorruptKind::TrailingBytes => "trailing bytes",
            CorruptKind::HeaderTooLarge => "header too large",
            CorruptKind::Header => "malformed header",
            CorruptKind::Layout => "tensor layout",
        })
    }
}

impl From<CheckpointError> for OptimError {
    fn from(error: CheckpointError) -> Self {
        OptimError::Checkpoint(error)
    }
}
