//! The state formats under benchmark (`optim::StateFormat`) and the bytes a step must move in
//! each. Shared through `#[path]` by `benches/kernels.rs` and `examples/bench_table.rs`.
//!
//! A step of a rule whose states are stored compactly still reads and writes the parameter (8
//! bytes per f32 element) and reads the gradient (4); what changes is each state's stream: read
//! and written in its own format, plus the block scales (one f32 per block, read and rewritten).

#![allow(dead_code)]

use optim::builtins::{Adam, AdamW};
use optim::{Rule, StateFormat};

/// Every format, `Native` (the element type) first: the one the others are compared with.
pub const FORMATS: [StateFormat; 5] =
    [StateFormat::Native, StateFormat::BFloat16, StateFormat::Int8, StateFormat::Int4, StateFormat::Fp8];

/// Bytes one state element moves per step when a tensor of `len` f32 elements stores it in
/// `format`: read and written, codes and the block's share of its scale. A block format that does
/// not apply to `len` (see `StateFormat::applies_to`) leaves the state in f32, as the optimizer does.
pub fn state_bytes_moved(format: StateFormat, len: usize) -> f64 {
    if !format.applies_to(len) {
        return 8.0;
    }
    let scale = 2.0 * 4.0 / format.block_size() as f64;
    match format {
        StateFormat::Native => 8.0,
        StateFormat::BFloat16 => 4.0,
        StateFormat::Int8 | StateFormat::Fp8 => 2.0 + scale,
        StateFormat::Int4 => 1.0 + scale,
    }
}

/// Bytes a step moves per parameter element stored in `param_bytes` bytes (4 for f32, 2 for
/// bfloat16 with `optim::Bf16Optimizer`) with `states` states in `format` over tensors of `len`
/// elements: param read and written, gradient read, each state as [`state_bytes_moved`].
pub fn bytes_per_param(param_bytes: usize, format: StateFormat, states: usize, len: usize) -> f64 {
    3.0 * param_bytes as f64 + states as f64 * state_bytes_moved(format, len)
}

/// Something done once per rule of the state-format benchmarks, generic over the rule.
pub trait VisitFormats {
    /// Called with the rule's label (PyTorch's class name) and its hyperparameters.
    fn visit_formats<R: Rule>(&mut self, label: &'static str, hyper: R::Hyper);
}

/// Calls `visitor` for the rules torchao's compact optimizers are measured against: Adam, the
/// commonest, and AdamW, the one torchao has (`AdamW8bit`, `AdamW4bit`, `AdamWFp8`).
pub fn rules(visitor: &mut impl VisitFormats) {
    visitor.visit_formats::<Adam>("Adam", Adam::hyper());
    visitor.visit_formats::<AdamW>("AdamW", AdamW::hyper());
}
