//! `Optimizer::load_state_dict`: validating a [`StateDict`] completely, then applying it.

use std::collections::HashMap;

use super::{CheckpointError, GroupDict, ParamStateDict, StateDict};
use crate::buffer::StateBuffer;
use crate::lowbit::PackedState;
use crate::{Element, HyperSet, OptimError, Optimizer, ParamState, Rule};

/// Where a global parameter index points: its group and its position in the group.
pub(crate) type Slots = HashMap<usize, (usize, usize)>;

impl<R: Rule, T: Element> Optimizer<R, T> {
    /// Replaces the optimizer's state with `sd`, as PyTorch's `optimizer.load_state_dict`: every
    /// group's hyperparameters, every parameter's state, and the step count. The parameters stay
    /// the optimizer's own; the checkpoint's parameter indices are matched to them in order.
    ///
    /// Everything is checked before anything changes: the optimizer kind and dtype, the number of
    /// groups and of parameters per group, the hyperparameters (names, types, ranges), and every
    /// state entry (known names, every always-present state there, shapes equal to the
    /// parameters', step counts in range). On error the optimizer is exactly as it was.
    ///
    /// Two cases are accepted, as PyTorch accepts them, because an optimizer's own state can
    /// look like that after a flag changed between steps: a conditional state the checkpoint has
    /// although its condition is now off (it is kept, unused, as in the optimizer that saved it),
    /// and a conditional state it lacks although its condition is now on (it is created fresh
    /// at the next step, as when the flag is switched on during training). A condition on the
    /// shape alone (`ndim >= 2`, no hyperparameter) cannot change, so a state under such a
    /// condition must be there exactly when the condition holds.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, CheckpointError, OptimError, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
    /// let mut opt = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[0.5, -0.5]).into_dyn());
    /// opt.step().unwrap();
    /// let sd = opt.state_dict();
    ///
    /// let q = Param::new(p.value());
    /// let mut resumed = Optimizer::<Adam, f32>::new(vec![q], Adam::hyper()).unwrap();
    /// resumed.load_state_dict(&sd).unwrap();
    /// assert_eq!(resumed.state_dict(), sd);
    /// assert_eq!(resumed.param_groups()[0].hyper.lr, 0.1);
    ///
    /// let mut bad = sd.clone();
    /// bad.state.get_mut(&0).unwrap().tensors.remove("exp_avg");
    /// let err = resumed.load_state_dict(&bad).unwrap_err();
    /// assert!(matches!(err, OptimError::Checkpoint(CheckpointError::MissingState { param: 0, name: "exp_avg" })));
    /// assert_eq!(resumed.state_dict(), sd); // unchanged
    /// ```
    pub fn load_state_dict(&mut self, sd: &StateDict<T>) -> Result<(), OptimError> {
        check_kind::<R, T>(sd)?;
        let slots = match_params(self.groups.iter().map(|g| g.params.len()), &sd.param_groups)?;
        let hypers = sd
            .param_groups
            .iter()
            .enumerate()
            .map(|(group, dict)| resolve_hyper::<R>(&self.defaults, group, dict))
            .collect::<Result<Vec<_>, _>>()?;
        for (group, dict) in sd.param_groups.iter().enumerate() {
            check_group_values::<R>(group, dict)?;
        }
        check_values_shared::<R>(&sd.param_groups)?;
        crate::group_values::check_hypers_agree::<R>(hypers.len(), |g| &hypers[g]).map_err(|error| {
            let group = if let OptimError::GroupsDisagree { group, .. } = error { group } else { 0 };
            CheckpointError::Hyper { group, error: Box::new(error) }
        })?;
        let mut states: Vec<Vec<Option<ParamState<T>>>> =
            self.groups.iter().map(|g| vec![None; g.params.len()]).collect();
        for (&index, entry) in &sd.state {
            let &(group, offset) = slots.get(&index).ok_or(CheckpointError::UnknownParam { index })?;
            let param = self.groups.get(group).and_then(|g| g.params.get(offset));
            let (Some(param), Some(hyper)) = (param, hypers.get(group)) else {
                return Err(CheckpointError::UnknownParam { index }.into());
            };
            let shape = param.lock().value.shape().to_vec();
            let mut restored = restore::<R, T>(index, entry, &shape, hyper)?;
            // states come back as saved, bit for bit; one saved in another format than this
            // optimizer's group stores it in is converted
            restored.convert::<R>(&self.groups[group].formats);
            if let Some(slot) = states.get_mut(group).and_then(|g| g.get_mut(offset)) {
                *slot = Some(restored);
            }
        }

        for ((group, hyper), dict) in self.groups.iter_mut().zip(hypers).zip(&sd.param_groups) {
            group.hyper = hyper;
            group.values =
                R::GROUP_STATES.iter().map(|name| dict.values.get(*name).copied().unwrap_or_default()).collect();
            group.eval_mode = dict.eval_mode;
        }
        self.states = states;
        self.steps_taken = sd.steps_taken;
        Ok(())
    }
}

/// Checks a checkpoint's group structure against live groups of `sizes` parameters (as many
/// groups, as many parameters in each, no index twice) and maps each checkpoint index to its
/// (group, position) slot.
pub(crate) fn match_params(
    sizes: impl ExactSizeIterator<Item = usize>,
    groups: &[GroupDict],
) -> Result<Slots, CheckpointError> {
    if groups.len() != sizes.len() {
        return Err(CheckpointError::GroupCount { expected: sizes.len(), found: groups.len() });
    }
    let mut slots = Slots::new();
    for (group, (dict, expected)) in groups.iter().zip(sizes).enumerate() {
        if dict.params.len() != expected {
            return Err(CheckpointError::ParamCount { group, expected, found: dict.params.len() });
        }
        for (offset, &index) in dict.params.iter().enumerate() {
            if slots.insert(index, (group, offset)).is_some() {
                return Err(CheckpointError::DuplicateParam { index });
            }
        }
    }
    Ok(slots)
}

/// Checks that `sd` was written by an optimizer of rule `R` over states of `T`, with a step count
/// in range.
pub(crate) fn check_kind<R: Rule, T: Element>(sd: &StateDict<T>) -> Result<(), CheckpointError> {
    if sd.optimizer != R::NAME {
        return Err(CheckpointError::WrongOptimizer { expected: R::NAME, found: sd.optimizer.clone() });
    }
    if sd.dtype != T::DTYPE {
        return Err(CheckpointError::WrongDtype { expected: T::DTYPE, found: sd.dtype.clone() });
    }
    check_step(None, sd.steps_taken)
}

/// The largest step count loading accepts: exact as the `f64` kernels see, far from overflow.
const MAX_STEP: u64 = 1 << 53;

fn check_step(param: Option<usize>, found: u64) -> Result<(), CheckpointError> {
    if found > MAX_STEP {
        return Err(CheckpointError::StepCount { param, found });
    }
    Ok(())
}

/// A group's hyperparameters from the checkpoint: every one the rule has (but those added after
/// checkpoints were written, which take their default), nothing else, each of its type and in range.
pub(crate) fn resolve_hyper<R: Rule>(
    defaults: &R::Hyper,
    group: usize,
    dict: &GroupDict,
) -> Result<R::Hyper, CheckpointError> {
    let wrap = |error| CheckpointError::Hyper { group, error: Box::new(error) };
    let mut hyper = defaults.clone();
    for (name, value) in &dict.hyper {
        hyper.set(name, *value).map_err(wrap)?;
    }
    let optional = hyper.optional_on_load();
    for name in hyper.names().iter().filter(|name| !dict.hyper.contains_key(**name)) {
        if !optional.contains(name) {
            return Err(CheckpointError::MissingHyper { group, name });
        }
        // a file from before the hyperparameter existed stepped as the spec's default does
        if let Some(value) = R::Hyper::default().get(name) {
            hyper.set(name, value).map_err(wrap)?;
        }
    }
    hyper.validate().map_err(wrap)?;
    Ok(hyper)
}

/// For a rule whose values span every group: every group holds group 0's values, bit for bit.
fn check_values_shared<R: Rule>(groups: &[GroupDict]) -> Result<(), CheckpointError> {
    let Some((first, rest)) = groups.split_first().filter(|_| R::ACROSS_GROUPS) else { return Ok(()) };
    for (offset, dict) in rest.iter().enumerate() {
        for name in R::GROUP_STATES {
            let same = |d: &GroupDict| d.values.get(*name).map(|v| v.to_bits());
            if same(dict) != same(first) {
                return Err(CheckpointError::GroupValuesDisagree { group: offset + 1, optimizer: R::NAME, name });
            }
        }
    }
    Ok(())
}

/// A group's values: exactly the rule's, and an evaluation point only for a rule that has one.
pub(crate) fn check_group_values<R: Rule>(group: usize, dict: &GroupDict) -> Result<(), CheckpointError> {
    if let Some(name) = dict.values.keys().find(|name| !R::GROUP_STATES.contains(&name.as_str())) {
        return Err(CheckpointError::UnknownGroupValue { group, optimizer: R::NAME, name: name.clone() });
    }
    if let Some(name) = R::GROUP_STATES.iter().find(|name| !dict.values.contains_key(**name)) {
        return Err(CheckpointError::MissingGroupValue { group, name });
    }
    if dict.eval_mode && !R::POINTS {
        return Err(CheckpointError::UnknownGroupValue { group, optimizer: R::NAME, name: "eval_mode".into() });
    }
    Ok(())
}

/// One parameter's state from its checkpoint entry, checked against the rule and the parameter's
/// `shape`.
pub(crate) fn restore<R: Rule, T: Element>(
    index: usize,
    entry: &ParamStateDict<T>,
    shape: &[usize],
    hyper: &R::Hyper,
) -> Result<ParamState<T>, CheckpointError> {
    check_step(Some(index), entry.step)?;
    let dense = entry.tensors.iter().map(|(name, tensor)| (name, tensor.shape()));
    let packed = entry.packed.iter().map(|(name, tensor)| (name, tensor.shape.as_slice()));
    for (name, found) in dense.chain(packed) {
        let Some(decl) = R::STATES.iter().find(|decl| decl.name == name) else {
            return Err(CheckpointError::UnknownState { param: index, optimizer: R::NAME, name: name.clone() });
        };
        let expected = decl.shape.dims(shape);
        if found != expected.as_slice() {
            return Err(CheckpointError::StateShape {
                param: index,
                name: name.clone(),
                expected,
                found: found.to_vec(),
            });
        }
    }
    if let Some(name) = entry.packed.keys().find(|name| entry.tensors.contains_key(*name)) {
        return Err(CheckpointError::Corrupt {
            kind: super::CorruptKind::Layout,
            reason: format!("state {index} `{name}` is saved both as elements and as codes"),
        });
    }
    for (name, packed) in &entry.packed {
        packed.check().map_err(|reason| CheckpointError::Corrupt {
            kind: super::CorruptKind::Layout,
            reason: format!("state {index} `{name}`: {reason}"),
        })?;
    }
    if let Some(name) = entry.scalars.keys().find(|name| !R::SCALAR_STATES.contains(&name.as_str())) {
        return Err(CheckpointError::UnknownState { param: index, optimizer: R::NAME, name: name.clone() });
    }
    let mut unconditional = R::STATES.iter().filter(|decl| decl.condition.is_none()).map(|decl| decl.name);
    let missing_tensor =
        unconditional.find(|name| !entry.tensors.contains_key(*name) && !entry.packed.contains_key(*name));
    let missing_scalar = R::SCALAR_STATES.iter().copied().find(|name| !entry.scalars.contains_key(*name));
    if let Some(name) = missing_tensor.or(missing_scalar) {
        return Err(CheckpointError::MissingState { param: index, name });
    }

    check_shape_conditions::<R, T>(index, entry, shape, hyper)?;

    let mut state = ParamState::empty::<R>(shape, hyper);
    state.step = entry.step;
    state.tensors = R::STATES
        .iter()
        .enumerate()
        .map(|(i, decl)| {
            entry.tensors.get(decl.name).map(|t| StateBuffer::from_values(t.iter().copied(), i)).unwrap_or_default()
        })
        .collect();
    state.packed = R::STATES
        .iter()
        .map(|decl| {
            entry.packed.get(decl.name).map(|t| PackedState {
                format: t.format,
                signed: t.signed,
                len: t.shape.iter().product(),
                codes: t.codes.clone(),
                scales: t.scales.clone(),
            })
        })
        .collect();
    state.scalars = R::SCALAR_STATES.iter().map(|name| entry.scalars.get(*name).copied().unwrap_or_default()).collect();
    Ok(state)
}

/// States whose presence depends on the parameter's shape alone (`ndim >= 2`) cannot have
/// come or gone with a flag switched between steps, so the tolerance for conditional states does
/// not apply to them: such a state is there exactly when its condition holds for this shape.
fn check_shape_conditions<R: Rule, T: Element>(
    index: usize,
    entry: &ParamStateDict<T>,
    shape: &[usize],
    hyper: &R::Hyper,
) -> Result<(), CheckpointError> {
    for (i, decl) in R::STATES.iter().enumerate() {
        let Some(condition) = decl.condition else { continue };
        if !reads_only_shape(condition) {
            continue;
        }
        let present = R::state_present(hyper, shape, i);
        let saved = entry.tensors.contains_key(decl.name) || entry.packed.contains_key(decl.name);
        if present && !saved {
            return Err(CheckpointError::MissingState { param: index, name: decl.name });
        }
        if saved && !present {
            return Err(CheckpointError::StateForShape { param: index, name: decl.name, shape: shape.to_vec() });
        }
    }
    Ok(())
}

/// Whether a presence condition, as the spec writes it, names nothing but the parameter's
/// `ndim` and `numel` (and literals): no hyperparameter.
fn reads_only_shape(condition: &str) -> bool {
    condition
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
        .all(|word| matches!(word, "ndim" | "numel" | "true" | "false"))
}

#[cfg(test)]
mod tests {
    use super::super::decode::reseal;
    use super::super::metadata::key;
    use crate::builtins::NAdam;
    use crate::zoo::{AdamWScheduleFree, Prodigy};
    use crate::{Group, Optimizer, Param, Rule, StateDict};

    #[test]
    fn conditions_that_read_only_the_shape() {
        assert!(super::reads_only_shape("ndim >= 2"));
        assert!(super::reads_only_shape("ndim < 2 && numel > 1e3"));
        assert!(!super::reads_only_shape("amsgrad"));
        assert!(!super::reads_only_shape("ndim >= 2 && factored"));
        assert!(!super::reads_only_shape("weight_decay > 0"));
    }

    /// Three steps over two groups (the second with its own `second` hyperparameter `value`).
    fn trained<R: Rule>(hyper: R::Hyper, second: (&str, f64)) -> Optimizer<R, f64> {
        let a = Param::new(ndarray::arr1(&[1.0f64, -2.0]).into_dyn());
        let b = Param::new(ndarray::arr2(&[[0.5f64], [0.25]]).into_dyn());
        let groups = vec![Group::new(vec![a.clone()]), Group::new(vec![b.clone()]).with(second.0, second.1)];
        let mut opt = Optimizer::<R, f64>::with_groups(groups, hyper).unwrap();
        for step in 0..3 {
            a.set_grad(ndarray::arr1(&[0.1 * step as f64, -0.3]).into_dyn());
            b.set_grad(ndarray::arr2(&[[0.2], [0.4 - step as f64]]).into_dyn());
            opt.step().unwrap();
        }
        opt
    }

    /// Every single-bit flip of the JSON metadata, with the checksum recomputed so the flip
    /// reaches the parser and the validation behind it: never a panic, and either a refusal
    /// that changes nothing or a load of exactly what the file says.
    #[test]
    fn every_bit_flip_in_the_json_behind_the_checksum() {
        let nadam = |lr: f64| trained::<NAdam>(NAdam::hyper().lr(lr), ("lr", lr / 2.0));
        flip_every_bit(&nadam(0.01), || nadam(0.5));
    }

    /// The same over the values a param group keeps (one set shared by every group for
    /// Prodigy) and Schedule-Free's evaluation mode.
    #[test]
    fn every_bit_flip_in_group_values_and_the_evaluation_mode() {
        let prodigy = |decay: f64| trained::<Prodigy>(Prodigy::hyper(), ("weight_decay", decay));
        flip_every_bit(&prodigy(0.0), || prodigy(0.1));
        let schedule_free = |lr: f64| trained::<AdamWScheduleFree>(AdamWScheduleFree::hyper().lr(lr), ("lr", lr / 2.0));
        let mut at_x = schedule_free(0.01);
        at_x.eval();
        flip_every_bit(&at_x, || schedule_free(0.5));
    }

    fn flip_every_bit<R: Rule + std::fmt::Debug>(source: &Optimizer<R, f64>, fresh: impl Fn() -> Optimizer<R, f64>) {
        let bytes = source.to_bytes().unwrap();
        let mut target = fresh();
        let pristine = format!("{target:?}");
        let (mut loaded, mut refused) = (0, 0);
        for entry in [key::PARAM_GROUPS, key::STATE, key::STEPS_TAKEN, key::OPTIMIZER] {
            let json = {
                let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
                header.metadata().as_ref().unwrap()[entry].clone().into_bytes()
            };
            for position in 0..json.len() {
                for bit in 0..8 {
                    let mut flipped = json.clone();
                    flipped[position] ^= 1 << bit;
                    let Ok(flipped) = String::from_utf8(flipped) else { continue };
                    let file = reseal(&bytes, |m| {
                        m.insert(entry.to_owned(), flipped);
                    });
                    let decoded = StateDict::<f64>::from_bytes(&file);
                    match target.load_bytes(&file) {
                        Ok(()) => {
                            loaded += 1;
                            assert_eq!(target.state_dict(), decoded.unwrap());
                            target = fresh();
                        }
                        Err(_) => {
                            refused += 1;
                            assert_eq!(format!("{target:?}"), pristine);
                        }
                    }
                }
            }
        }
        assert!(loaded > 0 && refused > loaded, "{loaded} loaded, {refused} refused");
    }
}
