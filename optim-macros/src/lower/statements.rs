//! Statements: `let`, assignments to `param` and states, blocks.

use quote::{ToTokens, quote};
use syn::{BinOp, Expr, Pat, Stmt};

use super::*;
use crate::ast::Axis;
use crate::ir;
use crate::symbol::*;

/// What a loop in a step should become instead.
const LOOP_HINT: &str = "the step already runs for every element (scalar code once per tensor); write the update of one element, and take values over the whole tensor with `sum`, `mean`, `norm` or `amax`";

impl Lowerer<'_> {
    // ---- statements ------------------------------------------------------------------------

    pub(super) fn statement(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Local(local) => self.let_statement(local),
            Stmt::Expr(Expr::Assign(assign), _) => self.assign(&assign.left, None, &assign.right),
            Stmt::Expr(Expr::Binary(b), _) if compound_op(&b.op).is_some() => {
                self.assign(&b.left, compound_op(&b.op), &b.right)
            }
            Stmt::Expr(Expr::If(if_stmt), _) => self.if_statement(if_stmt),
            Stmt::Expr(Expr::Block(block), _) => {
                let (frame, ()) = self.in_frame(&[], |this| {
                    for stmt in &block.block.stmts {
                        this.statement(stmt);
                    }
                });
                self.merge(frame);
            }
            Stmt::Expr(Expr::ForLoop(l), _) => self.matrix_loop(l),
            Stmt::Expr(Expr::While(l), _) => self.not_walked(l.while_token, "`while` loops are"),
            Stmt::Expr(Expr::Loop(l), _) => self.not_walked(l.loop_token, "`loop` is"),
            Stmt::Expr(e, _) => {
                self.errors.error(e, "this value is never used; assign it to `param` or a state, or bind it with `let`")
            }
            other => {
                self.errors.error(other, "unsupported statement; the step block takes `let`, assignments and `if`")
            }
        }
    }

    /// A loop: reported, and its body left unwalked.
    fn not_walked(&mut self, at: impl ToTokens, what: &str) {
        self.unwalked = true;
        self.errors.error(at, format!("{what} not part of the step: {LOOP_HINT}"));
    }

    pub(super) fn merge(&mut self, frame: Frame) {
        let parent = self.frame();
        parent.scalar.extend(frame.scalar);
        parent.elem.extend(frame.elem);
        parent.factored.extend(frame.factored);
        parent.matrix.extend(frame.matrix);
        parent.assigns_scalar_state |= frame.assigns_scalar_state;
    }

    pub(super) fn let_statement(&mut self, local: &syn::Local) {
        let Some(init) = &local.init else {
            self.errors.error(local, "a `let` needs a value: `let name = ...;`");
            return;
        };
        if let Some((_, diverge)) = &init.diverge {
            self.errors.error(diverge, "`let ... else` is not supported");
            return;
        }
        let Some(value) = self.expr(&init.expr) else {
            // the names still exist, so their uses do not add "unknown name" to the real error
            self.poison(&local.pat);
            return;
        };
        match &local.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => {
                let bound = self.bind(value);
                self.scope_insert(&p.ident, bound);
            }
            Pat::Ident(p) if p.mutability.is_some() && value.ty == Ty::Poisoned => {
                self.scope_insert(&p.ident, value);
            }
            Pat::Ident(p)
                if p.mutability.is_some()
                    && matches!(value.place, Place::Matrix | Place::Elem)
                    && value.ty == Ty::Float
                    && p.subpat.is_none() =>
            {
                self.let_mut_matrix(&p.ident, value);
            }
            Pat::Ident(p) if p.mutability.is_some() => {
                self.errors.error(p.mutability, "only matrices are assigned again (`let mut x = grad;` then `x = ...;` in a loop); shadow a number with a new `let` instead of `let mut`");
                let bound = self.bind(value);
                self.scope_insert(&p.ident, bound);
            }
            Pat::Tuple(t) if t.elems.len() == 2 || t.elems.len() == 3 => {
                let ty = if t.elems.len() == 2 { Ty::Pair } else { Ty::Triple };
                if self.expect(&value, ty, &init.expr).is_none() {
                    return;
                }
                let tokens = value.tokens;
                for (index, pat) in t.elems.iter().enumerate() {
                    match pat {
                        Pat::Ident(p) if p.mutability.is_none() && p.subpat.is_none() => {
                            let field = syn::Index::from(index);
                            let bound = self.bind(Value::scalar(Ty::Float, quote!(#tokens.#field)));
                            self.scope_insert(&p.ident, bound);
                        }
                        other => self.errors.error(other, "expected a name"),
                    }
                }
            }
            Pat::Type(t) => {
                self.errors.error(&t.ty, "type annotations are not needed; every value is a float or a bool")
            }
            other => self.errors.error(other, "expected a name, a pair `(a, b)` or a triple `(a, b, c)`"),
        }
    }

    /// Binds every name of a rejected `let` to a value whose uses report nothing more.
    fn poison(&mut self, pat: &Pat) {
        match pat {
            Pat::Ident(p) => {
                let poisoned = Value { ty: Ty::Poisoned, ..Value::scalar(Ty::Float, quote!(0.0)) };
                self.scope_insert(&p.ident, poisoned);
            }
            Pat::Tuple(t) => t.elems.iter().for_each(|pat| self.poison(pat)),
            Pat::Type(t) => self.poison(&t.pat),
            _ => {}
        }
    }

    pub(super) fn scope_insert(&mut self, ident: &syn::Ident, value: Value) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(ident.to_string(), value);
        }
    }

    pub(super) fn bind(&mut self, value: Value) -> Value {
        let tokens = &value.tokens;
        match (value.place, value.ty) {
            (Place::Scalar, ty) => {
                let local = self.local("v");
                let rust_ty = match ty {
                    Ty::Float => quote!(f64),
                    Ty::Bool => quote!(bool),
                    Ty::Pair => quote!((f64, f64)),
                    Ty::Triple => quote!((f64, f64, f64)),
                    Ty::Optional => quote!(::core::option::Option<f64>),
                    Ty::Choice(index) => match &self.hyper_tys[index] {
                        ir::HyperTy::Choice(choice) => choice.enum_name.to_token_stream(),
                        _ => quote!(_),
                    },
                    Ty::Poisoned => return value,
                };
                self.frame().scalar.push(quote!(let #local: #rust_ty = #tokens;));
                Value { tokens: local.into_token_stream(), ..value }
            }
            (Place::Matrix, _) => self.bind_matrix(value),
            (Place::MatScalar, ty) => {
                let local = self.local("ms");
                let rust_ty = if ty == Ty::Bool { quote!(bool) } else { quote!(f64) };
                self.frame().matrix.push(quote!(let #local: #rust_ty = #tokens;));
                Value { tokens: local.into_token_stream(), ..value }
            }
            (Place::Row | Place::Col, _) => {
                let place = value.place;
                match self.materialise(value.clone()) {
                    Some(index) => Value { tokens: self.temp_read(place, index), ..value },
                    None => value,
                }
            }
            (Place::Elem, ty) => {
                let local = self.local("e");
                let rust_ty = if ty == Ty::Bool { quote!(bool) } else { quote!(#ELEM) };
                let stage = value.stage.max(self.branch_stage());
                self.frame().elem.push(ir::ElemStmt::Code { stage, tokens: quote!(let #local: #rust_ty = #tokens;) });
                Value { tokens: local.into_token_stream(), stage, ..value }
            }
        }
    }

    pub(super) fn assign(&mut self, target: &Expr, op: Option<BinOp>, rhs: &Expr) {
        let Expr::Path(path) = target else {
            self.errors.error(target, "only `param` and states can be assigned");
            return;
        };
        let Some(ident) = path.path.get_ident() else {
            self.errors.error(target, "only `param` and states can be assigned");
            return;
        };
        let Some(name) = self.resolve(ident) else {
            self.unknown(ident);
            return;
        };
        // Mark the target written first, so a mistake in the value is not also reported as
        // "never written".
        match name {
            Name::Param => self.param_written = true,
            Name::State(index) => self.states[index].written = true,
            Name::ScalarState(index) => self.scalar_written[index] = true,
            Name::GroupState(index) => self.group_written[index] = true,
            _ => {}
        }
        if let Name::State(index) = name
            && self.states[index].axis.matrix()
        {
            self.assign_matrix_state(index, ident, op, rhs);
            return;
        }
        let Some(mut value) = self.expr(rhs) else { return };
        if self.expect(&value, Ty::Float, rhs).is_none() {
            return;
        }
        if let Name::Local(current) = &name
            && current.place == Place::Matrix
        {
            if let Some(op) = op {
                value = match self.matrix_arithmetic(current.clone(), value, &op) {
                    Some(value) => value,
                    None => return,
                };
            }
            self.assign_matrix(ident, current.clone(), value, rhs);
            return;
        }
        if let Some(op) = op {
            let Some(current) = self.expr(target) else { return };
            value = self.arithmetic(current, value, &op);
        }
        match name {
            Name::Param => {
                self.param_written = true;
                let stage = self.assigned_stage("param", &value);
                let tokens = self.elementwise(value);
                self.frame().elem.push(ir::ElemStmt::Code { stage, tokens: quote!(#PARAM_VALUE = #tokens;) });
            }
            Name::State(index) if self.states[index].axis.factored() => {
                if self.guard_check(index, ident).is_none() {
                    return;
                }
                self.assign_factored(index, ident, value, rhs);
            }
            Name::State(index) => {
                if self.guard_check(index, ident).is_none() {
                    return;
                }
                self.states[index].written = true;
                let stage = self.assigned_stage(&ident.to_string(), &value);
                let tokens = self.elementwise(value);
                let local = STATE_VALUE.at(index);
                self.frame().elem.push(ir::ElemStmt::Code { stage, tokens: quote!(#local = #tokens;) });
            }
            Name::ScalarState(index) => self.assign_scalar_state(index, ident, value, rhs),
            Name::GroupState(index) => self.assign_group_state(index, ident, value, rhs),
            other => self.read_only(ident, &other),
        }
    }

    /// `scalar_state = value;`: a statement of the prologue, once per tensor.
    fn assign_scalar_state(&mut self, index: usize, ident: &syn::Ident, value: Value, rhs: &Expr) {
        if value.place != Place::Scalar {
            self.errors.error(
                rhs,
                format!("scalar state `{ident}` cannot take an element-wise value; it holds one number per parameter"),
            );
            return;
        }
        self.scalar_written[index] = true;
        self.generation += 1;
        self.assigned_stage(&ident.to_string(), &value);
        let local = SCALAR_STATE.at(index);
        let tokens = value.tokens;
        let frame = self.frame();
        frame.scalar.push(quote!(#local = #tokens;));
        frame.assigns_scalar_state = true;
    }

    /// `group_state = value;`: a statement of the prologue that every tensor of the group
    /// computes alike, so the group keeps one value. The value may read hyperparameters, group
    /// state and group reductions, never what differs between tensors.
    fn assign_group_state(&mut self, index: usize, ident: &syn::Ident, value: Value, rhs: &Expr) {
        if value.place != Place::Scalar {
            self.errors.error(
                rhs,
                format!("group state `{ident}` cannot take an element-wise value; it holds one number per param group"),
            );
            return;
        }
        if value.varying {
            self.errors.error(
                rhs,
                format!("group state `{ident}` takes one value for the whole group, but this value can differ between its tensors (it reads `step`, `numel`, `ndim`, a scalar state or a per-tensor reduction); use `group_sum(...)` over the group, or declare a `group step` to count the group's steps"),
            );
            return;
        }
        if self.elem_condition_depth > 0 || self.branch_varying.iter().any(|v| *v) {
            self.errors.error(
                ident,
                format!("group state `{ident}` is assigned under a condition that can differ between tensors; branch on group values, hyperparameters or a `group step` only"),
            );
            return;
        }
        self.group_written[index] = true;
        self.generation += 1;
        self.assigned_stage(&ident.to_string(), &value);
        let local = GROUP_STATE.at(index);
        let tokens = value.tokens;
        let frame = self.frame();
        frame.scalar.push(quote!(#local = #tokens;));
        frame.assigns_scalar_state = true;
    }

    /// The error for assigning a name that cannot be assigned, with what to do instead.
    fn read_only(&mut self, ident: &syn::Ident, name: &Name) {
        let message = match name {
            Name::Grad => {
                "`grad` is read-only; bind the changed gradient to a new name: `let g = grad + ...;`".to_owned()
            }
            Name::Hyper(_) => format!("hyperparameter `{ident}` is read-only in `step`; bind a new name with `let`"),
            Name::Local(_) => {
                format!("`{ident}` is a `let` binding and cannot be assigned; shadow it: `let {ident} = ...;`")
            }
            _ => format!("`{ident}` is read-only; the runtime provides it"),
        };
        self.errors.error(ident, message);
    }

    /// `row_state = value;`: a loop over the rows (or columns) between passes.
    pub(super) fn assign_factored(&mut self, index: usize, ident: &syn::Ident, value: Value, rhs: &Expr) {
        let place = if self.states[index].axis == Axis::Rows { Place::Row } else { Place::Col };
        let what = if place == Place::Row { "row" } else { "column" };
        if value.place.join(place) != place {
            let hint = if place == Place::Row { "`row_mean(...)`" } else { "`col_mean(...)`" };
            self.errors.error(
                rhs,
                format!("{what} state `{ident}` takes one value per {what}, e.g. {hint}; this value is not"),
            );
            return;
        }
        if self.elem_condition_depth > 0 {
            self.errors
                .error(ident, format!("{what} state `{ident}` cannot be assigned under an element-wise condition"));
            return;
        }
        if self.elem_read_early[index] {
            self.errors.error(
                ident,
                format!("`{ident}` is read by element-wise code before this update; bind the old value first (`let old = {ident};`) or read it after"),
            );
            return;
        }
        self.states[index].written = true;
        let stage = self.assigned_stage(&ident.to_string(), &value);
        let tokens = self.factored_operand(value);
        let buffer = STATE_SLICE.at(index);
        let len = if place == Place::Row { quote!(#ALL_ROWS) } else { quote!(#ALL_COLS) };
        let code = quote! {
            for #AXIS_INDEX in 0..#buffer.len().min(#len) {
                #buffer[#AXIS_INDEX] = <#ELEM as #RT::Element>::from_f64(#tokens);
            }
        };
        // later reads must not reuse temporaries computed from the old value
        self.generation += 1;
        self.frame().factored.push((stage, code));
    }
}
