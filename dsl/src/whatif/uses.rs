//! What the rules compare record fields with, read from the IR: the
//! constants and parameter values a field is compared with, the text
//! literals a list field is searched for, and the ages (completed years
//! since a date field, at `as_of`) the rules test. Candidate changes and
//! candidate dates come from here, so they are the rules' own values.

use std::collections::{BTreeMap, BTreeSet};

use crate::ir::{Builtin, DefId, Expr, ExprId, Lit, Program, RecordId, Ruleset, Type};

/// A field of a record type: the record and the field's index.
pub(crate) type FieldRef = (RecordId, u32);

/// What the rules do with one field.
#[derive(Debug, Default, Clone)]
pub(crate) struct FieldUse {
    /// Numbers it is compared with (`desil in 1..4`: 1 and 4).
    pub numbers: BTreeSet<i64>,
    /// Texts it is compared with (`==`, `in [...]`).
    pub texts: BTreeSet<String>,
    /// For a list of texts: the literals searched in it (`"asn" in flags`).
    pub members: BTreeSet<String>,
    /// A date whose completed years at `as_of` the rules compare.
    pub age: bool,
}

/// Every field the walked expressions read, with its uses, and the ages
/// compared.
#[derive(Debug, Default, Clone)]
pub(crate) struct Uses {
    pub fields: BTreeMap<FieldRef, FieldUse>,
    /// Ages (in completed years) the rules compare a date field's age with.
    pub ages: BTreeSet<i64>,
}

/// Constant values of parameters at the evaluation (by [`crate::ir::ParamId`]):
/// the override or the entry in force.
pub(crate) type ParamValues = Vec<Option<Lit>>;

/// Deep enough for any checked program's definition chains; stops a
/// hand-built cyclic program.
const MAX_DEPTH: u32 = 64;

/// The expressions a ruleset evaluates: its filter, lets, criteria and
/// benefit.
pub(crate) fn ruleset_roots(ruleset: &Ruleset) -> Vec<ExprId> {
    let mut roots: Vec<ExprId> = ruleset.filter.into_iter().collect();
    roots.extend(ruleset.lets.iter().map(|l| l.value));
    for c in &ruleset.criteria {
        roots.push(c.require);
        if let Some(each) = &c.each {
            roots.push(each.list);
            roots.extend(each.filter);
        }
    }
    roots.extend(ruleset.benefit.as_ref().map(|b| b.amount));
    roots
}

/// Walks the expressions (and the definitions they call) collecting uses.
pub(crate) fn collect(program: &Program, roots: &[ExprId], params: &ParamValues) -> Uses {
    let mut walker = Walker {
        program,
        params,
        uses: Uses::default(),
        seen: vec![false; program.exprs.len()],
        defs: BTreeSet::new(),
    };
    let mut stack: Vec<ExprId> = roots.to_vec();
    while let Some(id) = stack.pop() {
        walker.visit(id, &mut stack);
    }
    walker.uses
}

struct Walker<'p> {
    program: &'p Program,
    params: &'p ParamValues,
    uses: Uses,
    seen: Vec<bool>,
    defs: BTreeSet<DefId>,
}

impl Walker<'_> {
    fn visit(&mut self, id: ExprId, stack: &mut Vec<ExprId>) {
        match self.seen.get_mut(id.index()) {
            Some(seen) if !*seen => *seen = true,
            _ => return,
        }
        let Some(expr) = self.program.expr(id) else {
            return;
        };
        match expr {
            Expr::Field { base, field } => {
                if let Some(Type::Record(rid)) = self.program.ty(*base) {
                    self.uses.fields.entry((*rid, *field)).or_default();
                }
            }
            Expr::Project { base, field, .. } => {
                if let Some(Type::List(elem)) = self.program.ty(*base)
                    && let Type::Record(rid) = elem.as_ref()
                {
                    self.uses.fields.entry((*rid, *field)).or_default();
                }
            }
            Expr::Call { def, .. } => {
                if self.defs.insert(*def)
                    && let Some(d) = self.program.defs.get(def.index())
                {
                    stack.push(d.body);
                }
            }
            Expr::Compare { lhs, rhs, .. } => {
                self.compare(*lhs, *rhs);
                self.compare(*rhs, *lhs);
            }
            Expr::InRange { value, lo, hi, .. } => {
                for bound in [*lo, *hi] {
                    self.compare(*value, bound);
                }
                // `age in lo..hi` changes at `hi + 1` too.
                if let (Some(_), Some(hi)) = (years_of(self.program, *value, 0), self.number(*hi)) {
                    self.uses.ages.insert(hi.saturating_add(1));
                }
            }
            Expr::InList {
                value,
                list,
                negated: _,
            } => {
                if let Some(Expr::List(items)) = self.program.expr(*list) {
                    for item in items {
                        self.compare(*value, *item);
                    }
                }
                if let (Some(f), Some(Lit::Text(t))) = (
                    field_of(self.program, *list, 0),
                    self.constant(*value).as_ref(),
                ) {
                    self.uses
                        .fields
                        .entry(f)
                        .or_default()
                        .members
                        .insert(t.clone());
                }
            }
            _ => {}
        }
        children(expr, stack);
    }

    /// `field OP constant`: the constant is a candidate for the field; an
    /// age compared with a constant is an age of interest.
    fn compare(&mut self, side: ExprId, other: ExprId) {
        let Some(constant) = self.constant(other) else {
            return;
        };
        if let Some(f) = years_of(self.program, side, 0) {
            if let Some(n) = lit_number(&constant) {
                self.uses.ages.insert(n);
                self.uses.ages.insert(n.saturating_add(1));
            }
            self.uses.fields.entry(f).or_default().age = true;
            return;
        }
        let Some(f) = field_of(self.program, side, 0) else {
            return;
        };
        let entry = self.uses.fields.entry(f).or_default();
        match constant {
            Lit::Int(n) | Lit::Money(n) => {
                entry.numbers.insert(n);
            }
            Lit::Text(t) => {
                entry.texts.insert(t);
            }
            Lit::Bool(_) | Lit::Date(_) | Lit::Enum(..) => {}
        }
    }

    fn constant(&self, id: ExprId) -> Option<Lit> {
        match self.program.expr(id)? {
            Expr::Lit(lit) => Some(lit.clone()),
            Expr::Param(p) => self.params.get(p.index()).cloned().flatten(),
            Expr::Neg(inner) => match self.constant(*inner)? {
                Lit::Int(n) => n.checked_neg().map(Lit::Int),
                Lit::Money(n) => n.checked_neg().map(Lit::Money),
                _ => None,
            },
            _ => None,
        }
    }

    fn number(&self, id: ExprId) -> Option<i64> {
        self.constant(id).as_ref().and_then(lit_number)
    }
}

fn lit_number(lit: &Lit) -> Option<i64> {
    match lit {
        Lit::Int(n) | Lit::Money(n) => Some(*n),
        _ => None,
    }
}

/// The record field an expression reads, seen through `??` and through
/// definitions whose body reads one (`school_level(m)`).
pub(crate) fn field_of(program: &Program, id: ExprId, depth: u32) -> Option<FieldRef> {
    if depth > MAX_DEPTH {
        return None;
    }
    match program.expr(id)? {
        Expr::Field { base, field } => match program.ty(*base)? {
            Type::Record(rid) => Some((*rid, *field)),
            _ => None,
        },
        Expr::Coalesce { value, .. } => field_of(program, *value, depth + 1),
        Expr::Call { def, .. } => field_of(program, program.defs.get(def.index())?.body, depth + 1),
        _ => None,
    }
}

/// The date field whose completed years at `as_of` an expression is
/// (`years_between(m.birth_date, as_of)`, `age(m)`).
fn years_of(program: &Program, id: ExprId, depth: u32) -> Option<FieldRef> {
    if depth > MAX_DEPTH {
        return None;
    }
    match program.expr(id)? {
        Expr::Builtin {
            op: Builtin::YearsBetween,
            args,
        } => match args.as_slice() {
            [from, to] if matches!(program.expr(*to), Some(Expr::AsOf)) => {
                field_of(program, *from, depth + 1)
            }
            _ => None,
        },
        Expr::Coalesce { value, .. } => years_of(program, *value, depth + 1),
        Expr::Call { def, .. } => years_of(program, program.defs.get(def.index())?.body, depth + 1),
        _ => None,
    }
}

fn children(expr: &Expr, stack: &mut Vec<ExprId>) {
    match expr {
        Expr::Lit(_) | Expr::Local(_) | Expr::AsOf | Expr::Param(_) => {}
        Expr::List(items) => stack.extend(items),
        Expr::Field { base, .. } | Expr::Project { base, .. } => stack.push(*base),
        Expr::Call { args, .. } | Expr::Builtin { args, .. } => stack.extend(args),
        Expr::Not(e) | Expr::Neg(e) | Expr::Present(e) => stack.push(*e),
        Expr::And(a, b) | Expr::Or(a, b) => stack.extend([*a, *b]),
        Expr::Arith { lhs, rhs, .. } | Expr::Compare { lhs, rhs, .. } => stack.extend([*lhs, *rhs]),
        Expr::InList { value, list, .. } => stack.extend([*value, *list]),
        Expr::InRange { value, lo, hi, .. } => stack.extend([*value, *lo, *hi]),
        Expr::InTable { value, .. } => stack.push(*value),
        Expr::Coalesce { value, default } => stack.extend([*value, *default]),
        Expr::If { arms, else_ } => {
            for (c, v) in arms {
                stack.extend([*c, *v]);
            }
            stack.push(*else_);
        }
        Expr::Match {
            scrutinee, arms, ..
        } => {
            stack.push(*scrutinee);
            stack.extend(arms);
        }
        Expr::Agg {
            list,
            n,
            filter,
            body,
            ..
        } => {
            stack.push(*list);
            stack.extend(n.iter().chain(filter).chain(body));
        }
    }
}
