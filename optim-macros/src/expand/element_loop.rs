//! The parts every element loop shares: slices, loads, lengths, the row-aware walk.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::*;
use crate::ast::Axis;
use crate::ir::{self};

/// The parts of an element loop shared by the update pass and the reduction passes.
pub(super) struct LoopParts {
    pub(super) state_slices: Vec<syn::Ident>,
    pub(super) convert: TokenStream,
    pub(super) lengths: TokenStream,
    pub(super) loads: TokenStream,
}

/// The start of every loop function: the mask, the state slices, the slots in the element
/// type, the loop's length and every slice cut to it (`&mut` for the update, `&` for a pass).
pub(super) fn loop_prologue(rule: &ir::Rule, parts: &LoopParts, mutability: TokenStream) -> TokenStream {
    let LoopParts { state_slices, convert, lengths, .. } = parts;
    let locals = factor_locals(rule, true);
    let reslices = reslices(rule, state_slices, mutability.clone());
    let result_reslices = result_reslices(rule, state_slices);
    let specialised = Literal::u32_unsuffixed(super::prepare::specialised_bits(rule));
    quote! {
        // dynamic: the run-time mask, except for the bits the dispatch specialised on (`__M`)
        let #MASK: #RT::Mask = if __DYN { (__m & !#specialised) | __M } else { __M };
        let [#(#state_slices),*] = #STATE else { return };
        #convert
        #locals
        let mut #LEN = #PARAM.len().min(#GRAD.len());
        #lengths
        let #PARAM = &#mutability #PARAM[..#LEN];
        let #GRAD = &#GRAD[..#LEN];
        #reslices
        #result_reslices
    }
}

pub(super) fn presence_test(state: &ir::ElemState) -> TokenStream {
    match &state.presence {
        Some((bit, _, _)) => {
            let bit = Literal::u32_unsuffixed(*bit as u32);
            quote!(((#MASK >> #bit) & 1 == 1))
        }
        None => quote!(true),
    }
}

/// The states the element loop walks alongside the parameter (row and column states are
/// read through the factors instead).
pub(super) fn full_states(rule: &ir::Rule) -> impl Iterator<Item = (usize, &ir::ElemState)> {
    rule.states.iter().enumerate().filter(|(_, s)| s.axis == Axis::Full)
}

pub(super) fn loop_parts(rule: &ir::Rule) -> LoopParts {
    loop_parts_reading(rule, false)
}

/// [`loop_parts`]; with `results`, the update loop of a matrix rule, which also walks the
/// matrix program's results (passed after the states).
pub(super) fn loop_parts_reading(rule: &ir::Rule, results: bool) -> LoopParts {
    let rt = quote!(#RT);
    let result_count = if results { rule.matrix.results.len() } else { 0 };
    let result_slices: Vec<_> = (0..result_count).map(|i| MATRIX_RESULT_SLICE.at(i)).collect();
    let state_slices: Vec<_> =
        (0..rule.states.len()).map(|i| STATE_SLICE.at(i)).chain(result_slices.iter().cloned()).collect();
    let convert = (0..rule.slots).map(|i| {
        let local = SLOT.at(i);
        quote!(let #local: #ELEM = <#ELEM as #rt::Element>::from_f64(#SLOTS[#i]);)
    });
    let lengths = full_states(rule).map(|(i, state)| {
        let (present, slice) = (presence_test(state), &state_slices[i]);
        quote!(if #present { #LEN = #LEN.min(#slice.len()); })
    });
    // times the gradient's scale (1, or the coefficient of clipping fused into the step: `x * 1`
    // is `x`, so an unclipped step gives the same bits)
    let scale = SLOT.at(rule.grad_scale_slot);
    let grad_load = rule.grad_read.then(|| quote!(let #GRAD_VALUE: #ELEM = #GRAD[#INDEX] * #scale;));
    let state_loads = full_states(rule).filter(|(_, s)| s.read || s.written).map(|(i, state)| {
        let (local, slice) = (STATE_VALUE.at(i), &state_slices[i]);
        match &state.presence {
            Some(_) => {
                let present = presence_test(state);
                quote!(let mut #local: #ELEM = if #present { #slice[#INDEX] } else { <#ELEM as #rt::Element>::ZERO };)
            }
            None => quote!(let mut #local: #ELEM = #slice[#INDEX];),
        }
    });
    let result_lengths = result_slices.iter().map(|slice| quote!(#LEN = #LEN.min(#slice.len());));
    let result_loads = result_slices.iter().enumerate().map(|(k, slice)| {
        let local = MATRIX_RESULT_VALUE.at(k);
        quote!(let #local: #ELEM = #slice[#INDEX];)
    });
    let (convert, lengths) = (quote!(#(#convert)*), quote!(#(#lengths)* #(#result_lengths)*));
    let loads = quote!(let mut #PARAM_VALUE: #ELEM = #PARAM[#INDEX]; #grad_load #(#state_loads)* #(#result_loads)*);
    LoopParts { state_slices, convert, lengths, loads }
}

/// The matrix results among a loop's slices, cut to the loop's length.
fn result_reslices(rule: &ir::Rule, state_slices: &[syn::Ident]) -> TokenStream {
    let cuts = state_slices.iter().skip(rule.states.len()).map(|slice| quote!(let #slice: &[#ELEM] = &#slice[..#LEN];));
    quote!(#(#cuts)*)
}

/// `for __i in 0..__n { body }`, or for a factored rule the same walk split at row ends, with
/// the row index, the per-row loads and the column views (read at `COL_AT`) in scope.
pub(super) fn element_walk(rule: &ir::Rule, body: TokenStream) -> TokenStream {
    if !rule.factored() {
        return quote!(for #INDEX in 0..#LEN { #body });
    }
    let segment = row_segment(rule);
    quote! {
        let mut __start = 0usize;
        while __start < #LEN {
            #segment
            for #INDEX in __start..__end {
                let #COL_AT = #INDEX - __start;
                #body
            }
            __start = __end;
        }
    }
}

/// The head of one row's segment of a factored walk from `__start`: the row, its first column,
/// where the segment ends (`__end`), the column base (`__cbase`), the per-row loads and the
/// column views, each cut to the segment's length so that an element's read, at `__i -
/// __start`, needs no bounds check the loop would keep. A state absent for this tensor (its
/// presence condition false) has an empty buffer and an empty view, which reads as zero; the
/// code reading it sits under that same condition, so nothing reads it.
pub(super) fn row_segment(rule: &ir::Rule) -> TokenStream {
    let row_loads = rule.row_loads.iter().map(|(ident, read)| quote!(let #ident: #ELEM = #read;));
    let col_views = rule.col_views.iter().map(|ir::ColView { view, buffer, first }| {
        quote! {
            let #view: &[#ELEM] = #buffer
                .get((#first).wrapping_add(__cbase.wrapping_add(__start))..)
                .and_then(|v| v.get(..__end - __start))
                .unwrap_or(&[]);
        }
    });
    quote! {
        let __flat = #FACTORS.offset + __start;
        let #ROW = __flat / #COLS;
        let __col0 = __flat - #ROW * #COLS;
        let __end = (__start + (#COLS - __col0)).min(#LEN);
        let __cbase = ((#ROW / #ROWS) * #COLS + __col0).wrapping_sub(__start);
        #(#row_loads)*
        #(#col_views)*
    }
}

/// Locals a factored rule's code reads: the matrix view, buffer layout and factored states.
pub(super) fn factor_locals(rule: &ir::Rule, in_loop: bool) -> TokenStream {
    if !rule.factored() {
        return TokenStream::new();
    }
    let (temp_rows, acc_rows) = (rule.temps.0, rule.accumulators.0);
    let states = rule.states.iter().enumerate().filter(|(_, s)| s.axis.factored()).map(|(i, _)| {
        let local = FACTOR_STATE.at(i);
        quote!(let #local: &[#ELEM] = #FACTORS.states[#i];)
    });
    let loop_locals = in_loop.then(|| quote!(let #LOOP_TEMPS: &[#ELEM] = #FACTORS.temps; #(#states)*));
    quote! {
        let (#SLICES, #ROWS, #COLS) = (#FACTORS.slices, #FACTORS.rows, #FACTORS.cols);
        let (#ALL_ROWS, #ALL_COLS) = (#SLICES * #ROWS, #SLICES * #COLS);
        let #ROW_TEMP_COUNT: usize = #temp_rows;
        let #ROW_SUM_COUNT: usize = #acc_rows;
        #loop_locals
    }
}

/// Cuts each walked state slice to the loop's length (`&mut` for the update, `&` for a
/// reduction pass); an absent state becomes an empty slice.
pub(super) fn reslices(rule: &ir::Rule, state_slices: &[syn::Ident], mutability: TokenStream) -> TokenStream {
    let cuts = full_states(rule).map(|(i, state)| {
        let slice = &state_slices[i];
        match &state.presence {
            Some(_) => {
                let present = presence_test(state);
                quote!(let #slice: &#mutability [#ELEM] = if #present { &#mutability #slice[..#LEN] } else { &#mutability [] };)
            }
            None => quote!(let #slice: &#mutability [#ELEM] = &#mutability #slice[..#LEN];),
        }
    });
    quote!(#(#cuts)*)
}
