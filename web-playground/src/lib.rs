//! The browser playground's bridge to `layak-dsl`: the same checker, wasm
//! compiler and host-side ABI (encode a batch, decode the result block) as
//! the CLI and the server, returning the same JSON. The page runs the
//! compiled module on the browser's own WebAssembly; this crate never
//! evaluates a household itself.
//!
//! ```
//! use layak_playground::Workspace;
//! let mut ws = Workspace::new();
//! ws.set_file("rules.lyk", r#"
//!     record Household key record_id { record_id: text, size: int? }
//!     subject household: Household
//!     ruleset size {
//!       stage verification
//!       for each household
//!       criterion NOT_EMPTY blocking {
//!         require household.size ?? 0 > 0
//!         message id "rumah tangga kosong"
//!         message en "the household is empty"
//!       }
//!     }
//! "#);
//! let compiled = ws.compile();
//! assert!(compiled.ok(), "{}", compiled.diagnostics());
//! let module = compiled.module().unwrap_or_default();
//! assert!(module.starts_with(b"\0asm"));
//! let prepared = compiled.prepare(r#"{"record_id":"A","size":2}"#, "2025-10-01", "{}");
//! assert!(prepared.is_ok());
//! ```
//!
//! Every function answers in JSON; errors are the CLI's shapes (diagnostics
//! as `layak check --format json`, malformed households with their JSON
//! paths), never a panic.

use std::collections::BTreeMap;
use std::rc::Rc;

use layak_dsl::decision::HouseholdDecision;
use layak_dsl::eval::EvalContext;
use layak_dsl::ir::{Lit, Program, Type};
use layak_dsl::record::{UnknownFields, decode_line_with};
use layak_dsl::value::Value;
use layak_dsl::{Diagnostic, Sources};
use serde_json::{Value as Json, json};
use wasm_bindgen::prelude::*;

mod describe;

/// The rule files and reference tables of one playground session. Files
/// are kept here so the page sends only what changed (the region tables are
/// half a megabyte).
#[wasm_bindgen]
#[derive(Default)]
pub struct Workspace {
    files: BTreeMap<String, String>,
}

#[wasm_bindgen]
impl Workspace {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Workspace {
        Workspace::default()
    }

    /// Adds or replaces a file (`rules/pkh.lyk`, `rules/tables/villages.txt`).
    pub fn set_file(&mut self, name: &str, text: &str) {
        self.files.insert(name.to_string(), text.to_string());
    }

    pub fn remove_file(&mut self, name: &str) {
        self.files.remove(name);
    }

    /// Parses and checks every file, in name order as `layak` reads a rules
    /// directory.
    pub fn compile(&self) -> Compiled {
        let mut sources = Sources::new();
        for (name, text) in &self.files {
            sources.add(name.as_str(), text.as_str());
        }
        let (program, diagnostics) = layak_dsl::compile(&sources);
        Compiled {
            sources,
            program: program.map(Rc::new),
            diagnostics,
        }
    }
}

/// The result of a compilation: the diagnostics, and the program when
/// there are no errors.
#[wasm_bindgen]
pub struct Compiled {
    sources: Sources,
    program: Option<Rc<Program>>,
    diagnostics: Vec<Diagnostic>,
}

#[wasm_bindgen]
impl Compiled {
    /// Whether the rules compiled without errors.
    pub fn ok(&self) -> bool {
        self.program.is_some()
    }

    /// Every diagnostic as `layak check --format json` gives it.
    pub fn diagnostics(&self) -> String {
        let json: Vec<_> = self
            .diagnostics
            .iter()
            .map(|d| layak_dsl::diagnostic::to_json(&self.sources, d))
            .collect();
        to_string(&json)
    }

    /// The WebAssembly module of the whole program (`docs/abi.md`), the
    /// same bytes the server runs; `undefined` when the rules have errors
    /// (or the module would pass the size limit, E0906).
    pub fn module(&self) -> Option<Vec<u8>> {
        self.program
            .as_deref()
            .and_then(|p| layak_dsl::wasm::compile_module_checked(p).ok())
    }

    /// The parameters with their dated entries, for the page's controls.
    pub fn params(&self) -> String {
        self.program
            .as_deref()
            .map_or_else(|| "[]".to_string(), |p| to_string(&describe::params(p)))
    }

    /// Where each criterion is written, to highlight a failing one.
    pub fn criteria(&self) -> String {
        self.program.as_deref().map_or_else(
            || "[]".to_string(),
            |p| to_string(&describe::criteria(p, &self.sources)),
        )
    }

    /// The record schema, for the household form.
    pub fn schema(&self) -> String {
        self.program
            .as_deref()
            .map_or_else(|| "{}".to_string(), |p| to_string(&describe::schema(p)))
    }

    /// Decodes NDJSON households against the schema and fixes the
    /// evaluation context: `as_of` (YYYY-MM-DD) and parameter overrides
    /// `{"NAME": "VALUE"}` in `--param` syntax. Fails with
    /// `{"error": message}` when the rules have errors or `as_of` or an
    /// override is wrong; a malformed household is not an error here, it is
    /// reported per line by [`Prepared::decode`].
    pub fn prepare(
        &self,
        households: &str,
        as_of: &str,
        params_json: &str,
    ) -> Result<Prepared, String> {
        let Some(program) = self.program.clone() else {
            return Err(error_json("the rules have errors"));
        };
        let as_of = layak_dsl::date::Date::parse(as_of)
            .ok_or_else(|| error_json(&format!("`{as_of}` is not a date; write YYYY-MM-DD")))?;
        let params: BTreeMap<String, String> = serde_json::from_str(params_json)
            .map_err(|e| error_json(&format!("parameters: {e}")))?;
        let mut ctx = EvalContext::new(as_of);
        for (name, value) in params {
            let (name, lit) = layak_dsl::eval::parse_override(&program, &format!("{name}={value}"))
                .map_err(|e| error_json(&format!("`{name}={value}`: {e}")))?;
            ctx.overrides.insert(name, lit);
        }
        let mut lines = Vec::new();
        let mut decoded = Vec::new();
        let mut unknown = UnknownFields::default();
        for (index, line) in households.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let line_no = index + 1;
            match decode_line_with(&program.schema, line, &mut unknown) {
                Ok(household) => {
                    lines.push(Line::Household(line_no));
                    decoded.push(household);
                }
                Err(errors) => lines.push(Line::Malformed(
                    line_no,
                    errors
                        .iter()
                        .map(|e| json!({"path": e.path, "message": e.message}))
                        .collect(),
                )),
            }
        }
        Ok(Prepared {
            program,
            households: decoded,
            lines,
            ctx,
            unknown,
        })
    }
}

enum Line {
    Household(usize),
    Malformed(usize, Vec<Json>),
}

/// Households decoded and an evaluation context fixed: what goes into the
/// module's memory, and what turns its result block back into decisions.
#[wasm_bindgen]
pub struct Prepared {
    program: Rc<Program>,
    households: Vec<Value>,
    lines: Vec<Line>,
    ctx: EvalContext,
    unknown: UnknownFields,
}

#[wasm_bindgen]
impl Prepared {
    /// The batch to write at `alloc(len)` before calling `evaluate`.
    pub fn batch(&self) -> Vec<u8> {
        layak_dsl::wasm::encode_batch(&self.program, &self.households, &self.ctx)
    }

    /// The fields the households carry that the schema does not name and
    /// that are not errors, as `layak eval` reports them at the end of a run
    /// (`1 unknown field ignored: `housing.colour` (1)`); empty when none.
    pub fn unknown_fields(&self) -> String {
        if self.unknown.is_empty() {
            String::new()
        } else {
            self.unknown.to_string()
        }
    }

    /// Reads the module's result block (`result_len` bytes from the address
    /// `evaluate` returned). Returns, per input line in order,
    /// `{"line", "summary", "decision"}` where `summary` is the exact line
    /// `layak eval --format summary` writes and `decision` the full decision
    /// (`--format full`), or `{"line", "errors": [{"path", "message"}]}` for
    /// a malformed household. A result block that does not fit gives
    /// `{"error": message}`.
    pub fn decode(&self, result: &[u8]) -> String {
        match layak_dsl::wasm::decode_results(&self.program, &self.households, &self.ctx, result) {
            Ok(decisions) => to_string(&self.lines_json(&decisions)),
            Err(e) => error_json(&e.to_string()),
        }
    }
}

impl Prepared {
    fn lines_json(&self, decisions: &[HouseholdDecision]) -> Vec<Json> {
        let mut decisions = decisions.iter();
        self.lines
            .iter()
            .map(|line| match line {
                Line::Household(no) => match decisions.next() {
                    Some(d) => json!({
                        "line": no,
                        "summary": to_string(&d.summary()),
                        "decision": d,
                    }),
                    None => {
                        json!({"line": no, "errors": [{"path": "$", "message": "no decision"}]})
                    }
                },
                Line::Malformed(no, errors) => json!({"line": no, "errors": errors}),
            })
            .collect()
    }
}

/// Formats one rule file; returns the formatted text, or the diagnostics as
/// a JSON array when it does not parse.
#[wasm_bindgen]
pub fn format(name: &str, source: &str) -> Result<String, String> {
    let mut sources = Sources::new();
    let id = sources.add(name, source);
    layak_dsl::fmt::format_source(id, source).map_err(|diagnostics| {
        let json: Vec<_> = diagnostics
            .iter()
            .map(|d| layak_dsl::diagnostic::to_json(&sources, d))
            .collect();
        to_string(&json)
    })
}

/// A literal in the `--param NAME=VALUE` syntax.
fn lit_text(program: &Program, lit: &Lit) -> String {
    match lit {
        Lit::Bool(b) => b.to_string(),
        Lit::Int(n) | Lit::Money(n) => n.to_string(),
        Lit::Text(s) => s.clone(),
        Lit::Date(d) => d.to_string(),
        Lit::Enum(id, variant) => program
            .schema
            .enums
            .get(id.index())
            .and_then(|e| e.variants.get(*variant as usize))
            .map(|v| v.name.clone())
            .unwrap_or_default(),
    }
}

fn type_name(program: &Program, ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::Int => "int".into(),
        Type::Money => "money".into(),
        Type::Text => "text".into(),
        Type::Date => "date".into(),
        Type::Enum(id) => program
            .schema
            .enums
            .get(id.index())
            .map_or_else(|| "enum".into(), |e| e.name.clone()),
        Type::Record(id) => program
            .schema
            .records
            .get(id.index())
            .map_or_else(|| "record".into(), |r| r.name.clone()),
        Type::List(inner) => format!("list<{}>", type_name(program, inner)),
    }
}

fn to_string(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| error_json(&e.to_string()))
}

fn error_json(message: &str) -> String {
    json!({ "error": message }).to_string()
}
