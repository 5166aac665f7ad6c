//! One step over candle gradients: collect, check, lend, run the fused kernels, give back.

use std::collections::HashSet;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use ndarray::{ArrayD, IxDyn};
use optim_core::{OptimError, Param, RowSparse, Rule};

use crate::element::Lendable;
use crate::lend::{Loan, Role, empty, lend};
use crate::optimizer::owned_key;
use crate::{BridgeError, CandleElement, CandleOptimizer};

/// A gradient's way into the step: its own buffer lent, a copy when it cannot be lent, or rows
/// the step's closure sets on the handle.
pub(crate) enum Grad<'g, T> {
    Lent(&'g Tensor),
    Copied(ArrayD<T>),
    Sparse,
}

/// Every parameter of a step with its handle, its Var and its gradient.
pub(crate) type Work<'g, T> = Vec<(Param<T>, Var, Grad<'g, T>)>;

/// Row-sparse gradients a step sets on their handles before it runs.
type SparseRows<T> = Vec<(Param<T>, RowSparse<T>)>;

impl<R: Rule, T: CandleElement> CandleOptimizer<R, T> {
    /// One step over every Var that has a gradient in `grads` (others are skipped, as PyTorch
    /// skips parameters without `.grad`).
    ///
    /// Every Var's buffer and, when it owns its storage (the normal case for candle's
    /// autograd), every gradient's buffer are lent to the fused kernels without a copy; the
    /// kernels update the Vars in place. Everything is checked before anything changes: on
    /// error the Vars, the state and the step count are as they were.
    ///
    /// The step write-locks every Var and gradient it updates, one after the other, until it
    /// ends: code on other threads that reads them meanwhile waits, and code that holds one of
    /// their locks while waiting for another (a candle op over two of these tensors, running
    /// concurrently with the step) could wait forever. Step while no other thread uses the model,
    /// as a training loop does.
    ///
    /// # Errors
    /// A gradient on another device, of another dtype or shape; invalid hyperparameters.
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Sgd;
    /// let w = Var::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<Sgd>::new(vec![w.clone()], Sgd::hyper().lr(0.5)).unwrap();
    /// let grads = w.as_tensor().sum_all().unwrap().backward().unwrap(); // gradient 1 everywhere
    /// opt.step(&grads).unwrap();
    /// assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), [0.5, 1.5]);
    /// ```
    pub fn step(&mut self, grads: &GradStore) -> Result<(), BridgeError> {
        let sparse = std::mem::take(&mut self.sparse);
        let collected = self.collect(grads, &sparse);
        let result = collected.and_then(|(work, rows)| {
            let inner = &mut self.inner;
            run_lent(work, move || {
                for (param, rows) in rows {
                    param.set_sparse_grad(rows)?;
                }
                inner.step()
            })
        });
        if result.is_err() {
            self.sparse = sparse; // still pending: the step did not happen
        }
        result
    }

    /// `loss.backward()` then [`CandleOptimizer::step`].
    ///
    /// # Errors
    /// candle's backward errors, and those of [`CandleOptimizer::step`].
    ///
    /// ```
    /// use candle_core::{Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::builtins::Sgd;
    /// let w = Var::new(&[3.0f64], &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<Sgd, f64>::new(vec![w.clone()], Sgd::hyper().lr(0.25)).unwrap();
    /// let loss = w.as_tensor().sqr().unwrap().sum_all().unwrap(); // d/dw = 2w = 6
    /// opt.backward_step(&loss).unwrap();
    /// assert_eq!(w.as_tensor().to_vec1::<f64>().unwrap(), [1.5]);
    /// ```
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<(), BridgeError> {
        let grads = loss.backward()?;
        self.step(&grads)
    }

    /// Sets a row-sparse gradient for `var`'s next step, replacing whatever dense gradient that
    /// step finds for it (candle's autograd makes dense gradients only, an embedding's
    /// included; this is for gradients a model assembles from the rows it looked up). Only the
    /// covered rows and their state change, for every rule that allows it (others refuse it at
    /// the step with [`OptimError::SparseUnsupported`]).
    ///
    /// # Errors
    /// [`BridgeError::UnknownVar`], or rows or widths that do not fit the Var.
    ///
    /// ```
    /// use candle_core::{DType, Device, Var};
    /// use optim_candle::CandleOptimizer;
    /// use optim_core::{builtins::SparseAdam, RowSparse};
    /// let table = Var::ones((4, 2), DType::F32, &Device::Cpu).unwrap();
    /// let mut opt = CandleOptimizer::<SparseAdam>::new(vec![table.clone()], SparseAdam::hyper().lr(0.5)).unwrap();
    /// let rows = RowSparse::new(vec![2], ndarray::ArrayD::ones(vec![1, 2])).unwrap();
    /// opt.set_sparse_grad(&table, rows).unwrap();
    /// opt.step(&candle_core::backprop::GradStore::default()).unwrap();
    /// let after = table.as_tensor().to_vec2::<f32>().unwrap();
    /// assert_eq!(after[0], [1.0, 1.0]);
    /// assert!(after[2].iter().all(|x| (x - 0.5).abs() < 1e-6)); // Adam's first step: lr · sign(g)
    /// ```
    pub fn set_sparse_grad(&mut self, var: &Var, grad: RowSparse<T>) -> Result<(), BridgeError> {
        let slot = self.position(var.as_tensor()).ok_or(BridgeError::UnknownVar)?;
        grad.check_fits(var.dims())?;
        self.sparse.retain(|(at, _)| *at != slot);
        self.sparse.push((slot, grad));
        Ok(())
    }

    /// Every parameter that has a gradient this step, with the checks that can fail, and the
    /// row-sparse gradients to set.
    fn collect<'g>(
        &self,
        grads: &'g GradStore,
        sparse: &[((usize, usize), RowSparse<T>)],
    ) -> Result<(Work<'g, T>, SparseRows<T>), BridgeError> {
        let (mut work, mut rows) = (Vec::new(), Vec::new());
        let mut lent = HashSet::new();
        for (g, (group, vars)) in self.inner.param_groups().iter().zip(&self.vars).enumerate() {
            for (i, (param, var)) in group.params().iter().zip(vars).enumerate() {
                let grad = if let Some(at) = sparse.iter().position(|(slot, _)| *slot == (g, i)) {
                    rows.push((param.clone(), sparse[at].1.clone()));
                    Grad::Sparse
                } else if let Some(grad) = grads.get(var.as_tensor()) {
                    dense_grad((g, i), var, grad, |key| self.keys.contains_key(&key), &mut lent)?
                } else {
                    continue;
                };
                work.push((param.clone(), var.clone(), grad));
            }
        }
        Ok((work, rows))
    }
}

/// Var `var`'s gradient `grad` (at `(group, index)`), checked (on the CPU, of `T`, of the Var's
/// shape) and lent when it owns its storage, is no Var's (`is_var` of its storage key) and was
/// not lent already; copied otherwise.
pub(crate) fn dense_grad<'g, T: Lendable>(
    (group, index): (usize, usize),
    var: &Var,
    grad: &'g Tensor,
    is_var: impl Fn(usize) -> bool,
    lent: &mut HashSet<usize>,
) -> Result<Grad<'g, T>, BridgeError> {
    if !grad.device().is_cpu() {
        let device = format!("{:?}", grad.device().location());
        return Err(BridgeError::Device { group, index, what: "its gradient", device });
    }
    if grad.dtype() != T::DTYPE {
        let (expected, found) = (T::DTYPE, grad.dtype());
        return Err(BridgeError::DType { group, index, what: "its gradient", expected, found });
    }
    if grad.dims() != var.dims() {
        let (param, grad) = (var.dims().to_vec(), grad.dims().to_vec());
        return Err(OptimError::GradShape { group, index, param, grad }.into());
    }
    if owned_key::<T>(grad).is_some_and(|key| !is_var(key) && lent.insert(key)) {
        return Ok(Grad::Lent(grad));
    }
    let copy = grad.flatten_all()?.to_vec1::<T>()?;
    Ok(Grad::Copied(ArrayD::from_shape_vec(IxDyn(var.dims()), copy).map_err(candle_core::Error::wrap)?))
}

/// Lends every Var's buffer and every lent gradient's to the handles, puts copied gradients in
/// place, runs `step` with all of them held, and clears the gradients the handles kept.
pub(crate) fn run_lent<T: Lendable>(
    mut work: Work<'_, T>,
    step: impl FnOnce() -> Result<(), OptimError> + Send,
) -> Result<(), BridgeError> {
    for (param, _, grad) in &mut work {
        if let Grad::Copied(copy) = grad {
            param.lock().grad = Some(std::mem::replace(copy, empty()));
        }
    }
    let mut loans = Vec::with_capacity(2 * work.len());
    for (param, var, grad) in &work {
        loans.push(Loan { tensor: var.as_tensor(), param, role: Role::Value });
        if let Grad::Lent(tensor) = grad {
            loans.push(Loan { tensor, param, role: Role::Grad });
        }
    }
    let stepped = lend(&loans, step);
    for (param, _, grad) in &work {
        if !matches!(grad, Grad::Lent(_)) {
            let mut data = param.lock(); // a lent gradient went back with its buffer
            data.grad = None;
            data.sparse_grad = None;
        }
    }
    Ok(stepped??)
}
