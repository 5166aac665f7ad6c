//! Every rule of `optim::zoo` under benchmark, with the bytes a step must move per element:
//! what its read-only reduction passes read and what its update pass moves. Shared through
//! `#[path]` by `benches/kernels.rs` and `examples/bench_table.rs`, so a slow rule cannot hide.
//! There is no naive version of these: the figures are the whole `Optimizer::step()`.

#![allow(dead_code)]

use optim::Rule;
use optim::zoo::*;

use crate::fixture::bytes_per_element;

/// A rule's bytes per element of one f32 step over a vector.
#[derive(Debug, Clone, Copy)]
pub struct Bytes {
    /// Read by the read-only passes (4 per array each pass reads; 0 for a one-pass rule).
    pub read_only: usize,
    /// Moved by the update pass: param read and written, gradient read, states read and written.
    pub update: usize,
}

impl Bytes {
    /// Both together.
    pub fn total(self) -> usize {
        self.read_only + self.update
    }
}

/// Something done once per zoo rule, generic over it.
pub trait VisitZoo {
    /// Called with the rule's hyperparameters (the package's defaults) and its bytes.
    fn visit_zoo<R: Rule>(&mut self, hyper: R::Hyper, bytes: Bytes);
}

/// A one-pass rule: its update moves every present state (and param and gradient).
fn one_pass<R: Rule>(visitor: &mut impl VisitZoo, hyper: R::Hyper) {
    let bytes = Bytes { read_only: 0, update: bytes_per_element::<R>(&hyper) };
    visitor.visit_zoo::<R>(hyper, bytes);
}

/// Calls `visitor` for every zoo rule, in the zoo's (alphabetical) order.
pub fn zoo(v: &mut impl VisitZoo) {
    one_pass::<AdEmaMix>(v, AdEmaMix::hyper());
    one_pass::<AdaBelief>(v, AdaBelief::hyper());
    one_pass::<AdaBound>(v, AdaBound::hyper());
    // over a vector: norm(param) (param), then the norm of the update (grad and the new
    // second moment); the update has exp_avg and exp_avg_sq
    v.visit_zoo::<AdaFactor>(AdaFactor::hyper(), Bytes { read_only: 12, update: 28 });
    one_pass::<AdaMod>(v, AdaMod::hyper());
    one_pass::<Adan>(v, Adan::hyper());
    // its reduction pass (`sum(mask)`) runs only with `cautious`, off by default
    one_pass::<Adopt>(v, Adopt::hyper());
    // both group sums in one pass (grad, s and exp_avg_sq; `Optimizer::step_profiled` shows
    // its second pass reads nothing); the update has s and both moments
    v.visit_zoo::<DAdaptAdam>(DAdaptAdam::hyper(), Bytes { read_only: 12, update: 36 });
    one_pass::<DiffGrad>(v, DiffGrad::hyper());
    one_pass::<LaProp>(v, LaProp::hyper());
    // the norms of param and of Adam's update read param, grad and both moments
    v.visit_zoo::<Lamb>(Lamb::hyper(), Bytes { read_only: 16, update: 28 });
    // the norms of param and grad; the update has the momentum buffer
    v.visit_zoo::<Lars>(Lars::hyper(), Bytes { read_only: 8, update: 20 });
    one_pass::<Lion>(v, Lion::hyper());
    one_pass::<Madgrad>(v, Madgrad::hyper());
    // its reduction passes run only with `mixed` or `cautious`, off by default
    one_pass::<Mars>(v, Mars::hyper());
    // sum(grad²) reads the gradient; the update has the moments
    v.visit_zoo::<NovoGrad>(NovoGrad::hyper(), Bytes { read_only: 4, update: 20 });
    // the group sums read param, grad, p0 and s; the update has s and both moments (p0 is not
    // touched by it)
    v.visit_zoo::<Prodigy>(Prodigy::hyper(), Bytes { read_only: 16, update: 36 });
    one_pass::<QHAdam>(v, QHAdam::hyper());
    one_pass::<AdamWScheduleFree>(v, AdamWScheduleFree::hyper());
    one_pass::<SGDScheduleFree>(v, SGDScheduleFree::hyper());
    one_pass::<SignSgd>(v, SignSgd::hyper());
    one_pass::<Tiger>(v, Tiger::hyper());
    one_pass::<Yogi>(v, Yogi::hyper());
}
