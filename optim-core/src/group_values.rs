//! Values over a whole param group: group reductions combined over the group's tensors, and
//! group state kept once per group.
//!
//! Every tensor's prologue computes the group's new values from the same inputs (the group's
//! values, its hyperparameters and group reductions: the macro refuses anything that differs
//! between tensors), so they agree bit for bit and the group keeps one copy. Group reductions
//! combine the per-tensor results in parameter order, one after the other, so the total does
//! not depend on the thread count, the SIMD level or how tensors are chunked.
//!
//! A rule whose values span every group ([`Rule::ACROSS_GROUPS`]) folds its group reductions
//! over the whole work list and keeps the same values in every group.

use crate::parallel::Work;
use crate::{GroupScalars, HyperSet, MAX_REDUCTIONS, OptimError, ParamGroup, ReduceScope, Rule};

/// The param group a work item's group values come from: its own, or the one set of values of
/// a rule whose values span every group.
fn values_group<R: Rule, P>(item: &Work<P>) -> usize {
    if R::ACROSS_GROUPS { 0 } else { item.group }
}

/// Refuses a step of a rule whose values span every group when a group disagrees with group 0
/// on a hyperparameter those values are computed from ([`Rule::SHARED_HYPERS`]).
pub(crate) fn check_groups_agree<R: Rule, T>(groups: &[ParamGroup<R, T>]) -> Result<(), OptimError> {
    check_hypers_agree::<R>(groups.len(), |g| &groups[g].hyper)
}

/// [`check_groups_agree`] over `count` groups whose hyperparameters `hyper_of` gives (a
/// checkpoint's, before any of them is applied).
pub(crate) fn check_hypers_agree<'h, R: Rule>(
    count: usize,
    hyper_of: impl Fn(usize) -> &'h R::Hyper,
) -> Result<(), OptimError> {
    if count == 0 {
        return Ok(());
    }
    for name in R::SHARED_HYPERS {
        let expected = hyper_of(0).get(name);
        if let Some(group) = (1..count).find(|&g| hyper_of(g).get(name) != expected) {
            return Err(OptimError::GroupsDisagree { optimizer: R::NAME, name, group });
        }
    }
    Ok(())
}

/// After reduction pass `pass`: gives every group reduction of that pass its group total, in
/// the row of every work item of the group. `results` holds `R::REDUCTIONS.len()` entries per
/// item (at least one), in work order; `work` is ordered by group.
pub(crate) fn fold_group_reductions<R: Rule>(work: &[Work<R::Prep>], results: &mut [f64], pass: usize) {
    let width = R::REDUCTIONS.len().max(1);
    for (index, reduction) in R::REDUCTIONS.iter().enumerate() {
        let ReduceScope::Group { f32_accumulator, from_prologue } = reduction.scope else { continue };
        if reduction.pass != pass {
            continue;
        }
        if from_prologue {
            for (item, row) in work.iter().zip(results.chunks_mut(width)) {
                row[index] = R::fold_input(&item.prep, index);
            }
        }
        let mut start = 0;
        while start < work.len() {
            let group = values_group::<R, _>(&work[start]);
            let end = start + work[start..].iter().take_while(|w| values_group::<R, _>(w) == group).count();
            let mut total = reduction.kind.identity();
            for (item, row) in work[start..end].iter().zip(results[start * width..].chunks(width)) {
                // a tensor whose pass was skipped (its reduction sits under a flag that is off
                // for it) adds nothing
                if !from_prologue && !R::pass_needed(&item.prep, pass) {
                    continue;
                }
                total = if f32_accumulator {
                    // a float32 accumulator rounds after every term, as `torch.tensor([0.0]).add_`
                    (total + row[index]) as f32 as f64
                } else {
                    reduction.kind.combine(total, row[index])
                };
            }
            for row in results[start * width..end * width].chunks_mut(width) {
                row[index] = total;
            }
            start = end;
        }
    }
}

/// The slice of `next` (one row of `R::GROUP_STATES.len()` values per group) for group `group`.
pub(crate) fn next_values<R: Rule>(next: &mut [f64], group: usize) -> &mut [f64] {
    let width = R::GROUP_STATES.len();
    next.get_mut(group * width..(group + 1) * width).unwrap_or_default()
}

/// The new values of every param group none of whose parameters has a gradient this step (for
/// a rule whose values span every group: of group 0, when no parameter has one). The
/// references advance such groups all the same (Schedule-Free's `k` and `weight_sum`, ADOPT's
/// `step`), so the last stage's prologue runs for the group alone, every reduction over no
/// element (its identity). The macro lets a group value depend only on hyperparameters, group
/// values and group reductions, never on a tensor, so the missing tensor changes nothing else.
pub(crate) fn advance_idle_groups<R: Rule, T>(groups: &[ParamGroup<R, T>], next: &mut [f64], work: &[Work<R::Prep>]) {
    if R::GROUP_STATES.is_empty() {
        return;
    }
    let mut nothing = [0.0f64; MAX_REDUCTIONS];
    for (slot, reduction) in nothing.iter_mut().zip(R::REDUCTIONS) {
        *slot = reduction.kind.identity();
    }
    let idle = |index: &usize| {
        if R::ACROSS_GROUPS { work.is_empty() && *index == 0 } else { !work.iter().any(|w| w.group == *index) }
    };
    for (index, group) in groups.iter().enumerate().filter(|(index, _)| idle(index)) {
        let values = GroupScalars { current: &group.values, next: next_values::<R>(next, index) };
        let reductions = &nothing[..R::REDUCTIONS.len().min(MAX_REDUCTIONS)];
        R::prepare_in_group(&group.hyper, 1, &mut [], values, &[], reductions, R::PASSES - 1);
    }
}

/// After the step's last stage: every group takes the values its prologues computed (or
/// [`advance_idle_groups`] for a group without gradients); for a rule whose values span every
/// group, every group takes the values of the first group that computed them.
pub(crate) fn commit_group_values<R: Rule, T>(groups: &mut [ParamGroup<R, T>], next: &[f64], work: &[Work<R::Prep>]) {
    let width = R::GROUP_STATES.len();
    if width == 0 {
        return;
    }
    if R::ACROSS_GROUPS {
        // every stepping group computed the same values from the same inputs
        let source = work.first().map_or(0, |w| w.group);
        let Some(values) = next.get(source * width..(source + 1) * width) else { return };
        for group in groups.iter_mut() {
            group.values.copy_from_slice(values);
        }
        return;
    }
    for (group, values) in groups.iter_mut().zip(next.chunks(width)) {
        group.values.copy_from_slice(values);
    }
}
