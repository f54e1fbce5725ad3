//! The interpreter on a small hand-built program, independent of the
//! checker: Kleene logic, missing paths, `for` criteria, `sum_top` ties,
//! dated parameters and overrides, computation errors, message rendering.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on a broken fixture"
)]

use layak_dsl::ast::{AggKind, Code};
use layak_dsl::date::Date;
use layak_dsl::decision::{Eligibility, HouseholdDecision, Outcome, Status};
use layak_dsl::eval::{EvalContext, evaluate, parse_override};
use layak_dsl::ir::*;
use layak_dsl::record::decode_line;
use layak_dsl::source::Span;

fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn field(name: &str, ty: Type, optional: bool) -> FieldDef {
    FieldDef {
        name: name.into(),
        ty,
        optional,
        range: None,
    }
}

fn template(parts: Vec<TemplatePart>) -> Template {
    Template { parts }
}

fn text(s: &str) -> TemplatePart {
    TemplatePart::Text(s.into())
}

fn hole(expr: ExprId, source: &str) -> TemplatePart {
    TemplatePart::Hole {
        expr,
        source: source.into(),
    }
}

struct B {
    p: Program,
}

const HOUSEHOLD: RecordId = RecordId(0);
const FAMILY: RecordId = RecordId(1);
const MEMBER: RecordId = RecordId(2);
const SEX: EnumId = EnumId(0);

impl B {
    fn e(&mut self, expr: Expr, ty: Type) -> ExprId {
        self.p.exprs.push(expr);
        self.p.types.push(ty);
        self.p.spans.push(Span::default());
        ExprId(self.p.exprs.len() as u32 - 1)
    }
    fn int(&mut self, n: i64) -> ExprId {
        self.e(Expr::Lit(Lit::Int(n)), Type::Int)
    }
    fn money(&mut self, n: i64) -> ExprId {
        self.e(Expr::Lit(Lit::Money(n)), Type::Money)
    }
    fn local(&mut self, l: u32, ty: Type) -> ExprId {
        self.e(Expr::Local(LocalId(l)), ty)
    }
    fn get(&mut self, base: ExprId, field: u32, ty: Type) -> ExprId {
        self.e(Expr::Field { base, field }, ty)
    }
    fn cmp(&mut self, op: CmpOp, lhs: ExprId, rhs: ExprId) -> ExprId {
        self.e(Expr::Compare { op, lhs, rhs }, Type::Bool)
    }
    fn criterion(
        &mut self,
        code: &str,
        severity: Severity,
        require: ExprId,
        msg: Vec<TemplatePart>,
    ) -> Criterion {
        Criterion {
            code: code.into(),
            severity,
            each: None,
            require,
            on_missing: None,
            reason: None,
            message_id: template(msg.clone()),
            message_en: template(msg),
            span: Span::default(),
        }
    }
}

fn ruleset(name: &str, stage: Stage, subject: u32, locals: u32) -> Ruleset {
    Ruleset {
        name: name.into(),
        stage,
        programme: (stage == Stage::Determination).then(|| name.to_uppercase()),
        subject: SubjectId(subject),
        subject_locals: (0..locals).map(LocalId).collect(),
        filter: None,
        lets: Vec::new(),
        criteria: Vec::new(),
        benefit: None,
        frame_size: 8,
        span: Span::default(),
    }
}

/// Household{record_id, address?, families}; Family{kk?, desil?, members};
/// Member{nik?, name?, birth_date?, sex?, income?}.
fn program() -> Program {
    let list = |r| Type::List(Box::new(Type::Record(r)));
    let mut desil = field("desil", Type::Int, true);
    desil.range = Some((1, 10));
    let schema = Schema {
        enums: vec![EnumDef {
            name: "Sex".into(),
            variants: vec![
                VariantDef {
                    name: "M".into(),
                    code: Code::Text("M".into()),
                },
                VariantDef {
                    name: "F".into(),
                    code: Code::Text("F".into()),
                },
            ],
        }],
        records: vec![
            RecordDef {
                name: "Household".into(),
                fields: vec![
                    field("record_id", Type::Text, false),
                    field("address", Type::Text, true),
                    field("families", list(FAMILY), false),
                ],
                key: Some(0),
                label: None,
                ..RecordDef::default()
            },
            RecordDef {
                name: "Family".into(),
                fields: vec![
                    field("kk", Type::Text, true),
                    desil,
                    field("members", list(MEMBER), false),
                ],
                key: Some(0),
                label: None,
                ..RecordDef::default()
            },
            RecordDef {
                name: "Member".into(),
                fields: vec![
                    field("nik", Type::Text, true),
                    field("name", Type::Text, true),
                    field("birth_date", Type::Date, true),
                    field("sex", Type::Enum(SEX), true),
                    field("income", Type::Money, true),
                ],
                key: Some(0),
                label: Some(1),
                ..RecordDef::default()
            },
        ],
        subjects: vec![
            SubjectDef {
                name: "household".into(),
                record: HOUSEHOLD,
                parent: None,
            },
            SubjectDef {
                name: "family".into(),
                record: FAMILY,
                parent: Some((SubjectId(0), 2)),
            },
            SubjectDef {
                name: "member".into(),
                record: MEMBER,
                parent: Some((SubjectId(1), 2)),
            },
        ],
    };
    let mut b = B {
        p: Program {
            schema,
            ..Program::default()
        },
    };
    b.p.params = vec![
        Param {
            name: "MIN_AGE".into(),
            ty: Type::Int,
            entries: vec![
                ParamEntry {
                    value: Lit::Int(60),
                    from: date("2020-01-01"),
                    source: "old".into(),
                },
                ParamEntry {
                    value: Lit::Int(65),
                    from: date("2025-01-01"),
                    source: "new".into(),
                },
            ],
        },
        Param {
            name: "TOP".into(),
            ty: Type::Int,
            entries: vec![ParamEntry {
                value: Lit::Int(2),
                from: date("2020-01-01"),
                source: "top".into(),
            }],
        },
        Param {
            name: "FUTURE".into(),
            ty: Type::Money,
            entries: vec![ParamEntry {
                value: Lit::Money(5),
                from: date("2030-01-01"),
                source: "future".into(),
            }],
        },
    ];
    let member = Type::Record(MEMBER);
    let members = Type::List(Box::new(member.clone()));

    // Verification per household (local 0), `m` is local 1.
    let mut integrity = ruleset("integrity", Stage::Verification, 0, 1);
    let h = b.local(0, Type::Record(HOUSEHOLD));
    let address = b.get(h, 1, Type::Text);
    let has_address = b.e(Expr::Present(address), Type::Bool);
    let c = b.criterion(
        "ADDRESS",
        Severity::Blocking,
        has_address,
        vec![text("address: "), hole(address, "household.address")],
    );
    integrity.criteria.push(c);
    // for m in household.families.members: m.sex == F or m.income > Rp 0 (warning).
    let h = b.local(0, Type::Record(HOUSEHOLD));
    let fams = b.get(h, 2, Type::List(Box::new(Type::Record(FAMILY))));
    let all = b.e(
        Expr::Project {
            base: fams,
            field: 2,
            flatten: true,
        },
        members.clone(),
    );
    let m = b.local(1, member.clone());
    let sex = b.get(m, 3, Type::Enum(SEX));
    let f = b.e(Expr::Lit(Lit::Enum(SEX, 1)), Type::Enum(SEX));
    let is_f = b.cmp(CmpOp::Eq, sex, f);
    let income = b.get(m, 4, Type::Money);
    let zero = b.money(0);
    let earns = b.cmp(CmpOp::Gt, income, zero);
    let require = b.e(Expr::Or(is_f, earns), Type::Bool);
    let mut c = b.criterion(
        "WOMAN_OR_EARNER",
        Severity::Warning,
        require,
        vec![hole(sex, "m.sex"), text(" "), hole(income, "m.income")],
    );
    c.each = Some(Each {
        var: LocalId(1),
        list: all,
        filter: None,
    });
    integrity.criteria.push(c);
    b.p.rulesets.push(integrity);

    // Per family (locals 0, 1): desil <= 4 / (count of earners) must hold;
    // benefit sum_top(TOP, m in family.members: m.income ?? Rp 0).
    let mut grant = ruleset("grant", Stage::Determination, 1, 2);
    let fam = b.local(1, Type::Record(FAMILY));
    let desil = b.get(fam, 1, Type::Int);
    let four = b.int(4);
    let fam = b.local(1, Type::Record(FAMILY));
    let ms = b.get(fam, 2, members.clone());
    let m = b.local(2, member.clone());
    let income = b.get(m, 4, Type::Money);
    let zero = b.money(0);
    let earns = b.cmp(CmpOp::Gt, income, zero);
    let earners = b.e(
        Expr::Agg {
            kind: AggKind::Count,
            var: LocalId(2),
            list: ms,
            n: None,
            filter: Some(earns),
            body: None,
        },
        Type::Int,
    );
    let ratio = b.e(
        Expr::Arith {
            op: ArithOp::Div,
            lhs: four,
            rhs: earners,
        },
        Type::Int,
    );
    let require = b.cmp(CmpOp::Le, desil, ratio);
    let c = b.criterion(
        "DESIL",
        Severity::Blocking,
        require,
        vec![
            hole(desil, "family.desil"),
            text(" <= "),
            hole(ratio, "4 / earners"),
        ],
    );
    grant.criteria.push(c);
    let fam = b.local(1, Type::Record(FAMILY));
    let ms = b.get(fam, 2, members);
    let top = b.e(Expr::Param(ParamId(1)), Type::Int);
    let m = b.local(3, member);
    let income = b.get(m, 4, Type::Money);
    let zero = b.money(0);
    let body = b.e(
        Expr::Coalesce {
            value: income,
            default: zero,
        },
        Type::Money,
    );
    let amount = b.e(
        Expr::Agg {
            kind: AggKind::SumTop,
            var: LocalId(3),
            list: ms,
            n: Some(top),
            filter: None,
            body: Some(body),
        },
        Type::Money,
    );
    grant.benefit = Some(Benefit {
        amount,
        per: Per::Month,
    });
    b.p.rulesets.push(grant);

    // Per member (locals 0, 1, 2) born: age >= MIN_AGE; benefit FUTURE.
    let mut pension = ruleset("pension", Stage::Determination, 2, 3);
    let m = b.local(2, Type::Record(MEMBER));
    let born = b.get(m, 2, Type::Date);
    let as_of = b.e(Expr::AsOf, Type::Date);
    let age = b.e(
        Expr::Builtin {
            op: Builtin::YearsBetween,
            args: vec![born, as_of],
        },
        Type::Int,
    );
    let min = b.e(Expr::Param(ParamId(0)), Type::Int);
    let old = b.cmp(CmpOp::Ge, age, min);
    let c = b.criterion(
        "AGE",
        Severity::Blocking,
        old,
        vec![hole(age, "age"), text(" >= "), hole(min, "MIN_AGE")],
    );
    pension.criteria.push(c);
    let future = b.e(Expr::Param(ParamId(2)), Type::Money);
    pension.benefit = Some(Benefit {
        amount: future,
        per: Per::Month,
    });
    b.p.rulesets.push(pension);
    b.p
}

fn run(line: &str, overrides: &[&str]) -> HouseholdDecision {
    let program = program();
    let household = decode_line(&program.schema, line).unwrap();
    let mut ctx = EvalContext::new(date("2025-10-01"));
    for spec in overrides {
        let (name, lit) = parse_override(&program, spec).unwrap();
        ctx.overrides.insert(name, lit);
    }
    evaluate(&program, &household, &ctx)
}

const H: &str = r#"{"record_id":"R1","address":"Jl. Mawar","families":[
  {"kk":"K1","desil":1,"members":[
    {"nik":"A","name":"Ani","sex":"F","income":300,"birth_date":"1960-01-01"},
    {"nik":"B","name":"Budi","sex":"M","income":100},
    {"name":"Cici","income":300},
    {"nik":"D","name":"Dodi","sex":"M","birth_date":"1970-10-02"}]},
  {"kk":"K2","desil":3,"members":[{"nik":"E","name":"Eko","sex":"F","income":0}]},
  {"kk":"K3","desil":1,"members":[{"sex":"F","income":300},{"sex":"F","income":500},{"sex":"F","income":300},{"sex":"F","income":300}]}]}"#;

#[test]
fn decides_and_explains() {
    let d = run(H, &[]);
    insta::assert_json_snapshot!("eval_ir_household", d);
    assert_eq!(d.status, Status::Verified);
    // Dodi: M and income missing: `false or U` is undetermined; Cici: `U or true`.
    assert_eq!(d.warnings, Vec::<String>::new());
    assert_eq!(d.undetermined.len(), 1);
    assert_eq!(d.undetermined[0].missing, ["families[0].members[3].income"]);
    let grant = &d.programmes["GRANT"];
    // K1: Dodi's income is missing, so the count of earners is undetermined
    // (an undetermined filter makes the aggregate undetermined); the benefit
    // is still computed: sum_top(2) of 300, 100, 300, 0 takes both 300s.
    assert_eq!(grant[0].eligibility, Eligibility::Undetermined);
    assert_eq!(grant[0].missing, ["families[0].members[3].income"]);
    assert_eq!(grant[0].benefit.as_ref().unwrap().computed, Some(600));
    // K3: 4 / 4 = 1 >= desil 1; sum_top(2) of 300, 500, 300, 300 takes 500
    // and the first 300.
    assert_eq!(grant[2].eligibility, Eligibility::Eligible);
    assert_eq!(grant[2].amount, Some(800));
    let counted: Vec<bool> = grant[2]
        .benefit
        .as_ref()
        .unwrap()
        .items
        .iter()
        .map(|i| i.counted)
        .collect();
    assert_eq!(counted, [true, true, false, false]);
    // K2: no earner: 4 / 0 is undetermined.
    assert_eq!(grant[1].eligibility, Eligibility::Undetermined);
    assert_eq!(grant[1].missing, ["error: division by zero"]);
    // MIN_AGE is 65 from 2025: Ani (65) eligible, benefit FUTURE not in force.
    let pension = &d.programmes["PENSION"];
    assert_eq!(pension[0].eligibility, Eligibility::Undetermined);
    assert_eq!(pension[0].missing, ["params.FUTURE"]);
    assert_eq!(
        pension[1].criteria[0].missing,
        ["families[0].members[1].birth_date"]
    );
    assert_eq!(pension[3].criteria[0].outcome, Outcome::Failed);
}

#[test]
fn overrides_and_returned_records() {
    let d = run(H, &["MIN_AGE=80", "FUTURE=Rp 1_000", "TOP=0"]);
    let pension = &d.programmes["PENSION"];
    assert_eq!(pension[0].eligibility, Eligibility::NotEligible);
    assert_eq!(pension[0].benefit.as_ref().unwrap().computed, Some(1000));
    assert_eq!(d.programmes["GRANT"][2].amount, Some(0));
    assert!(d.params.iter().all(|p| p.overridden && p.from.is_none()));

    let no_address = H.replace(r#""address":"Jl. Mawar","#, "");
    let d = run(&no_address, &[]);
    assert_eq!(d.status, Status::Returned);
    assert_eq!(d.failures, ["ADDRESS"]);
    assert!(d.programmes.is_empty());
    insta::assert_json_snapshot!("eval_ir_returned", d.verification);
}

#[test]
fn override_syntax() {
    let p = program();
    assert_eq!(
        parse_override(&p, "MIN_AGE=60"),
        Ok(("MIN_AGE".into(), Lit::Int(60)))
    );
    assert_eq!(
        parse_override(&p, "FUTURE = Rp 200_000"),
        Ok(("FUTURE".into(), Lit::Money(200_000)))
    );
    assert_eq!(
        parse_override(&p, "FUTURE=200000"),
        Ok(("FUTURE".into(), Lit::Money(200_000)))
    );
    assert_eq!(
        parse_override(&p, "MIN_AEG=60"),
        Err("unknown parameter `MIN_AEG`; did you mean `MIN_AGE`?".into())
    );
    assert_eq!(
        parse_override(&p, "XYZ=60"),
        Err("unknown parameter `XYZ`".into())
    );
    assert_eq!(
        parse_override(&p, "MIN_AGE=sixty"),
        Err("`sixty` is not an integer for `MIN_AGE`".into())
    );
    assert_eq!(
        parse_override(&p, "MIN_AGE"),
        Err("expected `NAME=VALUE`, found `MIN_AGE`".into())
    );
}
