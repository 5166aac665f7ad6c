//! Matrix values: the parameter seen as a `rows x cols` matrix, and what is computed from it
//! between the memory passes (Muon's Newton–Schulz iteration): products, transposes, Frobenius
//! norms, sums of scaled terms, selections and bounded loops.
//!
//! An element-wise value used as a matrix is stored by a first pass over memory (an input);
//! the matrix program then runs on whole matrices, one tensor at a time, each product a call
//! into the linear-algebra crate; a matrix read by element-wise code is copied into a result
//! that the update pass walks beside the parameter. A sum of scaled matrices and at most one
//! product (`b * g + c * matmul(g, g)`) is one fused `gemm`, as `torch.addmm` is.
//!
//! Shapes are checked when the macro runs: each matrix carries its rows and columns as
//! expressions over the parameter's (`rows`, `cols`, or a choice of the two under a
//! condition), so `matmul` of mismatched operands, or an update of the wrong shape, is a
//! compile error at the offending token.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Expr;

use super::matrix_shape::element_count;
pub(super) use super::matrix_shape::{Dim, Dims, describe};
use super::*;
use crate::symbol::*;

/// A term of a matrix sum: a matrix (a view, possibly transposed) or a product of two.
#[derive(Clone)]
pub(super) enum Term {
    View(TokenStream),
    Product(TokenStream, TokenStream),
}

/// A term's coefficient: code of the matrix program (`f64`), and the same number as a value of
/// the prologue when it is one (a hyperparameter expression), so element-wise code reading
/// `lr * m` can multiply there, in the element type, instead of in the program.
#[derive(Clone)]
pub(super) struct Coef {
    pub(super) program: TokenStream,
    pub(super) prologue: Option<Value>,
}

impl Coef {
    pub(super) fn one() -> Self {
        Coef { program: quote!(1.0f64), prologue: Some(Value::scalar(Ty::Float, quote!(1.0f64))) }
    }

    /// This coefficient times (`divide`: over) `factor`, whose program code is `code`.
    fn scaled(self, factor: &Value, code: &TokenStream, divide: bool) -> Self {
        let op = if divide { quote!(/) } else { quote!(*) };
        let program = self.program;
        let prologue = match (self.prologue, factor.place) {
            (Some(p), Place::Scalar) => {
                let (p, f) = (p.tokens, &factor.tokens);
                Some(Value { stage: factor.stage, ..Value::scalar(Ty::Float, quote!((#p #op #f))) })
            }
            _ => None,
        };
        Coef { program: quote!((#program #op #code)), prologue }
    }

    fn negated(self) -> Self {
        let program = self.program;
        let prologue = self.prologue.map(|p| {
            let t = p.tokens.clone();
            Value { tokens: quote!((-#t)), ..p }
        });
        Coef { program: quote!((-#program)), prologue }
    }
}

/// What the lowering knows of a matrix value (by the value's tokens).
#[derive(Clone)]
pub(super) struct MatInfo {
    pub(super) dims: Dims,
    /// A sum of scaled terms not computed yet (`coefficient * term`, coefficients as `f64`
    /// code of the matrix program); `None` for a value held in a buffer.
    pub(super) pending: Option<Vec<(Coef, Term)>>,
    /// A `let mut` matrix: the two buffers its assignments alternate between.
    pub(super) mutable: Option<(usize, usize)>,
}

/// The matrix side of the walk.
#[derive(Default)]
pub(super) struct MatrixWalk {
    /// Scratch buffers numbered so far (inputs, results and temporaries share the numbering).
    pub(super) buffers: usize,
    /// Element-wise values stored for the program: their tokens and their buffer.
    pub(super) inputs: Vec<(String, usize)>,
    /// Matrices the update pass reads: the view's tokens and the buffer.
    pub(super) results: Vec<(String, usize)>,
    pub(super) info: HashMap<String, MatInfo>,
    /// Where the first matrix value was written (errors about combining matrices with
    /// reductions or factored state point here).
    pub(super) first_use: Option<proc_macro2::Span>,
    /// Every `let mut` matrix (by its first buffer) and whether it is assigned again.
    pub(super) mutables: Vec<(syn::Ident, usize, bool)>,
    /// The matrix states the program reads or assigns.
    pub(super) states: Vec<super::matrix_state::MatrixState>,
    /// Program code run before its first statement: every buffer and workspace it may use,
    /// grown to its size (so a branch taken late allocates nothing).
    pub(super) reservations: Vec<TokenStream>,
}

/// Matrix functions: products and transposes here, the rest in `matrix_functions.rs`.
pub(super) const MATRIX_FUNCTIONS: [(&str, usize); 9] = [
    ("matmul", 2),
    ("transpose", 1),
    ("as_matrix", 1),
    ("eigh", 1),
    ("qr", 1),
    ("column_sums", 1),
    ("argsort_descending", 1),
    ("take_rows", 2),
    ("take_cols", 2),
];

impl Lowerer<'_> {
    pub(super) fn fresh_buffer(&mut self) -> usize {
        self.matrix.buffers += 1;
        self.matrix.buffers - 1
    }

    /// A new buffer for a matrix of `dims`, grown to its size before the program runs.
    pub(super) fn sized_buffer(&mut self, dims: &Dims) -> usize {
        let buffer = self.fresh_buffer();
        self.reserve_buffer(buffer, dims);
        buffer
    }

    pub(super) fn reserve_buffer(&mut self, buffer: usize, dims: &Dims) {
        let len = element_count(&dims.0, &dims.1);
        self.reserve(quote!(#SCRATCH.reserve(#buffer, #len);));
    }

    /// Program code that sizes a buffer or workspace before the program runs, under the
    /// presence bits of the states whose guards enclose it: a side that no present state needs
    /// (SOAP's columns over `max_precondition_dim`, `cols x cols`) is never allocated.
    pub(super) fn reserve(&mut self, code: TokenStream) {
        let bits: Vec<usize> = self
            .states
            .iter()
            .filter_map(|s| s.presence.as_ref())
            .filter(|(_, _, text)| self.guards.contains(text))
            .map(|(bit, _, _)| *bit)
            .collect();
        let tests = bits.iter().map(|&bit| Self::bit_test(bit));
        self.matrix.reservations.push(quote!(if true #(&& #tests)* { #code }));
    }

    pub(super) fn matrix_code(&mut self, code: TokenStream) {
        self.frame().matrix.push(code);
    }

    /// A matrix value held in a view local of the program (or pending, when `pending`).
    pub(super) fn matrix_value(&mut self, tokens: TokenStream, info: MatInfo, span: proc_macro2::Span) -> Value {
        self.matrix.first_use.get_or_insert(span);
        self.matrix.info.insert(tokens.to_string(), info);
        self.seen_stage = self.seen_stage.max(1);
        self.last_pass = self.last_pass.max(1);
        Value { place: Place::Matrix, stage: 1, span, varying: true, ..Value::scalar(Ty::Float, tokens) }
    }

    pub(super) fn matrix_info(&self, value: &Value) -> Option<MatInfo> {
        self.matrix.info.get(&value.tokens.to_string()).cloned()
    }

    /// A matrix operand held in a buffer: an element-wise value is stored by the first pass, a
    /// pending sum is computed into a new buffer. Returns the view's tokens and its shape.
    pub(super) fn matrix_view(&mut self, value: Value, at: &impl ToTokens) -> Option<(TokenStream, Dims)> {
        match value.place {
            Place::Matrix => {
                let Some(info) = self.matrix_info(&value) else {
                    self.errors
                        .error(at, "internal error: a matrix value the program does not know; please report this spec");
                    return None;
                };
                match info.pending {
                    None => Some((value.tokens, info.dims)),
                    Some(terms) => {
                        let buffer = self.sized_buffer(&info.dims);
                        let held = self.held_matrix(quote!(#buffer), &terms, info.dims.clone(), value.span);
                        Some((held.tokens, info.dims))
                    }
                }
            }
            Place::Elem if value.ty == Ty::Float => self.matrix_input(value, at),
            _ => {
                let what = match value.place {
                    Place::Scalar | Place::MatScalar => "one number",
                    Place::Row | Place::Col => "a row or column value",
                    _ => "a condition",
                };
                self.errors.error(at, format!("a matrix is expected here, and this is {what}; a matrix is an element-wise value (the parameter's shape), or computed from one"));
                None
            }
        }
    }

    /// An element-wise value stored into a buffer by the first pass, seen as the parameter's
    /// `rows x cols` matrix.
    fn matrix_input(&mut self, value: Value, at: &impl ToTokens) -> Option<(TokenStream, Dims)> {
        if value.stage > 0 {
            self.errors.error(at, "this value depends on a matrix or a reduction, and a rule has one matrix stage: a matrix is computed from values the first pass can produce");
            return None;
        }
        if self.no_reduction_depth > 0 || self.elem_condition_depth > 0 {
            self.errors.error(at, "a matrix cannot be taken under an element-wise condition or inside a value block; bind the value with `let` first");
            return None;
        }
        let key = value.tokens.to_string();
        let buffer = match self.matrix.inputs.iter().find(|(k, _)| *k == key) {
            Some((_, buffer)) => *buffer,
            None => {
                let buffer = self.fresh_buffer();
                let input = self.matrix.inputs.len();
                self.matrix.inputs.push((key, buffer));
                let target = ir::Target::Matrix(input);
                let kind = ir::ReduceKind::Sum;
                self.frame().elem.push(ir::ElemStmt::Accumulate { pass: 1, target, kind, value: value.tokens });
                buffer
            }
        };
        let local = self.local("mv");
        self.matrix_code(quote! {
            let #local = #RT::MatView { buffer: #buffer, rows: #MATRIX_ROWS, cols: #MATRIX_COLS, transposed: false };
        });
        let info = MatInfo { dims: (Dim::Rows, Dim::Cols), pending: None, mutable: None };
        let span = syn::spanned::Spanned::span(&at.to_token_stream());
        self.matrix_value(local.to_token_stream(), info.clone(), span);
        Some((local.into_token_stream(), info.dims))
    }

    /// The program code that computes a sum of scaled terms into `buffer` (an expression giving
    /// the buffer number), as an expression giving the result's view: one `gemm` for the first
    /// product with the first plain term as its `beta` term, then one `axpby` per other term.
    pub(super) fn compute(&mut self, buffer: TokenStream, terms: &[(Coef, Term)]) -> TokenStream {
        let mut products = terms.iter().filter(|(_, t)| matches!(t, Term::Product(..)));
        let mut views = terms.iter().filter_map(|(c, t)| match t {
            Term::View(v) => Some((c.program.clone(), v.clone())),
            Term::Product(..) => None,
        });
        let first_product = products.next().cloned().map(|(c, t)| (c.program, t));
        let extra_products: Vec<_> = products.cloned().map(|(c, t)| (c.program, t)).collect();
        let none = quote!(::core::option::Option::None);
        let mut code = match first_product {
            Some((alpha, Term::Product(a, b))) => {
                let beta = match views.next() {
                    Some((c, v)) => quote!(::core::option::Option::Some((#c, #v))),
                    None => none.clone(),
                };
                quote!(#SCRATCH.gemm(#buffer, #alpha, #a, #b, #beta, #ROUNDING))
            }
            _ => match views.next() {
                Some((c, v)) => quote!(#SCRATCH.axpby(#buffer, #c, #v, #none, #ROUNDING)),
                None => quote!(::core::compile_error!("an empty matrix sum")),
            },
        };
        for (c, v) in views {
            code = quote!({ let __acc = #code; #SCRATCH.axpby(__acc.buffer, 1.0, __acc, ::core::option::Option::Some((#c, #v)), #ROUNDING) });
        }
        for (alpha, term) in extra_products {
            if let Term::Product(a, b) = term {
                code = quote!({ let __acc = #code; #SCRATCH.gemm(__acc.buffer, #alpha, #a, #b, ::core::option::Option::Some((1.0, __acc)), #ROUNDING) });
            }
        }
        code
    }

    /// A matrix as the terms of a sum (a held matrix is one term with coefficient 1).
    pub(super) fn terms_of(&mut self, value: Value, at: &impl ToTokens) -> Option<(Vec<(Coef, Term)>, Dims)> {
        if value.place == Place::Matrix
            && let Some(MatInfo { pending: Some(terms), dims, .. }) = self.matrix_info(&value)
        {
            return Some((terms, dims));
        }
        let (view, dims) = self.matrix_view(value, at)?;
        Some((vec![(Coef::one(), Term::View(view))], dims))
    }

    fn pending(&mut self, terms: Vec<(Coef, Term)>, dims: Dims, span: proc_macro2::Span) -> Value {
        let local = self.local("mp");
        let info = MatInfo { dims, pending: Some(terms), mutable: None };
        self.matrix_value(local.into_token_stream(), info, span)
    }

    /// A scalar operand of matrix code: a prologue value through its slot, a number computed
    /// in the program as it is.
    pub(super) fn program_scalar(&mut self, value: Value) -> TokenStream {
        match value.place {
            Place::MatScalar => value.tokens,
            _ => self.factored_operand(value),
        }
    }

    /// `+ - * /` with a matrix operand: sums and differences of matrices of one shape, and a
    /// matrix times or over a number.
    pub(super) fn matrix_arithmetic(&mut self, left: Value, right: Value, op: &syn::BinOp) -> Option<Value> {
        let span = left.span.join(right.span).unwrap_or(left.span);
        let matrix_like = |v: &Value| matches!(v.place, Place::Matrix | Place::Elem);
        let (l_matrix, r_matrix) = (matrix_like(&left), matrix_like(&right));
        let scalar = |v: &Value| matches!(v.place, Place::Scalar | Place::MatScalar);
        let both = l_matrix && r_matrix;
        match op {
            // element by element in the program: a product or quotient of two matrices, a
            // number added to (or divided by) a matrix
            syn::BinOp::Mul(_) | syn::BinOp::MulAssign(_) | syn::BinOp::Div(_) | syn::BinOp::DivAssign(_) if both => {
                let divide = matches!(op, syn::BinOp::Div(_) | syn::BinOp::DivAssign(_));
                let at = quote::quote_spanned!(span => x);
                let op = if divide { quote!(/) } else { quote!(*) };
                self.program_map(vec![left, right], &at, |a| {
                    let (x, y) = (&a[0], &a[1]);
                    quote!(#x #op #y)
                })
            }
            syn::BinOp::Add(_) | syn::BinOp::Sub(_) | syn::BinOp::AddAssign(_) | syn::BinOp::SubAssign(_)
                if l_matrix && scalar(&right) || r_matrix && scalar(&left) =>
            {
                let op =
                    if matches!(op, syn::BinOp::Add(_) | syn::BinOp::AddAssign(_)) { quote!(+) } else { quote!(-) };
                let at = quote::quote_spanned!(span => x);
                self.program_map(vec![left, right], &at, |a| {
                    let (x, y) = (&a[0], &a[1]);
                    quote!(#x #op #y)
                })
            }
            syn::BinOp::Div(_) | syn::BinOp::DivAssign(_) if r_matrix && scalar(&left) => {
                let at = quote::quote_spanned!(span => x);
                self.program_map(vec![left, right], &at, |a| {
                    let (x, y) = (&a[0], &a[1]);
                    quote!(#x / #y)
                })
            }
            syn::BinOp::Add(_) | syn::BinOp::Sub(_) | syn::BinOp::AddAssign(_) | syn::BinOp::SubAssign(_)
                if l_matrix || r_matrix =>
            {
                let at = quote::quote_spanned!(span => x);
                let (mut terms, dims) = self.terms_of(left, &at)?;
                let (more, other) = self.terms_of(right, &at)?;
                if dims != other {
                    let message = format!(
                        "matrices of different shapes do not add: {} and {}",
                        describe(&dims),
                        describe(&other)
                    );
                    self.errors.error_at(span, message);
                    return None;
                }
                let negate = matches!(op, syn::BinOp::Sub(_) | syn::BinOp::SubAssign(_));
                terms.extend(more.into_iter().map(|(c, t)| if negate { (c.negated(), t) } else { (c, t) }));
                Some(self.pending(terms, dims, span))
            }
            syn::BinOp::Mul(_) | syn::BinOp::MulAssign(_)
                if l_matrix && scalar(&right) || r_matrix && scalar(&left) =>
            {
                let (matrix, factor) = if l_matrix { (left, right) } else { (right, left) };
                let code = self.program_scalar(factor.clone());
                let at = quote::quote_spanned!(span => x);
                let (terms, dims) = self.terms_of(matrix, &at)?;
                let terms = terms.into_iter().map(|(c, t)| (c.scaled(&factor, &code, false), t)).collect();
                Some(self.pending(terms, dims, span))
            }
            syn::BinOp::Div(_) | syn::BinOp::DivAssign(_) if l_matrix && scalar(&right) => {
                let code = self.program_scalar(right.clone());
                let at = quote::quote_spanned!(span => x);
                let (terms, dims) = self.terms_of(left, &at)?;
                let terms = terms.into_iter().map(|(c, t)| (c.scaled(&right, &code, true), t)).collect();
                Some(self.pending(terms, dims, span))
            }
            _ => {
                self.errors.error_at(span, "matrices add, subtract, multiply and divide element by element, and combine with numbers; a matrix product is `matmul(a, b)`");
                None
            }
        }
    }

    /// `matmul(a, b)`, `transpose(a)`, and the functions of `matrix_functions.rs`.
    pub(super) fn matrix_call(&mut self, name: &str, values: Vec<Value>, args: &[&Expr]) -> Option<Value> {
        let span = syn::spanned::Spanned::span(args[0]);
        if !matches!(name, "matmul" | "transpose") {
            return self.matrix_function(name, values, args);
        }
        if name == "transpose" {
            let value = values.into_iter().next()?;
            let (view, (rows, cols)) = self.matrix_view(value, args[0])?;
            let local = self.local("mv");
            self.matrix_code(quote!(let #local: #RT::MatView = #view.t();));
            let info = MatInfo { dims: (cols, rows), pending: None, mutable: None };
            return Some(self.matrix_value(local.into_token_stream(), info, span));
        }
        let mut it = values.into_iter();
        let (a, b) = (it.next()?, it.next()?);
        let (a, a_dims) = self.matrix_view(a, args[0])?;
        let (b, b_dims) = self.matrix_view(b, args[1])?;
        if a_dims.1 != b_dims.0 {
            let message = format!(
                "`matmul` needs the left matrix's columns to match the right one's rows: {} times {}",
                describe(&a_dims),
                describe(&b_dims)
            );
            self.errors.error(args[1], format!("{message}; transpose one of them"));
            return None;
        }
        let terms = vec![(Coef::one(), Term::Product(a, b))];
        Some(self.pending(terms, (a_dims.0, b_dims.1), span))
    }

    /// `norm(m)` of a matrix: its Frobenius norm, a number of the program.
    pub(super) fn matrix_norm(&mut self, value: Value, at: &impl ToTokens) -> Option<Value> {
        let (view, _) = self.matrix_view(value, at)?;
        let local = self.local("ms");
        self.matrix_code(quote!(let #local: f64 = #RT::round_scalar(#SCRATCH.norm(#view), #ROUNDING);));
        Some(self.matrix_scalar(local.into_token_stream(), at))
    }

    pub(super) fn matrix_scalar(&mut self, tokens: TokenStream, at: &impl ToTokens) -> Value {
        let span = syn::spanned::Spanned::span(&at.to_token_stream());
        self.seen_stage = self.seen_stage.max(1);
        Value { place: Place::MatScalar, stage: 1, span, varying: true, ..Value::scalar(Ty::Float, tokens) }
    }

    /// A function or operator over numbers of the program (`max(norm(x), eps)`): computed
    /// there, rounded as the program's matrices are.
    pub(super) fn program_number(
        &mut self,
        ty: Ty,
        values: Vec<Value>,
        build: impl FnOnce(Vec<TokenStream>) -> TokenStream,
    ) -> Value {
        let span = values.first().map_or_else(proc_macro2::Span::call_site, |v| v.span);
        let args: Vec<TokenStream> = values.into_iter().map(|v| self.program_scalar(v)).collect();
        let code = build(args);
        let tokens = if ty == Ty::Float { quote!(#RT::round_scalar(#code, #ROUNDING)) } else { code };
        Value { ty, ..self.matrix_scalar(tokens, &quote::quote_spanned!(span => x)) }
    }

    /// A matrix read by element-wise code: copied into a result buffer the update pass walks.
    pub(super) fn matrix_in_loop(&mut self, value: Value) -> TokenStream {
        // a sum of matrices scaled by numbers of the prologue is summed in the element loop,
        // in the element type, as torch's `param.add_(update, alpha=-lr)` multiplies
        if let Some(MatInfo { pending: Some(terms), dims, .. }) = self.matrix_info(&value)
            && terms.iter().all(|(c, t)| c.prologue.is_some() && matches!(t, Term::View(_)))
        {
            let mut sum = TokenStream::new();
            for (coef, term) in terms {
                let (Some(factor), Term::View(view)) = (coef.prologue, term) else { continue };
                let info = MatInfo { dims: dims.clone(), pending: None, mutable: None };
                let held = self.matrix_value(view, info, value.span);
                let read = self.matrix_in_loop(held);
                let factor = self.elementwise(factor);
                let plus = if sum.is_empty() { TokenStream::new() } else { quote!(+) };
                sum = quote!(#sum #plus (#factor * #read));
            }
            return quote!((#sum));
        }
        let span = value.span;
        let at = quote::quote_spanned!(span => x);
        let Some((view, dims)) = self.matrix_view(value, &at) else { return quote!(<#ELEM as #RT::Element>::ZERO) };
        if dims != (Dim::Rows, Dim::Cols) {
            let message = format!(
                "element-wise code reads a matrix shaped like the parameter (rows x cols); this one is {}",
                describe(&dims)
            );
            self.errors.error_at(span, message);
            return quote!(<#ELEM as #RT::Element>::ZERO);
        }
        let key = view.to_string();
        let index = match self.matrix.results.iter().position(|(k, _)| *k == key) {
            Some(index) => index,
            None => {
                let buffer = self.fresh_buffer();
                self.matrix_code(
                    quote!(#SCRATCH.axpby(#buffer, 1.0, #view, ::core::option::Option::None, #RT::Rounding::Exact);),
                );
                self.matrix.results.push((key, buffer));
                self.matrix.results.len() - 1
            }
        };
        MATRIX_RESULT_VALUE.at(index).into_token_stream()
    }
}
