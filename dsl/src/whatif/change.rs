//! Changes to a household record: where a field is (a path through the
//! schema), the values the rules suggest for it, and applying a change to a
//! decoded household or to its JSON.

use serde::Serialize;

use super::uses::FieldUse;
use crate::ast::Code;
use crate::date::Date;
use crate::ir::{FieldDef, Program, RecordId, Type};
use crate::value::{Record, Value};

/// One field set to one value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Where, from the household: `families[0].members[2].school.has_kip`.
    pub path: String,
    /// The field, from the record that owns it (`school.has_kip`).
    pub field: String,
    /// The owner's label or key (`Andi`, `3310031004200003`); absent for
    /// the household itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The value now, in the interchange format (`null` when missing).
    pub from: serde_json::Value,
    /// The value the change gives, in the interchange format: what a form
    /// or a corrected proposal carries.
    pub to: serde_json::Value,
    /// For an enum: the variant names of `from` and `to`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_variant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_variant: Option<String>,
    /// The value was not in the record: any value would do where the
    /// rules only ask for one, and `to` is the one that was checked.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub given: bool,
    /// `to` is one example of a value that works (a text taken from the
    /// same field elsewhere in the household), not the only one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub example: bool,
}

/// A change before it is shown: the path's steps and the new value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Edit {
    pub steps: Vec<Step>,
    pub value: Value,
    /// Whether the field was missing.
    pub was_missing: bool,
}

/// One step of a path: a field by index (and name), or a list element.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    Field(u32, String),
    Index(usize),
}

/// One record of the household (present, or an optional sub-record that is
/// absent, which a change may create).
#[derive(Debug, Clone)]
pub(crate) struct Instance<'h> {
    pub steps: Vec<Step>,
    pub path: String,
    pub rid: RecordId,
    pub record: Option<&'h Record>,
    /// The nearest enclosing instance with a label or key, and the path of
    /// this instance below it (`school` under a member).
    pub owner: Option<String>,
    pub below_owner: String,
}

/// Deep enough for any schema; stops a recursive one.
const MAX_DEPTH: usize = 16;

/// Every record of the household, root first.
pub(crate) fn instances<'h>(program: &Program, household: &'h Value) -> Vec<Instance<'h>> {
    let mut out = Vec::new();
    let (Some(root), Value::Record(record)) = (
        program
            .schema
            .root()
            .and_then(|s| program.schema.subjects.get(s.index())),
        household,
    ) else {
        return out;
    };
    walk(
        program,
        Instance {
            steps: Vec::new(),
            path: String::new(),
            rid: root.record,
            record: Some(record),
            owner: None,
            below_owner: String::new(),
        },
        &mut out,
    );
    out
}

fn walk<'h>(program: &Program, inst: Instance<'h>, out: &mut Vec<Instance<'h>>) {
    if inst.steps.len() > MAX_DEPTH {
        return;
    }
    let Some(def) = program.schema.records.get(inst.rid.index()) else {
        return;
    };
    let mut children = Vec::new();
    for (i, field) in def.fields.iter().enumerate() {
        let value = inst.record.and_then(|r| r.field(i as u32));
        let step = Step::Field(i as u32, field.name.clone());
        match &field.ty {
            Type::Record(rid) => {
                let record = match value {
                    Some(Value::Record(r)) => Some(r),
                    _ => None,
                };
                let mut steps = inst.steps.clone();
                steps.push(step);
                children.push(Instance {
                    steps,
                    path: crate::ev::join(&inst.path, &field.name),
                    rid: *rid,
                    record,
                    owner: inst.owner.clone(),
                    below_owner: crate::ev::join(&inst.below_owner, &field.name),
                });
            }
            Type::List(elem) => {
                let (Type::Record(rid), Some(Value::List(items))) = (elem.as_ref(), value) else {
                    continue;
                };
                for (k, item) in items.iter().enumerate() {
                    let Value::Record(r) = item else { continue };
                    let mut steps = inst.steps.clone();
                    steps.push(step.clone());
                    steps.push(Step::Index(k));
                    let owner = owner_of(program, *rid, r);
                    children.push(Instance {
                        steps,
                        path: format!("{}[{k}]", crate::ev::join(&inst.path, &field.name)),
                        rid: *rid,
                        record: Some(r),
                        owner,
                        below_owner: String::new(),
                    });
                }
            }
            _ => {}
        }
    }
    out.push(inst);
    for child in children {
        walk(program, child, out);
    }
}

/// A list element's label, else its key, as text.
fn owner_of(program: &Program, rid: RecordId, record: &Record) -> Option<String> {
    let def = program.schema.records.get(rid.index())?;
    [def.label, def.key]
        .into_iter()
        .flatten()
        .find_map(|i| match record.field(i) {
            Some(Value::Text(t)) => Some(t.clone()),
            Some(Value::Int(n)) => Some(n.to_string()),
            _ => None,
        })
}

/// Whether `path` is `anchor`, below it, or one of the records it sits in.
pub(crate) fn in_scope(path: &str, anchor: &str) -> bool {
    let below = |a: &str, b: &str| {
        a == b
            || b.is_empty()
            || a.strip_prefix(b)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    below(path, anchor) || below(anchor, path)
}

/// The values the rules suggest for one field of one instance, nearest to
/// the current value first. `texts` are the other values of the same field
/// in the household (a witness when any value would do), `taken` all of
/// them.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, each argument a different fact"
)]
pub(crate) fn candidates(
    program: &Program,
    field: &FieldDef,
    current: Option<&Value>,
    uses: &FieldUse,
    ages: &std::collections::BTreeSet<i64>,
    as_of: Date,
    texts: &[&str],
    taken: &[&str],
) -> Vec<Value> {
    let mut out = Vec::new();
    match &field.ty {
        Type::Bool => match current {
            Some(Value::Bool(b)) => out.push(Value::Bool(!b)),
            _ => out.extend([Value::Bool(true), Value::Bool(false)]),
        },
        Type::Enum(id) => {
            let count = program
                .schema
                .enums
                .get(id.index())
                .map_or(0, |e| e.variants.len());
            out.extend((0..count as u32).map(Value::Enum));
        }
        Type::Int | Type::Money => {
            let mut numbers: Vec<i64> = uses
                .numbers
                .iter()
                .flat_map(|n| [n.saturating_sub(1), *n, n.saturating_add(1)])
                .collect();
            if let Some((lo, hi)) = field.range {
                numbers.retain(|n| (lo..=hi).contains(n));
                if current.is_none() && numbers.is_empty() {
                    numbers.extend([lo, hi]);
                }
            }
            let now = match current {
                Some(Value::Int(n) | Value::Money(n)) => Some(*n),
                _ => None,
            };
            numbers.sort_by_key(|n| (now.map_or(*n, |c| n.abs_diff(c) as i64), *n));
            numbers.dedup();
            let wrap = |n| match field.ty {
                Type::Money => Value::Money(n),
                _ => Value::Int(n),
            };
            out.extend(numbers.into_iter().take(MAX_NUMBERS).map(wrap));
        }
        Type::Text => {
            out.extend(uses.texts.iter().map(|t| Value::Text(t.clone())));
            for t in texts.iter().take(2) {
                out.push(Value::Text((*t).to_string()));
                out.push(Value::Text(distinct(t, taken)));
            }
            if current.is_none() && out.is_empty() {
                out.push(Value::Text("x".to_string()));
            }
        }
        Type::Date => {
            // Only a missing date gets a value: the birth date for each age
            // the rules compare.
            if current.is_none() && uses.age {
                for age in ages {
                    let year = i64::from(as_of.year()) - age;
                    if let Some(d) = Date::from_ymd(year, i64::from(as_of.month()), 1) {
                        out.push(Value::Date(d));
                    }
                }
            }
        }
        Type::List(elem) => {
            if let (Type::Text, Some(Value::List(items))) = (elem.as_ref(), current) {
                for member in &uses.members {
                    let kept: Vec<Value> = items
                        .iter()
                        .filter(|v| !matches!(v, Value::Text(t) if t == member))
                        .cloned()
                        .collect();
                    if kept.len() < items.len() {
                        out.push(Value::List(kept));
                    }
                }
            }
        }
        Type::Record(_) => {}
    }
    out.retain(|v| Some(v) != current);
    out.dedup();
    out
}

/// At most this many numbers per field, nearest first.
const MAX_NUMBERS: usize = 12;

/// A text like `t` that no value in `taken` equals: its last digit counted
/// up (an identifier of the same form), else a suffix.
fn distinct(t: &str, taken: &[&str]) -> String {
    let mut chars: Vec<char> = t.chars().collect();
    if let Some(d) = chars.last().and_then(|c| c.to_digit(10)) {
        for step in 1..10 {
            if let (Some(c), Some(last)) = (char::from_digit((d + step) % 10, 10), chars.last_mut())
            {
                *last = c;
            }
            let candidate: String = chars.iter().collect();
            if !taken.contains(&candidate.as_str()) {
                return candidate;
            }
        }
    }
    format!("{t}-2")
}

/// The household with the edits applied (creating absent sub-records on
/// the way). An edit whose path does not fit the record is skipped.
pub(crate) fn apply(program: &Program, household: &Value, edits: &[Edit]) -> Value {
    let mut out = household.clone();
    let Some(root) = program
        .schema
        .root()
        .and_then(|s| program.schema.subjects.get(s.index()))
    else {
        return out;
    };
    for edit in edits {
        set(
            program,
            &mut out,
            root.record,
            &edit.steps,
            edit.value.clone(),
        );
    }
    out
}

fn set(program: &Program, at: &mut Value, rid: RecordId, steps: &[Step], value: Value) {
    let Some((first, rest)) = steps.split_first() else {
        *at = value;
        return;
    };
    match (first, at) {
        (Step::Field(i, _), Value::Record(record)) => {
            let Some(def) = program.schema.records.get(rid.index()) else {
                return;
            };
            let Some(field) = def.fields.get(*i as usize) else {
                return;
            };
            if record.fields.len() < def.fields.len() {
                record.fields.resize(def.fields.len(), None);
            }
            let Some(slot) = record.fields.get_mut(*i as usize) else {
                return;
            };
            let next = match &field.ty {
                Type::Record(r) => *r,
                Type::List(elem) => match elem.as_ref() {
                    Type::Record(r) => *r,
                    _ => rid,
                },
                _ => rid,
            };
            if rest.is_empty() {
                *slot = Some(value);
                return;
            }
            let slot = slot.get_or_insert_with(|| Value::Record(Record::default()));
            set(program, slot, next, rest, value);
        }
        (Step::Index(k), Value::List(items)) => {
            if let Some(item) = items.get_mut(*k) {
                set(program, item, rid, rest, value);
            }
        }
        _ => {}
    }
}

/// The edit as shown: paths, owner, values in the interchange format.
pub(crate) fn describe(
    program: &Program,
    instance: &Instance<'_>,
    field: &FieldDef,
    current: Option<&Value>,
    edit: &Edit,
) -> Change {
    let last = match edit.steps.last() {
        Some(Step::Field(_, name)) => name.clone(),
        _ => field.name.clone(),
    };
    Change {
        path: crate::ev::join(&instance.path, &last),
        field: crate::ev::join(&instance.below_owner, &last),
        owner: instance.owner.clone(),
        from: current.map_or(serde_json::Value::Null, |v| to_json(program, &field.ty, v)),
        to: to_json(program, &field.ty, &edit.value),
        from_variant: current.and_then(|v| variant(program, &field.ty, v)),
        to_variant: variant(program, &field.ty, &edit.value),
        given: edit.was_missing,
        example: false,
    }
}

/// A value in the interchange format: enums by their code, dates ISO.
pub fn to_json(program: &Program, ty: &Type, value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Bool(b) => J::Bool(*b),
        Value::Int(n) | Value::Money(n) => J::from(*n),
        Value::Text(t) => J::String(t.clone()),
        Value::Date(d) => J::String(d.to_string()),
        Value::Enum(i) => {
            let code = match ty {
                Type::Enum(id) => program
                    .schema
                    .enums
                    .get(id.index())
                    .and_then(|e| e.variants.get(*i as usize))
                    .map(|v| v.code.clone()),
                _ => None,
            };
            match code {
                Some(Code::Int(n)) => J::from(n),
                Some(Code::Text(t)) => J::String(t),
                None => J::from(*i),
            }
        }
        Value::List(items) => {
            let elem = match ty {
                Type::List(elem) => elem.as_ref(),
                other => other,
            };
            J::Array(items.iter().map(|v| to_json(program, elem, v)).collect())
        }
        Value::Record(record) => {
            let mut map = serde_json::Map::new();
            if let Type::Record(rid) = ty
                && let Some(def) = program.schema.records.get(rid.index())
            {
                for (f, v) in def.fields.iter().zip(&record.fields) {
                    if let Some(v) = v {
                        map.insert(f.name.clone(), to_json(program, &f.ty, v));
                    }
                }
            }
            J::Object(map)
        }
    }
}

fn variant(program: &Program, ty: &Type, value: &Value) -> Option<String> {
    match (ty, value) {
        (Type::Enum(id), Value::Enum(i)) => program
            .schema
            .enums
            .get(id.index())?
            .variants
            .get(*i as usize)
            .map(|v| v.name.clone()),
        _ => None,
    }
}

/// Applies a change to a household in the interchange format: the field at
/// `change.path` gets `change.to`, creating objects on the way. What a
/// form, a corrected proposal or a test does with an offered change. An
/// error names the step that does not fit.
pub fn apply_to_json(household: &mut serde_json::Value, change: &Change) -> Result<(), String> {
    let steps = parse_path(&change.path)?;
    let mut at = household;
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        at = match step {
            JsonStep::Key(name) => {
                if !at.is_object() {
                    *at = serde_json::Value::Object(serde_json::Map::new());
                }
                let Some(map) = at.as_object_mut() else {
                    return Err(format!("`{name}` is not in an object"));
                };
                if last {
                    map.insert(name.clone(), change.to.clone());
                    return Ok(());
                }
                map.entry(name.clone()).or_insert(serde_json::Value::Null)
            }
            JsonStep::Index(k) => match at.as_array_mut().and_then(|a| a.get_mut(*k)) {
                Some(item) => item,
                None => return Err(format!("no element [{k}] at `{}`", change.path)),
            },
        };
    }
    *at = change.to.clone();
    Ok(())
}

enum JsonStep {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Result<Vec<JsonStep>, String> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (part.get(..i).unwrap_or(""), part.get(i..).unwrap_or("")),
            None => (part, ""),
        };
        if name.is_empty() {
            return Err(format!("`{path}` is not a field path"));
        }
        steps.push(JsonStep::Key(name.to_string()));
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else {
                return Err(format!("`{path}` is not a field path"));
            };
            let index = inner
                .get(..end)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("`{path}` is not a field path"))?;
            steps.push(JsonStep::Index(index));
            rest = inner.get(end + 1..).unwrap_or("");
        }
    }
    Ok(steps)
}
