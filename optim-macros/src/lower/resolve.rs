//! Name resolution and type expectations.

use quote::ToTokens;

use super::*;
use crate::errors::did_you_mean;

impl Lowerer<'_> {
    pub(super) fn resolve(&self, ident: &syn::Ident) -> Option<Name> {
        let key = ident.to_string();
        for scope in self.scopes.iter().rev() {
            if let Some(value) = scope.get(&key) {
                return Some(Name::Local(value.clone()));
            }
        }
        self.names.get(&key).cloned()
    }

    pub(super) fn unknown(&mut self, ident: &syn::Ident) {
        let name = ident.to_string();
        let locals: Vec<String> = self.scopes.iter().flat_map(|s| s.keys().cloned()).collect();
        let candidates = self.names.keys().map(String::as_str).chain(locals.iter().map(String::as_str));
        let hint = match did_you_mean(&name, candidates) {
            Some(close) => format!("; did you mean `{close}`?"),
            None => "; use a hyperparameter, a state, `param`, `grad`, `step` or a `let` binding".into(),
        };
        self.errors.error(ident, format!("unknown name `{name}`{hint}"));
    }

    /// Whether `name` may be read where the walk is now (initial values, ranges, `require`
    /// conditions and presence conditions see less than the step does).
    pub(super) fn allowed_here(&mut self, ident: &syn::Ident, name: &Name) -> Option<()> {
        let hyper_or_local = matches!(name, Name::Hyper(_) | Name::Local(_));
        let (allowed, what) = match self.mode {
            Mode::Step => (true, ""),
            Mode::HyperOnly => (hyper_or_local, "ranges, `require` and scalar initial values use hyperparameters only"),
            Mode::Presence => (
                hyper_or_local || matches!(name, Name::Ndim | Name::Numel | Name::Rows | Name::Cols),
                "a presence condition uses hyperparameters, `ndim`, `numel`, `rows` and `cols`",
            ),
            Mode::StateInit => (
                hyper_or_local || matches!(name, Name::Param),
                "a per-element state starts from hyperparameters and `param` (`z = param`)",
            ),
            Mode::Point => (
                hyper_or_local
                    || matches!(name, Name::Param)
                    || matches!(name, Name::State(i) if self.states.get(*i).is_some_and(|s| s.axis == crate::ast::Axis::Full)),
                "`eval` and `train` read hyperparameters, `param` and per-element states",
            ),
        };
        if allowed {
            return Some(());
        }
        self.errors.error(ident, format!("`{ident}` is not known here; {what}"));
        None
    }

    pub(super) fn expect(&mut self, value: &Value, ty: Ty, at: &impl ToTokens) -> Option<()> {
        if value.ty == ty {
            return Some(());
        }
        let hint = match value.ty {
            // already reported where the name was bound
            Ty::Poisoned => return None,
            Ty::Pair => "; a pair is used through `let (a, b) = pair;` or `pair.0`",
            Ty::Triple => "; a triple is used through `let (a, b, c) = triple;` or `triple.0`",
            Ty::Optional => {
                "; an optional hyperparameter is read with `name.unwrap_or(default)` and tested with `name.is_some()`"
            }
            Ty::Choice(_) => "; a choice is compared with one of its names: `kind == \"lion\"`",
            _ => "",
        };
        let (expected, found) = (ty.describe(), value.ty.describe());
        self.errors.error(at, format!("expected {expected}, found {found}{hint}"));
        None
    }

    pub(super) fn guard_check(&mut self, index: usize, ident: &syn::Ident) -> Option<()> {
        let Some((_, _, condition)) = &self.states[index].presence else { return Some(()) };
        if self.guards.contains(condition) {
            return Some(());
        }
        let condition = condition.clone();
        self.errors.error(
            ident,
            format!("state `{ident}` exists only `if {condition}`; use it inside `if {condition} {{ ... }}`"),
        );
        None
    }
}
