//! Row and column code of a factored rule, run between passes.

use proc_macro2::TokenStream;
use quote::quote;

use super::*;
use crate::ir::{self};

/// For a factored rule: its buffer sizes and the row/column code run between passes.
pub(super) fn factored_items(rule: &ir::Rule) -> TokenStream {
    if !rule.factored() {
        return TokenStream::new();
    }
    let rt = quote!(#RT);
    let (tr, tc) = rule.temps;
    let (ar, ac) = rule.accumulators;
    let state_slices: Vec<_> = (0..rule.states.len()).map(|i| STATE_SLICE.at(i)).collect();
    let slots = (0..rule.slots).map(|i| {
        let local = SLOT.at(i);
        quote!(let #local: f64 = #PREP.scalars[#i];)
    });
    let locals = factor_locals(rule, false);
    let code = rule.factored_code.iter().map(|(stage, code)| quote!(if #STAGE == #stage { #code }));
    let sums_needed = factor_sums_needed(rule);
    quote! {
        #sums_needed

        const FACTORED: bool = true;
        const TEMPORARIES: #rt::FactorBuffers = #rt::FactorBuffers { rows: #tr, cols: #tc };
        const ACCUMULATORS: #rt::FactorBuffers = #rt::FactorBuffers { rows: #ar, cols: #ac };

        fn factored_stage<#ELEM: #rt::Element>(
            #PREP: &Self::Prep,
            #STAGE: usize,
            #STATE: &mut [&mut [#ELEM]],
            __factors: #rt::FactorsMut<'_>,
        ) -> bool {
            let #MASK: #RT::Mask = #PREP.mask;
            #(#slots)*
            let #rt::FactorsMut { slices, rows, cols, temps: #TEMPS, accumulators: #FACTOR_SUMS } = __factors;
            let #FACTORS = #rt::Factors::<#ELEM> { slices, rows, cols, ..#rt::Factors::whole(&[]) };
            #[allow(unused_mut)]
            let mut #WROTE_TEMPS = false;
            let [#(#state_slices),*] = #STATE else { return false };
            #locals
            #(#code)*
            #WROTE_TEMPS
        }
    }
}

/// `factor_sums_needed`: whether pass `p`'s row and column sums are reachable for a tensor
/// whose prologue gave `prep`. Without them the pass is a plain tree reduction (threaded, no
/// buffers to zero); a vector under AdaFactor's `if ndim >= 2` zeroed a column-sum buffer as
/// long as itself and walked on one thread.
fn factor_sums_needed(rule: &ir::Rule) -> TokenStream {
    let arms = (1..rule.passes).map(|pass| {
        let conditions = ir::factor_conditions(&rule.body, pass);
        quote!(#pass => false #(|| (#conditions))*,)
    });
    super::prepare::pass_predicate(quote!(factor_sums_needed), arms, false)
}
