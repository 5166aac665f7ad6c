//! The lowered form of a spec: everything `expand` needs, already checked and hoisted.

use proc_macro2::TokenStream;

pub enum HyperTy {
    Float,
    Int,
    Bool,
    Pair,
}

pub struct Hyper {
    pub name: syn::Ident,
    pub ty: HyperTy,
    pub default: TokenStream,
    pub default_text: String,
    pub docs: Vec<syn::Attribute>,
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
}

pub struct ScalarState {
    pub name: syn::Ident,
    pub docs: Vec<syn::Attribute>,
    pub init: TokenStream,
    pub init_text: String,
}

pub struct Rule {
    pub hypers: Vec<Hyper>,
    pub requires: Vec<Require>,
    pub states: Vec<ElemState>,
    pub scalar_states: Vec<ScalarState>,
    /// Statements of `prepare`, run once per tensor per step.
    pub prologue: Vec<TokenStream>,
    /// Statements of the element loop's body, between the loads and the stores.
    pub body: Vec<TokenStream>,
    pub slots: usize,
    pub bits: usize,
    pub param_written: bool,
    pub grad_read: bool,
    pub step_text: String,
}
