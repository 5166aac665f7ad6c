//! `StateDict::to_bytes`: a checkpoint as a safetensors file.

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::{Dtype, View};

use super::checksum::{TensorBytes, checksum};
use super::decode::{CODES, SCALES};
use super::metadata::{FORMAT, groups_to_json, key, state_to_json};
use super::{CheckpointError, StateDict, elements};
use crate::{Element, OptimError};

/// A state tensor ready to be written.
struct Stored {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Stored {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

impl<T: Element> StateDict<T> {
    /// The checkpoint as the bytes of a safetensors file (see [the format](super#the-file-format)).
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Optimizer, Param, StateDict};
    /// let p = Param::new(ndarray::arr1(&[1.0f64, 2.0]).into_dyn());
    /// let mut opt = Optimizer::<Adam, f64>::new(vec![p.clone()], Adam::hyper()).unwrap();
    /// p.set_grad(ndarray::arr1(&[0.5, -0.5]).into_dyn());
    /// opt.step().unwrap();
    /// let sd = opt.state_dict();
    /// let bytes = sd.to_bytes().unwrap();
    /// assert_eq!(StateDict::<f64>::from_bytes(&bytes).unwrap(), sd);
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>, OptimError> {
        Ok(encode(self)?)
    }
}

fn encode<T: Element>(sd: &StateDict<T>) -> Result<Vec<u8>, CheckpointError> {
    let dtype = elements::dtype_of::<T>()?;
    let mut tensors = Vec::new();
    for (index, entry) in &sd.state {
        for (name, array) in &entry.tensors {
            let stored = Stored { dtype, shape: array.shape().to_vec(), data: elements::to_bytes(array)? };
            tensors.push((format!("state.{index}.{name}"), stored));
        }
        for (name, packed) in &entry.packed {
            let codes = Stored { dtype: Dtype::U8, shape: vec![packed.codes.len()], data: packed.codes.clone() };
            let scales: Vec<u8> = packed.scales.iter().flat_map(|s| s.to_le_bytes()).collect();
            let scales = Stored { dtype: Dtype::F32, shape: vec![packed.scales.len()], data: scales };
            tensors.push((format!("state.{index}.{name}.{CODES}"), codes));
            tensors.push((format!("state.{index}.{name}.{SCALES}"), scales));
        }
    }
    let mut metadata = HashMap::from([
        (key::FORMAT.to_owned(), FORMAT.to_owned()),
        (key::OPTIMIZER.to_owned(), sd.optimizer.clone()),
        (key::DTYPE.to_owned(), sd.dtype.clone()),
        (key::STEPS_TAKEN.to_owned(), sd.steps_taken.to_string()),
        (key::PARAM_GROUPS.to_owned(), groups_to_json(&sd.param_groups)?),
        (key::STATE.to_owned(), state_to_json(&sd.state)?),
    ]);
    let crc = checksum(
        metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        key::CHECKSUM,
        tensors.iter().map(|(name, t)| TensorBytes { name, dtype: t.dtype, shape: &t.shape, data: &t.data }),
    );
    metadata.insert(key::CHECKSUM.to_owned(), format!("{crc:08x}"));
    let views = tensors.iter().map(|(name, stored)| (name.as_str(), stored));
    safetensors::serialize(views, Some(metadata)).map_err(|e| CheckpointError::Encode { reason: e.to_string() })
}
