//! The proposal stage's intake: one household JSON checked for shape
//! against the schema (with the JSON path of every error) and made ready to
//! store.

use layak_dsl::ir::Schema;
use layak_dsl::record::{DecodeError, decode_json};
use sha2::{Digest as _, Sha256};

use crate::store::households::{Person, Proposed};

use super::privacy::{mask_digits, mask_name};
use layak_host::hex::encode as hex;

/// The longest `record_id` accepted: it appears in URLs and logs.
pub const MAX_RECORD_ID: usize = 128;

/// Checks one household and prepares it for the store.
pub fn check(schema: &Schema, json: &serde_json::Value) -> Result<Proposed, Vec<DecodeError>> {
    let mut errors = match decode_json(schema, json) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    let record_id = json.get("record_id").and_then(|v| v.as_str());
    let region = json
        .get("region")
        .and_then(|r| r.get("desa_code"))
        .and_then(|v| v.as_str());
    if let Some(id) = record_id
        && (id.is_empty() || id.len() > MAX_RECORD_ID || id.chars().any(char::is_control))
    {
        errors.push(DecodeError {
            path: "$.record_id".to_string(),
            message: format!(
                "a record id is 1 to {MAX_RECORD_ID} characters without control characters"
            ),
        });
    }
    let (Some(record_id), Some(region), true) = (record_id, region, errors.is_empty()) else {
        if errors.is_empty() {
            errors.push(DecodeError {
                path: "$".to_string(),
                message: "a household needs `record_id` and `region.desa_code`".to_string(),
            });
        }
        return Err(errors);
    };
    // Re-serialised, so the same content sent with other spacing is the
    // same version (object key order is kept as sent).
    let body = json.to_string();
    let content_hash = hex(&Sha256::digest(body.as_bytes()));
    Ok(Proposed {
        line: 0,
        record_id: record_id.to_string(),
        region: region.to_string(),
        content_hash,
        body,
        people: people(json),
    })
}

/// The living members with a real NIK (placeholders aside), with their
/// family card, for the registry-wide checks.
fn people(json: &serde_json::Value) -> Vec<Person> {
    let mut out = Vec::new();
    let families = json.get("families").and_then(|f| f.as_array());
    for (i, family) in families.into_iter().flatten().enumerate() {
        let kk = family
            .get("kk_number")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let members = family.get("members").and_then(|m| m.as_array());
        for (j, member) in members.into_iter().flatten().enumerate() {
            let presence = member.get("presence").and_then(|p| p.as_i64());
            let dead = member.get("death_date").is_some_and(|d| !d.is_null());
            if dead || presence.is_some_and(|p| p != 1 && p != 5) {
                continue;
            }
            let nik = member
                .get("nik")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty() && !s.starts_with("999999999999999"))
                .map(str::to_string);
            out.push(Person {
                path: format!("families[{i}].members[{j}]"),
                nik,
                kk_number: kk.clone(),
            });
        }
    }
    out
}

/// Decode errors as the API reports (and the job errors keep) them. A
/// message quotes the value it found; the value at the error's path is
/// shown masked when it has letters (it may be a name in the wrong field:
/// `"B***"`), and identity numbers anywhere in it are masked
/// (`3310********0001`). Error lists are stored and shown to others in the
/// region; the path says where the value is in the sender's own data.
pub fn errors_json(input: &serde_json::Value, errors: &[DecodeError]) -> serde_json::Value {
    serde_json::Value::Array(
        errors
            .iter()
            .map(|e| {
                let mut message = e.message.clone();
                if let Some(serde_json::Value::String(found)) = at_path(input, &e.path)
                    && found.chars().any(char::is_alphabetic)
                {
                    // As `describe` in layak_dsl::record quotes it.
                    const MAX: usize = 40;
                    let shown: String = found.chars().take(MAX).collect();
                    let quoted = serde_json::Value::String(shown.clone()).to_string();
                    let masked = serde_json::Value::String(mask_name(&shown)).to_string();
                    message = message.replace(&quoted, &masked);
                }
                serde_json::json!({"path": e.path, "message": mask_digits(&message)})
            })
            .collect(),
    )
}

/// The value at a decode error's path (`$.families[0].members[1].name`).
fn at_path<'a>(json: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut value = json;
    for part in path.strip_prefix('$')?.split('.').filter(|p| !p.is_empty()) {
        let (name, indexes) = match part.find('[') {
            Some(i) => (part.get(..i)?, part.get(i..)?),
            None => (part, ""),
        };
        if !name.is_empty() {
            value = value.get(name)?;
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            let n: usize = index.strip_suffix(']')?.parse().ok()?;
            value = value.get(n)?;
        }
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_names_and_numbers_are_masked() {
        let input = serde_json::json!({"families": [{"members": [{"shdk": "Budi Santoso"}]}]});
        let errors = [DecodeError {
            path: "$.families[0].members[0].shdk".to_string(),
            message: "unknown Shdk code \"Budi Santoso\"; expected one of 1, 2".to_string(),
        }];
        assert_eq!(
            errors_json(&input, &errors)[0]["message"],
            "unknown Shdk code \"B*** S******\"; expected one of 1, 2"
        );
    }
}
