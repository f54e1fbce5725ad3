//! Completion. The text is checked again with a marker name written at the
//! cursor (rust-analyzer's trick): the checker then says what stands
//! there: a field of which record after `.`, a variant of which enum, or a
//! name with which locals in scope.

use serde::Serialize;

use crate::check::index::{DeclKind, Index};
use crate::source::{FileId, Span};

use super::{Analysis, word_at};

/// A name written into the text at the cursor; no rule uses it.
const MARKER: &str = "layak_completion_marker";

/// What a completion inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CompletionKind {
    Field,
    Variant,
    Enum,
    Record,
    Subject,
    /// A built-in function.
    Function,
    Definition,
    Parameter,
    Table,
    Local,
    Keyword,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    /// The type, signature or code shown beside the label.
    pub detail: String,
    /// The partly typed name the completion replaces (empty at the cursor
    /// when nothing is typed yet).
    pub replace: Span,
}

/// The words that start an expression or a clause.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "if", "then", "else", "match", "in", "where", "true", "false", "let",
    "for", "each", "as_of", "count", "any", "all", "sum", "min", "max", "sum_top", "filter",
];

/// The built-in types.
const TYPES: &[&str] = &["bool", "int", "money", "text", "date", "list"];

/// What the marker turned out to be.
enum Site {
    /// After `.` on a record: its name.
    Field(String),
    /// After `Enum.`: the enum's name.
    Variant(String),
    Name {
        locals: Vec<(String, String)>,
        call: bool,
    },
}

impl Analysis {
    /// The completions at `offset`, filtered by the part of a name already
    /// typed before it.
    pub fn completions(&self, file: FileId, offset: usize) -> Vec<Completion> {
        let text = self.text(file);
        if offset > text.len() || !text.is_char_boundary(offset) {
            return Vec::new();
        }
        if in_comment_or_text(text, offset) {
            return Vec::new();
        }
        let word = word_at(text, file, offset);
        let typed = text.get(word.start as usize..offset).unwrap_or("");
        let after_dot = text
            .get(..word.start as usize)
            .is_some_and(|b| b.trim_end_matches([' ', '\t']).ends_with('.'));
        let mut items = match self.site(file, offset) {
            Some(Site::Field(record)) => self.fields_of(&record),
            Some(Site::Variant(e)) => self.variants_of(&e),
            Some(Site::Name { locals, call }) => self.names(file, &locals, !call),
            None if after_dot => Vec::new(),
            None => {
                let mut names = self.names(file, &[], true);
                names.extend(
                    TYPES
                        .iter()
                        .map(|t| (t.to_string(), CompletionKind::Keyword, "type".to_string())),
                );
                names
            }
        };
        let lower = typed.to_lowercase();
        items.retain(|(label, _, _)| label.to_lowercase().starts_with(&lower));
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items.dedup_by(|a, b| a.0 == b.0);
        items
            .into_iter()
            .map(|(label, kind, detail)| Completion {
                label,
                kind,
                detail,
                replace: word,
            })
            .collect()
    }

    /// Checks the files again with the marker at `offset` and finds it in
    /// the new index.
    fn site(&self, file: FileId, offset: usize) -> Option<Site> {
        let text = self.text(file);
        let name = self.sources.get(file)?.name.clone();
        let marked = format!("{}{MARKER}{}", text.get(..offset)?, text.get(offset..)?);
        let mut sources = self.sources.clone();
        sources.add(name, marked.as_str());
        let mut files: Vec<(FileId, crate::ast::File)> = self
            .files
            .iter()
            .filter(|(f, _)| *f != file)
            .cloned()
            .collect();
        files.push((file, crate::syntax::parse_file(file, &marked).0));
        // In file order, as the analysis checks them.
        files.sort_by_key(|(f, _)| *f);
        let (_, _, index) = crate::check_parsed(&sources, &files);
        let at = |s: &Span| {
            s.file == file && s.start as usize <= offset && offset + MARKER.len() <= s.end as usize
        };
        if let Some((_, r)) = index.field_sites.iter().find(|(s, _)| at(s)) {
            return index.record_names.get(r.index()).cloned().map(Site::Field);
        }
        if let Some((_, e)) = index.variant_sites.iter().find(|(s, _)| at(s)) {
            return index.enum_names.get(e.index()).cloned().map(Site::Variant);
        }
        let site = index.name_sites.iter().find(|n| at(&n.span))?;
        Some(Site::Name {
            locals: site.locals.clone(),
            call: site.call,
        })
    }

    fn fields_of(&self, name: &str) -> Vec<(String, CompletionKind, String)> {
        self.index
            .decls
            .iter()
            .filter(|d| d.kind == DeclKind::Field && d.container.as_deref() == Some(name))
            .filter(|d| d.ty.as_deref() != Some("ignored"))
            .map(|d| {
                (
                    d.name.clone(),
                    CompletionKind::Field,
                    d.ty.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn variants_of(&self, name: &str) -> Vec<(String, CompletionKind, String)> {
        self.index
            .decls
            .iter()
            .filter(|d| d.kind == DeclKind::Variant && d.container.as_deref() == Some(name))
            .map(|d| {
                (
                    d.name.clone(),
                    CompletionKind::Variant,
                    format!("code {}", d.ty.as_deref().unwrap_or("")),
                )
            })
            .collect()
    }

    /// Locals, the top-level names the file sees, built-in functions and,
    /// where a value may stand, keywords.
    fn names(
        &self,
        file: FileId,
        locals: &[(String, String)],
        keywords: bool,
    ) -> Vec<(String, CompletionKind, String)> {
        let mut out: Vec<(String, CompletionKind, String)> = locals
            .iter()
            .map(|(n, t)| (n.clone(), CompletionKind::Local, t.clone()))
            .collect();
        let visible = visible_files(&self.index, file);
        for d in self
            .index
            .decls
            .iter()
            .filter(|d| visible.contains(&d.span.file))
        {
            let (kind, detail) = match d.kind {
                DeclKind::Enum => (CompletionKind::Enum, "enum".to_string()),
                DeclKind::Record => (CompletionKind::Record, "record".to_string()),
                DeclKind::Subject => (CompletionKind::Subject, d.ty.clone().unwrap_or_default()),
                DeclKind::Definition => (CompletionKind::Definition, self.signature(d.span)),
                DeclKind::Parameter => {
                    (CompletionKind::Parameter, d.ty.clone().unwrap_or_default())
                }
                DeclKind::Table => (CompletionKind::Table, "table".to_string()),
                DeclKind::Variant | DeclKind::Field | DeclKind::Local | DeclKind::Ruleset => {
                    continue;
                }
            };
            out.push((d.name.clone(), kind, detail));
        }
        out.extend(super::hover::BUILTINS.iter().map(|(name, sig, _)| {
            (
                (*name).to_string(),
                CompletionKind::Function,
                (*sig).to_string(),
            )
        }));
        if keywords {
            out.extend(KEYWORDS.iter().map(|k| {
                (
                    (*k).to_string(),
                    CompletionKind::Keyword,
                    "keyword".to_string(),
                )
            }));
        }
        out
    }

    /// `def age(m: Member): int` for the definition named at `span`.
    fn signature(&self, span: Span) -> String {
        match self.item(span) {
            Some(crate::ast::Item::Def(d)) => self
                .sources
                .snippet(Span {
                    end: d.ret.span.end,
                    ..d.span
                })
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            _ => "definition".to_string(),
        }
    }
}

/// The files whose names `file` sees: itself and its imports.
fn visible_files(index: &Index, file: FileId) -> Vec<FileId> {
    index
        .visible
        .get(&file)
        .cloned()
        .unwrap_or_else(|| vec![file])
}

/// Whether `offset` is inside a `//` comment or the text of a string (a
/// message hole `{...}` is code again), from its line alone: strings do not
/// span lines.
fn in_comment_or_text(text: &str, offset: usize) -> bool {
    let line_start = text
        .get(..offset)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line = text.get(line_start..offset).unwrap_or("");
    let (mut string, mut hole, mut escaped) = (false, false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            _ if escaped => escaped = false,
            '\\' if string && !hole => escaped = true,
            '"' if !hole => string = !string,
            '{' if string => hole = true,
            '}' if hole => hole = false,
            '/' if !string && chars.peek() == Some(&'/') => return true,
            _ => {}
        }
    }
    string && !hole
}
