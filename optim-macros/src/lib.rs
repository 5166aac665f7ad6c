//! The `optimizer!` DSL: an update rule in a few lines of math, compiled into a fused kernel.
//!
//! Phases: `ast` parses the spec, `lower` resolves names, types every expression and hoists
//! scalar work out of the element loop into the `ir`, and `expand` writes the code. Errors
//! are collected across a phase, so one compile shows every mistake.
//!
//! See `optim_core`'s crate docs for the language reference.

mod ast;
mod errors;
mod expand;
mod ir;
mod lower;
mod symbol;
#[cfg(test)]
mod tests;

/// The expansion behind `optim_core::optimizer!`, which passes its `$crate` first; use that
/// macro (re-exported by the `optim` facade) instead.
#[doc(hidden)]
#[proc_macro]
pub fn __optimizer(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::optimizer(input.into()).into()
}
