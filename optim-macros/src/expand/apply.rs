//! The update pass: `apply_at` and, for factored rules, `apply_factored`.

use proc_macro2::TokenStream;
use quote::quote;

use super::*;
use crate::ir::{self};

/// The update loop and the `Kernel` that runs it for the prepared mask.
fn element_loop(rule: &ir::Rule) -> TokenStream {
    let rt = quote!(#RT);
    let slots = rule.slots;
    let parts = loop_parts_reading(rule, rule.has_matrices());
    let prologue = loop_prologue(rule, &parts, quote!(mut));
    let LoopParts { state_slices, loads, .. } = parts;
    let stores = full_states(rule).filter(|(_, s)| s.written).map(|(i, state)| {
        let (local, slice) = (STATE_VALUE.at(i), &state_slices[i]);
        let present = presence_test(state);
        quote!(if #present { #slice[#INDEX] = #local; })
    });
    let param_store = rule.param_written.then(|| quote!(#PARAM[#INDEX] = #PARAM_VALUE;));
    let body = ir::render(&rule.body, None);
    let walk = element_walk(rule, quote!(#loads #body #param_store #(#stores)*));
    let dispatch = mask_dispatch(
        rule,
        |mask, dynamic, runtime| quote!(__loop::<#ELEM, #mask, #dynamic>(#runtime, &#PREP.scalars, #FACTORS, #PARAM, #GRAD, #STATE)),
    );
    quote! {
        #[inline(always)]
        #[allow(clippy::all, unused_parens, unused_variables, unused_mut, unused_assignments, non_snake_case)]
        fn __loop<#ELEM: #rt::Element, const __M: #RT::Mask, const __DYN: bool>(
            __m: #RT::Mask,
            #SLOTS: &[f64; #slots],
            #FACTORS: &#rt::Factors<'_, #ELEM>,
            #PARAM: &mut [#ELEM],
            #GRAD: &[#ELEM],
            #STATE: &mut [&mut [#ELEM]],
        ) {
            #prologue
            #walk
        }
        struct __Kernel<'__p, '__f, __U>(&'__p #rt::Prepared<#slots>, &'__p #rt::Factors<'__f, __U>);
        impl<#ELEM: #rt::Element> #rt::Kernel<#ELEM> for __Kernel<'_, '_, #ELEM> {
            #[inline(always)]
            fn run(&self, #PARAM: &mut [#ELEM], #GRAD: &[#ELEM], #STATE: &mut [&mut [#ELEM]]) {
                let (#PREP, #FACTORS) = (self.0, self.1);
                #dispatch
            }
        }
    }
}

pub(super) fn apply_fn(rule: &ir::Rule) -> TokenStream {
    let rt = quote!(#RT);
    let factored = rule.factored();
    let element_loop = element_loop(rule);
    let apply_at = quote! {
        #[inline]
        fn apply_at<#ELEM: #rt::Element>(
            #LEVEL: #rt::SimdLevel,
            #PREP: &Self::Prep,
            #PARAM: &mut [#ELEM],
            #GRAD: &[#ELEM],
            #STATE: &mut [&mut [#ELEM]],
        )
    };
    if !factored {
        return quote! {
            #apply_at {
                #element_loop
                let #FACTORS = #rt::Factors::whole(&[#PARAM.len()]);
                #rt::dispatch(#LEVEL, &__Kernel(#PREP, &#FACTORS), #PARAM, #GRAD, #STATE)
            }
        };
    }
    quote! {
        /// Without factors the tensor counts as one row; call [`Rule::apply_factored`] instead.
        #apply_at {
            let #FACTORS = #rt::Factors::whole(&[#PARAM.len()]);
            <Self as #rt::Rule>::apply_factored(#LEVEL, #PREP, &#FACTORS, #PARAM, #GRAD, #STATE)
        }

        #[inline]
        fn apply_factored<#ELEM: #rt::Element>(
            #LEVEL: #rt::SimdLevel,
            #PREP: &Self::Prep,
            #FACTORS: &#rt::Factors<'_, #ELEM>,
            #PARAM: &mut [#ELEM],
            #GRAD: &[#ELEM],
            #STATE: &mut [&mut [#ELEM]],
        ) {
            #element_loop
            #rt::dispatch(#LEVEL, &__Kernel(#PREP, #FACTORS), #PARAM, #GRAD, #STATE)
        }
    }
}
