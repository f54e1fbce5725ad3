//! Fields a record does not name: which of them look like a misspelling
//! of a field (and are then an error in a checked record), and the tally of
//! the others, reported once per run.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt;

/// The fields a run's households carried that their records do not name,
/// by where they are (`families[].members[].hobby`: list elements shown as
/// `[]`, so one entry covers every member).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnknownFields {
    fields: BTreeMap<String, Unknown>,
}

/// One unknown field of [`UnknownFields`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// How many times it was seen.
    pub count: u64,
    /// The field it looks like a misspelling of, in an open record (where
    /// that is not an error).
    pub hint: Option<String>,
}

/// How many unknown fields [`UnknownFields`]'s report names before "and N
/// more".
const SHOWN: usize = 20;

impl UnknownFields {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// How many unknown fields were seen, counting every occurrence.
    pub fn total(&self) -> u64 {
        self.fields.values().map(|u| u.count).sum()
    }

    /// Each unknown field by where it is, in order of that path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Unknown)> {
        self.fields.iter().map(|(path, u)| (path.as_str(), u))
    }

    /// Adds another tally (of another household or batch) to this one.
    pub fn merge(&mut self, other: UnknownFields) {
        if self.fields.is_empty() {
            self.fields = other.fields;
            return;
        }
        for (path, u) in other.fields {
            self.add(path, u.count, u.hint);
        }
    }

    /// Counts one occurrence; `pattern` is built by the caller in a reused
    /// buffer, so a field seen again costs no allocation.
    pub(super) fn note(&mut self, pattern: &str, hint: Option<&str>) {
        match self.fields.get_mut(pattern) {
            Some(u) => u.count = u.count.saturating_add(1),
            None => self.add(pattern.to_string(), 1, hint.map(str::to_string)),
        }
    }

    fn add(&mut self, path: String, count: u64, hint: Option<String>) {
        let entry = self
            .fields
            .entry(path)
            .or_insert(Unknown { count: 0, hint });
        entry.count = entry.count.saturating_add(count);
    }
}

/// `3 unknown fields ignored: `housing.colour` (2), `x` (1)`: one line, the
/// run's report.
impl fmt::Display for UnknownFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total();
        let noun = if total == 1 { "field" } else { "fields" };
        write!(f, "{total} unknown {noun} ignored: ")?;
        for (i, (path, u)) in self.fields.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{path}` ({}", u.count)?;
            if let Some(hint) = &u.hint {
                write!(f, ", did you mean `{hint}`?")?;
            }
            f.write_str(")")?;
        }
        let rest = self.fields.len().saturating_sub(SHOWN);
        if rest > 0 {
            write!(f, " and {rest} more")?;
        }
        Ok(())
    }
}

/// The field of `candidates` that `name` looks like a misspelling of, if
/// any, best first: the same words in another case or style (`Desil`,
/// `birthDate`); the field's words with words before or after (`desil_kk`,
/// `kk_desil`); or one edit away, two for names of 12 characters or more
/// (`desl`). Names of fewer than four characters match only by case or
/// words: `jkm` is not a slip of `jkn`.
pub(super) fn near_miss<'c>(
    name: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    let words = normalize(name);
    let mut best: Option<(Rank, &str)> = None;
    for candidate in candidates {
        let field = normalize(candidate);
        let rank = if words == field {
            Some((0, 0))
        } else if affixed(&words, &field) {
            Some((1, 0))
        } else {
            let longest = words.chars().count().max(field.chars().count());
            let limit = match longest {
                0..4 => 0,
                4..12 => 1,
                _ => 2,
            };
            let shortest = words.chars().count().min(field.chars().count());
            // The distance is at least the difference in length: most
            // candidates are ruled out without computing it.
            if limit == 0 || longest - shortest > limit {
                None
            } else {
                let d = strsim::damerau_levenshtein(&words, &field);
                (d <= limit).then_some((2, d))
            }
        };
        if let Some((kind, d)) = rank {
            let rank = (kind, d, Reverse(field.len()));
            if best.is_none_or(|(b, _)| rank < b) {
                best = Some((rank, candidate));
            }
        }
    }
    best.map(|(_, c)| c)
}

/// How good a match is, smallest best: the kind of match (same words,
/// words around, edits), the number of edits, then the longer field (of
/// `desil_kk`, `desil` explains more than a field `kk` would).
type Rank = (u8, usize, Reverse<usize>);

/// Whether `words` is `field` with whole words before or after it.
fn affixed(words: &str, field: &str) -> bool {
    let after = words
        .strip_prefix(field)
        .is_some_and(|rest| rest.starts_with('_'));
    let before = words
        .strip_suffix(field)
        .is_some_and(|rest| rest.ends_with('_'));
    after || before
}

/// A name as lowercase words joined by `_`: `birthDate`, `Birth-Date` and
/// `BIRTH_DATE` all give `birth_date`.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' || c == ' ' {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !out.ends_with('_') {
            out.push('_');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.extend(c.to_lowercase());
    }
    if out.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests;
