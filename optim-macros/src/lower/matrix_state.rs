//! Matrix state: square matrices kept between steps (`matrix(rows, rows) GG_0 = 0`, SOAP's
//! statistics and eigenbases). The program loads each from the parameter's state before its
//! first statement, reads and assigns it as a `let mut` matrix (two buffers, an assignment
//! computed into the one the state does not occupy), and stores it back after its last.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{BinOp, Expr};

use super::matrix::{Dim, MatInfo};
use super::*;
use crate::symbol::*;

/// A matrix state the program uses: its index among the states, its two buffers, and whether
/// the step assigns it.
pub(super) struct MatrixState {
    pub(super) index: usize,
    pub(super) buffers: (usize, usize),
    pub(super) written: bool,
}

impl Lowerer<'_> {
    /// The current value of matrix state `index`, as the program holds it.
    pub(super) fn matrix_state(&mut self, index: usize, ident: &syn::Ident) -> Option<Value> {
        self.guard_check(index, ident)?;
        self.states[index].read = true;
        let buffers = match self.matrix.states.iter().find(|s| s.index == index) {
            Some(state) => state.buffers,
            None => {
                let side = if self.states[index].axis == crate::ast::Axis::RowsByRows { Dim::Rows } else { Dim::Cols };
                let dims = (side.clone(), side);
                let buffers = (self.sized_buffer(&dims), self.sized_buffer(&dims));
                self.matrix.states.push(MatrixState { index, buffers, written: false });
                buffers
            }
        };
        let side = if self.states[index].axis == crate::ast::Axis::RowsByRows { Dim::Rows } else { Dim::Cols };
        let info = MatInfo { dims: (side.clone(), side), pending: None, mutable: Some(buffers) };
        Some(self.matrix_value(MATRIX_STATE_VIEW.at(index).into_token_stream(), info, ident.span()))
    }

    /// `state = matrix;` (or `state += ...`) for a matrix state.
    pub(super) fn assign_matrix_state(&mut self, index: usize, ident: &syn::Ident, op: Option<BinOp>, rhs: &Expr) {
        self.states[index].written = true;
        let Some(current) = self.matrix_state(index, ident) else { return };
        let Some(mut value) = self.expr(rhs) else { return };
        if self.expect(&value, Ty::Float, rhs).is_none() {
            return;
        }
        if let Some(op) = op {
            value = match self.matrix_arithmetic(current.clone(), value, &op) {
                Some(value) => value,
                None => return,
            };
        }
        self.assign_matrix(ident, current, value, rhs);
        for state in &mut self.matrix.states {
            state.written |= state.index == index;
        }
    }

    /// The program's first statements (every buffer and workspace grown to its size, each
    /// matrix state loaded from the parameter's state, when present) and its last (each
    /// assigned one stored back).
    pub(super) fn matrix_state_code(&self) -> (Vec<TokenStream>, Vec<TokenStream>) {
        let mut loads = self.matrix.reservations.clone();
        let mut stores = Vec::new();
        for state in &self.matrix.states {
            let (index, first) = (state.index, state.buffers.0);
            let local = MATRIX_STATE_VIEW.at(index);
            let side = if self.states[index].axis == crate::ast::Axis::RowsByRows {
                quote!(#MATRIX_ROWS)
            } else {
                quote!(#MATRIX_COLS)
            };
            // an absent state (its condition false) is never read: the code using it sits
            // under that condition's bit
            loads.push(quote! {
                let mut #local = #RT::MatView { buffer: #first, rows: #side, cols: #side, transposed: false };
                if #STATE[#index].len() == #side * #side {
                    #local = #SCRATCH.load(#first, &#STATE[#index], #side, #side);
                }
            });
            if state.written {
                stores.push(quote! {
                    if #STATE[#index].len() == #local.len() {
                        #SCRATCH.store(#local, &mut #STATE[#index]);
                    }
                });
            }
        }
        (loads, stores)
    }
}
