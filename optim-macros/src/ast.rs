//! The spanned syntax tree of an `optimizer!` spec, and its parser.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Expr, Ident, LitStr, Token, Visibility, braced};

pub struct Spec {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub hypers: Vec<Hyper>,
    pub requires: Vec<Require>,
    pub states: Vec<State>,
    pub step: Vec<syn::Stmt>,
    /// `eval { param = ...; }` and `train { ... }`: how the parameters move between a
    /// training point and an evaluation point (Schedule-Free's y and x), or empty.
    pub eval: Vec<syn::Stmt>,
    pub train: Vec<syn::Stmt>,
    pub eval_span: Span,
    pub step_span: Span,
    /// `#[dense_only]`: the rule refuses row-sparse gradients.
    pub dense_only: bool,
    /// `#[name = "SGD"]`: the name users know (PyTorch's class name); the type name otherwise.
    pub display_name: Option<LitStr>,
    /// `#[across_groups(lr, betas)]`: group values and group reductions span every param group
    /// (one set of values, kept in each group), and the listed hyperparameters must agree across
    /// groups. The attribute itself, for errors.
    pub across_groups: Option<(Attribute, Vec<Ident>)>,
    /// `#[bf16_matrices(ns_dtype == "bfloat16")]`: when the condition (over hyperparameters)
    /// holds, every matrix the step computes is rounded to bfloat16 after each operation, as
    /// torch computes on bfloat16 tensors.
    pub bf16_matrices: Option<Expr>,
    /// `#[ranks(0..=2)]`: the numbers of axes the rule's parameters may have (a matrix rule
    /// takes two or more without it).
    pub ranks: Option<(usize, usize)>,
}

pub struct Hyper {
    pub docs: Vec<Attribute>,
    /// `#[optional_on_load]`: added after checkpoints were written; one without it loads with the default.
    pub optional_on_load: bool,
    pub name: Ident,
    pub default: Expr,
    pub range: Option<syn::ExprRange>,
}

pub struct Require {
    pub condition: Expr,
    pub message: LitStr,
}

pub struct State {
    pub docs: Vec<Attribute>,
    /// `scalar name = ...` declares one value per parameter instead of one per element.
    pub scalar: bool,
    /// `group name = ...` declares one value per param group, kept in the group.
    pub group: bool,
    /// `row name = ...` / `col name = ...`: one value per row / per column of the parameter.
    pub axis: Axis,
    pub name: Ident,
    pub init: Expr,
    pub condition: Option<Expr>,
}

/// The shape of an element-like state: the parameter's, one of its rows' or columns', or a
/// square matrix as wide as its matrix view's rows or columns (`matrix(rows, rows) GG = 0`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Axis {
    Full,
    Rows,
    Cols,
    RowsByRows,
    ColsByCols,
}

impl Axis {
    /// One value per row or per column (factored state, updated between passes).
    pub fn factored(self) -> bool {
        matches!(self, Axis::Rows | Axis::Cols)
    }

    /// A matrix of the matrix program, loaded before it and stored after it.
    pub fn matrix(self) -> bool {
        matches!(self, Axis::RowsByRows | Axis::ColsByCols)
    }
}

const SECTIONS: [&str; 6] = ["hyper", "require", "state", "step", "eval", "train"];

impl Parse for Spec {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let before = attrs.len();
        attrs.retain(|attr| !attr.path().is_ident("dense_only"));
        let dense_only = attrs.len() != before;
        let mut display_name = None;
        let mut name_errors = Vec::new();
        attrs.retain(|attr| {
            if !attr.path().is_ident("name") {
                return true;
            }
            match &attr.meta {
                syn::Meta::NameValue(syn::MetaNameValue {
                    value: Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }),
                    ..
                }) => display_name = Some(s.clone()),
                other => name_errors.push(syn::Error::new_spanned(other, "expected `#[name = \"...\"]`")),
            }
            false
        });
        if let Some(error) = name_errors.into_iter().next() {
            return Err(error);
        }
        let mut across_groups = None;
        for attr in attrs.iter().filter(|attr| attr.path().is_ident("across_groups")) {
            let names = match &attr.meta {
                syn::Meta::Path(_) => Vec::new(),
                _ => attr
                    .parse_args_with(syn::punctuated::Punctuated::<Ident, Token![,]>::parse_terminated)
                    .map_err(|e| {
                        syn::Error::new(e.span(), "expected `#[across_groups(name, ...)]` naming hyperparameters")
                    })?
                    .into_iter()
                    .collect(),
            };
            across_groups = Some((attr.clone(), names));
        }
        attrs.retain(|attr| !attr.path().is_ident("across_groups"));
        let mut bf16_matrices = None;
        for attr in attrs.iter().filter(|attr| attr.path().is_ident("bf16_matrices")) {
            let condition = attr.parse_args::<Expr>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected `#[bf16_matrices(condition)]`, e.g. `#[bf16_matrices(ns_dtype == \"bfloat16\")]`",
                )
            })?;
            bf16_matrices = Some(condition);
        }
        attrs.retain(|attr| !attr.path().is_ident("bf16_matrices"));
        let mut ranks = None;
        for attr in attrs.iter().filter(|attr| attr.path().is_ident("ranks")) {
            ranks = Some(parse_ranks(attr)?);
        }
        attrs.retain(|attr| !attr.path().is_ident("ranks"));
        let vis: Visibility = input.parse()?;
        let name: Ident = input.parse()?;
        let body;
        braced!(body in input);
        let mut spec = Spec {
            attrs,
            vis,
            name,
            hypers: Vec::new(),
            requires: Vec::new(),
            states: Vec::new(),
            step: Vec::new(),
            step_span: Span::call_site(),
            eval: Vec::new(),
            train: Vec::new(),
            eval_span: Span::call_site(),
            dense_only,
            display_name,
            across_groups,
            bf16_matrices,
            ranks,
        };
        let mut seen: Vec<String> = Vec::new();
        let mut has_step = false;
        while !body.is_empty() {
            let section: Ident = body.parse()?;
            let key = section.to_string();
            if seen.contains(&key) {
                return Err(syn::Error::new(section.span(), format!("duplicate `{key}` section")));
            }
            let content;
            let brace = braced!(content in body);
            match key.as_str() {
                "hyper" => spec.hypers = parse_list(&content, parse_hyper)?,
                "require" => spec.requires = parse_list(&content, parse_require)?,
                "state" => spec.states = parse_list(&content, parse_state)?,
                "step" => {
                    spec.step = content.call(syn::Block::parse_within)?;
                    spec.step_span = brace.span.join();
                    has_step = true;
                }
                "eval" => {
                    spec.eval = content.call(syn::Block::parse_within)?;
                    spec.eval_span = section.span();
                }
                "train" => spec.train = content.call(syn::Block::parse_within)?,
                _ => {
                    let hint = crate::errors::did_you_mean(&key, SECTIONS)
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_else(|| "; expected `hyper`, `require`, `state`, `step`, `eval` or `train`".into());
                    return Err(syn::Error::new(section.span(), format!("unknown section `{key}`{hint}")));
                }
            }
            seen.push(key);
        }
        if !has_step {
            return Err(syn::Error::new(
                spec.name.span(),
                "missing `step { ... }` section: every optimizer needs an update rule",
            ));
        }
        Ok(spec)
    }
}

fn parse_list<T>(input: ParseStream, item: fn(ParseStream) -> syn::Result<T>) -> syn::Result<Vec<T>> {
    let mut items = Vec::new();
    while !input.is_empty() {
        items.push(item(input)?);
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(items)
}

fn parse_hyper(input: ParseStream) -> syn::Result<Hyper> {
    let mut docs = input.call(Attribute::parse_outer)?;
    let before = docs.len();
    docs.retain(|attr| !attr.path().is_ident("optional_on_load"));
    let optional_on_load = docs.len() != before;
    let name: Ident = input.parse()?;
    input.parse::<Token![=]>()?;
    let default = parse_operand(input)?;
    let range = if input.peek(Token![in]) {
        input.parse::<Token![in]>()?;
        match input.parse::<Expr>()? {
            Expr::Range(range) => Some(range),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "expected a range such as `0.0..`, `0.0..1.0` or `0.0..=1.0`",
                ));
            }
        }
    } else {
        None
    };
    Ok(Hyper { docs, optional_on_load, name, default, range })
}

fn parse_require(input: ParseStream) -> syn::Result<Require> {
    let condition: Expr = input.parse()?;
    input.parse::<Token![=>]>()?;
    let message: LitStr = input.parse()?;
    Ok(Require { condition, message })
}

fn parse_state(input: ParseStream) -> syn::Result<State> {
    let docs = input.call(Attribute::parse_outer)?;
    let first: Ident = input.parse()?;
    let keyword = input.peek(Ident).then(|| first.to_string());
    let (scalar, group, axis) = match keyword.as_deref() {
        Some("scalar") => (true, false, Axis::Full),
        Some("group") => (false, true, Axis::Full),
        Some("row") => (false, false, Axis::Rows),
        Some("col") => (false, false, Axis::Cols),
        _ => (false, false, Axis::Full),
    };
    let (axis, name) = if first == "matrix" && input.peek(syn::token::Paren) {
        (parse_matrix_shape(input)?, input.parse()?)
    } else if scalar || group || axis != Axis::Full {
        (axis, input.parse()?)
    } else {
        (axis, first)
    };
    input.parse::<Token![=]>()?;
    let init = parse_operand(input)?;
    let condition = if input.peek(Token![if]) {
        input.parse::<Token![if]>()?;
        Some(input.parse()?)
    } else {
        None
    };
    Ok(State { docs, scalar, group, axis, name, init, condition })
}

/// `#[ranks(fewest..=most)]`: whole numbers, `fewest <= most`.
fn parse_ranks(attr: &Attribute) -> syn::Result<(usize, usize)> {
    let hint = "expected `#[ranks(fewest..=most)]`, e.g. `#[ranks(0..=2)]` for scalars, vectors and matrices";
    let range: syn::ExprRange = attr.parse_args().map_err(|e| syn::Error::new(e.span(), hint))?;
    let bound = |e: &Option<Box<Expr>>| match e.as_deref() {
        Some(Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. })) => i.base10_parse::<usize>().ok(),
        _ => None,
    };
    match (bound(&range.start), bound(&range.end), &range.limits) {
        (Some(fewest), Some(most), syn::RangeLimits::Closed(_)) if fewest <= most => Ok((fewest, most)),
        _ => Err(syn::Error::new_spanned(&range, hint)),
    }
}

/// `(rows, rows)` or `(cols, cols)` after `matrix`: a square state as wide as one side of the
/// parameter's matrix view.
fn parse_matrix_shape(input: ParseStream) -> syn::Result<Axis> {
    let content;
    let parens = syn::parenthesized!(content in input);
    let sides = syn::punctuated::Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
    let names: Vec<String> = sides.iter().map(Ident::to_string).collect();
    match names.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["rows", "rows"] => Ok(Axis::RowsByRows),
        ["cols", "cols"] => Ok(Axis::ColsByCols),
        _ => Err(syn::Error::new(
            parens.span.join(),
            "a matrix state is square, `matrix(rows, rows)` or `matrix(cols, cols)` (a state shaped like the parameter needs no `matrix`)",
        )),
    }
}

/// An expression that stops before `in` and `if`, which follow a default or an initial value.
fn parse_operand(input: ParseStream) -> syn::Result<Expr> {
    let mut tokens = proc_macro2::TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) && !input.peek(Token![in]) && !input.peek(Token![if]) {
        let tt: proc_macro2::TokenTree = input.parse()?;
        tokens.extend([tt]);
    }
    if tokens.is_empty() {
        return Err(input.error("expected a value"));
    }
    syn::parse2(tokens)
}
