//! The `Rule` impl: the state layout, initial values, presence conditions and the kernels.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::*;
use crate::ast::{Axis, Spec};
use crate::ir;

pub(super) fn rule_impl(spec: &Spec, rule: &ir::Rule, name_str: &str) -> TokenStream {
    let name = &spec.name;
    let hyper_name = format_ident!("{}Hyper", name);
    let state_decls = rule.states.iter().map(|s| {
        let key = s.name.to_string();
        let condition = match &s.presence {
            Some((_, _, text)) => quote!(::core::option::Option::Some(#text)),
            None => quote!(::core::option::Option::None),
        };
        let shape = match s.axis {
            Axis::Full => quote!(#RT::StateShape::Full),
            Axis::Rows => quote!(#RT::StateShape::Rows),
            Axis::Cols => quote!(#RT::StateShape::Cols),
        };
        quote!(#RT::StateDecl { name: #key, condition: #condition, shape: #shape },)
    });
    let scalar_names = rule.scalar_states.iter().map(|s| s.name.to_string());
    let passes = rule.passes;
    let reductions = rule.reductions.iter().map(|(pass, kind)| {
        let kind = match kind {
            ir::ReduceKind::Sum => quote!(#RT::ReduceKind::Sum),
            ir::ReduceKind::Max => quote!(#RT::ReduceKind::Max),
        };
        quote!(#RT::Reduction { pass: #pass, kind: #kind },)
    });
    let slots = rule.slots;
    // a lazy row update cannot see the whole tensor a reduction needs
    let sparse = !spec.dense_only && rule.passes == 1 && !rule.factored();
    let initial_values = initial_values(rule);
    let factored = factored_items(rule);
    let prepare = prepare_fn(rule);
    let pass_needed = pass_needed_fn(rule);
    let apply = apply_fn(rule);
    let reduce = reduce_fn(rule);
    quote! {
        #[automatically_derived]
        #[allow(clippy::all, unused_parens, unused_variables, unused_mut, unused_assignments, non_snake_case)]
        impl #RT::Rule for #name {
            type Hyper = #hyper_name;
            type Prep = #RT::Prepared<#slots>;
            const NAME: &'static str = #name_str;
            const STATES: &'static [#RT::StateDecl] = &[#(#state_decls)*];
            const SCALAR_STATES: &'static [&'static str] = &[#(#scalar_names),*];
            const SPARSE: bool = #sparse;
            const PASSES: usize = #passes;
            const REDUCTIONS: &'static [#RT::Reduction] = &[#(#reductions)*];

            #initial_values
            #factored
            #prepare
            #pass_needed
            #apply
            #reduce
        }
    }
}

/// Presence conditions and initial values of the states: constants from hyperparameters, and
/// for a state that starts from the parameter (`z = param`) a function of each element.
fn initial_values(rule: &ir::Rule) -> TokenStream {
    let presence_arms = rule.states.iter().enumerate().map(|(i, s)| {
        let test = match &s.presence {
            Some((_, tokens, _)) => tokens.clone(),
            None => quote!(true),
        };
        quote!(#i => #test,)
    });
    let constant = |s: &&ir::ElemState| !s.init_reads_param;
    let init_arms = rule.states.iter().enumerate().filter(|(_, s)| constant(s)).map(|(i, s)| {
        let init = &s.init;
        quote!(#i => #init,)
    });
    let scalar_init_arms = rule.scalar_states.iter().enumerate().map(|(i, s)| {
        let init = &s.init;
        quote!(#i => #init,)
    });
    let from_param: Vec<_> = rule.states.iter().enumerate().filter(|(_, s)| s.init_reads_param).collect();
    let per_element = (!from_param.is_empty()).then(|| {
        let indices = from_param.iter().map(|(i, _)| i);
        let arms = from_param.iter().map(|(i, s)| {
            let init = &s.init;
            quote!(#i => #init,)
        });
        quote! {
            fn state_init_reads_param(index: usize) -> bool {
                matches!(index, #(#indices)|*)
            }

            fn state_init_at<#ELEM: #RT::Element>(#HYPER: &Self::Hyper, index: usize, #PARAM_VALUE: #ELEM) -> #ELEM {
                match index {
                    #(#arms)*
                    _ => <#ELEM as #RT::Element>::from_f64(<Self as #RT::Rule>::state_init(#HYPER, index)),
                }
            }
        }
    });
    quote! {
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

        #per_element
    }
}
