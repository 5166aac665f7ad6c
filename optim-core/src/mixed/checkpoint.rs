//! Checkpoints of a [`Bf16Optimizer`]: the same [`StateDict`] and file as an
//! [`Optimizer`](crate::Optimizer)'s, with one param group.
//!
//! The states are `f32` (or packed codes and scales), so the file's dtype is `float32`: a
//! checkpoint of a `Bf16Optimizer` loads into an `Optimizer<R, f32>` over float32 master weights
//! of the same shapes, and the other way round. The rounding ([`Bf16Rounding`](super::Bf16Rounding))
//! and the state formats are how the optimizer is built, not state, and are not saved (a state
//! saved in another format than the optimizer's is converted on load, as for `Optimizer`).

use std::collections::BTreeMap;
use std::path::Path;

use super::Bf16Optimizer;
use super::optimizer::check_passes;
use crate::checkpoint::GroupDict;
use crate::checkpoint::capture::capture;
use crate::checkpoint::restore::{check_group_values, check_step, resolve_hyper, restore};
use crate::{CheckpointError, Element, HyperSet, OptimError, Rule, StateDict};

impl<R: Rule> Bf16Optimizer<R> {
    /// A copy of the optimizer's state, as [`Optimizer::state_dict`](crate::Optimizer::state_dict)
    /// gives it: one param group (its hyperparameters, parameters `0..n`), and the step count,
    /// scalar states and state tensors of every parameter that has taken a step. Parameter
    /// values are not included (they belong to the model).
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Bf16Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<Adam>::new(vec![p.clone()], Adam::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::ArrayD::from_elem(vec![2], half::bf16::from_f32(0.5)));
    /// opt.step().unwrap();
    /// let sd = opt.state_dict();
    /// assert_eq!((sd.optimizer.as_str(), sd.dtype.as_str(), sd.steps_taken), ("Adam", "float32", 1));
    /// assert_eq!(sd.state[&0].tensors["exp_avg"][[0]], 0.05);
    /// ```
    pub fn state_dict(&self) -> StateDict<f32> {
        let mut group = GroupDict::new((0..self.params.len()).collect());
        group.hyper =
            self.hyper.names().iter().filter_map(|&name| Some((name.to_owned(), self.hyper.get(name)?))).collect();
        let state: BTreeMap<_, _> = (self.states.iter().enumerate())
            .filter_map(|(index, slot)| Some((index, capture::<R, f32>(slot.as_ref()?, &self.hyper))))
            .collect();
        StateDict {
            optimizer: R::NAME.to_owned(),
            dtype: f32::DTYPE.to_owned(),
            steps_taken: self.steps_taken,
            state,
            param_groups: vec![group],
        }
    }

    /// Replaces the optimizer's hyperparameters, states and step count with `sd`'s, checking
    /// everything [`Optimizer::load_state_dict`](crate::Optimizer::load_state_dict) checks
    /// first (the rule, the dtype, one group of as many parameters, every hyperparameter, every
    /// state's name and shape against the parameter's): on error nothing changes.
    ///
    /// ```
    /// use optim_core::{builtins::{Adam, Sgd}, Bf16Optimizer, CheckpointError, OptimError, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<Adam>::new(vec![p.clone()], Adam::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::ArrayD::from_elem(vec![2], half::bf16::from_f32(0.5)));
    /// opt.step().unwrap();
    ///
    /// let mut resumed = Bf16Optimizer::<Adam>::new(vec![Param::new(p.value())], Adam::hyper()).unwrap();
    /// resumed.load_state_dict(&opt.state_dict()).unwrap();
    /// assert_eq!(resumed.state_dict(), opt.state_dict());
    ///
    /// let mut sgd = Bf16Optimizer::<Sgd>::new(vec![p], Sgd::hyper()).unwrap();
    /// let err = sgd.load_state_dict(&opt.state_dict()).unwrap_err();
    /// assert!(matches!(err, OptimError::Checkpoint(CheckpointError::WrongOptimizer { .. })));
    /// ```
    pub fn load_state_dict(&mut self, sd: &StateDict<f32>) -> Result<(), OptimError> {
        if sd.optimizer != R::NAME {
            return Err(CheckpointError::WrongOptimizer { expected: R::NAME, found: sd.optimizer.clone() }.into());
        }
        if sd.dtype != f32::DTYPE {
            return Err(CheckpointError::WrongDtype { expected: f32::DTYPE, found: sd.dtype.clone() }.into());
        }
        check_step(None, sd.steps_taken)?;
        let [dict] = sd.param_groups.as_slice() else {
            return Err(CheckpointError::GroupCount { expected: 1, found: sd.param_groups.len() }.into());
        };
        let count = self.params.len();
        if dict.params.len() != count {
            return Err(CheckpointError::ParamCount { group: 0, expected: count, found: dict.params.len() }.into());
        }
        let mut slots = BTreeMap::new();
        for (offset, &index) in dict.params.iter().enumerate() {
            if slots.insert(index, offset).is_some() {
                return Err(CheckpointError::DuplicateParam { index }.into());
            }
        }
        let hyper = resolve_hyper::<R>(&self.hyper, 0, dict)?;
        check_group_values::<R>(0, dict)?;
        check_passes::<R>(&hyper, None, &[1], &mut self.scratch)
            .map_err(|error| CheckpointError::Hyper { group: 0, error: Box::new(error) })?;
        let mut states = vec![None; count];
        for (&index, entry) in &sd.state {
            let found = slots.get(&index).and_then(|&offset| Some((offset, self.params.get(offset)?)));
            let Some((offset, param)) = found else { return Err(CheckpointError::UnknownParam { index }.into()) };
            let shape = param.lock().value.shape().to_vec();
            let mut restored = restore::<R, f32>(index, entry, &shape, &hyper)?;
            restored.convert::<R>(&self.formats);
            states[offset] = Some(restored);
        }
        self.hyper = hyper;
        self.states = states;
        self.steps_taken = sd.steps_taken;
        Ok(())
    }

    /// The optimizer's [`state_dict`](Bf16Optimizer::state_dict) as the bytes of a checkpoint
    /// file ([the format](crate::checkpoint#the-file-format)).
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Bf16Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let opt = Bf16Optimizer::<Adam>::new(vec![p.clone()], Adam::hyper().lr(0.5)).unwrap();
    /// let mut other = Bf16Optimizer::<Adam>::new(vec![p], Adam::hyper()).unwrap();
    /// other.load_bytes(&opt.to_bytes().unwrap()).unwrap();
    /// assert_eq!(other.hyper().lr, 0.5);
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>, OptimError> {
        self.state_dict().to_bytes()
    }

    /// Loads a checkpoint from the bytes of a file: [`StateDict::from_bytes`], then
    /// [`Bf16Optimizer::load_state_dict`]. On error the optimizer is exactly as it was.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Bf16Optimizer, OptimError, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<Adam>::new(vec![p], Adam::hyper()).unwrap();
    /// let mut bytes = opt.to_bytes().unwrap();
    /// let last = bytes.len() - 1;
    /// bytes[last] ^= 1;
    /// assert!(matches!(opt.load_bytes(&bytes), Err(OptimError::Checkpoint(_))));
    /// ```
    pub fn load_bytes(&mut self, bytes: &[u8]) -> Result<(), OptimError> {
        self.load_state_dict(&StateDict::from_bytes(bytes)?)
    }

    /// Saves the optimizer's state to a checkpoint file at `path`, as [`StateDict::save`].
    ///
    /// ```
    /// use optim_core::{builtins::AdamW, Bf16Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<AdamW>::new(vec![p.clone()], AdamW::hyper()).unwrap();
    /// p.set_grad(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// opt.step().unwrap();
    /// let path = std::env::temp_dir().join(format!("optim-doc-bf16-save-{}.safetensors", std::process::id()));
    /// opt.save(&path).unwrap();
    /// let mut resumed = Bf16Optimizer::<AdamW>::new(vec![Param::new(p.value())], AdamW::hyper()).unwrap();
    /// resumed.load(&path).unwrap();
    /// assert_eq!(resumed.state_dict(), opt.state_dict());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), OptimError> {
        self.state_dict().save(path)
    }

    /// Loads a checkpoint file written by [`Bf16Optimizer::save`] (or by an
    /// [`Optimizer`](crate::Optimizer) of the same rule over `f32` parameters of the same shapes
    /// in one group). Everything is validated first; on error the optimizer is exactly as it was.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Bf16Optimizer, CheckpointError, OptimError, Param};
    /// let p = Param::new(ndarray::ArrayD::from_elem(vec![2], half::bf16::ONE));
    /// let mut opt = Bf16Optimizer::<Adam>::new(vec![p], Adam::hyper()).unwrap();
    /// let err = opt.load("/nonexistent/checkpoint.safetensors").unwrap_err();
    /// assert!(matches!(err, OptimError::Checkpoint(CheckpointError::Io { .. })));
    /// ```
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<(), OptimError> {
        self.load_state_dict(&StateDict::load(path)?)
    }
}
