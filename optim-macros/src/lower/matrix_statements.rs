//! Matrix statements: `let` and `let mut` of matrices, assignments to them, bounded loops,
//! choices between matrices, and the attribute that rounds them to bfloat16 (the values and
//! operators are in `matrix.rs`).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Expr;

use super::matrix::{Coef, Dim, Dims, MatInfo, Term, describe};
use super::*;
use crate::symbol::*;

impl Lowerer<'_> {
    /// `let name = matrix;`: a sum is computed now; a `let mut` matrix is copied, so later
    /// assignments to it do not change this one.
    pub(super) fn bind_matrix(&mut self, value: Value) -> Value {
        let at = quote::quote_spanned!(value.span => x);
        let mutable = self.matrix_info(&value).and_then(|i| i.mutable).is_some();
        if mutable {
            let Some((view, dims)) = self.matrix_view(value.clone(), &at) else { return value };
            let buffer = self.sized_buffer(&dims);
            let terms = vec![(Coef::one(), Term::View(view))];
            return self.held_matrix(quote!(#buffer), &terms, dims, value.span);
        }
        match self.matrix_view(value.clone(), &at) {
            Some((view, dims)) => {
                let info = MatInfo { dims, pending: None, mutable: None };
                self.matrix_value(view, info, value.span)
            }
            None => value,
        }
    }

    pub(super) fn held_matrix(
        &mut self,
        buffer: TokenStream,
        terms: &[(Coef, Term)],
        dims: Dims,
        span: proc_macro2::Span,
    ) -> Value {
        let view = self.compute(buffer, terms);
        let local = self.local("mv");
        self.matrix_code(quote!(let #local: #RT::MatView = #view;));
        let info = MatInfo { dims, pending: None, mutable: None };
        self.matrix_value(local.into_token_stream(), info, span)
    }

    /// `let mut x = matrix;`: a matrix the step may assign again (in a loop), computed into
    /// the first of its two buffers.
    pub(super) fn let_mut_matrix(&mut self, ident: &syn::Ident, value: Value) {
        let at = quote::quote_spanned!(value.span => x);
        let Some((terms, dims)) = self.terms_of(value.clone(), &at) else { return };
        let (first, second) = (self.sized_buffer(&dims), self.sized_buffer(&dims));
        let view = self.compute(quote!(#first), &terms);
        let local = self.local("mx");
        self.matrix_code(quote!(let mut #local: #RT::MatView = #view;));
        let info = MatInfo { dims, pending: None, mutable: Some((first, second)) };
        self.matrix.mutables.push((ident.clone(), first, false));
        let bound = self.matrix_value(local.into_token_stream(), info, value.span);
        self.scope_insert(ident, bound);
    }

    /// `x = matrix;` for a `let mut` matrix: computed into whichever of its buffers it does not
    /// occupy now, so the value may read `x` itself.
    pub(super) fn assign_matrix(&mut self, ident: &syn::Ident, current: Value, value: Value, rhs: &Expr) {
        let Some(info) = self.matrix_info(&current) else { return };
        let Some((first, second)) = info.mutable else {
            self.errors
                .error(ident, format!("`{ident}` is a `let` binding; declare it `let mut {ident}` to assign it again"));
            return;
        };
        if self.elem_condition_depth > 0 {
            self.errors.error(ident, "a matrix is assigned under a condition known before the step (a hyperparameter, `step`, the shape), not an element-wise one");
            return;
        }
        let Some((terms, dims)) = self.terms_of(value, rhs) else { return };
        if dims != info.dims {
            let message = format!("`{ident}` is {}, and this value is {}", describe(&info.dims), describe(&dims));
            self.errors.error(rhs, message);
            return;
        }
        for (_, buffer, assigned) in &mut self.matrix.mutables {
            *assigned |= *buffer == first;
        }
        let target = current.tokens;
        let buffer = quote!((if #target.buffer == #first { #second } else { #first }));
        let view = self.compute(buffer, &terms);
        self.matrix_code(quote!(#target = #view;));
    }

    /// `for _ in 0..count { ... }`: matrix statements repeated `count` times (a number of the
    /// prologue, such as the hyperparameter `ns_steps`). A loop rejected before its body is
    /// walked marks the walk incomplete, so its writes are not also reported as missing.
    pub(super) fn matrix_loop(&mut self, l: &syn::ExprForLoop) {
        let syn::Expr::Range(range) = &*l.expr else {
            self.errors.error(&l.expr, "a loop runs over `0..count`");
            self.unwalked = true;
            return;
        };
        let (Some(start), Some(end), syn::RangeLimits::HalfOpen(_)) = (&range.start, &range.end, &range.limits) else {
            self.errors.error(range, "a loop runs over `0..count`");
            self.unwalked = true;
            return;
        };
        if !matches!(&**start, Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "0") {
            self.errors.error(start, "a loop starts at `0`");
            self.unwalked = true;
            return;
        }
        if !matches!(&*l.pat, syn::Pat::Wild(_)) {
            self.errors.error(&l.pat, "a `for` loop repeats matrix code, `for _ in 0..count { ... }`, and its counter is not readable; element-wise code already runs for every element");
            self.unwalked = true;
            return;
        }
        let Some(count) = self.expr(end) else {
            self.unwalked = true;
            return;
        };
        if self.expect(&count, Ty::Float, end).is_none() {
            self.unwalked = true;
            return;
        }
        if count.place != Place::Scalar {
            self.errors.error(
                end,
                "the loop's count is one number known before the step (a hyperparameter such as `ns_steps`)",
            );
            self.unwalked = true;
            return;
        }
        let count = self.factored_operand(count);
        let (frame, ()) = self.in_frame(&[], |this| {
            for stmt in &l.body.stmts {
                this.statement(stmt);
            }
        });
        if !frame.elem.is_empty() || !frame.factored.is_empty() {
            self.errors.error(l.for_token, "a loop repeats matrix code only; compute element-wise values before it");
            return;
        }
        let Frame { scalar, matrix, .. } = frame;
        self.frame().scalar.extend(scalar);
        self.matrix_code(quote!(for _ in 0..(#count.max(0.0) as usize) { #(#matrix)* }));
    }

    /// `if condition { a } else { b }` of matrices: the program picks a view at run time.
    pub(super) fn matrix_select(
        &mut self,
        condition: Value,
        mut then: Frame,
        mut otherwise: Frame,
        a: Value,
        b: Value,
        at: &impl ToTokens,
    ) -> Option<Value> {
        if !matches!(condition.place, Place::Scalar | Place::MatScalar) {
            self.errors.error(at, "a choice between matrices depends on one condition for the whole matrix (a hyperparameter, `rows > cols`), not an element-wise one");
            return None;
        }
        let test = self.program_scalar(condition);
        // the program's test is the key: two choices on one condition compare equal, and a
        // buffer's size can be computed from it before the program runs
        let key = test.to_string();
        let (a, a_dims) = self.reenter(&mut then, |this| this.matrix_view(a, at))?;
        let (b, b_dims) = self.reenter(&mut otherwise, |this| this.matrix_view(b, at))?;
        let merge = |this: &mut Self, frame: Frame| {
            this.frame().scalar.extend(frame.scalar);
            this.frame().elem.extend(frame.elem);
            frame.matrix
        };
        let (then_code, else_code) = (merge(self, then), merge(self, otherwise));
        let local = self.local("mv");
        self.matrix_code(quote!(let #local: #RT::MatView = if #test { #(#then_code)* #a } else { #(#else_code)* #b };));
        let dims = (Dim::pick(&key, a_dims.0, b_dims.0), Dim::pick(&key, a_dims.1, b_dims.1));
        let span = syn::spanned::Spanned::span(&at.to_token_stream());
        let info = MatInfo { dims, pending: None, mutable: None };
        Some(self.matrix_value(local.into_token_stream(), info, span))
    }

    /// `#[bf16_matrices(condition)]`: the condition as a mask bit of the prologue.
    pub(super) fn bf16_matrices(&mut self) -> Option<usize> {
        let spec = self.spec;
        let condition = spec.bf16_matrices.as_ref()?;
        let mode = std::mem::replace(&mut self.mode, Mode::HyperOnly);
        let value = self.expr(condition);
        self.mode = mode;
        let value = value?;
        self.expect(&value, Ty::Bool, condition)?;
        Some(self.bit(value.tokens, value.span))
    }

    /// The program's buffer numbers: inputs, results and how many buffers in all.
    pub(super) fn matrix_layout(&self) -> ir::MatrixLayout {
        ir::MatrixLayout {
            inputs: self.matrix.inputs.iter().map(|(_, b)| *b).collect(),
            results: self.matrix.results.iter().map(|(_, b)| *b).collect(),
            buffers: self.matrix.buffers,
        }
    }
}
