//! `layak lsp`: a Language Server Protocol server over stdio. The protocol
//! is rust-analyzer's `lsp-server` with the `lsp-types` messages; every
//! answer comes from one [`Analysis`] of a rules directory, read as
//! `layak check DIR` reads it, with the editor's unsaved text in place of
//! the files it has open.
//!
//! Which directory: the workspace folder when it holds rule files itself,
//! else the folder of the rule file opened. One directory at a time: opening
//! a rule file from another directory (a test corpus, a second rules tree)
//! switches to that one, as its files would clash with the first's names.
//!
//! The loop is single-threaded: a check of the shipped rules takes a few
//! milliseconds, so every request is answered from an analysis that is up to
//! date with every change before it.

mod convert;
mod position;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use layak_dsl::date::Date;
use layak_dsl::ide::Analysis;
use layak_dsl::{FileId, Sources};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    PrepareRenameRequest, References, Rename, Request as _, SemanticTokensFullRequest,
};
use lsp_types::{InitializeParams, PositionEncodingKind, TextDocumentPositionParams, Uri};
use serde::de::DeserializeOwned;

pub use position::{Encoding, LineIndex};

/// Runs the server on stdin and stdout until the client says `exit`.
pub fn serve_stdio() -> Result<()> {
    let (connection, io_threads) = Connection::stdio();
    serve(&connection)?;
    drop(connection);
    io_threads.join().context("closing stdin and stdout")?;
    Ok(())
}

/// Runs the server on a connection: the handshake, then requests and
/// notifications until `shutdown` and `exit`.
pub fn serve(connection: &Connection) -> Result<()> {
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams =
        serde_json::from_value(params).context("reading `initialize`")?;
    let encoding = negotiate(&params);
    let capabilities = convert::capabilities(encoding);
    connection.initialize_finish(
        id,
        serde_json::json!({
            "capabilities": capabilities,
            "serverInfo": { "name": "layak", "version": env!("CARGO_PKG_VERSION") },
        }),
    )?;
    let mut server = Server::new(&params, encoding);
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    return Ok(());
                }
                let response = server.request(request);
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(n) => {
                for out in server.notification(n) {
                    connection.sender.send(Message::Notification(out))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

/// UTF-8 columns when the client offers them, else the default UTF-16.
fn negotiate(params: &InitializeParams) -> Encoding {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref());
    if offered.is_some_and(|kinds| kinds.contains(&PositionEncodingKind::UTF8)) {
        Encoding::Utf8
    } else {
        Encoding::Utf16
    }
}

/// The server's state: the analysis, and what it told the client.
struct Server {
    analysis: Analysis,
    /// The rules directory loaded.
    root: Option<PathBuf>,
    encoding: Encoding,
    /// The date parameter values are shown for.
    as_of: Date,
    /// The files diagnostics were last published for.
    published: BTreeSet<String>,
    /// The files the editor has open, with their text: their diagnostics
    /// are published after every change, even when there are none.
    open: std::collections::BTreeMap<String, String>,
}

impl Server {
    fn new(params: &InitializeParams, encoding: Encoding) -> Server {
        let as_of = params
            .initialization_options
            .as_ref()
            .and_then(|o| o.get("asOf"))
            .and_then(|v| v.as_str())
            .and_then(Date::parse)
            .unwrap_or_else(today);
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| convert::path_of(&f.uri))
            .collect();
        #[expect(deprecated, reason = "older clients send only `rootUri`")]
        if roots.is_empty()
            && let Some(root) = params.root_uri.as_ref().and_then(convert::path_of)
        {
            roots.push(root);
        }
        let mut server = Server {
            analysis: Analysis::new(Sources::new()),
            root: None,
            encoding,
            as_of,
            published: BTreeSet::new(),
            open: std::collections::BTreeMap::new(),
        };
        if let Some(root) = roots.into_iter().find(|r| holds_rules(r)) {
            server.load(&root);
        }
        server
    }

    /// Makes a directory's rule files and tables the analysis, with the
    /// open files' text in place of what is on disk.
    fn load(&mut self, dir: &Path) {
        let mut sources = Sources::new();
        if let Ok(files) = layak_host::load::collect_files(&[dir.to_path_buf()]) {
            for file in files {
                if let Ok(bytes) = std::fs::read(&file) {
                    sources.add_bytes(layak_host::load::source_name(&file), &bytes);
                }
            }
        }
        let prefix = format!("{}/", layak_host::load::source_name(dir));
        for (name, text) in &self.open {
            if name.starts_with(&prefix) && sources.find(name).is_some() {
                sources.add(name.clone(), text.clone());
            }
        }
        self.analysis = Analysis::new(sources);
        self.root = Some(dir.to_path_buf());
    }

    fn request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        let answer = match request.method.as_str() {
            HoverRequest::METHOD => self.with_position(request, |s, file, offset| {
                s.analysis
                    .hover(file, offset, Some(s.as_of))
                    .map(|h| s.hover(&h))
            }),
            GotoDefinition::METHOD => self.with_position(request, |s, file, offset| {
                s.analysis
                    .definition(file, offset)
                    .and_then(|span| s.location(span))
            }),
            References::METHOD => parse::<lsp_types::ReferenceParams>(request).map(|p| {
                let found = self.at(&p.text_document_position).map(|(file, offset)| {
                    self.analysis
                        .references(file, offset, p.context.include_declaration)
                        .into_iter()
                        .filter_map(|span| self.location(span))
                        .collect::<Vec<_>>()
                });
                serde_json::json!(found)
            }),
            PrepareRenameRequest::METHOD => self.with_position(request, |s, file, offset| {
                s.analysis
                    .prepare_rename(file, offset)
                    .map(|span| s.range(span))
            }),
            Rename::METHOD => match parse::<lsp_types::RenameParams>(request) {
                Ok(p) => match self.at(&p.text_document_position) {
                    Some((file, offset)) => match self.analysis.rename(file, offset, &p.new_name) {
                        Ok(edits) => Ok(serde_json::json!(self.workspace_edit(&edits))),
                        Err(e) => Err((ErrorCode::RequestFailed as i32, e.message)),
                    },
                    None => Ok(serde_json::Value::Null),
                },
                Err(e) => Err(e),
            },
            Completion::METHOD => parse::<lsp_types::CompletionParams>(request).map(|p| {
                let items = self
                    .at(&p.text_document_position)
                    .map(|(file, offset)| {
                        self.analysis
                            .completions(file, offset)
                            .iter()
                            .map(|c| self.completion(c))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                serde_json::json!(items)
            }),
            DocumentSymbolRequest::METHOD => {
                parse::<lsp_types::DocumentSymbolParams>(request).map(|p| {
                    let symbols = self.file_of(&p.text_document.uri).map(|file| {
                        self.analysis
                            .document_symbols(file)
                            .iter()
                            .map(|s| self.symbol(s))
                            .collect::<Vec<_>>()
                    });
                    serde_json::json!(symbols)
                })
            }
            SemanticTokensFullRequest::METHOD => parse::<lsp_types::SemanticTokensParams>(request)
                .map(|p| {
                    let tokens = self
                        .file_of(&p.text_document.uri)
                        .map(|file| self.semantic_tokens(file));
                    serde_json::json!(tokens)
                }),
            Formatting::METHOD => match parse::<lsp_types::DocumentFormattingParams>(request) {
                Ok(p) => match self.file_of(&p.text_document.uri) {
                    Some(file) => self.format(file),
                    None => Ok(serde_json::Value::Null),
                },
                Err(e) => Err(e),
            },
            CodeActionRequest::METHOD => parse::<lsp_types::CodeActionParams>(request).map(|p| {
                let actions = self.file_of(&p.text_document.uri).map(|file| {
                    let index = self.line_index(file);
                    let (start, end) = (index.offset(p.range.start), index.offset(p.range.end));
                    self.analysis
                        .code_actions(file, start, end)
                        .iter()
                        .map(|a| self.code_action(a))
                        .collect::<Vec<_>>()
                });
                serde_json::json!(actions)
            }),
            method => Err((
                ErrorCode::MethodNotFound as i32,
                format!("`layak lsp` does not answer `{method}`"),
            )),
        };
        match answer {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code, message),
        }
    }

    /// Parses a request's position and answers from it (`null` when the
    /// file is not one of the analysis').
    fn with_position<T: serde::Serialize>(
        &self,
        request: Request,
        answer: impl FnOnce(&Server, FileId, usize) -> Option<T>,
    ) -> Result<serde_json::Value, (i32, String)> {
        let p: TextDocumentPositionParams = parse(request)?;
        Ok(serde_json::json!(
            self.at(&p)
                .and_then(|(file, offset)| answer(self, file, offset))
        ))
    }

    fn notification(&mut self, n: Notification) -> Vec<Notification> {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params)
                    && let Some(path) = convert::path_of(&p.text_document.uri)
                {
                    let name = layak_host::load::source_name(&path);
                    self.open.insert(name.clone(), p.text_document.text.clone());
                    let loaded = self.analysis.file_id(&name).is_some()
                        || self
                            .root
                            .as_deref()
                            .is_some_and(|r| path.parent() == Some(r));
                    if !loaded && let Some(dir) = path.parent() {
                        self.load(dir);
                    }
                    self.analysis.set_file(&name, &p.text_document.text);
                }
                self.publish()
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
                    && let Some(path) = convert::path_of(&p.text_document.uri)
                    // Full synchronisation: the last change is the whole text.
                    && let Some(change) = p.content_changes.last()
                {
                    let name = layak_host::load::source_name(&path);
                    if let Some(open) = self.open.get_mut(&name) {
                        open.clone_from(&change.text);
                    }
                    if self.analysis.file_id(&name).is_some() {
                        self.analysis.set_file(&name, &change.text);
                    }
                }
                self.publish()
            }
            DidChangeWatchedFiles::METHOD => {
                // Files changed on disk (a `git checkout`, another editor):
                // the ones the editor does not have open are read again.
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeWatchedFilesParams>(n.params)
                {
                    for change in p.changes {
                        let Some(path) = convert::path_of(&change.uri) else {
                            continue;
                        };
                        let name = layak_host::load::source_name(&path);
                        // What `layak check DIR` would read: rule files and
                        // tables under the loaded directory, not its tests.
                        let read = self.root.as_deref().is_some_and(|r| {
                            path.strip_prefix(r).is_ok_and(|rest| {
                                !rest.components().any(|c| c.as_os_str() == "tests")
                            })
                        }) && path.extension().is_some_and(|e| e == "lyk" || e == "txt");
                        if self.open.contains_key(&name) || !read {
                            continue;
                        }
                        match std::fs::read(&path) {
                            Ok(bytes) => self
                                .analysis
                                .set_file(&name, &String::from_utf8_lossy(&bytes)),
                            Err(_) => self.analysis.remove_file(&name),
                        }
                    }
                }
                self.publish()
            }
            DidCloseTextDocument::METHOD => {
                // The file on disk is what the rules are again.
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params)
                    && let Some(path) = convert::path_of(&p.text_document.uri)
                {
                    let name = layak_host::load::source_name(&path);
                    self.open.remove(&name);
                    if self.analysis.file_id(&name).is_some() {
                        match std::fs::read_to_string(&path) {
                            Ok(text) => self.analysis.set_file(&name, &text),
                            Err(_) => self.analysis.remove_file(&name),
                        }
                    }
                }
                self.publish()
            }
            _ => Vec::new(),
        }
    }

    /// Diagnostics for every rule file that has some, is open, or had
    /// some before (an empty list clears them).
    fn publish(&mut self) -> Vec<Notification> {
        let mut by_file: std::collections::BTreeMap<String, Vec<lsp_types::Diagnostic>> = self
            .analysis
            .sources()
            .iter()
            .filter(|(_, f)| f.name.ends_with(".lyk"))
            .map(|(_, f)| (f.name.clone(), Vec::new()))
            .collect();
        for d in self.analysis.diagnostics() {
            if let Some(file) = self.analysis.sources().get(d.span.file)
                && let Some(list) = by_file.get_mut(&file.name)
            {
                list.push(self.diagnostic(d));
            }
        }
        let mut out = Vec::new();
        let now: BTreeSet<String> = by_file
            .iter()
            .filter(|(_, l)| !l.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        for (name, diagnostics) in by_file {
            if diagnostics.is_empty()
                && !self.published.contains(&name)
                && !self.open.contains_key(&name)
            {
                continue;
            }
            if let Some(uri) = convert::uri_of(Path::new(&name)) {
                out.push(Notification::new(
                    PublishDiagnostics::METHOD.to_string(),
                    lsp_types::PublishDiagnosticsParams::new(uri, diagnostics, None),
                ));
            }
        }
        // Files of a directory no longer loaded.
        for name in self.published.difference(&now) {
            if self.analysis.file_id(name).is_none()
                && let Some(uri) = convert::uri_of(Path::new(name))
            {
                out.push(Notification::new(
                    PublishDiagnostics::METHOD.to_string(),
                    lsp_types::PublishDiagnosticsParams::new(uri, Vec::new(), None),
                ));
            }
        }
        self.published = now;
        out
    }

    /// The file and byte offset of a position.
    fn at(&self, p: &TextDocumentPositionParams) -> Option<(FileId, usize)> {
        let file = self.file_of(&p.text_document.uri)?;
        Some((file, self.line_index(file).offset(p.position)))
    }

    fn file_of(&self, uri: &Uri) -> Option<FileId> {
        let path = convert::path_of(uri)?;
        self.analysis.file_id(&layak_host::load::source_name(&path))
    }

    fn line_index(&self, file: FileId) -> LineIndex<'_> {
        let text = self
            .analysis
            .sources()
            .get(file)
            .map_or("", |f| f.text.as_str());
        LineIndex::new(text, self.encoding)
    }
}

/// Whether a directory has rule files of its own (not only below it).
fn holds_rules(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "lyk"))
    })
}

/// A request's parameters, or an `InvalidParams` error.
fn parse<P: DeserializeOwned>(request: Request) -> Result<P, (i32, String)> {
    serde_json::from_value(request.params).map_err(|e| {
        (
            ErrorCode::InvalidParams as i32,
            format!("`{}`: {e}", request.method),
        )
    })
}

/// Today's date (UTC).
fn today() -> Date {
    let now = jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    Date::from_ymd(now.year().into(), now.month().into(), now.day().into())
        .unwrap_or(Date::UNIX_EPOCH)
}
