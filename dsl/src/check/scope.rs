//! Files, imports and top-level names: which file sees which declaration,
//! and the locals of the body being checked.

use crate::ast::{self, Ident, Item};
use crate::diagnostic::Diagnostic;
use crate::ir::{self, DefId, EnumId, LocalId, ParamId, RecordId, SubjectId, TableId};
use crate::source::{FileId, Span};

use super::ty::Ty;
use super::{Checker, did_you_mean};

/// The built-in functions, `present` included; their names are reserved.
pub(super) const BUILTIN_FUNCTIONS: &[&str] = &[
    "len",
    "is_digits",
    "slice",
    "to_int",
    "starts_with",
    "year",
    "month",
    "day",
    "is_date",
    "date",
    "years_between",
    "max",
    "min",
    "present",
];

/// The built-in type names.
pub(super) const BUILTIN_TYPES: &[&str] = &["bool", "int", "money", "text", "date", "list"];

/// What a top-level name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ItemKind {
    Enum(EnumId),
    Record(RecordId),
    Subject(SubjectId),
    Def(DefId),
    Param(ParamId),
    Table(TableId),
    Ruleset(usize),
}

impl ItemKind {
    /// What to call it in a message: "`x` is a record".
    pub(super) fn describe(self) -> &'static str {
        match self {
            ItemKind::Enum(_) => "an enum",
            ItemKind::Record(_) => "a record",
            ItemKind::Subject(_) => "a subject",
            ItemKind::Def(_) => "a definition",
            ItemKind::Param(_) => "a parameter",
            ItemKind::Table(_) => "a table",
            ItemKind::Ruleset(_) => "a ruleset",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct ItemInfo {
    pub(super) kind: ItemKind,
    pub(super) file: FileId,
    pub(super) span: Span,
}

/// The result of looking a top-level name up from one file.
pub(super) enum Lookup {
    Found(ItemKind),
    /// Declared in a file that the looking file does not import.
    Hidden(FileId),
    Missing,
}

/// One local slot of a frame.
#[derive(Debug, Clone)]
pub(super) struct LocalInfo {
    pub(super) name: String,
    pub(super) ty: Ty,
    /// Bound to a subject or a list element, so never undetermined.
    pub(super) never_missing: bool,
    /// A ruleset's subject (`household`, `member`): its uses refer to the
    /// subject's declaration.
    pub(super) subject: bool,
    pub(super) span: Span,
}

/// The locals of one definition or ruleset: every slot allocated, and the
/// ones currently in scope (innermost last).
#[derive(Debug, Default)]
pub(super) struct Frame {
    pub(super) locals: Vec<LocalInfo>,
    scope: Vec<LocalId>,
}

impl Frame {
    pub(super) fn bind(&mut self, name: &Ident, ty: Ty, never_missing: bool) -> LocalId {
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(LocalInfo {
            name: name.name.clone(),
            ty,
            never_missing,
            subject: false,
            span: name.span,
        });
        self.scope.push(id);
        id
    }

    /// Binds a ruleset's subject.
    pub(super) fn bind_subject(&mut self, name: &Ident, ty: Ty) -> LocalId {
        let id = self.bind(name, ty, true);
        if let Some(local) = self.locals.get_mut(id.index()) {
            local.subject = true;
        }
        id
    }

    /// Allocates a slot that comes into scope later, with
    /// [`Frame::activate`].
    pub(super) fn reserve(&mut self, name: &Ident) -> LocalId {
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(LocalInfo {
            name: name.name.clone(),
            ty: Ty::Error,
            never_missing: false,
            subject: false,
            span: name.span,
        });
        id
    }

    /// Brings a reserved slot into scope with its type.
    pub(super) fn activate(&mut self, id: LocalId, ty: Ty) {
        if let Some(local) = self.locals.get_mut(id.index()) {
            local.ty = ty;
        }
        self.scope.push(id);
    }

    pub(super) fn lookup(&self, name: &str) -> Option<(LocalId, &LocalInfo)> {
        self.scope
            .iter()
            .rev()
            .filter_map(|id| self.locals.get(id.index()).map(|l| (*id, l)))
            .find(|(_, l)| l.name == name)
    }

    pub(super) fn local(&self, id: LocalId) -> Option<&LocalInfo> {
        self.locals.get(id.index())
    }

    /// A point to return to with [`Frame::reset`] when a binding goes out
    /// of scope.
    pub(super) fn mark(&self) -> usize {
        self.scope.len()
    }

    pub(super) fn reset(&mut self, mark: usize) {
        self.scope.truncate(mark);
    }

    /// The names in scope, innermost first.
    pub(super) fn names(&self) -> Vec<String> {
        self.scope
            .iter()
            .rev()
            .filter_map(|id| self.locals.get(id.index()).map(|l| l.name.clone()))
            .collect()
    }

    pub(super) fn size(&self) -> u32 {
        self.locals.len() as u32
    }
}

impl<'a> Checker<'a> {
    /// Reads the imports of every file and declares every top-level name.
    pub(super) fn collect(&mut self) {
        let files = self.files;
        for (fid, file) in files {
            let mut visible = vec![*fid];
            let dir = dir_of(self.file_name(*fid)).to_string();
            for item in &file.items {
                let Item::Import(import) = item else { continue };
                let wanted = join(&dir, &import.path);
                match files.iter().find(|(id, _)| self.file_name(*id) == wanted) {
                    Some((target, _)) => {
                        if !visible.contains(target) {
                            visible.push(*target);
                        }
                    }
                    None => {
                        // Go on as if the likely intended file were imported,
                        // so that its names are not reported as well.
                        if let Some(target) = self.unknown_import(import, &dir, &wanted)
                            && !visible.contains(&target)
                        {
                            visible.push(target);
                        }
                    }
                }
            }
            self.visible.insert(*fid, visible);
        }
        for (fid, file) in files {
            for item in &file.items {
                self.declare_item(*fid, item);
            }
        }
    }

    /// Reports an import of a file that is not there, and returns the file
    /// it most likely meant.
    fn unknown_import(&mut self, import: &ast::Import, dir: &str, wanted: &str) -> Option<FileId> {
        let span = inside_quotes(import.path_span);
        let names: Vec<(String, FileId)> = self
            .files
            .iter()
            .map(|(id, _)| (relative(dir, self.file_name(*id)), *id))
            .collect();
        let guess = did_you_mean(&import.path, names.iter().map(|(n, _)| n.as_str()));
        let target = guess.and_then(|g| names.iter().find(|(n, _)| n == g).map(|(_, id)| *id));
        let d = Diagnostic::new(
            "E0103",
            span,
            format!("cannot find the file `{}`", import.path),
        );
        self.report(match guess {
            Some(g) => d.with_suggestion(g),
            None => d.with_help(format!(
                "no rule file is named `{wanted}`; imports are relative to the importing file"
            )),
        });
        target
    }

    fn declare_item(&mut self, file: FileId, item: &'a Item) {
        match item {
            Item::Import(_) => {}
            Item::Enum(d) => {
                let id = EnumId(self.enums.len() as u32);
                if self.declare(file, &d.name, ItemKind::Enum(id)) {
                    self.enums.push((file, d));
                    self.program.schema.enums.push(ir::EnumDef {
                        name: d.name.name.clone(),
                        variants: Vec::new(),
                    });
                }
            }
            Item::Record(d) => {
                let id = RecordId(self.records.len() as u32);
                if self.declare(file, &d.name, ItemKind::Record(id)) {
                    self.records.push((file, d));
                    self.fields.push(Vec::new());
                    self.ignored.push(Vec::new());
                    self.program.schema.records.push(ir::RecordDef {
                        name: d.name.name.clone(),
                        open: d.open,
                        ..ir::RecordDef::default()
                    });
                }
            }
            Item::Subject(d) => {
                let id = SubjectId(self.subjects.len() as u32);
                if self.declare(file, &d.name, ItemKind::Subject(id)) {
                    self.subjects.push((file, d));
                    self.subject_records.push(None);
                    self.program.schema.subjects.push(ir::SubjectDef {
                        name: d.name.name.clone(),
                        record: RecordId(0),
                        parent: None,
                    });
                }
            }
            Item::Def(d) => {
                let id = DefId(self.defs.len() as u32);
                if self.declare(file, &d.name, ItemKind::Def(id)) {
                    self.defs.push((file, d));
                    self.sigs.push(super::Sig::default());
                    self.program.defs.push(ir::Def {
                        name: d.name.name.clone(),
                        params: Vec::new(),
                        ret: ir::Type::Bool,
                        body: ir::ExprId(0),
                        frame_size: 0,
                    });
                }
            }
            Item::Param(d) => {
                let id = ParamId(self.params.len() as u32);
                if self.declare(file, &d.name, ItemKind::Param(id)) {
                    self.params.push((file, d));
                    self.param_tys.push(Ty::Error);
                    self.program.params.push(ir::Param {
                        name: d.name.name.clone(),
                        ty: ir::Type::Bool,
                        entries: Vec::new(),
                    });
                }
            }
            Item::Table(d) => {
                let id = TableId(self.tables.len() as u32);
                if self.declare(file, &d.name, ItemKind::Table(id)) {
                    self.tables.push((file, d));
                    self.program.tables.push(ir::Table {
                        name: d.name.name.clone(),
                        path: String::new(),
                        codes: Vec::new(),
                    });
                }
            }
            Item::Ruleset(d) => {
                let id = self.rulesets.len();
                if self.declare(file, &d.name, ItemKind::Ruleset(id)) {
                    self.rulesets.push((file, d));
                }
            }
        }
    }

    /// Declares a name, reporting a clash with an earlier declaration or a
    /// reserved name. Returns whether the name was free.
    pub(super) fn declare(&mut self, file: FileId, name: &Ident, kind: ItemKind) -> bool {
        if let Some(reason) = reserved(&name.name) {
            self.report(
                Diagnostic::new("E0102", name.span, format!("`{}` is {reason}", name.name))
                    .with_help("choose another name"),
            );
            return false;
        }
        if let Some(first) = self.items.get(&name.name) {
            let first = *first;
            self.report(
                Diagnostic::new(
                    "E0102",
                    name.span,
                    format!("`{}` is defined more than once", name.name),
                )
                .with_label(first.span, format!("`{}` is first defined here", name.name))
                .with_help("each top-level name must be unique across all rule files"),
            );
            return false;
        }
        self.items.insert(
            name.name.clone(),
            ItemInfo {
                kind,
                file,
                span: name.span,
            },
        );
        true
    }

    /// Looks a top-level name up from the current file.
    pub(super) fn lookup(&self, name: &str) -> Lookup {
        self.lookup_in(self.file, name)
    }

    pub(super) fn lookup_in(&self, file: FileId, name: &str) -> Lookup {
        match self.items.get(name) {
            Some(info) => {
                let seen = self
                    .visible
                    .get(&file)
                    .is_some_and(|v| v.contains(&info.file));
                if seen {
                    Lookup::Found(info.kind)
                } else {
                    Lookup::Hidden(info.file)
                }
            }
            None => Lookup::Missing,
        }
    }

    /// Names of the declarations visible from the current file that pass
    /// `keep`, for "did you mean".
    pub(super) fn visible_names(&self, keep: impl Fn(ItemKind) -> bool) -> Vec<String> {
        let mut names: Vec<String> = self
            .items
            .iter()
            .filter(|(_, info)| {
                keep(info.kind)
                    && self
                        .visible
                        .get(&self.file)
                        .is_some_and(|v| v.contains(&info.file))
            })
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names
    }

    /// E0101 for a name declared in a file that is not imported, once per
    /// name and file. The reference still counts as a use, so that the
    /// declaration is not also reported as unused.
    pub(super) fn report_hidden(&mut self, name: &Ident, defined_in: FileId) {
        self.refer_item(name);
        if let Some(info) = self.items.get(&name.name) {
            let kind = info.kind;
            let uses = self.uses_mut();
            match kind {
                ItemKind::Def(d) => uses.defs.push((d, name.span)),
                ItemKind::Param(p) => {
                    uses.params.insert(p);
                }
                ItemKind::Table(t) => {
                    uses.tables.insert(t);
                }
                _ => {}
            }
        }
        if !self.hidden_reported.insert((self.file, name.name.clone())) {
            return;
        }
        let path = relative(
            dir_of(self.file_name(self.file)),
            self.file_name(defined_in),
        );
        self.report(
            Diagnostic::new(
                "E0101",
                name.span,
                format!("cannot find `{}` in this file or its imports", name.name),
            )
            .with_help(format!(
                "`{}` is defined in `{path}`; add `import \"{path}\"`",
                name.name
            )),
        );
    }

    /// E0101 for a name that is not declared at all, with "did you mean"
    /// among `candidates`.
    pub(super) fn not_defined(&self, name: &Ident, candidates: &[String]) -> Diagnostic {
        let d = Diagnostic::new(
            "E0101",
            name.span,
            format!("cannot find `{}` in this file or its imports", name.name),
        );
        match did_you_mean(&name.name, candidates.iter().map(String::as_str)) {
            Some(name) => d.with_suggestion(name),
            None => d,
        }
    }

    /// Resolves a subject name from the current file.
    pub(super) fn resolve_subject(
        &mut self,
        name: &Ident,
        code: &'static str,
    ) -> Option<SubjectId> {
        match self.lookup(&name.name) {
            Lookup::Found(ItemKind::Subject(s)) => {
                self.refer_item(name);
                Some(s)
            }
            Lookup::Found(other) => {
                let subjects = self.visible_names(|k| matches!(k, ItemKind::Subject(_)));
                let mut d = Diagnostic::new(
                    code,
                    name.span,
                    format!("`{}` is {}, not a subject", name.name, other.describe()),
                );
                if let Some(help) = did_you_mean(&name.name, subjects.iter().map(String::as_str)) {
                    d = d.with_suggestion(help);
                }
                self.report(d);
                None
            }
            Lookup::Hidden(f) => {
                self.report_hidden(name, f);
                None
            }
            Lookup::Missing => {
                let subjects = self.visible_names(|k| matches!(k, ItemKind::Subject(_)));
                let d = Diagnostic::new(
                    code,
                    name.span,
                    format!("there is no subject `{}`", name.name),
                );
                let d = match did_you_mean(&name.name, subjects.iter().map(String::as_str)) {
                    Some(name) => d.with_suggestion(name),
                    None if subjects.is_empty() => {
                        d.with_help("declare one: `subject household: Household`")
                    }
                    None => {
                        d.with_help(format!("the subjects are {}", super::list_names(&subjects)))
                    }
                };
                self.report(d);
                None
            }
        }
    }
}

/// Why a name cannot be declared, if it cannot.
pub(super) fn reserved(name: &str) -> Option<&'static str> {
    if name == "as_of" {
        Some("reserved for the evaluation date")
    } else if BUILTIN_FUNCTIONS.contains(&name) {
        Some("a built-in function")
    } else if BUILTIN_TYPES.contains(&name) {
        Some("a built-in type")
    } else {
        None
    }
}

/// The span of a string literal without its quotes.
pub(super) fn inside_quotes(span: Span) -> Span {
    if span.end >= span.start + 2 {
        Span {
            file: span.file,
            start: span.start + 1,
            end: span.end - 1,
        }
    } else {
        span
    }
}

/// The directory part of a file name (`rules` for `rules/pkh.lyk`).
pub(super) fn dir_of(name: &str) -> &str {
    name.rfind('/').and_then(|i| name.get(..i)).unwrap_or("")
}

/// `dir/rel` with `.` and `..` resolved.
pub(super) fn join(dir: &str, rel: &str) -> String {
    let root = if dir.starts_with('/') { "/" } else { "" };
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    format!("{root}{}", parts.join("/"))
}

/// The path of `to` as written from a file in `from_dir`.
pub(super) fn relative(from_dir: &str, to: &str) -> String {
    let from: Vec<&str> = from_dir.split('/').filter(|p| !p.is_empty()).collect();
    let target: Vec<&str> = to.split('/').filter(|p| !p.is_empty()).collect();
    let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len().saturating_sub(common)];
    parts.extend(target.iter().skip(common));
    parts.join("/")
}
