//! The native baseline of the benchmarks: the shipped rules (`rules/*.lyk`:
//! integrity and the PKH, SEMBAKO, PBI_JK and PIP programmes, with their
//! default dated parameters) written by hand in plain Rust over typed
//! household structs.
//!
//! Two benchmark lines use it: [`parse`] alone is the floor "(e) NDJSON into
//! typed Rust structs", and [`parse`] + [`evaluate`] is "(a) native Rust".
//! It is not an engine: no explanations, no overrides, only the outcome the
//! `--format summary` line shows, which must equal the interpreter's
//! (`engine/tests/native_baseline.rs` checks it household by household).
//!
//! # Parsing
//!
//! The structs follow `rules/schema.lyk` and decode what `layak_dsl::record`
//! decodes: required fields must be present and not `null`; ints take
//! integral JSON numbers (also `3.0` or `1e3`, as the decoder does); ranged
//! ints and enum codes are checked; unknown fields are ignored. Text is
//! borrowed from the line unless it has escapes. Fields whose value no rule
//! reads (names, documents, housing, ...) are checked for their type and
//! kept only as what the rules ask of them (present and non-empty). Two
//! exotic inputs are treated differently from the reference decoder, which
//! reads a `serde_json::Value` first: an object with a repeated key (the
//! decoder keeps the last value; serde's derive rejects the record) and a
//! record written as a JSON array (serde's derive reads it positionally; the
//! decoder rejects it). Neither occurs in generated or sample data.
//!
//! # Evaluating
//!
//! [`evaluate`] follows the shipped rules and the interpretation choices of
//! `rules/README.md`. Missing data: the shipped integrity criteria state a
//! default for every optional field, so none can be undetermined, and the
//! summary's `undetermined` list is always empty. A verified record has a
//! birth date, sex and NIK for every living member (`COMPLETENESS`), so the
//! programmes can be undetermined only through a parameter with no entry in
//! force at `as_of` (`params.NAME`, before 2025-01-01): that is coded here,
//! with the interpreter's Kleene logic and its unions of missing reasons.

use std::borrow::Cow;
use std::fmt;

use layak_dsl::date::Date;
use layak_dsl::ir::Program;
use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

// ---- the household ------------------------------------------------------------

/// One household of the interchange format (DOMAIN.md section 3), as the
/// shipped rules read it.
#[derive(Debug, serde::Deserialize)]
pub struct Household<'a> {
    #[serde(borrow)]
    pub record_id: Str<'a>,
    pub source: Option<Source>,
    #[serde(borrow)]
    pub region: Region<'a>,
    pub verval: Option<Verval>,
    pub housing: Option<Housing>,
    pub programmes_received: Option<Texts>,
    #[serde(borrow)]
    pub families: Vec<Family<'a>>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Region<'a> {
    #[serde(borrow)]
    pub desa_code: Str<'a>,
    pub address: Option<HasText>,
    pub rt: Option<AnyText>,
    pub rw: Option<AnyText>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Verval {
    /// 1 done, 2 not found, 3 moved, 4 part of another household, 5 duplicate.
    pub result: Option<Ranged<1, 5>>,
    pub musdes_doc: Option<HasText>,
    pub endorsement_doc: Option<HasText>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Housing {
    pub floor_area_m2: Option<Int>,
    pub floor_type: Option<Int>,
    pub wall_type: Option<Int>,
    pub roof_type: Option<Int>,
    pub water_source: Option<Int>,
    pub lighting: Option<Int>,
    pub electricity_va: Option<Int>,
    pub cooking_fuel: Option<Int>,
    pub toilet: Option<Int>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Family<'a> {
    #[serde(borrow)]
    pub kk_number: Option<Str<'a>>,
    pub desil: Option<Ranged<1, 10>>,
    #[serde(borrow)]
    pub members: Vec<Member<'a>>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Member<'a> {
    #[serde(borrow)]
    pub nik: Option<Str<'a>>,
    pub dukcapil: Option<Dukcapil>,
    pub name: Option<HasText>,
    pub birth_place: Option<HasText>,
    pub birth_date: Option<Day>,
    pub sex: Option<Sex>,
    /// 1 single, 2 married, 3 divorced, 4 widowed.
    pub marital: Option<Ranged<1, 4>>,
    /// 1 head, 2 spouse, 3 child, ... 8 other.
    pub shdk: Option<Ranged<1, 8>>,
    pub mother_name: Option<HasText>,
    /// 1 lives here, 2 deceased, 3 moved, 4 moved abroad, 5 new, 6 not found.
    pub presence: Option<Ranged<1, 6>>,
    pub death_date: Option<Day>,
    pub pregnant: Option<bool>,
    pub difficulty: Option<Difficulty>,
    pub school: Option<School>,
    pub work: Option<Work>,
    pub jkn: Option<Jkn>,
    pub external_flags: Option<Flags>,
}

/// Washington Group functional difficulty: 1 cannot at all .. 4 none.
#[derive(Debug, serde::Deserialize)]
pub struct Difficulty {
    pub seeing: Option<Ranged<1, 4>>,
    pub hearing: Option<Ranged<1, 4>>,
    pub walking: Option<Ranged<1, 4>>,
    pub hands: Option<Ranged<1, 4>>,
    pub learning: Option<Ranged<1, 4>>,
    pub behaviour: Option<Ranged<1, 4>>,
    pub communication: Option<Ranged<1, 4>>,
    pub self_care: Option<Ranged<1, 4>>,
}

#[derive(Debug, serde::Deserialize)]
pub struct School {
    /// 1 never, 2 in school, 3 left.
    pub participation: Option<Ranged<1, 3>>,
    /// 1-5 SD-level, 6-10 SMP-level, 11-17 SMA-level.
    pub level: Option<Ranged<1, 17>>,
    pub grade: Option<Ranged<1, 12>>,
    pub has_kip: Option<bool>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Work {
    pub worked_last_week: Option<bool>,
    pub sector: Option<Int>,
    /// 5 is civil servant, TNI, Polri or state-firm employee.
    pub status: Option<Ranged<1, 8>>,
}

/// Parses one NDJSON line into a [`Household`], borrowing its text.
pub fn parse(line: &str) -> Result<Household<'_>, serde_json::Error> {
    serde_json::from_str(line)
}

// ---- field types --------------------------------------------------------------

/// A JSON string, borrowed from the line when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Str<'a>(pub Cow<'a, str>);

impl Str<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
        }
        d.deserialize_str(V).map(Str)
    }
}

/// A text field only checked for being non-empty (`has_text` in the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HasText(pub bool);

impl<'de> Deserialize<'de> for HasText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HasText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HasText, E> {
                Ok(HasText(!v.is_empty()))
            }
        }
        d.deserialize_str(V)
    }
}

/// A text field no rule reads: only checked for being a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnyText;

impl<'de> Deserialize<'de> for AnyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AnyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<AnyText, E> {
                Ok(AnyText)
            }
        }
        d.deserialize_str(V)
    }
}

/// A list of texts no rule reads (`programmes_received`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Texts;

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Texts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Texts, A::Error> {
                while seq.next_element::<AnyText>()?.is_some() {}
                Ok(Texts)
            }
        }
        d.deserialize_seq(V)
    }
}

/// `external_flags`, kept as what the rules ask of it: whether "asn" is
/// among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    pub asn: bool,
}

impl<'de> Deserialize<'de> for Flags {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IsAsn(bool);
        impl<'de> Deserialize<'de> for IsAsn {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = IsAsn;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<IsAsn, E> {
                        Ok(IsAsn(v == "asn"))
                    }
                }
                d.deserialize_str(V)
            }
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flags;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Flags, A::Error> {
                let mut asn = false;
                while let Some(IsAsn(is)) = seq.next_element()? {
                    asn |= is;
                }
                Ok(Flags { asn })
            }
        }
        d.deserialize_seq(V)
    }
}

/// The integer a JSON number stands for exactly, as the reference decoder
/// reads it: integral floats (`3.0`, `1e3`) count, `1.5` and `2^63` do not.
fn integral(f: f64) -> Option<i64> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f)).then_some(f as i64)
}

struct IntVisitor;

impl Visitor<'_> for IntVisitor {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        integral(v).ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
    }
}

/// An `int` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_i64(IntVisitor).map(Int)
    }
}

/// An `int(LO..HI)` field, or an enum with the integer codes `LO..=HI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranged<const LO: i64, const HI: i64>(pub i64);

impl<'de, const LO: i64, const HI: i64> Deserialize<'de> for Ranged<LO, HI> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = d.deserialize_i64(IntVisitor)?;
        if (LO..=HI).contains(&n) {
            Ok(Ranged(n))
        } else {
            Err(de::Error::invalid_value(
                de::Unexpected::Signed(n),
                &format!("an integer in {LO}..{HI}").as_str(),
            ))
        }
    }
}

/// JKN membership: 0 none, 1 PBI, 2 self-paying, 4 employer-paid, 8 other,
/// 99 unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jkn(pub i64);

impl<'de> Deserialize<'de> for Jkn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = d.deserialize_i64(IntVisitor)?;
        if matches!(n, 0 | 1 | 2 | 4 | 8 | 99) {
            Ok(Jkn(n))
        } else {
            Err(de::Error::invalid_value(
                de::Unexpected::Signed(n),
                &"a Jkn code: 0, 1, 2, 4, 8 or 99",
            ))
        }
    }
}

/// A `date` field: exactly `YYYY-MM-DD`, a real calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub Date);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Day;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date \"YYYY-MM-DD\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Day, E> {
                Date::parse(v)
                    .map(Day)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// An enum with text codes, taking exactly a JSON string of one code.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $expecting:literal, { $($code:literal => $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($variant),+
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        match v {
                            $($code => Ok($name::$variant),)+
                            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                        }
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

text_enum!(Source, "\"DTKS\" or \"DTSEN\"", { "DTKS" => Dtks, "DTSEN" => Dtsen });
text_enum!(
    /// Whether the member's identity was matched with Dukcapil.
    Dukcapil,
    "\"matched\", \"not_matched\" or \"not_checked\"",
    { "matched" => Matched, "not_matched" => NotMatched, "not_checked" => NotChecked }
);
text_enum!(Sex, "\"M\" or \"F\"", { "M" => M, "F" => F });

// ---- reference tables -----------------------------------------------------------

/// A set of text codes, as a `table` of the rules holds them. Codes of up to
/// 15 ASCII digits (all the region codes) are kept as integers, tagged with
/// their length so that leading zeros still count.
#[derive(Debug, Clone, Default)]
pub struct CodeSet {
    digits: Vec<u64>,
    other: Vec<String>,
}

impl CodeSet {
    fn key(code: &str) -> Option<u64> {
        let b = code.as_bytes();
        if b.is_empty() || b.len() > 15 {
            return None;
        }
        let mut n: u64 = 0;
        for &c in b {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u64::from(c - b'0');
        }
        Some(((b.len() as u64) << 56) | n)
    }

    pub fn new<'c>(codes: impl IntoIterator<Item = &'c str>) -> CodeSet {
        let mut set = CodeSet::default();
        for code in codes {
            match CodeSet::key(code) {
                Some(k) => set.digits.push(k),
                None => set.other.push(code.to_string()),
            }
        }
        set.digits.sort_unstable();
        set.digits.dedup();
        set.other.sort_unstable();
        set.other.dedup();
        set
    }

    pub fn contains(&self, code: &str) -> bool {
        match CodeSet::key(code) {
            Some(k) => self.digits.binary_search(&k).is_ok(),
            None => self
                .other
                .binary_search_by(|c| c.as_str().cmp(code))
                .is_ok(),
        }
    }

    pub fn len(&self) -> usize {
        self.digits.len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The reference tables of the shipped rules, built once.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// `VILLAGES` (`rules/tables/villages.txt`): 10-digit village codes.
    pub villages: CodeSet,
    /// `DISTRICTS` (`rules/tables/districts.txt`): 6-digit district codes.
    pub districts: CodeSet,
}

impl Tables {
    /// The tables a compiled program loaded (`VILLAGES` and `DISTRICTS`);
    /// `None` when it has not both.
    pub fn from_program(program: &Program) -> Option<Tables> {
        let table = |name: &str| {
            program
                .tables
                .iter()
                .find(|t| t.name == name)
                .map(|t| CodeSet::new(t.codes.iter().map(String::as_str)))
        };
        Some(Tables {
            villages: table("VILLAGES")?,
            districts: table("DISTRICTS")?,
        })
    }
}

// ---- dated parameters -----------------------------------------------------------

/// The parameters of the shipped rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    PkhElderlyMinAge,
    PkhMaxComponents,
    PkhPregnant,
    PkhEarlyChildhood,
    PkhSd,
    PkhSmp,
    PkhSma,
    PkhDisability,
    PkhElderly,
    SembakoMonthly,
    PbiMaxDesil,
    PbiMonthly,
    PipSd,
    PipSmp,
    PipSma,
}

const PARAM_COUNT: usize = 15;

/// A date as the integer `yyyymmdd` ([`Date::yyyymmdd`]).
const fn ymd(y: i32, m: i32, d: i32) -> i32 {
    y * 10_000 + m * 100 + d
}

/// Each parameter's name and dated entries (`from` as `yyyymmdd`, value),
/// as in `rules/*.lyk`, in [`Param`] order.
const DATED: [(&str, &[(i32, i64)]); PARAM_COUNT] = [
    ("PKH_ELDERLY_MIN_AGE", &[(ymd(2021, 1, 1), 70)]),
    ("PKH_MAX_COMPONENTS", &[(ymd(2019, 1, 1), 4)]),
    ("PKH_PREGNANT", &[(ymd(2025, 1, 1), 3_000_000)]),
    ("PKH_EARLY_CHILDHOOD", &[(ymd(2025, 1, 1), 3_000_000)]),
    ("PKH_SD", &[(ymd(2025, 1, 1), 900_000)]),
    ("PKH_SMP", &[(ymd(2025, 1, 1), 1_500_000)]),
    ("PKH_SMA", &[(ymd(2025, 1, 1), 2_000_000)]),
    ("PKH_DISABILITY", &[(ymd(2025, 1, 1), 2_400_000)]),
    ("PKH_ELDERLY", &[(ymd(2025, 1, 1), 2_400_000)]),
    ("SEMBAKO_MONTHLY", &[(ymd(2025, 1, 1), 200_000)]),
    ("PBI_MAX_DESIL", &[(ymd(2025, 1, 1), 5)]),
    ("PBI_MONTHLY", &[(ymd(2025, 1, 1), 42_000)]),
    ("PIP_SD", &[(ymd(2025, 1, 1), 450_000)]),
    ("PIP_SMP", &[(ymd(2025, 1, 1), 750_000)]),
    (
        "PIP_SMA",
        &[(ymd(2020, 1, 1), 1_000_000), (ymd(2024, 1, 1), 1_800_000)],
    ),
];

/// A set of parameters with no entry in force: the missing reasons
/// (`params.NAME`) of an undetermined decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Missing(u16);

impl Missing {
    pub const NONE: Missing = Missing(0);

    fn of(p: Param) -> Missing {
        Missing(1 << p as u16)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn union(self, other: Missing) -> Missing {
        Missing(self.0 | other.0)
    }

    /// The reasons as the interpreter lists them: `params.NAME`, sorted.
    pub fn reasons(self) -> Vec<String> {
        let mut names: Vec<String> = DATED
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, (name, _))| format!("params.{name}"))
            .collect();
        names.sort_unstable();
        names
    }
}

/// A value, or the parameters whose absence left it undetermined.
type Val = Result<i64, Missing>;

/// A three-valued truth (Kleene), undetermined with its missing reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    T,
    F,
    U(Missing),
}

/// The parameter values in force at one `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    values: [Option<i64>; PARAM_COUNT],
}

impl Params {
    /// The entry with the latest `from` not after `as_of`, per parameter.
    pub fn at(as_of: Date) -> Params {
        let day = as_of.yyyymmdd();
        let mut values = [None; PARAM_COUNT];
        for (slot, (_, entries)) in values.iter_mut().zip(DATED.iter()) {
            *slot = entries
                .iter()
                .filter(|(from, _)| *from <= day)
                .max_by_key(|(from, _)| *from)
                .map(|(_, v)| *v);
        }
        Params { values }
    }

    fn get(&self, p: Param) -> Val {
        self.values
            .get(p as usize)
            .copied()
            .flatten()
            .ok_or(Missing::of(p))
    }
}

/// What an evaluation depends on besides the household, built once per run.
#[derive(Debug, Clone)]
pub struct Context<'t> {
    pub as_of: Date,
    pub params: Params,
    pub tables: &'t Tables,
}

impl<'t> Context<'t> {
    pub fn new(as_of: Date, tables: &'t Tables) -> Context<'t> {
        Context {
            as_of,
            params: Params::at(as_of),
            tables,
        }
    }
}

// ---- the summary ----------------------------------------------------------------

/// The integrity codes in rule order (`rules/integrity.lyk`), with whether
/// they block.
const CODES: [(&str, bool); 13] = [
    ("NIK_PLACEHOLDER", true),
    ("NIK_FORMAT", true),
    ("NIK_REGION", false),
    ("NIK_CONSISTENCY", false),
    ("DUKCAPIL_MATCH", true),
    ("DUPLICATE_NIK_IN_RECORD", true),
    ("ONE_LIVING_HEAD", true),
    ("MEMBER_NOT_LIVING", false),
    ("REGION_VALID", true),
    ("COMPLETENESS", true),
    ("VERVAL_DONE", true),
    ("AGE_PLAUSIBLE", true),
    ("PREGNANCY_IMPLAUSIBLE", false),
];

const NIK_PLACEHOLDER: u16 = 1 << 0;
const NIK_FORMAT: u16 = 1 << 1;
const NIK_REGION: u16 = 1 << 2;
const NIK_CONSISTENCY: u16 = 1 << 3;
const DUKCAPIL_MATCH: u16 = 1 << 4;
const DUPLICATE_NIK_IN_RECORD: u16 = 1 << 5;
const ONE_LIVING_HEAD: u16 = 1 << 6;
const MEMBER_NOT_LIVING: u16 = 1 << 7;
const REGION_VALID: u16 = 1 << 8;
const COMPLETENESS: u16 = 1 << 9;
const VERVAL_DONE: u16 = 1 << 10;
const AGE_PLAUSIBLE: u16 = 1 << 11;
const PREGNANCY_IMPLAUSIBLE: u16 = 1 << 12;

/// The programmes, in the summary's (alphabetical) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Programme {
    PbiJk,
    Pip,
    Pkh,
    Sembako,
}

impl Programme {
    pub const ALL: [Programme; 4] = [
        Programme::PbiJk,
        Programme::Pip,
        Programme::Pkh,
        Programme::Sembako,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Programme::PbiJk => "PBI_JK",
            Programme::Pip => "PIP",
            Programme::Pkh => "PKH",
            Programme::Sembako => "SEMBAKO",
        }
    }

    /// The benefit period.
    pub fn per(self) -> &'static str {
        match self {
            Programme::PbiJk | Programme::Sembako => "month",
            Programme::Pip | Programme::Pkh => "year",
        }
    }
}

/// Whom a decision is about: the subject's key when it has one, else its
/// path in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'h> {
    Key(&'h str),
    Family(usize),
    Member(usize, usize),
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Key(k) => f.write_str(k),
            Subject::Family(i) => write!(f, "families[{i}]"),
            Subject::Member(i, j) => write!(f, "families[{i}].members[{j}]"),
        }
    }
}

/// One programme decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'h> {
    pub programme: Programme,
    pub subject: Subject<'h>,
    /// `None` when undetermined.
    pub eligible: Option<bool>,
    /// 0 when not eligible, `None` when undetermined.
    pub amount: Option<i64>,
    pub missing: Missing,
}

/// The outcome of one household, as the `--format summary` line shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeSummary<'h> {
    pub record_id: &'h str,
    /// Failed blocking codes (bits in rule order).
    pub failures: u16,
    /// Failed warning codes.
    pub warnings: u16,
    /// The programme decisions of a verified record, by programme in
    /// [`Programme`] order, each in record order; empty when returned.
    pub entries: Vec<Entry<'h>>,
}

impl NativeSummary<'_> {
    pub fn verified(&self) -> bool {
        self.failures == 0
    }

    /// The codes of a bit set, in rule order.
    pub fn codes(bits: u16) -> impl Iterator<Item = &'static str> {
        CODES
            .iter()
            .enumerate()
            .filter(move |(i, _)| bits & (1 << i) != 0)
            .map(|(_, (code, _))| *code)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

struct Codes(u16);

impl Serialize for Codes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(NativeSummary::codes(self.0))
    }
}

struct Programmes<'a, 'h>(&'a [Entry<'h>]);

impl Serialize for Programmes<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(Programme::ALL.len()))?;
        for p in Programme::ALL {
            let start = self.0.partition_point(|e| e.programme < p);
            let end = self.0.partition_point(|e| e.programme <= p);
            map.serialize_entry(p.name(), &Entries(self.0.get(start..end).unwrap_or(&[])))?;
        }
        map.end()
    }
}

struct Entries<'a, 'h>(&'a [Entry<'h>]);

impl Serialize for Entries<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for e in self.0 {
            seq.serialize_element(e)?;
        }
        seq.end()
    }
}

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self.subject {
            Subject::Key(k) => map.serialize_entry("subject", k)?,
            other => map.serialize_entry("subject", &other.to_string())?,
        }
        map.serialize_entry("eligible", &self.eligible)?;
        map.serialize_entry("amount", &self.amount)?;
        map.serialize_entry("per", self.programme.per())?;
        if !self.missing.is_empty() {
            map.serialize_entry("missing", &self.missing.reasons())?;
        }
        map.end()
    }
}

impl Serialize for NativeSummary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("record_id", self.record_id)?;
        let status = if self.verified() {
            "VERIFIED"
        } else {
            "RETURNED"
        };
        map.serialize_entry("status", status)?;
        map.serialize_entry("failures", &Codes(self.failures))?;
        map.serialize_entry("warnings", &Codes(self.warnings))?;
        if self.verified() {
            map.serialize_entry("programmes", &Programmes(&self.entries))?;
        }
        map.end()
    }
}

// ---- the rules ------------------------------------------------------------------

/// `living` of `common.lyk`: presence 1 or 5, and no death date by `as_of`.
#[inline]
fn living(m: &Member<'_>, as_of: Date) -> bool {
    matches!(m.presence, Some(Ranged(1 | 5))) && m.death_date.is_none_or(|Day(d)| d > as_of)
}

#[inline]
fn has_text(t: Option<HasText>) -> bool {
    matches!(t, Some(HasText(true)))
}

#[inline]
fn age(birth: Date, as_of: Date) -> i64 {
    birth.years_until(as_of)
}

/// `is_placeholder` of `nik.lyk`: `999999999999999x`, x in 4, 5, 6, 9.
#[inline]
fn is_placeholder(nik: &[u8]) -> bool {
    match nik.split_last() {
        Some((last, head)) => {
            head.len() == 15
                && head.iter().all(|&c| c == b'9')
                && matches!(last, b'4' | b'5' | b'6' | b'9')
        }
        None => false,
    }
}

fn days_in_month(y: i32, m: i32) -> i32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// What a well-formed NIK encodes.
struct NikDate {
    /// DD as written (women have 40 added).
    raw_day: i32,
    day: i32,
    month: i32,
    yy: i32,
}

#[inline]
fn two(a: u8, b: u8) -> i32 {
    i32::from(a - b'0') * 10 + i32::from(b - b'0')
}

/// `nik_format_ok` of `nik.lyk`: 16 ASCII digits whose DDMMYY is a real
/// date not after `as_of` (day 01-31, or 41-71 for women); the decoded date
/// when it is.
#[inline]
fn nik_format(nik: &[u8], as_of: Date) -> Option<NikDate> {
    let [_, _, _, _, _, _, d1, d2, m1, m2, y1, y2, _, _, _, _] = nik else {
        return None;
    };
    if !nik.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let raw_day = two(*d1, *d2);
    let month = two(*m1, *m2);
    let yy = two(*y1, *y2);
    if !((1..=31).contains(&raw_day) || (41..=71).contains(&raw_day)) || !(1..=12).contains(&month)
    {
        return None;
    }
    let day = if raw_day > 40 { raw_day - 40 } else { raw_day };
    let year = if 2000 + yy <= as_of.year() {
        2000 + yy
    } else {
        1900 + yy
    };
    if day > days_in_month(year, month) || year * 10_000 + month * 100 + day > as_of.yyyymmdd() {
        return None;
    }
    Some(NikDate {
        raw_day,
        day,
        month,
        yy,
    })
}

/// `complete` of `integrity.lyk`.
#[inline]
fn complete(m: &Member<'_>) -> bool {
    has_text(m.name)
        && m.nik.as_ref().is_some_and(|n| !n.0.is_empty())
        && has_text(m.birth_place)
        && m.birth_date.is_some()
        && m.sex.is_some()
        && has_text(m.mother_name)
        && m.shdk.is_some()
        && m.marital.is_some()
}

/// The integrity ruleset: (failed blocking codes, failed warnings).
fn integrity(h: &Household<'_>, ctx: &Context<'_>) -> (u16, u16) {
    let as_of = ctx.as_of;
    let mut fail = 0_u16;
    let mut warn = 0_u16;
    let mut complete_all = true;
    for f in &h.families {
        let mut heads = 0_u32;
        for m in &f.members {
            if !living(m, as_of) {
                warn |= MEMBER_NOT_LIVING;
                continue;
            }
            if m.shdk == Some(Ranged(1)) {
                heads += 1;
            }
            let nik = m.nik.as_ref().map_or(&[][..], |n| n.0.as_bytes());
            if m.nik.is_some() && is_placeholder(nik) {
                fail |= NIK_PLACEHOLDER;
            } else {
                match nik_format(nik, as_of) {
                    None => fail |= NIK_FORMAT,
                    Some(decoded) => {
                        if !nik
                            .get(..6)
                            .and_then(|r| std::str::from_utf8(r).ok())
                            .is_some_and(|r| ctx.tables.districts.contains(r))
                        {
                            warn |= NIK_REGION;
                        }
                        let sex_ok = m
                            .sex
                            .is_none_or(|s| (decoded.raw_day > 40) == (s == Sex::F));
                        let birth_ok = m.birth_date.is_none_or(|Day(b)| {
                            decoded.day == b.day()
                                && decoded.month == b.month()
                                && decoded.yy == b.year() % 100
                        });
                        if !(sex_ok && birth_ok) {
                            warn |= NIK_CONSISTENCY;
                        }
                    }
                }
            }
            if m.dukcapil != Some(Dukcapil::Matched) {
                fail |= DUKCAPIL_MATCH;
            }
            complete_all &= complete(m);
            let years = m.birth_date.map(|Day(b)| age(b, as_of));
            if years.is_some_and(|a| !(0..=120).contains(&a)) {
                fail |= AGE_PLAUSIBLE;
            }
            if m.pregnant == Some(true)
                && !(m.sex == Some(Sex::F) && years.is_some_and(|a| (10..=55).contains(&a)))
            {
                warn |= PREGNANCY_IMPLAUSIBLE;
            }
        }
        if heads != 1 {
            fail |= ONE_LIVING_HEAD;
        }
    }
    if duplicate_nik(h, as_of) {
        fail |= DUPLICATE_NIK_IN_RECORD;
    }
    if !ctx.tables.villages.contains(h.region.desa_code.as_str()) {
        fail |= REGION_VALID;
    }
    if !(complete_all && has_text(h.region.address)) {
        fail |= COMPLETENESS;
    }
    let verval_done = h.verval.as_ref().is_some_and(|v| {
        v.result == Some(Ranged(1)) && has_text(v.musdes_doc) && has_text(v.endorsement_doc)
    });
    if !verval_done {
        fail |= VERVAL_DONE;
    }
    (fail, warn)
}

/// `DUPLICATE_NIK_IN_RECORD`: two living members of the household (any
/// families) with the same NIK, placeholders aside. Households are small:
/// a pairwise scan allocates nothing.
fn duplicate_nik(h: &Household<'_>, as_of: Date) -> bool {
    let niks = || {
        h.families
            .iter()
            .flat_map(|f| f.members.iter())
            .filter(move |m| living(m, as_of))
            .filter_map(|m| m.nik.as_ref().map(|n| n.as_str()))
    };
    niks()
        .enumerate()
        .filter(|(_, n)| !is_placeholder(n.as_bytes()))
        .any(|(i, n)| niks().skip(i + 1).any(|o| o == n))
}

/// Kleene OR accumulation of `any`.
fn or(acc: Tri, this: Tri) -> Tri {
    match (acc, this) {
        (Tri::T, _) | (_, Tri::T) => Tri::T,
        (Tri::F, x) | (x, Tri::F) => x,
        (Tri::U(a), Tri::U(b)) => Tri::U(a.union(b)),
    }
}

/// The strict maximum of values: undetermined with the union of every
/// undetermined operand's reasons.
fn max_strict(values: [Val; 5]) -> Val {
    let mut best = 0_i64;
    let mut missing = Missing::NONE;
    for v in values {
        match v {
            Ok(n) => best = best.max(n),
            Err(m) => missing = missing.union(m),
        }
    }
    if missing.is_empty() {
        Ok(best)
    } else {
        Err(missing)
    }
}

#[inline]
fn in_school(m: &Member<'_>) -> bool {
    m.school
        .as_ref()
        .is_some_and(|s| s.participation == Some(Ranged(2)))
}

#[inline]
fn school_level(m: &Member<'_>) -> i64 {
    m.school
        .as_ref()
        .and_then(|s| s.level)
        .map_or(0, |Ranged(l)| l)
}

/// The SD, SMP or SMA parameter of a school level, if any.
#[inline]
fn level_param(level: i64, sd: Param, smp: Param, sma: Param) -> Option<Param> {
    match level {
        1..=5 => Some(sd),
        6..=10 => Some(smp),
        11..=17 => Some(sma),
        _ => None,
    }
}

fn severe_disability(m: &Member<'_>) -> bool {
    m.difficulty.as_ref().is_some_and(|d| {
        let one = |x: Option<Ranged<1, 4>>| x == Some(Ranged(1));
        one(d.seeing)
            || one(d.hearing)
            || one(d.walking)
            || one(d.hands)
            || one(d.learning)
            || one(d.behaviour)
            || one(d.communication)
            || d.self_care.is_some_and(|Ranged(s)| s <= 2)
    })
}

#[inline]
fn asn(m: &Member<'_>) -> bool {
    m.work.as_ref().is_some_and(|w| w.status == Some(Ranged(5)))
        || m.external_flags.is_some_and(|f| f.asn)
}

/// `pkh_component` of `pkh.lyk`: the member's highest component.
fn pkh_component(m: &Member<'_>, years: i64, p: &Params) -> Val {
    let zero = Ok(0);
    let school = in_school(m);
    let pregnant = if m.pregnant == Some(true) && m.sex == Some(Sex::F) {
        p.get(Param::PkhPregnant)
    } else {
        zero
    };
    let early = if years <= 6 && !school {
        p.get(Param::PkhEarlyChildhood)
    } else {
        zero
    };
    let schooling = if !school || years > 21 {
        zero
    } else {
        match level_param(school_level(m), Param::PkhSd, Param::PkhSmp, Param::PkhSma) {
            Some(param) => p.get(param),
            None => zero,
        }
    };
    let disability = if severe_disability(m) {
        p.get(Param::PkhDisability)
    } else {
        zero
    };
    let elderly = match p.get(Param::PkhElderlyMinAge) {
        Err(missing) => Err(missing),
        Ok(min) if years >= min => p.get(Param::PkhElderly),
        Ok(_) => zero,
    };
    max_strict([pregnant, early, schooling, disability, elderly])
}

/// The sum of the `n` largest values, without allocating for `n <= 8`.
struct TopN {
    n: usize,
    /// The largest values so far, descending, when `n <= 8`.
    top: [i64; 8],
    len: usize,
    /// Every value, when `n > 8`.
    all: Vec<i64>,
}

impl TopN {
    fn new(n: i64) -> TopN {
        TopN {
            n: usize::try_from(n.max(0)).unwrap_or(usize::MAX),
            top: [0; 8],
            len: 0,
            all: Vec::new(),
        }
    }

    fn push(&mut self, v: i64) {
        if self.n > self.top.len() {
            self.all.push(v);
            return;
        }
        // Insert into the descending prefix `top[..len]`, keeping `n`.
        let mut i = self.len;
        if i == self.n {
            match self.top.get(i.wrapping_sub(1)) {
                Some(&last) if last < v => i -= 1,
                _ => return,
            }
        } else {
            self.len += 1;
        }
        while i > 0 {
            match self.top.get(i - 1) {
                Some(&prev) if prev < v => {
                    if let Some(slot) = self.top.get_mut(i) {
                        *slot = prev;
                    }
                    i -= 1;
                }
                _ => break,
            }
        }
        if let Some(slot) = self.top.get_mut(i) {
            *slot = v;
        }
    }

    /// `None` on overflow (the interpreter's `error: overflow`, which these
    /// amounts cannot reach).
    fn sum(mut self) -> Option<i64> {
        if self.n > self.top.len() {
            self.all.sort_unstable_by(|a, b| b.cmp(a));
            self.all.truncate(self.n);
            return self.all.iter().try_fold(0_i64, |t, v| t.checked_add(*v));
        }
        self.top
            .get(..self.len)
            .unwrap_or(&[])
            .iter()
            .try_fold(0_i64, |t, v| t.checked_add(*v))
    }
}

/// A determination: not eligible, undetermined, or eligible with the
/// benefit.
fn decide(
    failed: bool,
    undetermined: Missing,
    benefit: Val,
) -> (Option<bool>, Option<i64>, Missing) {
    if failed {
        (Some(false), Some(0), Missing::NONE)
    } else if !undetermined.is_empty() {
        (None, None, undetermined)
    } else {
        match benefit {
            Ok(amount) => (Some(true), Some(amount), Missing::NONE),
            Err(missing) => (None, None, missing),
        }
    }
}

/// Evaluates the shipped rules on one household: integrity, then, on a
/// verified record, the four programmes.
pub fn evaluate<'h>(h: &'h Household<'_>, ctx: &Context<'_>) -> NativeSummary<'h> {
    let (failures, warnings) = integrity(h, ctx);
    let mut summary = NativeSummary {
        record_id: h.record_id.as_str(),
        failures,
        warnings,
        entries: Vec::new(),
    };
    if failures == 0 {
        determine(h, ctx, &mut summary.entries);
    }
    summary
}

fn member_subject<'h>(m: &'h Member<'_>, fi: usize, mi: usize) -> Subject<'h> {
    match &m.nik {
        Some(n) => Subject::Key(n.as_str()),
        None => Subject::Member(fi, mi),
    }
}

/// The programme decisions of a verified record. Every living member of a
/// verified record has a birth date and a sex (`COMPLETENESS`); a member
/// without a birth date is left out of PIP and counts no component in PKH,
/// which only a returned record could show.
fn determine<'h>(h: &'h Household<'_>, ctx: &Context<'_>, out: &mut Vec<Entry<'h>>) {
    let as_of = ctx.as_of;
    let p = &ctx.params;
    let members: usize = h.families.iter().map(|f| f.members.len()).sum();
    out.reserve(2 * members + 2 * h.families.len());
    let desil_1_to_4 = |f: &Family<'_>| f.desil.is_some_and(|Ranged(d)| (1..=4).contains(&d));

    // PBI_JK: each living member matched with Dukcapil.
    for (fi, f) in h.families.iter().enumerate() {
        let desil = match f.desil {
            None => Tri::F,
            Some(Ranged(d)) => match p.get(Param::PbiMaxDesil) {
                Ok(max) if d <= max => Tri::T,
                Ok(_) => Tri::F,
                Err(missing) => Tri::U(missing),
            },
        };
        for (mi, m) in f.members.iter().enumerate() {
            if !(living(m, as_of) && m.dukcapil == Some(Dukcapil::Matched)) {
                continue;
            }
            let insured = matches!(m.jkn, Some(Jkn(2 | 4)));
            let undetermined = match desil {
                Tri::U(missing) => missing,
                _ => Missing::NONE,
            };
            let (eligible, amount, missing) = decide(
                desil == Tri::F || insured,
                undetermined,
                p.get(Param::PbiMonthly),
            );
            out.push(Entry {
                programme: Programme::PbiJk,
                subject: member_subject(m, fi, mi),
                eligible,
                amount,
                missing,
            });
        }
    }

    // PIP: each living member aged 6-21 in school.
    for (fi, f) in h.families.iter().enumerate() {
        let desil = desil_1_to_4(f);
        for (mi, m) in f.members.iter().enumerate() {
            let Some(Day(birth)) = m.birth_date else {
                continue;
            };
            if !(living(m, as_of) && (6..=21).contains(&age(birth, as_of)) && in_school(m)) {
                continue;
            }
            let school = m.school.as_ref();
            let kip = school.and_then(|s| s.has_kip) == Some(true);
            let full =
                match level_param(school_level(m), Param::PipSd, Param::PipSmp, Param::PipSma) {
                    Some(param) => p.get(param),
                    None => Ok(0),
                };
            let final_grade = matches!(school.and_then(|s| s.grade), Some(Ranged(6 | 9 | 12)));
            let amount = if final_grade {
                full.map(|a| a / 2)
            } else {
                full
            };
            let (eligible, amount, missing) = decide(!(desil || kip), Missing::NONE, amount);
            out.push(Entry {
                programme: Programme::Pip,
                subject: member_subject(m, fi, mi),
                eligible,
                amount,
                missing,
            });
        }
    }

    // PKH and SEMBAKO: each family.
    let n = p.get(Param::PkhMaxComponents);
    for (fi, f) in h.families.iter().enumerate() {
        let desil = desil_1_to_4(f);
        let mut any_asn = false;
        let mut has_component = Tri::F;
        let mut benefit_missing = Missing::NONE;
        let mut top = TopN::new(n.unwrap_or(0));
        for m in f.members.iter().filter(|m| living(m, as_of)) {
            any_asn |= asn(m);
            let Some(Day(birth)) = m.birth_date else {
                continue;
            };
            match pkh_component(m, age(birth, as_of), p) {
                Ok(c) => {
                    has_component = or(has_component, if c > 0 { Tri::T } else { Tri::F });
                    top.push(c);
                }
                Err(missing) => {
                    has_component = or(has_component, Tri::U(missing));
                    benefit_missing = benefit_missing.union(missing);
                }
            }
        }
        let benefit = match n {
            Err(missing) => Err(missing),
            Ok(_) if !benefit_missing.is_empty() => Err(benefit_missing),
            // Overflow cannot happen with the shipped amounts.
            Ok(_) => Ok(top.sum().unwrap_or(i64::MAX)),
        };
        let undetermined = match has_component {
            Tri::U(missing) => missing,
            _ => Missing::NONE,
        };
        let (eligible, amount, missing) = decide(
            !desil || any_asn || has_component == Tri::F,
            undetermined,
            benefit,
        );
        let subject = match &f.kk_number {
            Some(k) => Subject::Key(k.as_str()),
            None => Subject::Family(fi),
        };
        out.push(Entry {
            programme: Programme::Pkh,
            subject,
            eligible,
            amount,
            missing,
        });
    }
    for (fi, f) in h.families.iter().enumerate() {
        let eligible = desil_1_to_4(f) && !f.members.iter().any(|m| living(m, as_of) && asn(m));
        let (eligible, amount, missing) =
            decide(!eligible, Missing::NONE, p.get(Param::SembakoMonthly));
        let subject = match &f.kk_number {
            Some(k) => Subject::Key(k.as_str()),
            None => Subject::Family(fi),
        };
        out.push(Entry {
            programme: Programme::Sembako,
            subject,
            eligible,
            amount,
            missing,
        });
    }
}
