//! The editor's services (hover, completion, go to definition, references,
//! rename, quick fixes) over `layak_dsl::ide`, the analysis behind `layak lsp` too: this
//! module only converts positions and shapes JSON.
//!
//! CodeMirror counts positions in UTF-16 code units; the analysis in bytes
//! of UTF-8. [`utf16_to_byte`] and [`byte_to_utf16`] convert, both rounding
//! a position inside a character down to its start. Every span in an answer
//! is `{"file", "from", "to"}` in UTF-16 code units of that file's text.
//!
//! The same analysis gives [`Workspace::compile`] its program and
//! diagnostics, so an edit is checked once for both the results and the
//! editor, and only the changed file is parsed again. It is brought up to
//! date when it is used, not on every `set_file`: the page sends the files
//! one by one.

use std::collections::BTreeSet;

use layak_dsl::Sources;
use layak_dsl::date::Date;
use layak_dsl::ide::{Analysis, Edit};
use layak_dsl::source::{FileId, Span};
use serde_json::{Value as Json, json};
use wasm_bindgen::prelude::*;

use crate::{Workspace, error_json, to_string};

/// The byte offset of a UTF-16 offset into `text`. A position past the end
/// is the end; one between the two halves of a surrogate pair is the start
/// of its character.
pub fn utf16_to_byte(text: &str, utf16: usize) -> usize {
    if text.is_ascii() {
        return utf16.min(text.len());
    }
    let mut units = 0;
    for (byte, c) in text.char_indices() {
        units += c.len_utf16();
        if units > utf16 {
            return byte;
        }
    }
    text.len()
}

/// The UTF-16 offset of a byte offset into `text`. A position past the end
/// is the end; one inside a character is the start of that character.
pub fn byte_to_utf16(text: &str, byte: usize) -> usize {
    if text.is_ascii() {
        return byte.min(text.len());
    }
    text.char_indices()
        .take_while(|(start, c)| start + c.len_utf8() <= byte)
        .map(|(_, c)| c.len_utf16())
        .sum()
}

/// The analysis and the files changed since it last saw them.
#[derive(Default)]
pub(crate) struct IdeState {
    analysis: Option<Analysis>,
    changed: BTreeSet<String>,
}

impl IdeState {
    /// Notes that a file was added, replaced or removed.
    pub(crate) fn changed(&mut self, name: &str) {
        if self.analysis.is_some() {
            self.changed.insert(name.to_string());
        }
    }
}

impl Workspace {
    /// The analysis of the current files: built from all of them the first
    /// time, then told only of the files that changed. A new file rebuilds
    /// it, so that its files stay in name order, as `layak` reads a rules
    /// directory.
    pub(crate) fn analysis(&mut self) -> &Analysis {
        let files = &self.files;
        let ide = &mut self.ide;
        let changed = std::mem::take(&mut ide.changed);
        if let Some(analysis) = &mut ide.analysis {
            if changed
                .iter()
                .any(|name| files.contains_key(name) && analysis.file_id(name).is_none())
            {
                ide.analysis = None;
            } else {
                for name in changed {
                    match files.get(&name) {
                        Some(text) => analysis.set_file(&name, text),
                        None => analysis.remove_file(&name),
                    }
                }
            }
        }
        ide.analysis.get_or_insert_with(|| {
            let mut sources = Sources::new();
            for (name, text) in files {
                sources.add(name.as_str(), text.as_str());
            }
            Analysis::new(sources)
        })
    }

    /// The analysis, the file's id and the byte offset of `pos` in it.
    fn at(&mut self, file: &str, pos: u32) -> Result<(&Analysis, FileId, usize), String> {
        let analysis = self.analysis();
        let id = analysis
            .file_id(file)
            .ok_or_else(|| format!("no file `{file}` in the workspace"))?;
        let text = analysis.sources().get(id).map_or("", |f| f.text.as_str());
        let offset = utf16_to_byte(text, pos as usize);
        Ok((analysis, id, offset))
    }
}

/// `{"file", "from", "to"}` of a span, in UTF-16 code units.
fn span_json(sources: &Sources, span: Span) -> Json {
    let Some(file) = sources.get(span.file) else {
        return Json::Null;
    };
    let (from, to) = utf16_range(&file.text, span);
    json!({ "file": file.name, "from": from, "to": to })
}

fn utf16_range(text: &str, span: Span) -> (usize, usize) {
    let range = span.range();
    let from = byte_to_utf16(text, range.start);
    let to = byte_to_utf16(text, range.end).max(from);
    (from, to)
}

/// `[{"file", "from", "to", "text"}]` of edits, in UTF-16 code units.
fn edits_json(sources: &Sources, edits: Vec<Edit>) -> Vec<Json> {
    edits
        .into_iter()
        .map(|edit| {
            let mut json = span_json(sources, edit.span);
            if let Some(object) = json.as_object_mut() {
                object.insert("text".into(), edit.text.into());
            }
            json
        })
        .collect()
}

fn answer(result: Result<Json, String>) -> String {
    match result {
        Ok(json) => to_string(&json),
        Err(message) => error_json(&message),
    }
}

#[wasm_bindgen]
impl Workspace {
    /// What is under `pos` (UTF-16) in `file`: `{"file", "from", "to",
    /// "markdown"}`, or `null` over nothing. `as_of` (YYYY-MM-DD, or empty)
    /// picks a parameter's value in force.
    pub fn hover(&mut self, file: &str, pos: u32, as_of: &str) -> String {
        let as_of = if as_of.is_empty() {
            None
        } else {
            match Date::parse(as_of) {
                Some(date) => Some(date),
                None => return error_json(&format!("`{as_of}` is not a date; write YYYY-MM-DD")),
            }
        };
        answer(self.at(file, pos).map(|(analysis, id, offset)| {
            match analysis.hover(id, offset, as_of) {
                Some(hover) => {
                    let mut json = span_json(analysis.sources(), hover.span);
                    if let Some(object) = json.as_object_mut() {
                        object.insert("markdown".into(), hover.markdown.into());
                    }
                    json
                }
                None => Json::Null,
            }
        }))
    }

    /// The completions at `pos` (UTF-16) in `file`: `[{"label", "kind",
    /// "detail", "from", "to"}]`, where `from`..`to` is the partly typed
    /// word a completion replaces.
    pub fn completions(&mut self, file: &str, pos: u32) -> String {
        answer(self.at(file, pos).map(|(analysis, id, offset)| {
            let text = analysis.sources().get(id).map_or("", |f| f.text.as_str());
            // Every completion usually replaces the same word: convert once.
            let mut last: Option<(Span, (usize, usize))> = None;
            let items: Vec<Json> = analysis
                .completions(id, offset)
                .into_iter()
                .map(|c| {
                    let (from, to) = match last {
                        Some((span, range)) if span.same_place(c.replace) => range,
                        _ => {
                            let range = utf16_range(text, c.replace);
                            last = Some((c.replace, range));
                            range
                        }
                    };
                    json!({
                        "label": c.label,
                        "kind": c.kind,
                        "detail": c.detail,
                        "from": from,
                        "to": to,
                    })
                })
                .collect();
            Json::Array(items)
        }))
    }

    /// Where the name under `pos` is declared: `{"file", "from", "to"}` (the
    /// declared name), or `null`.
    pub fn definition(&mut self, file: &str, pos: u32) -> String {
        answer(self.at(file, pos).map(|(analysis, id, offset)| {
            analysis
                .definition(id, offset)
                .map_or(Json::Null, |span| span_json(analysis.sources(), span))
        }))
    }

    /// Every use of the name under `pos`, its declaration included:
    /// `[{"file", "from", "to"}]`.
    pub fn references(&mut self, file: &str, pos: u32) -> String {
        answer(self.at(file, pos).map(|(analysis, id, offset)| {
            let sources = analysis.sources();
            Json::Array(
                analysis
                    .references(id, offset, true)
                    .into_iter()
                    .map(|span| span_json(sources, span))
                    .collect(),
            )
        }))
    }

    /// The name under `pos` that a rename would change: `{"file", "from",
    /// "to", "name"}`, or `null` when there is nothing to rename there.
    pub fn prepare_rename(&mut self, file: &str, pos: u32) -> String {
        answer(self.at(file, pos).map(|(analysis, id, offset)| {
            let sources = analysis.sources();
            match analysis.prepare_rename(id, offset) {
                Some(span) => {
                    let mut json = span_json(sources, span);
                    if let Some(object) = json.as_object_mut() {
                        object.insert("name".into(), sources.snippet(span).into());
                    }
                    json
                }
                None => Json::Null,
            }
        }))
    }

    /// Renames the name under `pos` to `new_name`: `{"edits": [{"file",
    /// "from", "to", "text"}]}` over every file (the page applies them), or
    /// `{"error": message}` when the name cannot be renamed or `new_name`
    /// is not a valid new name there.
    pub fn rename(&mut self, file: &str, pos: u32, new_name: &str) -> String {
        answer(self.at(file, pos).and_then(|(analysis, id, offset)| {
            let sources = analysis.sources();
            let edits = analysis
                .rename(id, offset, new_name)
                .map_err(|e| e.message)?;
            Ok(json!({ "edits": edits_json(sources, edits) }))
        }))
    }

    /// The quick fixes for the diagnostics that overlap `from`..`to`
    /// (UTF-16) of `file`: `[{"title", "code", "edits": [{"file", "from",
    /// "to", "text"}]}]`, each "did you mean" name of a diagnostic.
    pub fn code_actions(&mut self, file: &str, from: u32, to: u32) -> String {
        answer(self.at(file, from).map(|(analysis, id, start)| {
            let sources = analysis.sources();
            let text = sources.get(id).map_or("", |f| f.text.as_str());
            let end = utf16_to_byte(text, to as usize).max(start);
            Json::Array(
                analysis
                    .code_actions(id, start, end)
                    .into_iter()
                    .map(|action| {
                        json!({
                            "title": action.title,
                            "code": action.code,
                            "edits": edits_json(sources, action.edits),
                        })
                    })
                    .collect(),
            )
        }))
    }
}
