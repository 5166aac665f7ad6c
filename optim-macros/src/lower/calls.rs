//! Function calls: the element-wise functions, `select`, and the dispatch to reductions.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::Expr;

use super::*;
use crate::errors::did_you_mean;
use crate::symbol::*;

impl Lowerer<'_> {
    pub(super) fn call(&mut self, ident: &syn::Ident, args: &[&Expr], at: &impl ToTokens) -> Option<Value> {
        let name = ident.to_string();
        let known = FUNCTIONS.iter().chain(matrix::MATRIX_FUNCTIONS.iter());
        let Some((_, arity)) = known.clone().find(|(f, _)| *f == name) else {
            let hint = match did_you_mean(&name, known.map(|(f, _)| *f)) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "available: {}",
                    FUNCTIONS
                        .iter()
                        .chain(matrix::MATRIX_FUNCTIONS.iter())
                        .map(|(f, _)| *f)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.errors.error(ident, format!("unsupported function `{name}`; {hint}"));
            return None;
        };
        if args.len() != *arity {
            let plural = if *arity == 1 { "" } else { "s" };
            self.errors.error(at, format!("`{name}` takes {arity} argument{plural}, got {}", args.len()));
            return None;
        }
        let varying_before = self.seen_varying;
        let values: Vec<Option<Value>> = args.iter().map(|a| self.expr(a)).collect();
        let values: Vec<Value> = values.into_iter().collect::<Option<_>>()?;
        if matrix::MATRIX_FUNCTIONS.iter().any(|(f, _)| *f == name) {
            for (value, arg) in values.iter().zip(args) {
                self.expect(value, Ty::Float, arg)?;
            }
            return self.matrix_call(&name, values, args);
        }
        if name == "norm" && values[0].place == Place::Matrix {
            let value = values.into_iter().next()?;
            return self.matrix_norm(value, args[0]);
        }
        if OPTIONAL_FUNCTIONS.contains(&name.as_str()) {
            return self.optional(&name, values, args);
        }
        if REDUCTION_FUNCTIONS.contains(&name.as_str()) {
            self.expect(&values[0], Ty::Float, args[0])?;
            let value = values.into_iter().next()?;
            return self.reduction(&name, value, at);
        }
        if GROUP_FUNCTIONS.contains(&name.as_str()) {
            // the group's value is the same for all its tensors, whatever the argument read
            self.seen_varying = varying_before;
            self.expect(&values[0], Ty::Float, args[0])?;
            let value = values.into_iter().next()?;
            return self.group_reduction(&name, value, at);
        }
        if name == "row_mean" || name == "col_mean" {
            self.expect(&values[0], Ty::Float, args[0])?;
            let value = values.into_iter().next()?;
            return self.axis_mean(name == "row_mean", value, at);
        }
        if name == "select" {
            self.expect(&values[0], Ty::Bool, args[0])?;
            self.expect(&values[1], Ty::Float, args[1])?;
            self.expect(&values[2], Ty::Float, args[2])?;
            let mut it = values.into_iter();
            let (c, a, b) = (it.next()?, it.next()?, it.next()?);
            return Some(self.select(c, a, b));
        }
        for (value, arg) in values.iter().zip(args) {
            self.expect(value, Ty::Float, arg)?;
        }
        let method = match name.as_str() {
            "pow" => format_ident!("powf"),
            _ => ident.clone(),
        };
        let element = quote!(#RT::Element);
        let stage = values.iter().map(|v| v.stage).max().unwrap_or(0);
        if values.iter().all(|v| v.place == Place::Scalar) {
            let args = values.iter().map(|v| &v.tokens);
            return Some(Value::scalar(Ty::Float, quote!(<f64 as #element>::#method(#(#args),*))));
        }
        let place = values.iter().fold(Place::Scalar, |p, v| p.join(v.place));
        if place == Place::MatScalar {
            return Some(self.program_number(Ty::Float, values, |args| quote!(<f64 as #element>::#method(#(#args),*))));
        }
        // per element, the vectorisable forms of the libm functions (scalar code keeps libm's)
        let method = match name.as_str() {
            "exp" => format_ident!("exp_lanes"),
            "ln" => format_ident!("ln_lanes"),
            "pow" => format_ident!("pow_lanes"),
            _ => method,
        };
        if place == Place::Matrix && values.iter().all(|v| v.place != Place::Elem) {
            // every operand a matrix of the program or a number: computed there, element by
            // element, with the function the element loop would call
            return self.program_map(values, at, |args| quote!(#element::#method(#(#args),*)));
        }
        if place.factored() {
            let args: Vec<TokenStream> = values.into_iter().map(|v| self.factored_operand(v)).collect();
            let tokens = quote!(<f64 as #element>::#method(#(#args),*));
            return Some(Value { tokens, place, stage, ..Value::scalar(Ty::Float, TokenStream::new()) });
        }
        let args: Vec<TokenStream> = values.into_iter().map(|v| self.elementwise(v)).collect();
        Some(Value::elem(Ty::Float, quote!(#element::#method(#(#args),*))))
    }

    /// `opt.unwrap_or(default)`, `opt.is_some()`, `opt.is_none()` on an optional hyperparameter.
    fn optional(&mut self, name: &str, values: Vec<Value>, args: &[&Expr]) -> Option<Value> {
        self.expect(&values[0], Ty::Optional, args[0])?;
        let option = &values[0].tokens;
        match name {
            "unwrap_or" => {
                self.expect(&values[1], Ty::Float, args[1])?;
                if values[1].place != Place::Scalar {
                    self.errors.error(
                        args[1],
                        "the default of an optional hyperparameter is one number, not an element-wise value",
                    );
                    return None;
                }
                let default = &values[1].tokens;
                let stage = values[1].stage;
                Some(Value { stage, ..Value::scalar(Ty::Float, quote!(#option.unwrap_or(#default))) })
            }
            "is_some" => Some(Value::scalar(Ty::Bool, quote!(#option.is_some()))),
            _ => Some(Value::scalar(Ty::Bool, quote!(#option.is_none()))),
        }
    }

    pub(super) fn select(&mut self, condition: Value, a: Value, b: Value) -> Value {
        if condition.place == Place::Scalar && a.place == Place::Scalar && b.place == Place::Scalar {
            let (c, a, b) = (condition.tokens, a.tokens, b.tokens);
            return Value::scalar(Ty::Float, quote!((if #c { #a } else { #b })));
        }
        let place = condition.place.join(a.place).join(b.place);
        let stage = condition.stage.max(a.stage).max(b.stage);
        if place.factored() {
            let c = self.factored_operand(condition);
            let a = self.factored_operand(a);
            let b = self.factored_operand(b);
            return Value { place, stage, ..Value::scalar(Ty::Float, quote!((if #c { #a } else { #b }))) };
        }
        let c = self.elementwise(condition);
        let a = self.elementwise(a);
        let b = self.elementwise(b);
        Value::elem(Ty::Float, quote!((if #c { #a } else { #b })))
    }
}
