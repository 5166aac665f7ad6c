//! Which states are never negative: an interval analysis of the spec's syntax tree, so that a
//! quantized state format can store such a state with an unsigned map (as torchao and
//! bitsandbytes store Adam's `exp_avg_sq`). A state wrongly called non-negative would have its
//! negative values clamped, so whatever the analysis does not understand bounds nothing.
//!
//! A state is non-negative when its initial value is, and every assignment to it in `step`,
//! `eval` and `train` is, given that the states still believed non-negative are so when the
//! section starts (induction over steps). A state whose proof fails is dropped and the others
//! are checked again until none fails, since a proof may lean on another state (AMSGrad's
//! `max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)`). Values are taken to be non-NaN: a NaN
//! gradient makes NaN states whatever the format. `-0.0` counts as not negative (it compares
//! equal to zero, and an unsigned map stores it as zero).
//!
//! Hyperparameter ranges hold in `step`, which validates them first; `eval` and `train` may
//! run after a scheduler set a value the next step would refuse, so there nothing is assumed.
//! The analysis never reports an error (lowering does); on a spec that fails to lower, its
//! answer is never used.

mod interval;
#[cfg(test)]
mod tests;
mod walk;

use std::collections::{HashMap, HashSet};

use syn::{Expr, Lit};

use crate::ast::Spec;
use interval::Iv;
use walk::Walk;

/// What a name or an expression holds.
#[derive(Clone, Debug)]
enum Val {
    Num(Iv),
    /// A pair or triple hyperparameter: each component within the hyperparameter's range.
    Tuple(Vec<Iv>),
    /// An optional hyperparameter: within this when set.
    Optional(Iv),
    /// A bool, a choice, or anything the analysis does not follow.
    Other,
}

impl Val {
    fn num(&self) -> Iv {
        match self {
            Val::Num(iv) => *iv,
            _ => Iv::TOP,
        }
    }

    /// What either of two values holds (after `if` and `else`).
    fn join(&self, other: &Val) -> Val {
        match (self, other) {
            (Val::Num(a), Val::Num(b)) => Val::Num(a.hull(*b)),
            (Val::Tuple(a), Val::Tuple(b)) if a.len() == b.len() => {
                Val::Tuple(a.iter().zip(b).map(|(a, b)| a.hull(*b)).collect())
            }
            (Val::Optional(a), Val::Optional(b)) => Val::Optional(a.hull(*b)),
            _ => Val::Other,
        }
    }

    /// The same kind of value with nothing known about it.
    fn unknown(&self) -> Val {
        match self {
            Val::Num(_) => Val::Num(Iv::TOP),
            Val::Tuple(parts) => Val::Tuple(vec![Iv::TOP; parts.len()]),
            Val::Optional(_) => Val::Optional(Iv::TOP),
            Val::Other => Val::Other,
        }
    }
}

/// For each state of the spec, in declaration order: whether it is proven never negative.
pub(super) fn non_negative(spec: &Spec) -> Vec<bool> {
    let hypers = hyper_values(spec);
    let names: Vec<String> = spec.states.iter().map(|state| state.name.to_string()).collect();
    let nothing = HashSet::new();
    let mut candidates: HashSet<String> = HashSet::new();
    for (state, name) in spec.states.iter().zip(&names) {
        // initial values read hyperparameters and `param`, never states
        if Walk::new(&hypers, &nothing, &[]).expr(&state.init).num().non_negative() {
            candidates.insert(name.clone());
        }
    }
    let unvalidated: HashMap<String, Val> =
        hypers.iter().map(|(name, value)| (name.clone(), value.unknown())).collect();
    loop {
        let mut failed = HashSet::new();
        for (body, hypers) in [(&spec.step, &hypers), (&spec.eval, &unvalidated), (&spec.train, &unvalidated)] {
            let mut walk = Walk::new(hypers, &candidates, &names);
            walk.statements(body);
            failed.extend(walk.failed);
        }
        if failed.is_empty() {
            break;
        }
        candidates.retain(|name| !failed.contains(name));
    }
    names.iter().map(|name| candidates.contains(name)).collect()
}

/// Each hyperparameter's value in `step`: within its range, or anything without one.
fn hyper_values(spec: &Spec) -> HashMap<String, Val> {
    let (none, nothing) = (HashMap::new(), HashSet::new());
    let mut walk = Walk::new(&none, &nothing, &[]);
    let mut values = HashMap::new();
    for hyper in &spec.hypers {
        // a bound reading another hyperparameter is unknown here: it only loosens the range
        let range = hyper.range.as_ref().map_or(Iv::TOP, |range| {
            let lo = range.start.as_ref().map_or(f64::NEG_INFINITY, |e| walk.expr(e).num().lo);
            let hi = range.end.as_ref().map_or(f64::INFINITY, |e| walk.expr(e).num().hi);
            Iv::new(lo, hi)
        });
        let value = match components(&hyper.default) {
            Some(Components::Number) => Val::Num(range),
            Some(Components::Tuple(n)) => Val::Tuple(vec![range; n]),
            Some(Components::Optional) => Val::Optional(range),
            None => Val::Other,
        };
        values.insert(hyper.name.to_string(), value);
    }
    values
}

enum Components {
    Number,
    Tuple(usize),
    Optional,
}

/// The kind of number a default declares (as lowering's `default_value` reads it); bools and
/// choices are not numbers.
fn components(default: &Expr) -> Option<Components> {
    match default {
        Expr::Lit(lit) => matches!(lit.lit, Lit::Int(_) | Lit::Float(_)).then_some(Components::Number),
        Expr::Path(path) if path.path.is_ident("inf") => Some(Components::Number),
        Expr::Path(path) if path.path.is_ident("None") => Some(Components::Optional),
        Expr::Call(call) if matches!(&*call.func, Expr::Path(p) if p.path.is_ident("Some")) => {
            Some(Components::Optional)
        }
        Expr::Unary(unary) => components(&unary.expr),
        Expr::Tuple(tuple) => Some(Components::Tuple(tuple.elems.len())),
        _ => None,
    }
}
