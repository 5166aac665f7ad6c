//! Name resolution, typing and hoisting: from the syntax tree to the IR.
//!
//! Every expression is typed as a float, a bool or a float pair, and placed either in the scalar
//! prologue (it depends only on hyperparameters, the step counter and scalar state) or in the
//! element loop. Where an element expression needs a scalar operand, the maximal scalar
//! sub-expression is computed once in the prologue into a slot; where element code branches on a
//! scalar condition, the condition becomes a bit of the mask that selects a specialised loop.

use std::collections::HashMap;

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::{BinOp, Expr, ExprIf, Lit, Pat, Stmt, UnOp};

use crate::ast::{Axis, Spec};
use crate::errors::{Errors, did_you_mean};
use crate::ir;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Ty {
    Float,
    Bool,
    Pair,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Place {
    Scalar,
    /// One value per row (of the stacked matrices), computed between passes.
    Row,
    /// One value per column, computed between passes.
    Col,
    Elem,
}

impl Place {
    /// Where a combination of values of places `self` and `other` lives.
    fn join(self, other: Place) -> Place {
        match (self, other) {
            (Place::Scalar, p) | (p, Place::Scalar) => p,
            (a, b) if a == b => a,
            _ => Place::Elem,
        }
    }

    fn factored(self) -> bool {
        matches!(self, Place::Row | Place::Col)
    }
}

/// A row or column value already held in memory: a factored state or a temporary.
#[derive(Clone, Copy)]
enum Held {
    State(usize),
    Temp(usize),
}

#[derive(Clone)]
struct Value {
    ty: Ty,
    place: Place,
    tokens: TokenStream,
    /// The latest reduction stage this value depends on (0: none).
    stage: usize,
}

impl Value {
    fn scalar(ty: Ty, tokens: TokenStream) -> Self {
        Value { ty, place: Place::Scalar, tokens, stage: 0 }
    }

    fn elem(ty: Ty, tokens: TokenStream) -> Self {
        Value { ty, place: Place::Elem, tokens, stage: 0 }
    }
}

#[derive(Clone)]
enum Name {
    Hyper(usize),
    State(usize),
    ScalarState(usize),
    Param,
    Grad,
    Step,
    Numel,
    Ndim,
    Local(Value),
}

/// Where an expression may be used: the step block sees everything, initial values, ranges
/// and `require` conditions only hyperparameters.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Step,
    HyperOnly,
    /// A state's presence condition: hyperparameters, `ndim` and `numel`.
    Presence,
}

#[derive(Default)]
struct Frame {
    path: Vec<usize>,
    scalar: Vec<TokenStream>,
    elem: Vec<ir::ElemStmt>,
    /// Row and column statements, with their stages.
    factored: Vec<(usize, TokenStream)>,
    assigns_scalar_state: bool,
}

struct Hoisted {
    key: String,
    path: Vec<usize>,
    generation: usize,
    index: usize,
}

/// Reductions: one element-wise argument, one number per tensor.
pub const REDUCTIONS: [&str; 4] = ["sum", "mean", "norm", "amax"];

pub const FUNCTIONS: [(&str, usize); 19] = [
    ("sum", 1),
    ("mean", 1),
    ("norm", 1),
    ("amax", 1),
    ("sqrt", 1),
    ("abs", 1),
    ("exp", 1),
    ("ln", 1),
    ("sign", 1),
    ("min", 2),
    ("max", 2),
    ("pow", 2),
    ("clamp", 3),
    ("lerp", 3),
    ("select", 3),
    ("round_f32", 1),
    ("round_bf16", 1),
    ("row_mean", 1),
    ("col_mean", 1),
];

const MAX_STATES: usize = 8;

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
    reductions: Vec<(usize, ir::ReduceKind)>,
    /// The last memory pass any reduction or row/column sum needs.
    last_pass: usize,
    /// Row/column values held in memory, by the tokens that read them in row/column code.
    held: HashMap<String, (Place, Held)>,
    /// Materialised row and column temporaries (keyed like slots).
    row_temps: Vec<Hoisted>,
    col_temps: Vec<Hoisted>,
    accumulators: (usize, usize),
    row_loads: Vec<(syn::Ident, TokenStream)>,
    /// Per factored state: read by element-wise code before any update of it.
    elem_read_early: Vec<bool>,
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
        elem_read_early: Vec::new(),
    };
    lowerer.declare_names();
    let hypers = lowerer.hypers();
    let requires = lowerer.requires();
    lowerer.declare_states();
    lowerer.mode = Mode::Step;
    for stmt in &spec.step {
        lowerer.statement(stmt);
    }
    lowerer.check_writes();
    if !lowerer.errors.is_empty() {
        return None;
    }
    let root = lowerer.frames.pop().unwrap_or_default();
    Some(ir::Rule {
        hypers,
        requires,
        states: lowerer.states,
        scalar_states: lowerer.scalar_states,
        prologue: root.scalar,
        body: root.elem,
        slots: lowerer.slots.len(),
        bits: lowerer.bits.len(),
        passes: lowerer.last_pass + 1,
        reductions: lowerer.reductions,
        factored_code: root.factored,
        row_loads: lowerer.row_loads,
        temps: (lowerer.row_temps.len(), lowerer.col_temps.len()),
        accumulators: lowerer.accumulators,
        param_written: lowerer.param_written,
        grad_read: lowerer.grad_read,
        step_text: source_text(&spec.step),
    })
}

fn source_text(stmts: &[Stmt]) -> String {
    stmts
        .iter()
        .map(|s| {
            let span = syn::spanned::Spanned::span(s);
            span.source_text().unwrap_or_else(|| s.to_token_stream().to_string())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn text(tokens: &impl ToTokens) -> String {
    let span = syn::spanned::Spanned::span(&tokens.to_token_stream());
    span.source_text().unwrap_or_else(|| tokens.to_token_stream().to_string())
}

fn f64_literal(value: f64) -> TokenStream {
    Literal::f64_suffixed(value).into_token_stream()
}

/// The conjuncts of a condition, as guard keys: `if a && b { .. }` guards states present
/// `if a`, `if b` and `if a && b`.
fn conjuncts(e: &Expr, out: &mut Vec<String>) {
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

impl<'a> Lowerer<'a> {
    // ---- declarations -------------------------------------------------------------------

    fn declare_names(&mut self) {
        // Returns whether the name was declared; a rejected one gets no follow-on errors.
        let declare = |errors: &mut Errors, names: &mut HashMap<String, Name>, ident: &syn::Ident, name: Name| {
            let key = ident.to_string();
            if matches!(key.as_str(), "param" | "grad" | "step" | "numel" | "ndim") {
                errors.error(ident, format!("`{key}` is built in; choose another name"));
            } else if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(key.clone()) {
                slot.insert(name);
                return true;
            } else {
                errors
                    .error(ident, format!("`{key}` is defined twice; hyperparameters and states share one namespace"));
            }
            false
        };
        for (index, hyper) in self.spec.hypers.iter().enumerate() {
            declare(self.errors, &mut self.names, &hyper.name, Name::Hyper(index));
        }
        let (mut elem, mut scalar) = (0, 0);
        for state in &self.spec.states {
            let name = if state.scalar {
                scalar += 1;
                Name::ScalarState(scalar - 1)
            } else {
                elem += 1;
                Name::State(elem - 1)
            };
            let declared = declare(self.errors, &mut self.names, &state.name, name);
            self.rejected_states.push(!declared);
        }
        if elem > MAX_STATES {
            self.errors.error_at(
                self.spec.name.span(),
                format!("{elem} per-element states declared; at most {MAX_STATES} are supported"),
            );
        }
        self.names.insert("param".into(), Name::Param);
        self.names.insert("grad".into(), Name::Grad);
        self.names.insert("step".into(), Name::Step);
        self.names.insert("numel".into(), Name::Numel);
        self.names.insert("ndim".into(), Name::Ndim);
    }

    fn hypers(&mut self) -> Vec<ir::Hyper> {
        let mut hypers = Vec::new();
        for hyper in &self.spec.hypers {
            let (ty, default) = match self.default_value(&hyper.default) {
                Some(found) => found,
                None => {
                    self.errors.error(
                        &hyper.default,
                        "a hyperparameter default must be a literal: a float (`1e-3`), an integer, a bool or a pair of floats (`(0.9, 0.999)`)",
                    );
                    (ir::HyperTy::Float, quote!(0.0))
                }
            };
            self.hyper_tys.push(match ty {
                ir::HyperTy::Float => ir::HyperTy::Float,
                ir::HyperTy::Int => ir::HyperTy::Int,
                ir::HyperTy::Bool => ir::HyperTy::Bool,
                ir::HyperTy::Pair => ir::HyperTy::Pair,
            });
            hypers.push(ir::Hyper {
                name: hyper.name.clone(),
                ty,
                default,
                default_text: text(&hyper.default),
                docs: hyper.docs.clone(),
                range: None,
            });
        }
        for (index, hyper) in self.spec.hypers.iter().enumerate() {
            if let Some(range) = &hyper.range {
                hypers[index].range = self.range_check(index, range);
            }
        }
        hypers
    }

    fn default_value(&self, e: &Expr) -> Option<(ir::HyperTy, TokenStream)> {
        match e {
            Expr::Lit(l) => match &l.lit {
                Lit::Bool(b) => Some((ir::HyperTy::Bool, b.to_token_stream())),
                Lit::Int(i) => {
                    Some((ir::HyperTy::Int, Literal::i64_suffixed(i.base10_parse().ok()?).into_token_stream()))
                }
                Lit::Float(f) => Some((ir::HyperTy::Float, f64_literal(f.base10_parse().ok()?))),
                _ => None,
            },
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => {
                let (ty, tokens) = self.default_value(&u.expr)?;
                matches!(ty, ir::HyperTy::Float | ir::HyperTy::Int).then(|| (ty, quote!(-#tokens)))
            }
            Expr::Tuple(t) if t.elems.len() == 2 => {
                let mut parts = t.elems.iter().map(|e| self.number(e));
                let (a, b) = (parts.next()??, parts.next()??);
                let (a, b) = (f64_literal(a), f64_literal(b));
                Some((ir::HyperTy::Pair, quote!((#a, #b))))
            }
            _ => None,
        }
    }

    fn number(&self, e: &Expr) -> Option<f64> {
        match e {
            Expr::Lit(l) => match &l.lit {
                Lit::Int(i) => i.base10_parse::<f64>().ok(),
                Lit::Float(f) => f.base10_parse::<f64>().ok(),
                _ => None,
            },
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => self.number(&u.expr).map(|v| -v),
            _ => None,
        }
    }

    fn range_check(&mut self, index: usize, range: &syn::ExprRange) -> Option<(TokenStream, String)> {
        let name = &self.spec.hypers[index].name;
        let mut bound = |e: &Option<Box<Expr>>| -> Option<Option<TokenStream>> {
            match e {
                None => Some(None),
                Some(e) => {
                    let value = self.expr(e)?;
                    self.expect(&value, Ty::Float, e)?;
                    Some(Some(value.tokens))
                }
            }
        };
        let low = bound(&range.start)?;
        let high = bound(&range.end)?;
        let inclusive = matches!(range.limits, syn::RangeLimits::Closed(_));
        let components: Vec<TokenStream> = match self.hyper_tys[index] {
            ir::HyperTy::Pair => vec![quote!(__h.#name.0), quote!(__h.#name.1)],
            ir::HyperTy::Int => vec![quote!((__h.#name as f64))],
            ir::HyperTy::Float => vec![quote!(__h.#name)],
            ir::HyperTy::Bool => {
                self.errors.error(range, "a bool hyperparameter has no range");
                return None;
            }
        };
        let mut checks = Vec::new();
        for v in &components {
            if let Some(low) = &low {
                checks.push(quote!((#low <= #v)));
            }
            match (&high, inclusive) {
                (Some(high), true) => checks.push(quote!((#v <= #high))),
                (Some(high), false) => checks.push(quote!((#v < #high))),
                (None, _) => {}
            }
        }
        let low_text = range.start.as_ref().map(|e| format!("{} <= ", text(e))).unwrap_or_default();
        let high_text = range
            .end
            .as_ref()
            .map(|e| format!(" {} {}", if inclusive { "<=" } else { "<" }, text(e)))
            .unwrap_or_default();
        Some((quote!(true #(&& #checks)*), format!("{low_text}{name}{high_text}")))
    }

    fn requires(&mut self) -> Vec<ir::Require> {
        let mut requires = Vec::new();
        for require in &self.spec.requires {
            if let Some(value) = self.expr(&require.condition)
                && self.expect(&value, Ty::Bool, &require.condition).is_some()
            {
                requires.push(ir::Require { condition: value.tokens, message: require.message.clone() });
            }
        }
        requires
    }

    fn declare_states(&mut self) {
        for state in &self.spec.states {
            let init = self.expr(&state.init).and_then(|v| self.expect(&v, Ty::Float, &state.init).map(|_| v.tokens));
            let init = init.unwrap_or_else(|| quote!(0.0));
            if state.scalar {
                if let Some(condition) = &state.condition {
                    self.errors.error(condition, "a scalar state is always present; drop the `if`");
                }
                self.scalar_states.push(ir::ScalarState {
                    name: state.name.clone(),
                    docs: state.docs.clone(),
                    init,
                    init_text: text(&state.init),
                });
                self.scalar_written.push(false);
                continue;
            }
            self.mode = Mode::Presence;
            let presence = state.condition.as_ref().and_then(|condition| {
                let value = self.expr(condition)?;
                self.expect(&value, Ty::Bool, condition)?;
                let bit = self.bit(value.tokens.clone());
                Some((bit, value.tokens, condition.to_token_stream().to_string()))
            });
            self.mode = Mode::HyperOnly;
            self.elem_read_early.push(false);
            self.states.push(ir::ElemState {
                name: state.name.clone(),
                docs: state.docs.clone(),
                init,
                init_text: text(&state.init),
                presence,
                read: false,
                written: false,
                axis: state.axis,
            });
        }
    }

    fn check_writes(&mut self) {
        if self.spec.step.is_empty() {
            self.errors.error_at(self.spec.step_span, "the step block is empty; write at least one update of `param`");
            return;
        }
        if !self.param_written {
            self.errors.error_at(self.spec.step_span, "the step never updates `param`; add e.g. `param -= lr * grad;`");
        }
        let mut elem_written = self.states.iter().map(|s| s.written);
        let mut scalar_written = self.scalar_written.iter().copied();
        for (state, rejected) in self.spec.states.iter().zip(&self.rejected_states) {
            let written = if state.scalar { scalar_written.next() } else { elem_written.next() };
            if written == Some(false) && !rejected {
                self.errors.error(
                    &state.name,
                    format!("state `{}` is never written in `step`; update it or remove it", state.name),
                );
            }
        }
    }

    // ---- frames, scopes, hoisting ---------------------------------------------------------

    fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("the root frame is never popped while lowering")
    }

    fn in_frame<R>(&mut self, guards: &[String], body: impl FnOnce(&mut Self) -> R) -> (Frame, R) {
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
    fn reenter<R>(&mut self, frame: &mut Frame, body: impl FnOnce(&mut Self) -> R) -> R {
        self.frames.push(std::mem::take(frame));
        let result = body(self);
        *frame = self.frames.pop().unwrap_or_default();
        result
    }

    fn reusable(&self, table: &[Hoisted], key: &str) -> Option<usize> {
        let path = self.frames.last().map(|f| f.path.as_slice()).unwrap_or_default();
        table
            .iter()
            .find(|h| h.key == key && h.generation == self.generation && path.starts_with(&h.path))
            .map(|h| h.index)
    }

    /// Hoists a scalar float into a slot computed in the prologue; the loop reads `__cN`.
    fn slot(&mut self, tokens: TokenStream) -> TokenStream {
        let key = tokens.to_string();
        let index = match self.reusable(&self.slots, &key) {
            Some(index) => index,
            None => {
                let index = self.slots.len();
                let literal = Literal::usize_unsuffixed(index);
                self.frame().scalar.push(quote!(__slots[#literal] = #tokens;));
                let (path, generation) = (self.frame().path.clone(), self.generation);
                self.slots.push(Hoisted { key, path, generation, index });
                index
            }
        };
        format_ident!("__c{}", index).into_token_stream()
    }

    /// Hoists a scalar condition into a mask bit; the loop reads it as a constant.
    fn bit(&mut self, tokens: TokenStream) -> usize {
        let key = tokens.to_string();
        if let Some(index) = self.reusable(&self.bits, &key) {
            return index;
        }
        let index = self.bits.len();
        let literal = Literal::usize_unsuffixed(index);
        self.frame().scalar.push(quote!(__mask |= (#tokens as u32) << #literal;));
        let (path, generation) = (self.frame().path.clone(), self.generation);
        self.bits.push(Hoisted { key, path, generation, index });
        index
    }

    fn bit_test(index: usize) -> TokenStream {
        let literal = Literal::u32_unsuffixed(index as u32);
        quote!(((__mask >> #literal) & 1 == 1))
    }

    fn elementwise(&mut self, value: Value) -> TokenStream {
        match (value.place, value.ty) {
            (Place::Elem, _) => value.tokens,
            (Place::Scalar, Ty::Bool) => Self::bit_test(self.bit(value.tokens)),
            (Place::Scalar, _) => self.slot(value.tokens),
            (Place::Row | Place::Col, _) => self.factored_in_loop(value),
        }
    }

    /// A scalar operand of row/column code: slots and mask bits are in scope there too.
    fn factored_operand(&mut self, value: Value) -> TokenStream {
        match (value.place, value.ty) {
            (Place::Scalar, Ty::Bool) => Self::bit_test(self.bit(value.tokens)),
            (Place::Scalar, _) => self.slot(value.tokens),
            _ => value.tokens,
        }
    }

    /// The element loop's view of a row or column value: a load per row, or a read per element,
    /// of the memory that holds it (materialised first when it is an expression).
    fn factored_in_loop(&mut self, value: Value) -> TokenStream {
        let held = match self.held.get(&value.tokens.to_string()) {
            Some((_, held)) => *held,
            None => match self.materialise(value.clone()) {
                Some(index) => Held::Temp(index),
                None => return quote!(<__T as __rt::Element>::ZERO),
            },
        };
        let (row, index) = match value.place {
            Place::Row => (true, quote!(__row)),
            _ => (false, quote!(__cj)),
        };
        let read = match held {
            Held::State(k) => {
                let buffer = format_ident!("__fst{}", k);
                quote!(__rt::at(#buffer, #index))
            }
            Held::Temp(m) if row => quote!(<__T as __rt::Element>::from_f64(__rt::at(__ftemps, #m * __BR + #index))),
            Held::Temp(m) => {
                quote!(<__T as __rt::Element>::from_f64(__rt::at(__ftemps, __TR * __BR + #m * __BC + #index)))
            }
        };
        if let Held::State(k) = held
            && !self.states[k].written
        {
            self.elem_read_early[k] = true;
        }
        if !row {
            return read;
        }
        let key = read.to_string();
        if let Some((ident, _)) = self.row_loads.iter().find(|(_, tokens)| tokens.to_string() == key) {
            return ident.to_token_stream();
        }
        let ident = format_ident!("__rv{}", self.row_loads.len());
        self.row_loads.push((ident.clone(), read));
        ident.into_token_stream()
    }

    /// Computes a row or column value into a temporary between passes; returns its index.
    fn materialise(&mut self, value: Value) -> Option<usize> {
        if value.ty != Ty::Float {
            self.errors.error_at(
                proc_macro2::Span::call_site(),
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
            quote!(for __j in 0..__BR { #read = #tokens; })
        } else {
            self.col_temps.push(hoisted);
            quote!(for __j in 0..__BC { #read = #tokens; })
        };
        let stage = value.stage.max(self.branch_stage());
        self.frame().factored.push((stage, code));
        self.held.insert(read.to_string(), (value.place, Held::Temp(index)));
        Some(index)
    }

    /// A materialised row/column value, as row/column code reads it.
    fn temp_read(&self, place: Place, index: usize) -> TokenStream {
        match place {
            Place::Row => quote!(__temps[#index * __BR + __j]),
            _ => quote!(__temps[__TR * __BR + #index * __BC + __j]),
        }
    }

    fn local(&mut self, prefix: &str) -> syn::Ident {
        self.next_local += 1;
        format_ident!("__{}{}", prefix, self.next_local)
    }

    fn resolve(&self, ident: &syn::Ident) -> Option<Name> {
        let key = ident.to_string();
        for scope in self.scopes.iter().rev() {
            if let Some(value) = scope.get(&key) {
                return Some(Name::Local(value.clone()));
            }
        }
        self.names.get(&key).cloned()
    }

    fn unknown(&mut self, ident: &syn::Ident) {
        let name = ident.to_string();
        let locals: Vec<String> = self.scopes.iter().flat_map(|s| s.keys().cloned()).collect();
        let candidates = self.names.keys().map(String::as_str).chain(locals.iter().map(String::as_str));
        let hint = match did_you_mean(&name, candidates) {
            Some(close) => format!("; did you mean `{close}`?"),
            None => "; use a hyperparameter, a state, `param`, `grad`, `step` or a `let` binding".into(),
        };
        self.errors.error(ident, format!("unknown name `{name}`{hint}"));
    }

    fn expect(&mut self, value: &Value, ty: Ty, at: &impl ToTokens) -> Option<()> {
        if value.ty == ty {
            return Some(());
        }
        let hint = match value.ty {
            Ty::Pair => "; a pair is used through `let (a, b) = pair;` or `pair.0`",
            _ => "",
        };
        let found = match value.ty {
            Ty::Float => "a number",
            Ty::Bool => "a bool",
            Ty::Pair => "a pair",
        };
        let expected = match ty {
            Ty::Float => "a number",
            Ty::Bool => "a bool",
            Ty::Pair => "a pair",
        };
        self.errors.error(at, format!("expected {expected}, found {found}{hint}"));
        None
    }

    fn guard_check(&mut self, index: usize, ident: &syn::Ident) -> Option<()> {
        let Some((_, _, condition)) = &self.states[index].presence else { return Some(()) };
        if self.guards.contains(condition) {
            return Some(());
        }
        let condition = condition.clone();
        self.errors.error(
            ident,
            format!("state `{ident}` exists only `if {condition}`; use it inside `if {condition} {{ ... }}`"),
        );
        None
    }

    // ---- statements ------------------------------------------------------------------------

    fn statement(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Local(local) => self.let_statement(local),
            Stmt::Expr(Expr::Assign(assign), _) => self.assign(&assign.left, None, &assign.right),
            Stmt::Expr(Expr::Binary(b), _) if compound_op(&b.op).is_some() => {
                self.assign(&b.left, compound_op(&b.op), &b.right)
            }
            Stmt::Expr(Expr::If(if_stmt), _) => self.if_statement(if_stmt),
            Stmt::Expr(Expr::Block(block), _) => {
                let (frame, ()) = self.in_frame(&[], |this| {
                    for stmt in &block.block.stmts {
                        this.statement(stmt);
                    }
                });
                self.merge(frame);
            }
            Stmt::Expr(e, _) => {
                self.errors.error(e, "this value is never used; assign it to `param` or a state, or bind it with `let`")
            }
            other => {
                self.errors.error(other, "unsupported statement; the step block takes `let`, assignments and `if`")
            }
        }
    }

    fn merge(&mut self, frame: Frame) {
        let parent = self.frame();
        parent.scalar.extend(frame.scalar);
        parent.elem.extend(frame.elem);
        parent.factored.extend(frame.factored);
        parent.assigns_scalar_state |= frame.assigns_scalar_state;
    }

    fn let_statement(&mut self, local: &syn::Local) {
        let Some(init) = &local.init else {
            self.errors.error(local, "a `let` needs a value: `let name = ...;`");
            return;
        };
        if let Some((_, diverge)) = &init.diverge {
            self.errors.error(diverge, "`let ... else` is not supported");
            return;
        }
        let Some(value) = self.expr(&init.expr) else { return };
        match &local.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => {
                let bound = self.bind(value);
                self.scope_insert(&p.ident, bound);
            }
            Pat::Ident(p) if p.mutability.is_some() => {
                self.errors.error(p.mutability, "bindings are immutable; shadow with a new `let` instead of `let mut`");
                let bound = self.bind(value);
                self.scope_insert(&p.ident, bound);
            }
            Pat::Tuple(t) if t.elems.len() == 2 => {
                if self.expect(&value, Ty::Pair, &init.expr).is_none() {
                    return;
                }
                let tokens = value.tokens;
                for (index, pat) in t.elems.iter().enumerate() {
                    match pat {
                        Pat::Ident(p) if p.mutability.is_none() && p.subpat.is_none() => {
                            let field = syn::Index::from(index);
                            let bound = self.bind(Value::scalar(Ty::Float, quote!(#tokens.#field)));
                            self.scope_insert(&p.ident, bound);
                        }
                        other => self.errors.error(other, "expected a name"),
                    }
                }
            }
            Pat::Type(t) => {
                self.errors.error(&t.ty, "type annotations are not needed; every value is a float or a bool")
            }
            other => self.errors.error(other, "expected a name or a pair `(a, b)`"),
        }
    }

    fn scope_insert(&mut self, ident: &syn::Ident, value: Value) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(ident.to_string(), value);
        }
    }

    fn bind(&mut self, value: Value) -> Value {
        let tokens = &value.tokens;
        match (value.place, value.ty) {
            (Place::Scalar, ty) => {
                let local = self.local("v");
                let rust_ty = match ty {
                    Ty::Float => quote!(f64),
                    Ty::Bool => quote!(bool),
                    Ty::Pair => quote!((f64, f64)),
                };
                self.frame().scalar.push(quote!(let #local: #rust_ty = #tokens;));
                Value { tokens: local.into_token_stream(), ..value }
            }
            (Place::Row | Place::Col, _) => {
                let place = value.place;
                match self.materialise(value.clone()) {
                    Some(index) => Value { tokens: self.temp_read(place, index), ..value },
                    None => value,
                }
            }
            (Place::Elem, ty) => {
                let local = self.local("e");
                let rust_ty = if ty == Ty::Bool { quote!(bool) } else { quote!(__T) };
                let stage = value.stage.max(self.branch_stage());
                self.frame().elem.push(ir::ElemStmt::Code { stage, tokens: quote!(let #local: #rust_ty = #tokens;) });
                Value { tokens: local.into_token_stream(), stage, ..value }
            }
        }
    }

    fn assign(&mut self, target: &Expr, op: Option<BinOp>, rhs: &Expr) {
        let Expr::Path(path) = target else {
            self.errors.error(target, "only `param` and states can be assigned");
            return;
        };
        let Some(ident) = path.path.get_ident() else {
            self.errors.error(target, "only `param` and states can be assigned");
            return;
        };
        let Some(name) = self.resolve(ident) else {
            self.unknown(ident);
            return;
        };
        // Mark the target written first, so a mistake in the value is not also reported as
        // "never written".
        match name {
            Name::Param => self.param_written = true,
            Name::State(index) => self.states[index].written = true,
            Name::ScalarState(index) => self.scalar_written[index] = true,
            _ => {}
        }
        let Some(mut value) = self.expr(rhs) else { return };
        if self.expect(&value, Ty::Float, rhs).is_none() {
            return;
        }
        if let Some(op) = op {
            let Some(current) = self.expr(target) else { return };
            value = self.arithmetic(current, value, &op);
        }
        match name {
            Name::Param => {
                self.param_written = true;
                let stage = self.assigned_stage("param", &value);
                let tokens = self.elementwise(value);
                self.frame().elem.push(ir::ElemStmt::Code { stage, tokens: quote!(__pv = #tokens;) });
            }
            Name::State(index) if self.states[index].axis != Axis::Full => {
                if self.guard_check(index, ident).is_none() {
                    return;
                }
                self.assign_factored(index, ident, value, rhs);
            }
            Name::State(index) => {
                if self.guard_check(index, ident).is_none() {
                    return;
                }
                self.states[index].written = true;
                let stage = self.assigned_stage(&ident.to_string(), &value);
                let tokens = self.elementwise(value);
                let local = format_ident!("__st{}", index);
                self.frame().elem.push(ir::ElemStmt::Code { stage, tokens: quote!(#local = #tokens;) });
            }
            Name::ScalarState(index) => {
                if value.place != Place::Scalar {
                    self.errors.error(
                        rhs,
                        format!("scalar state `{ident}` cannot take an element-wise value; it holds one number per parameter"),
                    );
                    return;
                }
                self.scalar_written[index] = true;
                self.generation += 1;
                self.assigned_stage(&ident.to_string(), &value);
                let local = format_ident!("__ss{}", index);
                let tokens = value.tokens;
                let frame = self.frame();
                frame.scalar.push(quote!(#local = #tokens;));
                frame.assigns_scalar_state = true;
            }
            Name::Grad => self
                .errors
                .error(ident, "`grad` is read-only; bind the changed gradient to a new name: `let g = grad + ...;`"),
            Name::Step | Name::Numel | Name::Ndim => {
                self.errors.error(ident, format!("`{ident}` is read-only; the runtime provides it"))
            }
            Name::Hyper(_) => self
                .errors
                .error(ident, format!("hyperparameter `{ident}` is read-only in `step`; bind a new name with `let`")),
            Name::Local(_) => self.errors.error(
                ident,
                format!("`{ident}` is a `let` binding and cannot be assigned; shadow it: `let {ident} = ...;`"),
            ),
        }
    }

    /// `row_state = value;`: a loop over the rows (or columns) between passes.
    fn assign_factored(&mut self, index: usize, ident: &syn::Ident, value: Value, rhs: &Expr) {
        let place = if self.states[index].axis == Axis::Rows { Place::Row } else { Place::Col };
        let what = if place == Place::Row { "row" } else { "column" };
        if value.place.join(place) != place {
            let hint = if place == Place::Row { "`row_mean(...)`" } else { "`col_mean(...)`" };
            self.errors.error(
                rhs,
                format!("{what} state `{ident}` takes one value per {what}, e.g. {hint}; this value is not"),
            );
            return;
        }
        if self.elem_condition_depth > 0 {
            self.errors
                .error(ident, format!("{what} state `{ident}` cannot be assigned under an element-wise condition"));
            return;
        }
        if self.elem_read_early[index] {
            self.errors.error(
                ident,
                format!("`{ident}` is read by element-wise code before this update; bind the old value first (`let old = {ident};`) or read it after"),
            );
            return;
        }
        self.states[index].written = true;
        let stage = self.assigned_stage(&ident.to_string(), &value);
        let tokens = self.factored_operand(value);
        let buffer = format_ident!("__s{}", index);
        let len = if place == Place::Row { quote!(__BR) } else { quote!(__BC) };
        let code = quote! {
            for __j in 0..#buffer.len().min(#len) {
                #buffer[__j] = <__T as __rt::Element>::from_f64(#tokens);
            }
        };
        // later reads must not reuse temporaries computed from the old value
        self.generation += 1;
        self.frame().factored.push((stage, code));
    }

    fn if_statement(&mut self, if_stmt: &ExprIf) {
        let Some(condition) = self.expr(&if_stmt.cond) else { return };
        if self.expect(&condition, Ty::Bool, &if_stmt.cond).is_none() {
            return;
        }
        if condition.place.factored() {
            self.errors.error(&if_stmt.cond, "a branch cannot depend on a row or column value; use `select`");
            // still check the arms, so their own mistakes are reported too
            let _ = self.in_frame(&[], |this| if_stmt.then_branch.stmts.iter().for_each(|s| this.statement(s)));
            return;
        }
        let guards = self.guards_of(&if_stmt.cond, &condition);
        let else_guards = self.complement_guards(&if_stmt.cond, &condition);
        let element_condition = usize::from(condition.place == Place::Elem);
        self.no_reduction_depth += element_condition;
        self.elem_condition_depth += element_condition;
        self.branch_stages.push(condition.stage);
        let (then, ()) = self.in_frame(&guards, |this| {
            for stmt in &if_stmt.then_branch.stmts {
                this.statement(stmt);
            }
        });
        let (otherwise, ()) = self.in_frame(&else_guards, |this| {
            if let Some((_, e)) = &if_stmt.else_branch {
                match &**e {
                    Expr::If(nested) => this.if_statement(nested),
                    Expr::Block(block) => {
                        for stmt in &block.block.stmts {
                            this.statement(stmt);
                        }
                    }
                    other => this.errors.error(other, "expected a block"),
                }
            }
        });
        self.branch_stages.pop();
        self.no_reduction_depth -= element_condition;
        self.elem_condition_depth -= element_condition;
        self.join_branches(condition, &if_stmt.cond, then, otherwise, None);
    }

    /// Guards of an `else` arm: the complement of a comparison (`ndim >= 2` → `ndim < 2`) or of
    /// `!flag` / `flag`, so a state present under the opposite condition can be used there.
    fn complement_guards(&self, source: &Expr, condition: &Value) -> Vec<String> {
        if condition.place != Place::Scalar {
            return Vec::new();
        }
        let complement: Option<Expr> = match source {
            Expr::Binary(b) => {
                let op: Option<BinOp> = match b.op {
                    BinOp::Lt(t) => Some(BinOp::Ge(syn::Token![>=](t.spans[0]))),
                    BinOp::Ge(t) => Some(BinOp::Lt(syn::Token![<](t.spans[0]))),
                    BinOp::Gt(t) => Some(BinOp::Le(syn::Token![<=](t.spans[0]))),
                    BinOp::Le(t) => Some(BinOp::Gt(syn::Token![>](t.spans[0]))),
                    BinOp::Eq(t) => Some(BinOp::Ne(syn::Token![!=](t.spans[0]))),
                    BinOp::Ne(t) => Some(BinOp::Eq(syn::Token![==](t.spans[0]))),
                    _ => None,
                };
                op.map(|op| Expr::Binary(syn::ExprBinary { op, ..b.clone() }))
            }
            Expr::Unary(u) if matches!(u.op, UnOp::Not(_)) => Some((*u.expr).clone()),
            Expr::Path(_) => Some(syn::parse_quote!(!#source)),
            _ => None,
        };
        complement.map(|e| vec![e.to_token_stream().to_string()]).unwrap_or_default()
    }

    fn guards_of(&self, source: &Expr, condition: &Value) -> Vec<String> {
        let mut guards = Vec::new();
        if condition.place == Place::Scalar {
            conjuncts(source, &mut guards);
        }
        guards
    }

    /// Emits a two-way branch whose arms were lowered into `then` and `otherwise`; with `tails`,
    /// the branch is a value. Returns the element-level tokens for a value branch.
    fn join_branches(
        &mut self,
        condition: Value,
        source: &Expr,
        mut then: Frame,
        mut otherwise: Frame,
        tails: Option<(Value, Value)>,
    ) -> Option<Value> {
        let elem_tails = tails.as_ref().is_some_and(|(a, b)| a.place != Place::Scalar || b.place != Place::Scalar);
        let is_elem = !then.elem.is_empty() || !otherwise.elem.is_empty() || elem_tails;
        let tails = tails.map(|(a, b)| {
            if is_elem {
                let a = self.reenter(&mut then, |this| this.elementwise(a));
                let b = self.reenter(&mut otherwise, |this| this.elementwise(b));
                (a, b)
            } else {
                (a.tokens, b.tokens)
            }
        });
        let (then_scalar, else_scalar) = (&then.scalar, &otherwise.scalar);
        let c = &condition.tokens;
        if condition.place == Place::Scalar && !(then.factored.is_empty() && otherwise.factored.is_empty()) {
            // row/column statements run between passes, each under the branch's mask bit
            let test = Self::bit_test(self.bit(condition.tokens.clone()));
            let then_code =
                std::mem::take(&mut then.factored).into_iter().map(|(stage, code)| (stage, quote!(if #test { #code })));
            let else_code = std::mem::take(&mut otherwise.factored)
                .into_iter()
                .map(|(stage, code)| (stage, quote!(if !#test { #code })));
            let code: Vec<_> = then_code.chain(else_code).collect();
            self.frame().factored.extend(code);
        } else if !(then.factored.is_empty() && otherwise.factored.is_empty()) {
            self.errors.error(source, "row and column values cannot be computed under an element-wise condition");
            return None;
        }
        if condition.place == Place::Scalar {
            if !is_elem {
                // a purely scalar branch stays in the prologue, as statements or as a value
                self.frame().assigns_scalar_state |= then.assigns_scalar_state || otherwise.assigns_scalar_state;
                return match tails {
                    None => {
                        self.frame().scalar.push(quote!(if #c { #(#then_scalar)* } else { #(#else_scalar)* }));
                        None
                    }
                    Some((a, b)) => Some(Value::scalar(
                        Ty::Float,
                        quote!((if #c { #(#then_scalar)* #a } else { #(#else_scalar)* #b })),
                    )),
                };
            }
            if !then_scalar.is_empty() || !else_scalar.is_empty() {
                self.frame().scalar.push(quote!(if #c { #(#then_scalar)* } else { #(#else_scalar)* }));
            }
            self.frame().assigns_scalar_state |= then.assigns_scalar_state || otherwise.assigns_scalar_state;
            let test = Self::bit_test(self.bit(condition.tokens.clone()));
            return self.emit_elem_branch(test, condition.stage, then.elem, otherwise.elem, tails);
        }
        if then.assigns_scalar_state || otherwise.assigns_scalar_state {
            self.errors.error(
                source,
                "a scalar state cannot be assigned under an element-wise condition; branch on a scalar, or use `select`",
            );
            return None;
        }
        let frame = self.frame();
        frame.scalar.extend(then.scalar);
        frame.scalar.extend(otherwise.scalar);
        self.emit_elem_branch(condition.tokens, condition.stage, then.elem, otherwise.elem, tails)
    }

    fn emit_elem_branch(
        &mut self,
        test: TokenStream,
        test_stage: usize,
        then: Vec<ir::ElemStmt>,
        otherwise: Vec<ir::ElemStmt>,
        tails: Option<(TokenStream, TokenStream)>,
    ) -> Option<Value> {
        let stage = test_stage.max(ir::max_stage(&then)).max(ir::max_stage(&otherwise));
        match tails {
            None => {
                self.frame().elem.push(ir::ElemStmt::Branch { stage, test, then, otherwise });
                None
            }
            Some((a, b)) => {
                let (then, otherwise) = (ir::render(&then, None), ir::render(&otherwise, None));
                Some(Value::elem(Ty::Float, quote!((if #test { #then #a } else { #otherwise #b }))))
            }
        }
    }

    /// Records that a variable now holds `value`; returns the stage of the assignment.
    fn assigned_stage(&mut self, variable: &str, value: &Value) -> usize {
        let stage = value.stage.max(self.branch_stage());
        let slot = self.var_stages.entry(variable.to_owned()).or_default();
        *slot = (*slot).max(stage);
        stage
    }

    fn branch_stage(&self) -> usize {
        self.branch_stages.iter().copied().max().unwrap_or(0)
    }

    fn reduction(&mut self, name: &str, value: Value, at: &impl ToTokens) -> Option<Value> {
        if value.place.factored() {
            self.errors.error(
                at,
                format!("`{name}` reduces an element-wise value over the tensor; a row or column value reduces with `row_mean`"),
            );
            return None;
        }
        if value.place == Place::Scalar {
            self.errors.error(
                at,
                format!("`{name}` reduces an element-wise value over the tensor; this is already one number"),
            );
            return None;
        }
        if self.no_reduction_depth > 0 {
            self.errors.error(
                at,
                format!("`{name}` cannot sit under an element-wise condition or inside a value block; bind it with `let` first"),
            );
            return None;
        }
        let pass = value.stage.max(self.branch_stage()) + 1;
        let index = self.reductions.len();
        let kind = if name == "amax" { ir::ReduceKind::Max } else { ir::ReduceKind::Sum };
        let argument = value.tokens;
        let argument = if name == "norm" { quote!((#argument * #argument)) } else { argument };
        self.reductions.push((pass, kind));
        self.last_pass = self.last_pass.max(pass);
        let target = ir::Target::Tensor(index);
        self.frame().elem.push(ir::ElemStmt::Accumulate { pass, target, kind, value: argument });
        let total = quote!(__reductions.get(#index).copied().unwrap_or_default());
        let tokens = match name {
            "mean" => quote!((#total / (__numel as f64))),
            "norm" => quote!(<f64 as __rt::Element>::sqrt(#total)),
            _ => total,
        };
        self.seen_stage = self.seen_stage.max(pass);
        Some(Value { stage: pass, ..Value::scalar(Ty::Float, tokens) })
    }

    /// `row_mean(x)` / `col_mean(x)`: PyTorch's `x.mean(dim=-1 / -2, keepdim=True)`. Of an
    /// element-wise value, a sum accumulated in a memory pass; of a row value, the mean over
    /// each matrix's rows, computed between passes.
    fn axis_mean(&mut self, row: bool, value: Value, at: &impl ToTokens) -> Option<Value> {
        let name = if row { "row_mean" } else { "col_mean" };
        match (value.place, row) {
            (Place::Elem, _) => {
                if self.no_reduction_depth > 0 {
                    self.errors.error(
                        at,
                        format!("`{name}` cannot sit under an element-wise condition or inside a value block; bind it with `let` first"),
                    );
                    return None;
                }
                let pass = value.stage.max(self.branch_stage()) + 1;
                self.last_pass = self.last_pass.max(pass);
                let (target, tokens) = if row {
                    let m = self.accumulators.0;
                    self.accumulators.0 += 1;
                    (ir::Target::Rows(m), quote!((__facc[#m * __BR + __j] / (__C as f64))))
                } else {
                    let m = self.accumulators.1;
                    self.accumulators.1 += 1;
                    (ir::Target::Cols(m), quote!((__facc[__RA * __BR + #m * __BC + __j] / (__R as f64))))
                };
                let kind = ir::ReduceKind::Sum;
                self.frame().elem.push(ir::ElemStmt::Accumulate { pass, target, kind, value: value.tokens });
                self.seen_stage = self.seen_stage.max(pass);
                Some(Value { ty: Ty::Float, place: if row { Place::Row } else { Place::Col }, tokens, stage: pass })
            }
            (Place::Row, true) => {
                let index = self.row_temps.len();
                let key = format!("row_mean {}", value.tokens);
                let (path, generation) = (self.frame().path.clone(), self.generation);
                self.row_temps.push(Hoisted { key, path, generation, index });
                let tokens = value.tokens;
                let code = quote! {
                    for __b in 0..__S {
                        let mut __sum = 0.0f64;
                        for __r in 0..__R {
                            let __j = __b * __R + __r;
                            __sum += #tokens;
                        }
                        for __r in 0..__R {
                            __temps[#index * __BR + __b * __R + __r] = __sum / (__R as f64);
                        }
                    }
                };
                let stage = value.stage.max(self.branch_stage());
                self.frame().factored.push((stage, code));
                let read = self.temp_read(Place::Row, index);
                self.held.insert(read.to_string(), (Place::Row, Held::Temp(index)));
                Some(Value { ty: Ty::Float, place: Place::Row, tokens: read, stage })
            }
            (Place::Scalar, _) => {
                self.errors.error(at, format!("`{name}` averages over an axis; this is already one number"));
                None
            }
            _ => {
                let hint = if row {
                    "`row_mean` takes an element-wise or a row value"
                } else {
                    "`col_mean` takes an element-wise value"
                };
                self.errors.error(at, format!("`{name}` cannot reduce this value: {hint}"));
                None
            }
        }
    }

    // ---- expressions -------------------------------------------------------------------------

    /// Lowers an expression and tags it with the latest reduction stage it depends on.
    fn expr(&mut self, e: &Expr) -> Option<Value> {
        let outer = std::mem::take(&mut self.seen_stage);
        let value = self.expr_untagged(e);
        let stage = self.seen_stage;
        self.seen_stage = outer.max(stage);
        value.map(|v| Value { stage, ..v })
    }

    fn expr_untagged(&mut self, e: &Expr) -> Option<Value> {
        match e {
            Expr::Lit(lit) => self.literal(&lit.lit),
            Expr::Path(path) => {
                let Some(ident) = path.path.get_ident() else {
                    self.errors.error(path, "expected a name");
                    return None;
                };
                self.name(ident)
            }
            Expr::Paren(p) => {
                let inner = self.expr(&p.expr)?;
                let tokens = &inner.tokens;
                Some(Value { tokens: quote!((#tokens)), ..inner })
            }
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Unary(u) => self.unary(u),
            Expr::Binary(b) => self.binary(b),
            Expr::Call(call) => {
                let Expr::Path(func) = &*call.func else {
                    self.errors.error(&call.func, "expected a function name");
                    return None;
                };
                let Some(ident) = func.path.get_ident() else {
                    self.errors.error(func, "expected a function name");
                    return None;
                };
                let args: Vec<&Expr> = call.args.iter().collect();
                self.call(ident, &args, call)
            }
            Expr::MethodCall(m) => {
                let args: Vec<&Expr> = std::iter::once(&*m.receiver).chain(m.args.iter()).collect();
                self.call(&m.method, &args, m)
            }
            Expr::If(if_expr) => self.if_expression(if_expr),
            Expr::Block(block) => {
                self.no_reduction_depth += 1;
                let (mut frame, tail) = self.in_frame(&[], |this| this.block_value(&block.block.stmts, block));
                self.no_reduction_depth -= 1;
                let factored = std::mem::take(&mut frame.factored);
                self.frame().factored.extend(factored);
                let tail = tail?;
                if frame.elem.is_empty() && frame.scalar.is_empty() {
                    return Some(tail);
                }
                let (frame_scalar, frame_elem) = (frame.scalar, frame.elem);
                if frame_elem.is_empty() && tail.place == Place::Scalar {
                    let t = tail.tokens;
                    return Some(Value::scalar(tail.ty, quote!({ #(#frame_scalar)* #t })));
                }
                self.frame().scalar.extend(frame_scalar);
                let t = self.elementwise(tail.clone());
                let frame_elem = ir::render(&frame_elem, None);
                Some(Value::elem(tail.ty, quote!({ #frame_elem #t })))
            }
            Expr::Field(field) => {
                let base = self.expr(&field.base)?;
                let syn::Member::Unnamed(index) = &field.member else {
                    self.errors.error(&field.member, "only `.0` and `.1` of a pair exist");
                    return None;
                };
                if base.ty != Ty::Pair || index.index > 1 {
                    self.errors.error(field, "only `.0` and `.1` of a pair exist");
                    return None;
                }
                let tokens = base.tokens;
                Some(Value::scalar(Ty::Float, quote!(#tokens.#index)))
            }
            Expr::Assign(a) => {
                self.errors.error(a, "an assignment is a statement; end it with `;`");
                None
            }
            other => {
                self.errors.error(other, "unsupported expression in the DSL");
                None
            }
        }
    }

    fn literal(&mut self, lit: &Lit) -> Option<Value> {
        match lit {
            Lit::Float(f) => Some(Value::scalar(Ty::Float, f64_literal(f.base10_parse().ok()?))),
            Lit::Int(i) => Some(Value::scalar(Ty::Float, f64_literal(i.base10_parse().ok()?))),
            Lit::Bool(b) => Some(Value::scalar(Ty::Bool, b.to_token_stream())),
            other => {
                self.errors.error(other, "unsupported literal; use numbers and `true`/`false`");
                None
            }
        }
    }

    fn name(&mut self, ident: &syn::Ident) -> Option<Value> {
        let Some(name) = self.resolve(ident) else {
            self.unknown(ident);
            return None;
        };
        let allowed = match self.mode {
            Mode::Step => true,
            Mode::HyperOnly => matches!(name, Name::Hyper(_) | Name::Local(_)),
            Mode::Presence => matches!(name, Name::Hyper(_) | Name::Local(_) | Name::Ndim | Name::Numel),
        };
        if !allowed && self.mode == Mode::Presence {
            self.errors.error(
                ident,
                format!("`{ident}` is not known here; a presence condition uses hyperparameters, `ndim` and `numel`"),
            );
            return None;
        }
        if !allowed {
            self.errors.error(
                ident,
                format!("`{ident}` is not known here; initial values, ranges and `require` use hyperparameters only"),
            );
            return None;
        }
        Some(match name {
            Name::Hyper(index) => {
                let field = &self.spec.hypers[index].name;
                match self.hyper_tys[index] {
                    ir::HyperTy::Float => Value::scalar(Ty::Float, quote!(__h.#field)),
                    ir::HyperTy::Int => Value::scalar(Ty::Float, quote!((__h.#field as f64))),
                    ir::HyperTy::Bool => Value::scalar(Ty::Bool, quote!(__h.#field)),
                    ir::HyperTy::Pair => Value::scalar(Ty::Pair, quote!(__h.#field)),
                }
            }
            Name::State(index) if self.states[index].axis != Axis::Full => {
                self.guard_check(index, ident)?;
                self.states[index].read = true;
                self.bump_var_stage(ident);
                let place = if self.states[index].axis == Axis::Rows { Place::Row } else { Place::Col };
                let buffer = format_ident!("__s{}", index);
                let tokens = quote!(<__T as __rt::Element>::to_f64(__rt::at(#buffer, __j)));
                self.held.insert(tokens.to_string(), (place, Held::State(index)));
                Value { ty: Ty::Float, place, tokens, stage: 0 }
            }
            Name::State(index) => {
                self.guard_check(index, ident)?;
                self.states[index].read = true;
                self.bump_var_stage(ident);
                let local = format_ident!("__st{}", index);
                Value::elem(Ty::Float, local.into_token_stream())
            }
            Name::ScalarState(index) => {
                self.bump_var_stage(ident);
                Value::scalar(Ty::Float, format_ident!("__ss{}", index).into_token_stream())
            }
            Name::Param => {
                self.bump_var_stage(ident);
                Value::elem(Ty::Float, quote!(__pv))
            }
            Name::Grad => {
                self.grad_read = true;
                Value::elem(Ty::Float, quote!(__gv))
            }
            Name::Step => Value::scalar(Ty::Float, quote!((__step as f64))),
            Name::Numel => Value::scalar(Ty::Float, quote!((__numel as f64))),
            Name::Ndim => Value::scalar(Ty::Float, quote!((__ndim as f64))),
            Name::Local(value) => {
                self.seen_stage = self.seen_stage.max(value.stage);
                value
            }
        })
    }

    fn bump_var_stage(&mut self, ident: &syn::Ident) {
        let stage = self.var_stages.get(&ident.to_string()).copied().unwrap_or(0);
        self.seen_stage = self.seen_stage.max(stage);
    }

    fn unary(&mut self, u: &syn::ExprUnary) -> Option<Value> {
        let inner = self.expr(&u.expr)?;
        let tokens = &inner.tokens;
        match u.op {
            UnOp::Neg(_) => {
                self.expect(&inner, Ty::Float, &u.expr)?;
                Some(Value { tokens: quote!((-#tokens)), ..inner })
            }
            UnOp::Not(_) => {
                self.expect(&inner, Ty::Bool, &u.expr)?;
                Some(Value { tokens: quote!((!#tokens)), ..inner })
            }
            _ => {
                self.errors.error(u, "unsupported operator");
                None
            }
        }
    }

    fn binary(&mut self, b: &syn::ExprBinary) -> Option<Value> {
        if compound_op(&b.op).is_some() {
            self.errors.error(b, "a compound assignment is a statement; end it with `;`");
            return None;
        }
        let left = self.expr(&b.left);
        let right = self.expr(&b.right);
        let (left, right) = (left?, right?);
        match b.op {
            BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_) | BinOp::Div(_) => {
                self.expect(&left, Ty::Float, &b.left)?;
                self.expect(&right, Ty::Float, &b.right)?;
                Some(self.arithmetic(left, right, &b.op))
            }
            BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) | BinOp::Eq(_) | BinOp::Ne(_) => {
                self.expect(&left, Ty::Float, &b.left)?;
                self.expect(&right, Ty::Float, &b.right)?;
                let op = b.op;
                Some(self.combine(left, right, Ty::Bool, |l, r| quote!((#l #op #r))))
            }
            BinOp::And(_) | BinOp::Or(_) => {
                self.expect(&left, Ty::Bool, &b.left)?;
                self.expect(&right, Ty::Bool, &b.right)?;
                let op = b.op;
                Some(self.combine(left, right, Ty::Bool, |l, r| quote!((#l #op #r))))
            }
            BinOp::BitXor(op) => {
                self.errors.error(op, "`^` is not a power here; write `pow(x, y)`");
                None
            }
            other => {
                self.errors.error(other, "unsupported operator; the DSL has + - * / comparisons && || !");
                None
            }
        }
    }

    fn arithmetic(&mut self, left: Value, right: Value, op: &BinOp) -> Value {
        let op = match op {
            BinOp::Add(_) | BinOp::AddAssign(_) => quote!(+),
            BinOp::Sub(_) | BinOp::SubAssign(_) => quote!(-),
            BinOp::Mul(_) | BinOp::MulAssign(_) => quote!(*),
            _ => quote!(/),
        };
        self.combine(left, right, Ty::Float, |l, r| quote!((#l #op #r)))
    }

    fn combine(
        &mut self,
        left: Value,
        right: Value,
        ty: Ty,
        build: impl FnOnce(TokenStream, TokenStream) -> TokenStream,
    ) -> Value {
        let stage = left.stage.max(right.stage);
        if left.place == Place::Scalar && right.place == Place::Scalar {
            return Value { stage, ..Value::scalar(ty, build(left.tokens, right.tokens)) };
        }
        let place = left.place.join(right.place);
        if place.factored() {
            let l = self.factored_operand(left);
            let r = self.factored_operand(right);
            return Value { ty, place, tokens: build(l, r), stage };
        }
        let l = self.elementwise(left);
        let r = self.elementwise(right);
        Value { stage, ..Value::elem(ty, build(l, r)) }
    }

    fn call(&mut self, ident: &syn::Ident, args: &[&Expr], at: &impl ToTokens) -> Option<Value> {
        let name = ident.to_string();
        let Some((_, arity)) = FUNCTIONS.iter().find(|(f, _)| *f == name) else {
            let hint = match did_you_mean(&name, FUNCTIONS.iter().map(|(f, _)| *f)) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("available: {}", FUNCTIONS.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")),
            };
            self.errors.error(ident, format!("unsupported function `{name}`; {hint}"));
            return None;
        };
        if args.len() != *arity {
            let plural = if *arity == 1 { "" } else { "s" };
            self.errors.error(at, format!("`{name}` takes {arity} argument{plural}, got {}", args.len()));
            return None;
        }
        let values: Vec<Option<Value>> = args.iter().map(|a| self.expr(a)).collect();
        let values: Vec<Value> = values.into_iter().collect::<Option<_>>()?;
        if REDUCTIONS.contains(&name.as_str()) {
            self.expect(&values[0], Ty::Float, args[0])?;
            let value = values.into_iter().next()?;
            return self.reduction(&name, value, at);
        }
        if name == "row_mean" || name == "col_mean" {
            self.expect(&values[0], Ty::Float, args[0])?;
            let value = values.into_iter().next()?;
            return self.axis_mean(name == "row_mean", value, at);
        }
        if name == "select" {
            self.expect(&values[0], Ty::Bool, args[0])?;
            self.expect(&values[1], Ty::Float, args[1])?;
            self.expect(&values[2], Ty::Float, args[2])?;
            let mut it = values.into_iter();
            let (c, a, b) = (it.next()?, it.next()?, it.next()?);
            return Some(self.select(c, a, b));
        }
        for (value, arg) in values.iter().zip(args) {
            self.expect(value, Ty::Float, arg)?;
        }
        let method = match name.as_str() {
            "pow" => format_ident!("powf"),
            _ => ident.clone(),
        };
        let element = quote!(__rt::Element);
        let stage = values.iter().map(|v| v.stage).max().unwrap_or(0);
        if values.iter().all(|v| v.place == Place::Scalar) {
            let args = values.iter().map(|v| &v.tokens);
            return Some(Value::scalar(Ty::Float, quote!(<f64 as #element>::#method(#(#args),*))));
        }
        let place = values.iter().fold(Place::Scalar, |p, v| p.join(v.place));
        if place.factored() {
            let args: Vec<TokenStream> = values.into_iter().map(|v| self.factored_operand(v)).collect();
            return Some(Value { ty: Ty::Float, place, tokens: quote!(<f64 as #element>::#method(#(#args),*)), stage });
        }
        let args: Vec<TokenStream> = values.into_iter().map(|v| self.elementwise(v)).collect();
        Some(Value::elem(Ty::Float, quote!(#element::#method(#(#args),*))))
    }

    fn select(&mut self, condition: Value, a: Value, b: Value) -> Value {
        if condition.place == Place::Scalar && a.place == Place::Scalar && b.place == Place::Scalar {
            let (c, a, b) = (condition.tokens, a.tokens, b.tokens);
            return Value::scalar(Ty::Float, quote!((if #c { #a } else { #b })));
        }
        let place = condition.place.join(a.place).join(b.place);
        let stage = condition.stage.max(a.stage).max(b.stage);
        if place.factored() {
            let c = self.factored_operand(condition);
            let a = self.factored_operand(a);
            let b = self.factored_operand(b);
            return Value { ty: Ty::Float, place, tokens: quote!((if #c { #a } else { #b })), stage };
        }
        let c = self.elementwise(condition);
        let a = self.elementwise(a);
        let b = self.elementwise(b);
        Value::elem(Ty::Float, quote!((if #c { #a } else { #b })))
    }

    fn block_value(&mut self, stmts: &[Stmt], at: &impl ToTokens) -> Option<Value> {
        let Some((Stmt::Expr(tail, None), body)) = stmts.split_last() else {
            self.errors.error(at, "this block needs a value as its last line (without `;`)");
            return None;
        };
        for stmt in body {
            self.statement(stmt);
        }
        self.expr(tail)
    }

    fn if_expression(&mut self, if_expr: &ExprIf) -> Option<Value> {
        let Some((_, else_branch)) = &if_expr.else_branch else {
            self.errors.error(if_expr, "an `if` used as a value needs an `else`");
            return None;
        };
        let condition = self.expr(&if_expr.cond)?;
        self.expect(&condition, Ty::Bool, &if_expr.cond)?;
        if condition.place.factored() {
            self.errors.error(&if_expr.cond, "a branch cannot depend on a row or column value; use `select`");
            return None;
        }
        let guards = self.guards_of(&if_expr.cond, &condition);
        let else_guards = self.complement_guards(&if_expr.cond, &condition);
        self.no_reduction_depth += 1;
        self.branch_stages.push(condition.stage);
        let (then, a) = self.in_frame(&guards, |this| this.block_value(&if_expr.then_branch.stmts, if_expr));
        let (otherwise, b) = self.in_frame(&else_guards, |this| this.expr(else_branch));
        self.branch_stages.pop();
        self.no_reduction_depth -= 1;
        let (a, b) = (a?, b?);
        if a.ty != b.ty || a.ty == Ty::Pair {
            self.errors.error(if_expr, "both arms of an `if` must be numbers, or both bools");
            return None;
        }
        let ty = a.ty;
        let value = self.join_branches(condition, &if_expr.cond, then, otherwise, Some((a, b)))?;
        Some(Value { ty, ..value })
    }
}

fn compound_op(op: &BinOp) -> Option<BinOp> {
    match op {
        BinOp::AddAssign(_) | BinOp::SubAssign(_) | BinOp::MulAssign(_) | BinOp::DivAssign(_) => Some(*op),
        _ => None,
    }
}
