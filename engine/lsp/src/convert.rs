//! The analysis' answers in the protocol's types: byte spans to ranges,
//! kinds to the protocol's kinds, file names to `file://` URIs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use layak_dsl::FileId;
use layak_dsl::diagnostic::Level;
use layak_dsl::ide::{
    CodeAction, Completion, CompletionKind, DocumentSymbol, Edit, Hover, SymbolKind, TokenKind,
};
use layak_dsl::source::Span;
use lsp_server::ErrorCode;
use lsp_types as lsp;
use lsp_types::{SemanticTokenModifier, SemanticTokenType, Uri};

use super::{Encoding, Server};

/// The token types of the legend, in the order their indices refer to.
const TOKEN_TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::ENUM,
    SemanticTokenType::ENUM_MEMBER,
    SemanticTokenType::STRUCT,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::NAMESPACE,
];

const TOKEN_MODIFIERS: &[SemanticTokenModifier] = &[
    SemanticTokenModifier::DECLARATION,
    SemanticTokenModifier::READONLY,
    SemanticTokenModifier::DEFAULT_LIBRARY,
];

/// What the server answers, announced at initialisation.
pub(super) fn capabilities(encoding: Encoding) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(match encoding {
            Encoding::Utf8 => lsp::PositionEncodingKind::UTF8,
            Encoding::Utf16 => lsp::PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(
            lsp::TextDocumentSyncKind::FULL,
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        rename_provider: Some(lsp::OneOf::Right(lsp::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![".".to_string()]),
            ..Default::default()
        }),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![lsp::CodeActionKind::QUICKFIX]),
                ..Default::default()
            },
        )),
        semantic_tokens_provider: Some(
            lsp::SemanticTokensServerCapabilities::SemanticTokensOptions(
                lsp::SemanticTokensOptions {
                    legend: lsp::SemanticTokensLegend {
                        token_types: TOKEN_TYPES.to_vec(),
                        token_modifiers: TOKEN_MODIFIERS.to_vec(),
                    },
                    full: Some(lsp::SemanticTokensFullOptions::Bool(true)),
                    range: None,
                    work_done_progress_options: Default::default(),
                },
            ),
        ),
        ..Default::default()
    }
}

/// The path of a `file://` URI, percent-decoded.
pub(super) fn path_of(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file://host/path` is not a local file.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(h)) => {
                out.push(h);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(PathBuf::from)
}

/// The `file://` URI of an absolute path, percent-encoded.
pub(super) fn uri_of(path: &Path) -> Option<Uri> {
    let path = path.to_str()?;
    let mut encoded = String::from("file://");
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&encoded).ok()
}

impl Server {
    pub(super) fn range(&self, span: Span) -> lsp::Range {
        self.line_index(span.file)
            .range(span.start as usize, span.end as usize)
    }

    pub(super) fn location(&self, span: Span) -> Option<lsp::Location> {
        let name = &self.analysis.sources().get(span.file)?.name;
        Some(lsp::Location::new(
            uri_of(Path::new(name))?,
            self.range(span),
        ))
    }

    pub(super) fn hover(&self, hover: &Hover) -> lsp::Hover {
        lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: hover.markdown.clone(),
            }),
            range: Some(self.range(hover.span)),
        }
    }

    #[expect(
        clippy::mutable_key_type,
        reason = "`Uri` hashes its text only; `WorkspaceEdit` is keyed by it"
    )]
    pub(super) fn workspace_edit(&self, edits: &[Edit]) -> lsp::WorkspaceEdit {
        let mut changes: HashMap<Uri, Vec<lsp::TextEdit>> = HashMap::new();
        for edit in edits {
            if let Some(location) = self.location(edit.span) {
                changes
                    .entry(location.uri)
                    .or_default()
                    .push(lsp::TextEdit::new(location.range, edit.text.clone()));
            }
        }
        lsp::WorkspaceEdit::new(changes)
    }

    pub(super) fn completion(&self, c: &Completion) -> lsp::CompletionItem {
        let kind = match c.kind {
            CompletionKind::Field => lsp::CompletionItemKind::FIELD,
            CompletionKind::Variant => lsp::CompletionItemKind::ENUM_MEMBER,
            CompletionKind::Enum => lsp::CompletionItemKind::ENUM,
            CompletionKind::Record => lsp::CompletionItemKind::STRUCT,
            CompletionKind::Subject => lsp::CompletionItemKind::VARIABLE,
            CompletionKind::Function | CompletionKind::Definition => {
                lsp::CompletionItemKind::FUNCTION
            }
            CompletionKind::Parameter => lsp::CompletionItemKind::CONSTANT,
            CompletionKind::Table => lsp::CompletionItemKind::VALUE,
            CompletionKind::Local => lsp::CompletionItemKind::VARIABLE,
            CompletionKind::Keyword => lsp::CompletionItemKind::KEYWORD,
        };
        lsp::CompletionItem {
            label: c.label.clone(),
            kind: Some(kind),
            detail: Some(c.detail.clone()),
            text_edit: Some(lsp::CompletionTextEdit::Edit(lsp::TextEdit::new(
                self.range(c.replace),
                c.label.clone(),
            ))),
            ..Default::default()
        }
    }

    #[expect(deprecated, reason = "`deprecated` is a required field of the struct")]
    pub(super) fn symbol(&self, s: &DocumentSymbol) -> lsp::DocumentSymbol {
        let kind = match s.kind {
            SymbolKind::Enum => lsp::SymbolKind::ENUM,
            SymbolKind::Variant => lsp::SymbolKind::ENUM_MEMBER,
            SymbolKind::Record => lsp::SymbolKind::STRUCT,
            SymbolKind::Field => lsp::SymbolKind::FIELD,
            SymbolKind::Subject => lsp::SymbolKind::VARIABLE,
            SymbolKind::Definition => lsp::SymbolKind::FUNCTION,
            SymbolKind::Parameter => lsp::SymbolKind::CONSTANT,
            SymbolKind::Table => lsp::SymbolKind::ARRAY,
            SymbolKind::Ruleset => lsp::SymbolKind::MODULE,
            SymbolKind::Criterion => lsp::SymbolKind::EVENT,
        };
        lsp::DocumentSymbol {
            name: s.name.clone(),
            detail: None,
            kind,
            tags: None,
            deprecated: None,
            range: self.range(s.span),
            selection_range: self.range(s.name_span),
            children: (!s.children.is_empty())
                .then(|| s.children.iter().map(|c| self.symbol(c)).collect()),
        }
    }

    pub(super) fn semantic_tokens(&self, file: FileId) -> lsp::SemanticTokens {
        let index = self.line_index(file);
        let mut data = Vec::new();
        let (mut line, mut start) = (0, 0);
        for t in self.analysis.semantic_tokens(file) {
            let (ty, mut modifiers) = match t.kind {
                TokenKind::Enum => (0, 0),
                TokenKind::Variant => (1, 0),
                TokenKind::Record => (2, 0),
                TokenKind::Field => (3, 0),
                TokenKind::Subject | TokenKind::Local => (4, 0),
                TokenKind::Parameter | TokenKind::Table => (4, 0b010),
                TokenKind::Definition => (5, 0),
                TokenKind::Function => (5, 0b100),
                TokenKind::Ruleset => (6, 0),
            };
            if t.declaration {
                modifiers |= 0b001;
            }
            let from = index.position(t.span.start as usize);
            let to = index.position(t.span.end as usize);
            if to.line != from.line {
                continue;
            }
            let delta_line = from.line - line;
            let delta_start = if delta_line == 0 {
                from.character - start
            } else {
                from.character
            };
            data.push(lsp::SemanticToken {
                delta_line,
                delta_start,
                length: to.character - from.character,
                token_type: ty,
                token_modifiers_bitset: modifiers,
            });
            (line, start) = (from.line, from.character);
        }
        lsp::SemanticTokens {
            result_id: None,
            data,
        }
    }

    /// The whole file replaced by its formatted text, or an error naming
    /// the first syntax error.
    pub(super) fn format(&self, file: FileId) -> Result<serde_json::Value, (i32, String)> {
        match self.analysis.format(file) {
            Ok(formatted) => {
                let text = self
                    .analysis
                    .sources()
                    .get(file)
                    .map_or("", |f| f.text.as_str());
                if formatted == text {
                    return Ok(serde_json::json!([]));
                }
                let range = self.line_index(file).range(0, text.len());
                Ok(serde_json::json!([lsp::TextEdit::new(range, formatted)]))
            }
            Err(diagnostics) => {
                let first = diagnostics.first().map_or(String::new(), |d| {
                    format!(
                        ": {} {} at {}",
                        d.code,
                        d.message,
                        self.analysis.sources().location(d.span)
                    )
                });
                Err((
                    ErrorCode::RequestFailed as i32,
                    format!("cannot format a file with syntax errors{first}"),
                ))
            }
        }
    }

    pub(super) fn code_action(&self, a: &CodeAction) -> lsp::CodeAction {
        lsp::CodeAction {
            title: a.title.clone(),
            kind: Some(lsp::CodeActionKind::QUICKFIX),
            edit: Some(self.workspace_edit(&a.edits)),
            is_preferred: Some(true),
            ..Default::default()
        }
    }

    pub(super) fn diagnostic(&self, d: &layak_dsl::Diagnostic) -> lsp::Diagnostic {
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        let related: Vec<lsp::DiagnosticRelatedInformation> = d
            .labels
            .iter()
            .filter_map(|l| {
                Some(lsp::DiagnosticRelatedInformation {
                    location: self.location(l.span)?,
                    message: l.message.clone(),
                })
            })
            .collect();
        lsp::Diagnostic {
            range: self.range(d.span),
            severity: Some(match d.level {
                Level::Error => lsp::DiagnosticSeverity::ERROR,
                Level::Warning => lsp::DiagnosticSeverity::WARNING,
            }),
            code: Some(lsp::NumberOrString::String(d.code.to_string())),
            source: Some("layak".to_string()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..Default::default()
        }
    }
}
