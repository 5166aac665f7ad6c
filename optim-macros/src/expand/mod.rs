//! Code generation: the hyperparameter struct, the `Rule` impl and its fused kernel.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::Axis;
use crate::ast::Spec;
use crate::errors::{Errors, fallback};
use crate::ir::{self, HyperTy};
use crate::lower;
use crate::symbol::*;

mod apply;
mod docs;
mod element_loop;
mod factored;
mod prepare;
mod reduce;

use apply::*;
use docs::*;
use element_loop::*;
use factored::*;
use prepare::*;
use reduce::*;

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

fn rust_type(ty: &HyperTy) -> TokenStream {
    match ty {
        HyperTy::Float => quote!(f64),
        HyperTy::Int => quote!(i64),
        HyperTy::Bool => quote!(bool),
        HyperTy::Pair => quote!((f64, f64)),
    }
}

fn generate(spec: &Spec, rule: &ir::Rule, krate: &TokenStream) -> TokenStream {
    let rt = quote!(#RT);
    let vis = &spec.vis;
    let name = &spec.name;
    let name_str = spec.display_name.as_ref().map(syn::LitStr::value).unwrap_or_else(|| name.to_string());
    let hyper_name = format_ident!("{}Hyper", name);
    let attrs = &spec.attrs;
    let docs = generated_docs(spec, rule);
    let hyper_doc = format!("Hyperparameters of [`{name}`], with PyTorch's defaults; see its docs for the table.");

    let fields = rule.hypers.iter().map(|h| {
        let (field, ty, docs) = (&h.name, rust_type(&h.ty), &h.docs);
        quote!(#(#docs)* pub #field: #ty,)
    });
    let defaults = rule.hypers.iter().map(|h| {
        let (field, default) = (&h.name, &h.default);
        quote!(#field: #default,)
    });
    let setters = rule.hypers.iter().map(|h| {
        let (field, ty) = (&h.name, rust_type(&h.ty));
        let doc = format!("Sets `{field}` (default `{}`).", h.default_text);
        quote! {
            #[doc = #doc]
            #[must_use]
            pub fn #field(mut self, value: #ty) -> Self {
                self.#field = value;
                self
            }
        }
    });
    let names: Vec<String> = rule.hypers.iter().map(|h| h.name.to_string()).collect();
    let getters = rule.hypers.iter().map(|h| {
        let (field, key) = (&h.name, h.name.to_string());
        match h.ty {
            HyperTy::Float => quote!(#key => ::core::option::Option::Some(#rt::HyperValue::Float(self.#field)),),
            HyperTy::Int => quote!(#key => ::core::option::Option::Some(#rt::HyperValue::Int(self.#field)),),
            HyperTy::Bool => quote!(#key => ::core::option::Option::Some(#rt::HyperValue::Bool(self.#field)),),
            HyperTy::Pair => {
                quote!(#key => ::core::option::Option::Some(#rt::HyperValue::Pair(self.#field.0, self.#field.1)),)
            }
        }
    });
    let set_arms = rule.hypers.iter().map(|h| {
        let (field, key) = (&h.name, h.name.to_string());
        let (accept, expected) = match h.ty {
            HyperTy::Float => (
                quote! {
                    (#key, #rt::HyperValue::Float(v)) => self.#field = v,
                    (#key, #rt::HyperValue::Int(v)) => self.#field = v as f64,
                },
                "a float",
            ),
            HyperTy::Int => (
                quote! {
                    (#key, #rt::HyperValue::Int(v)) => self.#field = v,
                    (#key, #rt::HyperValue::Float(v)) if v.fract() == 0.0 && v.abs() < 9.0e15 => self.#field = v as i64,
                },
                "an integer",
            ),
            HyperTy::Bool => (quote!((#key, #rt::HyperValue::Bool(v)) => self.#field = v,), "a bool"),
            HyperTy::Pair => (quote!((#key, #rt::HyperValue::Pair(a, b)) => self.#field = (a, b),), "a float pair"),
        };
        quote! {
            #accept
            (#key, other) => return ::core::result::Result::Err(#rt::OptimError::HyperType {
                optimizer: #name_str, name: #key, expected: #expected, got: ::std::string::ToString::to_string(&other),
            }),
        }
    });
    let known = names.join(", ");
    let range_checks = rule.hypers.iter().filter_map(|h| {
        let (check, text) = h.range.as_ref()?;
        let (field, key) = (&h.name, h.name.to_string());
        Some(quote! {
            if !(#check) {
                return ::core::result::Result::Err(#rt::OptimError::InvalidHyper {
                    optimizer: #name_str, name: #key, value: ::std::format!("{:?}", #HYPER.#field), constraint: #text,
                });
            }
        })
    });
    let require_checks = rule.requires.iter().map(|r| {
        let (condition, message) = (&r.condition, &r.message);
        quote! {
            if !(#condition) {
                return ::core::result::Result::Err(#rt::OptimError::InvalidHyperCombination { optimizer: #name_str, message: #message });
            }
        }
    });

    let state_decls = rule.states.iter().map(|s| {
        let key = s.name.to_string();
        let condition = match &s.presence {
            Some((_, _, text)) => quote!(::core::option::Option::Some(#text)),
            None => quote!(::core::option::Option::None),
        };
        let shape = match s.axis {
            Axis::Full => quote!(#rt::StateShape::Full),
            Axis::Rows => quote!(#rt::StateShape::Rows),
            Axis::Cols => quote!(#rt::StateShape::Cols),
        };
        quote!(#rt::StateDecl { name: #key, condition: #condition, shape: #shape },)
    });
    let scalar_names = rule.scalar_states.iter().map(|s| s.name.to_string());
    let presence_arms = rule.states.iter().enumerate().map(|(i, s)| {
        let test = match &s.presence {
            Some((_, tokens, _)) => tokens.clone(),
            None => quote!(true),
        };
        quote!(#i => #test,)
    });
    let init_arms = rule.states.iter().enumerate().map(|(i, s)| {
        let init = &s.init;
        quote!(#i => #init,)
    });
    let scalar_init_arms = rule.scalar_states.iter().enumerate().map(|(i, s)| {
        let init = &s.init;
        quote!(#i => #init,)
    });

    let prepare = prepare_fn(rule);
    let pass_needed = pass_needed_fn(rule);
    let apply = apply_fn(rule);
    let reduce = reduce_fn(rule);
    let passes = rule.passes;
    let reductions = rule.reductions.iter().map(|(pass, kind)| {
        let kind = match kind {
            ir::ReduceKind::Sum => quote!(#rt::ReduceKind::Sum),
            ir::ReduceKind::Max => quote!(#rt::ReduceKind::Max),
        };
        quote!(#rt::Reduction { pass: #pass, kind: #kind },)
    });
    let slots = rule.slots;
    // a lazy row update cannot see the whole tensor a reduction needs
    let sparse = !spec.dense_only && rule.passes == 1 && !rule.factored();
    let factored = factored_items(rule);

    quote! {
        #(#attrs)*
        #[doc = #docs]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        #vis struct #name;

        #[doc = #hyper_doc]
        #[derive(Debug, Clone, Copy, PartialEq)]
        #vis struct #hyper_name {
            #(#fields)*
        }

        // The runtime is reached through one alias, so the code works through any re-export.
        const _: () = {
        use #krate::__private as #RT;

        #[automatically_derived]
        impl ::core::default::Default for #hyper_name {
            fn default() -> Self {
                Self { #(#defaults)* }
            }
        }

        impl #hyper_name {
            #(#setters)*
        }

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
            pub fn optimizer<T: #rt::Element>(
                params: ::std::vec::Vec<#rt::Param<T>>,
                hyper: #hyper_name,
            ) -> ::core::result::Result<#rt::Optimizer<#name, T>, #rt::OptimError> {
                #rt::Optimizer::new(params, hyper)
            }
        }

        #[automatically_derived]
        impl #rt::HyperSet for #hyper_name {
            fn names(&self) -> &'static [&'static str] {
                &[#(#names),*]
            }

            fn get(&self, name: &str) -> ::core::option::Option<#rt::HyperValue> {
                match name {
                    #(#getters)*
                    _ => ::core::option::Option::None,
                }
            }

            fn set(&mut self, name: &str, value: #rt::HyperValue) -> ::core::result::Result<(), #rt::OptimError> {
                match (name, value) {
                    #(#set_arms)*
                    _ => return ::core::result::Result::Err(#rt::OptimError::UnknownHyper {
                        optimizer: #name_str, name: ::std::string::ToString::to_string(name), known: ::std::string::ToString::to_string(#known),
                    }),
                }
                #[allow(unreachable_code)]
                ::core::result::Result::Ok(())
            }

            #[allow(clippy::all, unused_parens, unused_variables)]
            fn validate(&self) -> ::core::result::Result<(), #rt::OptimError> {
                let #HYPER = self;
                #(#range_checks)*
                #(#require_checks)*
                ::core::result::Result::Ok(())
            }
        }

        #[automatically_derived]
        #[allow(clippy::all, unused_parens, unused_variables, unused_mut, unused_assignments, non_snake_case)]
        impl #rt::Rule for #name {
            type Hyper = #hyper_name;
            type Prep = #rt::Prepared<#slots>;
            const NAME: &'static str = #name_str;
            const STATES: &'static [#rt::StateDecl] = &[#(#state_decls)*];
            const SCALAR_STATES: &'static [&'static str] = &[#(#scalar_names),*];
            const SPARSE: bool = #sparse;
            const PASSES: usize = #passes;
            const REDUCTIONS: &'static [#rt::Reduction] = &[#(#reductions)*];

            fn state_present(#HYPER: &Self::Hyper, #SHAPE: &[usize], index: usize) -> bool {
                let #NUMEL: usize = #SHAPE.iter().product();
                let #NDIM: usize = #SHAPE.len();
                match index {
                    #(#presence_arms)*
                    _ => false,
                }
            }

            fn state_init(#HYPER: &Self::Hyper, index: usize) -> f64 {
                match index {
                    #(#init_arms)*
                    _ => 0.0,
                }
            }

            fn scalar_state_init(#HYPER: &Self::Hyper, index: usize) -> f64 {
                match index {
                    #(#scalar_init_arms)*
                    _ => 0.0,
                }
            }

            #factored
            #prepare
            #pass_needed
            #apply
            #reduce
        }
        };
    }
}
