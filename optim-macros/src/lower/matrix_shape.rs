//! Matrix shapes as the macro checks them: each side an expression over the parameter's matrix
//! view (`rows`, `cols`, a single row, or a choice between two sides under a condition), and
//! the element counts the program sizes its buffers by.

use proc_macro2::TokenStream;
use quote::quote;

use crate::symbol::*;

/// One side of a matrix's shape, as an expression over the parameter's matrix view.
#[derive(Clone, PartialEq, Debug)]
pub(super) enum Dim {
    Rows,
    Cols,
    /// A single row or column (`column_sums(m)` is `1 x cols`).
    One,
    /// `if condition { a } else { b }` (the program's test of the condition, as text, is its key).
    Pick(String, Box<Dim>, Box<Dim>),
}

impl Dim {
    /// The dimension a selection between `a` and `b` under `condition` has, simplified: a
    /// selection between equal sides is that side, and a selection nested under the same
    /// condition takes its own arm.
    pub(super) fn pick(condition: &str, a: Dim, b: Dim) -> Dim {
        let a = a.under(condition, true);
        let b = b.under(condition, false);
        if a == b { a } else { Dim::Pick(condition.to_owned(), Box::new(a), Box::new(b)) }
    }

    /// This dimension knowing that `condition` is `holds`.
    pub(super) fn under(self, condition: &str, holds: bool) -> Dim {
        match self {
            Dim::Pick(c, a, b) if c == condition => {
                if holds {
                    a.under(condition, holds)
                } else {
                    b.under(condition, holds)
                }
            }
            Dim::Pick(c, a, b) => {
                let (a, b) = (a.under(condition, holds), b.under(condition, holds));
                if a == b { a } else { Dim::Pick(c, Box::new(a), Box::new(b)) }
            }
            other => other,
        }
    }

    /// The side's length in the program (a choice between two sides reserves the longer).
    pub(super) fn size(&self) -> TokenStream {
        match self {
            Dim::Rows => quote!(#MATRIX_ROWS),
            Dim::Cols => quote!(#MATRIX_COLS),
            Dim::One => quote!(1usize),
            Dim::Pick(_, a, b) => {
                let (a, b) = (a.size(), b.size());
                quote!(#a.max(#b))
            }
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Dim::Rows => "rows".into(),
            Dim::Cols => "cols".into(),
            Dim::One => "1".into(),
            Dim::Pick(c, a, b) => format!("(if {c} {{ {} }} else {{ {} }})", a.describe(), b.describe()),
        }
    }
}

pub(super) type Dims = (Dim, Dim);

/// The elements of a `rows x cols` matrix, as program code run before the program's first
/// statement. A choice between shapes (Muon's `if rows > cols { transpose(g) } else { g }`) is
/// decided by its test when that is known then (a hyperparameter, the shape), both sides taken
/// from the same arm; a test the program computes later gives the larger arm (never a side of
/// one arm times a side of the other: 70 000² for a 2 x 70 000 matrix).
pub(super) fn element_count(rows: &Dim, cols: &Dim) -> TokenStream {
    match (rows, cols) {
        (Dim::Pick(c, a, b), other) | (other, Dim::Pick(c, a, b)) => {
            let under = |side: &Dim, holds: bool| side.clone().under(c, holds);
            let (first, second) = if matches!(rows, Dim::Pick(..)) {
                (element_count(a, &under(other, true)), element_count(b, &under(other, false)))
            } else {
                (element_count(&under(other, true), a), element_count(&under(other, false), b))
            };
            // numbers of the program (`__ms...`) do not exist yet before its first statement
            match c.parse::<TokenStream>() {
                Ok(test) if !c.contains("__ms") => quote!((if #test { #first } else { #second })),
                _ => quote!((#first).max(#second)),
            }
        }
        _ => {
            let (r, c) = (rows.size(), cols.size());
            quote!(#r * #c)
        }
    }
}

pub(super) fn describe(dims: &Dims) -> String {
    format!("{} x {}", dims.0.describe(), dims.1.describe())
}
