//! What an evaluation depends on besides the program and the household:
//! the evaluation date and parameter overrides. Parameter values for one
//! evaluation are the dated entry in force at `as_of` or an override (the
//! `NAME=VALUE` syntax). Shared by the interpreter and the wasm host side.

use std::collections::BTreeMap;

use crate::date::Date;
use crate::decision::ParamUsed;
use crate::ev::{Ev, Missing, from_lit, lit_has_type, reason};
use crate::explain::to_json;
use crate::ir::{Lit, Param, Program, Type};

/// What an evaluation depends on besides the program and the household.
#[derive(Debug, Clone)]
pub struct EvalContext {
    /// The evaluation date: ages, dated parameters and `as_of` in rules.
    pub as_of: Date,
    /// Parameter values replacing the dated entries, by parameter name
    /// (what-if runs); build them with [`parse_override`].
    pub overrides: BTreeMap<String, Lit>,
}

impl EvalContext {
    pub fn new(as_of: Date) -> EvalContext {
        EvalContext {
            as_of,
            overrides: BTreeMap::new(),
        }
    }
}

/// The value of every parameter (by [`crate::ir::ParamId`]) and the record
/// of what was used.
pub fn resolve<'h>(
    program: &Program,
    as_of: Date,
    overrides: &BTreeMap<String, Lit>,
) -> (Vec<Ev<'h>>, Vec<ParamUsed>) {
    let mut values = Vec::with_capacity(program.params.len());
    let mut used = Vec::with_capacity(program.params.len());
    for param in &program.params {
        let (value, record) = match overrides.get(&param.name) {
            Some(lit) => {
                let value = if lit_has_type(lit, &param.ty) {
                    Ev::Val(from_lit(lit))
                } else {
                    Ev::und(reason::BAD_OVERRIDE)
                };
                let record = ParamUsed {
                    name: param.name.clone(),
                    value: to_json(program, &value, Some(&param.ty)),
                    from: None,
                    source: None,
                    overridden: true,
                };
                (value, record)
            }
            None => match in_force(param, as_of) {
                Some(entry) => {
                    let value = Ev::Val(from_lit(&entry.value));
                    let record = ParamUsed {
                        name: param.name.clone(),
                        value: to_json(program, &value, Some(&param.ty)),
                        from: Some(entry.from),
                        source: Some(entry.source.clone()),
                        overridden: false,
                    };
                    (value, record)
                }
                None => {
                    let value = Ev::Und(Missing::from([format!("params.{}", param.name)]));
                    let record = ParamUsed {
                        name: param.name.clone(),
                        value: serde_json::Value::Null,
                        from: None,
                        source: None,
                        overridden: false,
                    };
                    (value, record)
                }
            },
        };
        values.push(value);
        used.push(record);
    }
    (values, used)
}

/// The entry with the latest `from` not after `as_of`.
fn in_force(param: &Param, as_of: Date) -> Option<&crate::ir::ParamEntry> {
    param
        .entries
        .iter()
        .filter(|e| e.from <= as_of)
        .max_by_key(|e| e.from)
}

/// Parses `NAME=VALUE` against the program's parameters. The value is read
/// per the parameter's type: int `60`; money `200000`, `200_000` or
/// `Rp 200_000`; bool `true`/`false`; text as written (surrounding double
/// quotes removed); date `YYYY-MM-DD`; enum by variant name (`matched` or
/// `Dukcapil.matched`).
pub fn parse_override(program: &Program, spec: &str) -> Result<(String, Lit), String> {
    let Some((name, value)) = spec.split_once('=') else {
        return Err(format!("expected `NAME=VALUE`, found `{spec}`"));
    };
    let name = name.trim();
    let Some(param) = program.params.iter().find(|p| p.name == name) else {
        let mut message = format!("unknown parameter `{name}`");
        if let Some(best) = did_you_mean(name, program.params.iter().map(|p| p.name.as_str())) {
            message.push_str(&format!("; did you mean `{best}`?"));
        }
        return Err(message);
    };
    let value = value.trim();
    let lit = match &param.ty {
        Type::Int => integer(value).map(Lit::Int),
        Type::Money => {
            let amount = value
                .strip_prefix("Rp")
                .or_else(|| value.strip_prefix("rp"))
                .or_else(|| value.strip_prefix("RP"))
                .unwrap_or(value);
            integer(amount.trim_start()).map(Lit::Money)
        }
        Type::Bool => match value {
            "true" => Some(Lit::Bool(true)),
            "false" => Some(Lit::Bool(false)),
            _ => None,
        },
        Type::Text => {
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some(Lit::Text(unquoted.to_string()))
        }
        Type::Date => Date::parse(value).map(Lit::Date),
        Type::Enum(id) => program.schema.enums.get(id.index()).and_then(|e| {
            let variant = value
                .strip_prefix(e.name.as_str())
                .and_then(|v| v.strip_prefix('.'))
                .unwrap_or(value);
            e.variants
                .iter()
                .position(|v| v.name == variant)
                .map(|i| Lit::Enum(*id, i as u32))
        }),
        Type::Record(_) | Type::List(_) => {
            return Err(format!("parameter `{name}` cannot be overridden"));
        }
    };
    lit.map(|lit| (param.name.clone(), lit)).ok_or_else(|| {
        format!(
            "`{value}` is not {} for `{name}`",
            describe(program, &param.ty)
        )
    })
}

/// An integer with optional `_` separators and sign.
fn integer(s: &str) -> Option<i64> {
    let cleaned: String = s.chars().filter(|c| *c != '_').collect();
    let digits = cleaned.strip_prefix('-').unwrap_or(&cleaned);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) || s.starts_with('_') {
        return None;
    }
    cleaned.parse().ok()
}

fn describe(program: &Program, ty: &Type) -> String {
    match ty {
        Type::Bool => "`true` or `false`".to_string(),
        Type::Int => "an integer".to_string(),
        Type::Money => "an amount of rupiah (`200000` or `Rp 200_000`)".to_string(),
        Type::Text => "a text".to_string(),
        Type::Date => "a date `YYYY-MM-DD`".to_string(),
        Type::Enum(id) => match program.schema.enums.get(id.index()) {
            Some(e) => {
                let names: Vec<String> =
                    e.variants.iter().map(|v| format!("`{}`", v.name)).collect();
                format!("one of {}", names.join(", "))
            }
            None => "a variant".to_string(),
        },
        Type::Record(_) | Type::List(_) => "a value".to_string(),
    }
}

/// The closest candidate, if close enough to be a likely typo.
fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let upper = name.to_uppercase();
    candidates
        .map(|c| (strsim::jaro_winkler(&upper, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
