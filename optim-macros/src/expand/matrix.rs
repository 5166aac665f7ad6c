//! A matrix rule's items: its buffer layout, the first pass that stores the program's inputs,
//! the matrix program, and `step_slices` through the runtime's matrix driver.

use proc_macro2::TokenStream;
use quote::quote;

use super::*;
use crate::ir::{self};

pub(super) fn matrix_items(rule: &ir::Rule) -> TokenStream {
    if !rule.has_matrices() {
        return TokenStream::new();
    }
    let rt = quote!(#RT);
    let ir::MatrixLayout { inputs, results, buffers } = &rule.matrix;
    let layout = quote! {
        const MATRIX: #rt::MatrixLayout = #rt::MatrixLayout { inputs: &[#(#inputs),*], results: &[#(#results),*], buffers: #buffers };
    };
    let inputs_fn = inputs_fn(rule);
    let program_fn = program_fn(rule);
    quote! {
        #layout
        #inputs_fn
        #program_fn

        fn step_slices<#ELEM: #rt::Element>(
            #LEVEL: #rt::SimdLevel,
            #HYPER: &Self::Hyper,
            #STEP: u64,
            __scalar_state: &mut [f64],
            #SHAPE: &[usize],
            #PARAM: &mut [#ELEM],
            #GRAD: &[#ELEM],
            #STATE: &mut [&mut [#ELEM]],
        ) {
            let mut __scratch = #rt::MatrixScratch::<#ELEM>::new();
            #rt::matrix_step_slices::<Self, #ELEM>(#LEVEL, #HYPER, #STEP, __scalar_state, #SHAPE, #PARAM, #GRAD, #STATE, &mut __scratch)
        }
    }
}

/// The first pass: every statement the inputs depend on, and each input stored per element.
fn inputs_fn(rule: &ir::Rule) -> TokenStream {
    let rt = quote!(#RT);
    let slots = rule.slots;
    let parts = loop_parts(rule);
    let prologue = loop_prologue(rule, &parts, TokenStream::new());
    let loads = &parts.loads;
    let inputs: Vec<_> = (0..rule.matrix.inputs.len()).map(|k| MATRIX_INPUT_SLICE.at(k)).collect();
    let body = ir::render_into(&rule.body, Some(1), ir::Sink::Matrix);
    let lengths = inputs.iter().map(|input| quote!(#LEN = #LEN.min(#input.len());));
    let reslices = inputs.iter().map(|input| quote!(let #input: &mut [#ELEM] = &mut #input[..#LEN];));
    let cuts: Vec<TokenStream> = lengths.chain(reslices).collect();
    let dispatch = mask_dispatch(
        rule,
        |mask, dynamic, runtime| quote!(__inputs::<#ELEM, #mask, #dynamic>(#runtime, &#PREP.scalars, #PARAM, #GRAD, #STATE, __outputs)),
    );
    quote! {
        fn matrix_inputs<#ELEM: #rt::Element>(
            #PREP: &Self::Prep,
            #PARAM: &[#ELEM],
            #GRAD: &[#ELEM],
            #STATE: &[&[#ELEM]],
            __outputs: &mut [&mut [#ELEM]],
        ) {
            #[inline(always)]
            #[allow(clippy::all, unused_parens, unused_variables, unused_mut, unused_assignments, non_snake_case)]
            fn __inputs<#ELEM: #rt::Element, const __M: #RT::Mask, const __DYN: bool>(
                __m: #RT::Mask,
                #SLOTS: &[f64; #slots],
                #PARAM: &[#ELEM],
                #GRAD: &[#ELEM],
                #STATE: &[&[#ELEM]],
                __outputs: &mut [&mut [#ELEM]],
            ) {
                #prologue
                let [#(#inputs),*] = __outputs else { return };
                #(#cuts)*
                for #INDEX in 0..#LEN {
                    #loads
                    #body
                }
            }
            #dispatch
        }
    }
}

/// The matrix program: the prologue's slots and mask bits as locals, the parameter's matrix
/// view, the rounding, then the spec's matrix statements in order.
fn program_fn(rule: &ir::Rule) -> TokenStream {
    let rt = quote!(#RT);
    let slots = (0..rule.slots).map(|i| {
        let local = SLOT.at(i);
        quote!(let #local: f64 = #PREP.scalars[#i];)
    });
    let rounding = match rule.bf16_matrices {
        Some(bit) => {
            let test = crate::lower::bit_test_tokens(bit);
            quote!(if #test { #rt::Rounding::Bf16 } else { #rt::Rounding::Exact })
        }
        None => quote!(#rt::Rounding::Exact),
    };
    let code = &rule.matrix_code;
    let (loads, stores) = &rule.matrix_state_code;
    quote! {
        #[allow(clippy::all, unused_parens, unused_variables, unused_mut, unused_assignments, non_snake_case)]
        fn matrix_program<#ELEM: #rt::Element>(
            #PREP: &Self::Prep,
            #SHAPE: &[usize],
            #STATE: &mut [&mut [#ELEM]],
            #SCRATCH: &mut #rt::MatrixScratch<#ELEM>,
        ) {
            let #MASK: #RT::Mask = #PREP.mask;
            #(#slots)*
            let (#MATRIX_ROWS, #MATRIX_COLS) = #rt::matrix_view_dims(#SHAPE);
            let #ROUNDING = #rounding;
            #(#loads)*
            #(#code)*
            #(#stores)*
        }
    }
}
