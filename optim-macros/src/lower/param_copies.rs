//! Which states hold a copy of the parameter: Schedule-Free's `z = param`, Prodigy's `p0 =
//! param` (initial values) and MADGRAD's `x0 = param` on the first step (an assignment). Their
//! values are of the parameter's size while a step moves them by a learning rate, so a few bits
//! of rounding would move the parameter by more than a step: compact state formats leave them
//! in the element type unless a user names them.

use syn::visit::Visit;

use crate::ast::Spec;

/// One flag per state of `spec`, in declaration order.
pub(super) fn param_copies(spec: &Spec) -> Vec<bool> {
    let mut assigned = Assigned { names: Vec::new() };
    for stmt in &spec.step {
        assigned.visit_stmt(stmt);
    }
    spec.states
        .iter()
        .map(|state| reads_param(&state.init) || assigned.names.iter().any(|name| state.name == name))
        .collect()
}

/// Whether an expression mentions `param`.
fn reads_param(expr: &syn::Expr) -> bool {
    struct Mentions(bool);
    impl<'a> Visit<'a> for Mentions {
        fn visit_ident(&mut self, ident: &'a proc_macro2::Ident) {
            self.0 |= ident == "param";
        }
    }
    let mut mentions = Mentions(false);
    mentions.visit_expr(expr);
    mentions.0
}

/// The names assigned the bare parameter (`x0 = param`) anywhere in the step.
struct Assigned {
    names: Vec<String>,
}

impl<'a> Visit<'a> for Assigned {
    fn visit_expr_assign(&mut self, assign: &'a syn::ExprAssign) {
        if let (syn::Expr::Path(target), syn::Expr::Path(value)) = (&*assign.left, &*assign.right)
            && value.path.is_ident("param")
            && let Some(name) = target.path.get_ident()
        {
            self.names.push(name.to_string());
        }
        syn::visit::visit_expr_assign(self, assign);
    }
}
