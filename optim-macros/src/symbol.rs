//! The vocabulary of generated code: every identifier the lowering writes into token streams
//! and the expansion declares, in one place (as serde_derive's `symbol.rs`).
//!
//! Lowering (`lower/`), the IR's renderer (`ir.rs`) and the expansion (`expand/`) agree on these
//! names; a name used by only one generated function is still listed, so a reader of generated
//! code finds each here. All start with `__` so they cannot collide with a spec's names, which
//! the parser takes from the user.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, TokenStreamExt};

/// One generated identifier; `at(n)` gives the numbered family member (`__c3`).
#[derive(Clone, Copy)]
pub struct Symbol(&'static str);

impl Symbol {
    /// The `n`-th identifier of this family: its name followed by `n`.
    pub fn at(self, n: impl core::fmt::Display) -> Ident {
        Ident::new(&format!("{}{n}", self.0), Span::call_site())
    }
}

impl ToTokens for Symbol {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append(Ident::new(self.0, Span::call_site()));
    }
}

macro_rules! symbols {
    ($($(#[$doc:meta])* $name:ident = $text:literal;)*) => {
        $($(#[$doc])* pub const $name: Symbol = Symbol($text);)*
    };
}

symbols! {
    // ---- shared by lowering and expansion -----------------------------------------------
    /// The runtime's path alias (`use $crate::__private as __rt`).
    RT = "__rt";
    /// The element type parameter of kernels.
    ELEM = "__T";
    /// The hyperparameter struct, in the prologue, validation and presence conditions.
    HYPER = "__h";
    /// The current parameter element in the loop.
    PARAM_VALUE = "__pv";
    /// The current gradient element in the loop.
    GRAD_VALUE = "__gv";
    /// Family: the current element of state `n` in the loop.
    STATE_VALUE = "__st";
    /// Family: scalar state `n`, read and written by the prologue.
    SCALAR_STATE = "__ss";
    /// Family: group state `n`, read by the prologue, written only from group-wide values.
    GROUP_STATE = "__gs";
    /// Family: hoisted scalar slot `n`, converted to the element type for the loop.
    SLOT = "__c";
    /// The prologue's array of hoisted scalars.
    SLOTS = "__slots";
    /// The bit set of hoisted conditions.
    MASK = "__mask";
    /// The parameter's step count (from 1).
    STEP = "__step";
    /// The parameter's element count.
    NUMEL = "__numel";
    /// The parameter's number of dimensions.
    NDIM = "__ndim";
    /// The parameter's shape.
    SHAPE = "__shape";
    /// The per-tensor reduction results known at this stage.
    REDUCTIONS = "__reductions";
    /// Family: the lane accumulators of reduction `n` in a reduction pass.
    ACCUMULATOR = "__acc";
    /// The lane index of a reduction pass.
    LANE = "__l";
    /// The row and column sums a pass accumulates.
    FACTOR_SUMS = "__facc";
    /// Row/column temporaries, as row/column code writes them.
    TEMPS = "__temps";
    /// Row/column temporaries, as the element loop reads them.
    LOOP_TEMPS = "__ftemps";
    /// Whether a stage's row/column code wrote a temporary (the runtime then rounds them).
    WROTE_TEMPS = "__wrote_temps";
    /// Family: the element loop's view of row or column state `n`.
    FACTOR_STATE = "__fst";
    /// Family: the slice of state `n`.
    STATE_SLICE = "__s";
    /// Family: a row value loaded once per row in the element loop.
    ROW_LOAD = "__rv";
    /// Family: a column buffer's view over the columns of the current row segment (or block),
    /// which the element loop indexes by [`COL_AT`] without a bounds check per element.
    COL_VIEW = "__cv";
    /// The current element's index in the column views.
    COL_AT = "__ca";
    /// Rows of all stacked matrices (`slices * rows`).
    ALL_ROWS = "__BR";
    /// Columns of all stacked matrices (`slices * cols`).
    ALL_COLS = "__BC";
    /// How many row sums a pass accumulates (column sums follow them).
    ROW_SUM_COUNT = "__RA";
    /// How many row temporaries there are (column temporaries follow them).
    ROW_TEMP_COUNT = "__TR";
    /// Stacked matrices, rows and columns of the matrix view.
    SLICES = "__S";
    ROWS = "__R";
    COLS = "__C";
    /// The row of the current element.
    ROW = "__row";
    /// The column (across stacked matrices) of the current element.
    COL = "__cj";
    /// The index in row/column code.
    AXIS_INDEX = "__j";
    /// The stacked matrix in row/column code.
    MATRIX = "__b";
    /// A row within one matrix in row/column code.
    MATRIX_ROW = "__r";
    /// A running sum in row/column code.
    RUNNING_SUM = "__sum";
    // ---- the expansion's own ---------------------------------------------------------------
    /// Family: a reduction's values over one block of a reduction pass.
    BLOCK_VALUES = "__bv";
    /// Family: row sum `m`'s values over one block of a factored reduction pass.
    BLOCK_ROWS = "__brw";
    /// Family: column sum `m`'s values over one block of a factored reduction pass.
    BLOCK_COLS = "__bcl";
    /// Family: reduction `r`'s value for the current element of a block (stored into its block
    /// array once, after the element's code).
    ELEMENT_VALUE = "__bvx";
    /// Family: row sum `m`'s value for the current element of a block.
    ELEMENT_ROW_VALUE = "__brx";
    /// Family: column sum `m`'s value for the current element of a block.
    ELEMENT_COL_VALUE = "__bcx";
    /// Family: row sum `m`'s lane accumulators over the current row.
    ROW_LANES = "__rl";
    /// The element index in a loop.
    INDEX = "__i";
    /// The loop's length.
    LEN = "__n";
    /// The parameter slice.
    PARAM = "__param";
    /// The gradient slice.
    GRAD = "__grad";
    /// The state slices.
    STATE = "__state";
    /// The scalar state slice handed to the prologue.
    SCALAR_STATE_IN = "__scalar_state";
    /// The group's values at the start of the step, handed to the prologue.
    GROUP_STATE_IN = "__group";
    /// The prologue's result.
    PREP = "__prep";
    /// The chunk's placement and row/column data.
    FACTORS = "__f";
    /// The instruction-set level.
    LEVEL = "__level";
    /// A reduction pass's partial results.
    OUT = "__out";
    /// The reduction pass number.
    PASS = "__pass";
    /// The reduction stage number.
    STAGE = "__stage";
    // ---- the matrix program ---------------------------------------------------------------
    /// The matrix program's scratch (`MatrixScratch`).
    SCRATCH = "__scratch";
    /// The rounding every matrix operation applies (`Rounding::Exact` or `Rounding::Bf16`).
    ROUNDING = "__rounding";
    /// The parameter's matrix view: rows (first axis) and columns (the product of the others).
    MATRIX_ROWS = "__mrows";
    MATRIX_COLS = "__mcols";
    /// Family: the update loop's element of matrix result `n`.
    MATRIX_RESULT_VALUE = "__mrv";
    /// Family: the update loop's slice of matrix result `n`.
    MATRIX_RESULT_SLICE = "__mres";
    /// Family: the first pass's output slice of matrix input `n`.
    MATRIX_INPUT_SLICE = "__min";
    /// Family: the program's view of matrix state `n` (`GG_0`), loaded first and stored last.
    MATRIX_STATE_VIEW = "__msv";
}
