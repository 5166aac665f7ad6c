//! Checkpoints: PyTorch's `state_dict()` / `load_state_dict()`, and a file format to resume
//! training in a new process.
//!
//! [`Optimizer::state_dict`](crate::Optimizer::state_dict) copies an optimizer's state into a
//! [`StateDict`]; [`Optimizer::load_state_dict`](crate::Optimizer::load_state_dict) validates one
//! completely and only then replaces the optimizer's state with it.
//! [`Optimizer::save`](crate::Optimizer::save) and [`Optimizer::load`](crate::Optimizer::load)
//! (or [`StateDict::save`], [`StateDict::load`], and the `to_bytes` / `from_bytes` pairs) go
//! through a file.
//!
//! ```
//! use optim_core::{builtins::Adam, Optimizer, Param};
//! let w = Param::new(ndarray::arr1(&[1.0f32, -2.0]).into_dyn());
//! let mut opt = Optimizer::<Adam, f32>::new(vec![w.clone()], Adam::hyper().lr(0.1)).unwrap();
//! for _ in 0..3 {
//!     w.set_grad(w.value().mapv(|x| 2.0 * x));
//!     opt.step().unwrap();
//! }
//! let path = std::env::temp_dir().join(format!("optim-doc-module-{}.safetensors", std::process::id()));
//! opt.save(&path).unwrap();
//!
//! // Later, elsewhere: the model's parameters restored from its own checkpoint, then the optimizer.
//! let w2 = Param::new(w.value());
//! let mut resumed = Optimizer::<Adam, f32>::new(vec![w2.clone()], Adam::hyper()).unwrap();
//! resumed.load(&path).unwrap();
//! for (p, o) in [(&w, &mut opt), (&w2, &mut resumed)] {
//!     p.set_grad(p.value().mapv(|x| 2.0 * x));
//!     o.step().unwrap();
//! }
//! assert_eq!(w.value(), w2.value()); // bit for bit
//! # std::fs::remove_file(&path).unwrap();
//! ```
//!
//! # The file format
//!
//! A [safetensors](https://github.com/huggingface/safetensors) file. Its tensors are the
//! per-element states, each named `state.<index>.<name>` (`state.3.exp_avg`), where `<index>` is
//! the parameter's global index (parameters numbered across groups in order, as PyTorch numbers
//! them) in plain decimal; each has the parameter's shape and the optimizer's dtype (`F32` or
//! `F64`), stored bit for bit. Everything else is in the string-to-string `__metadata__`:
//!
//! | entry | value |
//! |---|---|
//! | `format` | `optim-checkpoint/1` |
//! | `optimizer` | the rule's PyTorch class name, [`Rule::NAME`](crate::Rule::NAME) (`Adam`) |
//! | `dtype` | [`Element::DTYPE`](crate::Element::DTYPE) (`float32`, `float64`) |
//! | `steps_taken` | the optimizer's step count, in decimal |
//! | `param_groups` | JSON: `[{"params": [0, 1], "hyper": {"lr": 0.001, "betas": [0.9, 0.999], "amsgrad": false}}]`; whole-group rules add `"values": {"d": 1e-6, "k": 3.0}` and, at the evaluation point, `"eval_mode": true` |
//! | `state` | JSON: `{"0": {"step": 10}, "1": {"step": 4, "scalars": {"mu_product": 0.93}}}` |
//! | `crc32` | 8 lowercase hex digits: CRC-32 of all of the above and of every tensor's name, dtype, shape and bytes |
//!
//! Step counts are JSON integers, not 0-d tensors: they are exact `u64` there and keep every
//! tensor of the file one dtype. In JSON, a float hyperparameter or scalar state is a number
//! written in its shortest form that reads back to the same bits (with a fraction or an
//! exponent, so it reads back as a float), or one of the strings `"NaN"`, `"Infinity"`,
//! `"-Infinity"`; an integer hyperparameter is an integer, a flag a bool, a pair a two-element
//! array. Every parameter with an entry in `state` has taken at least one step; the others have
//! none, as in PyTorch.
//!
//! # What loading checks
//!
//! Reading ([`StateDict::from_bytes`]) refuses a file that safetensors cannot parse, each with a
//! [`CorruptKind`] (truncated, bytes after the declared end, a damaged header, a duplicate key
//! or an unknown field in it, tensor offsets that do not add up), a checksum mismatch (any damage to values the structure does not reveal), a
//! missing or unknown metadata entry, another format version, a dtype other than the reader's,
//! malformed or duplicate-keyed JSON, and tensors that are misnamed, stored as another dtype, or
//! belong to no `state` entry. Loading into an optimizer
//! ([`Optimizer::load_state_dict`](crate::Optimizer::load_state_dict)) then refuses another
//! optimizer kind or dtype, a different number of groups or of parameters in a group, a
//! parameter index listed twice, state for an index no group lists, hyperparameters that are
//! missing, unknown, of the wrong type or out of range, group values that are missing or
//! unknown (or an evaluation point for a rule without one), unknown states, missing states, step
//! counts above 2^53 (kernels see the step as an `f64`), and state tensors shaped unlike their
//! parameters. Each is a [`CheckpointError`] variant naming what it
//! found, and on any error the optimizer is exactly as it was.
//!
//! States that depend on a flag follow PyTorch, which copies state without checking it against
//! the flags: a conditional state present although its condition is now off is kept (and unused
//! until the flag is on again), and one absent although its condition is now on is created fresh
//! at the next step. Both arise in an optimizer's own state when a flag changes between steps,
//! so refusing them would make some checkpoints unloadable by the optimizer that wrote them. A
//! state without a condition, and every scalar state, must be present; so must a state whose
//! condition reads only the parameter's shape (AdaFactor's `ndim >= 2` factors), which no flag
//! can change, and such a state must be absent when its condition is false.

pub(crate) mod capture;
mod checksum;
mod decode;
mod dict;
mod elements;
mod encode;
mod error;
mod file;
mod header;
mod json;
mod metadata;
pub(crate) mod restore;

pub use dict::{GroupDict, PackedTensor, ParamStateDict, StateDict};
pub use error::{CheckpointError, CorruptKind};
