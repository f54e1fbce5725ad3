//! Household JSON to [`Value`] against the schema.
//!
//! One household is one JSON object, decoded into the record of the schema's
//! root subject. The rules of the interchange format (`docs/domain.md`,
//! "The household record"):
//!
//! - a field a record does not name is *unknown*. In a checked record (the
//!   default) an unknown field that looks like a misspelling of a field the
//!   object does not carry (absent or `null`) is an error: `desl`, `Desil`
//!   or `desil_kk` where `desil` is expected gives `$.families[0].desl:
//!   unknown field; did you mean `desil`?` (`record/unknown.rs` says
//!   what looks like one). Every other unknown field, and every unknown
//!   field of an `open record`, is ignored (callers keep the original JSON)
//!   and counted in [`UnknownFields`], which callers report once per run;
//!   the values of unknown fields and of fields declared `ignored` are not
//!   looked at;
//! - a missing or `null` optional field is absent (`None`); a missing or
//!   `null` required field is an error;
//! - `bool` takes JSON booleans, `text` JSON strings, `date` strings of
//!   exactly `YYYY-MM-DD` that exist in the calendar;
//! - `int` and `money` (whole rupiah) take integral JSON numbers that fit a
//!   64-bit integer. A number written with a zero fraction or an exponent
//!   (`3.0`, `1e3`) is accepted when its value is exactly such an integer,
//!   because exporters that route integers through floating point (a
//!   spreadsheet, a data frame with nulls) write them that way; `1.5` and
//!   `1e30` are errors. A declared range (`int(1..10)`) is enforced;
//! - an enum takes the code of one of its variants: a JSON number for an
//!   integer code, a JSON string for a text code;
//! - lists take JSON arrays whose elements are all present (no `null`).
//!
//! Decoding never stops at the first problem: every error in the record is
//! reported, each with the JSON path of the offending value.

use std::fmt;

use crate::ast::Code;
use crate::ir::{EnumId, RecordDef, RecordId, Schema, Type};
use crate::value::{Record, Value};

mod unknown;

pub use unknown::{Unknown, UnknownFields};

/// One problem with one value of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// JSON path of the value, `$.families[0].members[1].birth_date`; `$`
    /// for the whole line.
    pub path: String,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for DecodeError {}

/// Parses one line of NDJSON and decodes it. A JSON syntax error is one
/// error at `$` with serde_json's line and column. Unknown fields that are
/// not errors are dropped uncounted; [`decode_line_with`] counts them.
pub fn decode_line(schema: &Schema, line: &str) -> Result<Value, Vec<DecodeError>> {
    decode_line_with(schema, line, &mut UnknownFields::default())
}

/// [`decode_line`], adding the unknown fields of a household that decodes
/// to `unknown` (those of a malformed line are not counted: the whole line
/// is reported).
pub fn decode_line_with(
    schema: &Schema,
    line: &str,
    unknown: &mut UnknownFields,
) -> Result<Value, Vec<DecodeError>> {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(json) => decode_json_with(schema, &json, unknown),
        Err(e) => Err(vec![DecodeError {
            path: "$".to_string(),
            message: format!("invalid JSON: {e}"),
        }]),
    }
}

/// Decodes one household against the record of the schema's root subject,
/// reporting every error.
pub fn decode_json(schema: &Schema, json: &serde_json::Value) -> Result<Value, Vec<DecodeError>> {
    decode_json_with(schema, json, &mut UnknownFields::default())
}

/// [`decode_json`], adding the unknown fields of a household that decodes
/// to `unknown`.
pub fn decode_json_with(
    schema: &Schema,
    json: &serde_json::Value,
    unknown: &mut UnknownFields,
) -> Result<Value, Vec<DecodeError>> {
    let mut decoder = Decoder {
        schema,
        errors: Vec::new(),
        unknown: UnknownFields::default(),
        pattern: String::new(),
    };
    let root = schema
        .root()
        .and_then(|s| schema.subjects.get(s.index()))
        .map(|s| s.record);
    let value = match root {
        Some(record) => decoder.record(record, json, &Path::Root),
        None => {
            decoder.error(
                &Path::Root,
                "the schema declares no root subject".to_string(),
            );
            None
        }
    };
    match value {
        Some(value) if decoder.errors.is_empty() => {
            unknown.merge(decoder.unknown);
            Ok(value)
        }
        _ => Err(decoder.errors),
    }
}

/// Where a value is, as a chain of steps from the line's root; rendered
/// (`$.families[0].members[1].birth_date`) only when there is an error, so
/// a well-formed household costs no string work.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    /// The path without list indices and without `$.`, as the tally of
    /// unknown fields shows it: `families[].members[].hobby`.
    fn pattern(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Field(parent, name) => {
                parent.pattern(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Path::Index(parent, _) => {
                parent.pattern(out);
                out.push_str("[]");
            }
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

struct Decoder<'s> {
    schema: &'s Schema,
    errors: Vec<DecodeError>,
    unknown: UnknownFields,
    /// A buffer for the pattern of an unknown field's path.
    pattern: String,
}

impl Decoder<'_> {
    fn error(&mut self, path: &Path<'_>, message: String) {
        self.errors.push(DecodeError {
            path: path.to_string(),
            message,
        });
    }

    fn mismatch(&mut self, path: &Path<'_>, expected: &str, found: &serde_json::Value) {
        self.error(
            path,
            format!("expected {expected}, found {}", describe(found)),
        );
    }

    /// Decodes a present (non-null) value; `None` after recording an error.
    fn value(&mut self, ty: &Type, json: &serde_json::Value, path: &Path<'_>) -> Option<Value> {
        match ty {
            Type::Bool => match json {
                serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
                _ => {
                    self.mismatch(path, "true or false", json);
                    None
                }
            },
            Type::Int => self.integer(json, path, None).map(Value::Int),
            Type::Money => match integer_of(json) {
                Some(n) => Some(Value::Money(n)),
                None => {
                    self.mismatch(path, "a whole number of rupiah", json);
                    None
                }
            },
            Type::Text => match json {
                serde_json::Value::String(s) => Some(Value::Text(s.clone())),
                _ => {
                    self.mismatch(path, "a string", json);
                    None
                }
            },
            Type::Date => self.date(json, path),
            Type::Enum(id) => self.enumeration(*id, json, path),
            Type::Record(id) => self.record(*id, json, path),
            Type::List(elem) => self.list(elem, json, path),
        }
    }

    /// An `int` field, with its declared range if any.
    fn field_int(
        &mut self,
        range: Option<(i64, i64)>,
        json: &serde_json::Value,
        path: &Path<'_>,
    ) -> Option<Value> {
        self.integer(json, path, range).map(Value::Int)
    }

    fn integer(
        &mut self,
        json: &serde_json::Value,
        path: &Path<'_>,
        range: Option<(i64, i64)>,
    ) -> Option<i64> {
        let in_range = |n: i64| range.is_none_or(|(lo, hi)| (lo..=hi).contains(&n));
        match integer_of(json) {
            Some(n) if in_range(n) => Some(n),
            _ => {
                let expected = match range {
                    Some((lo, hi)) => format!("an integer in {lo}..{hi}"),
                    None => "an integer".to_string(),
                };
                self.mismatch(path, &expected, json);
                None
            }
        }
    }

    fn date(&mut self, json: &serde_json::Value, path: &Path<'_>) -> Option<Value> {
        if let serde_json::Value::String(s) = json
            && let Some(d) = crate::date::Date::parse(s)
        {
            return Some(Value::Date(d));
        }
        self.mismatch(path, "a date \"YYYY-MM-DD\"", json);
        None
    }

    fn enumeration(
        &mut self,
        id: EnumId,
        json: &serde_json::Value,
        path: &Path<'_>,
    ) -> Option<Value> {
        let Some(def) = self.schema.enums.get(id.index()) else {
            self.error(path, "the schema refers to an unknown enum".to_string());
            return None;
        };
        let found = def.variants.iter().position(|v| match (&v.code, json) {
            (Code::Int(c), _) => integer_of(json) == Some(*c),
            (Code::Text(c), serde_json::Value::String(s)) => c == s,
            (Code::Text(_), _) => false,
        });
        if let Some(i) = found {
            return Some(Value::Enum(i as u32));
        }
        let codes: Vec<String> = def
            .variants
            .iter()
            .map(|v| match &v.code {
                Code::Int(n) => n.to_string(),
                Code::Text(s) => serde_json::Value::String(s.clone()).to_string(),
            })
            .collect();
        let message = format!(
            "unknown {} code {}; expected one of {}",
            def.name,
            describe(json),
            codes.join(", ")
        );
        self.error(path, message);
        None
    }

    fn record(&mut self, id: RecordId, json: &serde_json::Value, path: &Path<'_>) -> Option<Value> {
        let Some(def) = self.schema.records.get(id.index()) else {
            self.error(path, "the schema refers to an unknown record".to_string());
            return None;
        };
        let serde_json::Value::Object(object) = json else {
            self.mismatch(path, &format!("an object ({})", def.name), json);
            return None;
        };
        let mut ok = true;
        let mut fields = Vec::with_capacity(def.fields.len());
        // How many of the object's keys the record names: when that is all
        // of them (the usual case), there is no unknown field to look for.
        let mut named = def
            .ignored
            .iter()
            .filter(|name| object.contains_key(name.as_str()))
            .count();
        for field in &def.fields {
            let field_path = Path::Field(path, &field.name);
            let found = object.get(&field.name);
            named += usize::from(found.is_some());
            let slot = match found {
                None | Some(serde_json::Value::Null) => {
                    if !field.optional {
                        self.error(
                            &field_path,
                            format!("missing required field `{}`", field.name),
                        );
                        ok = false;
                    }
                    None
                }
                Some(json) => {
                    let value = match field.ty {
                        Type::Int => self.field_int(field.range, json, &field_path),
                        _ => self.value(&field.ty, json, &field_path),
                    };
                    ok &= value.is_some();
                    value
                }
            };
            fields.push(slot);
        }
        if named < object.len() {
            ok &= self.unknown_fields(def, object, path);
        }
        ok.then_some(Value::Record(Record { fields }))
    }

    /// The keys of `object` that `def` does not name: an error for each
    /// that looks like a misspelling of a field the object does not carry,
    /// when the record is checked; counted otherwise. False after an error.
    fn unknown_fields(
        &mut self,
        def: &RecordDef,
        object: &serde_json::Map<String, serde_json::Value>,
        path: &Path<'_>,
    ) -> bool {
        let declared = |name: &str| {
            def.fields.iter().any(|f| f.name == name) || def.ignored.iter().any(|n| n == name)
        };
        let absent = || {
            let fields = def.fields.iter().map(|f| f.name.as_str());
            fields
                .chain(def.ignored.iter().map(String::as_str))
                .filter(|name| object.get(*name).is_none_or(serde_json::Value::is_null))
        };
        let mut ok = true;
        for key in object.keys().filter(|k| !declared(k)) {
            let hint = unknown::near_miss(key, absent());
            match hint {
                Some(hint) if !def.open => {
                    self.error(
                        &Path::Field(path, key),
                        format!("unknown field; did you mean `{hint}`?"),
                    );
                    ok = false;
                }
                _ => {
                    let mut pattern = std::mem::take(&mut self.pattern);
                    pattern.clear();
                    Path::Field(path, key).pattern(&mut pattern);
                    self.unknown.note(&pattern, hint);
                    self.pattern = pattern;
                }
            }
        }
        ok
    }

    fn list(&mut self, elem: &Type, json: &serde_json::Value, path: &Path<'_>) -> Option<Value> {
        let serde_json::Value::Array(items) = json else {
            self.mismatch(path, "a list", json);
            return None;
        };
        let mut ok = true;
        let mut values = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = Path::Index(path, i);
            if item.is_null() {
                self.error(&item_path, "a list element cannot be null".to_string());
                ok = false;
                continue;
            }
            match self.value(elem, item, &item_path) {
                Some(v) => values.push(v),
                None => ok = false,
            }
        }
        ok.then_some(Value::List(values))
    }
}

/// The integer a JSON number stands for exactly, if any.
fn integer_of(json: &serde_json::Value) -> Option<i64> {
    let serde_json::Value::Number(n) = json else {
        return None;
    };
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.is_u64() {
        return None;
    }
    let f = n.as_f64()?;
    // 2^63 is exactly representable; every integral f64 in [-2^63, 2^63)
    // converts to i64 without loss.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f)).then_some(f as i64)
}

/// A JSON value as an error message shows it: scalars as written (long
/// strings cut), containers by kind.
fn describe(json: &serde_json::Value) -> String {
    match json {
        serde_json::Value::Null => "null".to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => {
            const MAX: usize = 40;
            if s.chars().count() > MAX {
                let cut: String = s.chars().take(MAX).collect();
                format!("{}...", serde_json::Value::String(cut))
            } else {
                serde_json::Value::String(s.clone()).to_string()
            }
        }
        serde_json::Value::Array(_) => "a list".to_string(),
        serde_json::Value::Object(_) => "an object".to_string(),
    }
}

#[cfg(test)]
mod tests;
