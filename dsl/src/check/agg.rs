//! Aggregates over lists and `match` over enums.

use crate::ast::{self, AggKind, Pattern};
use crate::diagnostic::Diagnostic;
use crate::ir::{EnumId, Expr};
use crate::source::Span;

use super::ty::Ty;
use super::{Checker, Typed, list_names};

impl Checker<'_> {
    pub(super) fn aggregate(&mut self, a: &ast::Aggregate, span: Span) -> Typed {
        let kind = a.kind.as_str();
        let list = self.expr(&a.list, None);
        let elem = match list.ty.elem() {
            Some(t) => t,
            None => {
                let shown = self.show(&list.ty);
                self.report(
                    Diagnostic::new(
                        "E0201",
                        a.list.span,
                        format!("`{kind}` goes through a list, found `{shown}`"),
                    )
                    .with_help(format!(
                        "write `{kind}({} in LIST ...)` with a list such as `family.members`",
                        a.var.name
                    )),
                );
                Ty::Error
            }
        };
        let n = match (&a.n, a.kind) {
            (Some(n), AggKind::SumTop) => {
                let t = self.expr(n, Some(&Ty::Int));
                self.expect(&t, &Ty::Int, n.span, "the count of `sum_top`");
                Some(t.id)
            }
            (Some(n), _) => {
                self.report(
                    Diagnostic::new(
                        "E0207",
                        n.span,
                        format!("`{kind}` takes no count before its variable"),
                    )
                    .with_help("only `sum_top(n, x in list: value)` takes a count"),
                );
                self.expr(n, None);
                None
            }
            (None, AggKind::SumTop) => {
                self.report(
                    Diagnostic::new(
                        "E0207",
                        a.kind_span,
                        "`sum_top` needs the number of values to add",
                    )
                    .with_help(format!("write `sum_top(4, {} in ...: value)`", a.var.name)),
                );
                None
            }
            (None, _) => None,
        };
        let mark = self.frame.mark();
        let var = self.frame.bind(&a.var, elem.clone(), true);
        let filter = a.filter.as_ref().map(|f| {
            let t = self.expr(f, Some(&Ty::Bool));
            self.expect(
                &t,
                &Ty::Bool,
                f.span,
                &format!("the `where` condition of `{kind}`"),
            );
            t.id
        });
        let (body, ty) = self.agg_body(a, &elem);
        self.frame.reset(mark);
        self.push(
            Expr::Agg {
                kind: a.kind,
                var,
                list: list.id,
                n,
                filter,
                body,
            },
            ty,
            span,
        )
    }

    /// Checks the value after `:` and works out the aggregate's type.
    fn agg_body(&mut self, a: &ast::Aggregate, elem: &Ty) -> (Option<crate::ir::ExprId>, Ty) {
        let kind = a.kind.as_str();
        match a.kind {
            AggKind::Count | AggKind::Filter => {
                if let Some(body) = &a.body {
                    self.report(
                        Diagnostic::new(
                            "E0207",
                            body.span,
                            format!("`{kind}` takes no value after `:`"),
                        )
                        .with_help(format!(
                            "put the condition after `where`: `{kind}({} in ... where condition)`",
                            a.var.name
                        )),
                    );
                    self.expr(body, None);
                }
                let ty = if a.kind == AggKind::Count {
                    Ty::Int
                } else {
                    Ty::list(elem.clone())
                };
                (None, ty)
            }
            AggKind::Any | AggKind::All => {
                let body = match &a.body {
                    Some(body) => {
                        let t = self.expr(body, Some(&Ty::Bool));
                        self.expect(
                            &t,
                            &Ty::Bool,
                            body.span,
                            &format!("the condition of `{kind}`"),
                        );
                        Some(t.id)
                    }
                    None if a.kind == AggKind::All => {
                        self.report(
                            Diagnostic::new(
                                "E0207",
                                a.kind_span,
                                "`all` needs a condition after `:`",
                            )
                            .with_help(format!("write `all({} in ...: condition)`", a.var.name)),
                        );
                        None
                    }
                    None => None,
                };
                (body, Ty::Bool)
            }
            AggKind::Sum | AggKind::Min | AggKind::Max | AggKind::SumTop => {
                match &a.body {
                    Some(body) => {
                        let t = self.expr(body, None);
                        if t.ty.is_numeric() {
                            (Some(t.id), t.ty)
                        } else {
                            let shown = self.show(&t.ty);
                            self.report(Diagnostic::new(
                            "E0201",
                            body.span,
                            format!("the value of `{kind}` must be `int` or `money`, found `{shown}`"),
                        ));
                            (Some(t.id), Ty::Error)
                        }
                    }
                    None => {
                        self.report(
                            Diagnostic::new(
                                "E0207",
                                a.kind_span,
                                format!("`{kind}` needs a value after `:`"),
                            )
                            .with_help(format!("write `{kind}({} in ...: value)`", a.var.name)),
                        );
                        (None, Ty::Error)
                    }
                }
            }
        }
    }

    pub(super) fn match_expr(
        &mut self,
        scrutinee: &ast::Expr,
        arms: &[ast::MatchArm],
        span: Span,
        expected: Option<&Ty>,
    ) -> Typed {
        let s = self.expr(scrutinee, None);
        let enum_id = match &s.ty {
            Ty::Enum(e) => Some(*e),
            Ty::Error => None,
            other => {
                let shown = self.show(other);
                self.report(
                    Diagnostic::new(
                        "E0201",
                        scrutinee.span,
                        format!("`match` needs an enum value, found `{shown}`"),
                    )
                    .with_help("use `if ... then ... else ...` for other values"),
                );
                None
            }
        };
        let count = enum_id
            .and_then(|e| self.program.schema.enums.get(e.index()))
            .map_or(0, |d| d.variants.len());
        let mut covered: Vec<Option<(u32, Span)>> = vec![None; count];
        let mut wildcard: Option<Span> = None;
        let mut ids = Vec::new();
        let mut ty: Option<(Ty, Span)> = None;
        for (arm_index, arm) in arms.iter().enumerate() {
            let arm_index = arm_index as u32;
            for p in &arm.patterns {
                self.pattern(p, enum_id, arm_index, &mut covered, &mut wildcard);
            }
            let hint = ty
                .as_ref()
                .map(|(t, _)| t.clone())
                .or_else(|| expected.cloned());
            let body = self.expr(&arm.body, hint.as_ref());
            match &ty {
                Some((first, first_span)) if !first.agrees(&body.ty) => {
                    let (a, b) = (self.show(first), self.show(&body.ty));
                    let mut d = Diagnostic::new(
                        "E0201",
                        arm.body.span,
                        format!(
                            "the arms of `match` must have the same type, found `{a}` and `{b}`"
                        ),
                    )
                    .with_label(*first_span, format!("this is `{a}`"));
                    if let Some(help) = self.money_help(first, &body) {
                        d = d.with_help(help);
                    }
                    self.report(d);
                }
                Some((first, _)) if first.has_error() => {
                    ty = Some((body.ty.clone(), arm.body.span))
                }
                Some(_) => {}
                None => ty = Some((body.ty.clone(), arm.body.span)),
            }
            ids.push(body.id);
        }
        if let Some(e) = enum_id {
            let def = self.program.schema.enums.get(e.index());
            let missing: Vec<String> = covered
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_none())
                .filter_map(|(i, _)| def.and_then(|d| d.variants.get(i)).map(|v| v.name.clone()))
                .collect();
            if !missing.is_empty() {
                let name = def.map_or("", |d| d.name.as_str());
                let qualified: Vec<String> =
                    missing.iter().map(|m| format!("{name}.{m}")).collect();
                self.report(
                    Diagnostic::new(
                        "E0205",
                        scrutinee.span,
                        format!("this `match` does not cover {}", list_names(&qualified)),
                    )
                    .with_help(format!(
                        "add an arm for {} or a `_ => ...` arm for the rest",
                        if missing.len() == 1 { "it" } else { "each" }
                    )),
                );
            }
        }
        let by_variant = covered
            .iter()
            .map(|c| c.map_or(0, |(arm, _)| arm))
            .collect();
        let ty = ty.map_or(Ty::Error, |(t, _)| t);
        self.push(
            Expr::Match {
                scrutinee: s.id,
                by_variant,
                arms: ids,
            },
            ty,
            span,
        )
    }

    fn pattern(
        &mut self,
        p: &Pattern,
        enum_id: Option<EnumId>,
        arm: u32,
        covered: &mut [Option<(u32, Span)>],
        wildcard: &mut Option<Span>,
    ) {
        match p {
            Pattern::Wildcard(span) => {
                if let Some(first) = *wildcard {
                    self.report(
                        Diagnostic::new("E0206", *span, "a second `_` in this `match`").with_label(
                            first,
                            "the first `_` already matches every remaining variant",
                        ),
                    );
                    return;
                }
                *wildcard = Some(*span);
                let mut reachable = false;
                for slot in covered.iter_mut().filter(|s| s.is_none()) {
                    *slot = Some((arm, *span));
                    reachable = true;
                }
                if !reachable && let Some(e) = enum_id {
                    let name = self.show(&Ty::Enum(e));
                    self.report(
                        Diagnostic::new("W0004", *span, "this `_` can never be reached")
                            .with_help(format!("every variant of `{name}` is already matched above; remove this arm")),
                    );
                }
            }
            Pattern::Variant { enum_name, variant } => {
                if let Some(en) = enum_name {
                    self.refer_item(en);
                }
                let Some(e) = enum_id else { return };
                let name = self.show(&Ty::Enum(e));
                if let Some(en) = enum_name
                    && en.name != name
                {
                    let variants: Vec<String> = self
                        .program
                        .schema
                        .enums
                        .get(e.index())
                        .map(|d| d.variants.iter().map(|v| v.name.clone()).collect())
                        .unwrap_or_default();
                    self.report(
                        Diagnostic::new(
                            "E0201",
                            en.span,
                            format!("this `match` is over `{name}`, not `{}`", en.name),
                        )
                        .with_help(format!(
                            "the variants of `{name}` are {}",
                            list_names(&variants)
                        )),
                    );
                    return;
                }
                let Some(index) = self.variant_index(e, variant) else {
                    return;
                };
                if let Some(w) = *wildcard {
                    self.report(
                        Diagnostic::new(
                            "E0206",
                            variant.span,
                            format!("`{}` comes after `_`", variant.name),
                        )
                        .with_label(w, "`_` already matches every remaining variant")
                        .with_help("move this arm above the `_` arm"),
                    );
                    return;
                }
                match covered.get_mut(index as usize) {
                    Some(Some((_, first))) => {
                        let first = *first;
                        self.report(
                            Diagnostic::new(
                                "E0206",
                                variant.span,
                                format!("variant `{}` is matched twice", variant.name),
                            )
                            .with_label(first, "first matched here"),
                        );
                    }
                    Some(slot) => *slot = Some((arm, variant.span)),
                    None => {}
                }
            }
        }
    }
}
