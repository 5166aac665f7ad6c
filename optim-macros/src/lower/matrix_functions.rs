//! Element-wise arithmetic on matrices inside the program, and the functions beyond products:
//! `as_matrix`, `eigh`, `qr`, `column_sums`, `argsort_descending`, `take_rows`, `take_cols`.
//!
//! Element-wise work on matrices normally runs in the update pass, fused with the parameter's
//! update. A rule with two matrix stages (SOAP: project, Adam in the eigenbasis, project back)
//! needs some of it between them: an operator or function whose operands are all matrices of
//! the program (or numbers) is computed there instead, one pass over the matrix per operation,
//! in the element type, with the same functions the element loop calls.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::Expr;

use super::matrix::{Dim, Dims, MatInfo, describe};
use super::*;
use crate::symbol::*;

impl Lowerer<'_> {
    /// `build(operands)` element by element over the matrices among `values` (at most two, of
    /// one shape) and the numbers among them, in the program: one `map` over the scratch.
    pub(super) fn program_map(
        &mut self,
        values: Vec<Value>,
        at: &impl ToTokens,
        build: impl FnOnce(Vec<TokenStream>) -> TokenStream,
    ) -> Option<Value> {
        let mut operands = Vec::new();
        let mut constants = Vec::new();
        let mut views: Vec<(TokenStream, Dims)> = Vec::new();
        for value in values {
            if matches!(value.place, Place::Scalar | Place::MatScalar) {
                let code = self.program_scalar(value);
                let constant = format_ident!("__k{}", constants.len());
                constants.push(quote!(let #constant = <#ELEM as #RT::Element>::from_f64(#code);));
                operands.push(constant.into_token_stream());
                continue;
            }
            let view = self.matrix_view(value, at)?;
            let name = if views.is_empty() { quote!(__x) } else { quote!(__y) };
            views.push(view);
            operands.push(name);
        }
        let (first, dims) = views.first().cloned()?;
        if let Some((_, other)) = views.iter().find(|(_, d)| *d != dims) {
            let message =
                format!("element-wise, matrices must have one shape: {} and {}", describe(&dims), describe(other));
            self.errors.error(at, message);
            return None;
        }
        if views.len() > 2 {
            self.errors.error(at, "an element-wise function in the matrix program reads at most two matrices");
            return None;
        }
        let buffer = self.sized_buffer(&dims);
        let second = match views.get(1) {
            Some((view, _)) => quote!(::core::option::Option::Some(#view)),
            None => quote!(::core::option::Option::None),
        };
        let body = build(operands);
        let local = self.local("mv");
        self.matrix_code(quote! {
            let #local: #RT::MatView = {
                #(#constants)*
                #SCRATCH.map2(#buffer, #first, #second, |__x: #ELEM, __y: #ELEM| #body, #ROUNDING)
            };
        });
        let span = syn::spanned::Spanned::span(&at.to_token_stream());
        let info = MatInfo { dims, pending: None, mutable: None };
        Some(self.matrix_value(local.into_token_stream(), info, span))
    }

    /// The functions of matrices beyond `matmul` and `transpose`.
    pub(super) fn matrix_function(&mut self, name: &str, values: Vec<Value>, args: &[&Expr]) -> Option<Value> {
        let span = syn::spanned::Spanned::span(args[0]);
        let mut views = Vec::new();
        for (value, arg) in values.into_iter().zip(args) {
            views.push(self.matrix_view(value, *arg)?);
        }
        let (a, dims) = views[0].clone();
        if name == "as_matrix" {
            // the operand's view itself: no buffer of its own
            let info = MatInfo { dims, pending: None, mutable: None };
            return Some(self.matrix_value(a, info, span));
        }
        let buffer = self.fresh_buffer();
        let square = dims.0 == dims.1;
        let (code, out) = match name {
            "eigh" | "qr" if !square => {
                let message = format!("`{name}` takes a square matrix; this one is {}", describe(&dims));
                self.errors.error(args[0], message);
                return None;
            }
            // a solver that does not converge (NaN or infinite input) gives NaN, which the update
            // then carries, as every other rule carries a NaN gradient
            "eigh" => (
                quote!(match #SCRATCH.eigh_descending(#a, #buffer) {
                    ::core::result::Result::Ok(v) => v,
                    ::core::result::Result::Err(_) => #SCRATCH.map(#buffer, #a, |_| <#ELEM as #RT::Element>::from_f64(f64::NAN), #ROUNDING),
                }),
                dims,
            ),
            "qr" => (quote!(#SCRATCH.qr_q(#a, #buffer)), dims),
            "column_sums" => (quote!(#SCRATCH.column_sums(#buffer, #a)), (Dim::One, dims.1)),
            "argsort_descending" if dims.0 != Dim::One => {
                let message =
                    format!("`argsort_descending` sorts one row (`column_sums(m)`); this is {}", describe(&dims));
                self.errors.error(args[0], message);
                return None;
            }
            "argsort_descending" => (quote!(#SCRATCH.argsort_descending(#buffer, #a)), dims),
            _ => {
                let rows = name == "take_rows";
                let (order, order_dims) = views[1].clone();
                let along = if rows { &dims.0 } else { &dims.1 };
                if order_dims != (Dim::One, along.clone()) {
                    let what = if rows { "rows" } else { "columns" };
                    let message = format!(
                        "`{name}` takes an order of the matrix's {what} (`argsort_descending(...)`, 1 x {}); this is {}",
                        along.describe(),
                        describe(&order_dims)
                    );
                    self.errors.error(args[1], message);
                    return None;
                }
                let call = if rows { quote!(take_rows) } else { quote!(take_cols) };
                (quote!(#SCRATCH.#call(#buffer, #a, #order)), dims)
            }
        };
        let (side, len) = (out.0.size(), out.1.size());
        match name {
            "eigh" => self.reserve(quote!(#SCRATCH.reserve_eigh(#side);)),
            "qr" => self.reserve(quote!(#SCRATCH.reserve_qr(#side, #side);)),
            "argsort_descending" => self.reserve(quote!(#SCRATCH.reserve_order(#len);)),
            _ => {}
        }
        self.reserve_buffer(buffer, &out);
        let local = self.local("mv");
        self.matrix_code(quote!(let #local: #RT::MatView = #code;));
        let info = MatInfo { dims: out, pending: None, mutable: None };
        Some(self.matrix_value(local.into_token_stream(), info, span))
    }
}
