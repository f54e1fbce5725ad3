//! The schema of the generated programs, the pools of values that matter,
//! and households for the schema.

use std::fmt::Write as _;
use std::sync::LazyLock;

use serde_json::json;

use super::choices::Choices;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Bool,
    Int,
    Money,
    Text,
    Date,
    Enum(usize),
    Rec(usize),
    List(Box<Ty>),
}

pub(crate) fn list(t: Ty) -> Ty {
    Ty::List(Box::new(t))
}

impl Ty {
    /// The type as written in Layak.
    pub(crate) fn src(&self) -> String {
        match self {
            Ty::Bool => "bool".into(),
            Ty::Int => "int".into(),
            Ty::Money => "money".into(),
            Ty::Text => "text".into(),
            Ty::Date => "date".into(),
            Ty::Enum(e) => ENUMS[*e].0.into(),
            Ty::Rec(r) => RECORDS[*r].name.into(),
            Ty::List(t) => format!("list<{}>", t.src()),
        }
    }
}

/// Enums with their variants and codes as JSON (an int enum with a
/// negative code, a text enum with a space in a code).
pub(crate) const ENUMS: &[(&str, &[(&str, &str)])] = &[
    ("Color", &[("red", "1"), ("green", "2"), ("blue", "-7")]),
    ("Kind", &[("a", "\"A\""), ("b", "\"B\""), ("c", "\"x y\"")]),
];
pub(crate) const COLOR: usize = 0;
pub(crate) const KIND: usize = 1;

pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) ty: Ty,
    pub(crate) optional: bool,
    pub(crate) range: Option<(i64, i64)>,
}

pub(crate) struct Record {
    pub(crate) name: &'static str,
    pub(crate) key: Option<&'static str>,
    pub(crate) label: Option<&'static str>,
    pub(crate) fields: Vec<Field>,
    /// Declared `open record`: no unknown field is an error.
    pub(crate) open: bool,
    /// Fields declared `name: ignored`: in the format, read by no rule.
    pub(crate) ignored: &'static [&'static str],
}

impl Record {
    /// Every name the record declares, typed or `ignored`.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields
            .iter()
            .map(|f| f.name)
            .chain(self.ignored.iter().copied())
    }
}

pub(crate) const HOUSEHOLD: usize = 0;
pub(crate) const REGION: usize = 1;
pub(crate) const FAMILY: usize = 2;
pub(crate) const MEMBER: usize = 3;
pub(crate) const JOB: usize = 4;

pub(crate) fn f(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        optional: false,
        range: None,
    }
}

pub(crate) fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        optional: true,
        ..f(name, ty)
    }
}

pub(crate) static RECORDS: LazyLock<Vec<Record>> = LazyLock::new(|| {
    vec![
        Record {
            name: "Household",
            key: Some("record_id"),
            label: None,
            fields: vec![
                f("record_id", Ty::Text),
                opt("region", Ty::Rec(REGION)),
                opt("when", Ty::Date),
                opt("budget", Ty::Money),
                opt("size", Ty::Int),
                opt("flag", Ty::Bool),
                opt("kind", Ty::Enum(KIND)),
                f("families", list(Ty::Rec(FAMILY))),
            ],
            open: false,
            ignored: &["notes"],
        },
        Record {
            name: "Region",
            key: None,
            label: None,
            fields: vec![f("code", Ty::Text), opt("rt", Ty::Int)],
            open: true,
            ignored: &[],
        },
        Record {
            name: "Family",
            key: Some("kk"),
            label: None,
            fields: vec![
                opt("kk", Ty::Text),
                Field {
                    range: Some((1, 10)),
                    ..opt("desil", Ty::Int)
                },
                opt("color", Ty::Enum(COLOR)),
                opt("cash", Ty::Money),
                f("members", list(Ty::Rec(MEMBER))),
            ],
            open: false,
            ignored: &["score"],
        },
        Record {
            name: "Member",
            key: Some("nik"),
            label: Some("name"),
            fields: vec![
                opt("nik", Ty::Text),
                opt("name", Ty::Text),
                opt("birth", Ty::Date),
                opt("income", Ty::Money),
                opt("age", Ty::Int),
                f("rank", Ty::Int),
                opt("kind", Ty::Enum(KIND)),
                opt("color", Ty::Enum(COLOR)),
                opt("ok", Ty::Bool),
                opt("scores", list(Ty::Int)),
                opt("tags", list(Ty::Text)),
                opt("amounts", list(Ty::Money)),
                opt("dates", list(Ty::Date)),
                opt("colors", list(Ty::Enum(COLOR))),
                opt("jobs", list(Ty::Rec(JOB))),
            ],
            open: true,
            ignored: &["photo"],
        },
        Record {
            name: "Job",
            key: None,
            label: None,
            fields: vec![opt("employer", Ty::Text), opt("pay", Ty::Money)],
            open: false,
            ignored: &[],
        },
    ]
});

pub(crate) fn schema_source() -> String {
    let mut s = String::new();
    for (name, variants) in ENUMS {
        let vs: Vec<String> = variants.iter().map(|(v, c)| format!("{v} = {c}")).collect();
        writeln!(s, "enum {name} {{ {} }}", vs.join(", ")).unwrap();
    }
    for r in RECORDS.iter() {
        let open = if r.open { "open " } else { "" };
        write!(s, "{open}record {}", r.name).unwrap();
        if let Some(k) = r.key {
            write!(s, " key {k}").unwrap();
        }
        if let Some(l) = r.label {
            write!(s, " label {l}").unwrap();
        }
        s.push_str(" {\n");
        for field in &r.fields {
            let ty = match field.range {
                Some((lo, hi)) => format!("int({lo}..{hi})"),
                None => field.ty.src(),
            };
            let q = if field.optional { "?" } else { "" };
            writeln!(s, "  {}: {ty}{q}", field.name).unwrap();
        }
        for name in r.ignored {
            writeln!(s, "  {name}: ignored").unwrap();
        }
        s.push_str("}\n");
    }
    s.push_str(
        "subject household: Household\n\
         subject family: Family in household.families\n\
         subject member: Member in family.members\n",
    );
    s
}

pub(crate) const TABLE: &str = "# codes\n331001: 2001 2002\nA\n123\n007\né\n";

/// Codes that are all digits, which the module keeps as numbers.
pub(crate) const DIGIT_TABLE: &str = "# digit codes\n331001: 2001 2002\n123\n007\n0\n";

// ---- value pools ---------------------------------------------------------------

/// Integers that matter: small ones for dates and slices, and the edges of
/// 32 and 64 bits.
pub(crate) const INTS: &[i64] = &[
    0,
    1,
    2,
    3,
    4,
    7,
    12,
    13,
    16,
    29,
    31,
    60,
    100,
    1000,
    2024,
    9999,
    10000,
    -1,
    -2,
    -13,
    3_037_000_499,
    3_037_000_500,
    2_147_483_647,
    2_147_483_648,
    4_294_967_296,
    4_611_686_018_427_387_904,
    i64::MAX - 1,
    i64::MAX,
    i64::MIN + 1,
    i64::MIN,
];

pub(crate) const TEXTS: &[&str] = &[
    "",
    "A",
    "B",
    "x y",
    "123",
    "-42",
    "007",
    "-",
    "12a",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "é",
    "ñandú",
    "١٢٣",
    "3310012001",
    "3310012003",
    // NIK-length texts differing late and early (text equality reads a
    // text of 8 to 16 bytes as its first and last words).
    "3310014101900001",
    "3310014101900002",
    "3310024101900001",
    "331001",
    "7",
    "0",
    "asn",
    "a\"b\\c",
    "line\nbreak\t",
    "nul\u{0}",
];

pub(crate) const DATES: &[&str] = &[
    "2025-10-01",
    "2025-09-30",
    "2025-10-02",
    "2024-02-29",
    "2024-03-01",
    "2000-02-29",
    "1900-03-01",
    "0001-01-01",
    "9999-12-31",
    "1970-01-01",
    "2007-10-01",
    "2007-10-02",
    "2025-01-01",
];

pub(crate) const AS_OF: &[&str] = &[
    "2025-10-01",
    "2024-02-29",
    "2007-10-01",
    "2000-01-01",
    "9999-12-31",
    "0001-01-01",
];

/// What-if overrides of the generated programs' dated parameters
/// (`NAME=VALUE`, as `layak eval --param` takes them).
pub(crate) const OVERRIDES: &[&str] = &[
    "P_INT=60",
    "P_INT=-1",
    "P_INT=9223372036854775807",
    "P_MONEY=Rp 200_000",
    "P_MONEY=0",
    "P_BOOL=true",
    "P_TEXT=123",
    "P_DATE=2024-02-29",
    "P_LIMIT=0",
    "P_LIMIT=2",
    "P_LIMIT=-1",
];

/// A text literal in Layak.
pub(crate) fn text_lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn int_lit(n: i64) -> String {
    if n == i64::MIN {
        "(-9223372036854775807 - 1)".into()
    } else if n < 0 {
        format!("(-{})", n.unsigned_abs())
    } else {
        n.to_string()
    }
}

pub(crate) fn money_lit(n: i64) -> String {
    if n == i64::MIN {
        "(-Rp 9_223_372_036_854_775_807 - Rp 1)".into()
    } else if n < 0 {
        format!("(-Rp {})", n.unsigned_abs())
    } else {
        format!("Rp {n}")
    }
}

// ---- households ------------------------------------------------------------------

/// Values of fields the rules do not read (`ignored` or unknown): never
/// looked at, whatever they hold, misspelt names and `null`s inside
/// included.
pub(crate) static ANY_JSON: LazyLock<Vec<serde_json::Value>> = LazyLock::new(|| {
    vec![
        json!(null),
        json!(2.5),
        json!("x"),
        json!({"desl": [null], "": {}}),
        json!([null, 1, "a"]),
        json!(i64::MIN),
    ]
});

pub(crate) fn json_value(c: &mut Choices, ty: &Ty, range: Option<(i64, i64)>) -> serde_json::Value {
    match ty {
        Ty::Bool => json!(c.below(2) == 1),
        Ty::Int => match range {
            Some((lo, hi)) => json!(lo + c.below((hi - lo + 1) as usize) as i64),
            None => json!(*c.pick(INTS)),
        },
        Ty::Money => json!(*c.pick(INTS)),
        Ty::Text if c.one_in(50) => json!("é1".repeat(1 + c.below(400))),
        Ty::Text => json!(*c.pick(TEXTS)),
        Ty::Date => json!(*c.pick(DATES)),
        Ty::Enum(e) => serde_json::from_str(c.pick(ENUMS[*e].1).1).unwrap(),
        Ty::Rec(r) => json_record(c, *r),
        Ty::List(e) => {
            // Now and then a long list, so that the module's arena grows.
            let n = if c.one_in(40) {
                20 + c.below(60)
            } else {
                c.below(4)
            };
            serde_json::Value::Array((0..n).map(|_| json_value(c, e, None)).collect())
        }
    }
}

/// A record with each optional field absent, `null` or present.
pub(crate) fn json_record(c: &mut Choices, r: usize) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for field in &RECORDS[r].fields {
        if field.optional {
            match c.below(8) {
                0 => continue,
                1 => {
                    map.insert(field.name.into(), serde_json::Value::Null);
                    continue;
                }
                _ => {}
            }
        }
        map.insert(field.name.into(), json_value(c, &field.ty, field.range));
    }
    for name in RECORDS[r].ignored {
        if c.below(3) > 0 {
            map.insert((*name).into(), c.pick(&ANY_JSON).clone());
        }
    }
    serde_json::Value::Object(map)
}
