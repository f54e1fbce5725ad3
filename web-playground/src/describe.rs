//! What the page needs to know about a checked program to build its
//! controls: parameters, where criteria are written, the record schema.

use layak_dsl::Sources;
use layak_dsl::ast::Code;
use layak_dsl::ir::{Program, Type};
use serde_json::{Value as Json, json};

use crate::{lit_text, type_name};

/// `[{"name", "type", "entries": [{"value", "from", "source"}]}]`, values
/// in the `--param` syntax.
pub fn params(program: &Program) -> Json {
    program
        .params
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "type": type_name(program, &p.ty),
                "entries": p.entries.iter().map(|e| json!({
                    "value": lit_text(program, &e.value),
                    "from": e.from,
                    "source": e.source,
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// `[{"ruleset", "code", "file", "start", "end", "line"}]`: each
/// criterion's source span (byte offsets) and first line.
pub fn criteria(program: &Program, sources: &Sources) -> Json {
    program
        .rulesets
        .iter()
        .flat_map(|r| {
            r.criteria.iter().map(move |c| {
                let file = sources.get(c.span.file);
                json!({
                    "ruleset": r.name,
                    "programme": r.programme,
                    "code": c.code,
                    "file": file.map(|f| f.name.clone()),
                    "start": c.span.start,
                    "end": c.span.end,
                    "line": file.map_or(0, |f| f.line_col(c.span.start as usize).0),
                })
            })
        })
        .collect()
}

/// `{"root", "enums": {name: [{"name", "code"}]}, "records": {name:
/// {"key", "label", "fields": [{"name", "type", "optional", "range"}]}}}`.
pub fn schema(program: &Program) -> Json {
    let schema = &program.schema;
    let root = schema
        .root()
        .and_then(|s| schema.subjects.get(s.index()))
        .and_then(|s| schema.records.get(s.record.index()))
        .map(|r| r.name.clone());
    let enums: serde_json::Map<String, Json> = schema
        .enums
        .iter()
        .map(|e| {
            let variants = e
                .variants
                .iter()
                .map(|v| {
                    let code = match &v.code {
                        Code::Int(n) => json!(n),
                        Code::Text(s) => json!(s),
                    };
                    json!({"name": v.name, "code": code})
                })
                .collect();
            (e.name.clone(), Json::Array(variants))
        })
        .collect();
    let records: serde_json::Map<String, Json> = schema
        .records
        .iter()
        .map(|r| {
            let name_of = |i: Option<u32>| {
                i.and_then(|i| r.fields.get(i as usize))
                    .map(|f| f.name.clone())
            };
            let fields: Vec<Json> = r
                .fields
                .iter()
                .map(|f| {
                    json!({
                        "name": f.name,
                        "type": type_json(program, &f.ty),
                        "optional": f.optional,
                        "range": f.range.map(|(lo, hi)| [lo, hi]),
                    })
                })
                .collect();
            (
                r.name.clone(),
                json!({"key": name_of(r.key), "label": name_of(r.label), "fields": fields}),
            )
        })
        .collect();
    json!({"root": root, "enums": enums, "records": records})
}

fn type_json(program: &Program, ty: &Type) -> Json {
    match ty {
        Type::Enum(_) => json!({"kind": "enum", "name": type_name(program, ty)}),
        Type::Record(_) => json!({"kind": "record", "name": type_name(program, ty)}),
        Type::List(inner) => json!({"kind": "list", "of": type_json(program, inner)}),
        _ => json!({"kind": type_name(program, ty)}),
    }
}
