//! Debug builds only: the generic code every shipped rule runs (its kernels through `step`, the
//! slice and kernel layers, checkpoints, bfloat16 parameters) instantiated once, in this crate.
//!
//! Unoptimised builds share generic instantiations across crates (rustc's `share-generics`),
//! so a crate that steps `Optimizer<Adam>` links to the copy compiled here instead of
//! compiling Adam's kernels (every SIMD clone, both element types) again; without this, each
//! test binary, example and doctest that used the registry of rules compiled them all anew
//! (40–70 s of a debug build each). Optimised builds compile only what a program uses.

use crate::mixed::Bf16Optimizer;
use crate::{Element, Optimizer, Rule, SimdLevel};

/// Never called with `run` true (it is the instantiations that count): what a program
/// stepping `R` over `T` parameters compiles.
fn rule_in<R: Rule, T: Element>(run: bool, hyper: &R::Hyper) {
    if !run {
        return;
    }
    let mut scalars = [0.0f64; 0];
    R::step_slices::<T>(SimdLevel::Baseline, hyper, 1, &mut scalars, &[1], &mut [], &[], &mut []);
    let prep = R::prepare_stage(hyper, 1, &mut scalars, &[1], &[], 0);
    R::apply_at::<T>(SimdLevel::Baseline, &prep, &mut [], &[], &mut []);
    if let Ok(mut opt) = Optimizer::<R, T>::new(Vec::new(), R::Hyper::clone(hyper)) {
        let _ = opt.step();
        let _ = opt.step_profiled();
        let saved = opt.state_dict();
        let _ = opt.load_state_dict(&saved);
    }
}

/// [`rule_in`] for both element types, and bfloat16 parameters.
fn rule<R: Rule>(run: bool, hyper: R::Hyper) {
    rule_in::<R, f32>(run, &hyper);
    rule_in::<R, f64>(run, &hyper);
    if run && let Ok(mut opt) = Bf16Optimizer::<R>::new(Vec::new(), hyper) {
        let _ = opt.step();
    }
}

/// The instantiations, for every rule in `builtins` and `zoo`; returns the rules' names (a test
/// checks them against the exports, so a new rule is not left to every crate to compile).
#[doc(hidden)]
pub fn every_rule(run: bool) -> Vec<&'static str> {
    use crate::builtins::*;
    use crate::zoo::*;
    macro_rules! each {
        ($($rule:ident),* $(,)?) => { vec![$({ rule::<$rule>(run, $rule::hyper()); stringify!($rule) }),*] };
    }
    each!(
        Sgd,
        Adam,
        AdamW,
        RmsProp,
        Adagrad,
        Adadelta,
        Adamax,
        NAdam,
        RAdam,
        Rprop,
        Asgd,
        SparseAdam,
        AdEmaMix,
        AdaBelief,
        AdaBound,
        AdaFactor,
        AdaMod,
        Adan,
        Adopt,
        DAdaptAdam,
        DiffGrad,
        LaProp,
        Lamb,
        Lars,
        Lion,
        Madgrad,
        Mars,
        Muon,
        NovoGrad,
        Prodigy,
        QHAdam,
        AdamWScheduleFree,
        SGDScheduleFree,
        SignSgd,
        Soap,
        Tiger,
        Yogi,
    )
}
