//! The hyperparameter struct of a rule: fields, defaults, builder methods, choice enums, and its
//! `HyperSet` impl (names, typed get/set for schedulers and checkpoints, validation).

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};

use crate::ast::Spec;
use crate::ir::{self, HyperTy};
use crate::symbol::*;

/// The Rust type of a hyperparameter's field.
fn rust_type(ty: &HyperTy) -> TokenStream {
    match ty {
        HyperTy::Float => quote!(f64),
        HyperTy::Int => quote!(i64),
        HyperTy::Bool => quote!(bool),
        HyperTy::Pair => quote!((f64, f64)),
        HyperTy::Triple => quote!((f64, f64, f64)),
        HyperTy::OptionalFloat => quote!(::core::option::Option<f64>),
        HyperTy::Choice(choice) => choice.enum_name.to_token_stream(),
    }
}

/// The items declared beside the rule (the struct and choice enums; public, so outside the
/// runtime alias's scope) and the impls that use the runtime.
pub(super) struct HyperItems {
    pub declarations: TokenStream,
    pub impls: TokenStream,
}

pub(super) fn hyper_items(spec: &Spec, rule: &ir::Rule, name_str: &str) -> HyperItems {
    let (vis, name) = (&spec.vis, &spec.name);
    let hyper_name = format_ident!("{}Hyper", name);
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
    let enums = rule.hypers.iter().filter_map(|h| match &h.ty {
        HyperTy::Choice(choice) => Some(choice_enum(vis, name, &h.name, choice)),
        _ => None,
    });
    let hyper_set = hyper_set_impl(rule, &hyper_name, name_str);
    let declarations = quote! {
        #[doc = #hyper_doc]
        #[derive(Debug, Clone, Copy, PartialEq)]
        #vis struct #hyper_name {
            #(#fields)*
        }
        #(#enums)*
    };
    let impls = quote! {
        #[automatically_derived]
        impl ::core::default::Default for #hyper_name {
            fn default() -> Self {
                Self { #(#defaults)* }
            }
        }

        impl #hyper_name {
            #(#setters)*
        }

        #hyper_set
    };
    HyperItems { declarations, impls }
}

/// `"adamw" | "lion"` as `enum MarsMarsType { Adamw, Lion }`, the first the default, with its
/// names as PyTorch spells them.
fn choice_enum(vis: &syn::Visibility, rule: &syn::Ident, field: &syn::Ident, choice: &ir::ChoiceTy) -> TokenStream {
    let enum_name = &choice.enum_name;
    let doc = format!("The choices of [`{rule}`]'s `{field}`, by the names PyTorch users pass.");
    let variants = choice.options.iter().enumerate().map(|(i, (text, variant))| {
        let doc = format!("`\"{text}\"`");
        let default = (i == 0).then(|| quote!(#[default]));
        quote!(#[doc = #doc] #default #variant,)
    });
    let names = choice.options.iter().map(|(text, _)| text);
    let as_str = choice.options.iter().map(|(text, variant)| quote!(#enum_name::#variant => #text,));
    let from_name = choice
        .options
        .iter()
        .map(|(text, variant)| quote!(#text => ::core::option::Option::Some(#enum_name::#variant),));
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        #vis enum #enum_name {
            #(#variants)*
        }

        #[automatically_derived]
        impl #enum_name {
            /// Every choice's name, in declaration order (the first is the default).
            pub const NAMES: &'static [&'static str] = &[#(#names),*];

            /// The name of this choice.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { #(#as_str)* }
            }

            /// The choice called `name`, if there is one.
            #[must_use]
            pub fn from_name(name: &str) -> ::core::option::Option<Self> {
                match name { #(#from_name)* _ => ::core::option::Option::None }
            }
        }
    }
}

fn hyper_set_impl(rule: &ir::Rule, hyper_name: &syn::Ident, name_str: &str) -> TokenStream {
    let names: Vec<String> = rule.hypers.iter().map(|h| h.name.to_string()).collect();
    let known = names.join(", ");
    let getters = rule.hypers.iter().map(getter);
    let optional: Vec<String> = rule.hypers.iter().filter(|h| h.optional_on_load).map(|h| h.name.to_string()).collect();
    let optional_on_load = (!optional.is_empty()).then(|| {
        quote! {
            fn optional_on_load(&self) -> &'static [&'static str] {
                &[#(#optional),*]
            }
        }
    });
    let set_arms = rule.hypers.iter().map(|h| set_arm(h, name_str));
    let choices = rule.hypers.iter().filter_map(|h| match &h.ty {
        HyperTy::Choice(choice) => {
            let (key, enum_name) = (h.name.to_string(), &choice.enum_name);
            Some(quote!(#key => #enum_name::NAMES,))
        }
        _ => None,
    });
    let range_checks = rule.hypers.iter().filter_map(|h| {
        let (check, text) = h.range.as_ref()?;
        let (field, key) = (&h.name, h.name.to_string());
        Some(quote! {
            if !(#check) {
                return ::core::result::Result::Err(#RT::OptimError::InvalidHyper {
                    optimizer: #name_str, name: #key, value: ::std::format!("{:?}", #HYPER.#field), constraint: #text,
                });
            }
        })
    });
    let require_checks = rule.requires.iter().map(|r| {
        let (condition, message) = (&r.condition, &r.message);
        quote! {
            if !(#condition) {
                return ::core::result::Result::Err(#RT::OptimError::InvalidHyperCombination { optimizer: #name_str, message: #message });
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #RT::HyperSet for #hyper_name {
            fn names(&self) -> &'static [&'static str] {
                &[#(#names),*]
            }

            fn get(&self, name: &str) -> ::core::option::Option<#RT::HyperValue> {
                match name {
                    #(#getters)*
                    _ => ::core::option::Option::None,
                }
            }

            fn set(&mut self, name: &str, value: #RT::HyperValue) -> ::core::result::Result<(), #RT::OptimError> {
                match (name, value) {
                    #(#set_arms)*
                    _ => return ::core::result::Result::Err(#RT::OptimError::UnknownHyper {
                        optimizer: #name_str, name: ::std::string::ToString::to_string(name), known: ::std::string::ToString::to_string(#known),
                    }),
                }
                #[allow(unreachable_code)]
                ::core::result::Result::Ok(())
            }

            #[allow(clippy::all, unused_parens, unused_variables)]
            fn validate(&self) -> ::core::result::Result<(), #RT::OptimError> {
                let #HYPER = self;
                #(#range_checks)*
                #(#require_checks)*
                ::core::result::Result::Ok(())
            }

            fn choices(&self, name: &str) -> &'static [&'static str] {
                match name {
                    #(#choices)*
                    _ => &[],
                }
            }

            #optional_on_load
        }
    }
}

/// `get`'s arm for one hyperparameter: its value as the runtime's `HyperValue`.
fn getter(h: &ir::Hyper) -> TokenStream {
    let (field, key) = (&h.name, h.name.to_string());
    let some = quote!(::core::option::Option::Some);
    match &h.ty {
        HyperTy::Float => quote!(#key => #some(#RT::HyperValue::Float(self.#field)),),
        HyperTy::Int => quote!(#key => #some(#RT::HyperValue::Int(self.#field)),),
        HyperTy::Bool => quote!(#key => #some(#RT::HyperValue::Bool(self.#field)),),
        HyperTy::Pair => quote!(#key => #some(#RT::HyperValue::Pair(self.#field.0, self.#field.1)),),
        HyperTy::Triple => {
            quote!(#key => #some(#RT::HyperValue::Triple(self.#field.0, self.#field.1, self.#field.2)),)
        }
        HyperTy::OptionalFloat => quote! {
            #key => #some(self.#field.map_or(#RT::HyperValue::Unset, #RT::HyperValue::Float)),
        },
        HyperTy::Choice(_) => quote!(#key => #RT::ChoiceName::new(self.#field.as_str()).map(#RT::HyperValue::Choice),),
    }
}

/// `set`'s arms for one hyperparameter: the values it accepts, then a typed error.
fn set_arm(h: &ir::Hyper, name_str: &str) -> TokenStream {
    let (field, key) = (&h.name, h.name.to_string());
    let value = quote!(#RT::HyperValue);
    let (accept, expected) = match &h.ty {
        HyperTy::Float => (
            quote! {
                (#key, #value::Float(v)) => self.#field = v,
                (#key, #value::Int(v)) => self.#field = v as f64,
            },
            "a float".to_owned(),
        ),
        HyperTy::Int => (
            quote! {
                (#key, #value::Int(v)) => self.#field = v,
                (#key, #value::Float(v)) if v.fract() == 0.0 && v.abs() < 9.0e15 => self.#field = v as i64,
            },
            "an integer".to_owned(),
        ),
        HyperTy::Bool => (quote!((#key, #value::Bool(v)) => self.#field = v,), "a bool".to_owned()),
        HyperTy::Pair => (quote!((#key, #value::Pair(a, b)) => self.#field = (a, b),), "a float pair".to_owned()),
        HyperTy::Triple => {
            (quote!((#key, #value::Triple(a, b, c)) => self.#field = (a, b, c),), "three floats".to_owned())
        }
        HyperTy::OptionalFloat => (
            quote! {
                (#key, #value::Float(v)) => self.#field = ::core::option::Option::Some(v),
                (#key, #value::Int(v)) => self.#field = ::core::option::Option::Some(v as f64),
                (#key, #value::Unset) => self.#field = ::core::option::Option::None,
            },
            "a float or None".to_owned(),
        ),
        HyperTy::Choice(choice) => {
            let enum_name = &choice.enum_name;
            let names: Vec<&str> = choice.options.iter().map(|(text, _)| text.as_str()).collect();
            let constraint = format!("one of {}", names.join(", "));
            (
                quote! {
                    (#key, #value::Choice(v)) => match #enum_name::from_name(v.as_str()) {
                        ::core::option::Option::Some(choice) => self.#field = choice,
                        ::core::option::Option::None => return ::core::result::Result::Err(#RT::OptimError::InvalidHyper {
                            optimizer: #name_str, name: #key, value: ::std::format!("{:?}", v.as_str()), constraint: #constraint,
                        }),
                    },
                },
                format!("a name ({constraint})"),
            )
        }
    };
    quote! {
        #accept
        (#key, other) => return ::core::result::Result::Err(#RT::OptimError::HyperType {
            optimizer: #name_str, name: #key, expected: #expected, got: ::std::string::ToString::to_string(&other),
        }),
    }
}
