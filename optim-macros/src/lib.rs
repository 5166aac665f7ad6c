//! The `optimizer!` DSL: an update rule in a few lines of math, compiled into a fused kernel.
//!
//! Phases, one module each: `ast` parses the spec; `lower` resolves names and types every
//! value (each keeps its span), places it (scalar prologue, row/column code or element loop)
//! and hoists scalar work, one submodule per concern; `lower::check` runs the whole-spec checks
//! as a flat list of named rules; the result is the `ir`, which `expand` turns into code, one
//! submodule per generated item. `symbol` names every identifier the generated code uses, and
//! the fixed sizes shared with the runtime come from `optim_contract`. Errors are collected
//! across a phase, so one compile shows every mistake.
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
