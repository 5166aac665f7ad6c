//! Checkpoints of a [`Bf16Optimizer`]: the same [`StateDict`] and file as an
//! [`Optimizer`](crate::Optimizer)'s.
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
use crate::checkpoint::restore::{check_group_values, check_kind, match_params, resolve_hyper, restore};
use crate::{CheckpointError, Element, HyperSet, OptimError, Rule, StateDict};

impl<R: Rule> Bf16Optimizer<R> {
    /// A copy of the optimizer's state, as [`Optimizer::state_dict`](crate::Optimizer::state_dict)
    /// gives it: every param group's hyperparameters and parameter indices (numbered across
    /// groups), and the step count, scalar states and state tensors of every parameter that has
    /// taken a step. Parameter values are not included (they belong to the model).
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
        let mut param_groups = Vec::with_capacity(self.groups.len());
        let mut first = 0;
        for group in &self.groups {
            let mut dict = GroupDict::new((first..first + group.len).collect());
            let hyper = &group.hyper;
            dict.hyper = hyper.names().iter().filter_map(|&name| Some((name.to_owned(), hyper.get(name)?))).collect();
            param_groups.push(dict);
            first += group.len;
        }
        let state: BTreeMap<_, _> = (self.states.iter().zip(&self.at).enumerate())
            .filter_map(|(index, (slot, &(g, _)))| {
                Some((index, capture::<R, f32>(slot.as_ref()?, &self.groups[g].hyper)))
            })
            .collect();
        StateDict {
            optimizer: R::NAME.to_owned(),
            dtype: f32::DTYPE.to_owned(),
            steps_taken: self.steps_taken,
            state,
            param_groups,
        }
    }

    /// Replaces the optimizer's hyperparameters, states and step count with `sd`'s, checking
    /// everything [`Optimizer::load_state_dict`](crate::Optimizer::load_state_dict) checks
    /// first (the rule, the dtype, as many groups of as many parameters, every hyperparameter,
    /// every state's name and shape against the parameter's): on error nothing changes.
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
        check_kind::<R, f32>(sd)?;
        let slots = match_params(self.group_sizes(), &sd.param_groups)?;
        let mut hypers = Vec::with_capacity(self.groups.len());
        for (g, dict) in sd.param_groups.iter().enumerate() {
            let hyper = resolve_hyper::<R>(&self.defaults, g, dict)?;
            check_group_values::<R>(g, dict)?;
            check_passes::<R>(&hyper, None, &[1], &mut self.scratch)
                .map_err(|error| CheckpointError::Hyper { group: g, error: Box::new(error) })?;
            hypers.push(hyper);
        }
        // each group's first parameter, to number a (group, position) slot across groups
        let firsts: Vec<usize> =
            self.group_sizes().scan(0, |first, len| Some(std::mem::replace(first, *first + len))).collect();
        let mut states = vec![None; self.params.len()];
        for (&index, entry) in &sd.state {
            let found = slots.get(&index).and_then(|&(group, position)| {
                let offset = firsts.get(group)? + position;
                Some((group, offset, self.params.get(offset)?))
            });
            let Some((group, offset, param)) = found else {
                return Err(CheckpointError::UnknownParam { index }.into());
            };
            let shape = param.lock().value.shape().to_vec();
            let mut restored = restore::<R, f32>(index, entry, &shape, &hypers[group])?;
            restored.convert::<R>(&self.groups[group].formats);
            states[offset] = Some(restored);
        }
        for (group, hyper) in self.groups.iter_mut().zip(hypers) {
            group.hyper = hyper;
        }
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
    /// in the same groups). Everything is validated first; on error the optimizer is exactly as it was.
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
