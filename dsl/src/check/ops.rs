//! Operators: `not`, `-`, `and`, `or`, comparisons, `in`, `??` and
//! arithmetic.

use crate::ast::{self, BinaryOp, ExprKind, UnaryOp};
use crate::diagnostic::Diagnostic;
use crate::ir::{ArithOp, CmpOp, Expr};
use crate::source::Span;

use super::scope::{ItemKind, Lookup};
use super::ty::Ty;
use super::{Checker, Typed};

impl Checker<'_> {
    pub(super) fn unary(&mut self, op: UnaryOp, operand: &ast::Expr, span: Span) -> Typed {
        match op {
            UnaryOp::Not => {
                let x = self.expr(operand, Some(&Ty::Bool));
                self.expect(&x, &Ty::Bool, operand.span, "the operand of `not`");
                self.push(Expr::Not(x.id), Ty::Bool, span)
            }
            UnaryOp::Neg => {
                let x = self.expr(operand, None);
                if !x.ty.is_numeric() {
                    let shown = self.show(&x.ty);
                    self.report(
                        Diagnostic::new(
                            "E0203",
                            span,
                            format!("cannot negate a value of type `{shown}`"),
                        )
                        .with_help("`-` works on `int` and `money`"),
                    );
                    return self.error_expr(span);
                }
                let ty = x.ty.clone();
                self.push(Expr::Neg(x.id), ty, span)
            }
        }
    }

    pub(super) fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: Span,
    ) -> Typed {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let a = self.expr(lhs, Some(&Ty::Bool));
                self.expect(
                    &a,
                    &Ty::Bool,
                    lhs.span,
                    &format!("the left side of `{}`", op.as_str()),
                );
                let b = self.expr(rhs, Some(&Ty::Bool));
                self.expect(
                    &b,
                    &Ty::Bool,
                    rhs.span,
                    &format!("the right side of `{}`", op.as_str()),
                );
                let e = if op == BinaryOp::And {
                    Expr::And(a.id, b.id)
                } else {
                    Expr::Or(a.id, b.id)
                };
                self.push(e, Ty::Bool, span)
            }
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => self.compare(op, lhs, rhs, span),
            BinaryOp::In | BinaryOp::NotIn => {
                self.membership(op == BinaryOp::NotIn, lhs, rhs, span)
            }
            BinaryOp::Coalesce => self.coalesce(lhs, rhs, span),
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                self.arith(op, lhs, rhs, span)
            }
        }
    }

    /// E0203 `cannot apply` with both sides labelled by their types.
    fn cannot_apply(
        &mut self,
        op: BinaryOp,
        (a, lhs): (&Typed, &ast::Expr),
        (b, rhs): (&Typed, &ast::Expr),
        span: Span,
        help: &str,
    ) {
        let (x, y) = (self.show(&a.ty), self.show(&b.ty));
        self.report(
            Diagnostic::new(
                "E0203",
                span,
                format!("cannot apply `{}` to `{x}` and `{y}`", op.as_str()),
            )
            .with_label(lhs.span, format!("this is `{x}`"))
            .with_label(rhs.span, format!("this is `{y}`"))
            .with_help(help),
        );
    }

    /// E0203 for an operator whose two sides do not go together.
    fn mismatch(
        &mut self,
        op: BinaryOp,
        a: &Typed,
        b: &Typed,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: Span,
    ) {
        let (x, y) = (self.show(&a.ty), self.show(&b.ty));
        let message = match op {
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => {
                format!("cannot compare `{x}` with `{y}`")
            }
            _ => format!("cannot apply `{}` to `{x}` and `{y}`", op.as_str()),
        };
        let mut d = Diagnostic::new("E0203", span, message)
            .with_label(lhs.span, format!("this is `{x}`"))
            .with_label(rhs.span, format!("this is `{y}`"));
        let help = match (&a.ty, &b.ty) {
            (Ty::Money, Ty::Int) => self.money_help(&Ty::Money, b),
            (Ty::Int, Ty::Money) => self.money_help(&Ty::Money, a),
            _ => None,
        };
        if let Some(help) = help {
            d = d.with_help(help);
        }
        self.report(d);
    }

    fn compare(&mut self, op: BinaryOp, lhs: &ast::Expr, rhs: &ast::Expr, span: Span) -> Typed {
        let a = self.expr(lhs, None);
        let b = self.expr(rhs, Some(&a.ty));
        let cmp = match op {
            BinaryOp::Eq => CmpOp::Eq,
            BinaryOp::Ne => CmpOp::Ne,
            BinaryOp::Lt => CmpOp::Lt,
            BinaryOp::Le => CmpOp::Le,
            BinaryOp::Gt => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        if !a.ty.agrees(&b.ty) {
            self.mismatch(op, &a, &b, lhs, rhs, span);
        } else {
            let ty = a.ty.clone().or(b.ty.clone());
            let ordering = !matches!(cmp, CmpOp::Eq | CmpOp::Ne);
            let ok = if ordering {
                matches!(ty, Ty::Int | Ty::Money | Ty::Date | Ty::Error)
            } else {
                ty.is_scalar()
            };
            if !ok {
                let shown = self.show(&ty);
                let help = if ordering {
                    "`<`, `<=`, `>` and `>=` work on `int`, `money` and `date`"
                } else {
                    "`==` and `!=` work on `bool`, `int`, `money`, `text`, `date` and enums; test a list with `in` or an aggregate"
                };
                self.report(
                    Diagnostic::new(
                        "E0203",
                        span,
                        format!("`{}` cannot compare values of type `{shown}`", op.as_str()),
                    )
                    .with_help(help),
                );
            }
        }
        self.push(
            Expr::Compare {
                op: cmp,
                lhs: a.id,
                rhs: b.id,
            },
            Ty::Bool,
            span,
        )
    }

    fn membership(&mut self, negated: bool, lhs: &ast::Expr, rhs: &ast::Expr, span: Span) -> Typed {
        let value = self.expr(lhs, None);
        let word = if negated { "not in" } else { "in" };
        match &rhs.kind {
            ExprKind::Range(lo, hi) => {
                let lo_t = self.expr(lo, Some(&Ty::Int));
                self.expect(&lo_t, &Ty::Int, lo.span, "the start of a range");
                let hi_t = self.expr(hi, Some(&Ty::Int));
                self.expect(&hi_t, &Ty::Int, hi.span, "the end of a range");
                if !value.ty.agrees(&Ty::Int) {
                    let shown = self.show(&value.ty);
                    self.report(
                        Diagnostic::new(
                            "E0203",
                            lhs.span,
                            format!("a range holds `int` values, but this is `{shown}`"),
                        )
                        .with_label(rhs.span, "this range"),
                    );
                }
                return self.push(
                    Expr::InRange {
                        value: value.id,
                        lo: lo_t.id,
                        hi: hi_t.id,
                        negated,
                    },
                    Ty::Bool,
                    span,
                );
            }
            ExprKind::Name(name) if self.frame.lookup(&name.name).is_none() => {
                if let Lookup::Found(ItemKind::Table(table)) = self.lookup(&name.name) {
                    self.refer_item(name);
                    self.uses_mut().tables.insert(table);
                    if !value.ty.agrees(&Ty::Text) {
                        let shown = self.show(&value.ty);
                        self.report(
                            Diagnostic::new(
                                "E0203",
                                lhs.span,
                                format!(
                                    "table `{}` holds `text` codes, but this is `{shown}`",
                                    name.name
                                ),
                            )
                            .with_label(rhs.span, "this table"),
                        );
                    }
                    return self.push(
                        Expr::InTable {
                            value: value.id,
                            table,
                            negated,
                        },
                        Ty::Bool,
                        span,
                    );
                }
            }
            _ => {}
        }
        let list = self.expr(rhs, Some(&Ty::list(value.ty.clone())));
        match list.ty.elem() {
            Some(elem) if elem.agrees(&value.ty) => {
                if !value.ty.is_scalar() {
                    let shown = self.show(&value.ty);
                    self.report(
                        Diagnostic::new("E0203", lhs.span, format!("`{word}` cannot look for a value of type `{shown}`"))
                            .with_help("`in` compares with `==`, which works on `bool`, `int`, `money`, `text`, `date` and enums"),
                    );
                }
            }
            Some(_) => self.mismatch_in(word, &value, &list, lhs, rhs, span),
            None => {
                let shown = self.show(&list.ty);
                self.report(
                    Diagnostic::new(
                        "E0203",
                        rhs.span,
                        format!("the right of `{word}` must be a list, a range or a table, found `{shown}`"),
                    )
                    .with_help("write `x in [a, b]`, `x in 1..4` or `code in TABLE`"),
                );
            }
        }
        self.push(
            Expr::InList {
                value: value.id,
                list: list.id,
                negated,
            },
            Ty::Bool,
            span,
        )
    }

    fn mismatch_in(
        &mut self,
        word: &str,
        value: &Typed,
        list: &Typed,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: Span,
    ) {
        let (v, l) = (self.show(&value.ty), self.show(&list.ty));
        let mut d = Diagnostic::new("E0203", span, format!("cannot look for `{v}` in `{l}`"))
            .with_label(lhs.span, format!("this is `{v}`"))
            .with_label(rhs.span, format!("this is `{l}`"));
        d = d.with_help(format!(
            "the value on the left of `{word}` must have the type of the list's elements"
        ));
        self.report(d);
    }

    fn coalesce(&mut self, lhs: &ast::Expr, rhs: &ast::Expr, span: Span) -> Typed {
        let value = self.expr(lhs, None);
        let default = self.expr(rhs, Some(&value.ty));
        if !value.ty.agrees(&default.ty) {
            let (v, g) = (self.show(&value.ty), self.show(&default.ty));
            let mut d = Diagnostic::new(
                "E0201",
                rhs.span,
                format!("the default of `??` must be `{v}` like its left side, found `{g}`"),
            )
            .with_label(lhs.span, format!("this is `{v}`"));
            if let Some(help) = self.money_help(&value.ty, &default) {
                d = d.with_help(help);
            }
            self.report(d);
        } else {
            self.never_missing_default(&value, lhs, rhs);
        }
        let ty = value.ty.clone().or(default.ty.clone());
        self.push(
            Expr::Coalesce {
                value: value.id,
                default: default.id,
            },
            ty,
            span,
        )
    }

    fn arith(&mut self, op: BinaryOp, lhs: &ast::Expr, rhs: &ast::Expr, span: Span) -> Typed {
        let a = self.expr(lhs, None);
        let b = self.expr(rhs, None);
        let arith = match op {
            BinaryOp::Add => ArithOp::Add,
            BinaryOp::Sub => ArithOp::Sub,
            BinaryOp::Mul => ArithOp::Mul,
            BinaryOp::Div => ArithOp::Div,
            _ => ArithOp::Rem,
        };
        let ty = match (arith, &a.ty, &b.ty) {
            (_, Ty::Error, _) | (_, _, Ty::Error) => Some(Ty::Error),
            (_, Ty::Int, Ty::Int) => Some(Ty::Int),
            (ArithOp::Add | ArithOp::Sub, Ty::Money, Ty::Money) => Some(Ty::Money),
            (ArithOp::Mul, Ty::Money, Ty::Int) | (ArithOp::Mul, Ty::Int, Ty::Money) => {
                Some(Ty::Money)
            }
            (ArithOp::Div | ArithOp::Rem, Ty::Money, Ty::Int) => Some(Ty::Money),
            _ => None,
        };
        let Some(ty) = ty else {
            if matches!((&a.ty, &b.ty), (Ty::Money, Ty::Money)) {
                self.cannot_apply(
                    op,
                    (&a, lhs),
                    (&b, rhs),
                    span,
                    "an amount can be multiplied or divided by an `int`, not by another amount",
                );
            } else if matches!(
                (arith, &a.ty, &b.ty),
                (ArithOp::Div | ArithOp::Rem, Ty::Int, Ty::Money)
            ) {
                self.report(
                    Diagnostic::new(
                        "E0203",
                        span,
                        format!("cannot apply `{}` to `int` and `money`", op.as_str()),
                    )
                    .with_label(lhs.span, "this is `int`")
                    .with_label(rhs.span, "this is `money`")
                    .with_help("divide an amount by an `int`: `amount / 2`"),
                );
            } else if a.ty.is_numeric() && b.ty.is_numeric() {
                self.mismatch(op, &a, &b, lhs, rhs, span);
            } else {
                self.cannot_apply(
                    op,
                    (&a, lhs),
                    (&b, rhs),
                    span,
                    "arithmetic works on `int` and `money`",
                );
            }
            return self.error_expr(span);
        };
        self.push(
            Expr::Arith {
                op: arith,
                lhs: a.id,
                rhs: b.id,
            },
            ty,
            span,
        )
    }
}
