//! Collected, spanned errors: one compile reports every mistake.

use proc_macro2::TokenStream;
use quote::ToTokens;

#[derive(Default)]
pub struct Errors {
    first: Option<syn::Error>,
}

impl Errors {
    pub fn error(&mut self, at: impl ToTokens, message: impl core::fmt::Display) {
        self.push(syn::Error::new_spanned(at.into_token_stream(), message));
    }

    pub fn error_at(&mut self, span: proc_macro2::Span, message: impl core::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub fn push(&mut self, error: syn::Error) {
        match &mut self.first {
            Some(first) => first.combine(error),
            None => self.first = Some(error),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Ends a phase: `Err` with every error so far, so later phases never see a broken spec.
    pub fn propagate(&mut self) -> syn::Result<()> {
        match self.first.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// The closest candidate to `name` by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance where swapping two adjacent letters counts as one edit (`gard` → `grad`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// `compile_error!`s plus a stub of the rule type, so a broken spec yields its own errors and not
/// a cascade of "cannot find type" errors at every use.
pub fn fallback(error: syn::Error, stub: Option<(&syn::Visibility, &syn::Ident)>) -> TokenStream {
    let errors = error.to_compile_error();
    match stub {
        Some((vis, name)) => quote::quote! { #errors #vis struct #name; },
        None => errors,
    }
}
