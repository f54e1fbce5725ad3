//! What the checker learns about names while it resolves them, kept for the
//! editor layer ([`crate::ide`]): every declaration, every use it resolved
//! with the declaration it found, and the places where completion needs the
//! checker's view (the record before a `.`, the locals in scope at a name).
//!
//! A declaration is known by the span of its name; a use points at that
//! span. The index is a by-product: building it changes no diagnostic and
//! no IR.

use std::collections::HashMap;

use serde::Serialize;

use crate::ir::{EnumId, RecordId};
use crate::source::{FileId, Span};

/// What a declared name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeclKind {
    Enum,
    Variant,
    Record,
    Field,
    Subject,
    Definition,
    Parameter,
    Table,
    Ruleset,
    /// A definition's parameter, a `let`, the variable of an aggregate or
    /// a `for`.
    Local,
}

/// One declared name.
#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    pub name: String,
    pub kind: DeclKind,
    /// The name where it is declared.
    pub span: Span,
    /// Its type as written in messages (`int?`, `list<Member>`), where it
    /// has one: fields, parameters, locals; a subject's record.
    pub ty: Option<String>,
    /// The record of a field, the enum of a variant.
    pub container: Option<String>,
}

/// A name the checker could not resolve as a value or a call, with what
/// was in scope there: completion asks for these.
#[derive(Debug, Clone, PartialEq)]
pub struct NameSite {
    pub span: Span,
    /// The locals in scope, innermost first, with their types.
    pub locals: Vec<(String, String)>,
    /// Written as a call: `name(...)`.
    pub call: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Index {
    /// Every declaration, in no particular order.
    pub decls: Vec<Decl>,
    /// Every resolved use: (the use, the declaration's name).
    pub refs: Vec<(Span, Span)>,
    /// The names of calls to built-in functions.
    pub builtins: Vec<Span>,
    /// `base.name` where `base` is a record (or a list of records): the
    /// name's span and the record, whether the field exists or not.
    pub field_sites: Vec<(Span, RecordId)>,
    /// `Enum.name` and match patterns: the name's span and the enum.
    pub variant_sites: Vec<(Span, EnumId)>,
    pub name_sites: Vec<NameSite>,
    /// The names of the records and enums, by id.
    pub record_names: Vec<String>,
    pub enum_names: Vec<String>,
    /// For each file, the files whose top-level names it sees.
    pub visible: HashMap<FileId, Vec<FileId>>,
}

impl Index {
    /// Sorts every list by position and drops repeats (the checker may
    /// look at one expression twice).
    pub(super) fn finish(&mut self) {
        let key = |s: &Span| (s.file, s.start, s.end);
        self.decls.sort_by_key(|d| key(&d.span));
        self.decls.dedup_by(|a, b| a.span.same_place(b.span));
        self.refs.sort_by_key(|(u, d)| (key(u), key(d)));
        self.refs
            .dedup_by(|a, b| a.0.same_place(b.0) && a.1.same_place(b.1));
        self.builtins.sort_by_key(key);
        self.builtins.dedup_by(|a, b| a.same_place(*b));
        self.field_sites.sort_by_key(|(s, _)| key(s));
        self.field_sites.dedup_by(|a, b| a.0.same_place(b.0));
        self.variant_sites.sort_by_key(|(s, _)| key(s));
        self.variant_sites.dedup_by(|a, b| a.0.same_place(b.0));
        self.name_sites.sort_by_key(|n| key(&n.span));
        self.name_sites.dedup_by(|a, b| a.span.same_place(b.span));
    }

    /// The declaration whose name is exactly at `span`.
    pub fn decl_at(&self, span: Span) -> Option<&Decl> {
        let key = (span.file, span.start, span.end);
        self.decls
            .binary_search_by_key(&key, |d| (d.span.file, d.span.start, d.span.end))
            .ok()
            .and_then(|i| self.decls.get(i))
    }
}
