//! Code generation: the hyperparameter struct, the `Rule` impl and its fused kernel.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::Spec;
use crate::errors::{Errors, fallback};
use crate::ir::{self};
use crate::lower;
use crate::symbol::*;

mod apply;
mod docs;
mod element_loop;
mod factored;
mod hyper;
mod matrix;
mod prepare;
mod reduce;
mod reduce_rows;
mod rule_impl;

use apply::*;
use docs::*;
use element_loop::*;
use factored::*;
use hyper::*;
use matrix::*;
use prepare::*;
use reduce::*;
use rule_impl::*;

/// Expands a spec. `optim_core::optimizer!` passes its `$crate` first, in parentheses, so the
/// generated code finds the runtime through whichever crate the user depends on (the `optim`
/// facade or `optim-core`); without it the runtime is `::optim_core`.
pub fn optimizer(input: TokenStream) -> TokenStream {
    let (krate, spec) = split_crate_path(input);
    let spec: Spec = match syn::parse2(spec) {
        Ok(spec) => spec,
        Err(error) => return fallback(error, None),
    };
    let mut errors = Errors::default();
    let lowered = lower::lower(&spec, &mut errors);
    if let Err(error) = errors.propagate() {
        return fallback(error, Some((&spec.vis, &spec.name)));
    }
    match lowered {
        Some(rule) => generate(&spec, &rule, &krate),
        None => fallback(syn::Error::new(spec.name.span(), "invalid optimizer spec"), Some((&spec.vis, &spec.name))),
    }
}

fn split_crate_path(input: TokenStream) -> (TokenStream, TokenStream) {
    let mut tokens = input.clone().into_iter();
    match tokens.next() {
        Some(proc_macro2::TokenTree::Group(group)) if group.delimiter() == proc_macro2::Delimiter::Parenthesis => {
            (group.stream(), tokens.collect())
        }
        _ => (quote!(::optim_core), input),
    }
}

fn generate(spec: &Spec, rule: &ir::Rule, krate: &TokenStream) -> TokenStream {
    let vis = &spec.vis;
    let name = &spec.name;
    let name_str = spec.display_name.as_ref().map(syn::LitStr::value).unwrap_or_else(|| name.to_string());
    let hyper_name = format_ident!("{}Hyper", name);
    let attrs = &spec.attrs;
    let docs = generated_docs(spec, rule);
    let HyperItems { declarations, impls } = hyper_items(spec, rule, &name_str);
    let rule_impl = rule_impl(spec, rule, &name_str);
    quote! {
        #(#attrs)*
        #[doc = #docs]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        #vis struct #name;

        #declarations

        // The runtime is reached through one alias, so the code works through any re-export.
        const _: () = {
        use #krate::__private as #RT;

        #impls

        impl #name {
            /// The default hyperparameters, to adjust with the builder methods.
            #[must_use]
            pub fn hyper() -> #hyper_name {
                ::core::default::Default::default()
            }

            /// An optimizer with this rule over one group of `params`.
            ///
            /// # Errors
            /// When a hyperparameter is out of range.
            pub fn optimizer<T: #RT::Element>(
                params: ::std::vec::Vec<#RT::Param<T>>,
                hyper: #hyper_name,
            ) -> ::core::result::Result<#RT::Optimizer<#name, T>, #RT::OptimError> {
                #RT::Optimizer::new(params, hyper)
            }
        }

        #rule_impl
        };
    }
}
