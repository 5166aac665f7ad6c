//! Expressions: literals, names, operators, and combining values of different places.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{BinOp, Expr, Lit, UnOp};

use super::*;
use crate::ast::Axis;
use crate::errors::did_you_mean;
use crate::ir;
use crate::symbol::*;

impl Lowerer<'_> {
    // ---- expressions -------------------------------------------------------------------------

    /// Lowers an expression and tags it with the latest reduction stage it depends on.
    pub(super) fn expr(&mut self, e: &Expr) -> Option<Value> {
        let outer = std::mem::take(&mut self.seen_stage);
        let outer_varying = std::mem::take(&mut self.seen_varying);
        let value = self.expr_untagged(e);
        let stage = self.seen_stage;
        self.seen_stage = outer.max(stage);
        let varying = self.seen_varying || value.as_ref().is_some_and(|v| v.varying || v.place != Place::Scalar);
        self.seen_varying = outer_varying || varying;
        let span = syn::spanned::Spanned::span(e);
        value.map(|v| Value { stage, span, varying, ..v })
    }

    pub(super) fn expr_untagged(&mut self, e: &Expr) -> Option<Value> {
        match e {
            Expr::Lit(lit) => self.literal(&lit.lit),
            Expr::Path(path) => {
                let Some(ident) = path.path.get_ident() else {
                    self.errors.error(path, "expected a name");
                    return None;
                };
                self.name(ident)
            }
            Expr::Paren(p) => {
                let inner = self.expr(&p.expr)?;
                if inner.place == Place::Matrix {
                    // a matrix is known by its view's tokens: wrapping them would lose it
                    return Some(inner);
                }
                let tokens = &inner.tokens;
                Some(Value { tokens: quote!((#tokens)), ..inner })
            }
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Unary(u) => self.unary(u),
            Expr::Binary(b) => self.binary(b),
            Expr::Call(call) => {
                let Expr::Path(func) = &*call.func else {
                    self.errors.error(&call.func, "expected a function name");
                    return None;
                };
                let Some(ident) = func.path.get_ident() else {
                    self.errors.error(func, "expected a function name");
                    return None;
                };
                let args: Vec<&Expr> = call.args.iter().collect();
                self.call(ident, &args, call)
            }
            Expr::MethodCall(m) => {
                let args: Vec<&Expr> = std::iter::once(&*m.receiver).chain(m.args.iter()).collect();
                self.call(&m.method, &args, m)
            }
            Expr::If(if_expr) => self.if_expression(if_expr),
            Expr::Block(block) => self.block_expression(block),
            Expr::Field(field) => self.pair_field(field),
            Expr::Cast(cast) => {
                self.errors.error(
                    cast,
                    "casts are not needed: every value is a number; turn a bool into one with `select(condition, 1, 0)`, and round with `round_f32` or `round_bf16`",
                );
                None
            }
            Expr::Assign(a) => {
                self.errors.error(a, "an assignment is a statement; end it with `;`");
                None
            }
            other => {
                self.errors.error(other, "unsupported expression in the DSL");
                None
            }
        }
    }

    /// `{ let a = ...; a * 2 }` as a value: its statements stay with the value.
    fn block_expression(&mut self, block: &syn::ExprBlock) -> Option<Value> {
        self.no_reduction_depth += 1;
        let (mut frame, tail) = self.in_frame(&[], |this| this.block_value(&block.block.stmts, block));
        self.no_reduction_depth -= 1;
        let factored = std::mem::take(&mut frame.factored);
        self.frame().factored.extend(factored);
        let tail = tail?;
        if frame.elem.is_empty() && frame.scalar.is_empty() {
            return Some(tail);
        }
        let (frame_scalar, frame_elem) = (frame.scalar, frame.elem);
        if frame_elem.is_empty() && tail.place == Place::Scalar {
            let t = tail.tokens;
            return Some(Value::scalar(tail.ty, quote!({ #(#frame_scalar)* #t })));
        }
        self.frame().scalar.extend(frame_scalar);
        let t = self.elementwise(tail.clone());
        let frame_elem = ir::render(&frame_elem, None);
        Some(Value::elem(tail.ty, quote!({ #frame_elem #t })))
    }

    /// `pair.0` / `pair.1`.
    fn pair_field(&mut self, field: &syn::ExprField) -> Option<Value> {
        let base = self.expr(&field.base)?;
        let syn::Member::Unnamed(index) = &field.member else {
            self.errors.error(&field.member, "only `.0` and `.1` of a pair exist");
            return None;
        };
        let fields = match base.ty {
            Ty::Pair => 2,
            Ty::Triple => 3,
            _ => 0,
        };
        if index.index >= fields {
            let message = if base.ty == Ty::Triple {
                "only `.0`, `.1` and `.2` of a triple exist"
            } else {
                "only `.0` and `.1` of a pair exist"
            };
            self.errors.error(field, message);
            return None;
        }
        let tokens = base.tokens;
        Some(Value::scalar(Ty::Float, quote!(#tokens.#index)))
    }

    pub(super) fn literal(&mut self, lit: &Lit) -> Option<Value> {
        match lit {
            Lit::Float(f) => Some(Value::scalar(Ty::Float, f64_literal(f.base10_parse().ok()?))),
            Lit::Int(i) => Some(Value::scalar(Ty::Float, f64_literal(i.base10_parse().ok()?))),
            Lit::Bool(b) => Some(Value::scalar(Ty::Bool, b.to_token_stream())),
            other => {
                self.errors.error(other, "unsupported literal; use numbers and `true`/`false`");
                None
            }
        }
    }

    pub(super) fn name(&mut self, ident: &syn::Ident) -> Option<Value> {
        let Some(name) = self.resolve(ident) else {
            if ident == "inf" {
                return Some(Value::scalar(Ty::Float, f64_literal(f64::INFINITY)));
            }
            self.unknown(ident);
            return None;
        };
        self.allowed_here(ident, &name)?;
        if let Name::State(index) = name
            && self.states[index].axis.matrix()
        {
            return self.matrix_state(index, ident);
        }
        Some(match name {
            Name::Hyper(index) => {
                let field = &self.spec.hypers[index].name;
                match self.hyper_tys[index] {
                    ir::HyperTy::Float => Value::scalar(Ty::Float, quote!(#HYPER.#field)),
                    ir::HyperTy::Int => Value::scalar(Ty::Float, quote!((#HYPER.#field as f64))),
                    ir::HyperTy::Bool => Value::scalar(Ty::Bool, quote!(#HYPER.#field)),
                    ir::HyperTy::Pair => Value::scalar(Ty::Pair, quote!(#HYPER.#field)),
                    ir::HyperTy::Triple => Value::scalar(Ty::Triple, quote!(#HYPER.#field)),
                    ir::HyperTy::OptionalFloat => Value::scalar(Ty::Optional, quote!(#HYPER.#field)),
                    ir::HyperTy::Choice(_) => Value::scalar(Ty::Choice(index), quote!(#HYPER.#field)),
                }
            }
            Name::State(index) if self.states[index].axis.factored() => {
                self.guard_check(index, ident)?;
                self.states[index].read = true;
                self.bump_var_stage(ident);
                let place = if self.states[index].axis == Axis::Rows { Place::Row } else { Place::Col };
                let buffer = STATE_SLICE.at(index);
                let tokens = quote!(<#ELEM as #RT::Element>::to_f64(#RT::at(#buffer, #AXIS_INDEX)));
                self.held.insert(tokens.to_string(), (place, Held::State(index)));
                Value { place, ..Value::scalar(Ty::Float, tokens) }
            }
            Name::State(index) => {
                self.guard_check(index, ident)?;
                self.states[index].read = true;
                self.bump_var_stage(ident);
                let local = STATE_VALUE.at(index);
                Value::elem(Ty::Float, local.into_token_stream())
            }
            Name::ScalarState(index) => {
                self.bump_var_stage(ident);
                self.seen_varying = true;
                Value::scalar(Ty::Float, SCALAR_STATE.at(index).into_token_stream())
            }
            Name::GroupState(index) => {
                self.bump_var_stage(ident);
                Value::scalar(Ty::Float, GROUP_STATE.at(index).into_token_stream())
            }
            Name::Param => {
                self.bump_var_stage(ident);
                Value::elem(Ty::Float, quote!(#PARAM_VALUE))
            }
            Name::Grad => {
                self.grad_read = true;
                Value::elem(Ty::Float, quote!(#GRAD_VALUE))
            }
            Name::Rows | Name::Cols => {
                self.seen_varying = true;
                let axis = if matches!(name, Name::Rows) { quote!(0) } else { quote!(1) };
                Value::scalar(Ty::Float, quote!((#RT::matrix_view_dims(#SHAPE).#axis as f64)))
            }
            Name::Step | Name::Numel | Name::Ndim => {
                self.seen_varying = true;
                let tokens = match name {
                    Name::Step => quote!((#STEP as f64)),
                    Name::Numel => quote!((#NUMEL as f64)),
                    _ => quote!((#NDIM as f64)),
                };
                Value::scalar(Ty::Float, tokens)
            }
            Name::Local(value) if value.ty == Ty::Poisoned => return None,
            Name::Local(value) => {
                self.seen_stage = self.seen_stage.max(value.stage);
                self.seen_varying |= value.varying;
                value
            }
        })
    }

    pub(super) fn bump_var_stage(&mut self, ident: &syn::Ident) {
        let stage = self.var_stages.get(&ident.to_string()).copied().unwrap_or(0);
        self.seen_stage = self.seen_stage.max(stage);
    }

    pub(super) fn unary(&mut self, u: &syn::ExprUnary) -> Option<Value> {
        let inner = self.expr(&u.expr)?;
        let tokens = &inner.tokens;
        match u.op {
            UnOp::Neg(_) => {
                self.expect(&inner, Ty::Float, &u.expr)?;
                Some(Value { tokens: quote!((-#tokens)), ..inner })
            }
            UnOp::Not(_) => {
                self.expect(&inner, Ty::Bool, &u.expr)?;
                Some(Value { tokens: quote!((!#tokens)), ..inner })
            }
            _ => {
                self.errors.error(u, "unsupported operator");
                None
            }
        }
    }

    /// `kind == "lion"`: a choice hyperparameter against one of its names, a scalar bool.
    fn choice_test(&mut self, operand: &Expr, name: &syn::LitStr, op: BinOp) -> Option<Value> {
        let value = self.expr(operand)?;
        let Ty::Choice(index) = value.ty else {
            let found = value.ty.describe();
            self.errors.error(name, format!("a name compares only with a choice hyperparameter; this is {found}"));
            return None;
        };
        let ir::HyperTy::Choice(choice) = &self.hyper_tys[index] else { return None };
        let text = name.value();
        let Some((_, variant)) = choice.options.iter().find(|(option, _)| *option == text) else {
            let hyper = &self.spec.hypers[index].name;
            let options: Vec<&str> = choice.options.iter().map(|(option, _)| option.as_str()).collect();
            let hint = match did_you_mean(&text, options.iter().copied()) {
                Some(close) => format!("did you mean `\"{close}\"`?"),
                None => format!("its choices are {}", options.join(", ")),
            };
            self.errors.error(name, format!("`{hyper}` has no choice `\"{text}\"`; {hint}"));
            return None;
        };
        let (enum_name, tokens) = (&choice.enum_name, value.tokens);
        Some(Value::scalar(Ty::Bool, quote!((#tokens #op #enum_name::#variant))))
    }

    pub(super) fn binary(&mut self, b: &syn::ExprBinary) -> Option<Value> {
        if compound_op(&b.op).is_some() {
            self.errors.error(b, "a compound assignment is a statement; end it with `;`");
            return None;
        }
        if matches!(b.op, BinOp::Eq(_) | BinOp::Ne(_)) {
            match (&*b.left, &*b.right) {
                (other, Expr::Lit(syn::ExprLit { lit: Lit::Str(name), .. }))
                | (Expr::Lit(syn::ExprLit { lit: Lit::Str(name), .. }), other) => {
                    return self.choice_test(other, name, b.op);
                }
                _ => {}
            }
        }
        let left = self.expr(&b.left);
        let right = self.expr(&b.right);
        let (left, right) = (left?, right?);
        match b.op {
            BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_) | BinOp::Div(_) => {
                self.expect(&left, Ty::Float, &b.left)?;
                self.expect(&right, Ty::Float, &b.right)?;
                Some(self.arithmetic(left, right, &b.op))
            }
            BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) | BinOp::Eq(_) | BinOp::Ne(_) => {
                self.expect(&left, Ty::Float, &b.left)?;
                self.expect(&right, Ty::Float, &b.right)?;
                let op = b.op;
                Some(self.combine(left, right, Ty::Bool, |l, r| quote!((#l #op #r))))
            }
            BinOp::And(_) | BinOp::Or(_) => {
                self.expect(&left, Ty::Bool, &b.left)?;
                self.expect(&right, Ty::Bool, &b.right)?;
                let op = b.op;
                Some(self.combine(left, right, Ty::Bool, |l, r| quote!((#l #op #r))))
            }
            BinOp::Rem(op) => {
                self.expect(&left, Ty::Float, &b.left)?;
                self.expect(&right, Ty::Float, &b.right)?;
                if left.place != Place::Scalar || right.place != Place::Scalar {
                    self.errors.error(
                        op,
                        "`%` takes numbers known before the step (`(step - 1) % frequency`), not element-wise values",
                    );
                    return None;
                }
                Some(self.combine(left, right, Ty::Float, |l, r| quote!((#l % #r))))
            }
            BinOp::BitXor(op) => {
                self.errors.error(op, "`^` is not a power here; write `pow(x, y)`");
                None
            }
            other => {
                self.errors.error(other, "unsupported operator; the DSL has + - * / comparisons && || !");
                None
            }
        }
    }

    pub(super) fn arithmetic(&mut self, left: Value, right: Value, op: &BinOp) -> Value {
        {
            // matrices stay matrices with numbers; an element-wise value meeting a number of the
            // matrix program becomes a matrix; a matrix meeting an element-wise value is read
            // element-wise (below, through `combine`)
            let places = [left.place, right.place];
            let matrix = places.contains(&Place::Matrix);
            let program_number = places.contains(&Place::MatScalar);
            let elementwise = places.contains(&Place::Elem);
            if (matrix && !elementwise) || (program_number && elementwise) {
                let poisoned = Value { ty: Ty::Poisoned, ..Value::scalar(Ty::Float, quote!(0.0)) };
                let op = match op {
                    BinOp::AddAssign(_) => BinOp::Add(Default::default()),
                    BinOp::SubAssign(_) => BinOp::Sub(Default::default()),
                    BinOp::MulAssign(_) => BinOp::Mul(Default::default()),
                    BinOp::DivAssign(_) => BinOp::Div(Default::default()),
                    other => *other,
                };
                return self.matrix_arithmetic(left, right, &op).unwrap_or(poisoned);
            }
        }
        let op = match op {
            BinOp::Add(_) | BinOp::AddAssign(_) => quote!(+),
            BinOp::Sub(_) | BinOp::SubAssign(_) => quote!(-),
            BinOp::Mul(_) | BinOp::MulAssign(_) => quote!(*),
            _ => quote!(/),
        };
        self.combine(left, right, Ty::Float, |l, r| quote!((#l #op #r)))
    }

    pub(super) fn combine(
        &mut self,
        left: Value,
        right: Value,
        ty: Ty,
        build: impl FnOnce(TokenStream, TokenStream) -> TokenStream,
    ) -> Value {
        let stage = left.stage.max(right.stage);
        if left.place == Place::Scalar && right.place == Place::Scalar {
            return Value { stage, ..Value::scalar(ty, build(left.tokens, right.tokens)) };
        }
        if left.place.join(right.place) == Place::MatScalar {
            return self.program_number(ty, vec![left, right], |args| build(args[0].clone(), args[1].clone()));
        }
        if left.place == Place::MatScalar || right.place == Place::MatScalar {
            let span = if left.place == Place::MatScalar { left.span } else { right.span };
            self.errors.error_at(span, "a number computed from a matrix is used by the matrix code only; element-wise code reads matrices shaped like the parameter");
            return Value { ty: Ty::Poisoned, ..Value::scalar(ty, quote!(0.0)) };
        }
        let place = left.place.join(right.place);
        if place.factored() {
            let l = self.factored_operand(left);
            let r = self.factored_operand(right);
            return Value { place, stage, ..Value::scalar(ty, build(l, r)) };
        }
        let l = self.elementwise(left);
        let r = self.elementwise(right);
        Value { stage, ..Value::elem(ty, build(l, r)) }
    }
}

pub(super) fn compound_op(op: &BinOp) -> Option<BinOp> {
    match op {
        BinOp::AddAssign(_) | BinOp::SubAssign(_) | BinOp::MulAssign(_) | BinOp::DivAssign(_) => Some(*op),
        _ => None,
    }
}
