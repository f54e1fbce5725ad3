use super::*;
use crate::ir::{EnumDef, FieldDef, RecordDef, SubjectDef, SubjectId, VariantDef};

fn field(name: &str, ty: Type, optional: bool) -> FieldDef {
    FieldDef {
        name: name.to_string(),
        ty,
        optional,
        range: None,
    }
}

/// `Household { record_id, size: int(1..20)?, verval: Verval?, families: list<Family> }`,
/// `Family { kk: text?, members: list<Member> }`,
/// `Member { nik: text?, birth_date: date?, sex: Sex?, shdk: Shdk?, pregnant: bool?, wage: money?, flags: list<text>? }`.
fn schema() -> Schema {
    let variants = |codes: &[(&str, Code)]| {
        codes
            .iter()
            .map(|(n, c)| VariantDef {
                name: n.to_string(),
                code: c.clone(),
            })
            .collect()
    };
    let mut size = field("size", Type::Int, true);
    size.range = Some((1, 20));
    Schema {
        enums: vec![
            EnumDef {
                name: "Sex".to_string(),
                variants: variants(&[("M", Code::Text("M".into())), ("F", Code::Text("F".into()))]),
            },
            EnumDef {
                name: "Shdk".to_string(),
                variants: variants(&[("head", Code::Int(1)), ("spouse", Code::Int(2))]),
            },
        ],
        records: vec![
            RecordDef {
                name: "Household".to_string(),
                fields: vec![
                    field("record_id", Type::Text, false),
                    size,
                    field(
                        "families",
                        Type::List(Box::new(Type::Record(RecordId(1)))),
                        false,
                    ),
                ],
                key: Some(0),
                label: None,
                ..RecordDef::default()
            },
            RecordDef {
                name: "Family".to_string(),
                fields: vec![
                    field("kk", Type::Text, true),
                    field(
                        "members",
                        Type::List(Box::new(Type::Record(RecordId(2)))),
                        false,
                    ),
                ],
                key: Some(0),
                label: None,
                ..RecordDef::default()
            },
            RecordDef {
                name: "Member".to_string(),
                fields: vec![
                    field("nik", Type::Text, true),
                    field("birth_date", Type::Date, true),
                    field("sex", Type::Enum(EnumId(0)), true),
                    field("shdk", Type::Enum(EnumId(1)), true),
                    field("pregnant", Type::Bool, true),
                    field("wage", Type::Money, true),
                    field("flags", Type::List(Box::new(Type::Text)), true),
                ],
                key: Some(0),
                label: None,
                ..RecordDef::default()
            },
        ],
        subjects: vec![
            SubjectDef {
                name: "household".to_string(),
                record: RecordId(0),
                parent: None,
            },
            SubjectDef {
                name: "family".to_string(),
                record: RecordId(1),
                parent: Some((SubjectId(0), 2)),
            },
            SubjectDef {
                name: "member".to_string(),
                record: RecordId(2),
                parent: Some((SubjectId(1), 1)),
            },
        ],
    }
}

fn errors(line: &str) -> Vec<String> {
    match decode_line(&schema(), line) {
        Ok(v) => vec![format!("decoded: {v:?}")],
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn decodes_a_household() {
    let line = r#"{"record_id":"H1","size":3,"extra":{"x":1},"families":[{"kk":null,"members":[
        {"nik":"1","birth_date":"2020-02-29","sex":"F","shdk":1,"pregnant":true,"wage":1500000.0,"flags":["asn"]},
        {}]}]}"#;
    let value = decode_line(&schema(), line);
    let member = Value::Record(Record {
        fields: vec![
            Some(Value::Text("1".into())),
            crate::date::Date::parse("2020-02-29").map(Value::Date),
            Some(Value::Enum(1)),
            Some(Value::Enum(0)),
            Some(Value::Bool(true)),
            Some(Value::Money(1_500_000)),
            Some(Value::List(vec![Value::Text("asn".into())])),
        ],
    });
    let empty = Value::Record(Record {
        fields: vec![None; 7],
    });
    let family = Value::Record(Record {
        fields: vec![None, Some(Value::List(vec![member, empty]))],
    });
    let expected = Value::Record(Record {
        fields: vec![
            Some(Value::Text("H1".into())),
            Some(Value::Int(3)),
            Some(Value::List(vec![family])),
        ],
    });
    assert_eq!(value, Ok(expected));
}

#[test]
fn reports_every_error_with_its_path() {
    let line = r#"{"size":21,"families":[{"members":[
        {"nik":5,"birth_date":"2023-02-29","sex":"X","shdk":"1","pregnant":1,"wage":1.5,"flags":["a",null,3]},
        {"birth_date":123,"shdk":3,"wage":1e30}]}, 7]}"#;
    assert_eq!(
        errors(line),
        [
            "$.record_id: missing required field `record_id`",
            "$.size: expected an integer in 1..20, found 21",
            "$.families[0].members[0].nik: expected a string, found 5",
            "$.families[0].members[0].birth_date: expected a date \"YYYY-MM-DD\", found \"2023-02-29\"",
            "$.families[0].members[0].sex: unknown Sex code \"X\"; expected one of \"M\", \"F\"",
            "$.families[0].members[0].shdk: unknown Shdk code \"1\"; expected one of 1, 2",
            "$.families[0].members[0].pregnant: expected true or false, found 1",
            "$.families[0].members[0].wage: expected a whole number of rupiah, found 1.5",
            "$.families[0].members[0].flags[1]: a list element cannot be null",
            "$.families[0].members[0].flags[2]: expected a string, found 3",
            "$.families[0].members[1].birth_date: expected a date \"YYYY-MM-DD\", found 123",
            "$.families[0].members[1].shdk: unknown Shdk code 3; expected one of 1, 2",
            "$.families[0].members[1].wage: expected a whole number of rupiah, found 1e+30",
            "$.families[1]: expected an object (Family), found 7",
        ]
    );
}

#[test]
fn required_and_container_types() {
    assert_eq!(
        errors(r#"{"record_id":null,"families":{}}"#),
        [
            "$.record_id: missing required field `record_id`",
            "$.families: expected a list, found an object",
        ]
    );
    assert_eq!(
        errors(r#"[1]"#),
        ["$: expected an object (Household), found a list"]
    );
    assert_eq!(
        errors(
            r#"{"record_id":"x","families":[{"members":[{"nik":"0123456789012345678901234567890123456789XYZ"}]}], "size": 9223372036854775808}"#
        ),
        ["$.size: expected an integer in 1..20, found 9223372036854775808"]
    );
}

#[test]
fn integers_must_be_exact() {
    assert_eq!(integer_of(&serde_json::json!(3)), Some(3));
    assert_eq!(integer_of(&serde_json::json!(3.0)), Some(3));
    assert_eq!(
        integer_of(&serde_json::json!(-9.223_372_036_854_776e18)),
        Some(i64::MIN)
    );
    assert_eq!(
        integer_of(&serde_json::json!(9.223_372_036_854_776e18)),
        None
    );
    assert_eq!(integer_of(&serde_json::json!(u64::MAX)), None);
    assert_eq!(integer_of(&serde_json::json!(1.5)), None);
    assert_eq!(integer_of(&serde_json::json!("3")), None);
}

#[test]
fn syntax_error_is_one_error_at_the_root() {
    let errs = errors(r#"{"record_id": "#);
    assert_eq!(errs.len(), 1);
    assert!(
        errs.iter()
            .all(|e| e.starts_with("$: invalid JSON: ") && e.contains("line 1 column")),
        "{errs:?}"
    );
}

#[test]
fn long_strings_are_cut_in_messages() {
    let long = "x".repeat(100);
    let line =
        format!(r#"{{"record_id":"r","families":[{{"members":[{{"birth_date":"{long}"}}]}}]}}"#);
    let errs = errors(&line);
    assert_eq!(
        errs,
        [format!(
            "$.families[0].members[0].birth_date: expected a date \"YYYY-MM-DD\", found \"{}\"...",
            "x".repeat(40)
        )]
    );
}

#[test]
fn no_root_subject() {
    let schema = Schema::default();
    assert_eq!(
        decode_json(&schema, &serde_json::json!({})),
        Err(vec![DecodeError {
            path: "$".into(),
            message: "the schema declares no root subject".into()
        }])
    );
}

// ---- fields a record does not name -------------------------------------------

/// A schema written in Layak, so the checker's `open` and `ignored` are
/// what the decoder sees.
fn compiled(source: &str) -> Schema {
    let mut sources = crate::Sources::new();
    sources.add("schema.lyk", source);
    let (program, diagnostics) = crate::compile(&sources);
    assert!(
        !crate::diagnostic::has_errors(&diagnostics),
        "{diagnostics:?}"
    );
    program.unwrap().schema
}

const OPEN_MEMBERS: &str = "
    record Household key record_id {
      record_id: text
      size: int(1..20)?
      notes: ignored
      families: list<Family>
    }
    record Family key kk_number { kk_number: text?, desil: int(1..10)?, members: list<Member> }
    open record Member key nik { nik: text?, birth_date: date? }
    subject household: Household
    subject family: Family in household.families
    subject member: Member in family.members
";

/// The decode errors of `line`, or `ok` and the unknown fields counted.
fn unknown(line: &str) -> Vec<String> {
    let mut tally = UnknownFields::default();
    match decode_line_with(&compiled(OPEN_MEMBERS), line, &mut tally) {
        Ok(_) if tally.is_empty() => vec!["ok".to_string()],
        Ok(_) => vec![format!("ok; {tally}")],
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_misspelt_field_of_a_checked_record_is_an_error() {
    assert_eq!(
        unknown(r#"{"record_id":"H","families":[{"desl":2,"kkNumber":"1","members":[]}]}"#),
        [
            "$.families[0].desl: unknown field; did you mean `desil`?",
            "$.families[0].kkNumber: unknown field; did you mean `kk_number`?",
        ]
    );
    assert_eq!(
        unknown(r#"{"record_id":"H","families":[{"desil_kk":2,"members":[]}]}"#),
        ["$.families[0].desil_kk: unknown field; did you mean `desil`?"]
    );
    // A field present but null is not carried: its value would read as
    // missing while the misspelt one holds it.
    assert_eq!(
        unknown(r#"{"record_id":"H","families":[{"desil":null,"Desil":3,"members":[]}]}"#),
        ["$.families[0].Desil: unknown field; did you mean `desil`?"]
    );
    // A field declared `ignored` is a field: its misspelling is an error.
    assert_eq!(
        unknown(r#"{"record_id":"H","note":"x","families":[]}"#),
        ["$.note: unknown field; did you mean `notes`?"]
    );
}

#[test]
fn other_unknown_fields_are_counted() {
    // `desil_kk` beside a `desil` that is there is another attribute.
    assert_eq!(
        unknown(
            r#"{"record_id":"H","colour":"red","families":[
                {"desil":2,"desil_kk":3,"members":[]},{"desil_kk":4,"desil":1,"members":[]}]}"#
        ),
        ["ok; 3 unknown fields ignored: `colour` (1), `families[].desil_kk` (2)"]
    );
    // The value of an `ignored` field, or of an unknown one, is not looked at.
    assert_eq!(
        unknown(r#"{"record_id":"H","notes":{"any":[1,null]},"families":[]}"#),
        ["ok"]
    );
    assert_eq!(
        unknown(r#"{"record_id":"H","x":{"desl":[null]},"families":[]}"#),
        ["ok; 1 unknown field ignored: `x` (1)"]
    );
}

#[test]
fn an_open_record_counts_misspellings_too() {
    assert_eq!(
        unknown(
            r#"{"record_id":"H","families":[{"members":[{"Nik":"1","hobby":"kite"},{"nik":"2","Nik":"3"}]}]}"#
        ),
        [
            "ok; 3 unknown fields ignored: `families[].members[].Nik` (2, did you mean `nik`?), `families[].members[].hobby` (1)"
        ]
    );
    // What the rules see is what they would see without the extra fields.
    let schema = compiled(OPEN_MEMBERS);
    assert_eq!(
        decode_line(
            &schema,
            r#"{"record_id":"H","families":[{"members":[{"Nik":"1","hobby":"kite"}]}]}"#
        ),
        decode_line(
            &schema,
            r#"{"record_id":"H","families":[{"members":[{}]}]}"#
        ),
    );
}

#[test]
fn the_tally_adds_up_over_a_run_and_skips_malformed_lines() {
    let schema = compiled(OPEN_MEMBERS);
    let mut tally = UnknownFields::default();
    for line in [
        r#"{"record_id":"A","colour":1,"families":[]}"#,
        r#"{"record_id":"B","colour":2,"families":[{"members":[{"hobby":1}]}]}"#,
        // Malformed (a misspelling in a checked record): not counted.
        r#"{"record_id":"C","colour":3,"sise":4,"families":[]}"#,
    ] {
        let _ = decode_line_with(&schema, line, &mut tally);
    }
    let counts: Vec<(&str, u64)> = tally.iter().map(|(p, u)| (p, u.count)).collect();
    assert_eq!(counts, [("colour", 2), ("families[].members[].hobby", 1)]);
    assert_eq!(
        decode_line(&schema, r#"{"record_id":"C","sise":4,"families":[]}"#),
        Err(vec![DecodeError {
            path: "$.sise".into(),
            message: "unknown field; did you mean `size`?".into()
        }])
    );
}
