//! The syntax tree of one source file, as written.
//!
//! Every node carries a [`Span`]. Spans compare equal to each other, so two
//! trees compare by structure alone (the formatter's idempotence test and the
//! parser's property tests rely on that).

use crate::date::Date;
use crate::source::Span;

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// One parsed `.lyk` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Import(Import),
    Enum(EnumDecl),
    Record(RecordDecl),
    Subject(SubjectDecl),
    Def(DefDecl),
    Param(ParamDecl),
    Table(TableDecl),
    Ruleset(Ruleset),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Enum(i) => i.span,
            Item::Record(i) => i.span,
            Item::Subject(i) => i.span,
            Item::Def(i) => i.span,
            Item::Param(i) => i.span,
            Item::Table(i) => i.span,
            Item::Ruleset(i) => i.span,
        }
    }
}

/// `import "common.lyk"`: the path is relative to the importing file.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub path: String,
    pub path_span: Span,
    pub span: Span,
}

/// `enum Sex { M = "M", F = "F" }`: variants with their official codes.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumDecl {
    pub name: Ident,
    pub variants: Vec<Variant>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub name: Ident,
    pub code: Code,
    pub span: Span,
}

/// The code a variant has in the interchange format.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Code {
    Int(i64),
    Text(String),
}

/// `record Member key nik label name { nik: text? ... }`, or `open record
/// ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDecl {
    /// Written `open`: a field the record does not name is never a decode
    /// error, only counted; otherwise one that looks like a misspelling of
    /// a field is an error (`docs/language.md`, "Fields a record does not
    /// name").
    pub open: bool,
    pub name: Ident,
    /// The field that identifies an instance (a family's `kk_number`).
    pub key: Option<Ident>,
    /// The field shown to people for an instance (a member's `name`).
    pub label: Option<Ident>,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub kind: FieldKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    /// `name: type`, or `name: type?` (`optional`: the field may be missing
    /// or null in a record).
    Typed { ty: TypeExpr, optional: bool },
    /// `name: ignored`: the field belongs to the interchange format, but no
    /// rule reads it. Any JSON value is accepted there, and it is not
    /// counted as unknown.
    Ignored,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeExprKind {
    /// `int`, `text`, `Member`, ...
    Named(Ident),
    /// `list<Member>`
    List(Box<TypeExpr>),
    /// `int(1..10)`: an integer with its allowed range, both ends included.
    IntRange(i64, i64),
}

/// `subject member: Member in family.members`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectDecl {
    pub name: Ident,
    pub record: Ident,
    /// The parent subject and its list field this subject ranges over.
    pub within: Option<(Ident, Ident)>,
    pub span: Span,
}

/// `def living(m: Member): bool = ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct DefDecl {
    pub name: Ident,
    pub params: Vec<(Ident, TypeExpr)>,
    pub ret: TypeExpr,
    pub body: Expr,
    pub span: Span,
}

/// `param X: money { Rp 1 from 2025-01-01 source "..." }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub entries: Vec<ParamEntry>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamEntry {
    /// A literal expression.
    pub value: Expr,
    pub from: Date,
    pub from_span: Span,
    pub source: String,
    pub span: Span,
}

/// `table VILLAGES = "tables/villages.txt"`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDecl {
    pub name: Ident,
    pub path: String,
    pub path_span: Span,
    pub span: Span,
}

/// `ruleset pkh { ... }`: its clauses in source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruleset {
    pub name: Ident,
    pub clauses: Vec<RulesetClause>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RulesetClause {
    /// `stage verification`
    Stage(Ident),
    /// `programme PKH`
    Programme(Ident),
    /// `for each member where living(member)`
    ForEach {
        subject: Ident,
        filter: Option<Expr>,
        span: Span,
    },
    /// `let members = ...`
    Let {
        name: Ident,
        value: Expr,
        span: Span,
    },
    Criterion(Criterion),
    /// `benefit Rp 200_000 per month`
    Benefit {
        amount: Expr,
        per: Ident,
        span: Span,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Blocking,
    Warning,
}

/// `criterion CODE blocking { ... }`: its clauses in source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    pub code: Ident,
    pub severity: Option<(Severity, Span)>,
    pub clauses: Vec<CriterionClause>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CriterionClause {
    /// `for m in list where filter`: the requirement holds for each element.
    For {
        var: Ident,
        list: Expr,
        filter: Option<Expr>,
        span: Span,
    },
    /// `require expr`
    Require(Expr),
    /// `on missing fail`
    OnMissing(Ident),
    /// `reason KK_UPDATE_NEEDED`
    Reason(Ident),
    /// `message id "..."`: the text with its `{expr}` holes already parsed.
    Message {
        lang: Ident,
        template: Template,
        span: Span,
    },
}

/// A message text with interpolated expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
    /// The whole string literal, quotes included.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    Text(String),
    /// `{expr}`: `source` is the text between the braces.
    Hole {
        expr: Expr,
        source: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Int(i64),
    /// `Rp 42_000`: whole rupiah.
    Money(i64),
    Text(String),
    Bool(bool),
    Date(Date),
    /// A variable, definition, parameter, table, enum or `as_of`.
    Name(Ident),
    /// `base.field`; also `Enum.variant`.
    Field(Box<Expr>, Ident),
    /// `name(args)`: a definition or a built-in function.
    Call(Ident, Vec<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `if c1 then x1 else if c2 then x2 else y`: one arm per condition,
    /// however long the `else if` ladder, then the final `else`.
    If(Vec<IfArm>, Box<Expr>),
    Match(Box<Expr>, Vec<MatchArm>),
    Aggregate(Box<Aggregate>),
    List(Vec<Expr>),
    /// `lo..hi`, both ends included; only on the right of `in`.
    Range(Box<Expr>, Box<Expr>),
    /// `(expr)`, kept so that the formatter can keep the author's grouping.
    Paren(Box<Expr>),
    /// What stands in for an expression the parser refused (one nested too
    /// deeply); it comes with an error, and the checker says no more.
    Invalid,
}

/// `if cond then then` (or `else if cond then then`): `span` starts at its
/// `if`.
#[derive(Debug, Clone, PartialEq)]
pub struct IfArm {
    pub cond: Expr,
    pub then: Expr,
    pub span: Span,
}

impl Expr {
    /// The expressions directly inside this one, in source order.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Int(_)
            | ExprKind::Money(_)
            | ExprKind::Text(_)
            | ExprKind::Bool(_)
            | ExprKind::Date(_)
            | ExprKind::Name(_)
            | ExprKind::Invalid => Vec::new(),
            ExprKind::Field(base, _) => vec![base],
            ExprKind::Call(_, args) | ExprKind::List(args) => args.iter().collect(),
            ExprKind::Unary(_, e) | ExprKind::Paren(e) => vec![e],
            ExprKind::Binary(_, a, b) | ExprKind::Range(a, b) => vec![a, b],
            ExprKind::If(arms, otherwise) => arms
                .iter()
                .flat_map(|a| [&a.cond, &a.then])
                .chain([&**otherwise])
                .collect(),
            ExprKind::Match(scrutinee, arms) => std::iter::once(&**scrutinee)
                .chain(arms.iter().map(|a| &a.body))
                .collect(),
            ExprKind::Aggregate(agg) => agg
                .n
                .iter()
                .chain([&agg.list])
                .chain(agg.filter.iter())
                .chain(agg.body.iter())
                .collect(),
        }
    }

    /// Where this tree is more than `limit` levels deep: the place of the
    /// first node found below that depth. Recurses at most `limit` levels.
    pub fn deeper_than(&self, limit: usize) -> Option<Span> {
        if limit == 0 {
            // A left-nested chain's nodes all start where it starts: its
            // right operand says where it passes the limit.
            let at = match &self.kind {
                ExprKind::Binary(_, _, rhs) => rhs.span,
                _ => self.span,
            };
            return Some(Span {
                end: at.start.saturating_add(1).min(at.end.max(at.start)),
                ..at
            });
        }
        self.children()
            .into_iter()
            .find_map(|c| c.deeper_than(limit - 1))
    }

    /// Drops a tree of any depth without recursing (the derived drop
    /// recurses once per level).
    pub fn drop_iteratively(self) {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e.kind {
                ExprKind::Int(_)
                | ExprKind::Money(_)
                | ExprKind::Text(_)
                | ExprKind::Bool(_)
                | ExprKind::Date(_)
                | ExprKind::Name(_)
                | ExprKind::Invalid => {}
                ExprKind::Field(base, _) => stack.push(*base),
                ExprKind::Call(_, args) | ExprKind::List(args) => stack.extend(args),
                ExprKind::Unary(_, e) | ExprKind::Paren(e) => stack.push(*e),
                ExprKind::Binary(_, a, b) | ExprKind::Range(a, b) => stack.extend([*a, *b]),
                ExprKind::If(arms, otherwise) => {
                    for arm in arms {
                        stack.extend([arm.cond, arm.then]);
                    }
                    stack.push(*otherwise);
                }
                ExprKind::Match(scrutinee, arms) => {
                    stack.push(*scrutinee);
                    stack.extend(arms.into_iter().map(|a| a.body));
                }
                ExprKind::Aggregate(agg) => {
                    let Aggregate {
                        n,
                        list,
                        filter,
                        body,
                        ..
                    } = *agg;
                    stack.extend(n);
                    stack.push(list);
                    stack.extend(filter);
                    stack.extend(body);
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Coalesce,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::NotIn => "not in",
            BinaryOp::Coalesce => "??",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    /// Binding strength: higher binds tighter. All binary operators are
    /// left-associative.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::NotIn => 4,
            BinaryOp::Coalesce => 5,
            BinaryOp::Add | BinaryOp::Sub => 6,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 7,
        }
    }
}

/// Precedence of prefix `not` (between `and` and the comparisons).
pub const NOT_PRECEDENCE: u8 = 3;
/// Precedence of prefix `-` (tighter than any binary operator).
pub const NEG_PRECEDENCE: u8 = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct MatchArm {
    pub patterns: Vec<Pattern>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// `_`
    Wildcard(Span),
    /// `variant` or `Enum.variant`
    Variant {
        enum_name: Option<Ident>,
        variant: Ident,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum AggKind {
    Count,
    Any,
    All,
    Sum,
    Min,
    Max,
    /// The sum of the N largest values.
    SumTop,
    /// The elements that pass the `where` filter, as a list.
    Filter,
}

impl AggKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AggKind::Count => "count",
            AggKind::Any => "any",
            AggKind::All => "all",
            AggKind::Sum => "sum",
            AggKind::Min => "min",
            AggKind::Max => "max",
            AggKind::SumTop => "sum_top",
            AggKind::Filter => "filter",
        }
    }
}

/// `sum_top(n, x in list where filter: body)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub kind: AggKind,
    pub kind_span: Span,
    /// The N of `sum_top`.
    pub n: Option<Expr>,
    pub var: Ident,
    pub list: Expr,
    pub filter: Option<Expr>,
    pub body: Option<Expr>,
}
