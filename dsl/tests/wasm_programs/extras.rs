//! Fields a household carries that its records do not name: plain unknown
//! ones, misspellings of a field the object lacks, and look-alikes of a
//! field it has, put into generated households with what the decoder must
//! make of them.

use std::collections::BTreeMap;

use super::choices::Choices;
use super::schema::{ANY_JSON, RECORDS, Ty};

/// What the decoder must report for one household's extra fields.
#[derive(Default)]
pub(crate) struct Expected {
    /// Decode errors (`$.families[0].desl: unknown field; did you mean
    /// `desil`?`), sorted.
    pub(crate) errors: Vec<String>,
    /// Unknown fields counted, by pattern: count and hint.
    pub(crate) counted: BTreeMap<String, (u64, Option<String>)>,
}

impl Expected {
    fn count(&mut self, pattern: String, hint: Option<&str>) {
        let entry = self
            .counted
            .entry(pattern)
            .or_insert((0, hint.map(str::to_string)));
        entry.0 += 1;
    }
}

/// Names no record declares anything like.
const UNKNOWN: &[&str] = &["zz_note", "ÜBER", "", "x-y z", "123", "kite_string", "$ref"];

/// Adds extra fields to the record `r` at `doc` and to the records inside
/// it. `path` is the JSON path of `doc` (`$.families[0]`), `pattern` the
/// tally's (`families[]`).
pub(crate) fn add_extra_fields(
    c: &mut Choices,
    doc: &mut serde_json::Value,
    r: usize,
    path: &str,
    pattern: &str,
    expected: &mut Expected,
) {
    let record = &RECORDS[r];
    let Some(object) = doc.as_object_mut() else {
        return;
    };
    let join = |base: &str, name: &str| {
        if base.is_empty() {
            name.to_string()
        } else {
            format!("{base}.{name}")
        }
    };
    for field in &record.fields {
        let Some(value) = object.get_mut(field.name) else {
            continue;
        };
        match &field.ty {
            Ty::Rec(inner) => add_extra_fields(
                c,
                value,
                *inner,
                &format!("{path}.{}", field.name),
                &join(pattern, field.name),
                expected,
            ),
            Ty::List(elem) => {
                if let (Ty::Rec(inner), Some(items)) = (&**elem, value.as_array_mut()) {
                    for (i, item) in items.iter_mut().enumerate() {
                        add_extra_fields(
                            c,
                            item,
                            *inner,
                            &format!("{path}.{}[{i}]", field.name),
                            &format!("{}[]", join(pattern, field.name)),
                            expected,
                        );
                    }
                }
            }
            _ => {}
        }
    }
    let carried = |name: &str| object.get(name).is_some_and(|v| !v.is_null());
    let names: Vec<&str> = record.names().collect();
    let (name, target) = match c.below(10) {
        0 => (c.pick(UNKNOWN).to_string(), None),
        1 | 2 => {
            let target = *c.pick(&names);
            (misspell(c, target), Some(target))
        }
        _ => return,
    };
    // Only a name that can be a slip of `target` and of nothing else the
    // record declares, so that what the decoder must say is known.
    let clear_of = |other: &str| !looks_like(&name, other);
    let alone = names
        .iter()
        .filter(|n| Some(**n) != target)
        .all(|n| clear_of(n));
    if names.contains(&name.as_str()) || object.contains_key(&name) || !alone {
        return;
    }
    let slip_of_missing = target.filter(|t| !carried(t));
    let value = c.pick(&ANY_JSON).clone();
    object.insert(name.clone(), value);
    let counted = join(pattern, &name);
    match slip_of_missing {
        // A look-alike of a field the object has is another attribute.
        Some(target) => {
            if record.open {
                expected.count(counted, Some(target));
            } else {
                expected.errors.push(format!(
                    "{path}.{name}: unknown field; did you mean `{target}`?"
                ));
            }
        }
        _ => expected.count(counted, None),
    }
}

/// A slip of `name`: another case, a word before or after, a letter left
/// out (of a name of four letters or more: shorter ones match only by case
/// or words).
fn misspell(c: &mut Choices, name: &str) -> String {
    match c.below(4) {
        3 if name.len() < 4 => name.to_uppercase(),
        0 => name.to_uppercase(),
        1 => format!("{name}_old"),
        2 => format!("x_{name}"),
        _ => {
            let at = c.below(name.len());
            name.char_indices()
                .filter(|(i, _)| *i != at)
                .map(|(_, ch)| ch)
                .collect()
        }
    }
}

/// Generously, whether `name` could be taken for `field`: same letters in
/// another case, `field` with words around it, or two edits away. Used
/// only to keep the generated cases unambiguous.
fn looks_like(name: &str, field: &str) -> bool {
    let words = |s: &str| s.to_lowercase().replace(['-', ' ', '.'], "_");
    let (name, field) = (words(name), words(field));
    name == field
        || name.starts_with(&format!("{field}_"))
        || name.ends_with(&format!("_{field}"))
        || strsim::damerau_levenshtein(&name, &field) <= 2
}
