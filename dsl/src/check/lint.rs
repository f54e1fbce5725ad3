//! Whole-program checks after elaboration: definition cycles (an error) and
//! the warnings: unused declarations, requirements that cannot change, `??`
//! defaults that are never used.

use std::collections::{HashSet, VecDeque};

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::ir::{CmpOp, DefId, Expr, ExprId, Lit, ParamId, TableId};

use super::ty::Ty;
use super::{Checker, Owner, Typed};

/// What a requirement folds to without looking at any record.
#[derive(Debug, Clone, PartialEq)]
enum Known {
    Bool(bool),
    /// An integer, amount or date (as `yyyymmdd`) between two bounds, both
    /// included; a literal has equal bounds.
    Num(i64, i64),
    Text(String),
    Variant(u32),
    Unknown,
}

impl Checker<'_> {
    /// E0107: definitions are expanded where they are called, so they may
    /// not call themselves, directly or through others.
    pub(super) fn cycles(&mut self) {
        let n = self.defs.len();
        let reach: Vec<HashSet<usize>> = (0..n).map(|d| self.reachable_defs(d)).collect();
        let mut reported = vec![false; n];
        for d in 0..n {
            if reported.get(d).copied().unwrap_or(true)
                || !reach.get(d).is_some_and(|r| r.contains(&d))
            {
                continue;
            }
            let members: Vec<usize> = (0..n)
                .filter(|&o| {
                    reach.get(d).is_some_and(|r| r.contains(&o))
                        && reach.get(o).is_some_and(|r| r.contains(&d))
                })
                .collect();
            for &m in &members {
                if let Some(r) = reported.get_mut(m) {
                    *r = true;
                }
            }
            let Some(&(_, decl)) = self.defs.get(d) else {
                continue;
            };
            let names: Vec<String> = members
                .iter()
                .filter_map(|m| self.defs.get(*m).map(|(_, x)| x.name.name.clone()))
                .collect();
            let message = if members.len() == 1 {
                format!("`{}` calls itself", decl.name.name)
            } else {
                format!(
                    "definitions {} call each other in a cycle",
                    super::list_names(&names)
                )
            };
            let mut diag = Diagnostic::new("E0107", decl.name.span, message).with_help(
                "definitions are expanded where they are used, so they cannot recurse; go through a list with an aggregate instead",
            );
            for &m in &members {
                let Some(uses) = self.uses.get(&Owner::Def(DefId(m as u32))) else {
                    continue;
                };
                let caller = names
                    .get(members.iter().position(|x| *x == m).unwrap_or(0))
                    .cloned()
                    .unwrap_or_default();
                for (callee, span) in &uses.defs {
                    if members.contains(&callee.index()) {
                        let callee_name = self
                            .defs
                            .get(callee.index())
                            .map_or("", |(_, x)| x.name.name.as_str());
                        diag = diag
                            .with_label(*span, format!("`{caller}` calls `{callee_name}` here"));
                    }
                }
            }
            self.report(diag);
        }
    }

    /// The definitions reachable through one or more calls from `from`.
    fn reachable_defs(&self, from: usize) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([from]);
        while let Some(d) = queue.pop_front() {
            let Some(uses) = self.uses.get(&Owner::Def(DefId(d as u32))) else {
                continue;
            };
            for (callee, _) in &uses.defs {
                if seen.insert(callee.index()) {
                    queue.push_back(callee.index());
                }
            }
        }
        seen
    }

    /// W0001: definitions, parameters and tables that no ruleset reaches.
    pub(super) fn unused(&mut self) {
        let mut defs: HashSet<DefId> = HashSet::new();
        let mut params: HashSet<ParamId> = HashSet::new();
        let mut tables: HashSet<TableId> = HashSet::new();
        let mut queue: VecDeque<Owner> = (0..self.rulesets.len()).map(Owner::Ruleset).collect();
        while let Some(owner) = queue.pop_front() {
            let Some(uses) = self.uses.get(&owner) else {
                continue;
            };
            params.extend(uses.params.iter().copied());
            tables.extend(uses.tables.iter().copied());
            for (d, _) in &uses.defs {
                if defs.insert(*d) {
                    queue.push_back(Owner::Def(*d));
                }
            }
        }
        for (i, (_, decl)) in self.defs.clone().iter().enumerate() {
            if defs.contains(&DefId(i as u32)) {
                continue;
            }
            let callers: Vec<String> = self
                .defs
                .iter()
                .enumerate()
                .filter(|(j, _)| {
                    self.uses
                        .get(&Owner::Def(DefId(*j as u32)))
                        .is_some_and(|u| u.defs.iter().any(|(c, _)| c.index() == i))
                        && *j != i
                })
                .map(|(_, (_, d))| d.name.name.clone())
                .collect();
            let help = if callers.is_empty() {
                "no ruleset uses it, directly or through other definitions; remove it or use it"
                    .to_string()
            } else {
                format!(
                    "it is only used by {}, which no ruleset uses either",
                    super::list_names(&callers)
                )
            };
            self.report(
                Diagnostic::new(
                    "W0001",
                    decl.name.span,
                    format!("definition `{}` is never used", decl.name.name),
                )
                .with_help(help),
            );
        }
        for (i, (_, decl)) in self.params.clone().iter().enumerate() {
            if !params.contains(&ParamId(i as u32)) {
                self.report(
                    Diagnostic::new(
                        "W0001",
                        decl.name.span,
                        format!("parameter `{}` is never used", decl.name.name),
                    )
                    .with_help(
                        "no ruleset uses it, directly or through definitions; remove it or use it",
                    ),
                );
            }
        }
        for (i, (_, decl)) in self.tables.clone().iter().enumerate() {
            if !tables.contains(&TableId(i as u32)) {
                self.report(
                    Diagnostic::new(
                        "W0001",
                        decl.name.span,
                        format!("table `{}` is never used", decl.name.name),
                    )
                    .with_help(
                        "no ruleset uses it, directly or through definitions; remove it or use it",
                    ),
                );
            }
        }
    }

    /// W0002: a requirement whose outcome is known without any record.
    pub(super) fn constant_requirement(&mut self, c: &ast::Criterion, require: ExprId) {
        let mut ranged = Vec::new();
        let Known::Bool(value) = self.fold(require, &mut ranged) else {
            return;
        };
        let span = self
            .program
            .spans
            .get(require.index())
            .copied()
            .unwrap_or(c.code.span);
        let message = if value {
            format!(
                "criterion `{}` can never fail: its requirement always holds",
                c.code.name
            )
        } else {
            format!(
                "criterion `{}` can never pass: its requirement never holds",
                c.code.name
            )
        };
        let mut d = Diagnostic::new("W0002", span, message);
        let notes: Vec<String> = ranged
            .iter()
            .filter_map(|(e, lo, hi)| {
                let s = self.program.spans.get(e.index())?;
                Some(format!("`{}` always lies in {lo}..{hi}", self.snippet(*s)))
            })
            .collect();
        d = if notes.is_empty() {
            d.with_help("the requirement does not depend on the record; check the condition")
        } else {
            d.with_help(format!("{}; check the condition", notes.join(", ")))
        };
        self.report(d);
    }

    /// Folds an expression as far as it goes without a record, noting the
    /// ranged fields it relied on.
    fn fold(&self, id: ExprId, ranged: &mut Vec<(ExprId, i64, i64)>) -> Known {
        if self.errors.contains(&id) {
            return Known::Unknown;
        }
        let Some(e) = self.program.expr(id) else {
            return Known::Unknown;
        };
        match e {
            Expr::Lit(Lit::Bool(b)) => Known::Bool(*b),
            Expr::Lit(Lit::Int(n) | Lit::Money(n)) => Known::Num(*n, *n),
            Expr::Lit(Lit::Date(d)) => Known::Num(i64::from(d.yyyymmdd()), i64::from(d.yyyymmdd())),
            Expr::Lit(Lit::Text(t)) => Known::Text(t.clone()),
            Expr::Lit(Lit::Enum(_, v)) => Known::Variant(*v),
            Expr::Field { base, field } => {
                let Some(crate::ir::Type::Record(r)) = self.program.ty(*base) else {
                    return Known::Unknown;
                };
                match self
                    .fields
                    .get(r.index())
                    .and_then(|f| f.get(*field as usize))
                    .and_then(|f| f.range)
                {
                    Some((lo, hi)) => {
                        ranged.push((id, lo, hi));
                        Known::Num(lo, hi)
                    }
                    None => Known::Unknown,
                }
            }
            Expr::Coalesce { value, default } => {
                match (self.fold(*value, ranged), self.fold(*default, ranged)) {
                    (Known::Num(a, b), Known::Num(c, d)) => Known::Num(a.min(c), b.max(d)),
                    _ => Known::Unknown,
                }
            }
            Expr::Not(x) => match self.fold(*x, ranged) {
                Known::Bool(b) => Known::Bool(!b),
                _ => Known::Unknown,
            },
            Expr::And(a, b) => match (self.fold(*a, ranged), self.fold(*b, ranged)) {
                (Known::Bool(false), _) | (_, Known::Bool(false)) => Known::Bool(false),
                (Known::Bool(true), Known::Bool(true)) => Known::Bool(true),
                _ => Known::Unknown,
            },
            Expr::Or(a, b) => match (self.fold(*a, ranged), self.fold(*b, ranged)) {
                (Known::Bool(true), _) | (_, Known::Bool(true)) => Known::Bool(true),
                (Known::Bool(false), Known::Bool(false)) => Known::Bool(false),
                _ => Known::Unknown,
            },
            Expr::Neg(x) => match self.fold(*x, ranged) {
                Known::Num(a, b) if a == b => {
                    a.checked_neg().map_or(Known::Unknown, |n| Known::Num(n, n))
                }
                _ => Known::Unknown,
            },
            Expr::Compare { op, lhs, rhs } => {
                compare(*op, &self.fold(*lhs, ranged), &self.fold(*rhs, ranged))
            }
            Expr::InRange {
                value,
                lo,
                hi,
                negated,
            } => {
                let (v, lo, hi) = (
                    self.fold(*value, ranged),
                    self.fold(*lo, ranged),
                    self.fold(*hi, ranged),
                );
                let (Known::Num(a, b), Known::Num(l, l2), Known::Num(h, h2)) = (v, lo, hi) else {
                    return Known::Unknown;
                };
                if l != l2 || h != h2 {
                    return Known::Unknown;
                }
                let inside = if a >= l && b <= h {
                    Known::Bool(true)
                } else if b < l || a > h {
                    Known::Bool(false)
                } else {
                    return Known::Unknown;
                };
                negate(inside, *negated)
            }
            Expr::InList {
                value,
                list,
                negated,
            } => {
                let Some(Expr::List(items)) = self.program.expr(*list) else {
                    return Known::Unknown;
                };
                let v = self.fold(*value, ranged);
                let mut found = Known::Bool(false);
                for item in items {
                    match compare(CmpOp::Eq, &v, &self.fold(*item, ranged)) {
                        Known::Bool(true) => {
                            found = Known::Bool(true);
                            break;
                        }
                        Known::Bool(false) => {}
                        _ => return Known::Unknown,
                    }
                }
                negate(found, *negated)
            }
            Expr::If { arms, else_ } => {
                for (cond, then) in arms {
                    match self.fold(*cond, ranged) {
                        Known::Bool(true) => return self.fold(*then, ranged),
                        Known::Bool(false) => {}
                        _ => return Known::Unknown,
                    }
                }
                self.fold(*else_, ranged)
            }
            _ => Known::Unknown,
        }
    }

    /// W0003: `a ?? b` where `a` reads non-optional fields all the way
    /// from a subject or list element, so `b` is never used.
    pub(super) fn never_missing_default(
        &mut self,
        value: &Typed,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
    ) {
        if value.ty.has_error() || !self.never_missing(value.id, true) {
            return;
        }
        let field = match self.program.expr(value.id) {
            Some(Expr::Field { base, field }) => match self.program.ty(*base) {
                Some(crate::ir::Type::Record(r)) => self
                    .fields
                    .get(r.index())
                    .and_then(|f| f.get(*field as usize))
                    .map(|f| (f.name.clone(), self.show(&Ty::Record(*r)))),
                _ => None,
            },
            _ => None,
        };
        let mut d = Diagnostic::new(
            "W0003",
            lhs.span,
            format!(
                "`{}` is never missing, so its `??` default is never used",
                self.snippet(lhs.span)
            ),
        )
        .with_label(rhs.span, "never used");
        if let Some((name, record)) = field {
            d = d.with_help(format!(
                "field `{name}` of `{record}` is not optional (no `?`); remove `?? {}`",
                self.snippet(rhs.span)
            ));
        }
        self.report(d);
    }

    /// Whether an expression is a chain of non-optional field reads from a
    /// local that is never missing. `top` requires at least one field read.
    fn never_missing(&self, id: ExprId, top: bool) -> bool {
        match self.program.expr(id) {
            Some(Expr::Field { base, field }) => {
                let optional = match self.program.ty(*base) {
                    Some(crate::ir::Type::Record(r)) => self
                        .fields
                        .get(r.index())
                        .and_then(|f| f.get(*field as usize))
                        .is_none_or(|f| f.optional),
                    _ => true,
                };
                !optional && self.never_missing(*base, false)
            }
            Some(Expr::Local(l)) => !top && self.frame.local(*l).is_some_and(|l| l.never_missing),
            _ => false,
        }
    }
}

fn negate(k: Known, negated: bool) -> Known {
    match k {
        Known::Bool(b) => Known::Bool(b != negated),
        other => other,
    }
}

/// A comparison of two folded values, when its outcome is certain.
fn compare(op: CmpOp, a: &Known, b: &Known) -> Known {
    match (a, b) {
        (Known::Num(a1, a2), Known::Num(b1, b2)) => {
            let (a1, a2, b1, b2) = (*a1, *a2, *b1, *b2);
            let certain = |always: bool, never: bool| {
                if always {
                    Known::Bool(true)
                } else if never {
                    Known::Bool(false)
                } else {
                    Known::Unknown
                }
            };
            match op {
                CmpOp::Lt => certain(a2 < b1, a1 >= b2),
                CmpOp::Le => certain(a2 <= b1, a1 > b2),
                CmpOp::Gt => certain(a1 > b2, a2 <= b1),
                CmpOp::Ge => certain(a1 >= b2, a2 < b1),
                CmpOp::Eq => certain(a1 == a2 && b1 == b2 && a1 == b1, a2 < b1 || b2 < a1),
                CmpOp::Ne => certain(a2 < b1 || b2 < a1, a1 == a2 && b1 == b2 && a1 == b1),
            }
        }
        (Known::Bool(x), Known::Bool(y)) => equality(op, x == y),
        (Known::Text(x), Known::Text(y)) => equality(op, x == y),
        (Known::Variant(x), Known::Variant(y)) => equality(op, x == y),
        _ => Known::Unknown,
    }
}

fn equality(op: CmpOp, equal: bool) -> Known {
    match op {
        CmpOp::Eq => Known::Bool(equal),
        CmpOp::Ne => Known::Bool(!equal),
        _ => Known::Unknown,
    }
}
