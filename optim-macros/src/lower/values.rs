//! The values the lowering walk passes around: types, places, names and frames.

use proc_macro2::TokenStream;

use crate::ir;

#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Ty {
    Float,
    Bool,
    Pair,
    /// Three floats, used through `let (a, b, c) = triple;` or `triple.2`.
    Triple,
    /// An optional hyperparameter's `Option<f64>`: read through `unwrap_or`, tested by `is_some`.
    Optional,
    /// Choice hyperparameter `n`: compared with one of its names.
    Choice(usize),
    /// A name whose `let` was rejected: its uses report nothing more.
    Poisoned,
}

impl Ty {
    /// How an error message names a value of this type.
    pub(super) fn describe(self) -> &'static str {
        match self {
            Ty::Float => "a number",
            Ty::Bool => "a bool",
            Ty::Pair => "a pair",
            Ty::Triple => "a triple",
            Ty::Optional => "an optional number",
            Ty::Choice(_) => "a choice of names",
            Ty::Poisoned => "a value with an error",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Place {
    Scalar,
    /// One value per row (of the stacked matrices), computed between passes.
    Row,
    /// One value per column, computed between passes.
    Col,
    Elem,
    /// The whole parameter as a matrix, or a matrix computed from it, between the passes.
    Matrix,
    /// One number computed by the matrix program (`norm(x)` of a matrix).
    MatScalar,
}

impl Place {
    /// Where a combination of values of places `self` and `other` lives.
    pub(super) fn join(self, other: Place) -> Place {
        match (self, other) {
            (Place::Matrix, _) | (_, Place::Matrix) => Place::Matrix,
            (Place::MatScalar, Place::Scalar | Place::MatScalar) | (Place::Scalar, Place::MatScalar) => {
                Place::MatScalar
            }
            (Place::Scalar, p) | (p, Place::Scalar) => p,
            (a, b) if a == b => a,
            _ => Place::Elem,
        }
    }

    pub(super) fn factored(self) -> bool {
        matches!(self, Place::Row | Place::Col)
    }
}

/// A row or column value already held in memory: a factored state or a temporary.
#[derive(Clone, Copy)]
pub(super) enum Held {
    State(usize),
    Temp(usize),
}

#[derive(Clone)]
pub(super) struct Value {
    pub(super) ty: Ty,
    pub(super) place: Place,
    pub(super) tokens: TokenStream,
    /// The latest reduction stage this value depends on (0: none).
    pub(super) stage: usize,
    /// Where the value was written: errors about it point here.
    pub(super) span: proc_macro2::Span,
    /// Whether it may differ between the tensors of one param group (it reads `step`, `numel`,
    /// a scalar state, a per-tensor reduction or an element): group state cannot take it.
    pub(super) varying: bool,
}

impl Value {
    pub(super) fn scalar(ty: Ty, tokens: TokenStream) -> Self {
        Value { ty, place: Place::Scalar, tokens, stage: 0, span: proc_macro2::Span::call_site(), varying: false }
    }

    pub(super) fn elem(ty: Ty, tokens: TokenStream) -> Self {
        Value { ty, place: Place::Elem, tokens, stage: 0, span: proc_macro2::Span::call_site(), varying: true }
    }
}

#[derive(Clone)]
pub(super) enum Name {
    Hyper(usize),
    State(usize),
    ScalarState(usize),
    GroupState(usize),
    Param,
    Grad,
    Step,
    Numel,
    Ndim,
    /// The parameter's matrix view: its first axis, and the product of the others.
    Rows,
    Cols,
    Local(Value),
}

/// Where an expression may be used: the step block sees everything, initial values, ranges
/// and `require` conditions only hyperparameters.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Mode {
    Step,
    HyperOnly,
    /// A state's presence condition: hyperparameters, `ndim` and `numel`.
    Presence,
    /// A per-element state's initial value: hyperparameters and `param` (`z = param`).
    StateInit,
    /// An `eval` / `train` point: hyperparameters, `param` and per-element states.
    Point,
}

#[derive(Default)]
pub(super) struct Frame {
    pub(super) path: Vec<usize>,
    pub(super) scalar: Vec<TokenStream>,
    pub(super) elem: Vec<ir::ElemStmt>,
    /// Row and column statements, with their stages.
    pub(super) factored: Vec<(usize, TokenStream)>,
    /// Statements of the matrix program.
    pub(super) matrix: Vec<TokenStream>,
    pub(super) assigns_scalar_state: bool,
}

pub(super) struct Hoisted {
    pub(super) key: String,
    pub(super) path: Vec<usize>,
    pub(super) generation: usize,
    pub(super) index: usize,
}
