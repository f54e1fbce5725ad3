//! Pass 2: names, then types against the schema; elaborates the AST into
//! the IR.
//!
//! The checker never stops at the first mistake. Each phase records what it
//! could work out, and a name or type it could not work out becomes
//! [`Ty::Error`], which agrees with everything, so one mistake gives one
//! diagnostic. The phases, in order:
//!
//! 1. `scope`: imports and top-level names (which file sees which name);
//! 2. `schema`: enums, records and subjects;
//! 3. `decls`: definition signatures, parameters, then `table`: tables;
//! 4. `decls`: definition bodies, then `ruleset`: rulesets, both through
//!    `expr`, `ops`, `call` and `agg`;
//! 5. `lint`: definition cycles, unused declarations and other warnings.

mod agg;
mod call;
mod decls;
mod expr;
pub mod index;
mod lint;
mod ops;
mod ruleset;
mod schema;
mod scope;
mod table;
mod ty;

use std::collections::{HashMap, HashSet};

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::ir::{DefId, ExprId, ParamId, Program, TableId};
use crate::source::{FileId, Sources, Span};

use scope::{Frame, ItemInfo, ItemKind};
use ty::Ty;

/// Checks parsed files together. Never fails: returns what it could build
/// and every diagnostic.
pub fn check(sources: &Sources, files: &[(FileId, ast::File)]) -> (Program, Vec<Diagnostic>) {
    let (program, diags, _) = check_indexed(sources, files);
    (program, diags)
}

/// [`check`], also returning what it learnt about names for the editor
/// layer ([`crate::ide`]).
pub fn check_indexed(
    sources: &Sources,
    files: &[(FileId, ast::File)],
) -> (Program, Vec<Diagnostic>, index::Index) {
    let mut c = Checker::new(sources, files);
    c.collect();
    c.schema();
    c.def_signatures();
    c.params();
    c.tables();
    c.def_bodies();
    c.rulesets();
    c.cycles();
    c.unused();
    c.index_declarations();
    let mut diags = c.diags;
    diags.sort_by_key(|d| (d.span.file, d.span.start));
    (c.program, diags, c.index)
}

/// Whose body an expression belongs to: references are counted per owner to
/// find cycles and unused declarations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    Def(DefId),
    Ruleset(usize),
    Nothing,
}

/// What one owner's expressions refer to.
#[derive(Debug, Default)]
struct Uses {
    /// Called definitions, with the call's name.
    defs: Vec<(DefId, Span)>,
    params: HashSet<ParamId>,
    tables: HashSet<TableId>,
}

/// A record field as checked.
#[derive(Debug, Clone)]
struct FieldInfo {
    name: String,
    ty: Ty,
    optional: bool,
    range: Option<(i64, i64)>,
    /// The field's name where it is declared.
    span: Span,
}

/// A definition's checked signature.
#[derive(Debug, Clone, Default)]
struct Sig {
    params: Vec<(String, Ty)>,
    ret: Option<Ty>,
}

/// A typed expression in the arena.
#[derive(Debug, Clone)]
struct Typed {
    id: ExprId,
    ty: Ty,
}

struct Checker<'a> {
    sources: &'a Sources,
    files: &'a [(FileId, ast::File)],
    program: Program,
    diags: Vec<Diagnostic>,
    /// For each file, the files whose items it sees: itself and its direct
    /// imports.
    visible: HashMap<FileId, Vec<FileId>>,
    /// Every top-level name of the compilation, first declaration wins.
    items: HashMap<String, ItemInfo>,
    enums: Vec<(FileId, &'a ast::EnumDecl)>,
    records: Vec<(FileId, &'a ast::RecordDecl)>,
    subjects: Vec<(FileId, &'a ast::SubjectDecl)>,
    defs: Vec<(FileId, &'a ast::DefDecl)>,
    params: Vec<(FileId, &'a ast::ParamDecl)>,
    tables: Vec<(FileId, &'a ast::TableDecl)>,
    rulesets: Vec<(FileId, &'a ast::Ruleset)>,
    /// Checked record fields, by record.
    fields: Vec<Vec<FieldInfo>>,
    /// The fields declared `ignored`, by record, with where each is
    /// declared.
    ignored: Vec<Vec<ast::Ident>>,
    /// Checked definition signatures, by definition.
    sigs: Vec<Sig>,
    /// Checked parameter types, by parameter.
    param_tys: Vec<Ty>,
    /// Each subject's record, once known.
    subject_records: Vec<Option<crate::ir::RecordId>>,
    uses: HashMap<Owner, Uses>,
    /// Names already reported as not imported, by file.
    hidden_reported: HashSet<(FileId, String)>,
    /// Stand-ins for expressions that could not be checked.
    errors: HashSet<ExprId>,
    /// The file whose expressions are being checked.
    file: FileId,
    owner: Owner,
    /// The locals of the body being checked.
    frame: Frame,
    /// Set when a ruleset's subject is unknown: its subject names are then
    /// left unreported, as the one error already says why.
    poisoned: bool,
    /// Declarations and resolved uses, for the editor layer.
    index: index::Index,
}

impl<'a> Checker<'a> {
    fn new(sources: &'a Sources, files: &'a [(FileId, ast::File)]) -> Checker<'a> {
        Checker {
            sources,
            files,
            program: Program::default(),
            diags: Vec::new(),
            visible: HashMap::new(),
            items: HashMap::new(),
            enums: Vec::new(),
            records: Vec::new(),
            subjects: Vec::new(),
            defs: Vec::new(),
            params: Vec::new(),
            tables: Vec::new(),
            rulesets: Vec::new(),
            fields: Vec::new(),
            ignored: Vec::new(),
            sigs: Vec::new(),
            param_tys: Vec::new(),
            subject_records: Vec::new(),
            uses: HashMap::new(),
            hidden_reported: HashSet::new(),
            errors: HashSet::new(),
            file: FileId(0),
            owner: Owner::Nothing,
            frame: Frame::default(),
            poisoned: false,
            index: index::Index::default(),
        }
    }

    /// Records a use of the declaration whose name is at `decl`.
    fn refer(&mut self, at: Span, decl: Span) {
        if !at.same_place(decl) {
            self.index.refs.push((at, decl));
        }
    }

    /// Records a use of a top-level name.
    fn refer_item(&mut self, name: &ast::Ident) {
        if let Some(info) = self.items.get(&name.name) {
            let decl = info.span;
            self.refer(name.span, decl);
        }
    }

    /// Records a name that could not be resolved, with the locals in scope.
    fn name_site(&mut self, name: &ast::Ident, call: bool) {
        let locals = self
            .frame
            .names()
            .into_iter()
            .filter_map(|n| {
                let (_, l) = self.frame.lookup(&n)?;
                Some((n, self.show(&l.ty)))
            })
            .collect();
        self.index.name_sites.push(index::NameSite {
            span: name.span,
            locals,
            call,
        });
    }

    /// Starts the locals of a new body, indexing those of the last one.
    fn new_frame(&mut self) {
        self.index_locals();
        self.frame = Frame::default();
    }

    fn index_locals(&mut self) {
        let frame = std::mem::take(&mut self.frame);
        for l in frame.locals.iter().filter(|l| !l.subject) {
            let ty = self.show(&l.ty);
            self.index.decls.push(index::Decl {
                name: l.name.clone(),
                kind: index::DeclKind::Local,
                span: l.span,
                ty: Some(ty),
                container: None,
            });
        }
        self.frame = frame;
    }

    /// Indexes every top-level name, field and variant, and the last
    /// body's locals; then sorts the index.
    fn index_declarations(&mut self) {
        use index::{Decl, DeclKind};
        self.index_locals();
        let mut decls = Vec::new();
        for (name, info) in &self.items {
            let (kind, ty) = match info.kind {
                ItemKind::Enum(_) => (DeclKind::Enum, None),
                ItemKind::Record(_) => (DeclKind::Record, None),
                ItemKind::Subject(s) => (
                    DeclKind::Subject,
                    self.subject_records
                        .get(s.index())
                        .copied()
                        .flatten()
                        .map(|r| self.show(&Ty::Record(r))),
                ),
                ItemKind::Def(_) => (DeclKind::Definition, None),
                ItemKind::Param(p) => (
                    DeclKind::Parameter,
                    self.param_tys.get(p.index()).map(|t| self.show(t)),
                ),
                ItemKind::Table(_) => (DeclKind::Table, None),
                ItemKind::Ruleset(_) => (DeclKind::Ruleset, None),
            };
            decls.push(Decl {
                name: name.clone(),
                kind,
                span: info.span,
                ty,
                container: None,
            });
        }
        for (r, fields) in self.fields.iter().enumerate() {
            let record = self.show(&Ty::Record(crate::ir::RecordId(r as u32)));
            for f in fields {
                let ty = format!("{}{}", self.show(&f.ty), if f.optional { "?" } else { "" });
                decls.push(Decl {
                    name: f.name.clone(),
                    kind: DeclKind::Field,
                    span: f.span,
                    ty: Some(ty),
                    container: Some(record.clone()),
                });
            }
            for f in self.ignored.get(r).into_iter().flatten() {
                decls.push(Decl {
                    name: f.name.clone(),
                    kind: DeclKind::Field,
                    span: f.span,
                    ty: Some("ignored".to_string()),
                    container: Some(record.clone()),
                });
            }
        }
        for (_, e) in &self.enums {
            for v in &e.variants {
                decls.push(Decl {
                    name: v.name.name.clone(),
                    kind: DeclKind::Variant,
                    span: v.name.span,
                    ty: Some(schema::show_code(&v.code)),
                    container: Some(e.name.name.clone()),
                });
            }
        }
        self.index.decls.extend(decls);
        self.index.visible = self.visible.clone();
        self.index.record_names = self
            .program
            .schema
            .records
            .iter()
            .map(|r| r.name.clone())
            .collect();
        self.index.enum_names = self
            .program
            .schema
            .enums
            .iter()
            .map(|e| e.name.clone())
            .collect();
        self.index.finish();
    }

    fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The name a file was added under.
    fn file_name(&self, file: FileId) -> &str {
        self.sources.get(file).map_or("", |f| f.name.as_str())
    }

    /// A span without the whitespace and comment lines that the span of a
    /// clause can end with.
    fn trim(&self, span: Span) -> Span {
        let mut text = self.snippet(span).trim_end();
        while let Some((before, last)) = text.rsplit_once('\n') {
            if !last.trim_start().starts_with("//") {
                break;
            }
            text = before.trim_end();
        }
        Span {
            end: span.start.saturating_add(text.len() as u32),
            ..span
        }
    }

    /// The source text a span covers.
    fn snippet(&self, span: Span) -> &str {
        self.sources.snippet(span)
    }

    /// A type as users write it: `int`, `Member`, `list<Member>`.
    fn show(&self, ty: &Ty) -> String {
        match ty {
            Ty::Bool => "bool".into(),
            Ty::Int => "int".into(),
            Ty::Money => "money".into(),
            Ty::Text => "text".into(),
            Ty::Date => "date".into(),
            Ty::Enum(e) => self
                .program
                .schema
                .enums
                .get(e.index())
                .map_or_else(|| "enum".into(), |d| d.name.clone()),
            Ty::Record(r) => self
                .program
                .schema
                .records
                .get(r.index())
                .map_or_else(|| "record".into(), |d| d.name.clone()),
            Ty::List(t) => format!("list<{}>", self.show(t)),
            Ty::Error => "_".into(),
        }
    }

    fn uses_mut(&mut self) -> &mut Uses {
        self.uses.entry(self.owner).or_default()
    }
}

/// The closest of `candidates` to `name`, if close enough to be a likely
/// slip: "did you mean `desil`?".
fn did_you_mean<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name || c.is_empty() {
            continue;
        }
        let d = strsim::damerau_levenshtein(&lower, &c.to_lowercase());
        // Names of one or two letters are too short to tell a slip from
        // another name, except by case.
        let longest = name.chars().count().max(c.chars().count());
        let limit = if longest < 3 { 0 } else { (longest / 3).max(1) };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `n thing` or `n things`.
fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("{n} {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// `a`, `b` and `c` in backticks.
fn list_names<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
