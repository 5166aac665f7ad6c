//! The element walk of a factored rule's reduction pass: row by row, in blocks of
//! [`LANES`](super::reduce::LANES) elements whose values go to block arrays in a plain element
//! loop (which vectorises), then fold into the lanes: tensor sums into their lane accumulators,
//! row sums into the row's own lanes (folded into the row's sum at its end), column sums added
//! into the block's columns as one fixed-size slice. Element-by-element `+=` into the row's sum
//! was one dependent add through memory per element, on one thread, and bounds-checked column
//! sums kept the loop scalar.
//!
//! Every sum has a fixed order: lane `k` of a row takes its elements `k`, `k + LANES`, ... and
//! the row's last elements (fewer than a block) one by one into lanes `0..`, the same at every
//! SIMD level; a row lies in one piece of the pass (pieces are cut by whole rows), so sums do
//! not depend on the pieces either.

use proc_macro2::TokenStream;
use quote::quote;

use super::reduce::LANES;
use super::*;
use crate::ir::{self};

/// The walk of factored pass `pass` over the chunk, accumulating the reductions `mine`
/// (index and kind) with `loads` at the top of each element's code.
pub(super) fn factored_walk(
    rule: &ir::Rule,
    pass: usize,
    mine: &[(usize, ir::ReduceKind)],
    loads: &TokenStream,
) -> TokenStream {
    let (row_sums, col_sums) = ir::factor_targets(&rule.body, pass);
    let segment = super::element_loop::row_segment(rule);
    let zero = quote!(<#ELEM as #RT::Element>::ZERO);
    let to_f64 = |value: TokenStream| quote!(<#ELEM as #RT::Element>::to_f64(#value));
    let row_lanes = row_sums.iter().map(|m| {
        let lanes = ROW_LANES.at(m);
        quote!(let mut #lanes: [f64; #LANES] = [0.0f64; #LANES];)
    });
    let row_ends = row_sums.iter().map(|m| {
        let lanes = ROW_LANES.at(m);
        quote! {
            if let ::core::option::Option::Some(__o) = #FACTOR_SUMS.get_mut(#m * #ALL_ROWS + #ROW) {
                *__o += #lanes.iter().fold(0.0f64, |a, b| a + b);
            }
        }
    });
    let block_states = full_states(rule).map(|(i, _)| {
        let slice = STATE_SLICE.at(i);
        quote! {
            let #slice: &[#ELEM; #LANES] = match #slice.get(__i0..__i0 + #LANES).and_then(|b| b.try_into().ok()) {
                ::core::option::Option::Some(block) => block,
                ::core::option::Option::None => &__zeros,
            };
        }
    });
    // the segment's column views cut to the block, as fixed-size arrays like the slices (an
    // absent state's empty view gives a block of zeros, as an absent state's slice does)
    let block_col_views = rule.col_views.iter().map(|ir::ColView { view, .. }| {
        quote! {
            let #view: &[#ELEM; #LANES] = match #view.get(__i0 - __start..__i0 - __start + #LANES).and_then(|b| b.try_into().ok()) {
                ::core::option::Option::Some(block) => block,
                ::core::option::Option::None => &__zeros,
            };
        }
    });
    let targets: Vec<_> = mine
        .iter()
        .map(|(r, kind)| (ELEMENT_VALUE.at(r), BLOCK_VALUES.at(r), super::reduce::identity(*kind)))
        .chain(row_sums.iter().map(|m| (ELEMENT_ROW_VALUE.at(m), BLOCK_ROWS.at(m), zero.clone())))
        .chain(col_sums.iter().map(|m| (ELEMENT_COL_VALUE.at(m), BLOCK_COLS.at(m), zero.clone())))
        .collect();
    let (block_arrays, element_values, element_stores) = super::reduce::block_targets(&targets, &quote!(#LANES));
    // a target whose accumulations are all under branches false for this tensor has only
    // identity values in its block: not folded (see `ir::target_condition`)
    let live = |target: ir::Target| ir::target_condition(&rule.body, pass, target);
    let tensor_folds = mine.iter().map(|(r, kind)| {
        let (values, acc) = (BLOCK_VALUES.at(r), ACCUMULATOR.at(r));
        let value = to_f64(quote!(#values[#LANE]));
        let live = live(ir::Target::Tensor(*r));
        match kind {
            ir::ReduceKind::Sum => quote!(if #live { for #LANE in 0..#LANES { #acc[#LANE] += #value; } }),
            ir::ReduceKind::Max => {
                quote!(if #live { for #LANE in 0..#LANES { #acc[#LANE] = #acc[#LANE].max(#value); } })
            }
        }
    });
    let row_folds = row_sums.iter().map(|m| {
        let (values, lanes) = (BLOCK_ROWS.at(m), ROW_LANES.at(m));
        let value = to_f64(quote!(#values[#LANE]));
        let live = live(ir::Target::Rows(*m));
        quote!(if #live { for #LANE in 0..#LANES { #lanes[#LANE] += #value; } })
    });
    let col_folds = col_sums.iter().map(|m| {
        let values = BLOCK_COLS.at(m);
        let value = to_f64(quote!(#values[#LANE]));
        let live = live(ir::Target::Cols(*m));
        quote! {
            if #live {
            let __first = #ROW_SUM_COUNT * #ALL_ROWS + #m * #ALL_COLS + __cb;
            let __cols: ::core::option::Option<&mut [f64; #LANES]> =
                #FACTOR_SUMS.get_mut(__first..__first + #LANES).and_then(|s| s.try_into().ok());
            if let ::core::option::Option::Some(__cols) = __cols {
                for #LANE in 0..#LANES { __cols[#LANE] += #value; }
            }
            }
        }
    });
    let block_body = ir::render_into(&rule.body, Some(pass), ir::Sink::Block);
    let tail_body = ir::render_into(&rule.body, Some(pass), ir::Sink::RowLanes);
    quote! {
        let __zeros: [#ELEM; #LANES] = [#zero; #LANES];
        let mut __start = 0usize;
        while __start < #LEN {
            #segment
            #(#row_lanes)*
            let mut __i0 = __start;
            while __i0 + #LANES <= __end {
                // the block's first column; every slice rebound to the block, so the value
                // loop has no bounds checks
                let __cb = __cbase.wrapping_add(__i0);
                let #PARAM: &[#ELEM; #LANES] = match #PARAM.get(__i0..__i0 + #LANES).and_then(|b| b.try_into().ok()) {
                    ::core::option::Option::Some(block) => block,
                    ::core::option::Option::None => return,
                };
                let #GRAD: &[#ELEM; #LANES] = match #GRAD.get(__i0..__i0 + #LANES).and_then(|b| b.try_into().ok()) {
                    ::core::option::Option::Some(block) => block,
                    ::core::option::Option::None => return,
                };
                #(#block_states)*
                #(#block_col_views)*
                #block_arrays
                for #INDEX in 0..#LANES {
                    let #COL_AT = #INDEX;
                    #loads
                    #element_values
                    #block_body
                    #element_stores
                }
                #(#tensor_folds)*
                #(#row_folds)*
                #(#col_folds)*
                __i0 += #LANES;
            }
            let __tail = __i0;
            for #INDEX in __tail..__end {
                let #COL = __cbase.wrapping_add(#INDEX);
                let #COL_AT = #INDEX - __start;
                let #LANE = #INDEX - __tail;
                #loads
                #tail_body
            }
            #(#row_ends)*
            __start = __end;
        }
    }
}
