//! Go to definition, find references and rename, all from the checker's
//! index: a use points at the span of the name it resolved to.

use serde::Serialize;

use crate::check::index::DeclKind;
use crate::source::{FileId, Span};

use super::{Analysis, Edit};

/// Why a rename cannot be done.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenameError {
    pub message: String,
}

fn refuse(message: impl Into<String>) -> RenameError {
    RenameError {
        message: message.into(),
    }
}

/// The words the grammar keeps for itself (`layak.pest`, `keyword`).
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "if", "then", "else", "match", "in", "where", "true", "false", "for", "let",
];

impl Analysis {
    /// The declaration of the name at `offset`: the span of its name.
    pub fn definition(&self, file: FileId, offset: usize) -> Option<Span> {
        self.symbol_at(file, offset).map(|(_, d)| d.span)
    }

    /// Every use of the name at `offset`, in file and position order, and
    /// its declaration first when asked.
    pub fn references(&self, file: FileId, offset: usize, include_declaration: bool) -> Vec<Span> {
        let Some((_, decl)) = self.symbol_at(file, offset) else {
            return Vec::new();
        };
        let mut spans: Vec<Span> = include_declaration
            .then_some(decl.span)
            .into_iter()
            .collect();
        spans.extend(
            self.index
                .refs
                .iter()
                .filter(|(_, d)| d.same_place(decl.span))
                .map(|(u, _)| *u),
        );
        spans
    }

    /// The name under the cursor, if it can be renamed.
    pub fn prepare_rename(&self, file: FileId, offset: usize) -> Option<Span> {
        let (span, decl) = self.symbol_at(file, offset)?;
        (decl.kind != DeclKind::Field).then_some(span)
    }

    /// The edits that rename the name at `offset` and every use of it,
    /// across files.
    pub fn rename(
        &self,
        file: FileId,
        offset: usize,
        new_name: &str,
    ) -> Result<Vec<Edit>, RenameError> {
        let Some((_, decl)) = self.symbol_at(file, offset) else {
            return Err(refuse("there is no name to rename here"));
        };
        if decl.kind == DeclKind::Field {
            return Err(refuse(format!(
                "`{}` is a field: its name is its key in the household records, so renaming it would change the interchange format",
                decl.name
            )));
        }
        let mut chars = new_name.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(refuse(format!(
                "`{new_name}` is not a name: start with a letter or `_`, then letters, digits or `_`"
            )));
        }
        if KEYWORDS.contains(&new_name)
            || new_name == "as_of"
            || super::hover::builtin(new_name).is_some()
        {
            return Err(refuse(format!("`{new_name}` is reserved")));
        }
        if new_name == decl.name {
            return Ok(Vec::new());
        }
        let clash = self.index.decls.iter().find(|d| {
            d.name == new_name
                && match decl.kind {
                    DeclKind::Variant => {
                        d.kind == DeclKind::Variant && d.container == decl.container
                    }
                    // Another local of the same body, or a top-level name
                    // the uses would then stop seeing.
                    DeclKind::Local => match d.kind {
                        DeclKind::Local => self.body_of(d.span) == self.body_of(decl.span),
                        kind => !matches!(kind, DeclKind::Field | DeclKind::Variant),
                    },
                    _ => !matches!(
                        d.kind,
                        DeclKind::Field | DeclKind::Variant | DeclKind::Local
                    ),
                }
        });
        if let Some(other) = clash {
            return Err(refuse(format!(
                "`{new_name}` is already declared at {}",
                self.sources.location(other.span)
            )));
        }
        Ok(self
            .references(decl.span.file, decl.span.start as usize, true)
            .into_iter()
            .map(|span| Edit {
                span,
                text: new_name.to_string(),
            })
            .collect())
    }

    /// The start of the top-level item whose text holds `span`.
    fn body_of(&self, span: Span) -> Option<u32> {
        self.ast(span.file)?
            .items
            .iter()
            .map(|i| i.span())
            .find(|s| s.start <= span.start && span.end <= s.end)
            .map(|s| s.start)
    }
}
