//! The editor layer: one analysis of a rules directory behind every editor
//! (`layak lsp`, the playground), in the spirit of rust-analyzer's `ide`
//! crate. It answers diagnostics, hover, go to definition, references,
//! rename, completion, document symbols, semantic tokens, formatting and
//! quick fixes.
//!
//! Everything is computed from one check of all files ([`crate::check`]
//! with its [`Index`]). Positions are byte offsets into a file's text;
//! callers convert from their editor's columns. The analysis is
//! incremental where it pays: a changed file is parsed again, the others
//! keep their trees; the check runs over all of them (a few milliseconds
//! for the shipped rules).

mod complete;
mod hover;
mod navigate;
mod symbols;

use serde::Serialize;

use crate::ast;
use crate::check::index::{Decl, Index};
use crate::diagnostic::{self, Diagnostic};
use crate::ir::Program;
use crate::source::{FileId, Sources, Span};

pub use complete::{Completion, CompletionKind};
pub use hover::Hover;
pub use navigate::RenameError;
pub use symbols::{DocumentSymbol, SemanticToken, SymbolKind, TokenKind};

/// A replacement of a span's bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edit {
    pub span: Span,
    pub text: String,
}

/// A quick fix: edits that resolve a diagnostic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeAction {
    pub title: String,
    pub code: &'static str,
    pub edits: Vec<Edit>,
}

/// The analysis of one set of rule files.
#[derive(Debug, Clone)]
pub struct Analysis {
    sources: Sources,
    /// Each rule file's tree, kept until its text changes, in file order:
    /// the very slice the checker reads.
    files: Vec<(FileId, ast::File)>,
    /// Each rule file's syntax diagnostics, beside its tree.
    parse_diagnostics: Vec<(FileId, Vec<Diagnostic>)>,
    program: Option<Program>,
    diagnostics: Vec<Diagnostic>,
    index: Index,
}

impl Analysis {
    /// Parses and checks every file of `sources`.
    pub fn new(sources: Sources) -> Analysis {
        let mut analysis = Analysis {
            sources,
            files: Vec::new(),
            parse_diagnostics: Vec::new(),
            program: None,
            diagnostics: Vec::new(),
            index: Index::default(),
        };
        let ids: Vec<FileId> = analysis.sources.iter().map(|(id, _)| id).collect();
        for id in ids {
            analysis.parse(id);
        }
        analysis.check();
        analysis
    }

    /// Adds or replaces one file: only it is parsed again.
    pub fn set_file(&mut self, name: &str, text: &str) {
        if self
            .sources
            .find(name)
            .and_then(|id| self.sources.get(id))
            .is_some_and(|f| f.text == text)
        {
            return;
        }
        let id = self.sources.add(name, text);
        self.files.retain(|(f, _)| *f != id);
        self.parse_diagnostics.retain(|(f, _)| *f != id);
        self.parse(id);
        self.files.sort_by_key(|(f, _)| *f);
        self.parse_diagnostics.sort_by_key(|(f, _)| *f);
        self.check();
    }

    /// Removes a file. File ids are positions, so the others are numbered
    /// again and parsed again.
    pub fn remove_file(&mut self, name: &str) {
        if self.sources.find(name).is_none() {
            return;
        }
        let mut sources = Sources::new();
        for (_, f) in self.sources.iter().filter(|(_, f)| f.name != name) {
            sources.add(f.name.clone(), f.text.clone());
        }
        *self = Analysis::new(sources);
    }

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    pub fn file_id(&self, name: &str) -> Option<FileId> {
        self.sources.find(name)
    }

    /// Every diagnostic, as [`crate::compile`] gives them.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The checked program, when there are no errors.
    pub fn program(&self) -> Option<&Program> {
        self.program.as_ref()
    }

    /// The formatted text of a file, or its syntax errors.
    pub fn format(&self, file: FileId) -> Result<String, Vec<Diagnostic>> {
        let text = self.text(file);
        crate::fmt::format_source(file, text)
    }

    /// Quick fixes for the diagnostics that overlap `start..end` of a file:
    /// each "did you mean" suggestion.
    pub fn code_actions(&self, file: FileId, start: usize, end: usize) -> Vec<CodeAction> {
        self.diagnostics
            .iter()
            .filter(|d| {
                d.span.file == file && d.span.start as usize <= end && start <= d.span.end as usize
            })
            .filter_map(|d| {
                let name = d.suggestion.as_deref()?;
                Some(CodeAction {
                    title: format!("Change to `{name}`"),
                    code: d.code,
                    edits: vec![Edit {
                        span: d.span,
                        text: name.to_string(),
                    }],
                })
            })
            .collect()
    }

    /// Parses one rule file (nothing for a data file or one that is not
    /// UTF-8, whose E0006 `check` gives).
    fn parse(&mut self, id: FileId) {
        let Some(f) = self.sources.get(id) else {
            return;
        };
        if !f.name.ends_with(".lyk") || f.not_utf8_at.is_some() {
            return;
        }
        let (ast, diagnostics) = crate::syntax::parse_file(id, &f.text);
        self.files.push((id, ast));
        self.parse_diagnostics.push((id, diagnostics));
    }

    fn check(&mut self) {
        // In file order, as `compile` gives them.
        let mut diagnostics = Vec::new();
        for (id, f) in self
            .sources
            .iter()
            .filter(|(_, f)| f.name.ends_with(".lyk"))
        {
            match crate::limits::not_utf8(id, f) {
                Some(d) => diagnostics.push(d),
                None => diagnostics.extend(
                    self.parse_diagnostics
                        .iter()
                        .filter(|(f, _)| *f == id)
                        .flat_map(|(_, d)| d.iter().cloned()),
                ),
            }
        }
        let (program, diags, index) = crate::check_parsed(&self.sources, &self.files);
        diagnostics.extend(diags);
        self.program = program.filter(|_| !diagnostic::has_errors(&diagnostics));
        self.diagnostics = diagnostics;
        self.index = index;
    }

    fn text(&self, file: FileId) -> &str {
        self.sources.get(file).map_or("", |f| f.text.as_str())
    }

    fn ast(&self, file: FileId) -> Option<&ast::File> {
        self.files
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, ast)| ast)
    }

    /// The declaration a name at `offset` declares or refers to, and the
    /// span of that name.
    fn symbol_at(&self, file: FileId, offset: usize) -> Option<(Span, &Decl)> {
        let at =
            |s: &Span| s.file == file && s.start as usize <= offset && offset <= s.end as usize;
        if let Some((use_, decl)) = self.index.refs.iter().find(|(u, _)| at(u)) {
            return self.index.decl_at(*decl).map(|d| (*use_, d));
        }
        self.index
            .decls
            .iter()
            .find(|d| at(&d.span))
            .map(|d| (d.span, d))
    }
}

/// Whether `c` can be part of a name.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The span of the name that `offset` is in or just after.
fn word_at(text: &str, file: FileId, offset: usize) -> Span {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or("");
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name_char(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    let after = text.get(offset..).unwrap_or("");
    let end = offset + after.find(|c| !is_name_char(c)).unwrap_or(after.len());
    Span::new(file, start, end)
}
