//! Hyperparameters: the kind each default declares (float, integer, bool, pair, optional float,
//! choice of names), `inf` defaults, and range checks.

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::{BinOp, Expr, Lit, UnOp};

use super::*;
use crate::ir;
use crate::symbol::*;

const DEFAULT_HINT: &str = "a hyperparameter default must be a literal: a float (`1e-3`, `inf`), an integer, a bool, a pair of floats (`(0.9, 0.999)`), `None` or `Some(0.5)` for an optional float, or names `\"adamw\" | \"lion\"` for a choice (the first is the default)";

/// Strings a checkpoint uses for non-finite floats: a choice cannot be named like one.
const RESERVED_CHOICES: [&str; 4] = ["NaN", "-NaN", "Infinity", "-Infinity"];

impl Lowerer<'_> {
    pub(super) fn hypers(&mut self) -> Vec<ir::Hyper> {
        let mut hypers = Vec::new();
        for hyper in &self.spec.hypers {
            let (ty, default) = self.default_value(&hyper.name, &hyper.default).unwrap_or_else(|| {
                self.errors.error(&hyper.default, DEFAULT_HINT);
                (ir::HyperTy::Float, quote!(0.0))
            });
            self.hyper_tys.push(ty.clone());
            hypers.push(ir::Hyper {
                name: hyper.name.clone(),
                ty,
                default,
                default_text: text(&hyper.default),
                docs: hyper.docs.clone(),
                optional_on_load: hyper.optional_on_load,
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

    /// The kind and default of a hyperparameter from its default's syntax.
    fn default_value(&mut self, name: &syn::Ident, e: &Expr) -> Option<(ir::HyperTy, TokenStream)> {
        match e {
            Expr::Lit(l) => match &l.lit {
                Lit::Bool(b) => Some((ir::HyperTy::Bool, b.to_token_stream())),
                Lit::Int(i) => {
                    Some((ir::HyperTy::Int, Literal::i64_suffixed(i.base10_parse().ok()?).into_token_stream()))
                }
                Lit::Float(f) => Some((ir::HyperTy::Float, f64_literal(f.base10_parse().ok()?))),
                // one name alone is no choice: `"adamw" | "lion"`
                Lit::Str(_) => None,
                _ => None,
            },
            Expr::Path(p) if p.path.is_ident("inf") => Some((ir::HyperTy::Float, f64_literal(f64::INFINITY))),
            Expr::Path(p) if p.path.is_ident("None") => {
                Some((ir::HyperTy::OptionalFloat, quote!(::core::option::Option::None)))
            }
            Expr::Call(call)
                if matches!(&*call.func, Expr::Path(p) if p.path.is_ident("Some")) && call.args.len() == 1 =>
            {
                let value = f64_literal(number(&call.args[0])?);
                Some((ir::HyperTy::OptionalFloat, quote!(::core::option::Option::Some(#value))))
            }
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => {
                let (ty, tokens) = self.default_value(name, &u.expr)?;
                matches!(ty, ir::HyperTy::Float | ir::HyperTy::Int).then(|| (ty, quote!(-#tokens)))
            }
            Expr::Binary(b) if matches!(b.op, BinOp::BitOr(_)) => self.choice(name, e),
            Expr::Tuple(t) if t.elems.len() == 2 => {
                let mut parts = t.elems.iter().map(number);
                let (a, b) = (parts.next()??, parts.next()??);
                let (a, b) = (f64_literal(a), f64_literal(b));
                Some((ir::HyperTy::Pair, quote!((#a, #b))))
            }
            Expr::Tuple(t) if t.elems.len() == 3 => {
                let mut parts = t.elems.iter().map(number);
                let (a, b, c) = (parts.next()??, parts.next()??, parts.next()??);
                let (a, b, c) = (f64_literal(a), f64_literal(b), f64_literal(c));
                Some((ir::HyperTy::Triple, quote!((#a, #b, #c))))
            }
            _ => None,
        }
    }

    /// `"adamw" | "lion"`: a closed set of names, the first the default, typed as an enum.
    fn choice(&mut self, name: &syn::Ident, e: &Expr) -> Option<(ir::HyperTy, TokenStream)> {
        let mut literals = Vec::new();
        if !choice_names(e, &mut literals) {
            return None;
        }
        let enum_name = format_ident!("{}{}", self.spec.name, camel(&name.to_string()));
        let mut options: Vec<(String, syn::Ident)> = Vec::new();
        for literal in literals {
            let text = literal.value();
            let valid = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid || RESERVED_CHOICES.contains(&text.as_str()) {
                self.errors.error(&literal, "a choice is a name: a letter, then letters, digits, `_` or `-`");
            } else if text.len() > optim_contract::MAX_CHOICE_NAME {
                let most = optim_contract::MAX_CHOICE_NAME;
                self.errors.error(&literal, format!("a choice name has at most {most} bytes"));
            } else if options.iter().any(|(seen, _)| camel(seen) == camel(&text)) {
                self.errors.error(&literal, format!("`{text}` is listed twice (or spelled like another choice)"));
            } else {
                let variant = format_ident!("{}", camel(&text), span = literal.span());
                options.push((text, variant));
            }
        }
        let first = &options.first()?.1;
        let default = quote!(#enum_name::#first);
        Some((ir::HyperTy::Choice(ir::ChoiceTy { enum_name, options }), default))
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
        let value = format_ident!("__value");
        let components: Vec<TokenStream> = match &self.hyper_tys[index] {
            ir::HyperTy::Pair => vec![quote!(#HYPER.#name.0), quote!(#HYPER.#name.1)],
            ir::HyperTy::Triple => vec![quote!(#HYPER.#name.0), quote!(#HYPER.#name.1), quote!(#HYPER.#name.2)],
            ir::HyperTy::Int => vec![quote!((#HYPER.#name as f64))],
            ir::HyperTy::Float => vec![quote!(#HYPER.#name)],
            ir::HyperTy::OptionalFloat => vec![quote!(#value)],
            ir::HyperTy::Bool | ir::HyperTy::Choice(_) => {
                self.errors.error(range, "only numbers have a range; a bool or a choice has none");
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
        let check = match &self.hyper_tys[index] {
            // an unset optional is in range; a set one is checked
            ir::HyperTy::OptionalFloat => quote!(#HYPER.#name.is_none_or(|#value| true #(&& #checks)*)),
            _ => quote!(true #(&& #checks)*),
        };
        Some((check, format!("{low_text}{name}{high_text}")))
    }
}

/// The string literals of `"a" | "b" | ...`; `false` when something else is in the list.
fn choice_names(e: &Expr, out: &mut Vec<syn::LitStr>) -> bool {
    match e {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => {
            out.push(s.clone());
            true
        }
        Expr::Binary(b) if matches!(b.op, BinOp::BitOr(_)) => choice_names(&b.left, out) && choice_names(&b.right, out),
        _ => false,
    }
}

/// A number literal (`inf` included) with an optional minus sign.
fn number(e: &Expr) -> Option<f64> {
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) => i.base10_parse::<f64>().ok(),
            Lit::Float(f) => f.base10_parse::<f64>().ok(),
            _ => None,
        },
        Expr::Path(p) if p.path.is_ident("inf") => Some(f64::INFINITY),
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => number(&u.expr).map(|v| -v),
        _ => None,
    }
}

/// `match_rms_adamw` → `MatchRmsAdamw`: the Rust spelling of a name as a type or variant.
pub(super) fn camel(name: &str) -> String {
    name.split(['_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}
