//! The outline of a file (document symbols) and the meaning of each name in
//! it (semantic tokens), for editors to show and colour.

use serde::Serialize;

use crate::ast::{self, Item, RulesetClause};
use crate::check::index::DeclKind;
use crate::source::{FileId, Span};

use super::Analysis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolKind {
    Enum,
    Variant,
    Record,
    Field,
    Subject,
    Definition,
    Parameter,
    Table,
    Ruleset,
    Criterion,
}

/// One entry of a file's outline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentSymbol {
    pub name: String,
    pub kind: SymbolKind,
    /// The whole declaration.
    pub span: Span,
    /// Its name.
    pub name_span: Span,
    pub children: Vec<DocumentSymbol>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Enum,
    Variant,
    Record,
    Field,
    Subject,
    Definition,
    /// A built-in function.
    Function,
    Parameter,
    Table,
    Ruleset,
    Local,
}

/// A name and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SemanticToken {
    pub span: Span,
    pub kind: TokenKind,
    /// The name is being declared here.
    pub declaration: bool,
}

fn symbol(
    name: &ast::Ident,
    kind: SymbolKind,
    span: Span,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    DocumentSymbol {
        name: name.name.clone(),
        kind,
        span,
        name_span: name.span,
        children,
    }
}

impl Analysis {
    /// The top-level declarations of a file, with the variants of enums,
    /// the fields of records and the criteria of rulesets inside them.
    pub fn document_symbols(&self, file: FileId) -> Vec<DocumentSymbol> {
        let Some(ast) = self.ast(file) else {
            return Vec::new();
        };
        ast.items
            .iter()
            .filter_map(|item| {
                Some(match item {
                    Item::Import(_) => return None,
                    Item::Enum(d) => {
                        let variants = d
                            .variants
                            .iter()
                            .map(|v| symbol(&v.name, SymbolKind::Variant, v.span, Vec::new()))
                            .collect();
                        symbol(&d.name, SymbolKind::Enum, d.span, variants)
                    }
                    Item::Record(d) => {
                        let fields = d
                            .fields
                            .iter()
                            .map(|f| symbol(&f.name, SymbolKind::Field, f.span, Vec::new()))
                            .collect();
                        symbol(&d.name, SymbolKind::Record, d.span, fields)
                    }
                    Item::Subject(d) => symbol(&d.name, SymbolKind::Subject, d.span, Vec::new()),
                    Item::Def(d) => symbol(&d.name, SymbolKind::Definition, d.span, Vec::new()),
                    Item::Param(d) => symbol(&d.name, SymbolKind::Parameter, d.span, Vec::new()),
                    Item::Table(d) => symbol(&d.name, SymbolKind::Table, d.span, Vec::new()),
                    Item::Ruleset(d) => {
                        let criteria = d
                            .clauses
                            .iter()
                            .filter_map(|c| match c {
                                RulesetClause::Criterion(c) => {
                                    Some(symbol(&c.code, SymbolKind::Criterion, c.span, Vec::new()))
                                }
                                _ => None,
                            })
                            .collect();
                        symbol(&d.name, SymbolKind::Ruleset, d.span, criteria)
                    }
                })
            })
            .collect()
    }

    /// Every name of a file the checker resolved, with what it is, in
    /// position order. Keywords, literals and comments are left to the
    /// editor's grammar.
    pub fn semantic_tokens(&self, file: FileId) -> Vec<SemanticToken> {
        let kind = |k: DeclKind| match k {
            DeclKind::Enum => TokenKind::Enum,
            DeclKind::Variant => TokenKind::Variant,
            DeclKind::Record => TokenKind::Record,
            DeclKind::Field => TokenKind::Field,
            DeclKind::Subject => TokenKind::Subject,
            DeclKind::Definition => TokenKind::Definition,
            DeclKind::Parameter => TokenKind::Parameter,
            DeclKind::Table => TokenKind::Table,
            DeclKind::Ruleset => TokenKind::Ruleset,
            DeclKind::Local => TokenKind::Local,
        };
        let mut tokens: Vec<SemanticToken> = self
            .index
            .decls
            .iter()
            .filter(|d| d.span.file == file)
            .map(|d| SemanticToken {
                span: d.span,
                kind: kind(d.kind),
                declaration: true,
            })
            .collect();
        tokens.extend(
            self.index
                .refs
                .iter()
                .filter(|(u, _)| u.file == file)
                .filter_map(|(u, d)| {
                    Some(SemanticToken {
                        span: *u,
                        kind: kind(self.index.decl_at(*d)?.kind),
                        declaration: false,
                    })
                }),
        );
        tokens.extend(
            self.index
                .builtins
                .iter()
                .filter(|s| s.file == file)
                .map(|s| SemanticToken {
                    span: *s,
                    kind: TokenKind::Function,
                    declaration: false,
                }),
        );
        tokens.sort_by_key(|t| (t.span.start, t.span.end));
        tokens.dedup_by(|a, b| a.span.same_place(b.span));
        tokens
    }
}
