//! The schema: enums, records and subjects, and type expressions.

use std::collections::HashMap;

use crate::ast::{self, Code, TypeExpr, TypeExprKind};
use crate::diagnostic::Diagnostic;
use crate::ir::{self, SubjectId};
use crate::source::Span;

use super::scope::{BUILTIN_TYPES, ItemKind, Lookup};
use super::ty::Ty;
use super::{Checker, FieldInfo, did_you_mean};

/// Where a type is written: ranges such as `int(1..10)` are only allowed
/// for record fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TypeSite {
    Field,
    Other,
}

impl Checker<'_> {
    pub(super) fn schema(&mut self) {
        for i in 0..self.enums.len() {
            self.enum_decl(i);
        }
        for i in 0..self.records.len() {
            self.record_decl(i);
        }
        for i in 0..self.subjects.len() {
            self.subject_decl(i);
        }
        self.subject_roots();
    }

    fn enum_decl(&mut self, index: usize) {
        let Some(&(_, decl)) = self.enums.get(index) else {
            return;
        };
        let mut names: HashMap<&str, &ast::Variant> = HashMap::new();
        let mut codes: HashMap<&Code, &ast::Variant> = HashMap::new();
        let mut variants = Vec::new();
        for v in &decl.variants {
            if let Some(first) = names.get(v.name.name.as_str()) {
                self.report(
                    Diagnostic::new(
                        "E0102",
                        v.name.span,
                        format!(
                            "enum `{}` has two variants named `{}`",
                            decl.name.name, v.name.name
                        ),
                    )
                    .with_label(first.name.span, "first defined here"),
                );
                continue;
            }
            if let Some(first) = codes.get(&v.code) {
                self.report(
                    Diagnostic::new(
                        "E0311",
                        v.span,
                        format!(
                            "variants `{}` and `{}` of enum `{}` have the same code {}",
                            first.name.name,
                            v.name.name,
                            decl.name.name,
                            show_code(&v.code)
                        ),
                    )
                    .with_label(first.span, "the code is first used here")
                    .with_help("each variant needs its own code in the interchange format"),
                );
            }
            names.insert(&v.name.name, v);
            codes.insert(&v.code, v);
            variants.push(ir::VariantDef {
                name: v.name.name.clone(),
                code: v.code.clone(),
            });
        }
        if let Some(def) = self.program.schema.enums.get_mut(index) {
            def.variants = variants;
        }
    }

    fn record_decl(&mut self, index: usize) {
        let Some(&(file, decl)) = self.records.get(index) else {
            return;
        };
        self.file = file;
        let mut seen: HashMap<&str, &ast::FieldDecl> = HashMap::new();
        let mut fields = Vec::new();
        let mut ignored = Vec::new();
        for f in &decl.fields {
            let typed = match &f.kind {
                ast::FieldKind::Typed { ty, optional } => {
                    Some((self.resolve_type(ty, TypeSite::Field), *optional))
                }
                ast::FieldKind::Ignored => None,
            };
            if let Some(first) = seen.get(f.name.name.as_str()) {
                self.report(
                    Diagnostic::new(
                        "E0102",
                        f.name.span,
                        format!(
                            "record `{}` has two fields named `{}`",
                            decl.name.name, f.name.name
                        ),
                    )
                    .with_label(first.name.span, "first defined here"),
                );
                continue;
            }
            seen.insert(&f.name.name, f);
            match typed {
                Some(((ty, range), optional)) => fields.push(FieldInfo {
                    name: f.name.name.clone(),
                    ty,
                    optional,
                    range,
                    span: f.name.span,
                }),
                None => ignored.push(f.name.clone()),
            }
        }
        if let Some(slot) = self.ignored.get_mut(index) {
            *slot = ignored;
        }
        let key = self.key_field(index, decl, decl.key.as_ref(), "key", &fields);
        let label = self.key_field(index, decl, decl.label.as_ref(), "label", &fields);
        if let Some(def) = self.program.schema.records.get_mut(index) {
            def.fields = fields
                .iter()
                .map(|f| ir::FieldDef {
                    name: f.name.clone(),
                    ty: f.ty.to_ir(),
                    optional: f.optional,
                    range: f.range,
                })
                .collect();
            def.key = key;
            def.label = label;
            def.ignored = self
                .ignored
                .get(index)
                .map(|names| names.iter().map(|n| n.name.clone()).collect())
                .unwrap_or_default();
        }
        if let Some(slot) = self.fields.get_mut(index) {
            *slot = fields;
        }
    }

    /// Checks `key x` or `label x`: `x` must be a text field.
    fn key_field(
        &mut self,
        index: usize,
        decl: &ast::RecordDecl,
        name: Option<&ast::Ident>,
        what: &str,
        fields: &[FieldInfo],
    ) -> Option<u32> {
        let name = name?;
        if self.ignored_field(ir::RecordId(index as u32), &name.name, name.span) {
            return None;
        }
        let found = fields.iter().position(|f| f.name == name.name);
        if let Some(f) = found.and_then(|i| fields.get(i)) {
            self.refer(name.span, f.span);
        }
        match found.and_then(|i| fields.get(i).map(|f| (i, f))) {
            Some((i, f)) if f.ty.agrees(&Ty::Text) => Some(i as u32),
            Some((_, f)) => {
                let shown = self.show(&f.ty);
                self.report(
                    Diagnostic::new(
                        "E0309",
                        name.span,
                        format!("the {what} of record `{}` must be a `text` field, but `{}` is `{shown}`", decl.name.name, name.name),
                    )
                    .with_label(f.span, "declared here"),
                );
                None
            }
            None => {
                let mut d = Diagnostic::new(
                    "E0309",
                    name.span,
                    format!(
                        "the {what} `{}` is not a field of record `{}`",
                        name.name, decl.name.name
                    ),
                );
                if let Some(help) = did_you_mean(&name.name, fields.iter().map(|f| f.name.as_str()))
                {
                    d = d.with_suggestion(help);
                }
                self.report(d);
                None
            }
        }
    }

    fn subject_decl(&mut self, index: usize) {
        let Some(&(file, decl)) = self.subjects.get(index) else {
            return;
        };
        self.file = file;
        let record = match self.lookup(&decl.record.name) {
            Lookup::Found(ItemKind::Record(r)) => {
                self.refer_item(&decl.record);
                Some(r)
            }
            Lookup::Hidden(f) => {
                self.report_hidden(&decl.record, f);
                None
            }
            found => {
                let records = self.visible_names(|k| matches!(k, ItemKind::Record(_)));
                let message = match found {
                    Lookup::Found(kind) => format!(
                        "`{}` is {}, not a record",
                        decl.record.name,
                        kind.describe()
                    ),
                    _ => format!("there is no record `{}`", decl.record.name),
                };
                let mut d = Diagnostic::new("E0307", decl.record.span, message);
                if let Some(help) =
                    did_you_mean(&decl.record.name, records.iter().map(String::as_str))
                {
                    d = d.with_suggestion(help);
                }
                self.report(d);
                None
            }
        };
        if let Some(slot) = self.subject_records.get_mut(index) {
            *slot = record;
        }
        if let (Some(r), Some(def)) = (record, self.program.schema.subjects.get_mut(index)) {
            def.record = r;
        }
        let Some((parent, field)) = &decl.within else {
            return;
        };
        let Some(parent_id) = self.resolve_subject(parent, "E0307") else {
            return;
        };
        let parent_record = self
            .subject_records
            .get(parent_id.index())
            .copied()
            .flatten();
        let Some(parent_record) = parent_record.or_else(|| self.record_of_subject_decl(parent_id))
        else {
            return;
        };
        let fields = self
            .fields
            .get(parent_record.index())
            .cloned()
            .unwrap_or_default();
        let record_name = self.show(&Ty::Record(parent_record));
        if self.ignored_field(parent_record, &field.name, field.span) {
            return;
        }
        self.index.field_sites.push((field.span, parent_record));
        if let Some(f) = fields.iter().find(|f| f.name == field.name) {
            self.refer(field.span, f.span);
        }
        let Some(fi) = fields.iter().position(|f| f.name == field.name) else {
            let mut d = Diagnostic::new(
                "E0307",
                field.span,
                format!(
                    "record `{record_name}` of subject `{}` has no field `{}`",
                    parent.name, field.name
                ),
            );
            if let Some(help) = did_you_mean(&field.name, fields.iter().map(|f| f.name.as_str())) {
                d = d.with_suggestion(help);
            }
            self.report(d);
            return;
        };
        let fty = fields.get(fi).map_or(Ty::Error, |f| f.ty.clone());
        let want = record.map_or(Ty::Error, |r| Ty::list(Ty::Record(r)));
        if !fty.agrees(&want) {
            let (shown, wanted) = (self.show(&fty), self.show(&want));
            self.report(
                Diagnostic::new(
                    "E0307",
                    field.span,
                    format!("subject `{}` ranges over `{}.{}`, which is `{shown}`, not `{wanted}`", decl.name.name, parent.name, field.name),
                )
                .with_help(format!("a subject ranges over a list field of its parent subject's record whose elements are `{}`", decl.record.name)),
            );
            return;
        }
        if let Some(def) = self.program.schema.subjects.get_mut(index) {
            def.parent = Some((parent_id, fi as u32));
        }
    }

    /// A subject's record, resolving it early when the subject is declared
    /// after the one that names it as parent.
    fn record_of_subject_decl(&self, s: SubjectId) -> Option<ir::RecordId> {
        let &(file, decl) = self.subjects.get(s.index())?;
        match self.lookup_in(file, &decl.record.name) {
            Lookup::Found(ItemKind::Record(r)) => Some(r),
            _ => None,
        }
    }

    /// Exactly one subject has no parent, and every chain reaches it.
    fn subject_roots(&mut self) {
        let decls = self.subjects.clone();
        let roots: Vec<usize> = decls
            .iter()
            .enumerate()
            .filter(|(_, (_, d))| d.within.is_none())
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = roots.first() else {
            if let Some((_, d)) = decls.first() {
                self.report(
                    Diagnostic::new("E0307", d.name.span, "no subject is the root of the record")
                        .with_help("declare the subject for a whole record without `in`: `subject household: Household`"),
                );
            }
            return;
        };
        let first_span = decls.get(first).map(|(_, d)| d.name.span);
        for &i in roots.iter().skip(1) {
            let Some((_, d)) = decls.get(i) else { continue };
            let mut diag = Diagnostic::new("E0307", d.name.span, format!("subject `{}` is a second root subject", d.name.name))
                .with_help("every subject but one ranges over a list field of its parent: `subject member: Member in family.members`");
            if let Some(span) = first_span {
                diag = diag.with_label(span, "the root subject is declared here");
            }
            self.report(diag);
        }
        for (i, (_, d)) in decls.iter().enumerate() {
            let chain = self.program.schema.chain(SubjectId(i as u32));
            let rooted = chain
                .first()
                .and_then(|s| self.program.schema.subjects.get(s.index()))
                .is_some_and(|s| s.parent.is_none());
            if !rooted {
                self.report(
                    Diagnostic::new(
                        "E0307",
                        d.name.span,
                        format!("subject `{}` is its own ancestor", d.name.name),
                    )
                    .with_help(
                        "subjects form a chain from the root down: household, family, member",
                    ),
                );
            }
        }
    }

    /// Resolves a type expression in the current file. A range is returned
    /// for `int(a..b)`.
    pub(super) fn resolve_type(
        &mut self,
        t: &TypeExpr,
        site: TypeSite,
    ) -> (Ty, Option<(i64, i64)>) {
        match &t.kind {
            TypeExprKind::IntRange(lo, hi) => {
                if site != TypeSite::Field {
                    self.report(
                        Diagnostic::new(
                            "E0210",
                            t.span,
                            "a ranged `int` is only allowed for a record field",
                        )
                        .with_help("write `int` here"),
                    );
                    return (Ty::Int, None);
                }
                if lo > hi {
                    self.report(
                        Diagnostic::new(
                            "E0210",
                            t.span,
                            format!("the range `{lo}..{hi}` is empty"),
                        )
                        .with_help(format!("write the smaller bound first: `int({hi}..{lo})`")),
                    );
                    return (Ty::Int, None);
                }
                (Ty::Int, Some((*lo, *hi)))
            }
            TypeExprKind::List(inner) => {
                let (elem, _) = self.resolve_type(inner, TypeSite::Other);
                (Ty::list(elem), None)
            }
            TypeExprKind::Named(name) => {
                let ty = match name.name.as_str() {
                    "bool" => Ty::Bool,
                    "int" => Ty::Int,
                    "money" => Ty::Money,
                    "text" => Ty::Text,
                    "date" => Ty::Date,
                    "list" => {
                        self.report(
                            Diagnostic::new("E0108", name.span, "`list` needs an element type")
                                .with_help("write `list<Member>` or `list<text>`"),
                        );
                        Ty::Error
                    }
                    _ => self.named_type(name),
                };
                (ty, None)
            }
        }
    }

    fn named_type(&mut self, name: &ast::Ident) -> Ty {
        self.refer_item(name);
        match self.lookup(&name.name) {
            Lookup::Found(ItemKind::Enum(e)) => Ty::Enum(e),
            Lookup::Found(ItemKind::Record(r)) => Ty::Record(r),
            Lookup::Hidden(f) => {
                self.report_hidden(name, f);
                Ty::Error
            }
            found => {
                let mut names =
                    self.visible_names(|k| matches!(k, ItemKind::Enum(_) | ItemKind::Record(_)));
                names.extend(BUILTIN_TYPES.iter().map(|s| (*s).to_string()));
                let message = match found {
                    Lookup::Found(kind) => {
                        format!("`{}` is {}, not a type", name.name, kind.describe())
                    }
                    _ => format!("unknown type `{}`", name.name),
                };
                let d = Diagnostic::new("E0108", name.span, message);
                let d = match did_you_mean(&name.name, names.iter().map(String::as_str)) {
                    Some(name) => d.with_suggestion(name),
                    None => d.with_help("the types are `bool`, `int`, `money`, `text`, `date`, `list<T>` and the enums and records of the schema"),
                };
                self.report(d);
                Ty::Error
            }
        }
    }

    /// Reports `E0110` when `name` is a field `record` declares `ignored`:
    /// the rules name it (at `at`) but cannot read it.
    pub(super) fn ignored_field(&mut self, record: ir::RecordId, name: &str, at: Span) -> bool {
        let Some(declared) = self
            .ignored
            .get(record.index())
            .and_then(|names| names.iter().find(|n| n.name == name))
            .map(|n| n.span)
        else {
            return false;
        };
        let rname = self.show(&Ty::Record(record));
        self.report(
            Diagnostic::new(
                "E0110",
                at,
                format!("field `{name}` of record `{rname}` is declared `ignored`, so no rule can read it"),
            )
            .with_label(declared, "declared `ignored` here")
            .with_help(format!("give it a type to read it: `{name}: int?`, `{name}: text?`, ...")),
        );
        true
    }

    /// A record's field by name: its index and what was checked about it.
    pub(super) fn field_of(&self, record: ir::RecordId, name: &str) -> Option<(u32, FieldInfo)> {
        let fields = self.fields.get(record.index())?;
        let i = fields.iter().position(|f| f.name == name)?;
        fields.get(i).map(|f| (i as u32, f.clone()))
    }
}

/// A variant code as written: `1` or `"M"`.
pub(super) fn show_code(code: &Code) -> String {
    match code {
        Code::Int(n) => format!("`{n}`"),
        Code::Text(t) => format!("`\"{t}\"`"),
    }
}
