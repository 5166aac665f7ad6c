//! Declarations: names, hyperparameters (defaults, ranges), `require` conditions and states.

use std::collections::HashMap;

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote};
use syn::{Expr, Lit, UnOp};

use super::*;
use crate::errors::Errors;
use crate::ir;
use crate::symbol::*;

impl Lowerer<'_> {
    // ---- declarations -------------------------------------------------------------------

    pub(super) fn declare_names(&mut self) {
        // Returns whether the name was declared; a rejected one gets no follow-on errors.
        let declare = |errors: &mut Errors, names: &mut HashMap<String, Name>, ident: &syn::Ident, name: Name| {
            let key = ident.to_string();
            if matches!(key.as_str(), "param" | "grad" | "step" | "numel" | "ndim") {
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
        let (mut elem, mut scalar) = (0, 0);
        for state in &self.spec.states {
            let name = if state.scalar {
                scalar += 1;
                Name::ScalarState(scalar - 1)
            } else {
                elem += 1;
                Name::State(elem - 1)
            };
            let declared = declare(self.errors, &mut self.names, &state.name, name);
            self.rejected_states.push(!declared);
        }
        self.names.insert("param".into(), Name::Param);
        self.names.insert("grad".into(), Name::Grad);
        self.names.insert("step".into(), Name::Step);
        self.names.insert("numel".into(), Name::Numel);
        self.names.insert("ndim".into(), Name::Ndim);
    }

    pub(super) fn hypers(&mut self) -> Vec<ir::Hyper> {
        let mut hypers = Vec::new();
        for hyper in &self.spec.hypers {
            let (ty, default) = match self.default_value(&hyper.default) {
                Some(found) => found,
                None => {
                    self.errors.error(
                        &hyper.default,
                        "a hyperparameter default must be a literal: a float (`1e-3`), an integer, a bool or a pair of floats (`(0.9, 0.999)`)",
                    );
                    (ir::HyperTy::Float, quote!(0.0))
                }
            };
            self.hyper_tys.push(match ty {
                ir::HyperTy::Float => ir::HyperTy::Float,
                ir::HyperTy::Int => ir::HyperTy::Int,
                ir::HyperTy::Bool => ir::HyperTy::Bool,
                ir::HyperTy::Pair => ir::HyperTy::Pair,
            });
            hypers.push(ir::Hyper {
                name: hyper.name.clone(),
                ty,
                default,
                default_text: text(&hyper.default),
                docs: hyper.docs.clone(),
                range: None,
            });
        }
        for (index, hyper) in self.spec.hypers.iter().enumerate() {
            if let Some(range) = &hyper.range {
                hypers[index].range = self.range_check(index, range);
            }
        }
        hypers
    }

    pub(super) fn default_value(&self, e: &Expr) -> Option<(ir::HyperTy, TokenStream)> {
        match e {
            Expr::Lit(l) => match &l.lit {
                Lit::Bool(b) => Some((ir::HyperTy::Bool, b.to_token_stream())),
                Lit::Int(i) => {
                    Some((ir::HyperTy::Int, Literal::i64_suffixed(i.base10_parse().ok()?).into_token_stream()))
                }
                Lit::Float(f) => Some((ir::HyperTy::Float, f64_literal(f.base10_parse().ok()?))),
                _ => None,
            },
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => {
                let (ty, tokens) = self.default_value(&u.expr)?;
                matches!(ty, ir::HyperTy::Float | ir::HyperTy::Int).then(|| (ty, quote!(-#tokens)))
            }
            Expr::Tuple(t) if t.elems.len() == 2 => {
                let mut parts = t.elems.iter().map(|e| self.number(e));
                let (a, b) = (parts.next()??, parts.next()??);
                let (a, b) = (f64_literal(a), f64_literal(b));
                Some((ir::HyperTy::Pair, quote!((#a, #b))))
            }
            _ => None,
        }
    }

    pub(super) fn number(&self, e: &Expr) -> Option<f64> {
        match e {
            Expr::Lit(l) => match &l.lit {
                Lit::Int(i) => i.base10_parse::<f64>().ok(),
                Lit::Float(f) => f.base10_parse::<f64>().ok(),
                _ => None,
            },
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => self.number(&u.expr).map(|v| -v),
            _ => None,
        }
    }

    pub(super) fn range_check(&mut self, index: usize, range: &syn::ExprRange) -> Option<(TokenStream, String)> {
        let name = &self.spec.hypers[index].name;
        let mut bound = |e: &Option<Box<Expr>>| -> Option<Option<TokenStream>> {
            match e {
                None => Some(None),
                Some(e) => {
                    let value = self.expr(e)?;
                    self.expect(&value, Ty::Float, e)?;
                    Some(Some(value.tokens))
                }
            }
        };
        let low = bound(&range.start)?;
        let high = bound(&range.end)?;
        let inclusive = matches!(range.limits, syn::RangeLimits::Closed(_));
        let components: Vec<TokenStream> = match self.hyper_tys[index] {
            ir::HyperTy::Pair => vec![quote!(#HYPER.#name.0), quote!(#HYPER.#name.1)],
            ir::HyperTy::Int => vec![quote!((#HYPER.#name as f64))],
            ir::HyperTy::Float => vec![quote!(#HYPER.#name)],
            ir::HyperTy::Bool => {
                self.errors.error(range, "a bool hyperparameter has no range");
                return None;
            }
        };
        let mut checks = Vec::new();
        for v in &components {
            if let Some(low) = &low {
                checks.push(quote!((#low <= #v)));
            }
            match (&high, inclusive) {
                (Some(high), true) => checks.push(quote!((#v <= #high))),
                (Some(high), false) => checks.push(quote!((#v < #high))),
                (None, _) => {}
            }
        }
        let low_text = range.start.as_ref().map(|e| format!("{} <= ", text(e))).unwrap_or_default();
        let high_text = range
            .end
            .as_ref()
            .map(|e| format!(" {} {}", if inclusive { "<=" } else { "<" }, text(e)))
            .unwrap_or_default();
        Some((quote!(true #(&& #checks)*), format!("{low_text}{name}{high_text}")))
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
        for state in &self.spec.states {
            let init = self.expr(&state.init).and_then(|v| self.expect(&v, Ty::Float, &state.init).map(|_| v.tokens));
            let init = init.unwrap_or_else(|| quote!(0.0));
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
            });
        }
    }
}
