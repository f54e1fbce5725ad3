//! Expressions: literals, names, fields, lists and `if`; the entry point
//! [`Checker::expr`] that the other expression modules hang off.

use crate::ast::{self, ExprKind, Ident};
use crate::diagnostic::Diagnostic;
use crate::ir::{EnumId, Expr, Lit};
use crate::source::Span;

use super::decls::group;
use super::scope::{BUILTIN_FUNCTIONS, ItemKind, Lookup};
use super::ty::Ty;
use super::{Checker, Owner, Typed, did_you_mean, list_names};

impl Checker<'_> {
    /// Checks and elaborates an expression. `expected` is the type the
    /// context wants, when it knows; it only serves to type an empty list
    /// `[]`, and the caller still checks the result.
    pub(super) fn expr(&mut self, e: &ast::Expr, expected: Option<&Ty>) -> Typed {
        match &e.kind {
            ExprKind::Int(n) => self.push(Expr::Lit(Lit::Int(*n)), Ty::Int, e.span),
            ExprKind::Money(n) => self.push(Expr::Lit(Lit::Money(*n)), Ty::Money, e.span),
            ExprKind::Text(t) => self.push(Expr::Lit(Lit::Text(t.clone())), Ty::Text, e.span),
            ExprKind::Bool(b) => self.push(Expr::Lit(Lit::Bool(*b)), Ty::Bool, e.span),
            ExprKind::Date(d) => self.push(Expr::Lit(Lit::Date(*d)), Ty::Date, e.span),
            ExprKind::Name(name) => self.name(name, e.span),
            ExprKind::Field(base, field) => self.field(base, field, e.span),
            ExprKind::Call(name, args) => self.call(name, args, e.span),
            ExprKind::Unary(op, operand) => self.unary(*op, operand, e.span),
            ExprKind::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs, e.span),
            ExprKind::If(arms, else_) => self.if_expr(arms, else_, e.span, expected),
            ExprKind::Match(scrutinee, arms) => self.match_expr(scrutinee, arms, e.span, expected),
            ExprKind::Aggregate(agg) => self.aggregate(agg, e.span),
            ExprKind::List(items) => self.list(items, e.span, expected),
            ExprKind::Range(lo, hi) => {
                self.report(
                    Diagnostic::new(
                        "E0209",
                        e.span,
                        "a range can only be used on the right of `in`",
                    )
                    .with_help(format!(
                        "test a number against it: `x in {}`",
                        self.snippet(e.span)
                    )),
                );
                self.expr(lo, None);
                self.expr(hi, None);
                self.error_expr(e.span)
            }
            ExprKind::Paren(inner) => self.expr(inner, expected),
            // The parser has reported it.
            ExprKind::Invalid => self.error_expr(e.span),
        }
    }

    /// Adds an expression to the arena.
    pub(super) fn push(&mut self, e: Expr, ty: Ty, span: Span) -> Typed {
        let id = crate::ir::ExprId(self.program.exprs.len() as u32);
        self.program.exprs.push(e);
        self.program.types.push(ty.to_ir());
        self.program.spans.push(span);
        Typed { id, ty }
    }

    /// A stand-in for an expression that could not be checked.
    pub(super) fn error_expr(&mut self, span: Span) -> Typed {
        let t = self.push(Expr::Lit(Lit::Bool(false)), Ty::Error, span);
        self.errors.insert(t.id);
        t
    }

    fn is_subject(&self, name: &str) -> bool {
        self.items
            .get(name)
            .is_some_and(|i| matches!(i.kind, ItemKind::Subject(_)))
    }

    /// Reports E0201 unless `got` agrees with `want`. `what` names the
    /// place: "the condition of `if`".
    pub(super) fn expect(&mut self, got: &Typed, want: &Ty, span: Span, what: &str) -> bool {
        if got.ty.agrees(want) {
            return true;
        }
        let (g, w) = (self.show(&got.ty), self.show(want));
        let mut d = Diagnostic::new("E0201", span, format!("{what} must be `{w}`, found `{g}`"));
        if let Some(help) = self.money_help(want, got) {
            d = d.with_help(help);
        }
        self.report(d);
        false
    }

    /// The int literal an expression is, if it is one.
    pub(super) fn int_lit(&self, t: &Typed) -> Option<i64> {
        match self.program.expr(t.id) {
            Some(Expr::Lit(Lit::Int(n))) => Some(*n),
            _ => None,
        }
    }

    /// Help for mixing `int` and `money`, where `got` was given and `want`
    /// was needed.
    pub(super) fn money_help(&self, want: &Ty, got: &Typed) -> Option<String> {
        match (want, &got.ty) {
            (Ty::Money, Ty::Int) => Some(match self.int_lit(got) {
                Some(n) => format!("amounts are `money`: write the amount as `Rp {}`", group(n)),
                None => "amounts are `money`, and an `int` is not an amount; multiply it by an amount such as `Rp 1`"
                    .to_string(),
            }),
            (Ty::Int, Ty::Money) => Some("`money` and `int` do not mix; compare an amount with an amount such as `Rp 0`".to_string()),
            _ => None,
        }
    }

    fn name(&mut self, name: &Ident, span: Span) -> Typed {
        if let Some((id, local)) = self.frame.lookup(&name.name) {
            let (ty, subject, decl) = (local.ty.clone(), local.subject, local.span);
            if subject {
                self.refer_item(name);
            } else {
                self.refer(name.span, decl);
            }
            return self.push(Expr::Local(id), ty, span);
        }
        if name.name == "as_of" {
            return self.push(Expr::AsOf, Ty::Date, span);
        }
        self.refer_item(name);
        let d = match self.lookup(&name.name) {
            Lookup::Found(ItemKind::Param(p)) => {
                self.uses_mut().params.insert(p);
                let ty = self.param_tys.get(p.index()).cloned().unwrap_or(Ty::Error);
                return self.push(Expr::Param(p), ty, span);
            }
            Lookup::Found(ItemKind::Def(d)) => {
                self.uses_mut().defs.push((d, name.span));
                let arity = self.sigs.get(d.index()).map_or(0, |s| s.params.len());
                let args = vec!["..."; arity].join(", ");
                Diagnostic::new(
                    "E0109",
                    name.span,
                    format!("`{}` is a definition, not a value", name.name),
                )
                .with_help(format!("call it: `{}({args})`", name.name))
            }
            Lookup::Found(ItemKind::Table(t)) => {
                self.uses_mut().tables.insert(t);
                Diagnostic::new(
                    "E0109",
                    name.span,
                    format!(
                        "table `{}` can only be used on the right of `in`",
                        name.name
                    ),
                )
                .with_help(format!("test a code against it: `code in {}`", name.name))
            }
            Lookup::Found(ItemKind::Enum(e)) => {
                let first = self
                    .program
                    .schema
                    .enums
                    .get(e.index())
                    .and_then(|d| d.variants.first())
                    .map_or_else(|| "variant".to_string(), |v| v.name.clone());
                Diagnostic::new(
                    "E0109",
                    name.span,
                    format!("`{}` is an enum, not a value", name.name),
                )
                .with_help(format!("name one of its variants: `{}.{first}`", name.name))
            }
            Lookup::Found(ItemKind::Subject(_)) if self.poisoned => return self.error_expr(span),
            Lookup::Found(ItemKind::Subject(_)) => {
                let help = match self.owner {
                    Owner::Def(_) => format!(
                        "a definition sees only its parameters; pass `{}` in as one",
                        name.name
                    ),
                    _ => format!(
                        "only the subjects from the root down to the one this ruleset runs `for each` are in scope; reach `{}` through an aggregate",
                        name.name
                    ),
                };
                Diagnostic::new(
                    "E0109",
                    name.span,
                    format!("subject `{}` is not in scope here", name.name),
                )
                .with_help(help)
            }
            Lookup::Found(kind) => Diagnostic::new(
                "E0109",
                name.span,
                format!("`{}` is {}, not a value", name.name, kind.describe()),
            ),
            Lookup::Hidden(_) if self.poisoned && self.is_subject(&name.name) => {
                return self.error_expr(span);
            }
            Lookup::Hidden(f) => {
                self.report_hidden(name, f);
                return self.error_expr(span);
            }
            Lookup::Missing if BUILTIN_FUNCTIONS.contains(&name.name.as_str()) => Diagnostic::new(
                "E0109",
                name.span,
                format!("`{}` is a built-in function, not a value", name.name),
            )
            .with_help(format!("call it: `{}(...)`", name.name)),
            Lookup::Missing if self.frame.locals.iter().any(|l| l.name == name.name) => Diagnostic::new(
                "E0101",
                name.span,
                format!("cannot find `{}` in this scope", name.name),
            )
            .with_help(format!(
                "`{}` is bound elsewhere in this body: a `let` sees only the `let`s before it, and the variable of an aggregate or `for` only its own clauses",
                name.name
            )),
            Lookup::Missing => {
                self.name_site(name, false);
                let mut candidates = self.frame.names();
                candidates.extend(
                    self.visible_names(|k| matches!(k, ItemKind::Param(_) | ItemKind::Enum(_))),
                );
                candidates.push("as_of".into());
                self.not_defined(name, &candidates)
            }
        };
        self.report(d);
        self.error_expr(span)
    }

    fn field(&mut self, base: &ast::Expr, field: &Ident, span: Span) -> Typed {
        if let ExprKind::Name(n) = &base.kind
            && self.frame.lookup(&n.name).is_none()
            && let Lookup::Found(ItemKind::Enum(e)) = self.lookup(&n.name)
        {
            self.refer_item(n);
            return self.variant(e, field, span);
        }
        let b = self.expr(base, None);
        let (record, projected) = match &b.ty {
            Ty::Error => return self.error_expr(span),
            Ty::Record(r) => (*r, false),
            Ty::List(elem) if matches!(**elem, Ty::Record(_)) => match **elem {
                Ty::Record(r) => (r, true),
                _ => return self.error_expr(span),
            },
            other => {
                let shown = self.show(other);
                let mut d = Diagnostic::new(
                    "E0204",
                    field.span,
                    format!(
                        "cannot read field `{}` of a value of type `{shown}`",
                        field.name
                    ),
                )
                .with_label(base.span, format!("this is `{shown}`"));
                if matches!(other, Ty::List(_)) {
                    d = d.with_help(
                        "go through the elements with an aggregate: `any(x in list: ...)`",
                    );
                } else {
                    d = d.with_help("only records have fields");
                }
                self.report(d);
                return self.error_expr(span);
            }
        };
        self.index.field_sites.push((field.span, record));
        let found = self.field_of(record, &field.name);
        if let Some((_, info)) = &found {
            self.refer(field.span, info.span);
        }
        let Some((index, info)) = found else {
            if self.ignored_field(record, &field.name, field.span) {
                return self.error_expr(span);
            }
            let rname = self.show(&Ty::Record(record));
            let names: Vec<String> = self
                .fields
                .get(record.index())
                .map(|fs| fs.iter().map(|f| f.name.clone()).collect())
                .unwrap_or_default();
            let d = Diagnostic::new(
                "E0104",
                field.span,
                format!("record `{rname}` has no field `{}`", field.name),
            );
            let d = match did_you_mean(&field.name, names.iter().map(String::as_str)) {
                Some(name) => d.with_suggestion(name),
                None => d.with_help(format!(
                    "the fields of `{rname}` are {}",
                    list_names(&names)
                )),
            };
            self.report(d);
            return self.error_expr(span);
        };
        if projected {
            let (flatten, ty) = match &info.ty {
                Ty::List(_) => (true, info.ty.clone()),
                t => (false, Ty::list(t.clone())),
            };
            self.push(
                Expr::Project {
                    base: b.id,
                    field: index,
                    flatten,
                },
                ty,
                span,
            )
        } else {
            self.push(
                Expr::Field {
                    base: b.id,
                    field: index,
                },
                info.ty,
                span,
            )
        }
    }

    /// `Enum.variant`.
    fn variant(&mut self, e: EnumId, variant: &Ident, span: Span) -> Typed {
        match self.variant_index(e, variant) {
            Some(i) => self.push(Expr::Lit(Lit::Enum(e, i)), Ty::Enum(e), span),
            None => self.error_expr(span),
        }
    }

    /// The index of a variant, reporting E0105 when the enum has none of
    /// that name.
    pub(super) fn variant_index(&mut self, e: EnumId, variant: &Ident) -> Option<u32> {
        self.index.variant_sites.push((variant.span, e));
        let declared = self
            .enums
            .get(e.index())
            .and_then(|(_, d)| d.variants.iter().find(|v| v.name.name == variant.name))
            .map(|v| v.name.span);
        if let Some(decl) = declared {
            self.refer(variant.span, decl);
        }
        let def = self.program.schema.enums.get(e.index())?;
        if let Some(i) = def.variants.iter().position(|v| v.name == variant.name) {
            return Some(i as u32);
        }
        let names: Vec<&str> = def.variants.iter().map(|v| v.name.as_str()).collect();
        let d = Diagnostic::new(
            "E0105",
            variant.span,
            format!("enum `{}` has no variant `{}`", def.name, variant.name),
        );
        let d = match did_you_mean(&variant.name, names.iter().copied()) {
            Some(name) => d.with_suggestion(name),
            None => d.with_help(format!(
                "the variants of `{}` are {}",
                def.name,
                list_names(&names)
            )),
        };
        self.report(d);
        None
    }

    fn list(&mut self, items: &[ast::Expr], span: Span, expected: Option<&Ty>) -> Typed {
        let hint = expected.and_then(Ty::elem);
        let Some((first, rest)) = items.split_first() else {
            return match hint {
                Some(elem) => self.push(Expr::List(Vec::new()), Ty::list(elem), span),
                None => {
                    self.report(
                        Diagnostic::new("E0201", span, "cannot tell the element type of `[]`")
                            .with_help("use `[]` where its type is known, such as the default of `??` or the right of `in`"),
                    );
                    self.error_expr(span)
                }
            };
        };
        let head = self.expr(first, hint.as_ref());
        let elem = head.ty.clone();
        let mut ids = vec![head.id];
        let mut elem = elem.or(hint.unwrap_or(Ty::Error));
        for item in rest {
            let want = elem.clone();
            let t = self.expr(item, Some(&want));
            if !t.ty.agrees(&elem) {
                let (g, w) = (self.show(&t.ty), self.show(&elem));
                let mut d = Diagnostic::new(
                    "E0201",
                    item.span,
                    format!("the elements of a list must all be `{w}`, found `{g}`"),
                )
                .with_label(first.span, format!("this is `{w}`"));
                if let Some(help) = self.money_help(&elem, &t) {
                    d = d.with_help(help);
                }
                self.report(d);
            } else if elem.has_error() {
                elem = t.ty.clone();
            }
            ids.push(t.id);
        }
        self.push(Expr::List(ids), Ty::list(elem), span)
    }

    /// Every condition must be `bool` and every branch of the type of the
    /// first branch without an error.
    fn if_expr(
        &mut self,
        arms: &[ast::IfArm],
        else_: &ast::Expr,
        span: Span,
        expected: Option<&Ty>,
    ) -> Typed {
        let mut ids = Vec::with_capacity(arms.len());
        let mut first = None;
        for arm in arms {
            let c = self.expr(&arm.cond, Some(&Ty::Bool));
            self.expect(&c, &Ty::Bool, arm.cond.span, "the condition of `if`");
            let t = self.if_branch(&arm.then, &mut first, expected);
            ids.push((c.id, t.id));
        }
        let e = self.if_branch(else_, &mut first, expected);
        let ty = first.map_or(e.ty, |(f, _)| f.ty);
        self.push(
            Expr::If {
                arms: ids,
                else_: e.id,
            },
            ty,
            span,
        )
    }

    /// One branch of an `if`, checked against `first`, the first branch
    /// with a type (and where it is), which it becomes if there is none.
    fn if_branch(
        &mut self,
        branch: &ast::Expr,
        first: &mut Option<(Typed, Span)>,
        expected: Option<&Ty>,
    ) -> Typed {
        let hint = first.as_ref().map(|(f, _)| f.ty.clone());
        let t = self.expr(branch, hint.as_ref().or(expected));
        match first {
            None if !t.ty.has_error() => *first = Some((t.clone(), branch.span)),
            Some((f, f_span)) if !t.ty.agrees(&f.ty) => {
                let (a, b) = (self.show(&f.ty), self.show(&t.ty));
                let mut d = Diagnostic::new(
                    "E0201",
                    branch.span,
                    format!("the branches of `if` must have the same type, found `{a}` and `{b}`"),
                )
                .with_label(*f_span, format!("this is `{a}`"));
                if let Some(help) = self
                    .money_help(&f.ty, &t)
                    .or_else(|| self.money_help(&t.ty, f))
                {
                    d = d.with_help(help);
                }
                self.report(d);
            }
            _ => {}
        }
        t
    }
}
