//! The reduction passes: `reduce_at` and, for factored rules, `reduce_factored`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::*;
use crate::ir::{self};

/// Lanes per reduction accumulator: independent partial sums let the loop vectorise while the
/// combination order stays fixed. 32 `f64` lanes are four independent AVX-512 (eight AVX2)
/// additions per step, enough to hide the adds' latency so a pass runs at memory speed (with 8,
/// one dependent chain per block capped a pass far below it). Element `i` goes to lane
/// `i % LANES` at every SIMD level, so every level gives the same bits.
pub(super) const LANES: usize = 32;

/// Elements per block of a reduction pass's loop (a multiple of [`LANES`]).
const BLOCK: usize = 64;

/// The loop of reduction pass `pass`: statements of earlier stages, then this pass's
/// accumulations into lane accumulators, folded in a fixed order into `out`.
fn reduction_loop(rule: &ir::Rule, pass: usize) -> TokenStream {
    let slots = rule.slots;
    let parts = loop_parts(rule);
    let prologue = loop_prologue(rule, &parts, TokenStream::new());
    let loads = parts.loads;
    let name = format_ident!("__reduce{}", pass);
    let body = ir::render(&rule.body, Some(pass));
    let mine: Vec<(usize, ir::ReduceKind)> = rule
        .reductions
        .iter()
        .enumerate()
        .filter(|(_, r)| r.pass == pass && r.accumulated())
        .map(|(index, r)| (index, r.kind))
        .collect();
    let inits = mine.iter().map(|(r, kind)| {
        let acc = ACCUMULATOR.at(r);
        let identity = match kind {
            ir::ReduceKind::Sum => quote!(0.0f64),
            ir::ReduceKind::Max => quote!(f64::NEG_INFINITY),
        };
        quote!(let mut #acc: [f64; #LANES] = [#identity; #LANES];)
    });
    let folds = mine.iter().map(|(r, kind)| {
        let acc = ACCUMULATOR.at(r);
        let fold = match kind {
            ir::ReduceKind::Sum => quote!(#acc.iter().fold(0.0f64, |a, b| a + b)),
            ir::ReduceKind::Max => quote!(#acc.iter().fold(f64::NEG_INFINITY, |a, b| a.max(*b))),
        };
        quote!(if let ::core::option::Option::Some(__o) = #OUT.get_mut(#r) { *__o = #fold; })
    });
    // Each block of BLOCK elements rebinds every slice to the block (no bounds checks in the
    // loop), computes the pass's values into a block array in a plain element loop (which
    // vectorises like the update loop), then folds them into the lanes: element i still goes to
    // lane i % LANES, in order, so the sums are those of a lane-by-lane loop.
    // states as fixed-size blocks too, so their loads need no bounds checks (which kept the
    // value loop from vectorising); an absent state (its presence bit clear, never read) gets
    // a block of zeros
    let block_states = full_states(rule).map(|(i, _)| {
        let slice = STATE_SLICE.at(i);
        quote! {
            let #slice: &[#ELEM; #BLOCK] = match #slice.get(__base..__base + #BLOCK).and_then(|b| b.try_into().ok()) {
                ::core::option::Option::Some(block) => block,
                ::core::option::Option::None => &__zeros,
            };
        }
    });
    let block_body = ir::render_into(&rule.body, Some(pass), ir::Sink::Block);
    let targets: Vec<_> =
        mine.iter().map(|(r, kind)| (ELEMENT_VALUE.at(r), BLOCK_VALUES.at(r), identity(*kind))).collect();
    let (block_values, element_values, element_stores) = block_targets(&targets, &quote!(#BLOCK));
    let block_folds = mine.iter().map(|(r, kind)| {
        let (values, acc) = (BLOCK_VALUES.at(r), ACCUMULATOR.at(r));
        let value = quote!(<#ELEM as #RT::Element>::to_f64(#values[__j * #LANES + #LANE]));
        let fold = match kind {
            ir::ReduceKind::Sum => quote!(#acc[#LANE] += #value;),
            ir::ReduceKind::Max => quote!(#acc[#LANE] = #acc[#LANE].max(#value);),
        };
        // lane by lane over contiguous values: a plain vector loop (convert, add) per row of
        // the block, where a `k % LANES` walk over the block was left scalar
        let live = ir::target_condition(&rule.body, pass, ir::Target::Tensor(*r));
        quote!(if #live { for __j in 0..#BLOCK / #LANES { for #LANE in 0..#LANES { #fold } } })
    });
    let walk = if rule.factored() {
        super::reduce_rows::factored_walk(rule, pass, &mine, &loads)
    } else {
        quote! {
            let __blocks = #LEN / #BLOCK;
            let __zeros: [#ELEM; #BLOCK] = [<#ELEM as #RT::Element>::ZERO; #BLOCK];
            for #MATRIX in 0..__blocks {
                let __base = #MATRIX * #BLOCK;
                let #PARAM: &[#ELEM; #BLOCK] = match #PARAM[__base..__base + #BLOCK].try_into() {
                    ::core::result::Result::Ok(block) => block,
                    ::core::result::Result::Err(_) => return,
                };
                let #GRAD: &[#ELEM; #BLOCK] = match #GRAD[__base..__base + #BLOCK].try_into() {
                    ::core::result::Result::Ok(block) => block,
                    ::core::result::Result::Err(_) => return,
                };
                #(#block_states)*
                #block_values
                for #INDEX in 0..#BLOCK {
                    #loads
                    #element_values
                    #block_body
                    #element_stores
                }
                #(#block_folds)*
            }
            for #INDEX in __blocks * #BLOCK..#LEN {
                let #LANE = #INDEX % #LANES;
                #loads
                #body
            }
        }
    };
    quote! {
        #[inline(always)]
        #[allow(clippy::all, unused_parens, unused_variables, unused_mut, unused_assignments, non_snake_case)]
        fn #name<#ELEM: #RT::Element, const __M: #RT::Mask, const __DYN: bool>(
            __m: #RT::Mask,
            #SLOTS: &[f64; #slots],
            #FACTORS: &#RT::Factors<'_, #ELEM>,
            #FACTOR_SUMS: &mut [f64],
            #PARAM: &[#ELEM],
            #GRAD: &[#ELEM],
            #STATE: &[&[#ELEM]],
            #OUT: &mut [f64],
        ) {
            #prologue
            #(#inits)*
            #walk
            #(#folds)*
        }
    }
}

/// Every pass's loop and the `ReduceKernel` that dispatches to them by pass number.
fn reducer(rule: &ir::Rule) -> TokenStream {
    let rt = quote!(#RT);
    let slots = rule.slots;
    let passes = 1..rule.passes;
    let loops = passes.clone().map(|pass| reduction_loop(rule, pass));
    let arms = passes.map(|pass| {
        let name = format_ident!("__reduce{}", pass);
        let dispatch = mask_dispatch(rule, |mask, dynamic, runtime| {
            quote!(#name::<#ELEM, #mask, #dynamic>(#runtime, &#PREP.scalars, #FACTORS, #FACTOR_SUMS, #PARAM, #GRAD, #STATE, #OUT))
        });
        quote!(#pass => #dispatch,)
    });
    quote! {
        #(#loops)*
        struct __Reducer<'__p, '__f, __U>(
            &'__p #rt::Prepared<#slots>,
            usize,
            &'__p #rt::Factors<'__f, __U>,
            ::core::cell::RefCell<&'__p mut [f64]>,
        );
        impl<#ELEM: #rt::Element> #rt::ReduceKernel<#ELEM> for __Reducer<'_, '_, #ELEM> {
            #[inline(always)]
            fn run(&self, #PARAM: &[#ELEM], #GRAD: &[#ELEM], #STATE: &[&[#ELEM]], #OUT: &mut [f64]) {
                let (#PREP, #FACTORS) = (self.0, self.2);
                let mut __accumulators = self.3.borrow_mut();
                let #FACTOR_SUMS: &mut [f64] = &mut __accumulators;
                match self.1 {
                    #(#arms)*
                    _ => {}
                }
            }
        }
    }
}

pub(super) fn reduce_fn(rule: &ir::Rule) -> TokenStream {
    if rule.passes <= 1 {
        return TokenStream::new();
    }
    let rt = quote!(#RT);
    let factored = rule.factored();
    let reducer = reducer(rule);
    let factored_entry = factored.then(|| {
        quote! {
            #[inline]
            fn reduce_factored<#ELEM: #rt::Element>(
                #LEVEL: #rt::SimdLevel,
                #PASS: usize,
                #PREP: &Self::Prep,
                #FACTORS: &#rt::Factors<'_, #ELEM>,
                #FACTOR_SUMS: &mut [f64],
                #PARAM: &[#ELEM],
                #GRAD: &[#ELEM],
                #STATE: &[&[#ELEM]],
                #OUT: &mut [f64],
            ) {
                #reducer
                let __reducer = __Reducer(#PREP, #PASS, #FACTORS, ::core::cell::RefCell::new(#FACTOR_SUMS));
                #rt::dispatch_reduce(#LEVEL, &__reducer, #PARAM, #GRAD, #STATE, #OUT)
            }
        }
    });
    let plain_body = if factored {
        quote! {
            let #FACTORS = #rt::Factors::whole(&[#PARAM.len()]);
            <Self as #rt::Rule>::reduce_factored(#LEVEL, #PASS, #PREP, &#FACTORS, &mut [], #PARAM, #GRAD, #STATE, #OUT)
        }
    } else {
        quote! {
            #reducer
            let #FACTORS = #rt::Factors::whole(&[#PARAM.len()]);
            let __reducer = __Reducer(#PREP, #PASS, &#FACTORS, ::core::cell::RefCell::new(&mut []));
            #rt::dispatch_reduce(#LEVEL, &__reducer, #PARAM, #GRAD, #STATE, #OUT)
        }
    };
    quote! {
        #[inline]
        fn reduce_at<#ELEM: #rt::Element>(
            #LEVEL: #rt::SimdLevel,
            #PASS: usize,
            #PREP: &Self::Prep,
            #PARAM: &[#ELEM],
            #GRAD: &[#ELEM],
            #STATE: &[&[#ELEM]],
            #OUT: &mut [f64],
        ) {
            #plain_body
        }
        #factored_entry
    }
}

/// A reduction's identity in the element type: what a block holds where no value was taken.
pub(super) fn identity(kind: ir::ReduceKind) -> TokenStream {
    match kind {
        ir::ReduceKind::Sum => quote!(<#ELEM as #RT::Element>::ZERO),
        ir::ReduceKind::Max => quote!(<#ELEM as #RT::Element>::from_f64(f64::NEG_INFINITY)),
    }
}

/// For a block of `len` elements, the targets' `(element local, block array, identity)`: the
/// block arrays, declared at the identity; the locals, declared at the identity before each
/// element's code (which assigns them, under its branches); and their stores into the block
/// arrays after it, unconditionally. Stores into the arrays under a branch on the run-time mask
/// were compiled to masked stores (`vmaskmovps`), which made AdaFactor's first pass over a
/// vector 3x slower than its bytes on AMD's Zen cores.
pub(super) fn block_targets(
    targets: &[(syn::Ident, syn::Ident, TokenStream)],
    len: &TokenStream,
) -> (TokenStream, TokenStream, TokenStream) {
    let arrays =
        targets.iter().map(|(_, values, identity)| quote!(let mut #values: [#ELEM; #len] = [#identity; #len];));
    let declarations = targets.iter().map(|(local, _, identity)| quote!(let mut #local: #ELEM = #identity;));
    let stores = targets.iter().map(|(local, values, _)| quote!(#values[#INDEX] = #local;));
    (quote!(#(#arrays)*), quote!(#(#declarations)*), quote!(#(#stores)*))
}
