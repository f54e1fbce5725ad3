//! Explanations: messages with their holes filled in, hole values as JSON,
//! and the key and label of a record.

use crate::ev::{Ev, Rec, V, from_value};
use crate::ir::{Program, RecordDef, RecordId, Type};
use crate::value::{Record, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Id,
    En,
}

/// A value as a message shows it: text as is, int in decimal, money as
/// `Rp 1.500.000` (id) or `Rp 1,500,000` (en), dates ISO, an enum by its
/// variant name, bool as `ya`/`tidak` or `yes`/`no`, a list comma-separated,
/// a record by its key (else its label, else its path), and an undetermined
/// value as `(tidak ada)` or `(missing)`.
pub fn render(program: &Program, ev: &Ev<'_>, ty: Option<&Type>, lang: Lang) -> String {
    match ev {
        Ev::Und(_) => match lang {
            Lang::Id => "(tidak ada)".to_string(),
            Lang::En => "(missing)".to_string(),
        },
        Ev::Val(v) => render_value(program, v, ty, lang),
    }
}

fn render_value(program: &Program, v: &V<'_>, ty: Option<&Type>, lang: Lang) -> String {
    match v {
        V::Bool(b) => match (lang, b) {
            (Lang::Id, true) => "ya",
            (Lang::Id, false) => "tidak",
            (Lang::En, true) => "yes",
            (Lang::En, false) => "no",
        }
        .to_string(),
        V::Int(n) => n.to_string(),
        V::Money(n) => money(*n, lang),
        V::Text(s) => s.to_string(),
        V::Date(d) => d.to_string(),
        V::Enum(i) => variant_name(program, ty, *i),
        V::Rec(rec) => {
            let (key, label) = key_label(program, rec);
            key.or(label).unwrap_or_else(|| rec.path.to_string())
        }
        V::List(items) => {
            let elem = match ty {
                Some(Type::List(elem)) => Some(elem.as_ref()),
                _ => None,
            };
            items
                .iter()
                .map(|item| render_value(program, item, elem, lang))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// `Rp 1.500.000` (id), `Rp 1,500,000` (en); negative amounts `-Rp 1.500`.
pub fn money(n: i64, lang: Lang) -> String {
    let sep = match lang {
        Lang::Id => '.',
        Lang::En => ',',
    };
    let digits = n.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(sep);
        }
        grouped.push(c);
    }
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}Rp {grouped}")
}

fn variant_name(program: &Program, ty: Option<&Type>, index: u32) -> String {
    let name = match ty {
        Some(Type::Enum(id)) => program
            .schema
            .enums
            .get(id.index())
            .and_then(|e| e.variants.get(index as usize))
            .map(|v| v.name.clone()),
        _ => None,
    };
    name.unwrap_or_else(|| index.to_string())
}

/// A value as JSON: a number for int and money, a string for text, dates,
/// enums (the variant name) and records (their path), a bool, an array for
/// a list, `null` when undetermined.
pub fn to_json(program: &Program, ev: &Ev<'_>, ty: Option<&Type>) -> serde_json::Value {
    match ev {
        Ev::Und(_) => serde_json::Value::Null,
        Ev::Val(v) => value_json(program, v, ty),
    }
}

fn value_json(program: &Program, v: &V<'_>, ty: Option<&Type>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        V::Bool(b) => J::Bool(*b),
        V::Int(n) | V::Money(n) => J::from(*n),
        V::Text(s) => J::String(s.to_string()),
        V::Date(d) => J::String(d.to_string()),
        V::Enum(i) => J::String(variant_name(program, ty, *i)),
        V::Rec(rec) => J::String(rec.path.to_string()),
        V::List(items) => {
            let elem = match ty {
                Some(Type::List(elem)) => Some(elem.as_ref()),
                _ => None,
            };
            J::Array(items.iter().map(|i| value_json(program, i, elem)).collect())
        }
    }
}

/// The key and label of a record instance, as text, when the record
/// declares them and they are present.
pub fn key_label(program: &Program, rec: &Rec<'_>) -> (Option<String>, Option<String>) {
    let Some(def) = program.schema.records.get(rec.id.index()) else {
        return (None, None);
    };
    (
        field_text(program, rec.record, def, def.key),
        field_text(program, rec.record, def, def.label),
    )
}

/// [`key_label`]'s key alone, of a record of type `id`.
pub fn key_of(program: &Program, record: &Record, id: RecordId) -> Option<String> {
    let def = program.schema.records.get(id.index())?;
    field_text(program, record, def, def.key)
}

/// Field `index` of `record` rendered as text, when present.
fn field_text(
    program: &Program,
    record: &Record,
    def: &RecordDef,
    index: Option<u32>,
) -> Option<String> {
    let index = index?;
    let field = def.fields.get(index as usize)?;
    let value = record.field(index)?;
    Some(render_field(program, value, &field.ty))
}

/// A field's value of type `ty` rendered as text, as a key or label is
/// shown.
pub fn render_field(program: &Program, value: &Value, ty: &Type) -> String {
    let v = from_value(value, ty, "");
    render_value(program, &v, Some(ty), Lang::En)
}
