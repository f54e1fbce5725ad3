//! The proposal stage's intake: one household JSON checked for shape
//! against the schema (with the JSON path of every error) and made ready to
//! store.

use layak_dsl::ir::Schema;
use layak_dsl::record::{DecodeError, decode_json};
use sha2::{Digest as _, Sha256};

use crate::store::households::{Person, Proposed};

use super::privacy::mask_digits;
use super::rules::hex;

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

/// Decode errors as the API reports (and the job errors keep) them; a
/// message that quotes an identity number shows it masked.
pub fn errors_json(errors: &[DecodeError]) -> serde_json::Value {
    serde_json::Value::Array(
        errors
            .iter()
            .map(|e| serde_json::json!({"path": e.path, "message": mask_digits(&e.message)}))
            .collect(),
    )
}
