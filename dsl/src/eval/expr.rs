//! Expression evaluation: one `match` arm per IR node.
//!
//! Strict operators evaluate every operand before looking at any, so an
//! undetermined result names the union of everything that was missing, not
//! just the first thing found. Kleene operators may stop early only where
//! the result no longer depends on the rest (a `false` operand of `and`).

use std::cell::Cell;
use std::rc::Rc;

use crate::ast::AggKind;
use crate::date::Date;
use crate::ev::{Ev, Missing, Rec, V, from_lit, from_value, join, number_of_type, reason};
use crate::ir::{ArithOp, Builtin, CmpOp, Expr, ExprId, LocalId, Program};

/// Locals of one frame, by [`LocalId`]; `None` until bound.
pub type Frame<'h> = Vec<Option<Ev<'h>>>;

/// How deep definition calls may nest. The checker rules out recursion;
/// this only keeps a broken program from exhausting the stack.
const MAX_CALL_DEPTH: u32 = 256;

pub struct Interp<'p, 'h> {
    pub program: &'p Program,
    pub as_of: Date,
    /// The value of each parameter, by [`crate::ir::ParamId`].
    pub params: Vec<Ev<'h>>,
    depth: Cell<u32>,
}

/// A truth value in Kleene's logic.
#[derive(Debug, Clone)]
pub enum Tri {
    T,
    F,
    U(Missing),
}

impl Tri {
    pub fn of(ev: Ev<'_>) -> Tri {
        match ev {
            Ev::Val(V::Bool(true)) => Tri::T,
            Ev::Val(V::Bool(false)) => Tri::F,
            Ev::Val(_) => Tri::U(Missing::from([reason::INTERNAL.to_string()])),
            Ev::Und(m) => Tri::U(m),
        }
    }

    fn ev<'h>(self) -> Ev<'h> {
        match self {
            Tri::T => Ev::bool(true),
            Tri::F => Ev::bool(false),
            Tri::U(m) => Ev::Und(m),
        }
    }

    pub fn not(self) -> Tri {
        match self {
            Tri::T => Tri::F,
            Tri::F => Tri::T,
            u @ Tri::U(_) => u,
        }
    }

    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::F, _) | (_, Tri::F) => Tri::F,
            (Tri::T, x) | (x, Tri::T) => x,
            (Tri::U(mut a), Tri::U(b)) => {
                a.extend(b);
                Tri::U(a)
            }
        }
    }

    pub fn or(self, other: Tri) -> Tri {
        self.not().and(other.not()).not()
    }
}

/// One element of an aggregate that passed its filter.
pub struct AggItem<'h> {
    /// The element's position in the list.
    pub index: usize,
    pub element: V<'h>,
    /// The body's value (the element itself when there is no body).
    pub value: Ev<'h>,
}

/// A numeric aggregate taken apart, for the benefit explanation.
pub struct Breakdown<'h> {
    pub result: Ev<'h>,
    pub items: Vec<AggItem<'h>>,
    /// Whether each item counted in the result; all `false` when the result
    /// is undetermined.
    pub counted: Vec<bool>,
}

pub fn bind<'h>(frame: &mut Frame<'h>, local: LocalId, value: Ev<'h>) {
    let i = local.index();
    if frame.len() <= i {
        frame.resize(i + 1, None);
    }
    if let Some(slot) = frame.get_mut(i) {
        *slot = Some(value);
    }
}

fn union(a: &mut Missing, ev: &Ev<'_>) {
    if let Ev::Und(m) = ev {
        a.extend(m.iter().cloned());
    }
}

impl<'p, 'h> Interp<'p, 'h> {
    pub fn new(program: &'p Program, as_of: Date, params: Vec<Ev<'h>>) -> Self {
        Interp {
            program,
            as_of,
            params,
            depth: Cell::new(0),
        }
    }

    pub fn eval(&self, frame: &mut Frame<'h>, id: ExprId) -> Ev<'h> {
        let Some(expr) = self.program.expr(id) else {
            return Ev::internal();
        };
        match expr {
            Expr::Lit(lit) => Ev::Val(from_lit(lit)),
            Expr::List(items) => match self.strict(frame, items) {
                Ok(values) => Ev::Val(values.into()),
                Err(m) => Ev::Und(m),
            },
            Expr::Local(local) => frame
                .get(local.index())
                .cloned()
                .flatten()
                .unwrap_or_else(Ev::internal),
            Expr::AsOf => Ev::Val(V::Date(self.as_of)),
            Expr::Param(p) => self
                .params
                .get(p.index())
                .cloned()
                .unwrap_or_else(Ev::internal),
            Expr::Field { base, field } => match self.eval(frame, *base) {
                Ev::Val(V::Rec(rec)) => self.field(&rec, *field),
                Ev::Val(_) => Ev::internal(),
                und @ Ev::Und(_) => und,
            },
            Expr::Project {
                base,
                field,
                flatten,
            } => self.project(frame, *base, *field, *flatten),
            Expr::Call { def, args } => self.call(frame, def.index(), args),
            Expr::Builtin { op, args } => match self.strict(frame, args) {
                Ok(values) => self.builtin(id, *op, &values),
                Err(m) => Ev::Und(m),
            },
            Expr::Not(e) => Tri::of(self.eval(frame, *e)).not().ev(),
            Expr::Neg(e) => match self.eval(frame, *e) {
                Ev::Val(v) => match v.number() {
                    Some(n) => self.number(id, n.checked_neg()),
                    None => Ev::internal(),
                },
                und => und,
            },
            Expr::And(a, b) => match Tri::of(self.eval(frame, *a)) {
                Tri::F => Ev::bool(false),
                a => a.and(Tri::of(self.eval(frame, *b))).ev(),
            },
            Expr::Or(a, b) => match Tri::of(self.eval(frame, *a)) {
                Tri::T => Ev::bool(true),
                a => a.or(Tri::of(self.eval(frame, *b))).ev(),
            },
            Expr::Arith { op, lhs, rhs } => match self.strict(frame, &[*lhs, *rhs]).as_deref() {
                Ok([a, b]) => match (a.number(), b.number()) {
                    (Some(a), Some(b)) => self.arith(id, *op, a, b),
                    _ => Ev::internal(),
                },
                Ok(_) => Ev::internal(),
                Err(m) => Ev::Und(m.clone()),
            },
            Expr::Compare { op, lhs, rhs } => match self.strict(frame, &[*lhs, *rhs]).as_deref() {
                Ok([a, b]) => compare(*op, a, b),
                Ok(_) => Ev::internal(),
                Err(m) => Ev::Und(m.clone()),
            },
            Expr::InList {
                value,
                list,
                negated,
            } => match self.strict(frame, &[*value, *list]).as_deref() {
                Ok([v, V::List(items)]) => {
                    let mut found = false;
                    for item in items.iter() {
                        match v.same(item) {
                            Some(eq) => found |= eq,
                            None => return Ev::internal(),
                        }
                    }
                    Ev::bool(found != *negated)
                }
                Ok(_) => Ev::internal(),
                Err(m) => Ev::Und(m.clone()),
            },
            Expr::InRange {
                value,
                lo,
                hi,
                negated,
            } => match self.strict(frame, &[*value, *lo, *hi]).as_deref() {
                Ok([v, lo, hi]) => match (lo.order(v), v.order(hi)) {
                    (Some(a), Some(b)) => Ev::bool((a.is_le() && b.is_le()) != *negated),
                    _ => Ev::internal(),
                },
                Ok(_) => Ev::internal(),
                Err(m) => Ev::Und(m.clone()),
            },
            Expr::InTable {
                value,
                table,
                negated,
            } => match (
                self.eval(frame, *value),
                self.program.tables.get(table.index()),
            ) {
                (Ev::Val(V::Text(s)), Some(table)) => Ev::bool(table.contains(&s) != *negated),
                (Ev::Und(m), _) => Ev::Und(m),
                _ => Ev::internal(),
            },
            Expr::Coalesce { value, default } => match self.eval(frame, *value) {
                Ev::Und(_) => self.eval(frame, *default),
                value => value,
            },
            Expr::Present(e) => Ev::bool(matches!(self.eval(frame, *e), Ev::Val(_))),
            Expr::If { arms, else_ } => {
                for (cond, then) in arms {
                    match Tri::of(self.eval(frame, *cond)) {
                        Tri::T => return self.eval(frame, *then),
                        Tri::F => {}
                        Tri::U(m) => return Ev::Und(m),
                    }
                }
                self.eval(frame, *else_)
            }
            Expr::Match {
                scrutinee,
                by_variant,
                arms,
            } => match self.eval(frame, *scrutinee) {
                Ev::Val(V::Enum(v)) => {
                    let arm = by_variant
                        .get(v as usize)
                        .and_then(|a| arms.get(*a as usize));
                    match arm {
                        Some(arm) => self.eval(frame, *arm),
                        None => Ev::internal(),
                    }
                }
                Ev::Val(_) => Ev::internal(),
                und @ Ev::Und(_) => und,
            },
            Expr::Agg {
                kind,
                var,
                list,
                n,
                filter,
                body,
            } => {
                let parts = (*kind, *var, *list, *n, *filter, *body);
                self.agg(frame, id, parts)
            }
        }
    }

    /// Evaluates every expression; the values, or the union of what is
    /// missing.
    fn strict(&self, frame: &mut Frame<'h>, ids: &[ExprId]) -> Result<Vec<V<'h>>, Missing> {
        let mut values = Vec::with_capacity(ids.len());
        let mut missing = Missing::new();
        for id in ids {
            match self.eval(frame, *id) {
                Ev::Val(v) => values.push(v),
                Ev::Und(m) => missing.extend(m),
            }
        }
        if missing.is_empty() {
            Ok(values)
        } else {
            Err(missing)
        }
    }

    /// A number of the expression's type, or overflow.
    fn number(&self, id: ExprId, n: Option<i64>) -> Ev<'h> {
        match n {
            Some(n) => Ev::Val(number_of_type(self.program, id, n)),
            None => Ev::und(reason::OVERFLOW),
        }
    }

    pub fn field(&self, rec: &Rec<'h>, field: u32) -> Ev<'h> {
        let def = self
            .program
            .schema
            .records
            .get(rec.id.index())
            .and_then(|r| r.fields.get(field as usize));
        let Some(def) = def else {
            return Ev::internal();
        };
        let path = join(&rec.path, &def.name);
        match rec.record.field(field) {
            Some(value) => Ev::Val(from_value(value, &def.ty, &path)),
            None => Ev::Und(Missing::from([path])),
        }
    }

    fn project(&self, frame: &mut Frame<'h>, base: ExprId, field: u32, flatten: bool) -> Ev<'h> {
        let items = match self.eval(frame, base) {
            Ev::Val(V::List(items)) => items,
            Ev::Val(_) => return Ev::internal(),
            und @ Ev::Und(_) => return und,
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let V::Rec(rec) = item else {
                return Ev::internal();
            };
            match self.field(rec, field) {
                Ev::Val(V::List(inner)) if flatten => out.extend(inner.iter().cloned()),
                Ev::Val(_) if flatten => return Ev::internal(),
                Ev::Val(v) => out.push(v),
                Ev::Und(_) => {}
            }
        }
        Ev::Val(out.into())
    }

    fn call(&self, frame: &mut Frame<'h>, def: usize, args: &[ExprId]) -> Ev<'h> {
        let Some(def) = self.program.defs.get(def) else {
            return Ev::internal();
        };
        if def.params.len() != args.len() || self.depth.get() >= MAX_CALL_DEPTH {
            return Ev::internal();
        }
        let mut callee: Frame<'h> = vec![None; def.frame_size as usize];
        for (i, arg) in args.iter().enumerate() {
            let value = self.eval(frame, *arg);
            bind(&mut callee, LocalId(i as u32), value);
        }
        self.depth.set(self.depth.get() + 1);
        let result = self.eval(&mut callee, def.body);
        self.depth.set(self.depth.get().saturating_sub(1));
        result
    }

    fn arith(&self, id: ExprId, op: ArithOp, a: i64, b: i64) -> Ev<'h> {
        let n = match op {
            ArithOp::Add => a.checked_add(b),
            ArithOp::Sub => a.checked_sub(b),
            ArithOp::Mul => a.checked_mul(b),
            ArithOp::Div if b == 0 => return Ev::und(reason::DIVISION_BY_ZERO),
            ArithOp::Div => a.checked_div(b),
            ArithOp::Rem if b == 0 => return Ev::und(reason::DIVISION_BY_ZERO),
            // `i64::MIN % -1` is 0, as in mathematics and in wasm's `rem_s`.
            ArithOp::Rem => Some(a.wrapping_rem(b)),
        };
        self.number(id, n)
    }

    fn builtin(&self, id: ExprId, op: Builtin, args: &[V<'h>]) -> Ev<'h> {
        let int = |n: i64| Ev::Val(V::Int(n));
        match (op, args) {
            (Builtin::Len, [V::Text(s)]) => int(s.chars().count() as i64),
            (Builtin::IsDigits, [V::Text(s)]) => {
                Ev::bool(!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            }
            (Builtin::Slice, [V::Text(s), V::Int(from), V::Int(to)]) => {
                let text: String = (1_i64..)
                    .zip(s.chars())
                    .filter(|(pos, _)| from <= pos && pos <= to)
                    .map(|(_, c)| c)
                    .collect();
                Ev::Val(V::Text(Rc::from(text)))
            }
            (Builtin::ToInt, [V::Text(s)]) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                    Ev::und(reason::NOT_A_NUMBER)
                } else {
                    match s.parse::<i64>() {
                        Ok(n) => int(n),
                        Err(_) => Ev::und(reason::OVERFLOW),
                    }
                }
            }
            (Builtin::StartsWith, [V::Text(s), V::Text(prefix)]) => {
                Ev::bool(s.starts_with(prefix.as_ref()))
            }
            (Builtin::Year, [V::Date(d)]) => int(i64::from(d.year())),
            (Builtin::Month, [V::Date(d)]) => int(i64::from(d.month())),
            (Builtin::Day, [V::Date(d)]) => int(i64::from(d.day())),
            (Builtin::IsDate, [V::Int(y), V::Int(m), V::Int(d)]) => {
                Ev::bool(Date::from_ymd(*y, *m, *d).is_some())
            }
            (Builtin::MakeDate, [V::Int(y), V::Int(m), V::Int(d)]) => {
                match Date::from_ymd(*y, *m, *d) {
                    Some(date) => Ev::Val(V::Date(date)),
                    None => Ev::und(reason::NOT_A_DATE),
                }
            }
            (Builtin::YearsBetween, [V::Date(from), V::Date(to)]) => int(from.years_until(*to)),
            (Builtin::Greatest | Builtin::Least, args) => {
                let mut best: Option<i64> = None;
                for arg in args {
                    let Some(n) = arg.number() else {
                        return Ev::internal();
                    };
                    best = Some(match (best, op) {
                        (None, _) => n,
                        (Some(b), Builtin::Greatest) => b.max(n),
                        (Some(b), _) => b.min(n),
                    });
                }
                match best {
                    Some(n) => self.number(id, Some(n)),
                    None => Ev::und(reason::NO_ELEMENTS),
                }
            }
            _ => Ev::internal(),
        }
    }

    fn agg(
        &self,
        frame: &mut Frame<'h>,
        id: ExprId,
        (kind, var, list, n, filter, body): AggParts,
    ) -> Ev<'h> {
        match kind {
            AggKind::Any | AggKind::All => self.any_all(frame, kind, var, list, filter, body),
            AggKind::Count | AggKind::Filter => {
                let items = match self.list(frame, list, None) {
                    Ok((items, _)) => items,
                    Err(m) => return Ev::Und(m),
                };
                let mut passed = Vec::new();
                let mut missing = Missing::new();
                for element in items.iter() {
                    match self.filter(frame, var, element, filter) {
                        Tri::T => passed.push(element.clone()),
                        Tri::F => {}
                        Tri::U(m) => missing.extend(m),
                    }
                }
                if !missing.is_empty() {
                    Ev::Und(missing)
                } else if kind == AggKind::Count {
                    Ev::Val(V::Int(passed.len() as i64))
                } else {
                    Ev::Val(passed.into())
                }
            }
            AggKind::Sum | AggKind::Min | AggKind::Max | AggKind::SumTop => {
                self.breakdown(frame, id, (kind, var, list, n, filter, body))
                    .result
            }
        }
    }

    /// Evaluates the list (and `n`) of an aggregate.
    fn list(
        &self,
        frame: &mut Frame<'h>,
        list: ExprId,
        n: Option<ExprId>,
    ) -> Result<(Rc<[V<'h>]>, Option<i64>), Missing> {
        let list = self.eval(frame, list);
        let n = n.map(|n| self.eval(frame, n));
        let mut missing = Missing::new();
        union(&mut missing, &list);
        if let Some(n) = &n {
            union(&mut missing, n);
        }
        if !missing.is_empty() {
            return Err(missing);
        }
        let n = match n {
            None => None,
            Some(Ev::Val(v)) => match v.number() {
                Some(n) => Some(n),
                None => return Err(Missing::from([reason::INTERNAL.to_string()])),
            },
            Some(Ev::Und(m)) => return Err(m),
        };
        match list {
            Ev::Val(V::List(items)) => Ok((items, n)),
            Ev::Val(_) => Err(Missing::from([reason::INTERNAL.to_string()])),
            Ev::Und(m) => Err(m),
        }
    }

    /// Binds the variable to an element and evaluates the filter.
    pub fn filter(
        &self,
        frame: &mut Frame<'h>,
        var: LocalId,
        element: &V<'h>,
        filter: Option<ExprId>,
    ) -> Tri {
        bind(frame, var, Ev::Val(element.clone()));
        match filter {
            Some(f) => Tri::of(self.eval(frame, f)),
            None => Tri::T,
        }
    }

    fn any_all(
        &self,
        frame: &mut Frame<'h>,
        kind: AggKind,
        var: LocalId,
        list: ExprId,
        filter: Option<ExprId>,
        body: Option<ExprId>,
    ) -> Ev<'h> {
        let items = match self.list(frame, list, None) {
            Ok((items, _)) => items,
            Err(m) => return Ev::Und(m),
        };
        let any = kind == AggKind::Any;
        let mut acc = if any { Tri::F } else { Tri::T };
        for element in items.iter() {
            let f = self.filter(frame, var, element, filter);
            let this = match (f, any) {
                (Tri::F, true) => Tri::F,
                (Tri::F, false) => Tri::T,
                (f, _) => {
                    let b = match body {
                        Some(b) => Tri::of(self.eval(frame, b)),
                        None => Tri::T,
                    };
                    if any { f.and(b) } else { f.not().or(b) }
                }
            };
            acc = if any { acc.or(this) } else { acc.and(this) };
            // The rest cannot change a decided result.
            if matches!((&acc, any), (Tri::T, true) | (Tri::F, false)) {
                break;
            }
        }
        acc.ev()
    }

    /// A numeric aggregate (`sum`, `min`, `max`, `sum_top`) with the
    /// elements that passed its filter and which of them counted.
    pub fn breakdown(&self, frame: &mut Frame<'h>, id: ExprId, parts: AggParts) -> Breakdown<'h> {
        let (kind, var, list, n, filter, body) = parts;
        let fail = |m: Missing| Breakdown {
            result: Ev::Und(m),
            items: Vec::new(),
            counted: Vec::new(),
        };
        let (elements, n) = match self.list(frame, list, n) {
            Ok(x) => x,
            Err(m) => return fail(m),
        };
        let mut items = Vec::new();
        let mut missing = Missing::new();
        for (index, element) in elements.iter().enumerate() {
            match self.filter(frame, var, element, filter) {
                Tri::T => {}
                Tri::F => continue,
                Tri::U(m) => {
                    missing.extend(m);
                    continue;
                }
            }
            let value = match body {
                Some(b) => self.eval(frame, b),
                None => Ev::Val(element.clone()),
            };
            union(&mut missing, &value);
            items.push(AggItem {
                index,
                element: element.clone(),
                value,
            });
        }
        let mut counted = vec![false; items.len()];
        if !missing.is_empty() {
            return Breakdown {
                result: Ev::Und(missing),
                items,
                counted,
            };
        }
        let mut values = Vec::with_capacity(items.len());
        for item in &items {
            match &item.value {
                Ev::Val(v) => match v.number() {
                    Some(n) => values.push(n),
                    None => return fail(Missing::from([reason::INTERNAL.to_string()])),
                },
                Ev::Und(m) => return fail(m.clone()),
            }
        }
        let chosen = select(kind, &values, n);
        let mut total: Option<i64> = Some(0);
        for &i in &chosen {
            if let Some(slot) = counted.get_mut(i) {
                *slot = true;
            }
            total = total.and_then(|t| values.get(i).and_then(|v| t.checked_add(*v)));
        }
        let result = match kind {
            AggKind::Min | AggKind::Max if chosen.is_empty() => Ev::und(reason::NO_ELEMENTS),
            _ => self.number(id, total),
        };
        if let Ev::Und(_) = result {
            counted.iter_mut().for_each(|c| *c = false);
        }
        Breakdown {
            result,
            items,
            counted,
        }
    }
}

/// `(kind, var, list, n, filter, body)` of an aggregate.
pub type AggParts = (
    AggKind,
    LocalId,
    ExprId,
    Option<ExprId>,
    Option<ExprId>,
    Option<ExprId>,
);

/// Which values a numeric aggregate takes, by position: `sum` all of them;
/// `sum_top(n)` the `n` largest, the earlier of equal values first (none
/// when `n <= 0`); `max`/`min` the first largest/smallest.
pub fn select(kind: AggKind, values: &[i64], n: Option<i64>) -> Vec<usize> {
    match kind {
        AggKind::SumTop => {
            let mut order: Vec<usize> = (0..values.len()).collect();
            // A stable sort keeps element order among equal values.
            order.sort_by_key(|&i| std::cmp::Reverse(values.get(i).copied().unwrap_or(0)));
            let take = usize::try_from(n.unwrap_or(0).max(0)).unwrap_or(usize::MAX);
            order.truncate(take);
            order.sort_unstable();
            order
        }
        AggKind::Max | AggKind::Min => {
            let mut best: Option<(usize, i64)> = None;
            for (i, &v) in values.iter().enumerate() {
                let better = match best {
                    None => true,
                    Some((_, b)) if kind == AggKind::Max => v > b,
                    Some((_, b)) => v < b,
                };
                if better {
                    best = Some((i, v));
                }
            }
            best.map(|(i, _)| vec![i]).unwrap_or_default()
        }
        _ => (0..values.len()).collect(),
    }
}

fn compare<'h>(op: CmpOp, a: &V<'h>, b: &V<'h>) -> Ev<'h> {
    let result = match op {
        CmpOp::Eq => a.same(b),
        CmpOp::Ne => a.same(b).map(|eq| !eq),
        CmpOp::Lt => a.order(b).map(|o| o.is_lt()),
        CmpOp::Le => a.order(b).map(|o| o.is_le()),
        CmpOp::Gt => a.order(b).map(|o| o.is_gt()),
        CmpOp::Ge => a.order(b).map(|o| o.is_ge()),
    };
    match result {
        Some(b) => Ev::bool(b),
        None => Ev::internal(),
    }
}
