use super::*;

fn miss(name: &str, candidates: &[&'static str]) -> Option<&'static str> {
    near_miss(name, candidates.iter().copied())
}

#[test]
fn names_normalize_to_lowercase_words() {
    assert_eq!(normalize("birthDate"), "birth_date");
    assert_eq!(normalize("Birth-Date"), "birth_date");
    assert_eq!(normalize("BIRTH_DATE"), "birth_date");
    assert_eq!(normalize("desil_KK"), "desil_kk");
    assert_eq!(normalize("__desil__"), "desil");
    assert_eq!(normalize("gold10G"), "gold10_g");
    assert_eq!(normalize(""), "");
}

#[test]
fn misspellings_case_affixes_and_edits() {
    let family = ["kk_number", "desil", "pmt_score", "members"];
    assert_eq!(miss("desl", &family), Some("desil"));
    assert_eq!(miss("dseil", &family), Some("desil"));
    assert_eq!(miss("Desil", &family), Some("desil"));
    assert_eq!(miss("DESIL", &family), Some("desil"));
    assert_eq!(miss("desil_kk", &family), Some("desil"));
    assert_eq!(miss("kk_desil", &family), Some("desil"));
    assert_eq!(miss("desilKK", &family), Some("desil"));
    assert_eq!(miss("kkNumber", &family), Some("kk_number"));
    assert_eq!(miss("pmtScore", &family), Some("pmt_score"));
    assert_eq!(miss("member", &family), Some("members"));
    // Not slips: other words, and part of a word.
    assert_eq!(miss("colour", &family), None);
    assert_eq!(miss("desilkkk", &family), None);
    assert_eq!(miss("kk", &family), None);
    assert_eq!(miss("", &family), None);
}

#[test]
fn short_names_match_only_by_case_or_words() {
    let member = ["jkn", "rt", "nik"];
    assert_eq!(miss("jkm", &member), None);
    assert_eq!(miss("JKN", &member), Some("jkn"));
    assert_eq!(miss("rt_code", &member), Some("rt"));
    assert_eq!(miss("nik_ibu", &member), Some("nik"));
}

#[test]
fn long_names_allow_two_edits_and_the_closest_wins() {
    let housing = ["floor_type", "roof_type", "endorsement_doc"];
    assert_eq!(miss("endorsment_dc", &housing), Some("endorsement_doc"));
    assert_eq!(miss("door_type", &housing), None);
    assert_eq!(miss("flor_type", &housing), Some("floor_type"));
    // A case variant beats an edit.
    assert_eq!(
        miss("Roof_Type", &["roof_typ", "roof_type"]),
        Some("roof_type")
    );
    // Of two fields with words around them, the longer one.
    assert_eq!(miss("desil_kk", &["kk", "desil"]), Some("desil"));
}

#[test]
fn the_report_is_one_line() {
    let mut tally = UnknownFields::default();
    tally.note("housing.colour", None);
    tally.note("housing.colour", None);
    tally.note("families[].desl", Some("desil"));
    assert_eq!(tally.total(), 3);
    assert_eq!(
        tally.to_string(),
        "3 unknown fields ignored: `families[].desl` (1, did you mean `desil`?), `housing.colour` (2)"
    );
    let mut more = UnknownFields::default();
    for i in 0..25 {
        more.note(&format!("f{i:02}"), None);
    }
    more.merge(tally);
    assert_eq!(more.total(), 28);
    assert!(more.to_string().ends_with("`f19` (1) and 7 more"), "{more}");
    let mut one = UnknownFields::default();
    one.note("x", None);
    assert_eq!(one.to_string(), "1 unknown field ignored: `x` (1)");
}
