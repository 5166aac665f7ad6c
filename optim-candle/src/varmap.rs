//! A [`VarMap`]'s Vars in a stable order, split into groups by name.

use candle_core::Var;
use candle_nn::VarMap;

use crate::VarGroup;

/// The Vars of `varmap` with their names, sorted by name.
///
/// `VarMap::all_vars` lists them in hash-map order, which differs between two `VarMap`s (and
/// between runs), while a checkpoint matches state to parameters by position: build optimizers
/// that save and load from this order (or from [`decay_groups`]).
///
/// ```
/// use candle_core::{DType, Device};
/// let varmap = candle_nn::VarMap::new();
/// let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// candle_nn::linear(3, 2, vb.pp("b")).unwrap();
/// candle_nn::linear(2, 1, vb.pp("a")).unwrap();
/// let names: Vec<String> = optim_candle::sorted_vars(&varmap).into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["a.bias", "a.weight", "b.bias", "b.weight"]);
/// ```
pub fn sorted_vars(varmap: &VarMap) -> Vec<(String, Var)> {
    let data = varmap.data().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut named: Vec<(String, Var)> = data.iter().map(|(name, var)| (name.clone(), var.clone())).collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

/// Two groups in name order, as transformer recipes have them: the Vars `no_decay` selects by
/// name (biases, norms, embeddings...) with `weight_decay = 0`, and all others with the
/// defaults. Either group is left out when empty.
///
/// ```
/// use candle_core::{DType, Device};
/// use optim_candle::{CandleOptimizer, decay_groups};
/// use optim_core::builtins::AdamW;
/// let varmap = candle_nn::VarMap::new();
/// let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// candle_nn::linear(3, 2, vb.pp("fc")).unwrap();
/// let groups = decay_groups(&varmap, |name| name.ends_with(".bias"));
/// let opt = CandleOptimizer::<AdamW>::with_groups(groups, AdamW::hyper().weight_decay(0.1)).unwrap();
/// assert_eq!(opt.param_groups()[0].hyper.weight_decay, 0.1); // fc.weight
/// assert_eq!(opt.param_groups()[1].hyper.weight_decay, 0.0); // fc.bias
/// ```
pub fn decay_groups(varmap: &VarMap, no_decay: impl Fn(&str) -> bool) -> Vec<VarGroup> {
    let (plain, exempt): (Vec<_>, Vec<_>) = sorted_vars(varmap).into_iter().partition(|(name, _)| !no_decay(name));
    let vars = |named: Vec<(String, Var)>| named.into_iter().map(|(_, var)| var).collect::<Vec<_>>();
    let mut groups = Vec::new();
    if !plain.is_empty() {
        groups.push(VarGroup::new(vars(plain)));
    }
    if !exempt.is_empty() {
        groups.push(VarGroup::new(vars(exempt)).with("weight_decay", 0.0));
    }
    groups
}
