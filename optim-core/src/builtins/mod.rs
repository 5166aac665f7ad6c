//! The built-in optimizers, each one `optimizer!` spec with PyTorch's names, defaults, state
//! keys and semantics.

mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod adamw;
mod asgd;
mod nadam;
mod radam;
mod rmsprop;
mod rprop;
mod sgd;
mod sparse_adam;

pub use adadelta::{Adadelta, AdadeltaHyper};
pub use adagrad::{Adagrad, AdagradHyper};
pub use adam::{Adam, AdamHyper};
pub use adamax::{Adamax, AdamaxHyper};
pub use adamw::{AdamW, AdamWHyper};
pub use asgd::{Asgd, AsgdHyper};
pub use nadam::{NAdam, NAdamHyper};
pub use radam::{RAdam, RAdamHyper};
pub use rmsprop::{RmsProp, RmsPropHyper};
pub use rprop::{Rprop, RpropHyper};
pub use sgd::{Sgd, SgdHyper};
pub use sparse_adam::{SparseAdam, SparseAdamHyper};

/// SGD with momentum under its own name: the same rule as [`Sgd`]; set `momentum` to use it.
///
/// ```
/// use optim_core::builtins::{Momentum, Sgd};
/// let hyper = Momentum::hyper().lr(0.01).momentum(0.9);
/// assert_eq!(hyper, Sgd::hyper().lr(0.01).momentum(0.9));
/// ```
pub type Momentum = Sgd;
