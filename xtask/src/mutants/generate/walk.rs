//! The walk over one parsed Solidity file that proposes the single-point changes: one
//! [`Draft`] per place an operator applies, in source order. Ids are given afterwards by
//! [`super::finish`].

use std::ops::Range;

use solar_parse::ast::{
    self, BinOpKind, CallArgsKind, ElementaryType, Expr, ExprKind, FunctionKind, IndexKind,
    ItemKind, LitKind, Stmt, StmtKind, TypeKind, UnOpKind,
};
use solar_parse::interface::source_map::SourceMap;
use solar_parse::interface::SpannedOption;

use super::{Draft, Operator};

pub(super) struct Walker<'a> {
    map: &'a SourceMap,
    source: &'a str,
    contract: String,
    function: String,
    drafts: Vec<Draft>,
}

impl<'a> Walker<'a> {
    pub(super) fn new(map: &'a SourceMap, source: &'a str) -> Self {
        Walker {
            map,
            source,
            contract: String::new(),
            function: String::new(),
            drafts: Vec::new(),
        }
    }

    /// The drafts found so far, in source order.
    pub(super) fn into_drafts(self) -> Vec<Draft> {
        self.drafts
    }
    fn range(&self, span: solar_parse::interface::Span) -> Option<Range<usize>> {
        self.map
            .span_to_range(span)
            .ok()
            .filter(|r| r.end <= self.source.len())
    }

    fn text(&self, span: solar_parse::interface::Span) -> Option<&str> {
        self.range(span).map(|r| &self.source[r])
    }

    fn push(&mut self, operator: Operator, range: Range<usize>, replacement: impl Into<String>) {
        self.drafts.push(Draft {
            contract: self.contract.clone(),
            function: self.function.clone(),
            operator,
            range,
            replacement: replacement.into(),
        });
    }

    fn push_span(
        &mut self,
        operator: Operator,
        span: solar_parse::interface::Span,
        replacement: impl Into<String>,
    ) {
        if let Some(range) = self.range(span) {
            self.push(operator, range, replacement);
        }
    }

    pub(super) fn item(&mut self, item: &ast::Item<'_>) {
        match &item.kind {
            ItemKind::Contract(contract) => {
                self.contract = contract.name.name.as_str().to_owned();
                for inner in contract.body.iter() {
                    self.item(inner);
                }
                self.contract.clear();
            }
            ItemKind::Function(function) => self.function(function),
            ItemKind::Variable(var) => {
                if let Some(init) = &var.initializer {
                    let kind = if var.mutability == Some(ast::VarMut::Constant) {
                        "constant"
                    } else {
                        "variable"
                    };
                    let name = var
                        .name
                        .map(|n| n.name.as_str().to_owned())
                        .unwrap_or_default();
                    self.function = format!("{kind} {name}");
                    self.expr(init);
                    self.function.clear();
                }
            }
            _ => {}
        }
    }

    fn function(&mut self, function: &ast::ItemFunction<'_>) {
        let Some(body) = &function.body else { return };
        self.function = match function.kind {
            FunctionKind::Constructor => "constructor".to_owned(),
            FunctionKind::Fallback => "fallback".to_owned(),
            FunctionKind::Receive => "receive".to_owned(),
            FunctionKind::Function | FunctionKind::Modifier => function
                .header
                .name
                .map(|n| n.name.as_str().to_owned())
                .unwrap_or_default(),
        };
        if function.kind == FunctionKind::Function && !body.stmts.is_empty() {
            if let Some(ret) = self.early_return(&function.header) {
                if let Some(open) = self.range(body.span) {
                    // Right after the body's `{`.
                    let at = open.start + 1;
                    self.push(Operator::EarlyReturn, at..at, format!(" {ret}"));
                }
            }
        }
        for stmt in body.stmts.iter() {
            self.stmt(stmt);
        }
        self.function.clear();
    }

    /// `return;` when the function returns nothing; its named returns (still zero); zero values
    /// for unnamed elementary return types; `None` otherwise (unnamed structs, arrays, enums).
    fn early_return(&self, header: &ast::FunctionHeader<'_>) -> Option<String> {
        let returns = header.returns();
        if returns.is_empty() {
            return Some("return;".to_owned());
        }
        // Named returns: return them as they are (zero; solc wants them spelled out).
        if returns.iter().all(|v| v.name.is_some()) {
            let names: Vec<String> = returns
                .iter()
                .filter_map(|v| v.name.map(|n| n.name.as_str().to_owned()))
                .collect();
            return Some(if names.len() == 1 {
                format!("return {};", names[0])
            } else {
                format!("return ({});", names.join(", "))
            });
        }
        let mut values = Vec::new();
        for var in returns {
            let TypeKind::Elementary(ty) = &var.ty.kind else {
                return None;
            };
            values.push(match ty {
                ElementaryType::Bool => "false".to_owned(),
                ElementaryType::Address(_) => "address(0)".to_owned(),
                ElementaryType::Int(_) | ElementaryType::UInt(_) => "0".to_owned(),
                ElementaryType::FixedBytes(_) => format!("{}(0)", self.text(var.ty.span)?),
                ElementaryType::String | ElementaryType::Bytes => "\"\"".to_owned(),
                _ => return None,
            });
        }
        Some(if values.len() == 1 {
            format!("return {};", values[0])
        } else {
            format!("return ({});", values.join(", "))
        })
    }

    fn stmt(&mut self, stmt: &Stmt<'_>) {
        match &stmt.kind {
            StmtKind::Block(block) | StmtKind::UncheckedBlock(block) => {
                for s in block.stmts.iter() {
                    self.stmt(s);
                }
            }
            StmtKind::Expr(expr) => self.expr_stmt(stmt, expr),
            StmtKind::DeclSingle(var) => {
                if let Some(init) = &var.initializer {
                    self.expr(init);
                }
            }
            StmtKind::DeclMulti(_, expr) => self.expr(expr),
            StmtKind::If(cond, then, otherwise) => {
                let is_guard = otherwise.is_none() && is_revert(then);
                if is_guard {
                    self.push_span(Operator::RemoveGuard, cond.span, "false");
                }
                self.negate(cond);
                self.expr(cond);
                self.stmt(then);
                if let Some(otherwise) = otherwise {
                    self.stmt(otherwise);
                }
            }
            StmtKind::While(cond, body) | StmtKind::DoWhile(body, cond) => {
                self.negate(cond);
                self.expr(cond);
                self.stmt(body);
            }
            StmtKind::For {
                init, cond, body, ..
            } => {
                // Loop headers: comparisons and literals only (a negated loop condition is an
                // endless loop more often than a defect).
                if let Some(init) = init {
                    if let StmtKind::DeclSingle(var) = &init.kind {
                        if let Some(e) = &var.initializer {
                            self.expr(e);
                        }
                    }
                }
                if let Some(cond) = cond {
                    self.expr(cond);
                }
                self.stmt(body);
            }
            StmtKind::Return(Some(expr)) => self.expr(expr),
            StmtKind::Try(t) => {
                // The call itself stays; its arguments and the clauses are mutated.
                if let ExprKind::Call(callee, args) = &t.expr.kind {
                    self.expr(callee);
                    self.args(args);
                }
                for clause in t.clauses.iter() {
                    for s in clause.block.stmts.iter() {
                        self.stmt(s);
                    }
                }
            }
            // Events and revert data only change what is logged; assembly is Yul.
            StmtKind::Emit(..)
            | StmtKind::Revert(..)
            | StmtKind::Assembly(_)
            | StmtKind::Return(None)
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Placeholder => {}
        }
    }

    fn expr_stmt(&mut self, stmt: &Stmt<'_>, expr: &Expr<'_>) {
        match &expr.kind {
            ExprKind::Call(callee, args) if is_named(callee, "require") => {
                self.push_span(Operator::RemoveGuard, stmt.span, "{}");
                if let CallArgsKind::Unnamed(list) = &args.kind {
                    if let Some(cond) = list.first() {
                        self.negate(cond);
                        self.expr(cond);
                    }
                }
                return;
            }
            ExprKind::Assign(..) | ExprKind::Delete(_) => {
                self.push_span(Operator::DeleteAssignment, stmt.span, "{}");
            }
            ExprKind::Unary(op, _)
                if matches!(
                    op.kind,
                    UnOpKind::PreInc | UnOpKind::PreDec | UnOpKind::PostInc | UnOpKind::PostDec
                ) =>
            {
                self.push_span(Operator::DeleteAssignment, stmt.span, "{}");
            }
            ExprKind::Call(..) => {
                self.push_span(Operator::DeleteCall, stmt.span, "{}");
            }
            _ => {}
        }
        self.expr(expr);
    }

    fn negate(&mut self, cond: &Expr<'_>) {
        if matches!(cond.kind, ExprKind::Lit(..)) {
            return;
        }
        if let Some(text) = self.text(cond.span) {
            let replacement = format!("!({text})");
            self.push_span(Operator::NegateCondition, cond.span, replacement);
        }
    }

    fn args(&mut self, args: &ast::CallArgs<'_>) {
        match &args.kind {
            CallArgsKind::Unnamed(list) => {
                for a in list.iter() {
                    self.expr(a);
                }
            }
            CallArgsKind::Named(list) => {
                for a in list.iter() {
                    self.expr(a.value);
                }
            }
        }
    }

    fn expr(&mut self, expr: &Expr<'_>) {
        match &expr.kind {
            ExprKind::Binary(left, op, right) => {
                self.binary(expr, left, op, right);
                self.expr(left);
                self.expr(right);
            }
            ExprKind::Assign(_, Some(op), right) => {
                if let Some(swapped) = swap_binary(op.kind) {
                    self.push_span(Operator::BinaryOp, op.span, format!("{swapped}="));
                }
                self.expr(right);
            }
            ExprKind::Assign(_, None, right) => self.expr(right),
            ExprKind::Call(callee, args) => {
                self.call(expr, callee, args);
                self.expr(callee);
                self.args(args);
            }
            ExprKind::Ternary(cond, a, b) => {
                if self.min_max_ternary(cond, a, b).is_none() {
                    self.negate(cond);
                }
                self.expr(cond);
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Lit(lit, _) => self.literal(lit),
            ExprKind::Unary(_, inner) | ExprKind::Member(inner, _) => self.expr(inner),
            ExprKind::Index(base, index) => {
                self.expr(base);
                match index {
                    IndexKind::Index(Some(i)) => self.expr(i),
                    IndexKind::Range(a, b) => {
                        if let Some(a) = a {
                            self.expr(a);
                        }
                        if let Some(b) = b {
                            self.expr(b);
                        }
                    }
                    IndexKind::Index(None) => {}
                }
            }
            ExprKind::Tuple(items) => {
                for item in items.iter() {
                    if let SpannedOption::Some(e) = item {
                        self.expr(e);
                    }
                }
            }
            ExprKind::Array(items) => {
                for e in items.iter() {
                    self.expr(e);
                }
            }
            ExprKind::CallOptions(inner, named) => {
                self.expr(inner);
                for a in named.iter() {
                    self.expr(a.value);
                }
            }
            ExprKind::Payable(args) => self.args(args),
            ExprKind::Delete(_)
            | ExprKind::Ident(_)
            | ExprKind::New(_)
            | ExprKind::TypeCall(_)
            | ExprKind::Type(_)
            | ExprKind::Err(_) => {}
        }
    }

    fn binary(&mut self, whole: &Expr<'_>, left: &Expr<'_>, op: &ast::BinOp, right: &Expr<'_>) {
        use BinOpKind::*;
        let comparison = match op.kind {
            Lt => Some("<="),
            Le => Some("<"),
            Gt => Some(">="),
            Ge => Some(">"),
            Eq => Some("!="),
            Ne => Some("=="),
            _ => None,
        };
        if let Some(to) = comparison {
            self.push_span(Operator::Comparison, op.span, to);
            return;
        }
        if op.kind == Div {
            // Floor division becomes ceiling division.
            if let (Some(l), Some(r)) = (self.text(left.span), self.text(right.span)) {
                let replacement = format!("(({l}) + ({r}) - 1) / ({r})");
                self.push_span(Operator::Rounding, whole.span, replacement);
            }
            return;
        }
        if let Some(to) = swap_binary(op.kind) {
            self.push_span(Operator::BinaryOp, op.span, to);
        }
    }

    fn call(&mut self, whole: &Expr<'_>, callee: &Expr<'_>, args: &ast::CallArgs<'_>) {
        let name = match &callee.kind {
            ExprKind::Ident(ident) => Some(*ident),
            ExprKind::Member(_, ident) => Some(*ident),
            _ => None,
        };
        let Some(name) = name else { return };
        match name.name.as_str() {
            "mulDiv" => self.push_span(Operator::Rounding, name.span, "mulDivUp"),
            "mulDivUp" => self.push_span(Operator::Rounding, name.span, "mulDiv"),
            which @ ("min" | "max") => {
                let CallArgsKind::Unnamed(list) = &args.kind else {
                    return;
                };
                if list.len() != 2 {
                    return;
                }
                let (Some(a), Some(b)) = (self.text(list[0].span), self.text(list[1].span)) else {
                    return;
                };
                // The other one, written out: the library may not define it.
                let cmp = if which == "min" { ">" } else { "<" };
                let replacement = format!("(({a}) {cmp} ({b}) ? ({a}) : ({b}))");
                self.push_span(Operator::MinMax, whole.span, replacement);
            }
            _ => {}
        }
    }

    /// `a < b ? a : b` (and the other orders): the branches swapped turn min into max.
    fn min_max_ternary(&mut self, cond: &Expr<'_>, a: &Expr<'_>, b: &Expr<'_>) -> Option<()> {
        let ExprKind::Binary(l, op, r) = &cond.peel_parens().kind else {
            return None;
        };
        if !matches!(
            op.kind,
            BinOpKind::Lt | BinOpKind::Le | BinOpKind::Gt | BinOpKind::Ge
        ) {
            return None;
        }
        let (l, r, a_text, b_text) = (
            self.text(l.span)?.trim().to_owned(),
            self.text(r.span)?.trim().to_owned(),
            self.text(a.span)?.trim().to_owned(),
            self.text(b.span)?.trim().to_owned(),
        );
        let picks_operands = (a_text == l && b_text == r) || (a_text == r && b_text == l);
        if !picks_operands {
            return None;
        }
        let a_range = self.range(a.span)?;
        let b_range = self.range(b.span)?;
        let replacement = format!(
            "{}{}{}",
            b_text,
            &self.source[a_range.end..b_range.start],
            a_text
        );
        self.push(Operator::MinMax, a_range.start..b_range.end, replacement);
        Some(())
    }

    fn literal(&mut self, lit: &ast::Lit<'_>) {
        match &lit.kind {
            LitKind::Bool(value) => {
                self.push_span(Operator::Literal, lit.span, (!value).to_string());
            }
            LitKind::Number(value) => {
                let Some(text) = self.text(lit.span).map(str::to_owned) else {
                    return;
                };
                if text.starts_with("0x") || text.starts_with("0X") {
                    return; // addresses, selectors, masks
                }
                if let Some(replacement) = changed_number(&text, *value) {
                    self.push_span(Operator::Literal, lit.span, replacement);
                }
            }
            _ => {}
        }
    }
}

/// 0 -> 1, 1 -> 0, a power of ten -> a tenth of it (one decimal off), any other n -> n + 1
/// (off by one: a bps value, a divisor, a count).
fn changed_number(text: &str, value: alloy::primitives::U256) -> Option<String> {
    use alloy::primitives::U256;
    if value == U256::ZERO {
        return Some("1".into());
    }
    if value == U256::from(1) {
        return Some("0".into());
    }
    let ten = U256::from(10);
    let mut k = 0u32;
    let mut v = value;
    while v % ten == U256::ZERO {
        v /= ten;
        k += 1;
    }
    if v == U256::from(1) && k >= 1 {
        let tenth = value / ten;
        return Some(if text.contains('e') || text.contains('E') {
            format!("1e{}", k - 1)
        } else if text.contains('_') {
            with_underscores(&tenth.to_string())
        } else {
            tenth.to_string()
        });
    }
    let next = value.checked_add(U256::from(1))?;
    Some(if text.contains('_') {
        with_underscores(&next.to_string())
    } else {
        next.to_string()
    })
}

fn with_underscores(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

fn swap_binary(kind: BinOpKind) -> Option<&'static str> {
    use BinOpKind::*;
    Some(match kind {
        Add => "-",
        Sub => "+",
        Mul => "/",
        Div => "*",
        Rem => "*",
        Pow => "*",
        And => "||",
        Or => "&&",
        BitAnd => "|",
        BitOr => "&",
        BitXor => "&",
        Shl => ">>",
        Shr => "<<",
        _ => return None,
    })
}

fn is_named(callee: &Expr<'_>, name: &str) -> bool {
    matches!(&callee.kind, ExprKind::Ident(ident) if ident.name.as_str() == name)
}

/// A `revert ...;` or a block holding only one.
fn is_revert(stmt: &Stmt<'_>) -> bool {
    match &stmt.kind {
        StmtKind::Revert(..) => true,
        StmtKind::Block(block) => block.stmts.len() == 1 && is_revert(&block.stmts[0]),
        StmtKind::Expr(expr) => {
            matches!(&expr.kind, ExprKind::Call(callee, _) if is_named(callee, "revert"))
        }
        _ => false,
    }
}
