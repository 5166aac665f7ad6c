//! Rules with per-tensor reductions, each one `optimizer!` spec: LAMB and LARS (trust ratios
//! from norms) and NovoGrad (a per-tensor second moment). Each runs one reduction pass over
//! memory, then the update pass.

mod lamb;
mod lars;
mod novograd;

pub use lamb::{Lamb, LambHyper};
pub use lars::{Lars, LarsHyper};
pub use novograd::{NovoGrad, NovoGradHyper};
