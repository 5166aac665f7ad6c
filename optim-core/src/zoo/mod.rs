//! Newer optimizers, each one `optimizer!` spec with its reference's class name, defaults, flags
//! and state keys, so trajectories and checkpoints line up with it: most from the
//! [`pytorch_optimizer`](https://github.com/kozistr/pytorch_optimizer) package (version 4.1.0),
//! Prodigy from `prodigyopt` 1.1.2 and the Schedule-Free rules from `schedulefree` 1.4.1.
//!
//! LAMB, LARS and NovoGrad use per-tensor reductions (norms, a sum of squares): one read-only
//! pass over memory, then the update. Prodigy, DAdaptAdam and the Schedule-Free rules keep values
//! once per param group ([`ParamGroup::value`](crate::ParamGroup::value)), as their packages keep
//! them in `param_groups`. Each rule follows its package's code, not the paper, where the two
//! differ; its docs say how. pytorch-optimizer's per-group `step` is our per-parameter step (the
//! same while every parameter gets a gradient at every step) except where a rule keeps a group
//! step (ADOPT). Every rule refuses row-sparse gradients, as the packages do.
//!
//! ```
//! use optim_core::{zoo::Tiger, Param};
//! let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
//! let mut opt = Tiger::optimizer(vec![p.clone()], Tiger::hyper().weight_decay(0.0)).unwrap();
//! p.set_grad(ndarray::arr1(&[2.0]).into_dyn());
//! opt.step().unwrap();
//! assert_eq!(p.value()[0], 1.0 - 1e-3); // lr * sign(momentum)
//! ```

mod ad_ema_mix;
mod ada_belief;
mod ada_bound;
mod ada_factor;
mod ada_mod;
mod adan;
mod adopt;
mod d_adapt_adam;
mod diff_grad;
mod la_prop;
mod lamb;
mod lars;
mod lion;
mod madgrad;
mod mars;
mod muon;
mod novograd;
mod prodigy;
mod qh_adam;
mod schedule_free;
mod sign_sgd;
mod soap;
mod tiger;
mod yogi;

pub use ad_ema_mix::{AdEmaMix, AdEmaMixHyper};
pub use ada_belief::{AdaBelief, AdaBeliefHyper};
pub use ada_bound::{AdaBound, AdaBoundHyper};
pub use ada_factor::{AdaFactor, AdaFactorHyper};
pub use ada_mod::{AdaMod, AdaModHyper};
pub use adan::{Adan, AdanHyper};
pub use adopt::{Adopt, AdoptHyper};
pub use d_adapt_adam::{DAdaptAdam, DAdaptAdamHyper};
pub use diff_grad::{DiffGrad, DiffGradHyper};
pub use la_prop::{LaProp, LaPropHyper};
pub use lamb::{Lamb, LambHyper};
pub use lars::{Lars, LarsHyper};
pub use lion::{Lion, LionHyper};
pub use madgrad::{Madgrad, MadgradHyper};
pub use mars::MarsMarsType;
pub use mars::{Mars, MarsHyper};
pub use muon::MuonAdjustLrFn;
pub use muon::MuonNsDtype;
pub use muon::{Muon, MuonHyper};
pub use novograd::{NovoGrad, NovoGradHyper};
pub use prodigy::{Prodigy, ProdigyHyper};
pub use qh_adam::{QHAdam, QHAdamHyper};
pub use schedule_free::{AdamWScheduleFree, AdamWScheduleFreeHyper, SGDScheduleFree, SGDScheduleFreeHyper};
pub use sign_sgd::{SignSgd, SignSgdHyper};
pub use soap::{Soap, SoapHyper};
pub use tiger::{Tiger, TigerHyper};
pub use yogi::{Yogi, YogiHyper};
