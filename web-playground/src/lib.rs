//! The browser playground's bridge to `layak-dsl`: the same checker and
//! interpreter as the CLI, returning the same JSON. The page hands in rule
//! files and households as strings and gets JSON strings back.

use layak_dsl::Sources;
use wasm_bindgen::prelude::*;

/// Checks rule files given as a JSON object `{"name.lyk": "source", ...}`.
/// Returns a JSON array of diagnostics (the CLI's `--format json` shape).
#[wasm_bindgen]
pub fn check(files_json: &str) -> String {
    match sources_from_json(files_json) {
        Ok(sources) => {
            let (_, diagnostics) = layak_dsl::compile(&sources);
            let json: Vec<_> = diagnostics
                .iter()
                .map(|d| layak_dsl::diagnostic::to_json(&sources, d))
                .collect();
            serde_json::to_string(&json).unwrap_or_else(|e| error_json(&e.to_string()))
        }
        Err(e) => error_json(&e),
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
        serde_json::to_string(&json).unwrap_or_default()
    })
}

/// Evaluates NDJSON households against the rule files at `as_of`
/// (YYYY-MM-DD) with parameter overrides `{"NAME": "VALUE"}`. Returns a
/// JSON array with, per input line, the full decision or `{"line", "errors"}`.
#[wasm_bindgen]
pub fn evaluate(files_json: &str, households: &str, as_of: &str, params_json: &str) -> String {
    evaluate_inner(files_json, households, as_of, params_json).unwrap_or_else(|e| error_json(&e))
}

fn evaluate_inner(
    files_json: &str,
    households: &str,
    as_of: &str,
    params_json: &str,
) -> Result<String, String> {
    let sources = sources_from_json(files_json)?;
    let (program, _) = layak_dsl::compile(&sources);
    let program = program.ok_or("the rules have errors; run check for the diagnostics")?;
    let as_of = layak_dsl::date::Date::parse(as_of)
        .ok_or_else(|| format!("`{as_of}` is not a date (YYYY-MM-DD)"))?;
    let params: std::collections::BTreeMap<String, String> =
        serde_json::from_str(params_json).map_err(|e| format!("parameters: {e}"))?;
    let mut ctx = layak_dsl::eval::EvalContext {
        as_of,
        overrides: Default::default(),
    };
    for (name, value) in params {
        let (name, lit) = layak_dsl::eval::parse_override(&program, &format!("{name}={value}"))?;
        ctx.overrides.insert(name, lit);
    }
    let mut out = Vec::new();
    for (index, line) in households.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match layak_dsl::record::decode_line(&program.schema, line) {
            Ok(household) => {
                let decision = layak_dsl::eval::evaluate(&program, &household, &ctx);
                out.push(serde_json::to_value(&decision).map_err(|e| e.to_string())?);
            }
            Err(errors) => out.push(serde_json::json!({
                "line": index + 1,
                "errors": errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            })),
        }
    }
    serde_json::to_string(&out).map_err(|e| e.to_string())
}

fn sources_from_json(files_json: &str) -> Result<Sources, String> {
    let files: std::collections::BTreeMap<String, String> =
        serde_json::from_str(files_json).map_err(|e| format!("files: {e}"))?;
    let mut sources = Sources::new();
    for (name, text) in files {
        sources.add(name, text);
    }
    Ok(sources)
}

fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}
