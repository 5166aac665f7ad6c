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
            Axis::RowsByRows => quote!(#RT::StateShape::RowsByRows),
            Axis::ColsByCols => quote!(#RT::StateShape::ColsByCols),
        };
        let (non_negative, param_copy) = (s.non_negative, s.param_copy);
        quote!(#RT::StateDecl { name: #key, condition: #condition, shape: #shape, non_negative: #non_negative, param_copy: #param_copy },)
    });
    let scalar_names = rule.scalar_states.iter().map(|s| s.name.to_string());
    let passes = rule.passes;
    let reductions = rule.reductions.iter().map(|r| {
        let pass = r.pass;
        let kind = match r.kind {
            ir::ReduceKind::Sum => quote!(#RT::ReduceKind::Sum),
            ir::ReduceKind::Max => quote!(#RT::ReduceKind::Max),
        };
        let scope = match r.scope {
            ir::Scope::Tensor => quote!(#RT::ReduceScope::Tensor),
            ir::Scope::Group { f32_accumulator, slot } => {
                let from_prologue = slot.is_some();
                quote!(#RT::ReduceScope::Group { f32_accumulator: #f32_accumulator, from_prologue: #from_prologue })
            }
        };
        quote!(#RT::Reduction { pass: #pass, kind: #kind, scope: #scope },)
    });
    let slots = rule.slots;
    // a lazy row update cannot see the whole tensor a reduction needs, nor the whole group
    let sparse = !spec.dense_only && rule.passes == 1 && !rule.factored() && rule.group_states.is_empty();
    let group = group_items(rule);
    let across = spec.across_groups.as_ref().map(|(_, names)| {
        let names = names.iter().map(|n| n.to_string());
        quote! {
            const ACROSS_GROUPS: bool = true;
            const SHARED_HYPERS: &'static [&'static str] = &[#(#names),*];
        }
    });
    let grad_scale_slot = rule.grad_scale_slot;
    let initial_values = initial_values(rule);
    let factored = factored_items(rule);
    let matrix = matrix_items(rule);
    let ranks = match spec.ranks {
        Some((fewest, most)) => quote!(const RANKS: (usize, usize) = (#fewest, #most);),
        None if rule.has_matrices() => quote!(
            const RANKS: (usize, usize) = (2, usize::MAX);
        ),
        None => TokenStream::new(),
    };
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

            const SCALES_GRAD: bool = true;
            fn scale_grad(#PREP: &mut Self::Prep, __scale: f64) -> bool {
                #PREP.scalars[#grad_scale_slot] = __scale;
                true
            }

            #initial_values
            #group
            #across
            #factored
            #matrix
            #ranks
            #prepare
            #pass_needed
            #apply
            #reduce
        }
    }
}

/// Group state (names, initial values), the per-tensor numbers group reductions fold, and the
/// `eval` / `train` points.
fn group_items(rule: &ir::Rule) -> TokenStream {
    let mut items = TokenStream::new();
    if !rule.group_states.is_empty() {
        let names = rule.group_states.iter().map(|s| s.name.to_string());
        let arms = rule.group_states.iter().enumerate().map(|(i, s)| {
            let init = &s.init;
            quote!(#i => #init,)
        });
        items.extend(quote! {
            const GROUP_STATES: &'static [&'static str] = &[#(#names),*];
            fn group_state_init(#HYPER: &Self::Hyper, index: usize) -> f64 {
                match index {
                    #(#arms)*
                    _ => 0.0,
                }
            }
        });
    }
    let folds: Vec<TokenStream> = rule
        .reductions
        .iter()
        .enumerate()
        .filter_map(|(index, r)| match r.scope {
            ir::Scope::Group { slot: Some(slot), .. } => Some(quote!(#index => #PREP.scalars[#slot],)),
            _ => None,
        })
        .collect();
    if !folds.is_empty() {
        items.extend(quote! {
            fn fold_input(#PREP: &Self::Prep, reduction: usize) -> f64 {
                match reduction {
                    #(#folds)*
                    _ => 0.0,
                }
            }
        });
    }
    if let Some((eval, train)) = &rule.points {
        let loads = super::element_loop::full_states(rule).map(|(i, _)| {
            let local = STATE_VALUE.at(i);
            quote!(let #local: #ELEM = __states.get(#i).and_then(|s| s.get(__i)).copied().unwrap_or(<#ELEM as #RT::Element>::ZERO);)
        });
        items.extend(quote! {
            const POINTS: bool = true;
            fn switch_point<#ELEM: #RT::Element>(#HYPER: &Self::Hyper, __to_eval: bool, __param: &mut [#ELEM], __states: &[&[#ELEM]]) {
                for __i in 0..__param.len() {
                    let #PARAM_VALUE: #ELEM = __param[__i];
                    #(#loads)*
                    __param[__i] = if __to_eval { #eval } else { #train };
                }
            }
        });
    }
    items
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
