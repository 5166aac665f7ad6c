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

    pub(super) fn expect(&mut self, value: &Value, ty: Ty, at: &impl ToTokens) -> Option<()> {
        if value.ty == ty {
            return Some(());
        }
        let hint = match value.ty {
            Ty::Pair => "; a pair is used through `let (a, b) = pair;` or `pair.0`",
            _ => "",
        };
        let found = match value.ty {
            Ty::Float => "a number",
            Ty::Bool => "a bool",
            Ty::Pair => "a pair",
        };
        let expected = match ty {
            Ty::Float => "a number",
            Ty::Bool => "a bool",
            Ty::Pair => "a pair",
        };
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
