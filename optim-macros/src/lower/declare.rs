//! Declarations: names, hyperparameters (defaults, ranges), `require` conditions and states.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::*;
use crate::errors::Errors;
use crate::ir;

impl Lowerer<'_> {
    // ---- declarations -------------------------------------------------------------------

    pub(super) fn declare_names(&mut self) {
        // Returns whether the name was declared; a rejected one gets no follow-on errors.
        let declare = |errors: &mut Errors, names: &mut HashMap<String, Name>, ident: &syn::Ident, name: Name| {
            let key = ident.to_string();
            // a group state named `step` is the group's step count (PyTorch's `group["step"]`),
            // which then replaces the per-parameter one in the step
            let group_step = key == "step" && matches!(name, Name::GroupState(_));
            if matches!(key.as_str(), "param" | "grad" | "step" | "numel" | "ndim") && !group_step {
                errors.error(ident, format!("`{key}` is built in; choose another name"));
            } else if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(key.clone()) {
                slot.insert(name);
                return true;
            } else {
                errors
                    .error(ident, format!("`{key}` is defined twice; hyperparameters and states share one namespace"));
            }
            false
        };
        for (index, hyper) in self.spec.hypers.iter().enumerate() {
            declare(self.errors, &mut self.names, &hyper.name, Name::Hyper(index));
        }
        let (mut elem, mut scalar, mut group) = (0, 0, 0);
        for state in &self.spec.states {
            let name = if state.scalar {
                scalar += 1;
                Name::ScalarState(scalar - 1)
            } else if state.group {
                group += 1;
                Name::GroupState(group - 1)
            } else {
                elem += 1;
                Name::State(elem - 1)
            };
            let declared = declare(self.errors, &mut self.names, &state.name, name);
            self.rejected_states.push(!declared);
        }
        for (key, name) in [
            ("param", Name::Param),
            ("grad", Name::Grad),
            ("step", Name::Step),
            ("numel", Name::Numel),
            ("ndim", Name::Ndim),
            // not reserved: a spec written before they existed may name its own `rows` / `cols`,
            // which then keep their meaning
            ("rows", Name::Rows),
            ("cols", Name::Cols),
        ] {
            self.names.entry(key.into()).or_insert(name);
        }
    }

    pub(super) fn requires(&mut self) -> Vec<ir::Require> {
        let mut requires = Vec::new();
        for require in &self.spec.requires {
            if let Some(value) = self.expr(&require.condition)
                && self.expect(&value, Ty::Bool, &require.condition).is_some()
            {
                requires.push(ir::Require { condition: value.tokens, message: require.message.clone() });
            }
        }
        requires
    }

    pub(super) fn declare_states(&mut self) {
        // only computes a flag: the analysis reports nothing, whatever the spec
        let mut non_negative = signs::non_negative(self.spec).into_iter();
        let mut param_copies = super::param_copies::param_copies(self.spec).into_iter();
        for state in &self.spec.states {
            let proven = non_negative.next().unwrap_or(false);
            let param_copy = param_copies.next().unwrap_or(false);
            let (init, init_reads_param) = self.initial_value(state);
            if state.group {
                if let Some(condition) = &state.condition {
                    self.errors.error(condition, "a group state is always present; drop the `if`");
                }
                self.group_states.push(ir::GroupState {
                    name: state.name.clone(),
                    docs: state.docs.clone(),
                    init,
                    init_text: text(&state.init),
                });
                self.group_written.push(false);
                continue;
            }
            if state.scalar {
                if let Some(condition) = &state.condition {
                    self.errors.error(condition, "a scalar state is always present; drop the `if`");
                }
                self.scalar_states.push(ir::ScalarState {
                    name: state.name.clone(),
                    docs: state.docs.clone(),
                    init,
                    init_text: text(&state.init),
                });
                self.scalar_written.push(false);
                continue;
            }
            self.mode = Mode::Presence;
            let presence = state.condition.as_ref().and_then(|condition| {
                let value = self.expr(condition)?;
                self.expect(&value, Ty::Bool, condition)?;
                let bit = self.bit(value.tokens.clone(), value.span);
                Some((bit, value.tokens, condition.to_token_stream().to_string()))
            });
            self.mode = Mode::HyperOnly;
            self.elem_read_early.push(false);
            self.states.push(ir::ElemState {
                name: state.name.clone(),
                docs: state.docs.clone(),
                init,
                init_text: text(&state.init),
                presence,
                read: false,
                written: false,
                axis: state.axis,
                init_reads_param,
                non_negative: proven,
                param_copy,
            });
        }
    }

    /// A state's initial value: a number from hyperparameters, or for a per-element state a
    /// function of the parameter's element (`z = param`), computed inline when state is created.
    fn initial_value(&mut self, state: &crate::ast::State) -> (TokenStream, bool) {
        let per_element = !state.scalar && !state.group && state.axis == crate::ast::Axis::Full;
        self.mode = if per_element { Mode::StateInit } else { Mode::HyperOnly };
        self.inline_scalars = true;
        let value = self.expr(&state.init).and_then(|v| self.expect(&v, Ty::Float, &state.init).map(|_| v));
        let lowered = match value {
            Some(v) if v.place == Place::Scalar => (v.tokens, false),
            Some(v) => (self.elementwise(v), true),
            None => (quote!(0.0), false),
        };
        self.inline_scalars = false;
        self.mode = Mode::HyperOnly;
        lowered
    }
}
