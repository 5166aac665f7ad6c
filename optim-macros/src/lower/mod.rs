//! Name resolution, typing and hoisting: from the syntax tree to the IR.
//!
//! Every expression is typed as a float, a bool or a float pair, and placed either in the scalar
//! prologue (it depends only on hyperparameters, the step counter and scalar state) or in the
//! element loop. Where an element expression needs a scalar operand, the maximal scalar
//! sub-expression is computed once in the prologue into a slot; where element code branches on a
//! scalar condition, the condition becomes a bit of the mask that selects a specialised loop.

mod branches;
mod calls;
mod check;
mod declare;
mod expressions;
mod functions;
mod hoist;
mod hypers;
mod matrix;
mod matrix_functions;
mod matrix_shape;
mod matrix_state;
mod matrix_statements;
mod param_copies;
mod points;
mod reduce;
mod resolve;
mod signs;
mod statements;
mod values;

use std::collections::HashMap;

use proc_macro2::{Literal, TokenStream};
use quote::ToTokens;
use syn::{BinOp, Expr, Stmt};

use crate::ast::Spec;
use crate::errors::Errors;
use crate::ir;
use crate::symbol::SLOTS;
use expressions::compound_op;
use functions::*;
use values::*;

pub struct Lowerer<'a> {
    spec: &'a Spec,
    errors: &'a mut Errors,
    mode: Mode,
    names: HashMap<String, Name>,
    scopes: Vec<HashMap<String, Value>>,
    frames: Vec<Frame>,
    next_frame: usize,
    next_local: usize,
    guards: Vec<String>,
    slots: Vec<Hoisted>,
    bits: Vec<Hoisted>,
    /// Bumped whenever a scalar state changes, so hoisted values read before are not reused.
    generation: usize,
    hyper_tys: Vec<ir::HyperTy>,
    states: Vec<ir::ElemState>,
    scalar_states: Vec<ir::ScalarState>,
    group_states: Vec<ir::GroupState>,
    group_written: Vec<bool>,
    /// Whether the expression being lowered read anything that differs between tensors.
    seen_varying: bool,
    /// Per enclosing scalar branch: whether its condition differs between tensors.
    branch_varying: Vec<bool>,
    param_written: bool,
    grad_read: bool,
    scalar_written: Vec<bool>,
    /// Per declared state: whether its name was rejected (a duplicate or a built-in name).
    rejected_states: Vec<bool>,
    /// The latest reduction stage seen while lowering the current expression.
    seen_stage: usize,
    /// The stage of the values `param` and each state hold now (by name).
    var_stages: HashMap<String, usize>,
    /// Stages of the conditions of the enclosing scalar branches.
    branch_stages: Vec<usize>,
    /// Inside an element-wise condition or a value block, where a reduction cannot go.
    no_reduction_depth: usize,
    /// Inside a branch on an element-wise condition.
    elem_condition_depth: usize,
    reductions: Vec<ir::Reduction>,
    /// The last memory pass any reduction or row/column sum needs.
    last_pass: usize,
    /// Row/column values held in memory, by the tokens that read them in row/column code.
    held: HashMap<String, (Place, Held)>,
    /// Materialised row and column temporaries (keyed like slots).
    row_temps: Vec<Hoisted>,
    col_temps: Vec<Hoisted>,
    accumulators: (usize, usize),
    row_loads: Vec<(syn::Ident, TokenStream)>,
    /// Column buffers element code reads: the view's local, the buffer and its first index.
    col_views: Vec<ir::ColView>,
    /// Per factored state: read by element-wise code before any update of it.
    elem_read_early: Vec<bool>,
    /// Where each hoisted condition (mask bit) and each reduction was written, for limit errors.
    bit_spans: Vec<proc_macro2::Span>,
    /// Element code with scalar operands written in place, not hoisted (state initial values).
    inline_scalars: bool,
    /// A statement was rejected without walking its body (a loop).
    unwalked: bool,
    reduction_spans: Vec<proc_macro2::Span>,
    /// Matrix values and the program computing them.
    matrix: matrix::MatrixWalk,
}

pub fn lower(spec: &Spec, errors: &mut Errors) -> Option<ir::Rule> {
    let mut lowerer = Lowerer {
        spec,
        errors,
        mode: Mode::HyperOnly,
        names: HashMap::new(),
        scopes: vec![HashMap::new()],
        frames: vec![Frame::default()],
        next_frame: 1,
        next_local: 0,
        guards: Vec::new(),
        slots: Vec::new(),
        bits: Vec::new(),
        generation: 0,
        hyper_tys: Vec::new(),
        states: Vec::new(),
        scalar_states: Vec::new(),
        group_states: Vec::new(),
        group_written: Vec::new(),
        seen_varying: false,
        branch_varying: Vec::new(),
        param_written: false,
        grad_read: false,
        scalar_written: Vec::new(),
        rejected_states: Vec::new(),
        seen_stage: 0,
        var_stages: HashMap::new(),
        branch_stages: Vec::new(),
        no_reduction_depth: 0,
        elem_condition_depth: 0,
        reductions: Vec::new(),
        last_pass: 0,
        held: HashMap::new(),
        row_temps: Vec::new(),
        col_temps: Vec::new(),
        accumulators: (0, 0),
        row_loads: Vec::new(),
        col_views: Vec::new(),
        elem_read_early: Vec::new(),
        bit_spans: Vec::new(),
        inline_scalars: false,
        unwalked: false,
        reduction_spans: Vec::new(),
        matrix: matrix::MatrixWalk::default(),
    };
    lowerer.declare_names();
    let hypers = lowerer.hypers();
    let requires = lowerer.requires();
    lowerer.declare_states();
    lowerer.mode = Mode::Step;
    let bf16_matrices = lowerer.bf16_matrices();
    for stmt in &spec.step {
        lowerer.statement(stmt);
    }
    let points = lowerer.points();
    lowerer.check_all();
    if !lowerer.errors.is_empty() {
        return None;
    }
    let matrix = lowerer.matrix_layout();
    let matrix_state_code = lowerer.matrix_state_code();
    let root = lowerer.frames.pop().unwrap_or_default();
    // one more slot after the spec's: the factor every gradient load is multiplied by (1, or
    // the coefficient of gradient clipping fused into the step)
    let grad_scale_slot = lowerer.slots.len();
    let literal = Literal::usize_unsuffixed(grad_scale_slot);
    let prologue = std::iter::once(quote::quote!(#SLOTS[#literal] = 1.0;)).chain(root.scalar).collect();
    Some(ir::Rule {
        hypers,
        requires,
        states: lowerer.states,
        scalar_states: lowerer.scalar_states,
        group_states: lowerer.group_states,
        points,
        prologue,
        grad_scale_slot,
        body: root.elem,
        slots: grad_scale_slot + 1,
        bits: lowerer.bits.len(),
        passes: lowerer.last_pass + 1,
        reductions: lowerer.reductions,
        factored_code: root.factored,
        matrix_code: root.matrix,
        matrix_state_code,
        matrix,
        bf16_matrices,
        row_loads: lowerer.row_loads,
        col_views: lowerer.col_views,
        temps: (lowerer.row_temps.len(), lowerer.col_temps.len()),
        accumulators: lowerer.accumulators,
        param_written: lowerer.param_written,
        grad_read: lowerer.grad_read,
        step_text: source_text(&spec.step),
    })
}

/// The test of mask bit `index`, as generated code reads it.
pub(crate) fn bit_test_tokens(index: usize) -> TokenStream {
    Lowerer::bit_test(index)
}

pub(crate) fn source_text(stmts: &[Stmt]) -> String {
    stmts
        .iter()
        .map(|s| {
            let span = syn::spanned::Spanned::span(s);
            span.source_text().unwrap_or_else(|| s.to_token_stream().to_string())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn text(tokens: &impl ToTokens) -> String {
    let span = syn::spanned::Spanned::span(&tokens.to_token_stream());
    span.source_text().unwrap_or_else(|| tokens.to_token_stream().to_string())
}

pub(super) fn f64_literal(value: f64) -> TokenStream {
    match value {
        f64::INFINITY => quote::quote!(f64::INFINITY),
        f64::NEG_INFINITY => quote::quote!(f64::NEG_INFINITY),
        v if v.is_nan() => quote::quote!(f64::NAN),
        v => Literal::f64_suffixed(v).into_token_stream(),
    }
}

/// The conjuncts of a condition, as guard keys: `if a && b { .. }` guards states present
/// `if a`, `if b` and `if a && b`.
pub(super) fn conjuncts(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Binary(b) if matches!(b.op, BinOp::And(_)) => {
            conjuncts(&b.left, out);
            conjuncts(&b.right, out);
        }
        Expr::Paren(p) => conjuncts(&p.expr, out),
        _ => {}
    }
    out.push(e.to_token_stream().to_string());
}
