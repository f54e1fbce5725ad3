//! Parse, check and format never panic, whatever the input: random text,
//! token soup from the language's own vocabulary, and the shipped rules cut
//! and spliced at random places. `PROPTEST_CASES` raises the case count
//! (CI runs the default of 10,000 per property across the three). And 64
//! generated programs through wasmtime against the interpreter
//! (`compile_run_wasm`, the third fuzz body).

use layak_tests::{
    compile_run_wasm, decode_household, parse_check_format, parse_check_format_bytes, shipped_rules,
};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "ruleset",
    "criterion",
    "require",
    "stage",
    "verification",
    "determination",
    "programme",
    "for",
    "each",
    "in",
    "not in",
    "where",
    "let",
    "benefit",
    "per",
    "year",
    "month",
    "blocking",
    "warning",
    "message",
    "id",
    "en",
    "on",
    "missing",
    "fail",
    "reason",
    "def",
    "param",
    "from",
    "source",
    "table",
    "record",
    "enum",
    "subject",
    "import",
    "match",
    "if",
    "then",
    "else",
    "and",
    "or",
    "not",
    "true",
    "false",
    "as_of",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    ".",
    "..",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "??",
    "+",
    "-",
    "*",
    "/",
    "%",
    "=>",
    "|",
    "_",
    "?",
    "<",
    ">",
    "count(",
    "any(",
    "all(",
    "sum(",
    "min(",
    "max(",
    "sum_top(",
    "filter(",
    "present(",
    "len(",
    "slice(",
    "m",
    "m.nik",
    "family.desil",
    "household",
    "member",
    "Rp 42_000",
    "2025-10-01",
    "2025-02-30",
    "99999999999999999999",
    "\"text\"",
    "\"{m.name}\"",
    "\"{\"",
    "\"\\q\"",
    "int",
    "text",
    "money",
    "list<Member>",
    "Member",
    "Family",
    "Household",
    "Sex.F",
    "x",
    "\n",
    "// comment\n",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.join(" "))
}

fn spliced_rules() -> impl Strategy<Value = String> {
    let rules = shipped_rules();
    let count = rules.len().max(1);
    (
        0..count,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        token_soup(),
    )
        .prop_map(move |(file, a, b, insert)| {
            let text = rules.get(file).map(|(_, t)| t.as_str()).unwrap_or("");
            let chars: Vec<char> = text.chars().collect();
            if chars.is_empty() {
                return insert;
            }
            let (i, j) = (a.index(chars.len()), b.index(chars.len()));
            let (lo, hi) = (i.min(j), i.max(j));
            let mut out: String = chars.get(..lo).unwrap_or_default().iter().collect();
            out.push_str(&insert);
            out.extend(chars.get(hi..).unwrap_or_default());
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3334, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(text in "\\PC{0,200}") {
        parse_check_format(&text);
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        parse_check_format(&text);
    }

    #[test]
    fn spliced_rules_never_panic(text in spliced_rules()) {
        parse_check_format(&text);
    }

    #[test]
    fn arbitrary_bytes_as_a_rule_file(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        parse_check_format_bytes(&bytes);
    }

    #[test]
    fn arbitrary_bytes_as_a_household(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        decode_household(&bytes);
    }

    #[test]
    fn json_soup_as_a_household(parts in prop::collection::vec(prop::sample::select(JSON_SOUP), 0..60)) {
        decode_household(parts.concat().as_bytes());
    }
}

proptest! {
    // Each case compiles a module with Cranelift: fewer cases.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn generated_programs_agree_in_wasmtime(bytes in prop::collection::vec(any::<u8>(), 0..6600)) {
        compile_run_wasm(&bytes);
    }
}

/// Pieces of household JSON, for a soup that often gets past the parser.
const JSON_SOUP: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    "1",
    "-1",
    "99999999999999999999",
    "\"\"",
    "\"record_id\"",
    "\"families\"",
    "\"members\"",
    "\"nik\"",
    "\"name\"",
    "\"birth_date\"",
    "\"2025-02-30\"",
    "\"1990-01-01\"",
    "\"region\"",
    "\"desa_code\"",
    "\"kk_number\"",
    "\"sex\"",
    "\"M\"",
    "\"shdk\"",
    "\"desil\"",
    "0",
    "10",
    "11",
];

#[test]
fn shipped_rules_are_found() {
    assert!(
        shipped_rules().len() >= 7,
        "the rules directory should hold the shipped rules"
    );
}
