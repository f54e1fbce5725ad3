//! The checked program: a flat arena of typed expressions with every name
//! resolved. The reference interpreter (`eval`) walks it, and so will the
//! wasm code generator; they share this one representation so they can only
//! disagree through a bug.
//!
//! Invariants the checker guarantees for a [`Program`] it returns without
//! errors:
//! - every [`ExprId`], [`DefId`], [`ParamId`], [`TableId`], [`RecordId`],
//!   [`EnumId`] and [`LocalId`] is in range;
//! - every expression is well typed (its [`Type`] is in [`Program::types`]);
//! - definitions do not recurse (the call graph is acyclic);
//! - a `match` maps every variant of its enum to an arm.

use serde::Serialize;

use crate::ast::{AggKind, Code};
use crate::date::Date;
use crate::source::Span;

macro_rules! id {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub struct $name(pub u32);
        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

id!(
    ExprId, DefId, ParamId, TableId, RecordId, EnumId, SubjectId, LocalId
);

/// The type of a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Type {
    Bool,
    Int,
    /// Whole rupiah.
    Money,
    Text,
    Date,
    Enum(EnumId),
    Record(RecordId),
    List(Box<Type>),
}

// ---- schema ------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub enums: Vec<EnumDef>,
    pub records: Vec<RecordDef>,
    pub subjects: Vec<SubjectDef>,
}

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    pub variants: Vec<VariantDef>,
}

#[derive(Debug, Clone)]
pub struct VariantDef {
    pub name: String,
    /// The code in the interchange format (`1`, `"matched"`).
    pub code: Code,
}

/// A record of the schema. Decoding a JSON object against it
/// (`crate::record`) reads `fields`; a key that is neither a field nor in
/// `ignored` is *unknown*. In a checked record (`open` false) an unknown key
/// that looks like a misspelling of a field the object does not carry is a
/// decode error with "did you mean"; every other unknown key is ignored and
/// counted. In an open record every unknown key is ignored and counted.
#[derive(Debug, Clone, Default)]
pub struct RecordDef {
    pub name: String,
    pub fields: Vec<FieldDef>,
    /// Index of the field that identifies an instance.
    pub key: Option<u32>,
    /// Index of the field shown to people for an instance.
    pub label: Option<u32>,
    /// Declared `open record`.
    pub open: bool,
    /// Fields declared `name: ignored`: part of the format, read by no
    /// rule; any JSON value is accepted there.
    pub ignored: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub ty: Type,
    /// May be missing or null in a record.
    pub optional: bool,
    /// Allowed integer range, both ends included (`int(1..10)`).
    pub range: Option<(i64, i64)>,
}

/// `subject member: Member in family.members`.
#[derive(Debug, Clone)]
pub struct SubjectDef {
    pub name: String,
    pub record: RecordId,
    /// The enclosing subject and the index of its list field.
    pub parent: Option<(SubjectId, u32)>,
}

impl Schema {
    /// The root subject (the one with no parent): the record a whole input
    /// line decodes to.
    pub fn root(&self) -> Option<SubjectId> {
        self.subjects
            .iter()
            .position(|s| s.parent.is_none())
            .map(|i| SubjectId(i as u32))
    }

    /// A subject's chain from the root down to itself.
    pub fn chain(&self, subject: SubjectId) -> Vec<SubjectId> {
        let mut chain = vec![subject];
        let mut cur = subject;
        while let Some((parent, _)) = self.subjects.get(cur.index()).and_then(|s| s.parent) {
            if chain.contains(&parent) {
                break;
            }
            chain.push(parent);
            cur = parent;
        }
        chain.reverse();
        chain
    }
}

// ---- program -----------------------------------------------------------------

/// Everything an evaluation needs, checked and resolved.
#[derive(Debug, Clone, Default)]
pub struct Program {
    pub schema: Schema,
    /// The expression arena.
    pub exprs: Vec<Expr>,
    /// The type of each expression, by [`ExprId`].
    pub types: Vec<Type>,
    /// Where each expression was written, by [`ExprId`].
    pub spans: Vec<Span>,
    pub defs: Vec<Def>,
    pub params: Vec<Param>,
    pub tables: Vec<Table>,
    pub rulesets: Vec<Ruleset>,
}

impl Program {
    pub fn expr(&self, id: ExprId) -> Option<&Expr> {
        self.exprs.get(id.index())
    }

    pub fn ty(&self, id: ExprId) -> Option<&Type> {
        self.types.get(id.index())
    }

    /// The program the quality-control stage runs: its `stage qc` rulesets
    /// as the verification stage (their codes and status are the QC
    /// outcome), and nothing else. `None` when the rules have no QC
    /// ruleset. Household evaluation ([`crate::eval::evaluate`], the wasm
    /// module) runs verification and determination only, so QC rulesets
    /// change nothing there.
    pub fn quality_control(&self) -> Option<Program> {
        let rulesets: Vec<Ruleset> = self
            .rulesets
            .iter()
            .filter(|r| r.stage == Stage::Qc)
            .map(|r| Ruleset {
                stage: Stage::Verification,
                ..r.clone()
            })
            .collect();
        (!rulesets.is_empty()).then(|| Program {
            rulesets,
            ..self.clone()
        })
    }
}

/// A user definition: `def name(params): ret = body`. Its parameters are
/// locals `0..params.len()` of its own frame.
#[derive(Debug, Clone)]
pub struct Def {
    pub name: String,
    pub params: Vec<(String, Type)>,
    pub ret: Type,
    pub body: ExprId,
    /// Number of local slots the body needs (parameters included).
    pub frame_size: u32,
}

/// A dated parameter. The value in force at `as_of` is the entry with the
/// latest `from` not after `as_of`; an evaluation may override it.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub ty: Type,
    /// Sorted by `from`, earliest first; `from` dates are distinct.
    pub entries: Vec<ParamEntry>,
}

#[derive(Debug, Clone)]
pub struct ParamEntry {
    pub value: Lit,
    pub from: Date,
    pub source: String,
}

/// A reference table: a set of text codes loaded from a data file.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    /// The data file's name as given in the sources.
    pub path: String,
    /// The codes, sorted and without duplicates.
    pub codes: Vec<String>,
}

impl Table {
    pub fn contains(&self, code: &str) -> bool {
        self.codes
            .binary_search_by(|c| c.as_str().cmp(code))
            .is_ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Verification,
    /// Quality control: registry-wide checks over facts the register
    /// attaches to a record (see [`Program::quality_control`]).
    Qc,
    Determination,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    Year,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Blocking,
    Warning,
}

/// What an undetermined requirement counts as, when the rule says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnMissing {
    Fail,
    Pass,
}

/// A ruleset runs once per subject instance. Its frame holds, in order: one
/// local per subject of the chain from the root down to its own subject
/// (`household`, `family`, `member`), then its `let`s, then whatever
/// criteria and aggregates bind.
#[derive(Debug, Clone)]
pub struct Ruleset {
    pub name: String,
    pub stage: Stage,
    /// `programme PKH`; determination rulesets always have one.
    pub programme: Option<String>,
    pub subject: SubjectId,
    /// Locals bound to the subject chain, root first.
    pub subject_locals: Vec<LocalId>,
    /// `for each member where ...`: instances failing it are not subjects.
    pub filter: Option<ExprId>,
    /// `let name = value`, evaluated in order before the criteria.
    pub lets: Vec<Let>,
    pub criteria: Vec<Criterion>,
    pub benefit: Option<Benefit>,
    pub frame_size: u32,
    pub span: Span,
}

impl Ruleset {
    /// The programme a determination ruleset decides (its own name when
    /// it names none).
    pub fn programme_name(&self) -> String {
        self.programme.clone().unwrap_or_else(|| self.name.clone())
    }
}

#[derive(Debug, Clone)]
pub struct Let {
    pub name: String,
    pub local: LocalId,
    pub value: ExprId,
}

#[derive(Debug, Clone)]
pub struct Criterion {
    /// The reason code (`NIK_FORMAT`).
    pub code: String,
    /// Blocking in verification rulesets unless written `warning`; every
    /// criterion of a determination ruleset is a condition of eligibility
    /// and is `Blocking`.
    pub severity: Severity,
    /// `for m in list where filter`: the requirement is checked per element.
    pub each: Option<Each>,
    pub require: ExprId,
    pub on_missing: Option<OnMissing>,
    /// `reason KK_UPDATE_NEEDED`: a follow-up code shown with a failure.
    pub reason: Option<String>,
    pub message_id: Template,
    pub message_en: Template,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Each {
    pub var: LocalId,
    pub list: ExprId,
    pub filter: Option<ExprId>,
}

/// A message with `{expr}` holes.
#[derive(Debug, Clone, Default)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone)]
pub enum TemplatePart {
    Text(String),
    /// `source` is the hole's text as written, used to label the value in
    /// explanations.
    Hole {
        expr: ExprId,
        source: String,
    },
}

#[derive(Debug, Clone)]
pub struct Benefit {
    /// Of type money.
    pub amount: ExprId,
    pub per: Per,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Lit {
    Bool(bool),
    Int(i64),
    Money(i64),
    Text(String),
    Date(Date),
    /// A variant by index into its enum's variants.
    Enum(EnumId, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    /// Integer division rounding toward zero; by zero is undetermined.
    Div,
    /// Remainder with the sign of the dividend; by zero is undetermined.
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Built-in functions. Argument types are fixed by the checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Builtin {
    /// `len(text) -> int`: length in characters.
    Len,
    /// `is_digits(text) -> bool`: non-empty and only ASCII digits.
    IsDigits,
    /// `slice(text, from, to) -> text`: characters `from..=to`, counted from
    /// 1; positions outside the text are dropped.
    Slice,
    /// `to_int(text) -> int`: undetermined unless `is_digits` (optionally
    /// with a leading `-`) and in range.
    ToInt,
    /// `starts_with(text, prefix) -> bool`.
    StartsWith,
    /// `year(date) -> int`, `month(date) -> int`, `day(date) -> int`.
    Year,
    Month,
    Day,
    /// `is_date(y, m, d) -> bool`: the calendar has that day.
    IsDate,
    /// `date(y, m, d) -> date`: undetermined unless `is_date`.
    MakeDate,
    /// `years_between(from, to) -> int`: completed years.
    YearsBetween,
    /// `max(a, b, ...)` / `min(a, b, ...)` over int or money (two or more
    /// arguments).
    Greatest,
    Least,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Len => "len",
            Builtin::IsDigits => "is_digits",
            Builtin::Slice => "slice",
            Builtin::ToInt => "to_int",
            Builtin::StartsWith => "starts_with",
            Builtin::Year => "year",
            Builtin::Month => "month",
            Builtin::Day => "day",
            Builtin::IsDate => "is_date",
            Builtin::MakeDate => "date",
            Builtin::YearsBetween => "years_between",
            Builtin::Greatest => "max",
            Builtin::Least => "min",
        }
    }
}

/// One node of the expression arena.
///
/// Missing data: reading an absent optional field gives an *undetermined*
/// value that names the field's path. Operators propagate it, except:
/// `and`/`or`/`not` and `any`/`all` follow Kleene's three-valued logic
/// (`false and undetermined` is `false`, `true or undetermined` is `true`),
/// `present(e)` is never undetermined, `a ?? b` gives `b` when `a` is
/// undetermined, and `if` only looks at the branch it takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Expr {
    Lit(Lit),
    /// A list literal `[a, b]`.
    List(Vec<ExprId>),
    Local(LocalId),
    /// The evaluation date.
    AsOf,
    Param(ParamId),
    /// `base.field` on a record value.
    Field {
        base: ExprId,
        field: u32,
    },
    /// `base.field` on a list of records: the field of each element, in
    /// order; when the field is itself a list, the lists are concatenated.
    /// Elements whose field is missing are skipped.
    Project {
        base: ExprId,
        field: u32,
        flatten: bool,
    },
    Call {
        def: DefId,
        args: Vec<ExprId>,
    },
    Builtin {
        op: Builtin,
        args: Vec<ExprId>,
    },
    Not(ExprId),
    /// Integer or money negation.
    Neg(ExprId),
    And(ExprId, ExprId),
    Or(ExprId, ExprId),
    /// Integer or money arithmetic (overflow is undetermined).
    Arith {
        op: ArithOp,
        lhs: ExprId,
        rhs: ExprId,
    },
    /// `==`/`!=` on any scalar type of equal types (bool, int, money, text,
    /// date, enum); ordering on int, money, date.
    Compare {
        op: CmpOp,
        lhs: ExprId,
        rhs: ExprId,
    },
    /// `value in list` (negated for `not in`).
    InList {
        value: ExprId,
        list: ExprId,
        negated: bool,
    },
    /// `value in lo..hi`, both ends included, on int (negated for `not in`).
    InRange {
        value: ExprId,
        lo: ExprId,
        hi: ExprId,
        negated: bool,
    },
    /// `text in TABLE` (negated for `not in`).
    InTable {
        value: ExprId,
        table: TableId,
        negated: bool,
    },
    /// `value ?? default`.
    Coalesce {
        value: ExprId,
        default: ExprId,
    },
    /// `present(e)`: true when `e` is not undetermined.
    Present(ExprId),
    /// `if c1 then x1 else if c2 then x2 else y`: the first arm whose
    /// condition is true, else `else_`; an undetermined condition makes
    /// the whole `if` undetermined. A ladder is one node however long.
    If {
        arms: Vec<(ExprId, ExprId)>,
        else_: ExprId,
    },
    /// `arms[by_variant[v]]` is taken for variant index `v`.
    Match {
        scrutinee: ExprId,
        by_variant: Vec<u32>,
        arms: Vec<ExprId>,
    },
    /// `kind(n, var in list where filter: body)`.
    ///
    /// - `count`: elements passing the filter (int);
    /// - `any`/`all`: `body` (or, without body, `true`) over the elements
    ///   passing the filter, Kleene logic;
    /// - `sum`: sum of `body` (int or money), 0 for none;
    /// - `min`/`max`: of `body`; undetermined when no element passes;
    /// - `sum_top`: sum of the `n` largest `body` values;
    /// - `filter`: the elements passing the filter (a list).
    ///
    /// An element whose filter is undetermined makes the whole aggregate
    /// undetermined, except for `any`/`all`, where it counts as an
    /// undetermined element.
    Agg {
        kind: AggKind,
        var: LocalId,
        list: ExprId,
        n: Option<ExprId>,
        filter: Option<ExprId>,
        body: Option<ExprId>,
    },
}

impl Expr {
    /// The expressions this one evaluates directly (or may evaluate: the
    /// arms of an `if`, both sides of `and`), pushed onto `out`.
    pub fn children_into(&self, out: &mut Vec<ExprId>) {
        match self {
            Expr::Lit(_) | Expr::Local(_) | Expr::AsOf | Expr::Param(_) => {}
            Expr::List(items) => out.extend(items),
            Expr::Field { base, .. } | Expr::Project { base, .. } => out.push(*base),
            Expr::Call { args, .. } | Expr::Builtin { args, .. } => out.extend(args),
            Expr::Not(e) | Expr::Neg(e) | Expr::Present(e) => out.push(*e),
            Expr::And(a, b) | Expr::Or(a, b) => out.extend([*a, *b]),
            Expr::Arith { lhs, rhs, .. } | Expr::Compare { lhs, rhs, .. } => {
                out.extend([*lhs, *rhs]);
            }
            Expr::InList { value, list, .. } => out.extend([*value, *list]),
            Expr::InRange { value, lo, hi, .. } => out.extend([*value, *lo, *hi]),
            Expr::InTable { value, .. } => out.push(*value),
            Expr::Coalesce { value, default } => out.extend([*value, *default]),
            Expr::If { arms, else_ } => {
                for (c, v) in arms {
                    out.extend([*c, *v]);
                }
                out.push(*else_);
            }
            Expr::Match {
                scrutinee, arms, ..
            } => {
                out.push(*scrutinee);
                out.extend(arms);
            }
            Expr::Agg {
                list,
                n,
                filter,
                body,
                ..
            } => {
                out.push(*list);
                out.extend(n.iter().chain(filter).chain(body));
            }
        }
    }
}

/// At most this many definitions are shared ([`Program::shared_defs`]):
/// each costs the compiled module a table of its results.
pub const MAX_SHARED_DEFS: usize = 64;

/// A definition whose body costs less than this (in [`Program::def_costs`]
/// units) and walks no list is written in place of its calls.
const INLINE_BELOW: u32 = 12;

/// A definition whose body costs at least this much (in
/// [`Program::def_costs`] units) is worth sharing.
const SHARE_FROM_COST: u32 = 12;

impl Program {
    /// A rough cost of evaluating each definition's body once: one unit per
    /// node, more for text builtins, table lookups and aggregates (which
    /// walk a list), and a call costs its callee. Calls to a definition
    /// later in program order (or a cycle, which the checker refuses) count
    /// a fixed amount, so the estimate needs no recursion over definitions.
    pub fn def_costs(&self) -> Vec<u32> {
        let mut costs: Vec<u32> = Vec::with_capacity(self.defs.len());
        let mut stack = Vec::new();
        for def in &self.defs {
            let mut cost = 0u32;
            stack.clear();
            stack.push(def.body);
            while let Some(id) = stack.pop() {
                let Some(expr) = self.expr(id) else { continue };
                cost = cost.saturating_add(match expr {
                    Expr::Call { def, .. } => 1 + costs.get(def.index()).copied().unwrap_or(8),
                    Expr::Builtin { op, .. } => match op {
                        Builtin::Len
                        | Builtin::IsDigits
                        | Builtin::Slice
                        | Builtin::ToInt
                        | Builtin::StartsWith
                        | Builtin::IsDate
                        | Builtin::MakeDate => 4,
                        _ => 2,
                    },
                    Expr::InTable { .. } => 10,
                    Expr::Agg { .. } | Expr::Project { .. } => 12,
                    _ => 1,
                });
                expr.children_into(&mut stack);
            }
            costs.push(cost);
        }
        costs
    }

    /// Which definitions the compiled module writes in place of each call
    /// (no call, and the body meets its arguments): the cheap ones, whose
    /// evaluation costs less than a call and a look in a memo table, and
    /// that walk no list (a list walked once per household is worth
    /// sharing however cheap its expression).
    pub fn inlined_defs(&self) -> Vec<bool> {
        self.inlined_given(&self.def_costs())
    }

    /// [`Program::inlined_defs`] given [`Program::def_costs`].
    fn inlined_given(&self, costs: &[u32]) -> Vec<bool> {
        let mut stack = Vec::new();
        self.defs
            .iter()
            .zip(costs)
            .map(|(def, &cost)| {
                if cost >= INLINE_BELOW {
                    return false;
                }
                stack.clear();
                stack.push(def.body);
                while let Some(id) = stack.pop() {
                    match self.expr(id) {
                        Some(Expr::Project { .. } | Expr::Agg { .. }) => {
                            return false;
                        }
                        Some(e) => e.children_into(&mut stack),
                        None => {}
                    }
                }
                true
            })
            .collect()
    }

    /// Which definitions the compiled module evaluates once per argument
    /// and household (a memo table; see docs/abi.md): those of one
    /// parameter whose body costs enough that looking the result up is
    /// cheaper than evaluating it again, at most [`MAX_SHARED_DEFS`].
    /// Definitions are pure (their value depends only on the argument,
    /// `as_of` and the parameters, fixed for a batch), so sharing a result
    /// changes nothing but the work done.
    pub fn shared_defs(&self) -> Vec<bool> {
        let costs = self.def_costs();
        let inlined = self.inlined_given(&costs);
        let mut left = MAX_SHARED_DEFS;
        self.defs
            .iter()
            .zip(costs)
            .zip(inlined)
            .map(|((def, cost), inlined)| {
                let share =
                    left > 0 && !inlined && def.params.len() == 1 && cost >= SHARE_FROM_COST;
                if share {
                    left -= 1;
                }
                share
            })
            .collect()
    }
}
