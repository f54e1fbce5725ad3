//! Expressions to documents.
//!
//! Parentheses are printed exactly where the tree has an
//! [`ExprKind::Paren`]: the parser keeps them, so the tree already says
//! where the author's grouping is, and printing it back needs none added.

use crate::ast::{BinaryOp, Expr, ExprKind, IfArm, MatchArm, Pattern, UnaryOp};

use super::doc::Doc;
use super::{INDENT, Printer, group_digits, int, quote};

impl Printer<'_> {
    /// An expression with the comments before it and the end-of-line
    /// comment after it.
    pub(super) fn expr(&mut self, e: &Expr) -> Doc {
        self.expr_hanging(e, 0)
    }

    /// An expression whose own continuation lines (those of an `and`/`or`
    /// chain or an `if` at its top) are indented `hang` further than its
    /// first line: `require a` / `  and b`.
    pub(super) fn expr_hanging(&mut self, e: &Expr, hang: usize) -> Doc {
        let mut parts = self.leading(e.span.start as usize);
        parts.push(self.expr_kind(e, hang));
        parts.extend(self.trailing(self.code_end(e.span)));
        Doc::concat(parts)
    }

    fn expr_kind(&mut self, e: &Expr, hang: usize) -> Doc {
        // Where the closing bracket of a call, list, aggregate, match or
        // parenthesis is: comments before it stay inside.
        let close = self.code_end(e.span).saturating_sub(1);
        match &e.kind {
            ExprKind::Int(n) => Doc::text(int(*n)),
            ExprKind::Money(n) => Doc::text(format!("Rp {}", group_digits(*n, '_'))),
            ExprKind::Text(s) => Doc::text(quote(s, false)),
            ExprKind::Bool(b) => Doc::text(if *b { "true" } else { "false" }),
            ExprKind::Date(d) => Doc::text(d.to_string()),
            ExprKind::Name(name) => Doc::text(name.name.clone()),
            ExprKind::Field(base, field) => {
                Doc::concat(vec![self.expr(base), Doc::text(format!(".{}", field.name))])
            }
            ExprKind::Call(name, args) => {
                let args = args.iter().map(|a| self.expr(a)).collect();
                let dangling = self.dangling(close);
                bracketed(&format!("{}(", name.name), args, dangling, ")", None)
            }
            ExprKind::Unary(op, operand) => {
                let op = match op {
                    UnaryOp::Not => "not ",
                    UnaryOp::Neg => "-",
                };
                Doc::concat(vec![Doc::text(op), self.expr(operand)])
            }
            ExprKind::Binary(op, _, _) if breaks_before(*op) => {
                self.chain(op.precedence(), e, hang)
            }
            ExprKind::Binary(op, lhs, rhs) => Doc::concat(vec![
                self.expr(lhs),
                Doc::text(format!(" {} ", op.as_str())),
                self.expr(rhs),
            ]),
            ExprKind::If(arms, otherwise) => self.if_chain(arms, otherwise, hang),
            // Never in a file that parsed without errors; kept as written.
            ExprKind::Invalid => Doc::text(
                self.source
                    .get(e.span.range())
                    .unwrap_or_default()
                    .to_string(),
            ),
            ExprKind::Match(scrutinee, arms) => self.match_expr(e, scrutinee, arms, close),
            ExprKind::Aggregate(agg) => {
                let mut inner = vec![Doc::SoftLine];
                if let Some(n) = &agg.n {
                    inner.extend([self.expr(n), Doc::text(","), Doc::Line]);
                }
                inner.push(Doc::text(format!("{} in ", agg.var.name)));
                inner.push(self.expr(&agg.list));
                if let Some(filter) = &agg.filter {
                    inner.extend([
                        Doc::Line,
                        Doc::text("where "),
                        self.expr_hanging(filter, INDENT),
                    ]);
                }
                if let Some(body) = &agg.body {
                    inner.extend([
                        Doc::SoftLine,
                        Doc::text(": "),
                        self.expr_hanging(body, INDENT),
                    ]);
                }
                inner.extend(self.dangling(close));
                Doc::group(Doc::concat(vec![
                    Doc::text(format!("{}(", agg.kind.as_str())),
                    Doc::nest(INDENT, Doc::concat(inner)),
                    Doc::SoftLine,
                    Doc::text(")"),
                ]))
            }
            ExprKind::List(items) => {
                let items = items.iter().map(|i| self.expr(i)).collect();
                let dangling = self.dangling(close);
                bracketed("[", items, dangling, "]", Some(","))
            }
            ExprKind::Range(lo, hi) => {
                Doc::concat(vec![self.expr(lo), Doc::text(".."), self.expr(hi)])
            }
            ExprKind::Paren(inner) => {
                let doc = self.expr(inner);
                // Only what can itself take several lines may open the
                // parentheses up; `(\n  a ?? b\n)` would help nobody.
                if matches!(
                    inner.kind,
                    ExprKind::Binary(BinaryOp::And | BinaryOp::Or, ..) | ExprKind::If(..)
                ) {
                    let dangling = Doc::concat(self.dangling(close));
                    Doc::group(Doc::concat(vec![
                        Doc::text("("),
                        Doc::nest(INDENT, Doc::concat(vec![Doc::SoftLine, doc, dangling])),
                        Doc::SoftLine,
                        Doc::text(")"),
                    ]))
                } else {
                    Doc::concat(vec![Doc::text("("), doc, Doc::text(")")])
                }
            }
        }
    }

    /// `a and b and c` (or `a + b - c`, ...): one group, so that either all
    /// operands share the line or each gets its own, the operator leading.
    fn chain(&mut self, precedence: u8, e: &Expr, hang: usize) -> Doc {
        let mut operands = Vec::new();
        let first = flatten(e, precedence, &mut operands);
        // An operand that is itself a chain (an `and` chain inside an `or`
        // chain) indents its own continuation lines one level further.
        let first = self.expr_hanging(first, INDENT);
        let mut rest = Vec::new();
        for (op, operand) in operands {
            rest.push(Doc::Line);
            // A comment before the operator stays before it.
            rest.extend(self.leading(operand.span.start as usize));
            rest.push(Doc::text(format!("{} ", op.as_str())));
            rest.push(self.expr_hanging(operand, INDENT));
        }
        Doc::group(Doc::concat(vec![first, Doc::nest(hang, Doc::concat(rest))]))
    }

    /// `if a then b else c` on one line when it fits; an `else if` chain
    /// always has one branch per line.
    fn if_chain(&mut self, arms: &[IfArm], otherwise: &Expr, hang: usize) -> Doc {
        let Some((head, rest)) = arms.split_first() else {
            return self.expr(otherwise);
        };
        let first = Doc::concat(vec![
            Doc::text("if "),
            self.expr_hanging(&head.cond, INDENT),
            Doc::text(" then "),
            self.expr(&head.then),
        ]);
        let mut parts = Vec::new();
        for arm in rest {
            parts.push(Doc::HardLine);
            parts.extend(self.leading(arm.span.start as usize));
            parts.extend([
                Doc::text("else if "),
                self.expr_hanging(&arm.cond, INDENT),
                Doc::text(" then "),
                self.expr(&arm.then),
            ]);
        }
        parts.push(if rest.is_empty() {
            Doc::Line
        } else {
            Doc::HardLine
        });
        parts.extend(self.leading(otherwise.span.start as usize));
        parts.extend([Doc::text("else "), self.expr(otherwise)]);
        Doc::group(Doc::concat(vec![
            first,
            Doc::nest(hang, Doc::concat(parts)),
        ]))
    }

    /// `match x { A => 1, B => 2 }` stays on one line when it was written
    /// on one line and fits (as an enum does); otherwise one arm per line.
    fn match_expr(&mut self, e: &Expr, scrutinee: &Expr, arms: &[MatchArm], close: usize) -> Doc {
        let written_on_one_line = self
            .source
            .get(e.span.start as usize..self.code_end(e.span))
            .is_none_or(|s| !s.contains('\n'));
        let mut inner = Vec::new();
        for (i, arm) in arms.iter().enumerate() {
            if i > 0 {
                inner.push(Doc::text(","));
            }
            inner.push(if written_on_one_line {
                Doc::Line
            } else {
                Doc::HardLine
            });
            inner.extend(self.leading(arm.span.start as usize));
            let patterns: Vec<String> = arm
                .patterns
                .iter()
                .map(|p| match p {
                    Pattern::Wildcard(_) => "_".to_string(),
                    Pattern::Variant {
                        enum_name: Some(e),
                        variant,
                    } => format!("{}.{}", e.name, variant.name),
                    Pattern::Variant {
                        enum_name: None,
                        variant,
                    } => variant.name.clone(),
                })
                .collect();
            inner.push(Doc::text(format!("{} => ", patterns.join(" | "))));
            inner.push(self.expr(&arm.body));
        }
        inner.push(Doc::IfBreak(","));
        inner.extend(self.dangling(close));
        Doc::group(Doc::concat(vec![
            Doc::text("match "),
            self.expr(scrutinee),
            Doc::text(" {"),
            Doc::nest(INDENT, Doc::concat(inner)),
            Doc::Line,
            Doc::text("}"),
        ]))
    }
}

/// Whether a line may break before `op` when the expression is too long:
/// everything but the comparisons, whose two sides read as one.
fn breaks_before(op: BinaryOp) -> bool {
    !matches!(
        op,
        BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::NotIn
    )
}

/// Splits a left-nested chain of operators of one precedence into its first
/// operand and the (operator, operand) pairs that follow. Operands in
/// parentheses are single operands: the tree has a `Paren` there.
fn flatten<'e>(e: &'e Expr, precedence: u8, out: &mut Vec<(BinaryOp, &'e Expr)>) -> &'e Expr {
    match &e.kind {
        ExprKind::Binary(op, lhs, rhs) if op.precedence() == precedence => {
            let first = flatten(lhs, precedence, out);
            out.push((*op, rhs));
            first
        }
        _ => e,
    }
}

/// `open a, b, c close`, or, when that does not fit, one element per line
/// with `trailing` after the last.
pub(super) fn bracketed(
    open: &str,
    items: Vec<Doc>,
    dangling: Vec<Doc>,
    close: &str,
    trailing: Option<&'static str>,
) -> Doc {
    if items.is_empty() && dangling.is_empty() {
        return Doc::text(format!("{open}{close}"));
    }
    let had_items = !items.is_empty();
    // Dangling comments bring their own line breaks.
    let mut inner = if had_items {
        vec![Doc::SoftLine]
    } else {
        Vec::new()
    };
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            inner.extend([Doc::text(","), Doc::Line]);
        }
        inner.push(item);
    }
    if let Some(t) = trailing.filter(|_| had_items) {
        inner.push(Doc::IfBreak(t));
    }
    inner.extend(dangling);
    Doc::group(Doc::concat(vec![
        Doc::text(open),
        Doc::nest(INDENT, Doc::concat(inner)),
        Doc::SoftLine,
        Doc::text(close),
    ]))
}
