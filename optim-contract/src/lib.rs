//! The contract between the `optimizer!` macro and the runtime that runs what it generates.
//!
//! Every fixed size that generated code and the runtime must agree on lives here, and only
//! here: the macro refuses a spec that exceeds one (a compile error at the offending token),
//! and the runtime sizes its buffers by the same constants. A limit changed here changes both.
//!
//! ```
//! assert!(optim_contract::MAX_CONDITIONS <= optim_contract::Mask::BITS as usize);
//! ```
#![no_std]

/// Per-element state tensors one rule may declare (`state { ... }`, row and column states
/// included): the kernel walks them from fixed-size arrays of slices.
///
/// ```
/// assert_eq!(optim_contract::MAX_STATES, 16);
/// ```
pub const MAX_STATES: usize = 16;

/// Per-tensor reductions (`sum`, `mean`, `norm`, `amax`) one rule's step may contain: partial
/// results travel in fixed-size arrays through the recursive, thread-independent combination.
///
/// ```
/// assert_eq!(optim_contract::MAX_REDUCTIONS, 32);
/// ```
pub const MAX_REDUCTIONS: usize = 32;

/// The bit set of hoisted scalar conditions (a flag, `step == 1`, a presence condition) that
/// selects the element loop specialised for them; one bit per distinct condition.
///
/// ```
/// let mask: optim_contract::Mask = 1 << 63;
/// assert_eq!(mask.count_ones(), 1);
/// ```
pub type Mask = u64;

/// Distinct hoisted scalar conditions one rule may contain: the bits of a [`Mask`].
///
/// ```
/// assert_eq!(optim_contract::MAX_CONDITIONS, 64);
/// ```
pub const MAX_CONDITIONS: usize = Mask::BITS as usize;

/// Bytes in the name of one option of a choice hyperparameter (`mars_type = "adamw" | "lion"`):
/// a hyperparameter value stays `Copy` by keeping the name inline.
///
/// ```
/// assert_eq!(optim_contract::MAX_CHOICE_NAME, 31);
/// ```
pub const MAX_CHOICE_NAME: usize = 31;
