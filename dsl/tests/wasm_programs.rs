//! Differential tests over generated programs: random well-typed rule
//! programs, written as Layak source so the whole pipeline (parse, check,
//! IR) is exercised, with random households for their schema. Every program
//! must compile without errors (anything else is a bug of the generator),
//! its module must pass `wasmparser::validate`, and the module (run by
//! wasmi) and the reference interpreter must give byte-identical decisions,
//! explanations and summaries.
//!
//! The generator draws every decision from a list of numbers (a "choice
//! stream", as Hypothesis does): proptest shrinks the list, and a shorter
//! list or smaller numbers give a smaller program, because choice 0 is
//! always the simplest option and an exhausted stream reads as zeros.
//!
//! `PROPTEST_CASES` sets the number of programs (default 400, a few seconds
//! in the debug build); each program runs on a batch of one to five
//! households.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken fixture"
)]

mod common;

use std::fmt::Write as _;
use std::sync::LazyLock;

use layak_dsl::date::Date;
use layak_dsl::decision::HouseholdDecision;
use layak_dsl::diagnostic::{has_errors, render_terminal};
use layak_dsl::eval::{EvalContext, evaluate, parse_override};
use layak_dsl::record::decode_json;
use layak_dsl::wasm::compile_module;
use layak_dsl::{Sources, compile};
use proptest::prelude::*;
use serde_json::json;

// ---- the choice stream ---------------------------------------------------------

struct Choices<'a> {
    data: &'a [u32],
    pos: usize,
}

impl<'a> Choices<'a> {
    fn new(data: &'a [u32]) -> Choices<'a> {
        Choices { data, pos: 0 }
    }

    /// A number below `n`; 0 once the stream is exhausted.
    fn below(&mut self, n: usize) -> usize {
        let v = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        v as usize % n.max(1)
    }

    /// True one time in `n` (never on an exhausted stream).
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == n - 1
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len())]
    }
}

// ---- the schema ----------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Ty {
    Bool,
    Int,
    Money,
    Text,
    Date,
    Enum(usize),
    Rec(usize),
    List(Box<Ty>),
}

fn list(t: Ty) -> Ty {
    Ty::List(Box::new(t))
}

impl Ty {
    /// The type as written in Layak.
    fn src(&self) -> String {
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
const ENUMS: &[(&str, &[(&str, &str)])] = &[
    ("Color", &[("red", "1"), ("green", "2"), ("blue", "-7")]),
    ("Kind", &[("a", "\"A\""), ("b", "\"B\""), ("c", "\"x y\"")]),
];
const COLOR: usize = 0;
const KIND: usize = 1;

struct Field {
    name: &'static str,
    ty: Ty,
    optional: bool,
    range: Option<(i64, i64)>,
}

struct Record {
    name: &'static str,
    key: Option<&'static str>,
    label: Option<&'static str>,
    fields: Vec<Field>,
}

const HOUSEHOLD: usize = 0;
const REGION: usize = 1;
const FAMILY: usize = 2;
const MEMBER: usize = 3;
const JOB: usize = 4;

fn f(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        optional: false,
        range: None,
    }
}

fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        optional: true,
        ..f(name, ty)
    }
}

static RECORDS: LazyLock<Vec<Record>> = LazyLock::new(|| {
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
        },
        Record {
            name: "Region",
            key: None,
            label: None,
            fields: vec![f("code", Ty::Text), opt("rt", Ty::Int)],
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
        },
        Record {
            name: "Job",
            key: None,
            label: None,
            fields: vec![opt("employer", Ty::Text), opt("pay", Ty::Money)],
        },
    ]
});

fn schema_source() -> String {
    let mut s = String::new();
    for (name, variants) in ENUMS {
        let vs: Vec<String> = variants.iter().map(|(v, c)| format!("{v} = {c}")).collect();
        writeln!(s, "enum {name} {{ {} }}", vs.join(", ")).unwrap();
    }
    for r in RECORDS.iter() {
        write!(s, "record {}", r.name).unwrap();
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
        s.push_str("}\n");
    }
    s.push_str(
        "subject household: Household\n\
         subject family: Family in household.families\n\
         subject member: Member in family.members\n",
    );
    s
}

const TABLE: &str = "# codes\n331001: 2001 2002\nA\n123\n007\né\n";

// ---- value pools ---------------------------------------------------------------

/// Integers that matter: small ones for dates and slices, and the edges of
/// 32 and 64 bits.
const INTS: &[i64] = &[
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

const TEXTS: &[&str] = &[
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
    "331001",
    "asn",
    "a\"b\\c",
    "line\nbreak\t",
    "nul\u{0}",
];

const DATES: &[&str] = &[
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

const AS_OF: &[&str] = &[
    "2025-10-01",
    "2024-02-29",
    "2007-10-01",
    "2000-01-01",
    "9999-12-31",
    "0001-01-01",
];

/// A text literal in Layak.
fn text_lit(s: &str) -> String {
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

fn int_lit(n: i64) -> String {
    if n == i64::MIN {
        "(-9223372036854775807 - 1)".into()
    } else if n < 0 {
        format!("(-{})", n.unsigned_abs())
    } else {
        n.to_string()
    }
}

fn money_lit(n: i64) -> String {
    if n == i64::MIN {
        "(-Rp 9_223_372_036_854_775_807 - Rp 1)".into()
    } else if n < 0 {
        format!("(-Rp {})", n.unsigned_abs())
    } else {
        format!("Rp {n}")
    }
}

// ---- the program generator -------------------------------------------------------

/// A definition's signature.
struct Sig {
    name: String,
    params: Vec<Ty>,
    ret: Ty,
}

const PARAMS: &[(&str, Ty)] = &[
    ("P_BOOL", Ty::Bool),
    ("P_INT", Ty::Int),
    ("P_MONEY", Ty::Money),
    ("P_TEXT", Ty::Text),
    ("P_DATE", Ty::Date),
    ("P_LIMIT", Ty::Int),
];

/// Element types an aggregate or a `for` may go through.
fn elem_types() -> [Ty; 9] {
    [
        Ty::Rec(MEMBER),
        Ty::Rec(FAMILY),
        Ty::Rec(JOB),
        Ty::Int,
        Ty::Money,
        Ty::Text,
        Ty::Date,
        Ty::Enum(COLOR),
        Ty::Bool,
    ]
}

/// Types of `let`s, holes, definition results and `present` operands.
fn value_types() -> [Ty; 14] {
    [
        Ty::Bool,
        Ty::Int,
        Ty::Money,
        Ty::Text,
        Ty::Date,
        Ty::Enum(COLOR),
        Ty::Enum(KIND),
        Ty::Rec(MEMBER),
        Ty::Rec(FAMILY),
        Ty::Rec(REGION),
        list(Ty::Int),
        list(Ty::Text),
        list(Ty::Rec(MEMBER)),
        list(Ty::Money),
    ]
}

struct Gen<'c, 'd> {
    c: &'c mut Choices<'d>,
    /// Locals in scope: subjects, definition parameters, `let`s, aggregate
    /// and `for` variables.
    env: Vec<(String, Ty)>,
    /// The definitions the current body may call (the earlier ones).
    defs: Vec<Sig>,
    fresh: usize,
    /// Inside a message hole: no text literal (no `"`), no `match` (no
    /// braces).
    in_hole: bool,
}

impl Gen<'_, '_> {
    fn name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    /// Every field path from the locals, with its type: `member.income`,
    /// `household.region.rt`, projections such as
    /// `household.families.members.scores`.
    fn paths(&self) -> Vec<(String, Ty)> {
        fn walk(base: &str, r: usize, projected: bool, depth: u32, out: &mut Vec<(String, Ty)>) {
            for field in &RECORDS[r].fields {
                let path = format!("{base}.{}", field.name);
                let ty = match (&field.ty, projected) {
                    (t, false) | (t @ Ty::List(_), true) => t.clone(),
                    (t, true) => list(t.clone()),
                };
                out.push((path.clone(), ty));
                if depth < 3 {
                    match &field.ty {
                        Ty::Rec(r2) => walk(&path, *r2, projected, depth + 1, out),
                        Ty::List(e) => {
                            if let Ty::Rec(r2) = **e {
                                walk(&path, r2, true, depth + 1, out);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (name, ty) in &self.env {
            out.push((name.clone(), ty.clone()));
            match ty {
                Ty::Rec(r) => walk(name, *r, false, 0, &mut out),
                Ty::List(e) => {
                    if let Ty::Rec(r) = **e {
                        walk(name, r, true, 0, &mut out);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Names and paths of this type, and the parameters.
    fn candidates(&self, ty: &Ty) -> Vec<String> {
        let mut out: Vec<String> = self
            .paths()
            .into_iter()
            .filter(|(_, t)| t == ty)
            .map(|(p, _)| p)
            .collect();
        out.extend(
            PARAMS
                .iter()
                .filter(|(_, t)| t == ty)
                .map(|(n, _)| (*n).to_string()),
        );
        out
    }

    /// Whether an expression of this type can be written here: records
    /// only come from locals.
    fn makeable(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Rec(_) => self.paths().iter().any(|(_, t)| t == ty),
            Ty::List(e) => match **e {
                Ty::Rec(_) => self.paths().iter().any(|(_, t)| t == ty) || self.makeable(e),
                Ty::List(_) => false,
                _ => true,
            },
            _ => true,
        }
    }

    fn pick_type(&mut self, types: &[Ty]) -> Ty {
        let ok: Vec<Ty> = types.iter().filter(|t| self.makeable(t)).cloned().collect();
        self.c.pick(&ok).clone()
    }

    fn literal(&mut self, ty: &Ty) -> Option<String> {
        Some(match ty {
            Ty::Bool => ["false", "true"][self.c.below(2)].to_string(),
            Ty::Int => int_lit(*self.c.pick(INTS)),
            Ty::Money => money_lit(*self.c.pick(INTS)),
            Ty::Text if self.in_hole => return None,
            Ty::Text => text_lit(self.c.pick::<&str>(TEXTS)),
            Ty::Date if self.c.one_in(5) => "as_of".into(),
            Ty::Date => self.c.pick(DATES).to_string(),
            Ty::Enum(e) => {
                let (name, variants) = ENUMS[*e];
                format!("{name}.{}", self.c.pick(variants).0)
            }
            Ty::Rec(_) | Ty::List(_) => return None,
        })
    }

    fn leaf(&mut self, ty: &Ty) -> String {
        let candidates = self.candidates(ty);
        if candidates.is_empty() || self.c.below(3) == 0 {
            if let Some(lit) = self.literal(ty) {
                return lit;
            }
            if let Ty::List(e) = ty
                && self.makeable(e)
            {
                let n = 1 + self.c.below(3);
                let items: Vec<String> = (0..n).map(|_| self.leaf(e)).collect();
                return format!("[{}]", items.join(", "));
            }
        }
        assert!(!candidates.is_empty(), "nothing of type {ty:?} in scope");
        // Half the time, something of the innermost local (an aggregate's
        // variable): bodies that ignore their variable test little.
        if let Some((last, _)) = self.env.last()
            && self.c.below(2) == 1
        {
            let recent: Vec<&String> = candidates
                .iter()
                .filter(|p| *p == last || p.starts_with(&format!("{last}.")))
                .collect();
            if !recent.is_empty() {
                return (*self.c.pick(&recent)).clone();
            }
        }
        self.c.pick(&candidates).clone()
    }

    /// An expression of type `ty`; compound ones are parenthesised, so that
    /// precedence never matters.
    fn expr(&mut self, ty: &Ty, depth: u32) -> String {
        if depth == 0 {
            return self.leaf(ty);
        }
        let d = depth - 1;
        // Options common to every type, then the type's own.
        match self.c.below(12) {
            0..=2 => return self.leaf(ty),
            3 => {
                let c = self.expr(&Ty::Bool, d);
                let a = self.expr(ty, d);
                let b = self.expr(ty, d);
                return format!("(if {c} then {a} else {b})");
            }
            4 => {
                let a = self.expr(ty, d);
                let b = match ty {
                    Ty::List(_) if self.c.one_in(2) => "[]".to_string(),
                    _ => self.expr(ty, d),
                };
                return format!("({a} ?? {b})");
            }
            5 => {
                if let Some(call) = self.call(ty, d) {
                    return call;
                }
            }
            6 if !self.in_hole => return self.match_expr(ty, d),
            _ => {}
        }
        match ty {
            Ty::Bool => self.bool_expr(d),
            Ty::Int => self.int_expr(d),
            Ty::Money => self.money_expr(d),
            Ty::Text => {
                if self.c.below(2) == 0 {
                    return self.leaf(ty);
                }
                let t = self.expr(&Ty::Text, d);
                let a = self.expr(&Ty::Int, d);
                let b = self.expr(&Ty::Int, d);
                format!("slice({t}, {a}, {b})")
            }
            Ty::Date => {
                if self.c.below(2) == 0 {
                    return self.leaf(ty);
                }
                let y = self.expr(&Ty::Int, d);
                let m = self.expr(&Ty::Int, d);
                let dd = self.expr(&Ty::Int, d);
                format!("date({y}, {m}, {dd})")
            }
            Ty::List(e) if self.c.below(2) == 0 => self.aggregate("filter", e, d),
            _ => self.leaf(ty),
        }
    }

    fn call(&mut self, ty: &Ty, d: u32) -> Option<String> {
        let ok: Vec<usize> = (0..self.defs.len())
            .filter(|&i| {
                &self.defs[i].ret == ty && self.defs[i].params.iter().all(|p| self.makeable(p))
            })
            .collect();
        if ok.is_empty() {
            return None;
        }
        let i = *self.c.pick(&ok);
        let (name, params) = (self.defs[i].name.clone(), self.defs[i].params.clone());
        let args: Vec<String> = params.iter().map(|p| self.expr(p, d)).collect();
        Some(format!("{name}({})", args.join(", ")))
    }

    fn match_expr(&mut self, ty: &Ty, d: u32) -> String {
        let e = self.c.below(ENUMS.len());
        let (enum_name, variants) = ENUMS[e];
        let scrutinee = self.expr(&Ty::Enum(e), d);
        // Variants in a shuffled order, grouped into arms; the last arms
        // may be replaced by `_`.
        let mut order: Vec<usize> = (0..variants.len()).collect();
        for i in (1..order.len()).rev() {
            let j = self.c.below(i + 1);
            order.swap(i, j);
        }
        let mut arms = Vec::new();
        let mut i = 0;
        while i < order.len() {
            if i > 0 && self.c.one_in(4) {
                let body = self.expr(ty, d);
                arms.push(format!("_ => {body}"));
                break;
            }
            let n = 1 + self.c.below(order.len() - i);
            let patterns: Vec<String> = order[i..i + n]
                .iter()
                .map(|&v| {
                    if self.c.one_in(2) {
                        format!("{enum_name}.{}", variants[v].0)
                    } else {
                        variants[v].0.to_string()
                    }
                })
                .collect();
            let body = self.expr(ty, d);
            arms.push(format!("{} => {body}", patterns.join(" | ")));
            i += n;
        }
        format!("(match {scrutinee} {{ {} }})", arms.join(", "))
    }

    fn bool_expr(&mut self, d: u32) -> String {
        match self.c.below(14) {
            0 => format!("(not {})", self.expr(&Ty::Bool, d)),
            1 | 2 => {
                let op = ["and", "or"][self.c.below(2)];
                let a = self.expr(&Ty::Bool, d);
                let b = self.expr(&Ty::Bool, d);
                format!("({a} {op} {b})")
            }
            3 | 4 => {
                let (op, ty) = if self.c.below(2) == 0 {
                    let ty = [Ty::Int, Ty::Money, Ty::Date][self.c.below(3)].clone();
                    (["<", "<=", ">", ">="][self.c.below(4)], ty)
                } else {
                    let ty = [
                        Ty::Int,
                        Ty::Money,
                        Ty::Date,
                        Ty::Text,
                        Ty::Bool,
                        Ty::Enum(COLOR),
                        Ty::Enum(KIND),
                    ][self.c.below(7)]
                    .clone();
                    (["==", "!="][self.c.below(2)], ty)
                };
                let a = self.expr(&ty, d);
                let b = self.expr(&ty, d);
                format!("({a} {op} {b})")
            }
            5 => {
                let ty = [Ty::Int, Ty::Text, Ty::Money, Ty::Date, Ty::Enum(COLOR)][self.c.below(5)]
                    .clone();
                let op = ["in", "not in"][self.c.below(2)];
                let v = self.expr(&ty, d);
                let l = if self.c.one_in(5) {
                    "[]".to_string()
                } else {
                    self.expr(&list(ty), d)
                };
                format!("({v} {op} {l})")
            }
            6 => {
                let op = ["in", "not in"][self.c.below(2)];
                let v = self.expr(&Ty::Int, d);
                let lo = self.range_bound();
                let hi = self.range_bound();
                format!("({v} {op} {lo}..{hi})")
            }
            7 => {
                let op = ["in", "not in"][self.c.below(2)];
                let table = ["CODES", "NONE"][usize::from(self.c.one_in(4))];
                format!("({} {op} {table})", self.expr(&Ty::Text, d))
            }
            8 => {
                let ty = self.pick_type(&value_types());
                format!("present({})", self.expr(&ty, d))
            }
            9 | 10 => {
                let kind = ["any", "all"][self.c.below(2)];
                let elem = self.pick_type(&elem_types());
                self.aggregate(kind, &elem, d)
            }
            11 => format!("is_digits({})", self.expr(&Ty::Text, d)),
            12 => {
                let a = self.expr(&Ty::Text, d);
                let b = self.expr(&Ty::Text, d);
                format!("starts_with({a}, {b})")
            }
            _ => {
                let y = self.expr(&Ty::Int, d);
                let m = self.expr(&Ty::Int, d);
                let dd = self.expr(&Ty::Int, d);
                format!("is_date({y}, {m}, {dd})")
            }
        }
    }

    /// A range bound: a literal or the name of an `int` local or
    /// parameter (the grammar allows nothing else).
    fn range_bound(&mut self) -> String {
        let mut names: Vec<String> = self
            .env
            .iter()
            .filter(|(_, t)| *t == Ty::Int)
            .map(|(n, _)| n.clone())
            .collect();
        names.push("P_INT".into());
        names.push("P_LIMIT".into());
        if self.c.below(2) == 0 {
            let n = *self.c.pick(INTS);
            n.max(0).to_string()
        } else {
            self.c.pick(&names).clone()
        }
    }

    fn int_expr(&mut self, d: u32) -> String {
        match self.c.below(14) {
            0..=3 => {
                let op = ["+", "-", "*", "/", "%"][self.c.below(5)];
                let a = self.expr(&Ty::Int, d);
                let b = self.expr(&Ty::Int, d);
                format!("({a} {op} {b})")
            }
            4 => format!("(-{})", self.expr(&Ty::Int, d)),
            5 => format!("len({})", self.expr(&Ty::Text, d)),
            6 => format!("to_int({})", self.expr(&Ty::Text, d)),
            7 => {
                let f = ["year", "month", "day"][self.c.below(3)];
                format!("{f}({})", self.expr(&Ty::Date, d))
            }
            8 => {
                let a = self.expr(&Ty::Date, d);
                let b = self.expr(&Ty::Date, d);
                format!("years_between({a}, {b})")
            }
            9 => self.extremum(&Ty::Int, d),
            10 => {
                let elem = self.pick_type(&elem_types());
                self.aggregate("count", &elem, d)
            }
            _ => self.numeric_aggregate(&Ty::Int, d),
        }
    }

    fn money_expr(&mut self, d: u32) -> String {
        match self.c.below(12) {
            0 | 1 => {
                let op = ["+", "-"][self.c.below(2)];
                let a = self.expr(&Ty::Money, d);
                let b = self.expr(&Ty::Money, d);
                format!("({a} {op} {b})")
            }
            2 => {
                let a = self.expr(&Ty::Money, d);
                let b = self.expr(&Ty::Int, d);
                format!("({a} * {b})")
            }
            3 => {
                let a = self.expr(&Ty::Int, d);
                let b = self.expr(&Ty::Money, d);
                format!("({a} * {b})")
            }
            4 | 5 => {
                let op = ["/", "%"][self.c.below(2)];
                let a = self.expr(&Ty::Money, d);
                let b = self.expr(&Ty::Int, d);
                format!("({a} {op} {b})")
            }
            6 => format!("(-{})", self.expr(&Ty::Money, d)),
            7 => self.extremum(&Ty::Money, d),
            _ => self.numeric_aggregate(&Ty::Money, d),
        }
    }

    /// `max(a, b, ...)` / `min(a, b, ...)`, the built-in functions.
    fn extremum(&mut self, ty: &Ty, d: u32) -> String {
        let f = ["max", "min"][self.c.below(2)];
        let n = 2 + self.c.below(3);
        let args: Vec<String> = (0..n).map(|_| self.expr(ty, d)).collect();
        format!("{f}({})", args.join(", "))
    }

    fn numeric_aggregate(&mut self, ty: &Ty, d: u32) -> String {
        let kind = ["sum", "min", "max", "sum_top"][self.c.below(4)];
        let elem = self.pick_type(&elem_types());
        self.aggregate_into(kind, &elem, Some(ty), d)
    }

    fn aggregate(&mut self, kind: &str, elem: &Ty, d: u32) -> String {
        let body = match kind {
            "all" => Some(Ty::Bool),
            "any" if self.c.below(3) > 0 => Some(Ty::Bool),
            _ => None,
        };
        self.aggregate_into(kind, elem, body.as_ref(), d)
    }

    /// `kind(n, v in list where filter: body)`.
    fn aggregate_into(&mut self, kind: &str, elem: &Ty, body: Option<&Ty>, d: u32) -> String {
        let n = (kind == "sum_top").then(|| {
            if self.c.below(3) == 0 {
                "P_LIMIT".to_string()
            } else {
                self.expr(&Ty::Int, d)
            }
        });
        let source = self.expr(&list(elem.clone()), d);
        let var = self.name("v");
        self.env.push((var.clone(), elem.clone()));
        let mut text = format!("{kind}(");
        if let Some(n) = n {
            write!(text, "{n}, ").unwrap();
        }
        write!(text, "{var} in {source}").unwrap();
        if self.c.below(3) > 0 {
            write!(text, " where {}", self.expr(&Ty::Bool, d)).unwrap();
        }
        if let Some(b) = body {
            write!(text, ": {}", self.expr(b, d)).unwrap();
        }
        text.push(')');
        self.env.pop();
        text
    }

    fn template(&mut self) -> String {
        const TEXT: &[&str] = &[
            "x", " ok ", "é", "\\{", "\\}", "\\\"", "\\\\", "\\n", "\\t", ": ", "nilai",
        ];
        let mut s = String::from("\"");
        for _ in 0..self.c.below(5) {
            if self.c.below(2) == 0 {
                s.push_str(self.c.pick::<&str>(TEXT));
            } else {
                self.in_hole = true;
                let ty = self.pick_type(&value_types());
                let hole = self.expr(&ty, 2);
                self.in_hole = false;
                write!(s, "{{{hole}}}").unwrap();
            }
        }
        s.push('"');
        s
    }

    fn criterion(&mut self, out: &mut String, verification: bool) {
        let code = self.name("C");
        let severity = match (verification, self.c.below(4)) {
            (false, _) => "",
            (true, 0) => " blocking",
            (true, _) => " warning",
        };
        writeln!(out, "  criterion {code}{severity} {{").unwrap();
        let each = self.c.one_in(3);
        if each {
            let elem = self.pick_type(&elem_types());
            let source = self.expr(&list(elem.clone()), 2);
            let var = self.name("x");
            self.env.push((var.clone(), elem));
            write!(out, "    for {var} in {source}").unwrap();
            if self.c.one_in(2) {
                write!(out, " where {}", self.expr(&Ty::Bool, 2)).unwrap();
            }
            out.push('\n');
        }
        let depth = if self.c.one_in(8) { 6 } else { 4 };
        writeln!(out, "    require {}", self.expr(&Ty::Bool, depth)).unwrap();
        match self.c.below(5) {
            1 => out.push_str("    on missing fail\n"),
            2 => out.push_str("    on missing pass\n"),
            _ => {}
        }
        if self.c.one_in(3) {
            out.push_str("    reason FOLLOW_UP\n");
        }
        let id = self.template();
        let en = self.template();
        writeln!(out, "    message id {id}\n    message en {en}\n  }}").unwrap();
        if each {
            self.env.pop();
        }
    }

    fn ruleset(&mut self, out: &mut String, verification: bool) {
        let name = self.name(if verification { "check" } else { "prog" });
        writeln!(out, "ruleset {name} {{").unwrap();
        if verification {
            out.push_str("  stage verification\n");
        } else {
            writeln!(
                out,
                "  stage determination\n  programme {}",
                name.to_uppercase()
            )
            .unwrap();
        }
        let subject = self.c.below(3);
        self.env = [
            ("household", Ty::Rec(HOUSEHOLD)),
            ("family", Ty::Rec(FAMILY)),
            ("member", Ty::Rec(MEMBER)),
        ][..=subject]
            .iter()
            .map(|(n, t)| ((*n).to_string(), t.clone()))
            .collect();
        write!(out, "  for each {}", self.env[subject].0).unwrap();
        if self.c.one_in(3) {
            write!(out, " where {}", self.expr(&Ty::Bool, 3)).unwrap();
        }
        out.push('\n');
        for _ in 0..self.c.below(3) {
            let ty = self.pick_type(&value_types());
            let value = self.expr(&ty, 3);
            let local = self.name("l");
            writeln!(out, "  let {local} = {value}").unwrap();
            self.env.push((local, ty));
        }
        let n = self.c.below(4) + usize::from(verification);
        for _ in 0..n {
            self.criterion(out, verification);
        }
        if !verification {
            // Aggregates often, for their benefit items.
            let amount = if self.c.below(2) == 0 {
                self.expr(&Ty::Money, 3)
            } else {
                self.numeric_aggregate(&Ty::Money, 3)
            };
            let per = ["year", "month"][self.c.below(2)];
            writeln!(out, "  benefit {amount} per {per}").unwrap();
        }
        out.push_str("}\n");
    }

    fn def(&mut self, out: &mut String, index: usize) -> Sig {
        let param_types = [
            Ty::Int,
            Ty::Money,
            Ty::Bool,
            Ty::Text,
            Ty::Date,
            Ty::Enum(COLOR),
            Ty::Rec(HOUSEHOLD),
            Ty::Rec(FAMILY),
            Ty::Rec(MEMBER),
            Ty::Rec(JOB),
            list(Ty::Int),
            list(Ty::Rec(MEMBER)),
        ];
        let params: Vec<Ty> = (0..self.c.below(4))
            .map(|_| self.c.pick(&param_types).clone())
            .collect();
        self.env = params
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("p{i}"), t.clone()))
            .collect();
        let ret = self.pick_type(&value_types());
        let name = format!("d{index}");
        let body = self.expr(&ret, 3);
        let ps: Vec<String> = self
            .env
            .iter()
            .map(|(n, t)| format!("{n}: {}", t.src()))
            .collect();
        writeln!(out, "def {name}({}): {} = {body}", ps.join(", "), ret.src()).unwrap();
        Sig { name, params, ret }
    }
}

fn param_decls(c: &mut Choices) -> String {
    let mut out = String::new();
    for (name, ty) in PARAMS {
        writeln!(out, "param {name}: {} {{", ty.src()).unwrap();
        let mut dates: Vec<&str> = (0..1 + c.below(3))
            .map(|_| {
                *c.pick(&[
                    "2000-01-01",
                    "2024-02-29",
                    "2025-10-01",
                    "2025-10-02",
                    "0001-01-01",
                    "3000-01-01",
                ])
            })
            .collect();
        dates.sort_unstable();
        dates.dedup();
        for date in dates {
            let value = match ty {
                Ty::Bool => ["false", "true"][c.below(2)].to_string(),
                Ty::Int if *name == "P_LIMIT" => c.below(4).to_string(),
                Ty::Int => c.pick(INTS).max(&0).to_string(),
                Ty::Money => format!("Rp {}", c.pick(INTS).max(&0)),
                Ty::Text => text_lit(c.pick::<&str>(TEXTS)),
                _ => c.pick(DATES).to_string(),
            };
            writeln!(out, "  {value} from {date} source \"s\"").unwrap();
        }
        out.push_str("}\n");
    }
    out
}

/// A random well-typed program.
fn program_source(choices: &[u32]) -> String {
    let mut c = Choices::new(choices);
    let mut out = schema_source();
    out.push_str("table CODES = \"tables/codes.txt\"\ntable NONE = \"tables/none.txt\"\n");
    out.push_str(&param_decls(&mut c));
    let mut g = Gen {
        c: &mut c,
        env: Vec::new(),
        defs: Vec::new(),
        fresh: 0,
        in_hole: false,
    };
    for i in 0..g.c.below(5) {
        let sig = g.def(&mut out, i);
        g.defs.push(sig);
    }
    for _ in 0..g.c.below(3) {
        g.ruleset(&mut out, true);
    }
    for _ in 0..1 + g.c.below(3) {
        g.ruleset(&mut out, false);
    }
    out
}

// ---- households ------------------------------------------------------------------

fn json_value(c: &mut Choices, ty: &Ty, range: Option<(i64, i64)>) -> serde_json::Value {
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
fn json_record(c: &mut Choices, r: usize) -> serde_json::Value {
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
    serde_json::Value::Object(map)
}

// ---- the property ------------------------------------------------------------------

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400)
}

/// One case: the program, its households and the context, from their choice
/// streams. Returns the decisions, or what went wrong with everything needed
/// to reproduce it.
fn run_case(
    program: &[u32],
    households: &[u32],
    context: &[u32],
) -> Result<Vec<HouseholdDecision>, String> {
    let source = program_source(program);
    let mut sources = Sources::new();
    sources.add("main.lyk".to_string(), source.clone());
    sources.add("tables/codes.txt".to_string(), TABLE.to_string());
    sources.add("tables/none.txt".to_string(), "# no codes\n".to_string());
    let (checked, diagnostics) = compile(&sources);
    if has_errors(&diagnostics) {
        return Err(format!(
            "the generator wrote an ill-typed program:\n{}\n{source}",
            render_terminal(&sources, &diagnostics, false)
        ));
    }
    let program = checked.unwrap();
    let bytes = compile_module(&program);
    if let Err(e) = wasmparser::validate(&bytes) {
        return Err(format!("invalid module: {e}\n{source}"));
    }

    let mut c = Choices::new(households);
    let docs: Vec<serde_json::Value> = (0..1 + c.below(5))
        .map(|_| {
            let mut doc = json_record(&mut c, HOUSEHOLD);
            doc["record_id"] = json!(*c.pick(&["H1", "H2", "", "é"]));
            doc
        })
        .collect();
    let values: Vec<_> = docs
        .iter()
        .map(|d| decode_json(&program.schema, d).unwrap_or_else(|e| panic!("{d}: {e:?}")))
        .collect();

    let mut c = Choices::new(context);
    let as_of = *c.pick(AS_OF);
    let mut ctx = EvalContext::new(Date::parse(as_of).unwrap());
    let mut overrides = Vec::new();
    for _ in 0..c.below(3) {
        let spec = *c.pick(&[
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
        ]);
        let (name, lit) = parse_override(&program, spec).unwrap();
        ctx.overrides.insert(name, lit);
        overrides.push(spec);
    }

    let mut runner = common::Runner::new(&program);
    match common::compare(&mut runner, &program, &values, &ctx) {
        Ok(_) => Ok(values.iter().map(|v| evaluate(&program, v, &ctx)).collect()),
        Err(e) => {
            let lines: Vec<String> = docs.iter().map(ToString::to_string).collect();
            Err(format!(
                "{e}\n--- program\n{source}\n--- households\n{}\n--- as_of {as_of}, overrides {overrides:?}",
                lines.join("\n")
            ))
        }
    }
}

/// A choice stream of up to `max` numbers, shrunk as Hypothesis shrinks its
/// choice sequences rather than as proptest shrinks a `Vec`: removing one
/// element near the start shifts every later choice and gives an unrelated
/// program, while cutting the tail or zeroing a block turns whole rulesets
/// or subexpressions into their simplest form and keeps the rest.
fn choices(max: usize) -> ChoiceStrategy {
    ChoiceStrategy { max }
}

#[derive(Debug)]
struct ChoiceStrategy {
    max: usize,
}

impl Strategy for ChoiceStrategy {
    type Tree = ChoiceTree;
    type Value = Vec<u32>;

    fn new_tree(
        &self,
        runner: &mut proptest::test_runner::TestRunner,
    ) -> proptest::strategy::NewTree<Self> {
        use proptest::prelude::RngExt as _;
        let rng = runner.rng();
        let len = rng.random_range(0..self.max);
        let data: Vec<u32> = (0..len).map(|_| rng.random()).collect();
        Ok(ChoiceTree {
            accepted: data.clone(),
            current: data,
            step: 0,
            changed: false,
        })
    }
}

/// Shrinks by trying, in order: cutting the tail (to 0, 1/8, ... 7/8 of
/// its length), zeroing blocks of 256, 64, 16, 4 and 1 choices, and
/// halving single choices; a sweep that changed something runs again.
#[derive(Debug)]
struct ChoiceTree {
    /// The smallest stream known to fail.
    accepted: Vec<u32>,
    /// The stream under test.
    current: Vec<u32>,
    /// Position in the sweep of candidates.
    step: usize,
    /// Whether this sweep accepted anything.
    changed: bool,
}

const BLOCKS: [usize; 5] = [256, 64, 16, 4, 1];

impl ChoiceTree {
    /// The candidate at `step` of a sweep over `accepted`, `None` past the
    /// end; `Some(None)` for a step that gives nothing new.
    fn candidate(&self, step: usize) -> Option<Option<Vec<u32>>> {
        let a = &self.accepted;
        let len = a.len();
        if step < 8 {
            let cut = len * step / 8;
            return Some((cut < len).then(|| a[..cut].to_vec()));
        }
        let mut step = step - 8;
        for size in BLOCKS {
            let count = len.div_ceil(size);
            if step < count {
                let range = step * size..((step + 1) * size).min(len);
                if a[range.clone()].iter().all(|&v| v == 0) {
                    return Some(None);
                }
                let mut c = a.clone();
                c[range].fill(0);
                return Some(Some(c));
            }
            step -= count;
        }
        if step < len {
            if a[step] <= 1 {
                return Some(None);
            }
            let mut c = a.clone();
            c[step] /= 2;
            return Some(Some(c));
        }
        None
    }

    /// Moves `current` to the next candidate; false when none is left.
    fn advance(&mut self) -> bool {
        loop {
            self.step += 1;
            match self.candidate(self.step - 1) {
                Some(Some(c)) => {
                    self.current = c;
                    return true;
                }
                Some(None) => {}
                None if self.changed => {
                    self.changed = false;
                    self.step = 0;
                }
                None => {
                    self.current = self.accepted.clone();
                    return false;
                }
            }
        }
    }
}

impl proptest::strategy::ValueTree for ChoiceTree {
    type Value = Vec<u32>;

    fn current(&self) -> Vec<u32> {
        self.current.clone()
    }

    /// The current stream failed: keep it, and try the next candidate.
    fn simplify(&mut self) -> bool {
        if self.current != self.accepted {
            self.accepted = self.current.clone();
            self.changed = true;
        }
        self.advance()
    }

    /// The current stream passed: try the next candidate instead.
    fn complicate(&mut self) -> bool {
        self.advance()
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_programs_agree(
        program in choices(3000),
        households in choices(600),
        context in choices(8),
    ) {
        if let Err(e) = run_case(&program, &households, &context) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// Cases from a fixed seed, for the checks on the generator itself.
fn deterministic_cases(n: usize) -> Vec<(Vec<u32>, Vec<u32>, Vec<u32>)> {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut draw = |max| choices(max).new_tree(&mut runner).unwrap().current();
    (0..n).map(|_| (draw(3000), draw(600), draw(8))).collect()
}

/// The generator reaches every outcome: a change that made its programs
/// trivial (every criterion passing, no benefit items, no computation
/// errors) would leave the property above testing little.
#[test]
fn generated_programs_reach_every_outcome() {
    let mut seen = std::collections::BTreeSet::new();
    for (program, households, context) in deterministic_cases(150) {
        for d in run_case(&program, &households, &context).unwrap() {
            seen.insert(format!("{:?}", d.status));
            let criteria = d
                .verification
                .iter()
                .flat_map(|r| &r.criteria)
                .chain(d.programmes.values().flatten().flat_map(|s| &s.criteria));
            for c in criteria {
                seen.insert(format!("{:?}", c.outcome));
                if !c.elements.is_empty() {
                    seen.insert("for elements".into());
                }
                for m in &c.missing {
                    let kind = if m.starts_with("error") || m.starts_with("params") {
                        m.as_str()
                    } else {
                        "missing field"
                    };
                    seen.insert(kind.to_string());
                }
            }
            for s in d.programmes.values().flatten() {
                seen.insert(format!("{:?}", s.eligibility));
                if s.benefit.as_ref().is_some_and(|b| !b.items.is_empty()) {
                    seen.insert("benefit items".into());
                }
            }
        }
    }
    for want in [
        "Verified",
        "Returned",
        "Passed",
        "Failed",
        "Undetermined",
        "Eligible",
        "NotEligible",
        "for elements",
        "benefit items",
        "missing field",
        "params.P_BOOL",
        "error: division by zero",
        "error: overflow",
        "error: not a number",
        "error: not a date",
        "error: no elements",
    ] {
        assert!(seen.contains(want), "no `{want}` in {seen:?}");
    }
}

/// `cargo test -p layak-dsl --test wasm_programs -- --ignored --nocapture`
/// prints a few generated programs, to see what the generator writes.
#[test]
#[ignore = "prints examples; it checks nothing"]
fn show_generated_programs() {
    for (program, _, _) in deterministic_cases(3) {
        println!("{}\n", program_source(&program));
    }
}
