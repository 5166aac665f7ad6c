//! Shared parameter handles: the model and the optimizer see the same arrays.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use ndarray::ArrayD;

use crate::{Element, OptimError, RowSparse};

/// A parameter's value and its optional gradient.
///
/// ```
/// use optim_core::Param;
/// let p = Param::new(ndarray::arr1(&[1.0f64, 2.0]).into_dyn());
/// let mut data = p.lock();
/// data.grad = Some(ndarray::arr1(&[0.5, 0.5]).into_dyn());
/// assert_eq!(data.value.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ParamData<T> {
    /// The parameter tensor.
    pub value: ArrayD<T>,
    /// The gradient, absent until the model sets one (and after `zero_grad`).
    pub grad: Option<ArrayD<T>>,
    /// A row-sparse gradient instead of `grad` (see [`Param::set_sparse_grad`]).
    pub sparse_grad: Option<RowSparse<T>>,
}

/// A shared handle to a trainable tensor, PyTorch's `nn.Parameter`.
///
/// Cloning the handle shares the tensor, so a model keeps one clone and the optimizer another.
///
/// ```
/// use optim_core::Param;
/// let w = Param::new(ndarray::ArrayD::<f32>::zeros(vec![2, 3]));
/// let seen_by_optimizer = w.clone();
/// w.set_grad(ndarray::ArrayD::ones(vec![2, 3]));
/// assert!(seen_by_optimizer.lock().grad.is_some());
/// assert!(w.same_as(&seen_by_optimizer));
/// ```
#[derive(Debug, Clone)]
pub struct Param<T>(Arc<Shared<T>>);

/// What the handles share: the data, and whether an optimizer step holds it (its data then
/// sits in the optimizer's staging copy, and [`Param::lock`] waits until the step gives it back).
#[derive(Debug)]
struct Shared<T> {
    data: Mutex<ParamData<T>>,
    in_step: AtomicBool,
    released: Condvar,
    /// Lockers waiting for a step to give the parameter back, counted under the data lock: a
    /// step wakes them only when there are some (a condvar's wake is a system call).
    waiters: AtomicUsize,
}

impl<T> Param<T> {
    /// Wraps a tensor as a parameter without a gradient.
    ///
    /// ```
    /// let p = optim_core::Param::new(ndarray::arr1(&[0.0f32]).into_dyn());
    /// assert!(p.lock().grad.is_none());
    /// ```
    pub fn new(value: ArrayD<T>) -> Self {
        let data = Mutex::new(ParamData { value, grad: None, sparse_grad: None });
        let (in_step, released, waiters) = (AtomicBool::new(false), Condvar::new(), AtomicUsize::new(0));
        Param(Arc::new(Shared { data, in_step, released, waiters }))
    }

    /// Locks the parameter for reading or writing its value and gradient.
    ///
    /// Never panics: a lock poisoned by a panic elsewhere is recovered, because every writer in
    /// this crate leaves the data consistent. While an optimizer step is updating the parameter
    /// it waits for the step to finish, so it sees the parameter before or after a step, never
    /// in between.
    ///
    /// ```
    /// let p = optim_core::Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// p.lock().value[0] = 2.0;
    /// assert_eq!(p.lock().value[0], 2.0);
    /// ```
    pub fn lock(&self) -> MutexGuard<'_, ParamData<T>> {
        let guard = self.lock_raw();
        if !self.0.in_step.load(Ordering::Acquire) {
            return guard;
        }
        self.0.waiters.fetch_add(1, Ordering::SeqCst);
        let wait = self.0.released.wait_while(guard, |_| self.0.in_step.load(Ordering::Acquire));
        let guard = wait.unwrap_or_else(|poisoned| poisoned.into_inner());
        self.0.waiters.fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// The data lock, whether or not a step holds the parameter.
    fn lock_raw(&self) -> MutexGuard<'_, ParamData<T>> {
        self.0.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Under one lock: runs `check` on the data and, if it passes, moves the data into `stage`
    /// and marks the parameter held by a step, so nobody else sees or changes it until
    /// [`Param::give_back`].
    pub(crate) fn take_for_step<E>(
        &self,
        stage: &Param<T>,
        check: impl FnOnce(&ParamData<T>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut data = self.lock();
        check(&data)?;
        core::mem::swap(&mut *data, &mut *stage.lock_raw());
        self.0.in_step.store(true, Ordering::Release);
        Ok(())
    }

    /// Ends what [`Param::take_for_step`] began: the data comes back from `stage` and waiting
    /// lockers wake up.
    pub(crate) fn give_back(&self, stage: &Param<T>) {
        let mut data = self.lock_raw();
        core::mem::swap(&mut *data, &mut *stage.lock_raw());
        self.0.in_step.store(false, Ordering::Release);
        // read under the data lock, which every waiter held when it counted itself
        let waiting = self.0.waiters.load(Ordering::SeqCst) > 0;
        drop(data);
        if waiting {
            self.0.released.notify_all();
        }
    }

    /// An address that orders handles: steps take their parameters in this order, so two
    /// optimizers sharing parameters cannot wait on each other.
    pub(crate) fn address(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// Sets the gradient (PyTorch: `p.grad = g`).
    ///
    /// ```
    /// let p = optim_core::Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// p.set_grad(ndarray::arr1(&[0.1f32]).into_dyn());
    /// assert_eq!(p.lock().grad.as_ref().unwrap()[0], 0.1);
    /// ```
    pub fn set_grad(&self, grad: ArrayD<T>) {
        let mut data = self.lock();
        data.grad = Some(grad);
        data.sparse_grad = None;
    }

    /// Whether two handles share one tensor.
    ///
    /// ```
    /// let a = optim_core::Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let b = optim_core::Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// assert!(a.same_as(&a.clone()) && !a.same_as(&b));
    /// ```
    pub fn same_as(&self, other: &Param<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T: Element> Param<T> {
    /// Sets a row-sparse gradient (replacing any dense one), after checking that it fits.
    ///
    /// ```
    /// use optim_core::{Param, RowSparse};
    /// let table = Param::new(ndarray::ArrayD::<f32>::zeros(vec![100, 8]));
    /// let rows = RowSparse::new(vec![3, 42], ndarray::ArrayD::ones(vec![2, 8])).unwrap();
    /// table.set_sparse_grad(rows).unwrap();
    /// let too_far = RowSparse::new(vec![100], ndarray::ArrayD::ones(vec![1, 8])).unwrap();
    /// assert!(table.set_sparse_grad(too_far).is_err());
    /// ```
    pub fn set_sparse_grad(&self, grad: RowSparse<T>) -> Result<(), OptimError> {
        let mut data = self.lock();
        grad.check_fits(data.value.shape())?;
        data.sparse_grad = Some(grad);
        data.grad = None;
        Ok(())
    }
}

impl<T: Clone> Param<T> {
    /// A copy of the current value.
    ///
    /// ```
    /// let p = optim_core::Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// assert_eq!(p.value()[0], 1.0);
    /// ```
    pub fn value(&self) -> ArrayD<T> {
        self.lock().value.clone()
    }
}
