//! Step hooks: code that runs around every `Optimizer::step`, as PyTorch's
//! `register_step_pre_hook` / `register_step_post_hook`.

use std::sync::Arc;

use crate::{Element, Optimizer, Rule};

/// A step hook: sees the optimizer, changes nothing in it.
pub type StepHook<R, T> = Arc<dyn Fn(&Optimizer<R, T>) + Send + Sync>;

/// Identifies a registered hook, to remove it later.
///
/// ```
/// use optim_core::{builtins::Sgd, Optimizer, Param};
/// let mut opt = Optimizer::<Sgd, f32>::new(vec![Param::new(ndarray::ArrayD::zeros(vec![1]))], Sgd::hyper()).unwrap();
/// let handle = opt.register_step_post_hook(|_| {});
/// assert!(opt.remove_hook(handle));
/// assert!(!opt.remove_hook(handle));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookHandle(u64);

/// The hooks of one optimizer, in registration order.
pub(crate) struct Hooks<R: Rule, T: Element> {
    next: u64,
    pre: Vec<(HookHandle, StepHook<R, T>)>,
    post: Vec<(HookHandle, StepHook<R, T>)>,
}

impl<R: Rule, T: Element> Default for Hooks<R, T> {
    fn default() -> Self {
        Hooks { next: 0, pre: Vec::new(), post: Vec::new() }
    }
}

impl<R: Rule, T: Element> Clone for Hooks<R, T> {
    fn clone(&self) -> Self {
        Hooks { next: self.next, pre: self.pre.clone(), post: self.post.clone() }
    }
}

impl<R: Rule, T: Element> core::fmt::Debug for Hooks<R, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Hooks {{ pre: {}, post: {} }}", self.pre.len(), self.post.len())
    }
}

impl<R: Rule, T: Element> Hooks<R, T> {
    fn add(&mut self, post: bool, hook: StepHook<R, T>) -> HookHandle {
        let handle = HookHandle(self.next);
        self.next += 1;
        if post { &mut self.post } else { &mut self.pre }.push((handle, hook));
        handle
    }
}

impl<R: Rule, T: Element> Optimizer<R, T> {
    /// Runs `hook` at the start of every [`Optimizer::step`], before validation (for logging,
    /// gradient statistics, ...).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use optim_core::{builtins::Sgd, Optimizer, Param};
    /// let p = Param::new(ndarray::ArrayD::<f32>::zeros(vec![2]));
    /// let mut opt = Optimizer::<Sgd, f32>::new(vec![p.clone()], Sgd::hyper()).unwrap();
    /// let calls = Arc::new(AtomicUsize::new(0));
    /// let seen = calls.clone();
    /// opt.register_step_pre_hook(move |opt| { seen.fetch_add(1 + opt.steps_taken() as usize, Ordering::Relaxed); });
    /// opt.step().unwrap();
    /// opt.step().unwrap();
    /// assert_eq!(calls.load(Ordering::Relaxed), 1 + 2);
    /// ```
    pub fn register_step_pre_hook(&mut self, hook: impl Fn(&Optimizer<R, T>) + Send + Sync + 'static) -> HookHandle {
        self.hooks.add(false, Arc::new(hook))
    }

    /// Runs `hook` after every successful [`Optimizer::step`].
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use std::sync::Arc;
    /// use optim_core::{builtins::Sgd, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    /// let mut opt = Optimizer::<Sgd, f64>::new(vec![p.clone()], Sgd::hyper().lr(0.5)).unwrap();
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let sink = log.clone();
    /// let watched = p.clone();
    /// opt.register_step_post_hook(move |_| sink.lock().unwrap().push(watched.value()[0]));
    /// p.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    /// opt.step().unwrap();
    /// assert_eq!(*log.lock().unwrap(), vec![0.5]);
    /// ```
    pub fn register_step_post_hook(&mut self, hook: impl Fn(&Optimizer<R, T>) + Send + Sync + 'static) -> HookHandle {
        self.hooks.add(true, Arc::new(hook))
    }

    /// Removes a hook; `false` when it was not registered (or already removed).
    pub fn remove_hook(&mut self, handle: HookHandle) -> bool {
        let before = self.hooks.pre.len() + self.hooks.post.len();
        self.hooks.pre.retain(|(h, _)| *h != handle);
        self.hooks.post.retain(|(h, _)| *h != handle);
        before != self.hooks.pre.len() + self.hooks.post.len()
    }

    pub(crate) fn run_hooks(&self, post: bool) {
        let hooks = if post { &self.hooks.post } else { &self.hooks.pre };
        for (_, hook) in hooks {
            hook(self);
        }
    }
}
