//! Frames, scopes and hoisting: scalar work into slots and mask bits, row and column values into temporaries.

use std::collections::HashMap;

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, format_ident, quote};

use super::*;
use crate::symbol::*;

impl Lowerer<'_> {
    // ---- frames, scopes, hoisting ---------------------------------------------------------

    pub(super) fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("the root frame is never popped while lowering")
    }

    pub(super) fn in_frame<R>(&mut self, guards: &[String], body: impl FnOnce(&mut Self) -> R) -> (Frame, R) {
        let mut path = self.frame().path.clone();
        path.push(self.next_frame);
        self.next_frame += 1;
        self.frames.push(Frame { path, ..Frame::default() });
        self.scopes.push(HashMap::new());
        let guard_depth = self.guards.len();
        self.guards.extend_from_slice(guards);
        let result = body(self);
        self.guards.truncate(guard_depth);
        self.scopes.pop();
        let frame = self.frames.pop().unwrap_or_default();
        (frame, result)
    }

    /// Runs `body` with `frame` current again, to hoist into a block that was already lowered.
    pub(super) fn reenter<R>(&mut self, frame: &mut Frame, body: impl FnOnce(&mut Self) -> R) -> R {
        self.frames.push(std::mem::take(frame));
        let result = body(self);
        *frame = self.frames.pop().unwrap_or_default();
        result
    }

    pub(super) fn reusable(&self, table: &[Hoisted], key: &str) -> Option<usize> {
        let path = self.frames.last().map(|f| f.path.as_slice()).unwrap_or_default();
        table
            .iter()
            .find(|h| h.key == key && h.generation == self.generation && path.starts_with(&h.path))
            .map(|h| h.index)
    }

    /// Hoists a scalar float into a slot computed in the prologue; the loop reads `__cN`.
    pub(super) fn slot(&mut self, tokens: TokenStream) -> TokenStream {
        SLOT.at(self.slot_index(tokens)).into_token_stream()
    }

    /// [`Lowerer::slot`]'s index.
    pub(super) fn slot_index(&mut self, tokens: TokenStream) -> usize {
        let key = tokens.to_string();
        match self.reusable(&self.slots, &key) {
            Some(index) => index,
            None => {
                let index = self.slots.len();
                let literal = Literal::usize_unsuffixed(index);
                self.frame().scalar.push(quote!(#SLOTS[#literal] = #tokens;));
                let (path, generation) = (self.frame().path.clone(), self.generation);
                self.slots.push(Hoisted { key, path, generation, index });
                index
            }
        }
    }

    /// Hoists a scalar condition into a mask bit; the loop reads it as a constant.
    /// `span` is where the condition was written: the limit check reports there.
    ///
    /// A condition on hyperparameters and the tensor's shape and step alone (`ndim >= 2`,
    /// `ams_bound`) has one value for the whole step wherever it is written: it is computed once
    /// at the top of the prologue and every occurrence shares its bit. Then a state's presence
    /// and a branch on the same condition are one bit, which the loop dispatch specialises on
    /// (as two bits, the branch was a run-time select that computed both arms).
    pub(super) fn bit(&mut self, tokens: TokenStream, span: proc_macro2::Span) -> usize {
        let key = tokens.to_string();
        let invariant = step_invariant(&tokens);
        let shared = invariant.then(|| self.bits.iter().find(|h| h.key == key && h.path.is_empty())).flatten();
        if let Some(index) = shared.map(|h| h.index).or_else(|| self.reusable(&self.bits, &key)) {
            return index;
        }
        let index = self.bits.len();
        self.bit_spans.push(span);
        // past the limit the check reports an error and no code is generated
        let frame = if invariant { &mut self.frames[0] } else { self.frame() };
        if index < optim_contract::MAX_CONDITIONS {
            let literal = Literal::usize_unsuffixed(index);
            frame.scalar.push(quote!(#MASK |= (#tokens as #RT::Mask) << #literal;));
        }
        let (path, generation) = (frame.path.clone(), self.generation);
        self.bits.push(Hoisted { key, path, generation, index });
        index
    }

    pub(super) fn bit_test(index: usize) -> TokenStream {
        let literal = Literal::u32_unsuffixed(index as u32);
        quote!(((#MASK >> #literal) & 1 == 1))
    }

    pub(super) fn elementwise(&mut self, value: Value) -> TokenStream {
        match (value.place, value.ty) {
            (Place::Elem, _) => value.tokens,
            // code run once per element outside any loop (a state's initial value) has no slots
            (Place::Scalar, Ty::Bool) if self.inline_scalars => value.tokens,
            (Place::Scalar, _) if self.inline_scalars => {
                let tokens = value.tokens;
                quote!(<#ELEM as #RT::Element>::from_f64(#tokens))
            }
            (Place::Scalar, Ty::Bool) => Self::bit_test(self.bit(value.tokens, value.span)),
            (Place::Scalar, _) => self.slot(value.tokens),
            (Place::Row | Place::Col, _) => self.factored_in_loop(value),
            (Place::Matrix, _) => self.matrix_in_loop(value),
            (Place::MatScalar, _) => {
                self.errors.error_at(value.span, "a number computed from a matrix is used by the matrix code only; element-wise code reads matrices shaped like the parameter");
                quote!(<#ELEM as #RT::Element>::ZERO)
            }
        }
    }

    /// A scalar operand of row/column code: slots and mask bits are in scope there too.
    pub(super) fn factored_operand(&mut self, value: Value) -> TokenStream {
        match (value.place, value.ty) {
            (Place::Scalar, Ty::Bool) => Self::bit_test(self.bit(value.tokens, value.span)),
            (Place::Scalar, _) => self.slot(value.tokens),
            _ => value.tokens,
        }
    }

    /// The element loop's view of a row or column value: a load per row, or a read per element,
    /// of the memory that holds it (materialised first when it is an expression).
    pub(super) fn factored_in_loop(&mut self, value: Value) -> TokenStream {
        let held = match self.held.get(&value.tokens.to_string()) {
            Some((_, held)) => *held,
            None => match self.materialise(value.clone()) {
                Some(index) => Held::Temp(index),
                None => return quote!(<#ELEM as #RT::Element>::ZERO),
            },
        };
        let row = value.place == Place::Row;
        if let Held::State(k) = held
            && !self.states[k].written
        {
            self.elem_read_early[k] = true;
        }
        if !row {
            return self.col_view(held);
        }
        let read = match held {
            Held::State(k) => {
                let buffer = FACTOR_STATE.at(k);
                quote!(#RT::at(#buffer, #ROW))
            }
            Held::Temp(m) => quote!(#RT::at(#LOOP_TEMPS, #m * #ALL_ROWS + #ROW)),
        };
        let key = read.to_string();
        if let Some((ident, _)) = self.row_loads.iter().find(|(_, tokens)| tokens.to_string() == key) {
            return ident.to_token_stream();
        }
        let ident = ROW_LOAD.at(self.row_loads.len());
        self.row_loads.push((ident.clone(), read));
        ident.into_token_stream()
    }

    /// The element loop's read of a column value held in memory: through the view of its
    /// buffer over the current segment's columns (one per buffer, see [`ir::ColView`]).
    fn col_view(&mut self, held: Held) -> TokenStream {
        let (buffer, first) = match held {
            Held::State(k) => (FACTOR_STATE.at(k).into_token_stream(), quote!(0usize)),
            Held::Temp(m) => (LOOP_TEMPS.into_token_stream(), quote!(#ROW_TEMP_COUNT * #ALL_ROWS + #m * #ALL_COLS)),
        };
        let key = (buffer.to_string(), first.to_string());
        let view = match self.col_views.iter().find(|v| (v.buffer.to_string(), v.first.to_string()) == key) {
            Some(existing) => existing.view.clone(),
            None => {
                let view = COL_VIEW.at(self.col_views.len());
                self.col_views.push(ir::ColView { view: view.clone(), buffer, first });
                view
            }
        };
        quote!(#RT::at(#view, #COL_AT))
    }

    /// Computes a row or column value into a temporary between passes; returns its index.
    pub(super) fn materialise(&mut self, value: Value) -> Option<usize> {
        if value.ty != Ty::Float {
            self.errors.error_at(
                value.span,
                "a row or column condition cannot reach element-wise code; use `select` in the row computation",
            );
            return None;
        }
        let key = value.tokens.to_string();
        let row = value.place == Place::Row;
        let table = if row { &self.row_temps } else { &self.col_temps };
        if let Some(index) = self.reusable(table, &key) {
            return Some(index);
        }
        let index = table.len();
        let (path, generation) = (self.frame().path.clone(), self.generation);
        let hoisted = Hoisted { key, path, generation, index };
        let tokens = value.tokens;
        let read = self.temp_read(value.place, index);
        let code = if row {
            self.row_temps.push(hoisted);
            quote!(for #AXIS_INDEX in 0..#ALL_ROWS { #read = #tokens; } #WROTE_TEMPS = true;)
        } else {
            self.col_temps.push(hoisted);
            quote!(for #AXIS_INDEX in 0..#ALL_COLS { #read = #tokens; } #WROTE_TEMPS = true;)
        };
        let stage = value.stage.max(self.branch_stage());
        self.frame().factored.push((stage, code));
        self.held.insert(read.to_string(), (value.place, Held::Temp(index)));
        Some(index)
    }

    /// A materialised row/column value, as row/column code reads it.
    pub(super) fn temp_read(&self, place: Place, index: usize) -> TokenStream {
        match place {
            Place::Row => quote!(#TEMPS[#index * #ALL_ROWS + #AXIS_INDEX]),
            _ => quote!(#TEMPS[#ROW_TEMP_COUNT * #ALL_ROWS + #index * #ALL_COLS + #AXIS_INDEX]),
        }
    }

    pub(super) fn local(&mut self, prefix: &str) -> syn::Ident {
        self.next_local += 1;
        format_ident!("__{}{}", prefix, self.next_local)
    }
}

/// Whether scalar code reads only hyperparameters (`__h.name`), the tensor's `ndim`, `numel` and
/// `step`, literals and casts: then it has one value for the whole step, whatever statements run
/// before it. Anything else (a local, a scalar state, a reduction, a runtime call) may not.
fn step_invariant(tokens: &TokenStream) -> bool {
    let allowed = [HYPER.at(""), NDIM.at(""), NUMEL.at(""), STEP.at("")].map(|i| i.to_string());
    let keywords = ["as", "f64", "f32", "u64", "usize", "i64", "u32", "bool", "true", "false"];
    let mut after_dot = false;
    for tree in tokens.clone() {
        let ok = match &tree {
            proc_macro2::TokenTree::Ident(ident) => {
                let name = ident.to_string();
                // a field of the hyperparameters (`__h.betas`) follows a dot
                after_dot || allowed.contains(&name) || keywords.contains(&name.as_str())
            }
            proc_macro2::TokenTree::Group(group) => step_invariant(&group.stream()),
            proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => true,
        };
        if !ok {
            return false;
        }
        after_dot = matches!(&tree, proc_macro2::TokenTree::Punct(p) if p.as_char() == '.');
    }
    true
}
