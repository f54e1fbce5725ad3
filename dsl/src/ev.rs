//! The interpreter's values: a present value, or undetermined with the
//! reasons why.
//!
//! Record values carry their path in the household (`families[0].members[2]`)
//! so that reading an absent field can name it.

use std::collections::BTreeSet;
use std::rc::Rc;

use crate::date::Date;
use crate::ir::{Lit, Program, RecordId, Type};
use crate::value::{Record, Value};

/// Why a value is undetermined: sorted paths of missing data (relative to
/// the household, `families[0].members[2].birth_date`, `params.NAME`) and
/// `error: ...` reasons.
pub type Missing = BTreeSet<String>;

/// The reason strings of computation problems. Part of the output format:
/// the wasm runtime must produce exactly these.
pub mod reason {
    /// `/` or `%` with a zero divisor.
    pub const DIVISION_BY_ZERO: &str = "error: division by zero";
    /// An int or money result outside the 64-bit range (also `to_int` of
    /// digits too large for it).
    pub const OVERFLOW: &str = "error: overflow";
    /// `to_int` of a text that is not an optional `-` followed by digits.
    pub const NOT_A_NUMBER: &str = "error: not a number";
    /// `date(y, m, d)` of a day the calendar does not have.
    pub const NOT_A_DATE: &str = "error: not a date";
    /// `min`/`max` over no element.
    pub const NO_ELEMENTS: &str = "error: no elements";
    /// An override ([`crate::context::EvalContext::overrides`]) whose value
    /// does not have the parameter's type.
    pub const BAD_OVERRIDE: &str = "error: override of the wrong type";
    /// A program that breaks the IR's invariants (only a checker bug or a
    /// hand-built program can cause it).
    pub const INTERNAL: &str = "error: internal";
}

/// A present value during evaluation.
#[derive(Debug, Clone)]
pub enum V<'h> {
    Bool(bool),
    Int(i64),
    Money(i64),
    Text(Rc<str>),
    Date(Date),
    /// A variant by index; the enum is known from the expression's type.
    Enum(u32),
    Rec(Rec<'h>),
    List(Rc<[V<'h>]>),
}

/// A record of the household, with where it is.
#[derive(Debug, Clone)]
pub struct Rec<'h> {
    pub record: &'h Record,
    pub id: RecordId,
    /// `""` for the household itself.
    pub path: Rc<str>,
}

/// A value or the reasons it is undetermined.
#[derive(Debug, Clone)]
pub enum Ev<'h> {
    Val(V<'h>),
    Und(Missing),
}

impl<'h> Ev<'h> {
    pub fn und(reason: &str) -> Ev<'h> {
        Ev::Und(Missing::from([reason.to_string()]))
    }

    pub fn internal() -> Ev<'h> {
        Ev::und(reason::INTERNAL)
    }

    pub fn bool(b: bool) -> Ev<'h> {
        Ev::Val(V::Bool(b))
    }
}

/// A child path: `region` under the household, `families[0].members` under
/// a family.
pub fn join(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

/// A value of the household as the interpreter sees it. `ty` is the value's
/// schema type, which gives records their ids and list elements their paths.
pub fn from_value<'h>(value: &'h Value, ty: &Type, path: &str) -> V<'h> {
    match (value, ty) {
        (Value::Bool(b), _) => V::Bool(*b),
        (Value::Int(n), _) => V::Int(*n),
        (Value::Money(n), _) => V::Money(*n),
        (Value::Text(s), _) => V::Text(Rc::from(s.as_str())),
        (Value::Date(d), _) => V::Date(*d),
        (Value::Enum(i), _) => V::Enum(*i),
        (Value::Record(record), Type::Record(id)) => V::Rec(Rec {
            record,
            id: *id,
            path: Rc::from(path),
        }),
        // A record whose type is not a record type breaks the schema; keep
        // it readable with an id no field lookup will find.
        (Value::Record(record), _) => V::Rec(Rec {
            record,
            id: RecordId(u32::MAX),
            path: Rc::from(path),
        }),
        (Value::List(items), ty) => {
            let elem = match ty {
                Type::List(elem) => elem.as_ref(),
                other => other,
            };
            items
                .iter()
                .enumerate()
                .map(|(i, item)| from_value(item, elem, &format!("{path}[{i}]")))
                .collect::<Vec<_>>()
                .into()
        }
    }
}

impl<'h> From<Vec<V<'h>>> for V<'h> {
    fn from(items: Vec<V<'h>>) -> V<'h> {
        V::List(Rc::from(items))
    }
}

pub fn from_lit<'h>(lit: &Lit) -> V<'h> {
    match lit {
        Lit::Bool(b) => V::Bool(*b),
        Lit::Int(n) => V::Int(*n),
        Lit::Money(n) => V::Money(*n),
        Lit::Text(s) => V::Text(Rc::from(s.as_str())),
        Lit::Date(d) => V::Date(*d),
        Lit::Enum(_, i) => V::Enum(*i),
    }
}

/// Whether a literal has the given type (overrides are checked with it).
pub fn lit_has_type(lit: &Lit, ty: &Type) -> bool {
    matches!(
        (lit, ty),
        (Lit::Bool(_), Type::Bool)
            | (Lit::Int(_), Type::Int)
            | (Lit::Money(_), Type::Money)
            | (Lit::Text(_), Type::Text)
            | (Lit::Date(_), Type::Date)
    ) || matches!((lit, ty), (Lit::Enum(a, _), Type::Enum(b)) if a == b)
}

impl V<'_> {
    /// The number in an int or money value.
    pub fn number(&self) -> Option<i64> {
        match self {
            V::Int(n) | V::Money(n) => Some(*n),
            _ => None,
        }
    }

    /// Equality of scalars; records are equal when they are the same
    /// record of the household.
    pub fn same(&self, other: &V<'_>) -> Option<bool> {
        Some(match (self, other) {
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::Int(a) | V::Money(a), V::Int(b) | V::Money(b)) => a == b,
            (V::Text(a), V::Text(b)) => a == b,
            (V::Date(a), V::Date(b)) => a == b,
            (V::Enum(a), V::Enum(b)) => a == b,
            (V::Rec(a), V::Rec(b)) => a.path == b.path,
            _ => return None,
        })
    }

    /// Ordering of numbers, dates and texts.
    pub fn order(&self, other: &V<'_>) -> Option<std::cmp::Ordering> {
        Some(match (self, other) {
            (V::Int(a) | V::Money(a), V::Int(b) | V::Money(b)) => a.cmp(b),
            (V::Date(a), V::Date(b)) => a.cmp(b),
            (V::Text(a), V::Text(b)) => a.cmp(b),
            _ => return None,
        })
    }
}

/// A number of the type of an expression: money stays money.
pub fn number_of_type<'h>(program: &Program, ty_of: crate::ir::ExprId, n: i64) -> V<'h> {
    match program.ty(ty_of) {
        Some(Type::Money) => V::Money(n),
        _ => V::Int(n),
    }
}
