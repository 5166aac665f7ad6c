//! Checkpoints of a [`CandleOptimizer`]: PyTorch-structured state dicts and safetensors files,
//! the same format as [`optim_core::Optimizer`]'s (a checkpoint moves between the two).

use std::path::Path;

use candle_core::Var;
use optim_core::{OptimError, Optimizer, Param, Rule, StateDict};

use crate::element::Lendable;
use crate::lend::{Loan, Role, lend};
use crate::{BridgeError, CandleElement, CandleOptimizer};

impl<R: Rule, T: CandleElement> CandleOptimizer<R, T> {
    /// The optimizer's state, as PyTorch's `optimizer.state_dict()` (the Vars themselves are the
    /// model's: save them with candle, e.g. `VarMap::save`).
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Adam;
    /// let w = Var::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<Adam>::new(vec![w.clone()], Adam::hyper()).unwrap();
    /// opt.backward_step(&w.as_tensor().sum_all().unwrap()).unwrap();
    /// let sd = opt.state_dict();
    /// assert_eq!(sd.state[&0].step, 1);
    /// assert!(sd.state[&0].tensors.contains_key("exp_avg_sq"));
    /// ```
    pub fn state_dict(&self) -> StateDict<T> {
        self.inner.state_dict()
    }

    /// Replaces the state with `sd` after checking all of it against the Vars; on error
    /// nothing changes.
    ///
    /// # Errors
    /// Everything [`optim_core::Optimizer::load_state_dict`] refuses.
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Adam;
    /// let w = Var::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<Adam>::new(vec![w.clone()], Adam::hyper()).unwrap();
    /// opt.backward_step(&w.as_tensor().sum_all().unwrap()).unwrap();
    /// let mut fresh = CandleOptimizer::<Adam>::new(vec![w.clone()], Adam::hyper()).unwrap();
    /// fresh.load_state_dict(&opt.state_dict()).unwrap();
    /// assert_eq!(fresh.state_dict(), opt.state_dict());
    /// let other = Var::new(&[1.0f32, 2.0, 3.0], &Device::Cpu).unwrap();
    /// let mut wrong = CandleOptimizer::<Adam>::new(vec![other], Adam::hyper()).unwrap();
    /// assert!(wrong.load_state_dict(&opt.state_dict()).is_err()); // shape [2] vs [3]
    /// ```
    pub fn load_state_dict(&mut self, sd: &StateDict<T>) -> Result<(), BridgeError> {
        self.with_values(|inner| inner.load_state_dict(sd))
    }

    /// Saves the state as a safetensors file (see [`optim_core::Optimizer::save`]).
    ///
    /// # Errors
    /// I/O errors, as [`optim_core::OptimError`].
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::AdamW;
    /// let w = Var::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<AdamW>::new(vec![w.clone()], AdamW::hyper()).unwrap();
    /// opt.backward_step(&w.as_tensor().sum_all().unwrap()).unwrap();
    /// let path = std::env::temp_dir().join("optim-candle-doc-save.safetensors");
    /// opt.save(&path).unwrap();
    /// let mut resumed = CandleOptimizer::<AdamW>::new(vec![w], AdamW::hyper()).unwrap();
    /// resumed.load(&path).unwrap();
    /// assert_eq!(resumed.state_dict(), opt.state_dict());
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), BridgeError> {
        Ok(self.inner.save(path)?)
    }

    /// Loads a file written by [`CandleOptimizer::save`] (or by [`optim_core::Optimizer::save`]);
    /// on error nothing changes.
    ///
    /// # Errors
    /// I/O errors, a corrupt file, or a state that does not fit these Vars.
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::AdamW;
    /// let w = Var::new(&[1.0f32], &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<AdamW>::new(vec![w], AdamW::hyper()).unwrap();
    /// assert!(opt.load(std::env::temp_dir().join("optim-candle-no-such-file")).is_err());
    /// ```
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<(), BridgeError> {
        let path = path.as_ref();
        self.with_values(|inner| inner.load(path))
    }

    /// Runs `f` with every Var's buffer lent to its parameter handle (loading checks the
    /// saved state's shapes against the parameters').
    pub(crate) fn with_values(
        &mut self,
        f: impl FnOnce(&mut Optimizer<R, T>) -> Result<(), OptimError> + Send,
    ) -> Result<(), BridgeError> {
        let params: Vec<Param<T>> = self.inner.param_groups().iter().flat_map(|g| g.params().iter().cloned()).collect();
        let inner = &mut self.inner;
        lend_values(self.vars.iter().flatten(), &params, move || f(inner))
    }
}

/// Runs `step` with each Var's buffer lent to its parameter handle (in order), and gives them back.
pub(crate) fn lend_values<'v, T: Lendable>(
    vars: impl Iterator<Item = &'v Var>,
    params: &[Param<T>],
    step: impl FnOnce() -> Result<(), OptimError> + Send,
) -> Result<(), BridgeError> {
    let loans: Vec<_> =
        vars.zip(params).map(|(var, param)| Loan { tensor: var.as_tensor(), param, role: Role::Value }).collect();
    Ok(lend(&loans, step)??)
}
