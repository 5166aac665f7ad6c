//! Branches: `if` statements and values, guards of conditional state, mask-specialised arms.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{BinOp, Expr, ExprIf, Stmt, UnOp};

use super::*;
use crate::ir;
use crate::symbol::*;

impl Lowerer<'_> {
    pub(super) fn if_statement(&mut self, if_stmt: &ExprIf) {
        let condition = self.expr(&if_stmt.cond);
        let condition = condition.filter(|c| self.expect(c, Ty::Bool, &if_stmt.cond).is_some());
        let condition = condition.filter(|c| {
            let factored = c.place.factored();
            if factored {
                self.errors.error(&if_stmt.cond, "a branch cannot depend on a row or column value; use `select`");
            }
            !factored
        });
        let Some(condition) = condition else {
            // still walk the arms, so their own mistakes are reported and their writes seen
            let _ = self.in_frame(&[], |this| if_stmt.then_branch.stmts.iter().for_each(|s| this.statement(s)));
            if let Some((_, otherwise)) = &if_stmt.else_branch {
                let _ = self.in_frame(&[], |this| this.statement(&Stmt::Expr((**otherwise).clone(), None)));
            }
            return;
        };
        let guards = self.guards_of(&if_stmt.cond, &condition);
        let else_guards = self.complement_guards(&if_stmt.cond, &condition);
        let element_condition = usize::from(condition.place == Place::Elem);
        self.no_reduction_depth += element_condition;
        self.elem_condition_depth += element_condition;
        self.branch_stages.push(condition.stage);
        self.branch_varying.push(condition.varying);
        let (then, ()) = self.in_frame(&guards, |this| {
            for stmt in &if_stmt.then_branch.stmts {
                this.statement(stmt);
            }
        });
        let (otherwise, ()) = self.in_frame(&else_guards, |this| {
            if let Some((_, e)) = &if_stmt.else_branch {
                match &**e {
                    Expr::If(nested) => this.if_statement(nested),
                    Expr::Block(block) => {
                        for stmt in &block.block.stmts {
                            this.statement(stmt);
                        }
                    }
                    other => this.errors.error(other, "expected a block"),
                }
            }
        });
        self.branch_stages.pop();
        self.branch_varying.pop();
        self.no_reduction_depth -= element_condition;
        self.elem_condition_depth -= element_condition;
        self.join_branches(condition, &if_stmt.cond, then, otherwise, None);
    }

    /// Guards of an `else` arm: the complement of a comparison (`ndim >= 2` → `ndim < 2`) or of
    /// `!flag` / `flag`, so a state present under the opposite condition can be used there.
    pub(super) fn complement_guards(&self, source: &Expr, condition: &Value) -> Vec<String> {
        if condition.place != Place::Scalar {
            return Vec::new();
        }
        let complement: Option<Expr> = match source {
            Expr::Binary(b) => {
                let op: Option<BinOp> = match b.op {
                    BinOp::Lt(t) => Some(BinOp::Ge(syn::Token![>=](t.spans[0]))),
                    BinOp::Ge(t) => Some(BinOp::Lt(syn::Token![<](t.spans[0]))),
                    BinOp::Gt(t) => Some(BinOp::Le(syn::Token![<=](t.spans[0]))),
                    BinOp::Le(t) => Some(BinOp::Gt(syn::Token![>](t.spans[0]))),
                    BinOp::Eq(t) => Some(BinOp::Ne(syn::Token![!=](t.spans[0]))),
                    BinOp::Ne(t) => Some(BinOp::Eq(syn::Token![==](t.spans[0]))),
                    _ => None,
                };
                op.map(|op| Expr::Binary(syn::ExprBinary { op, ..b.clone() }))
            }
            Expr::Unary(u) if matches!(u.op, UnOp::Not(_)) => Some((*u.expr).clone()),
            Expr::Path(_) => Some(syn::parse_quote!(!#source)),
            _ => None,
        };
        complement.map(|e| vec![e.to_token_stream().to_string()]).unwrap_or_default()
    }

    pub(super) fn guards_of(&self, source: &Expr, condition: &Value) -> Vec<String> {
        let mut guards = Vec::new();
        if condition.place == Place::Scalar {
            conjuncts(source, &mut guards);
        }
        guards
    }

    /// Emits a two-way branch whose arms were lowered into `then` and `otherwise`; with `tails`,
    /// the branch is a value. Returns the element-level tokens for a value branch.
    pub(super) fn join_branches(
        &mut self,
        condition: Value,
        source: &Expr,
        mut then: Frame,
        mut otherwise: Frame,
        tails: Option<(Value, Value)>,
    ) -> Option<Value> {
        let elem_tails = tails.as_ref().is_some_and(|(a, b)| a.place != Place::Scalar || b.place != Place::Scalar);
        let tail_stage = tails.as_ref().map_or(0, |(a, b)| a.stage.max(b.stage));
        // a reduction under a scalar condition (`if cautious { mean(mask) } else { 1 }`) keeps a
        // scalar value: its accumulation runs as a branch of the pass, the value in the prologue
        let scalar_value_over_sums = condition.place == Place::Scalar
            && !elem_tails
            && ir::only_accumulates(&then.elem)
            && ir::only_accumulates(&otherwise.elem);
        if scalar_value_over_sums
            && tails.is_some()
            && (ir::accumulates(&then.elem) || ir::accumulates(&otherwise.elem))
        {
            let test = Self::bit_test(self.bit(condition.tokens.clone(), condition.span));
            let (then_elem, else_elem) = (std::mem::take(&mut then.elem), std::mem::take(&mut otherwise.elem));
            self.emit_elem_branch(test, condition.stage, then_elem, else_elem, None, 0);
        }
        let is_elem = !then.elem.is_empty() || !otherwise.elem.is_empty() || elem_tails;
        let tails = tails.map(|(a, b)| {
            if is_elem {
                let a = self.reenter(&mut then, |this| this.elementwise(a));
                let b = self.reenter(&mut otherwise, |this| this.elementwise(b));
                (a, b)
            } else {
                (a.tokens, b.tokens)
            }
        });
        self.branch_factored_code(&condition, source, &mut then, &mut otherwise)?;
        self.branch_matrix_code(&condition, source, &mut then, &mut otherwise)?;
        let (then_scalar, else_scalar) = (&then.scalar, &otherwise.scalar);
        let c = &condition.tokens;
        if condition.place == Place::Scalar {
            if !is_elem {
                // a purely scalar branch stays in the prologue, as statements or as a value
                self.frame().assigns_scalar_state |= then.assigns_scalar_state || otherwise.assigns_scalar_state;
                return match tails {
                    None => {
                        self.frame().scalar.push(quote!(if #c { #(#then_scalar)* } else { #(#else_scalar)* }));
                        None
                    }
                    Some((a, b)) => Some(Value::scalar(
                        Ty::Float,
                        quote!((if #c { #(#then_scalar)* #a } else { #(#else_scalar)* #b })),
                    )),
                };
            }
            if !then_scalar.is_empty() || !else_scalar.is_empty() {
                self.frame().scalar.push(quote!(if #c { #(#then_scalar)* } else { #(#else_scalar)* }));
            }
            self.frame().assigns_scalar_state |= then.assigns_scalar_state || otherwise.assigns_scalar_state;
            let test = Self::bit_test(self.bit(condition.tokens.clone(), condition.span));
            return self.emit_elem_branch(test, condition.stage, then.elem, otherwise.elem, tails, tail_stage);
        }
        if then.assigns_scalar_state || otherwise.assigns_scalar_state {
            self.errors.error(
                source,
                "a scalar state cannot be assigned under an element-wise condition; branch on a scalar, or use `select`",
            );
            return None;
        }
        let frame = self.frame();
        frame.scalar.extend(then.scalar);
        frame.scalar.extend(otherwise.scalar);
        self.emit_elem_branch(condition.tokens, condition.stage, then.elem, otherwise.elem, tails, tail_stage)
    }

    /// Row/column statements of the arms run between passes, each under the branch's mask
    /// bit; under an element-wise condition they cannot run at all.
    fn branch_factored_code(
        &mut self,
        condition: &Value,
        source: &Expr,
        then: &mut Frame,
        otherwise: &mut Frame,
    ) -> Option<()> {
        if condition.place == Place::Scalar && !(then.factored.is_empty() && otherwise.factored.is_empty()) {
            // row/column statements run between passes, each under the branch's mask bit
            let test = Self::bit_test(self.bit(condition.tokens.clone(), condition.span));
            let then_code =
                std::mem::take(&mut then.factored).into_iter().map(|(stage, code)| (stage, quote!(if #test { #code })));
            let else_code = std::mem::take(&mut otherwise.factored)
                .into_iter()
                .map(|(stage, code)| (stage, quote!(if !#test { #code })));
            let code: Vec<_> = then_code.chain(else_code).collect();
            self.frame().factored.extend(code);
        } else if !(then.factored.is_empty() && otherwise.factored.is_empty()) {
            self.errors.error(source, "row and column values cannot be computed under an element-wise condition");
            return None;
        }
        Some(())
    }

    /// Matrix statements of the arms run in the program under the branch's mask bit.
    fn branch_matrix_code(
        &mut self,
        condition: &Value,
        source: &Expr,
        then: &mut Frame,
        otherwise: &mut Frame,
    ) -> Option<()> {
        if then.matrix.is_empty() && otherwise.matrix.is_empty() {
            return Some(());
        }
        if condition.place != Place::Scalar {
            self.errors.error(source, "matrices are computed under conditions known before the step (a hyperparameter, `step`, the shape), not an element-wise one");
            return None;
        }
        let test = Self::bit_test(self.bit(condition.tokens.clone(), condition.span));
        let (then_code, else_code) = (std::mem::take(&mut then.matrix), std::mem::take(&mut otherwise.matrix));
        self.frame().matrix.push(quote!(if #test { #(#then_code)* } else { #(#else_code)* }));
        Some(())
    }

    pub(super) fn emit_elem_branch(
        &mut self,
        test: TokenStream,
        test_stage: usize,
        then: Vec<ir::ElemStmt>,
        otherwise: Vec<ir::ElemStmt>,
        tails: Option<(TokenStream, TokenStream)>,
        tail_stage: usize,
    ) -> Option<Value> {
        let stage = test_stage.max(ir::max_stage(&then)).max(ir::max_stage(&otherwise));
        match tails {
            None => {
                self.frame().elem.push(ir::ElemStmt::Branch { stage, test, then, otherwise });
                None
            }
            Some((a, b)) if ir::accumulates(&then) || ir::accumulates(&otherwise) => {
                // the arms feed a reduction pass, so they stay statements the pass can see: the
                // value is a local declared before the branch and set in each arm
                let (mut then, mut otherwise) = (then, otherwise);
                let local = self.local("e");
                let declaration = quote!(let #local: #ELEM;);
                self.frame().elem.push(ir::ElemStmt::Code { stage: test_stage, tokens: declaration });
                then.push(ir::ElemStmt::Code { stage: tail_stage, tokens: quote!(#local = #a;) });
                otherwise.push(ir::ElemStmt::Code { stage: tail_stage, tokens: quote!(#local = #b;) });
                let stage = stage.max(tail_stage);
                self.frame().elem.push(ir::ElemStmt::Branch { stage, test, then, otherwise });
                Some(Value { stage: tail_stage, ..Value::elem(Ty::Float, local.into_token_stream()) })
            }
            Some((a, b)) => {
                let (then, otherwise) = (ir::render(&then, None), ir::render(&otherwise, None));
                Some(Value::elem(Ty::Float, quote!((if #test { #then #a } else { #otherwise #b }))))
            }
        }
    }

    /// Records that a variable now holds `value`; returns the stage of the assignment.
    pub(super) fn block_value(&mut self, stmts: &[Stmt], at: &impl ToTokens) -> Option<Value> {
        let Some((Stmt::Expr(tail, None), body)) = stmts.split_last() else {
            self.errors.error(at, "this block needs a value as its last line (without `;`)");
            return None;
        };
        for stmt in body {
            self.statement(stmt);
        }
        self.expr(tail)
    }

    pub(super) fn if_expression(&mut self, if_expr: &ExprIf) -> Option<Value> {
        let Some((_, else_branch)) = &if_expr.else_branch else {
            self.errors.error(if_expr, "an `if` used as a value needs an `else`");
            return None;
        };
        let condition = self.expr(&if_expr.cond)?;
        self.expect(&condition, Ty::Bool, &if_expr.cond)?;
        if condition.place.factored() {
            self.errors.error(&if_expr.cond, "a branch cannot depend on a row or column value; use `select`");
            return None;
        }
        let guards = self.guards_of(&if_expr.cond, &condition);
        let else_guards = self.complement_guards(&if_expr.cond, &condition);
        // under a scalar condition (a flag) the arms may reduce: the pass runs only when needed
        let no_reduction = usize::from(condition.place != Place::Scalar);
        self.no_reduction_depth += no_reduction;
        self.branch_stages.push(condition.stage);
        self.branch_varying.push(condition.varying);
        let (then, a) = self.in_frame(&guards, |this| this.block_value(&if_expr.then_branch.stmts, if_expr));
        // a plain `else { ... }` is the other arm, lowered as the `then` block is: as a block
        // expression it was "inside a value block" and refused a reduction the `then` arm may
        // hold (`if flag { norm(a) } else { norm(b) }`); `else if` stays an expression
        let (otherwise, b) = self.in_frame(&else_guards, |this| match &**else_branch {
            syn::Expr::Block(block) if block.attrs.is_empty() && block.label.is_none() => {
                this.block_value(&block.block.stmts, block)
            }
            other => this.expr(other),
        });
        self.branch_stages.pop();
        self.branch_varying.pop();
        self.no_reduction_depth -= no_reduction;
        let (a, b) = (a?, b?);
        if a.place == Place::Matrix || b.place == Place::Matrix {
            return self.matrix_select(condition, then, otherwise, a, b, if_expr);
        }
        if a.ty != b.ty || matches!(a.ty, Ty::Pair | Ty::Triple) {
            self.errors.error(if_expr, "both arms of an `if` must be numbers, or both bools");
            return None;
        }
        if a.ty == Ty::Bool && (ir::accumulates(&then.elem) || ir::accumulates(&otherwise.elem)) {
            self.errors.error(
                if_expr,
                "an `if` that gives a bool cannot contain a reduction; bind the reduction with `let` before the `if`",
            );
            return None;
        }
        let ty = a.ty;
        let value = self.join_branches(condition, &if_expr.cond, then, otherwise, Some((a, b)))?;
        Some(Value { ty, ..value })
    }
}
