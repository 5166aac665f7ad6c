//! `eval` and `train`: the two points of averaging rules (Schedule-Free's x and y), each one
//! assignment of `param` computed per element from the parameter, its states and the
//! hyperparameters.

use proc_macro2::TokenStream;
use syn::{Expr, Stmt};

use super::*;

impl Lowerer<'_> {
    /// Both points, or `None` when the spec declares neither.
    pub(super) fn points(&mut self) -> Option<(TokenStream, TokenStream)> {
        let (eval, train) = (&self.spec.eval, &self.spec.train);
        if eval.is_empty() && train.is_empty() {
            return None;
        }
        if eval.is_empty() || train.is_empty() {
            self.errors.error_at(
                self.spec.eval_span,
                "declare both `eval { param = ...; }` and `train { param = ...; }`: each undoes the other",
            );
            return None;
        }
        let eval = self.point(eval);
        let train = self.point(train);
        Some((eval?, train?))
    }

    fn point(&mut self, stmts: &[Stmt]) -> Option<TokenStream> {
        let assignment = match stmts {
            [Stmt::Expr(Expr::Assign(assign), _)] => Some(assign),
            _ => None,
        };
        let Some(assign) = assignment.filter(|a| matches!(&*a.left, Expr::Path(p) if p.path.is_ident("param"))) else {
            let at = stmts.first().map(syn::spanned::Spanned::span).unwrap_or(self.spec.eval_span);
            self.errors.error_at(at, "a point is one assignment: `param = lerp(param, z, 1 - beta);`");
            return None;
        };
        self.mode = Mode::Point;
        self.inline_scalars = true;
        let value = self.expr(&assign.right).and_then(|v| self.expect(&v, Ty::Float, &assign.right).map(|_| v));
        let tokens = value.map(|v| self.elementwise(v));
        self.inline_scalars = false;
        self.mode = Mode::HyperOnly;
        tokens
    }
}
