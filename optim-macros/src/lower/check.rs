//! Checks over the whole walk, as a flat list of named rules (as serde_derive's
//! `internals/check.rs`): each looks at what the walk recorded and reports at the offending token.
//!
//! Checks that need the type or place of one expression run during the walk, where that
//! expression is at hand; these are the ones that need every statement seen first.

use optim_contract::{MAX_CONDITIONS, MAX_REDUCTIONS, MAX_STATES};

use super::Lowerer;

/// One named check; the name says what it guards, for a maintainer reading a report.
type Check = (&'static str, fn(&mut Lowerer<'_>));

/// Every whole-walk check, in the order they report.
const CHECKS: &[Check] = &[
    ("step block has a statement", step_not_empty),
    ("param is updated", param_written),
    ("every state is written", states_written),
    ("states fit the kernel's slice arrays", state_limit),
    ("reductions fit the partial-result arrays", reduction_limit),
    ("conditions fit the mask", condition_limit),
    ("across_groups shares group values and names hyperparameters", across_groups_valid),
    ("matrix rules have no reductions and no row or column state", matrices_alone),
];

/// A rule with matrices runs one tensor at a time with its own pass structure: reductions over
/// memory and factored state are not combined with it (yet).
fn matrices_alone(l: &mut Lowerer<'_>) {
    for (ident, _, assigned) in &l.matrix.mutables {
        if !assigned {
            let message = format!(
                "`{ident}` is never assigned again; drop the `mut` (only a matrix assigned in a loop needs it)"
            );
            l.errors.error(ident, message);
        }
    }
    let Some(span) = l.matrix.first_use else { return };
    if !l.reductions.is_empty() {
        l.errors.error_at(span, "a rule with matrix values cannot also reduce over memory passes (`sum`, `norm` of an element-wise value, `group_*`); take `norm` of the matrix instead");
    }
    let factored = l.states.iter().any(|s| s.axis.factored())
        || l.row_temps.len() + l.col_temps.len() > 0
        || l.accumulators != (0, 0);
    if factored {
        l.errors
            .error_at(span, "a rule with matrix values cannot also keep row or column state (`row_mean`, `col_mean`)");
    }
    if l.matrix.inputs.len() > MAX_STATES {
        let count = l.matrix.inputs.len();
        l.errors.error_at(
            span,
            format!("the first pass stores {count} element-wise values as matrices; at most {MAX_STATES} fit"),
        );
    }
    let slices = l.states.len() + l.matrix.results.len();
    if slices > MAX_STATES {
        l.errors.error_at(span, format!("the update pass walks {slices} slices (states and matrices read element-wise); at most {MAX_STATES} fit"));
    }
}

/// `#[across_groups(...)]` needs group values to share, and names hyperparameters.
fn across_groups_valid(l: &mut Lowerer<'_>) {
    let Some((attr, names)) = &l.spec.across_groups else { return };
    if l.spec.states.iter().all(|s| !s.group) {
        l.errors.error(
            attr,
            "`across_groups` shares group values, and this rule has none; declare e.g. `group d = d0` in `state`",
        );
    }
    let known: Vec<String> = l.spec.hypers.iter().map(|h| h.name.to_string()).collect();
    for name in names.iter().filter(|name| !known.iter().any(|k| *name == k)) {
        let hint = match crate::errors::did_you_mean(&name.to_string(), known.iter().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("the rule has: {}", known.join(", ")),
        };
        let message =
            format!("`{name}` is not a hyperparameter; `across_groups` lists those every group must agree on; {hint}");
        l.errors.error(name, message);
    }
}

impl Lowerer<'_> {
    /// Runs every check of [`CHECKS`].
    pub(super) fn check_all(&mut self) {
        for (_, check) in CHECKS {
            check(self);
        }
    }
}

fn step_not_empty(l: &mut Lowerer<'_>) {
    if l.spec.step.is_empty() {
        l.errors.error_at(l.spec.step_span, "the step block is empty; write at least one update of `param`");
    }
}

/// Whether a statement was rejected without its body being walked (a loop): its writes were
/// never seen, so "never written" would only repeat that error.
fn walk_failed(l: &Lowerer<'_>) -> bool {
    l.unwalked
}

fn param_written(l: &mut Lowerer<'_>) {
    if !l.spec.step.is_empty() && !l.param_written && !walk_failed(l) {
        l.errors.error_at(l.spec.step_span, "the step never updates `param`; add e.g. `param -= lr * grad;`");
    }
}

fn states_written(l: &mut Lowerer<'_>) {
    if l.spec.step.is_empty() || walk_failed(l) {
        return;
    }
    // a state that starts from the parameter and is only read is a snapshot (Prodigy's `p0`)
    let mut elem_written = l.states.iter().map(|s| s.written || (s.init_reads_param && s.read));
    let mut scalar_written = l.scalar_written.iter().copied();
    let mut group_written = l.group_written.iter().copied();
    for (state, rejected) in l.spec.states.iter().zip(&l.rejected_states) {
        let written = if state.scalar {
            scalar_written.next()
        } else if state.group {
            group_written.next()
        } else {
            elem_written.next()
        };
        if written == Some(false) && !rejected {
            l.errors.error(
                &state.name,
                format!("state `{}` is never written in `step`; update it or remove it", state.name),
            );
        }
    }
}

fn state_limit(l: &mut Lowerer<'_>) {
    if let Some(state) = l.spec.states.iter().filter(|s| !s.scalar && !s.group).nth(MAX_STATES) {
        l.errors.error(
            &state.name,
            format!(
                "`{}` is per-element state number {}; a rule may declare at most {MAX_STATES}: keep a value that is recomputed each step in a `let`, or one number per parameter in a `scalar` state",
                state.name,
                MAX_STATES + 1
            ),
        );
    }
}

fn reduction_limit(l: &mut Lowerer<'_>) {
    if let Some(span) = l.reduction_spans.get(MAX_REDUCTIONS) {
        l.errors.error_at(
            *span,
            format!(
                "reduction number {} in this step; a step may take at most {MAX_REDUCTIONS}: bind a reduction once with `let` and reuse the name",
                MAX_REDUCTIONS + 1
            ),
        );
    }
}

fn condition_limit(l: &mut Lowerer<'_>) {
    if let Some(span) = l.bit_spans.get(MAX_CONDITIONS) {
        l.errors.error_at(
            *span,
            format!(
                "condition number {} in this step; a step may branch on at most {MAX_CONDITIONS} distinct scalar conditions: compute numbers with `select` instead of branching",
                MAX_CONDITIONS + 1
            ),
        );
    }
}
