//! Calls: user definitions, built-in functions and `present`.

use crate::ast::{self, Ident};
use crate::diagnostic::Diagnostic;
use crate::ir::{Builtin, DefId, Expr};
use crate::source::Span;

use super::scope::{BUILTIN_FUNCTIONS, ItemKind, Lookup};
use super::ty::Ty;
use super::{Checker, Typed, did_you_mean, plural};

/// A built-in function with a fixed signature.
fn builtin(name: &str) -> Option<(Builtin, &'static [Ty], Ty)> {
    Some(match name {
        "len" => (Builtin::Len, &[Ty::Text], Ty::Int),
        "is_digits" => (Builtin::IsDigits, &[Ty::Text], Ty::Bool),
        "slice" => (Builtin::Slice, &[Ty::Text, Ty::Int, Ty::Int], Ty::Text),
        "to_int" => (Builtin::ToInt, &[Ty::Text], Ty::Int),
        "starts_with" => (Builtin::StartsWith, &[Ty::Text, Ty::Text], Ty::Bool),
        "year" => (Builtin::Year, &[Ty::Date], Ty::Int),
        "month" => (Builtin::Month, &[Ty::Date], Ty::Int),
        "day" => (Builtin::Day, &[Ty::Date], Ty::Int),
        "is_date" => (Builtin::IsDate, &[Ty::Int, Ty::Int, Ty::Int], Ty::Bool),
        "date" => (Builtin::MakeDate, &[Ty::Int, Ty::Int, Ty::Int], Ty::Date),
        "years_between" => (Builtin::YearsBetween, &[Ty::Date, Ty::Date], Ty::Int),
        _ => return None,
    })
}

const AGGREGATES: &[&str] = &[
    "count", "any", "all", "sum", "min", "max", "sum_top", "filter",
];

impl Checker<'_> {
    pub(super) fn call(&mut self, name: &Ident, args: &[ast::Expr], span: Span) -> Typed {
        if name.name == "present" {
            return self.present(name, args, span);
        }
        if name.name == "max" || name.name == "min" {
            return self.extremum(name, args, span);
        }
        if let Some((op, params, ret)) = builtin(&name.name) {
            self.index.builtins.push(name.span);
            let params: Vec<(String, Ty)> = params
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("{}", i + 1), t.clone()))
                .collect();
            let ids = self.args(name, None, &params, args, span);
            return self.push(Expr::Builtin { op, args: ids }, ret, span);
        }
        if let Some((_, local)) = self.frame.lookup(&name.name) {
            let shown = self.show(&local.ty.clone());
            let d = Diagnostic::new(
                "E0106",
                name.span,
                format!(
                    "`{}` is a variable of type `{shown}`, not a function",
                    name.name
                ),
            );
            return self.bad_call(d, args, span);
        }
        self.refer_item(name);
        let d = match self.lookup(&name.name) {
            Lookup::Found(ItemKind::Def(def)) => return self.call_def(def, name, args, span),
            Lookup::Found(kind) => Diagnostic::new(
                "E0106",
                name.span,
                format!("`{}` is {}, not a function", name.name, kind.describe()),
            ),
            Lookup::Hidden(f) => {
                self.report_hidden(name, f);
                for a in args {
                    self.expr(a, None);
                }
                return self.error_expr(span);
            }
            Lookup::Missing => {
                self.name_site(name, true);
                let d = Diagnostic::new(
                    "E0106",
                    name.span,
                    format!("unknown function `{}`", name.name),
                );
                let mut candidates = self.visible_names(|k| matches!(k, ItemKind::Def(_)));
                candidates.extend(BUILTIN_FUNCTIONS.iter().map(|s| (*s).to_string()));
                match did_you_mean(&name.name, candidates.iter().map(String::as_str)) {
                    Some(name) => d.with_suggestion(name),
                    None if AGGREGATES.contains(&name.name.as_str()) => d.with_help(format!(
                        "aggregates name their variable: `{}(x in list where condition ...)`",
                        name.name
                    )),
                    None => d,
                }
            }
        };
        self.bad_call(d, args, span)
    }

    /// Reports a call that cannot be made, still checking its arguments.
    fn bad_call(&mut self, d: Diagnostic, args: &[ast::Expr], span: Span) -> Typed {
        self.report(d);
        for a in args {
            self.expr(a, None);
        }
        self.error_expr(span)
    }

    fn call_def(&mut self, def: DefId, name: &Ident, args: &[ast::Expr], span: Span) -> Typed {
        self.uses_mut().defs.push((def, name.span));
        let sig = self.sigs.get(def.index()).cloned().unwrap_or_default();
        let decl_span = self.defs.get(def.index()).map(|(_, d)| d.name.span);
        let ids = self.args(name, decl_span, &sig.params, args, span);
        let ret = sig.ret.unwrap_or(Ty::Error);
        self.push(Expr::Call { def, args: ids }, ret, span)
    }

    /// Checks arguments against parameters (named by position for built-in
    /// functions).
    fn args(
        &mut self,
        name: &Ident,
        decl: Option<Span>,
        params: &[(String, Ty)],
        args: &[ast::Expr],
        span: Span,
    ) -> Vec<crate::ir::ExprId> {
        if params.len() != args.len() {
            let mut d = Diagnostic::new(
                "E0202",
                span,
                format!(
                    "`{}` takes {} but {} given",
                    name.name,
                    plural(params.len(), "argument"),
                    if args.len() == 1 {
                        "1 was".to_string()
                    } else {
                        format!("{} were", args.len())
                    }
                ),
            );
            if let Some(decl) = decl {
                d = d.with_label(decl, format!("`{}` is defined here", name.name));
            }
            let sig: Vec<String> = params
                .iter()
                .map(|(p, t)| {
                    if decl.is_some() {
                        format!("{p}: {}", self.show(t))
                    } else {
                        self.show(t)
                    }
                })
                .collect();
            d = d.with_help(format!("call it as `{}({})`", name.name, sig.join(", ")));
            self.report(d);
        }
        let mut ids = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            let want = params.get(i).map(|(_, t)| t.clone());
            let t = self.expr(arg, want.as_ref());
            if let Some((pname, want)) = params.get(i) {
                let what = if decl.is_some() {
                    format!("argument `{pname}` of `{}`", name.name)
                } else {
                    format!("argument {pname} of `{}`", name.name)
                };
                self.expect(&t, want, arg.span, &what);
            }
            ids.push(t.id);
        }
        ids
    }

    fn present(&mut self, name: &Ident, args: &[ast::Expr], span: Span) -> Typed {
        let [arg] = args else {
            let d = Diagnostic::new(
                "E0202",
                span,
                format!(
                    "`present` takes 1 argument but {} given",
                    if args.is_empty() {
                        "none were".to_string()
                    } else {
                        format!("{} were", args.len())
                    }
                ),
            )
            .with_help(format!("call it as `{}(value)`", name.name));
            return self.bad_call(d, args, span);
        };
        let x = self.expr(arg, None);
        self.push(Expr::Present(x.id), Ty::Bool, span)
    }

    /// `max(a, b, ...)` and `min(a, b, ...)`.
    fn extremum(&mut self, name: &Ident, args: &[ast::Expr], span: Span) -> Typed {
        if args.len() < 2 {
            self.report(
                Diagnostic::new(
                    "E0202",
                    span,
                    format!(
                        "`{}` takes at least 2 arguments but {} given",
                        name.name,
                        if args.len() == 1 {
                            "1 was".to_string()
                        } else {
                            "none were".to_string()
                        }
                    ),
                )
                .with_help(format!(
                    "to take the {} of a list, use the aggregate: `{}(x in list: x.value)`",
                    if name.name == "max" {
                        "largest"
                    } else {
                        "smallest"
                    },
                    name.name
                )),
            );
        }
        let mut ty = Ty::Error;
        let mut ids = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            let hint = if ty.has_error() {
                None
            } else {
                Some(ty.clone())
            };
            let t = self.expr(arg, hint.as_ref());
            if ty.has_error() {
                if t.ty.is_numeric() {
                    ty = t.ty.clone();
                } else {
                    let shown = self.show(&t.ty);
                    self.report(Diagnostic::new(
                        "E0201",
                        arg.span,
                        format!(
                            "the arguments of `{}` must be `int` or `money`, found `{shown}`",
                            name.name
                        ),
                    ));
                }
            } else {
                let what = format!("argument {} of `{}`", i + 1, name.name);
                let first = self.show(&ty);
                if !t.ty.agrees(&ty) {
                    let got = self.show(&t.ty);
                    let mut d = Diagnostic::new(
                        "E0201",
                        arg.span,
                        format!("{what} must be `{first}` like the first, found `{got}`"),
                    );
                    if let Some(help) = self.money_help(&ty, &t) {
                        d = d.with_help(help);
                    }
                    self.report(d);
                }
            }
            ids.push(t.id);
        }
        let op = if name.name == "max" {
            Builtin::Greatest
        } else {
            Builtin::Least
        };
        self.push(Expr::Builtin { op, args: ids }, ty, span)
    }
}
