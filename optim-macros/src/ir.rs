//! The lowered form of a spec: everything `expand` needs, already checked and hoisted.

use proc_macro2::TokenStream;

use crate::symbol::*;

#[derive(Clone)]
pub enum HyperTy {
    Float,
    Int,
    Bool,
    Pair,
    /// Three floats (Muon's `ns_coefficients`).
    Triple,
    /// `None` or `Some(x)` as the default: an `Option<f64>` in the builder.
    OptionalFloat,
    /// `"a" | "b"`: one of a closed set of names, an enum in the builder.
    Choice(ChoiceTy),
}

/// A choice hyperparameter's generated enum and its options (name as written, variant).
#[derive(Clone)]
pub struct ChoiceTy {
    pub enum_name: syn::Ident,
    pub options: Vec<(String, syn::Ident)>,
}

pub struct Hyper {
    pub name: syn::Ident,
    pub ty: HyperTy,
    pub default: TokenStream,
    pub default_text: String,
    pub docs: Vec<syn::Attribute>,
    /// A checkpoint may leave it out (it was added later): the default is taken.
    pub optional_on_load: bool,
    /// A bool expression over `__h` that holds when the value is in range, and its text.
    pub range: Option<(TokenStream, String)>,
}

pub struct Require {
    pub condition: TokenStream,
    pub message: syn::LitStr,
}

pub struct ElemState {
    pub name: syn::Ident,
    pub docs: Vec<syn::Attribute>,
    pub init: TokenStream,
    pub init_text: String,
    /// The presence condition's mask bit and its text.
    pub presence: Option<(usize, TokenStream, String)>,
    pub read: bool,
    pub written: bool,
    /// Shaped like the parameter, or one value per row / column.
    pub axis: crate::ast::Axis,
    /// `init` is element code over the parameter's value (`z = param`), not a constant.
    pub init_reads_param: bool,
    /// Proved never negative (initial value and every assignment): stored with an unsigned
    /// quantization map.
    pub non_negative: bool,
    /// Holds a copy of the parameter (initial value or assignment `x = param`).
    pub param_copy: bool,
}

/// One number per param group (`group d = d0`): read by every tensor's prologue, written only
/// from values that are the same for every tensor of the group.
pub struct GroupState {
    pub name: syn::Ident,
    pub docs: Vec<syn::Attribute>,
    pub init: TokenStream,
    pub init_text: String,
}

/// A reduction: the pass that completes it, how partial results combine, and its scope.
#[derive(Clone, Copy)]
pub struct Reduction {
    pub pass: usize,
    pub kind: ReduceKind,
    pub scope: Scope,
}

impl Reduction {
    /// Whether a memory pass accumulates it (a group sum of per-tensor numbers is folded from
    /// the prologue's slots instead).
    pub fn accumulated(&self) -> bool {
        !matches!(self.scope, Scope::Group { slot: Some(_), .. })
    }
}

/// Over one tensor (`sum`), or over every tensor of the group that steps (`group_sum`) of an
/// element-wise value, or of a per-tensor number held in prologue slot `slot`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Tensor,
    Group { f32_accumulator: bool, slot: Option<usize> },
}

pub struct ScalarState {
    pub name: syn::Ident,
    pub docs: Vec<syn::Attribute>,
    pub init: TokenStream,
    pub init_text: String,
}

/// A statement of the element loop, tagged with the reduction stage it depends on so that a
/// reduction pass can run exactly the statements its reductions need.
pub enum ElemStmt {
    Code { stage: usize, tokens: TokenStream },
    Accumulate { pass: usize, target: Target, kind: ReduceKind, value: TokenStream },
    Branch { stage: usize, test: TokenStream, then: Vec<ElemStmt>, otherwise: Vec<ElemStmt> },
}

/// Where an accumulation goes: a per-tensor reduction, or row / column sum buffer `m`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Target {
    Tensor(usize),
    Rows(usize),
    Cols(usize),
    /// Matrix input `k`: the value stored, element by element, for the matrix program.
    Matrix(usize),
}

/// The matrix program's scratch buffers by number: the inputs the first pass stores, the
/// results the update pass reads, and how many buffers the program uses in all.
#[derive(Default)]
pub struct MatrixLayout {
    pub inputs: Vec<usize>,
    pub results: Vec<usize>,
    pub buffers: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReduceKind {
    Sum,
    Max,
}

impl ElemStmt {
    pub fn stage(&self) -> usize {
        match self {
            ElemStmt::Code { stage, .. } | ElemStmt::Branch { stage, .. } => *stage,
            ElemStmt::Accumulate { pass, .. } => pass.saturating_sub(1),
        }
    }
}

pub fn max_stage(stmts: &[ElemStmt]) -> usize {
    stmts.iter().map(ElemStmt::stage).max().unwrap_or(0)
}

/// The loop body for the final pass (`None`: every statement, no accumulation) or for
/// reduction pass `p` (statements of earlier stages plus the accumulations of pass `p`).
pub fn render(stmts: &[ElemStmt], pass: Option<usize>) -> TokenStream {
    render_into(stmts, pass, Sink::Lanes)
}

/// Where a reduction pass's loop puts a tensor reduction's values.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Added straight into the lane accumulators (`acc[lane] += v`).
    Lanes,
    /// Assigned to the element's local for the target (`value = v`; row and column sums to
    /// their own), which the block's loop stores into the target's block array after the
    /// element's code and folds into the lanes after the loop, so the loop itself is a plain
    /// element loop that vectorises. A value under a branch is a select of the local, not a
    /// store under a mask (a masked store costs tens of cycles on AMD's Zen cores).
    Block,
    /// As `Lanes`, except row sums go to the current row's lane accumulators (`rows[lane] += v`),
    /// folded into the row's sum at the row's end: a factored pass's last elements of a row.
    RowLanes,
    /// Matrix inputs are stored (`input[i] = v`); tensor reductions are left out (the pass that
    /// stores a rule's matrices has none).
    Matrix,
}

/// [`render`] with a choice of where tensor reductions go.
pub fn render_into(stmts: &[ElemStmt], pass: Option<usize>, sink: Sink) -> TokenStream {
    let mut out = TokenStream::new();
    for stmt in stmts {
        match stmt {
            ElemStmt::Code { stage, tokens } => {
                if pass.is_none_or(|p| *stage < p) {
                    out.extend(tokens.clone());
                }
            }
            ElemStmt::Accumulate { pass: own, target, kind, value } => {
                if pass == Some(*own) {
                    out.extend(match (target, kind) {
                        (Target::Matrix(k), _) if sink == Sink::Matrix => {
                            let input = MATRIX_INPUT_SLICE.at(k);
                            quote::quote!(#input[#INDEX] = #value;)
                        }
                        (_, _) if sink == Sink::Matrix => TokenStream::new(),
                        (Target::Matrix(_), _) => TokenStream::new(),
                        (Target::Tensor(reduction), _) if sink == Sink::Block => {
                            let local = ELEMENT_VALUE.at(reduction);
                            quote::quote!(#local = #value;)
                        }
                        (Target::Tensor(reduction), ReduceKind::Sum) => {
                            let acc = ACCUMULATOR.at(reduction);
                            quote::quote!(#acc[#LANE] += #RT::Element::to_f64(#value);)
                        }
                        (Target::Tensor(reduction), ReduceKind::Max) => {
                            let acc = ACCUMULATOR.at(reduction);
                            quote::quote!(#acc[#LANE] = #acc[#LANE].max(#RT::Element::to_f64(#value));)
                        }
                        (Target::Rows(m), _) if sink == Sink::Block => {
                            let local = ELEMENT_ROW_VALUE.at(m);
                            quote::quote!(#local = #value;)
                        }
                        (Target::Cols(m), _) if sink == Sink::Block => {
                            let local = ELEMENT_COL_VALUE.at(m);
                            quote::quote!(#local = #value;)
                        }
                        (Target::Rows(m), _) if sink == Sink::RowLanes => {
                            let lanes = ROW_LANES.at(m);
                            quote::quote!(#lanes[#LANE] += #RT::Element::to_f64(#value);)
                        }
                        (Target::Rows(m), _) => {
                            quote::quote!(#FACTOR_SUMS[#m * #ALL_ROWS + #ROW] += #RT::Element::to_f64(#value);)
                        }
                        (Target::Cols(m), _) => {
                            quote::quote!(#FACTOR_SUMS[#ROW_SUM_COUNT * #ALL_ROWS + #m * #ALL_COLS + #COL] += #RT::Element::to_f64(#value);)
                        }
                    });
                }
            }
            ElemStmt::Branch { stage, test, then, otherwise } => {
                if pass.is_none_or(|p| *stage < p) || contains_pass(then, pass) || contains_pass(otherwise, pass) {
                    let (then, otherwise) = (render_into(then, pass, sink), render_into(otherwise, pass, sink));
                    out.extend(quote::quote!(if #test { #then } else { #otherwise }));
                }
            }
        }
    }
    out
}

/// For reduction pass `pass`: one conjunction per accumulation of that pass, of the scalar
/// branch tests it sits under (`true` when unconditional). The pass is needed when any holds.
pub fn pass_conditions(stmts: &[ElemStmt], pass: usize) -> Vec<TokenStream> {
    let mut out = Vec::new();
    collect_conditions(stmts, pass, &|_| true, &mut Vec::new(), &mut out);
    out
}

/// The same for pass `pass`'s row and column sums alone: a tensor for which none holds (a
/// vector, when the sums sit under `if ndim >= 2`) needs no sum buffers in that pass.
pub fn factor_conditions(stmts: &[ElemStmt], pass: usize) -> Vec<TokenStream> {
    let mut out = Vec::new();
    let factored = |target: &Target| matches!(target, Target::Rows(_) | Target::Cols(_));
    collect_conditions(stmts, pass, &factored, &mut Vec::new(), &mut out);
    out
}

/// When a block's values for `target` in pass `pass` can be non-identity: the OR of the branch
/// tests over the tensor's mask that each of its accumulations sits under. A block folds
/// `target`'s values only then: AdaFactor's vector-only norm is dead for a matrix and its row and
/// column sums for a vector, and folding their zeros widened 32 values per block for nothing.
pub fn target_condition(stmts: &[ElemStmt], pass: usize, target: Target) -> TokenStream {
    let mut out = Vec::new();
    collect_conditions(stmts, pass, &|t: &Target| *t == target, &mut Vec::new(), &mut out);
    quote::quote!(false #(|| (#out))*)
}

fn collect_conditions(
    stmts: &[ElemStmt],
    pass: usize,
    wanted: &impl Fn(&Target) -> bool,
    tests: &mut Vec<TokenStream>,
    out: &mut Vec<TokenStream>,
) {
    for stmt in stmts {
        match stmt {
            ElemStmt::Accumulate { pass: own, target, .. } if *own == pass && wanted(target) => {
                out.push(quote::quote!(true #(&& #tests)*))
            }
            ElemStmt::Branch { test, then, otherwise, .. } => {
                tests.push(test.clone());
                collect_conditions(then, pass, wanted, tests, out);
                tests.pop();
                tests.push(quote::quote!(!#test));
                collect_conditions(otherwise, pass, wanted, tests, out);
                tests.pop();
            }
            _ => {}
        }
    }
}

/// Whether any statement (at any depth) accumulates into a reduction pass.
pub fn accumulates(stmts: &[ElemStmt]) -> bool {
    accumulates_where(stmts, &|_| true)
}

/// Whether any statement (at any depth) accumulates into a pass that `wanted` accepts.
fn accumulates_where(stmts: &[ElemStmt], wanted: &impl Fn(usize) -> bool) -> bool {
    stmts.iter().any(|s| match s {
        ElemStmt::Accumulate { pass, .. } => wanted(*pass),
        ElemStmt::Branch { then, otherwise, .. } => {
            accumulates_where(then, wanted) || accumulates_where(otherwise, wanted)
        }
        ElemStmt::Code { .. } => false,
    })
}

/// The row sums and the column sums (by buffer index) that pass `pass` accumulates.
pub fn factor_targets(stmts: &[ElemStmt], pass: usize) -> (Vec<usize>, Vec<usize>) {
    fn walk(stmts: &[ElemStmt], pass: usize, rows: &mut Vec<usize>, cols: &mut Vec<usize>) {
        for stmt in stmts {
            match stmt {
                ElemStmt::Accumulate { pass: own, target: Target::Rows(m), .. } if *own == pass => rows.push(*m),
                ElemStmt::Accumulate { pass: own, target: Target::Cols(m), .. } if *own == pass => cols.push(*m),
                ElemStmt::Branch { then, otherwise, .. } => {
                    walk(then, pass, rows, cols);
                    walk(otherwise, pass, rows, cols);
                }
                _ => {}
            }
        }
    }
    let (mut rows, mut cols) = (Vec::new(), Vec::new());
    walk(stmts, pass, &mut rows, &mut cols);
    rows.sort_unstable();
    rows.dedup();
    cols.sort_unstable();
    cols.dedup();
    (rows, cols)
}

/// Whether every statement only accumulates (no element code a value would depend on).
pub fn only_accumulates(stmts: &[ElemStmt]) -> bool {
    stmts.iter().all(|s| match s {
        ElemStmt::Accumulate { .. } => true,
        ElemStmt::Branch { then, otherwise, .. } => only_accumulates(then) && only_accumulates(otherwise),
        ElemStmt::Code { .. } => false,
    })
}

fn contains_pass(stmts: &[ElemStmt], pass: Option<usize>) -> bool {
    accumulates_where(stmts, &|own| pass == Some(own))
}

/// A column buffer (a column state, or a column temporary) as the element loop reads it: each
/// row segment binds `view` to the buffer's entries for the segment's columns
/// (`buffer[first + column ..]`, cut to the segment's length), and a reduction pass rebinds it
/// to each block's; an element reads `view[COL_AT]` (zero from the empty view of a state absent
/// for the tensor). Read through `Factors`'s bounds-checked
/// accessor per element, a column value kept the loops that read one from vectorising.
pub struct ColView {
    pub view: syn::Ident,
    pub buffer: TokenStream,
    pub first: TokenStream,
}

pub struct Rule {
    pub hypers: Vec<Hyper>,
    pub requires: Vec<Require>,
    pub states: Vec<ElemState>,
    pub scalar_states: Vec<ScalarState>,
    /// Statements of `prepare`, run once per tensor per step.
    pub prologue: Vec<TokenStream>,
    /// Statements of the element loop's body, between the loads and the stores.
    pub body: Vec<ElemStmt>,
    /// Per reduction, in order of appearance: the pass that computes it and how partial results
    /// combine.
    pub reductions: Vec<Reduction>,
    /// One number per param group, in declaration order.
    pub group_states: Vec<GroupState>,
    /// `eval` and `train`: the parameter's new value at each point, as element code over
    /// `param`, the states (`STATE_VALUE`) and the hyperparameters.
    pub points: Option<(TokenStream, TokenStream)>,
    /// Memory passes per step: one per reduction stage, plus the final update.
    pub passes: usize,
    pub slots: usize,
    /// The slot holding the factor gradient loads are multiplied by ([`Rule::scale_grad`]).
    pub grad_scale_slot: usize,
    pub bits: usize,
    pub param_written: bool,
    pub grad_read: bool,
    pub step_text: String,
    /// Row and column code, run between passes: per statement, the stage it runs at.
    pub factored_code: Vec<(usize, TokenStream)>,
    /// Values loaded once per row in the element loop: the local and how to read it.
    pub row_loads: Vec<(syn::Ident, TokenStream)>,
    /// Column buffers the element loop reads, each through a view cut to the current row
    /// segment (see [`ColView`]).
    pub col_views: Vec<ColView>,
    /// Row and column temporaries, and row and column sum buffers.
    pub temps: (usize, usize),
    /// The matrix program's statements, run once per tensor between the first pass (which
    /// stores its inputs) and the update pass (which reads its results).
    pub matrix_code: Vec<TokenStream>,
    /// The program's first statements (matrix states loaded) and last (assigned ones stored).
    pub matrix_state_code: (Vec<TokenStream>, Vec<TokenStream>),
    pub matrix: MatrixLayout,
    /// The mask bit that, when set, rounds every matrix value to bfloat16 (`#[bf16_matrices(..)]`).
    pub bf16_matrices: Option<usize>,
    pub accumulators: (usize, usize),
}

impl Rule {
    /// Whether the rule computes matrices between its passes.
    pub fn has_matrices(&self) -> bool {
        self.matrix.buffers > 0
    }

    /// Whether any state, value or sum is shaped by rows or columns.
    pub fn factored(&self) -> bool {
        self.states.iter().any(|s| s.axis.factored()) || self.temps != (0, 0) || self.accumulators != (0, 0)
    }
}
