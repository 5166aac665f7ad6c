//! The walk over statements and expressions: each expression's interval, each assignment
//! checked against the states believed non-negative.

use std::collections::{HashMap, HashSet};

use quote::ToTokens;
use syn::visit::Visit;
use syn::{BinOp, Expr, Pat, Stmt, UnOp};

use super::Val;
use super::interval::Iv;

/// The values names hold at one point of the walk.
#[derive(Clone, Default)]
struct Env {
    /// `let` bindings, innermost block last.
    scopes: Vec<HashMap<String, Val>>,
    /// Every state's current value.
    states: HashMap<String, Iv>,
}

impl Env {
    /// What either environment may hold: after an `if` and its `else`.
    fn join(mut self, other: &Env) -> Env {
        for (scope, theirs) in self.scopes.iter_mut().zip(&other.scopes) {
            for (name, value) in scope.iter_mut() {
                *value = theirs.get(name).map_or(Val::Other, |theirs| value.join(theirs));
            }
            for name in theirs.keys() {
                scope.entry(name.clone()).or_insert(Val::Other);
            }
        }
        for (name, value) in self.states.iter_mut() {
            *value = other.states.get(name).map_or(Iv::TOP, |theirs| value.hull(*theirs));
        }
        self
    }
}

pub(super) struct Walk<'a> {
    hypers: &'a HashMap<String, Val>,
    candidates: &'a HashSet<String>,
    /// Candidates assigned a value that may be negative.
    pub failed: HashSet<String>,
    env: Env,
}

impl<'a> Walk<'a> {
    /// A walk where the candidates hold non-negative values and the other `states` anything.
    pub fn new(hypers: &'a HashMap<String, Val>, candidates: &'a HashSet<String>, states: &[String]) -> Walk<'a> {
        let states = states
            .iter()
            .map(|name| (name.clone(), if candidates.contains(name) { Iv::NON_NEGATIVE } else { Iv::TOP }))
            .collect();
        Walk { hypers, candidates, failed: HashSet::new(), env: Env { scopes: vec![HashMap::new()], states } }
    }

    pub fn statements(&mut self, stmts: &[Stmt]) {
        for stmt in stmts {
            self.statement(stmt);
        }
    }

    fn statement(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Local(local) => {
                let value = local.init.as_ref().map_or(Val::Other, |init| self.expr(&init.expr));
                self.bind(&local.pat, value);
            }
            // assignments, `if` and loops are expressions to syn
            Stmt::Expr(e, _) => {
                self.expr(e);
            }
            // refused by lowering; nothing they could do is followed
            Stmt::Item(_) | Stmt::Macro(_) => {}
        }
    }

    fn bind(&mut self, pat: &Pat, value: Val) {
        match pat {
            Pat::Ident(p) => {
                if let Some(scope) = self.env.scopes.last_mut() {
                    scope.insert(p.ident.to_string(), value);
                }
            }
            Pat::Tuple(t) => {
                for (index, pat) in t.elems.iter().enumerate() {
                    let part = match &value {
                        Val::Tuple(parts) => parts.get(index).map_or(Val::Other, |iv| Val::Num(*iv)),
                        _ => Val::Other,
                    };
                    self.bind(pat, part);
                }
            }
            Pat::Type(t) => self.bind(&t.pat, value),
            _ => {}
        }
    }

    fn name(&self, name: &str) -> Val {
        for scope in self.env.scopes.iter().rev() {
            if let Some(value) = scope.get(name) {
                return value.clone();
            }
        }
        if let Some(iv) = self.env.states.get(name) {
            return Val::Num(*iv);
        }
        if let Some(value) = self.hypers.get(name) {
            return value.clone();
        }
        // a group state named `step` was found above; `rows` and `cols` too when the spec
        // declares them
        match name {
            "step" => Val::Num(Iv::new(1.0, f64::INFINITY)),
            "numel" | "ndim" | "rows" | "cols" => Val::Num(Iv::NON_NEGATIVE),
            "inf" => Val::Num(Iv::new(f64::INFINITY, f64::INFINITY)),
            // `param`, `grad`, and names lowering refuses
            _ => Val::Other,
        }
    }

    /// `target = rhs` or `target op= rhs`: a `let mut` binding or a state takes the value.
    fn assign(&mut self, target: &Expr, op: Option<&BinOp>, rhs: &Expr) -> Val {
        let value = self.expr(rhs);
        let Expr::Path(path) = strip(target) else { return Val::Other };
        let Some(ident) = path.path.get_ident() else { return Val::Other };
        let name = ident.to_string();
        let value = match op {
            Some(op) => Val::Num(arithmetic(op, self.name(&name).num(), value.num())),
            None => value,
        };
        if let Some(slot) = self.env.scopes.iter_mut().rev().find_map(|scope| scope.get_mut(&name)) {
            *slot = value;
        } else if let Some(slot) = self.env.states.get_mut(&name) {
            let iv = value.num();
            if self.candidates.contains(&name) && !iv.non_negative() {
                self.failed.insert(name);
            }
            *slot = iv;
        }
        Val::Other
    }

    /// A construct not walked (a loop): every name it assigns may hold anything afterwards.
    fn havoc(&mut self, visit: impl FnOnce(&mut Assigned)) {
        let mut assigned = Assigned::default();
        visit(&mut assigned);
        for name in assigned.names {
            if let Some(slot) = self.env.scopes.iter_mut().rev().find_map(|scope| scope.get_mut(&name)) {
                *slot = Val::Other;
            } else if let Some(slot) = self.env.states.get_mut(&name) {
                *slot = Iv::TOP;
                if self.candidates.contains(&name) {
                    self.failed.insert(name);
                }
            }
        }
    }

    pub fn expr(&mut self, e: &Expr) -> Val {
        match e {
            Expr::Lit(lit) => match &lit.lit {
                syn::Lit::Float(f) => f.base10_parse().map_or(Val::Other, |v| Val::Num(Iv::literal(v))),
                syn::Lit::Int(i) => i.base10_parse().map_or(Val::Other, |v| Val::Num(Iv::literal(v))),
                _ => Val::Other,
            },
            Expr::Path(path) => path.path.get_ident().map_or(Val::Other, |ident| self.name(&ident.to_string())),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Unary(u) => {
                let inner = self.expr(&u.expr);
                match u.op {
                    UnOp::Neg(_) => Val::Num(inner.num().neg()),
                    _ => Val::Other,
                }
            }
            Expr::Binary(b) => self.binary(e, b),
            Expr::Assign(a) => self.assign(&a.left, None, &a.right),
            Expr::Call(call) => {
                let name = match &*call.func {
                    Expr::Path(path) => path.path.get_ident().map(ToString::to_string),
                    _ => None,
                };
                let args: Vec<&Expr> = call.args.iter().collect();
                self.call(name.as_deref(), &args)
            }
            Expr::MethodCall(m) => {
                let args: Vec<&Expr> = std::iter::once(&*m.receiver).chain(&m.args).collect();
                self.call(Some(&m.method.to_string()), &args)
            }
            Expr::If(i) => self.if_expr(i),
            Expr::Block(b) => self.block(&b.block.stmts),
            Expr::Field(f) => match (self.expr(&f.base), &f.member) {
                (Val::Tuple(parts), syn::Member::Unnamed(index)) => {
                    parts.get(index.index as usize).map_or(Val::Other, |iv| Val::Num(*iv))
                }
                _ => Val::Other,
            },
            Expr::ForLoop(l) => {
                self.expr(&l.expr);
                self.havoc(|a| a.visit_block(&l.body));
                Val::Other
            }
            other => {
                self.havoc(|a| a.visit_expr(other));
                Val::Other
            }
        }
    }

    /// A block's statements in a scope of their own, then its value.
    fn block(&mut self, stmts: &[Stmt]) -> Val {
        self.env.scopes.push(HashMap::new());
        let value = match stmts.split_last() {
            Some((Stmt::Expr(tail, None), rest)) => {
                self.statements(rest);
                self.expr(tail)
            }
            _ => {
                self.statements(stmts);
                Val::Other
            }
        };
        self.env.scopes.pop();
        value
    }

    /// `if c { a } else { b }`, as a value or a statement: each branch from a copy of the
    /// environment, then what either leaves.
    fn if_expr(&mut self, i: &syn::ExprIf) -> Val {
        self.expr(&i.cond);
        let before = self.env.clone();
        let then = self.block(&i.then_branch.stmts);
        let after_then = std::mem::replace(&mut self.env, before);
        let otherwise = match &i.else_branch {
            Some((_, e)) => self.expr(e),
            None => Val::Other,
        };
        self.env = std::mem::take(&mut self.env).join(&after_then);
        then.join(&otherwise)
    }

    fn binary(&mut self, whole: &Expr, b: &syn::ExprBinary) -> Val {
        if matches!(b.op, BinOp::AddAssign(_) | BinOp::SubAssign(_) | BinOp::MulAssign(_) | BinOp::DivAssign(_)) {
            return self.assign(&b.left, Some(&b.op), &b.right);
        }
        if let Some(value) = self.lerp_form(whole, b).or_else(|| self.product_with_squares(whole, b)) {
            return value;
        }
        let (left, right) = (self.expr(&b.left), self.expr(&b.right));
        match b.op {
            BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_) | BinOp::Div(_) => {
                Val::Num(arithmetic(&b.op, left.num(), right.num()))
            }
            // comparisons and `&&` / `||`: bools
            _ => Val::Other,
        }
    }

    /// `a + (b - a) * w` (or `a + w * (b - a)`), with the same `a` twice: `lerp(a, b, w)` as
    /// the runtime's formula below one half computes it (SparseAdam's moments).
    fn lerp_form(&mut self, whole: &Expr, b: &syn::ExprBinary) -> Option<Val> {
        let (BinOp::Add(_), Expr::Binary(product)) = (&b.op, strip(&b.right)) else { return None };
        let BinOp::Mul(_) = product.op else { return None };
        let start = text(&b.left);
        let difference = |e: &Expr| match strip(e) {
            Expr::Binary(d) if matches!(d.op, BinOp::Sub(_)) && text(&d.right) == start => Some(d.left.clone()),
            _ => None,
        };
        let (end, weight) = match (difference(&product.left), difference(&product.right)) {
            (Some(end), _) => (end, &product.right),
            (None, Some(end)) => (end, &product.left),
            (None, None) => return None,
        };
        // a value computed twice is the same value only when nothing in between assigns
        if !pure(whole) {
            return None;
        }
        let (start, end, weight) = (self.expr(&b.left).num(), self.expr(&end).num(), self.expr(weight).num());
        Some(Val::Num(Iv::lerp(start, end, weight)))
    }

    /// A product whose factors include the same value twice (`(1 - b2) * g * g`): each such
    /// pair is a square, never negative. The product is taken in another order than the
    /// runtime's, so its ends are loosened; its sign does not depend on the order.
    fn product_with_squares(&mut self, whole: &Expr, b: &syn::ExprBinary) -> Option<Val> {
        let BinOp::Mul(_) = b.op else { return None };
        let mut factors = Vec::new();
        collect_factors(whole, &mut factors);
        let texts: Vec<String> = factors.iter().map(|f| text(f)).collect();
        let paired = texts.iter().enumerate().any(|(i, t)| texts[..i].contains(t));
        if !paired || !pure(whole) {
            return None;
        }
        let values: Vec<Iv> = factors.iter().map(|f| self.expr(f).num()).collect();
        let mut used = vec![false; factors.len()];
        let mut product = Iv::literal(1.0);
        for i in 0..factors.len() {
            if used[i] {
                continue;
            }
            used[i] = true;
            let twin = (i + 1..factors.len()).find(|&j| !used[j] && texts[j] == texts[i]);
            let term = match twin {
                Some(j) => {
                    used[j] = true;
                    values[i].square()
                }
                None => values[i],
            };
            product = product.mul_unrounded(term);
        }
        Some(Val::Num(product.loosen()))
    }

    /// The DSL's functions (lowering's `FUNCTIONS` and `MATRIX_FUNCTIONS`); any other name,
    /// arity or argument kind is unknown.
    fn call(&mut self, name: Option<&str>, args: &[&Expr]) -> Val {
        let values: Vec<Val> = args.iter().map(|arg| self.expr(arg)).collect();
        let n = |index: usize| values.get(index).map_or(Iv::TOP, Val::num);
        let iv = match (name.unwrap_or_default(), values.len()) {
            ("sqrt", 1) => n(0).sqrt(),
            ("abs", 1) => n(0).abs(),
            ("exp", 1) => n(0).exp(),
            ("ln", 1) => n(0).ln(),
            ("sign", 1) => n(0).sign(),
            ("min", 2) => n(0).min(n(1)),
            ("max", 2) => n(0).max(n(1)),
            ("pow", 2) => n(0).pow(n(1)),
            // the runtime's `clamp` is `max(low)` then `min(high)`
            ("clamp", 3) => n(0).max(n(1)).min(n(2)),
            ("lerp", 3) => Iv::lerp(n(0), n(1), n(2)),
            ("select", 3) => n(1).hull(n(2)),
            ("round_f32" | "round_bf16", 1) => n(0).settle(),
            ("sum" | "mean" | "row_mean" | "col_mean" | "group_sum" | "group_sum_f32", 1) => n(0).sum_sign(),
            ("norm" | "group_norm", 1) => Iv::NON_NEGATIVE,
            // the largest element of a tensor that has elements; an empty tensor's `-inf` is
            // seen only by its own code, which has no elements to store
            ("amax", 1) => n(0),
            // a group whose stepping tensors are all empty gives `-inf`, which a group state
            // keeps for the group's later steps
            ("group_amax", 1) => Iv::new(f64::NEG_INFINITY, n(0).hi),
            ("transpose", 1) => n(0),
            ("unwrap_or", 2) => match &values[0] {
                Val::Optional(set) => set.hull(n(1)),
                _ => Iv::TOP,
            },
            // `matmul` and `is_some` / `is_none` (bools)
            _ => return Val::Other,
        };
        Val::Num(iv)
    }
}

fn arithmetic(op: &BinOp, left: Iv, right: Iv) -> Iv {
    match op {
        BinOp::Add(_) | BinOp::AddAssign(_) => left.add(right),
        BinOp::Sub(_) | BinOp::SubAssign(_) => left.sub(right),
        BinOp::Mul(_) | BinOp::MulAssign(_) => left.mul(right),
        BinOp::Div(_) | BinOp::DivAssign(_) => left.div(right),
        _ => Iv::TOP,
    }
}

/// The factors of `a * b * c`, through parentheses, left to right.
fn collect_factors<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match strip(e) {
        Expr::Binary(b) if matches!(b.op, BinOp::Mul(_)) => {
            collect_factors(&b.left, out);
            collect_factors(&b.right, out);
        }
        other => out.push(other),
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        Expr::Group(g) => strip(&g.expr),
        _ => e,
    }
}

/// An expression's tokens, to tell two writings of the same value.
fn text(e: &Expr) -> String {
    strip(e).to_token_stream().to_string()
}

/// Whether nothing in `e` assigns (or could: a macro is opaque).
fn pure(e: &Expr) -> bool {
    let mut assigned = Assigned::default();
    assigned.visit_expr(e);
    assigned.names.is_empty() && !assigned.opaque
}

/// The names a piece of syntax assigns.
#[derive(Default)]
struct Assigned {
    names: Vec<String>,
    opaque: bool,
}

impl Assigned {
    fn target(&mut self, target: &Expr) {
        match strip(target) {
            Expr::Path(path) => self.names.extend(path.path.get_ident().map(ToString::to_string)),
            _ => self.opaque = true,
        }
    }
}

impl<'ast> Visit<'ast> for Assigned {
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        self.target(&a.left);
        syn::visit::visit_expr_assign(self, a);
    }

    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        if matches!(b.op, BinOp::AddAssign(_) | BinOp::SubAssign(_) | BinOp::MulAssign(_) | BinOp::DivAssign(_)) {
            self.target(&b.left);
        }
        syn::visit::visit_expr_binary(self, b);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.opaque = true;
        syn::visit::visit_macro(self, m);
    }
}
