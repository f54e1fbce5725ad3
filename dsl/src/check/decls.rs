//! Definitions and dated parameters.

use std::collections::HashMap;

use crate::ast::{self, ExprKind};
use crate::date::Date;
use crate::diagnostic::Diagnostic;
use crate::ir::{self, DefId, Lit};

use super::schema::TypeSite;
use super::ty::Ty;
use super::{Checker, Owner};

impl Checker<'_> {
    /// Checks every definition's parameter and return types, so that calls
    /// can be checked before the bodies are.
    pub(super) fn def_signatures(&mut self) {
        for i in 0..self.defs.len() {
            let Some(&(file, decl)) = self.defs.get(i) else {
                continue;
            };
            self.file = file;
            let mut params: Vec<(String, ir::Type)> = Vec::new();
            let mut sig = super::Sig::default();
            for (name, t) in &decl.params {
                let (ty, _) = self.resolve_type(t, TypeSite::Other);
                params.push((name.name.clone(), ty.to_ir()));
                sig.params.push((name.name.clone(), ty));
            }
            let (ret, _) = self.resolve_type(&decl.ret, TypeSite::Other);
            if let Some(def) = self.program.defs.get_mut(i) {
                def.params = params;
                def.ret = ret.to_ir();
            }
            sig.ret = Some(ret);
            if let Some(slot) = self.sigs.get_mut(i) {
                *slot = sig;
            }
        }
    }

    /// Checks every definition's body against its return type.
    pub(super) fn def_bodies(&mut self) {
        for i in 0..self.defs.len() {
            let Some(&(file, decl)) = self.defs.get(i) else {
                continue;
            };
            let sig = self.sigs.get(i).cloned().unwrap_or_default();
            self.file = file;
            self.owner = Owner::Def(DefId(i as u32));
            self.new_frame();
            self.poisoned = false;
            let mut seen: HashMap<&str, &ast::Ident> = HashMap::new();
            for ((name, _), (_, ty)) in decl.params.iter().zip(&sig.params) {
                if let Some(first) = seen.get(name.name.as_str()) {
                    self.report(
                        Diagnostic::new(
                            "E0102",
                            name.span,
                            format!(
                                "`{}` has two parameters named `{}`",
                                decl.name.name, name.name
                            ),
                        )
                        .with_label(first.span, "first defined here"),
                    );
                } else if name.name == "as_of" {
                    self.report(
                        Diagnostic::new(
                            "E0102",
                            name.span,
                            "`as_of` is reserved for the evaluation date",
                        )
                        .with_help("choose another name"),
                    );
                }
                seen.insert(&name.name, name);
                self.frame.bind(name, ty.clone(), false);
            }
            let ret = sig.ret.clone().unwrap_or(Ty::Error);
            let body = self.expr(&decl.body, Some(&ret));
            if !body.ty.agrees(&ret) {
                let (got, want) = (self.show(&body.ty), self.show(&ret));
                let mut d = Diagnostic::new(
                    "E0201",
                    decl.body.span,
                    format!(
                        "`{}` returns `{want}`, but its body is `{got}`",
                        decl.name.name
                    ),
                )
                .with_label(decl.ret.span, format!("`{want}` declared here"));
                if let Some(help) = self.money_help(&ret, &body) {
                    d = d.with_help(help);
                }
                self.report(d);
            }
            let frame_size = self.frame.size();
            if let Some(def) = self.program.defs.get_mut(i) {
                def.body = body.id;
                def.frame_size = frame_size;
            }
        }
        self.owner = Owner::Nothing;
    }

    /// Checks every dated parameter: a type, at least one value, literals of
    /// that type, and distinct dates.
    pub(super) fn params(&mut self) {
        for i in 0..self.params.len() {
            let Some(&(file, decl)) = self.params.get(i) else {
                continue;
            };
            self.file = file;
            let (ty, _) = self.resolve_type(&decl.ty, TypeSite::Other);
            let ty = if matches!(
                ty,
                Ty::Bool | Ty::Int | Ty::Money | Ty::Text | Ty::Date | Ty::Error
            ) {
                ty
            } else {
                let shown = self.show(&ty);
                self.report(
                    Diagnostic::new(
                        "E0208",
                        decl.ty.span,
                        format!("parameter `{}` cannot be of type `{shown}`", decl.name.name),
                    )
                    .with_help("a parameter holds one `int`, `money`, `bool`, `text` or `date`"),
                );
                Ty::Error
            };
            if decl.entries.is_empty() {
                self.report(
                    Diagnostic::new(
                        "E0308",
                        decl.name.span,
                        format!("parameter `{}` has no values", decl.name.name),
                    )
                    .with_help("add a dated value: `VALUE from YYYY-MM-DD source \"...\"`"),
                );
            }
            let mut entries: Vec<ir::ParamEntry> = Vec::new();
            let mut dates: HashMap<Date, &ast::ParamEntry> = HashMap::new();
            for entry in &decl.entries {
                if let Some(first) = dates.get(&entry.from) {
                    self.report(
                        Diagnostic::new(
                            "E0308",
                            entry.from_span,
                            format!(
                                "parameter `{}` has two values from {}",
                                decl.name.name, entry.from
                            ),
                        )
                        .with_label(first.from_span, "the first value from that date")
                        .with_help(
                            "each value applies from its own date; remove one or change its date",
                        ),
                    );
                    continue;
                }
                dates.insert(entry.from, entry);
                if let Some(value) = self.param_value(decl, entry, &ty) {
                    entries.push(ir::ParamEntry {
                        value,
                        from: entry.from,
                        source: entry.source.clone(),
                    });
                }
            }
            entries.sort_by_key(|e| e.from);
            if let Some(p) = self.program.params.get_mut(i) {
                p.ty = ty.to_ir();
                p.entries = entries;
            }
            if let Some(slot) = self.param_tys.get_mut(i) {
                *slot = ty;
            }
        }
    }

    fn param_value(
        &mut self,
        decl: &ast::ParamDecl,
        entry: &ast::ParamEntry,
        ty: &Ty,
    ) -> Option<Lit> {
        let (lit, got) = match &entry.value.kind {
            ExprKind::Int(n) => (Lit::Int(*n), Ty::Int),
            ExprKind::Money(n) => (Lit::Money(*n), Ty::Money),
            ExprKind::Text(t) => (Lit::Text(t.clone()), Ty::Text),
            ExprKind::Bool(b) => (Lit::Bool(*b), Ty::Bool),
            ExprKind::Date(d) => (Lit::Date(*d), Ty::Date),
            _ => {
                self.report(
                    Diagnostic::new(
                        "E0208",
                        entry.value.span,
                        "a parameter value must be a literal",
                    )
                    .with_help(
                        "write a number, an amount (`Rp 1_000`), a text, a date or `true`/`false`",
                    ),
                );
                return None;
            }
        };
        if got.agrees(ty) {
            return Some(lit);
        }
        let (got_s, want_s) = (self.show(&got), self.show(ty));
        let written = self.snippet(entry.value.span).to_string();
        let mut d = Diagnostic::new(
            "E0208",
            entry.value.span,
            format!(
                "`{written}` is `{got_s}`, but parameter `{}` is `{want_s}`",
                decl.name.name
            ),
        )
        .with_label(decl.ty.span, format!("`{want_s}` declared here"));
        match (&lit, ty) {
            (Lit::Int(n), Ty::Money) => {
                d = d.with_help(format!("write the amount as `Rp {}`", group(*n)))
            }
            (Lit::Money(n), Ty::Int) => {
                d = d.with_help(format!("write the number without `Rp`: `{}`", group(*n)))
            }
            _ => {}
        }
        self.report(d);
        None
    }
}

/// A number with `_` between groups of three digits, as amounts are written.
pub(super) fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}
