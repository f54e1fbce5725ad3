//! The editor layer (`layak_dsl::ide`) on the shipped rules: what a rule
//! author sees when hovering, jumping, renaming, completing and fixing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken fixture"
)]

mod common;

use layak_dsl::date::Date;
use layak_dsl::ide::{Analysis, CompletionKind, Edit};
use layak_dsl::{FileId, Sources};

fn shipped() -> Analysis {
    Analysis::new(common::shipped_sources())
}

/// The byte offset of the `n`-th (from 0) occurrence of `needle` in a file,
/// plus `plus`.
fn at(a: &Analysis, file: &str, needle: &str, n: usize, plus: usize) -> (FileId, usize) {
    let id = a.file_id(file).unwrap();
    let text = &a.sources().get(id).unwrap().text;
    let offset = text.match_indices(needle).nth(n).unwrap().0;
    (id, offset + plus)
}

fn location(a: &Analysis, span: layak_dsl::source::Span) -> String {
    format!(
        "{} `{}`",
        a.sources().location(span),
        a.sources().snippet(span)
    )
}

/// Applies edits to the analysis, back to front per file.
fn apply(a: &mut Analysis, edits: &[Edit]) {
    let mut edits = edits.to_vec();
    edits.sort_by_key(|e| (e.span.file, std::cmp::Reverse(e.span.start)));
    for e in edits {
        let file = a.sources().get(e.span.file).unwrap();
        let (name, mut text) = (file.name.clone(), file.text.clone());
        text.replace_range(e.span.range(), &e.text);
        a.set_file(&name, &text);
    }
}

#[test]
fn the_shipped_rules_have_no_diagnostics_and_match_compile() {
    let a = shipped();
    assert!(a.diagnostics().is_empty(), "{:?}", a.diagnostics());
    assert!(a.program().is_some());
    let (program, _) = layak_dsl::compile(&common::shipped_sources());
    assert_eq!(
        format!("{:?}", a.program()),
        format!("{:?}", program.as_ref())
    );
}

#[test]
fn hover_a_parameter_shows_its_value_on_the_date_and_its_source() {
    let a = shipped();
    let (file, offset) = at(&a, "rules/pkh.lyk", "PKH_ELDERLY_MIN_AGE then", 0, 3);
    let hover = a.hover(file, offset, Date::parse("2025-10-01")).unwrap();
    assert_eq!(a.sources().snippet(hover.span), "PKH_ELDERLY_MIN_AGE");
    insta::assert_snapshot!(hover.markdown, @r#"
    ```layak
    param PKH_ELDERLY_MIN_AGE: int
    ```
    **70** on 2025-10-01 (from 2021-01-01, source: Pedoman Umum PKH 2021 (contested: the 2018 text says 60))

    | value | from | source |
    |---|---|---|
    | 70 | 2021-01-01 | Pedoman Umum PKH 2021 (contested: the 2018 text says 60) |
    "#);
    // Before its first date there is no value.
    let early = a.hover(file, offset, Date::parse("2020-01-01")).unwrap();
    assert!(
        early.markdown.contains("no value on 2020-01-01"),
        "{}",
        early.markdown
    );
}

#[test]
fn hover_a_definition_a_field_and_a_builtin() {
    let a = shipped();
    let (file, offset) = at(&a, "rules/pkh.lyk", "pkh_component(", 0, 1);
    insta::assert_snapshot!(a.hover(file, offset, None).unwrap().markdown, @r"
    ```layak
    def pkh_component(m: Member): money
    ```
    A member counts only its highest component (Rp per year).
    ");
    let (file, offset) = at(&a, "rules/pkh.lyk", "m.sex", 0, 3);
    let field = a.hover(file, offset, None).unwrap().markdown;
    assert!(field.starts_with("```layak\nsex: Sex"), "{field}");
    assert!(field.contains("field of record `Member`"), "{field}");
    assert!(field.contains("official codes of `Sex`"), "{field}");
    let (file, offset) = at(&a, "rules/common.lyk", "years_between(", 0, 2);
    let builtin = a.hover(file, offset, None).unwrap().markdown;
    assert!(
        builtin.contains("years_between(from: date, to: date): int"),
        "{builtin}"
    );
}

#[test]
fn go_to_definition_across_files_and_find_references() {
    let a = shipped();
    let (file, offset) = at(&a, "rules/pkh.lyk", "age(m)", 0, 1);
    let def = a.definition(file, offset).unwrap();
    assert_eq!(location(&a, def), "rules/common.lyk:14:5 `age`");
    // From the declaration itself, too.
    assert_eq!(a.definition(def.file, def.start as usize), Some(def));
    let (file, offset) = at(&a, "rules/pkh.lyk", "PKH_MAX_COMPONENTS", 0, 0);
    let refs: Vec<String> = a
        .references(file, offset, true)
        .into_iter()
        .map(|s| location(&a, s))
        .collect();
    insta::assert_debug_snapshot!(refs);
}

#[test]
fn rename_a_definition_across_files() {
    let mut a = shipped();
    let (file, offset) = at(&a, "rules/common.lyk", "def age", 0, 4);
    let edits = a.rename(file, offset, "age_in_years").unwrap();
    let files: std::collections::BTreeSet<&str> = edits
        .iter()
        .map(|e| a.sources().get(e.span.file).unwrap().name.as_str())
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    apply(&mut a, &edits);
    assert!(a.diagnostics().is_empty(), "{:?}", a.diagnostics());
    let text = &a
        .sources()
        .get(a.file_id("rules/pkh.lyk").unwrap())
        .unwrap()
        .text;
    assert!(text.contains("age_in_years(m) > 21") && !text.contains(" age(m)"));
}

#[test]
fn rename_refuses_what_would_break_the_rules() {
    let a = shipped();
    let (file, offset) = at(&a, "rules/common.lyk", "def age", 0, 4);
    for (name, why) in [
        ("in_school", "already declared"),
        ("2x", "not a name"),
        ("len", "reserved"),
        ("match", "reserved"),
    ] {
        let e = a.rename(file, offset, name).unwrap_err();
        assert!(e.message.contains(why), "{name}: {}", e.message);
    }
    let (file, offset) = at(&a, "rules/pkh.lyk", "m.sex", 0, 3);
    assert!(a.prepare_rename(file, offset).is_none());
    let e = a.rename(file, offset, "gender").unwrap_err();
    assert!(e.message.contains("interchange format"), "{}", e.message);
}

#[test]
fn a_misspelt_field_gets_e0104_with_a_quick_fix_that_applies() {
    let mut a = shipped();
    let (file, offset) = at(&a, "rules/common.lyk", "f.desil in", 0, 2);
    let name = a.sources().get(file).unwrap().name.clone();
    let mut text = a.sources().get(file).unwrap().text.clone();
    text.replace_range(offset..offset + "desil".len(), "desl");
    a.set_file(&name, &text);
    let d = &a.diagnostics()[0];
    assert_eq!(
        (d.code, d.help.as_deref()),
        ("E0104", Some("did you mean `desil`?"))
    );
    let actions = a.code_actions(file, offset, offset + 4);
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].title, "Change to `desil`");
    let edits = actions[0].edits.clone();
    apply(&mut a, &edits);
    assert!(a.diagnostics().is_empty(), "{:?}", a.diagnostics());
}

/// The shipped rules with `line` written into `pkh_school_component`, and
/// the offset of `cursor_after` in it (plus `plus`).
fn with_line(line: &str, cursor_after: &str) -> (Analysis, FileId, usize) {
    let mut a = shipped();
    let name = "rules/pkh.lyk";
    let file = a.file_id(name).unwrap();
    let mut text = a.sources().get(file).unwrap().text.clone();
    let offset = text.find("  else if is_sd(m)").unwrap();
    text.insert_str(offset, &format!("  else if {line} then Rp 0\n"));
    a.set_file(name, &text);
    let cursor =
        offset + "  else if ".len() + line.find(cursor_after).unwrap() + cursor_after.len();
    (a, file, cursor)
}

#[test]
fn completion_after_a_dot_lists_the_record_fields() {
    let (a, file, cursor) = with_line("m.", "m.");
    let items = a.completions(file, cursor);
    let labels: Vec<&str> = items.iter().map(|c| c.label.as_str()).collect();
    for field in ["nik", "birth_date", "sex", "school"] {
        assert!(labels.contains(&field), "{field} missing from {labels:?}");
    }
    assert!(items.iter().all(|c| c.kind == CompletionKind::Field));
    let sex = items.iter().find(|c| c.label == "sex").unwrap();
    assert_eq!(sex.detail, "Sex?");
    assert_eq!(
        (sex.replace.start as usize, sex.replace.end as usize),
        (cursor, cursor)
    );
    // A partly typed field filters the list and is what gets replaced.
    let (a, file, cursor) = with_line("m.bi", "m.bi");
    let items = a.completions(file, cursor);
    let labels: Vec<&str> = items.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["birth_date", "birth_place"]);
    assert_eq!(items[0].replace.end - items[0].replace.start, 2);
}

#[test]
fn completion_of_names_locals_definitions_parameters_and_variants() {
    let (a, file, cursor) = with_line("pkh_", "pkh_");
    let labels: Vec<String> = a
        .completions(file, cursor)
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert!(labels.contains(&"pkh_component".to_string()), "{labels:?}");
    assert!(
        labels.iter().all(|l| l.to_lowercase().starts_with("pkh_")),
        "{labels:?}"
    );
    let (a, file, cursor) = with_line("PKH_EL", "PKH_EL");
    let params: Vec<(String, CompletionKind, String)> = a
        .completions(file, cursor)
        .into_iter()
        .map(|c| (c.label, c.kind, c.detail))
        .collect();
    assert_eq!(params.len(), 2, "{params:?}");
    assert_eq!(params[0].1, CompletionKind::Parameter);
    let (a, file, cursor) = with_line("m", "m");
    let local = a.completions(file, cursor);
    let m = local.iter().find(|c| c.label == "m").unwrap();
    assert_eq!(
        (m.kind, m.detail.as_str()),
        (CompletionKind::Local, "Member")
    );
    let (a, file, cursor) = with_line("m.sex == Sex.", "Sex.");
    let variants: Vec<(String, CompletionKind)> = a
        .completions(file, cursor)
        .into_iter()
        .map(|c| (c.label, c.kind))
        .collect();
    assert_eq!(
        variants,
        [
            ("F".to_string(), CompletionKind::Variant),
            ("M".to_string(), CompletionKind::Variant)
        ]
    );
}

#[test]
fn no_completion_inside_comments_or_message_text_but_in_holes() {
    let a = shipped();
    let (file, offset) = at(&a, "rules/pkh.lyk", "// A member counts", 0, 5);
    assert_eq!(a.completions(file, offset), []);
    let text = &a.sources().get(file).unwrap().text;
    let hole = text.find("{family.").expect("a message hole in pkh.lyk");
    assert_eq!(a.completions(file, hole - 2), []);
    let fields: Vec<String> = a
        .completions(file, hole + "{family.".len())
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert!(fields.contains(&"desil".to_string()), "{fields:?}");
}

#[test]
fn outline_and_semantic_tokens_of_a_file() {
    let a = shipped();
    let file = a.file_id("rules/pkh.lyk").unwrap();
    let outline: Vec<String> = a
        .document_symbols(file)
        .iter()
        .map(|s| {
            let children: Vec<&str> = s.children.iter().map(|c| c.name.as_str()).collect();
            format!("{:?} {} {children:?}", s.kind, s.name)
        })
        .collect();
    insta::assert_debug_snapshot!(outline);
    let tokens: Vec<String> = a
        .semantic_tokens(file)
        .iter()
        .filter(|t| {
            let line = a
                .sources()
                .get(file)
                .unwrap()
                .line_col(t.span.start as usize)
                .0;
            (49..=56).contains(&line)
        })
        .map(|t| {
            format!(
                "{} {:?}{}",
                location(&a, t.span),
                t.kind,
                if t.declaration { " (declaration)" } else { "" }
            )
        })
        .collect();
    insta::assert_debug_snapshot!(tokens);
}

#[test]
fn a_broken_file_still_gets_answers_and_nothing_panics() {
    let mut sources = Sources::new();
    sources.add(
        "a.lyk",
        "record R key id { id: text }\nsubject r: R\ndef f(x: R): int = len(x.",
    );
    let a = Analysis::new(sources);
    assert!(!a.diagnostics().is_empty());
    let file = a.file_id("a.lyk").unwrap();
    let len = a.sources().get(file).unwrap().text.len();
    for offset in 0..=len + 2 {
        let _ = a.hover(file, offset, None);
        let _ = a.completions(file, offset);
        let _ = a.definition(file, offset);
        let _ = a.references(file, offset, true);
        let _ = a.rename(file, offset, "y");
    }
    let _ = a.document_symbols(file);
    let _ = a.semantic_tokens(file);
}

#[test]
fn completion_in_an_early_file_lists_its_own_record_fields() {
    // Records numbered by file order: completing in the first file must
    // not mistake its record for the second file's.
    let mut sources = Sources::new();
    sources.add(
        "a.lyk",
        "import \"b.lyk\"\nrecord A key id { id: text, alpha: int }\ndef f(x: A): int = x.alpha\n",
    );
    sources.add(
        "b.lyk",
        "record B key id { id: text, beta: int }\nsubject b: B\n",
    );
    let a = Analysis::new(sources);
    let file = a.file_id("a.lyk").unwrap();
    let text = &a.sources().get(file).unwrap().text;
    let cursor = text.find("x.alpha").unwrap() + 2;
    let labels: Vec<String> = a
        .completions(file, cursor)
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert_eq!(labels, ["alpha", "id"]);
}
