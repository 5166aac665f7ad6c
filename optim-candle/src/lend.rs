//! Lending candle buffers to the optimizer without copying them.
//!
//! candle offers no `&mut [T]` into a Var outside a callback: [`Tensor::inplace_op1`] runs an
//! [`InplaceOp1`] with the tensor's storage write-locked and mutably borrowed. Inside that
//! callback the bridge moves the storage's `Vec` into the parameter handle the optimizer owns
//! (an `ndarray` built on the same allocation, so no element is copied), and a guard moves it
//! back when the callback ends, by return or by unwinding. To have every tensor of a step
//! available at once, each callback lends the next tensor before running the step in the
//! innermost one: all locks are held throughout, so no other thread can see a storage while
//! its buffer is away.

use std::cell::RefCell;
use std::mem;
use std::sync::OnceLock;

use candle_core::{CpuStorage, InplaceOp1, Layout, Tensor};
use ndarray::{ArrayD, IxDyn};
use optim_core::Param;

use crate::element::Lendable;

/// Where a lent buffer goes in its parameter handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The parameter's value.
    Value,
    /// Its dense gradient.
    Grad,
}

/// One buffer to lend: the tensor that owns it and the handle that borrows it.
pub(crate) struct Loan<'a, T> {
    pub(crate) tensor: &'a Tensor,
    pub(crate) param: &'a Param<T>,
    pub(crate) role: Role,
}

/// Stack one loan's nested callbacks take, measured with a margin: about 0.8 KB in a release
/// build, 4 KB in a debug one.
const LOAN_FRAME: usize = if cfg!(debug_assertions) { 4 * 1024 } else { 1024 };
/// Up to this many loans the callbacks nest on the caller's stack: 256 KB of it, an eighth of
/// what a Rust thread gets (256 loans in release builds, 64 in debug ones). Handing the step to
/// the pool below costs two thread wake-ups, measurable on a model of 50 tensors.
const NEST_ON_CALLER: usize = (256 * 1024) / LOAN_FRAME;
/// Stack of the threads that nest more: virtual memory, committed only where the nesting
/// reaches, and kept committed for the next step (a fresh thread per step would fault its
/// stack in again each time).
const DEEP_STACK: usize = 256 << 20;
/// Stack bytes allowed per loan on those threads.
const STACK_PER_LOAN: usize = 4 * LOAN_FRAME;

/// Threads with deep stacks, as many as rayon's global pool has, so that the step inside runs
/// its parallel region on them with the same parallelism.
fn deep_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .stack_size(DEEP_STACK)
            .thread_name(|i| format!("optim-candle-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Runs `f` with every loan's buffer moved into its parameter handle, then moves them back.
///
/// The storages must be CPU storages of `T`, contiguous from offset 0 and exactly as long as the
/// tensor (the caller checked; a storage that is not is an error before `f` runs), and pairwise
/// distinct (otherwise the second lock of one storage would deadlock).
pub(crate) fn lend<T: Lendable, Out: Send>(
    loans: &[Loan<'_, T>],
    f: impl FnOnce() -> Out + Send,
) -> candle_core::Result<Out> {
    let stack = (1 << 20) + loans.len() * STACK_PER_LOAN;
    if loans.len() <= NEST_ON_CALLER {
        return lend_here(loans, f);
    }
    if stack <= DEEP_STACK
        && let Some(pool) = deep_pool()
    {
        return pool.install(|| lend_here(loans, f));
    }
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("optim-candle-step".into())
            .stack_size(stack)
            .spawn_scoped(scope, || lend_here(loans, f))
            .map_err(candle_core::Error::wrap)?;
        worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn lend_here<T: Lendable, Out>(loans: &[Loan<'_, T>], f: impl FnOnce() -> Out) -> candle_core::Result<Out> {
    let mut f = Some(f);
    let mut out = None;
    let mut run = || {
        if let Some(f) = f.take() {
            out = Some(f());
        }
    };
    nest(loans, &mut run)?;
    out.ok_or_else(|| candle_core::Error::msg("optim-candle: a lent tensor's callback did not run"))
}

fn nest<T: Lendable>(loans: &[Loan<'_, T>], run: &mut dyn FnMut()) -> candle_core::Result<()> {
    let Some((loan, rest)) = loans.split_first() else {
        run();
        return Ok(());
    };
    loan.tensor.inplace_op1(&Lend { loan, rest, run: RefCell::new(run) })
}

/// The callback that lends one storage and nests the rest.
struct Lend<'l, 'a, 'r, T> {
    loan: &'l Loan<'a, T>,
    rest: &'l [Loan<'a, T>],
    run: RefCell<&'r mut dyn FnMut()>,
}

impl<T: Lendable> InplaceOp1 for Lend<'_, '_, '_, T> {
    fn name(&self) -> &'static str {
        "optim-lend"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let len = layout.shape().elem_count();
        let Some(buffer) = T::buffer_of(storage) else {
            return Err(candle_core::Error::msg("optim-candle: the storage's dtype changed"));
        };
        if !layout.is_contiguous() || layout.start_offset() != 0 || buffer.len() != len {
            return Err(candle_core::Error::msg("optim-candle: the tensor no longer owns its whole storage"));
        }
        let array =
            ArrayD::from_shape_vec(IxDyn(layout.dims()), mem::take(buffer)).map_err(candle_core::Error::wrap)?;
        {
            let mut data = self.loan.param.lock();
            match self.loan.role {
                Role::Value => data.value = array,
                Role::Grad => data.grad = Some(array),
            }
        }
        let _back = GiveBack { buffer, loan: self.loan, len };
        let mut run = self.run.borrow_mut();
        nest(self.rest, &mut **run)
    }
}

/// Moves a lent buffer back into its storage when the callback ends.
struct GiveBack<'b, 'l, 'a, T: Lendable> {
    buffer: &'b mut Vec<T>,
    loan: &'l Loan<'a, T>,
    len: usize,
}

impl<T: Lendable> Drop for GiveBack<'_, '_, '_, T> {
    fn drop(&mut self) {
        let mut data = self.loan.param.lock();
        let array = match self.loan.role {
            Role::Value => Some(mem::replace(&mut data.value, empty())),
            Role::Grad => data.grad.take(),
        };
        let back = array.map(|a| a.into_raw_vec_and_offset()).and_then(|(vec, offset)| {
            let whole = offset.unwrap_or(0) == 0 && vec.len() == self.len;
            whole.then_some(vec)
        });
        // The optimizer updates in place and never replaces a buffer; should one come back
        // changed anyway, candle must still find a buffer as long as its layout says.
        *self.buffer = back.unwrap_or_else(|| vec![T::zero(); self.len]);
    }
}

/// The placeholder a parameter handle holds while its Var keeps the data.
pub(crate) fn empty<T: Lendable>() -> ArrayD<T> {
    ArrayD::from_elem(IxDyn(&[0]), T::zero())
}
