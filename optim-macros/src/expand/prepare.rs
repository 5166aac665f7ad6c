//! `prepare_stage`: the scalar program, once per tensor per stage, and the mask dispatch.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::*;
use crate::ir::{self};

/// Above this many hoisted conditions the loop reads the mask at run time instead of being
/// specialised for each of the 2^n configurations.
pub(super) const MAX_SPECIALISED_BITS: usize = 5;

pub(super) fn prepare_fn(rule: &ir::Rule) -> TokenStream {
    let rt = quote!(#RT);
    let slots = rule.slots;
    let passes = rule.passes;
    let loads = (0..rule.scalar_states.len()).map(|i| {
        let local = SCALAR_STATE.at(i);
        quote!(let mut #local: f64 = #SCALAR_STATE_IN.get(#i).copied().unwrap_or_default();)
    });
    let stores = (0..rule.scalar_states.len()).map(|i| {
        let local = SCALAR_STATE.at(i);
        quote!(if let ::core::option::Option::Some(__slot) = #SCALAR_STATE_IN.get_mut(#i) { *__slot = #local; })
    });
    let group_loads = (0..rule.group_states.len()).map(|i| {
        let local = GROUP_STATE.at(i);
        quote!(let mut #local: f64 = #GROUP_STATE_IN.current.get(#i).copied().unwrap_or_default();)
    });
    let group_stores = (0..rule.group_states.len()).map(|i| {
        let local = GROUP_STATE.at(i);
        quote!(if let ::core::option::Option::Some(__slot) = #GROUP_STATE_IN.next.get_mut(#i) { *__slot = #local; })
    });
    let prologue = &rule.prologue;
    let body = quote! {
        let #NUMEL: usize = #SHAPE.iter().product();
        let #NDIM: usize = #SHAPE.len();
        #(#loads)*
        #(#group_loads)*
        let mut #SLOTS = [0.0f64; #slots];
        let mut #MASK: #RT::Mask = 0;
        #(#prologue)*
        // every stage recomputes the scalar program from the same inputs; only the last
        // one, which sees every reduction, keeps the new scalar and group state
        if #STAGE + 1 >= #passes {
            #(#stores)*
            #(#group_stores)*
        }
        #rt::Prepared { scalars: #SLOTS, mask: #MASK }
    };
    let signature = quote! {
        fn prepare_stage(
            #HYPER: &Self::Hyper,
            #STEP: u64,
            #SCALAR_STATE_IN: &mut [f64],
            #SHAPE: &[usize],
            #REDUCTIONS: &[f64],
            #STAGE: usize,
        ) -> Self::Prep
    };
    if rule.group_states.is_empty() {
        return quote! {
            #signature {
                let #GROUP_STATE_IN = #rt::GroupScalars { current: &[], next: &mut [] };
                #body
            }
        };
    }
    let count = rule.group_states.len();
    quote! {
        /// Without a param group, the group's values start from their initial values and
        /// what the step makes of them is dropped; [`Optimizer`] keeps them in the group.
        #signature {
            let __current: [f64; #count] = ::core::array::from_fn(|i| <Self as #rt::Rule>::group_state_init(#HYPER, i));
            let mut __next = [0.0f64; #count];
            let __group = #rt::GroupScalars { current: &__current, next: &mut __next };
            <Self as #rt::Rule>::prepare_in_group(#HYPER, #STEP, #SCALAR_STATE_IN, __group, #SHAPE, #REDUCTIONS, #STAGE)
        }

        fn prepare_in_group(
            #HYPER: &Self::Hyper,
            #STEP: u64,
            #SCALAR_STATE_IN: &mut [f64],
            #GROUP_STATE_IN: #rt::GroupScalars<'_>,
            #SHAPE: &[usize],
            #REDUCTIONS: &[f64],
            #STAGE: usize,
        ) -> Self::Prep {
            #body
        }
    }
}

/// A `match` on the prepared mask that calls `call(mask literal, dynamic, runtime mask)`.
pub(super) fn mask_dispatch(
    rule: &ir::Rule,
    call: impl Fn(TokenStream, bool, TokenStream) -> TokenStream,
) -> TokenStream {
    if rule.bits <= MAX_SPECIALISED_BITS {
        let arms = (0..(1u32 << rule.bits) - 1).map(|mask| {
            let literal = Literal::u32_unsuffixed(mask);
            let call = call(quote!(#literal), false, quote!(0));
            quote!(#literal => #call,)
        });
        let last = Literal::u32_unsuffixed((1u32 << rule.bits) - 1);
        let last_call = call(quote!(#last), false, quote!(0));
        quote!(match #PREP.mask { #(#arms)* _ => #last_call, })
    } else {
        // too many conditions for every configuration: specialise on the bits that say which
        // states exist (their loads and stores are then unconditional, which the vectoriser
        // needs) and the first others up to the limit; read the rest at run time (value
        // choices, which become selects)
        let specialised_set = specialised_bits(rule);
        let bits: Vec<u32> = (0..32).filter(|b| specialised_set >> b & 1 == 1).collect();
        let specialised = |combination: u32| {
            let mask = bits.iter().enumerate().fold(0u32, |m, (k, bit)| m | ((combination >> k) & 1) << bit);
            let literal = Literal::u32_unsuffixed(mask);
            (literal.clone(), call(quote!(#literal), true, quote!(#PREP.mask)))
        };
        let last = (1u32 << bits.len()) - 1;
        let arms = (0..last).map(|combination| {
            let (literal, call) = specialised(combination);
            quote!(#literal => #call,)
        });
        let (_, last_call) = specialised(last);
        let specialised_set = Literal::u32_unsuffixed(specialised_set);
        quote!(match #PREP.mask & #specialised_set { #(#arms)* _ => #last_call, })
    }
}

/// For a rule with more conditions than [`MAX_SPECIALISED_BITS`], the mask bits the loops are
/// specialised on: the states' presence conditions (when few enough; else none, and the loop
/// reads every bit at run time), then the first other conditions up to the limit. A bit read at
/// run time makes both arms of its branches run and be blended: AdaFactor's second pass read
/// the parameter for a weight decay that was off (its `weight_decay > 0 && !weight_decouple`).
pub(super) fn specialised_bits(rule: &ir::Rule) -> u32 {
    let presence = rule.states.iter().filter_map(|s| s.presence.as_ref()).fold(0u32, |m, (bit, _, _)| m | 1 << bit);
    if rule.bits <= MAX_SPECIALISED_BITS || presence.count_ones() as usize > MAX_SPECIALISED_BITS {
        return 0;
    }
    let others = (0..rule.bits.min(32) as u32).filter(|bit| presence >> bit & 1 == 0);
    let room = MAX_SPECIALISED_BITS - presence.count_ones() as usize;
    others.take(room).fold(presence, |m, bit| m | 1 << bit)
}

/// `pass_needed`, when some reduction pass runs only under a flag: the pass is skipped for a
/// tensor whose mask makes every accumulation of that pass unreachable.
pub(super) fn pass_needed_fn(rule: &ir::Rule) -> TokenStream {
    let conditions: Vec<Vec<TokenStream>> =
        (1..rule.passes).map(|pass| ir::pass_conditions(&rule.body, pass)).collect();
    let always = quote!(true).to_string();
    let unconditional = conditions.iter().all(|c| c.iter().any(|c| c.to_string() == always));
    let arms =
        conditions.iter().zip(1..rule.passes).map(|(conditions, pass)| quote!(#pass => false #(|| (#conditions))*,));
    // a factored rule's row/column code between passes still runs for a skipped pass; it reads
    // only sums of that pass, which sit under the same conditions as the pass's accumulations
    if unconditional {
        return TokenStream::new();
    }
    pass_predicate(quote!(pass_needed), arms, true)
}

/// `fn name(prep, pass) -> bool`: a `match` on the pass with one arm per reduction pass (each
/// the OR of its conditions on the prologue's mask), `otherwise` for any other pass.
pub(super) fn pass_predicate(
    name: TokenStream,
    arms: impl Iterator<Item = TokenStream>,
    otherwise: bool,
) -> TokenStream {
    quote! {
        fn #name(#PREP: &Self::Prep, #PASS: usize) -> bool {
            let #MASK: #RT::Mask = #PREP.mask;
            match #PASS {
                #(#arms)*
                _ => #otherwise,
            }
        }
    }
}
