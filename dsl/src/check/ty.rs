//! Types while checking: the IR's types plus an error type.

use crate::ir::{EnumId, RecordId, Type};

/// A type as the checker sees it. `Error` stands for a type that could not
/// be worked out because of an error already reported; it agrees with every
/// type, so that one mistake is reported once and not again by everything
/// built on top of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ty {
    Bool,
    Int,
    Money,
    Text,
    Date,
    Enum(EnumId),
    Record(RecordId),
    List(Box<Ty>),
    Error,
}

impl Ty {
    pub(super) fn list(elem: Ty) -> Ty {
        Ty::List(Box::new(elem))
    }

    /// Whether two types can stand for each other, counting `Error` as a
    /// match for anything.
    pub(super) fn agrees(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Error, _) | (_, Ty::Error) => true,
            (Ty::List(a), Ty::List(b)) => a.agrees(b),
            (a, b) => a == b,
        }
    }

    /// Whether the type is, or contains, an error.
    pub(super) fn has_error(&self) -> bool {
        match self {
            Ty::Error => true,
            Ty::List(t) => t.has_error(),
            _ => false,
        }
    }

    /// Types that `==` can compare and `in` can look for.
    pub(super) fn is_scalar(&self) -> bool {
        matches!(
            self,
            Ty::Bool | Ty::Int | Ty::Money | Ty::Text | Ty::Date | Ty::Enum(_) | Ty::Error
        )
    }

    /// Types that `+`, `sum` or `max` work on.
    pub(super) fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Money | Ty::Error)
    }

    /// The element type of a list, `Error` for an error, `None` otherwise.
    pub(super) fn elem(&self) -> Option<Ty> {
        match self {
            Ty::List(t) => Some((**t).clone()),
            Ty::Error => Some(Ty::Error),
            _ => None,
        }
    }

    /// Of two agreeing types, the one that says more.
    pub(super) fn or(self, other: Ty) -> Ty {
        if self.has_error() { other } else { self }
    }

    /// The IR type. An error becomes `bool`; a program with errors is never
    /// handed on, so the stand-in is never seen.
    pub(super) fn to_ir(&self) -> Type {
        match self {
            Ty::Bool | Ty::Error => Type::Bool,
            Ty::Int => Type::Int,
            Ty::Money => Type::Money,
            Ty::Text => Type::Text,
            Ty::Date => Type::Date,
            Ty::Enum(e) => Type::Enum(*e),
            Ty::Record(r) => Type::Record(*r),
            Ty::List(t) => Type::List(Box::new(t.to_ir())),
        }
    }
}
