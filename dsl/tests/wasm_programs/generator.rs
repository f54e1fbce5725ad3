//! The program generator: well-typed Layak source from a choice stream.
//!
//! Expressions are generated for a wanted type in an environment of typed
//! locals, so every program checks. Compound expressions are always
//! parenthesised (precedence is `fmt.rs`'s business). A program has up to
//! five definitions (each may call the earlier ones), up to two
//! verification and one to three determination rulesets over any of the
//! three subjects, with `for each ... where`, `let`s, criteria with `for`,
//! `on missing`, `reason` and messages with holes, and a benefit, often an
//! aggregate for its items. Expressions cover every operator, builtin and
//! aggregate, `??`, `if`, `match` (with `|` and `_`), list literals, field
//! reads and projections through optional records and lists, dated
//! parameters and both tables.
//!
//! Not generated: imports and several files, lists of lists, text literals
//! and `match` inside message holes (a hole may hold neither `"` nor
//! braces), operator precedence without parentheses, and programs with
//! errors or warnings on purpose.

use std::fmt::Write as _;

use super::choices::Choices;
use super::schema::{
    COLOR, DATES, ENUMS, FAMILY, HOUSEHOLD, INTS, JOB, KIND, MEMBER, RECORDS, REGION, TEXTS, Ty,
    int_lit, list, money_lit, schema_source, text_lit,
};

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
                if ty == Ty::Int && self.c.one_in(4) {
                    // `len(t)` against 0 is compiled apart (no character
                    // is counted).
                    let l = format!("len({})", self.expr(&Ty::Text, d));
                    return if self.c.below(2) == 0 {
                        format!("({l} {op} 0)")
                    } else {
                        format!("(0 {op} {l})")
                    };
                }
                let a = self.expr(&ty, d);
                let b = self.expr(&ty, d);
                format!("({a} {op} {b})")
            }
            5 => {
                let ty = [Ty::Int, Ty::Text, Ty::Money, Ty::Date, Ty::Enum(COLOR)][self.c.below(5)]
                    .clone();
                let op = ["in", "not in"][self.c.below(2)];
                let v = self.expr(&ty, d);
                // A list of literals is compiled apart (no list is built).
                let literals: Option<Vec<String>> = (0..1 + self.c.below(4))
                    .map(|_| self.literal(&ty))
                    .collect();
                let l = match literals {
                    _ if self.c.one_in(5) => "[]".to_string(),
                    Some(items) if self.c.one_in(3) => format!("[{}]", items.join(", ")),
                    _ => self.expr(&list(ty), d),
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
                // Texts, digit codes (kept as keys) and no codes at all.
                let table = ["CODES", "CODES", "DIGITS", "DIGITS", "NONE"][self.c.below(5)];
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
pub(crate) fn program_source(choices: &[u32]) -> String {
    let mut c = Choices::new(choices);
    let mut out = schema_source();
    out.push_str("table CODES = \"tables/codes.txt\"\ntable NONE = \"tables/none.txt\"\n");
    out.push_str("table DIGITS = \"tables/digits.txt\"\n");
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
