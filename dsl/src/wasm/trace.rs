//! Definitions and rulesets as functions, and the result trace: criteria
//! with their hole values and elements, benefits with their items, and
//! decisions. Hole values are serialised into the arena (text copied,
//! records as record numbers) so the result block stands on its own.

use wasm_encoder::{Function, Instruction as I};

use super::aggregates::{ITEM, Items};
use super::codegen::{Fx, Gen};
use super::func::{Func, Val, mem};
use super::layout::{
    ELIGIBLE, FAILED, MEMO_BITS, MEMO_ENTRY, NOT_ELIGIBLE, PASSED, UNDETERMINED, event,
};
use super::runtime::{ARENA, EVENT, G_EXPLAIN, G_GEN, G_RETURNED, UNION};
use crate::ast::AggKind;
use crate::ir::{
    Criterion, Def, Expr, OnMissing, Program, Ruleset, Severity, Stage, Template, TemplatePart,
    Type,
};

/// Every type a hole value can have that needs a serialiser (text,
/// records, lists), element types included.
pub fn serialised_types(p: &Program) -> Vec<Type> {
    let mut out: Vec<Type> = Vec::new();
    fn add(out: &mut Vec<Type>, ty: &Type) {
        match ty {
            Type::Text | Type::Record(_) => {}
            Type::List(elem) => add(out, elem),
            _ => return,
        }
        if !out.contains(ty) {
            out.push(ty.clone());
        }
    }
    for c in p.rulesets.iter().flat_map(|r| &r.criteria) {
        for part in c.message_id.parts.iter().chain(&c.message_en.parts) {
            if let TemplatePart::Hole { expr, .. } = part
                && let Some(ty) = p.ty(*expr)
            {
                add(&mut out, ty);
            }
        }
    }
    out
}

/// Pushes a call to `event(kind, a, b, c, v)`; each argument is pushed by
/// its closure.
fn emit(x: &mut Fx, kind: u32, args: [&dyn Fn(&mut Fx); 4]) {
    x.f.e(I::I32Const(kind as i32));
    for push in args {
        push(x);
    }
    x.f.e(I::Call(EVENT));
}

fn zero32(x: &mut Fx) {
    x.f.e(I::I32Const(0));
}

fn zero64(x: &mut Fx) {
    x.f.e(I::I64Const(0));
}

impl Gen<'_> {
    /// A serialiser `i64 -> i64`: copies a value into the arena in the
    /// result's form.
    fn ser_call(&self, x: &mut Fx, ty: &Type) {
        if let Some(k) = self.sers.iter().position(|t| t == ty) {
            x.f.e(I::Call(self.ser_base + k as u32));
        }
    }
}

pub fn serialiser(g: &mut Gen<'_>, ty: &Type) -> Function {
    let mut x = Fx::new(1);
    match ty {
        Type::Text => {
            let at = x.f.i32();
            x.f.hi(0);
            x.f.all([I::Call(ARENA), I::LocalTee(at)]);
            x.f.lo(0);
            x.f.hi(0);
            x.f.e(I::MemoryCopy {
                src_mem: 0,
                dst_mem: 0,
            });
            x.f.all([
                I::LocalGet(at),
                I::I64ExtendI32U,
                I::LocalGet(0),
                I::I64Const(-1_i64 << 32),
                I::I64And,
                I::I64Or,
            ]);
        }
        Type::Record(_) => {
            x.f.lo(0);
            x.f.all([I::I32Load(mem(0)), I::I64ExtendI32U]);
        }
        Type::List(elem) => {
            let (at, n, i, e) = (x.f.i32(), x.f.i32(), x.f.i32(), x.f.i64());
            x.f.hi(0);
            x.f.all([
                I::LocalTee(n),
                I::I32Const(3),
                I::I32Shl,
                I::Call(ARENA),
                I::LocalSet(at),
            ]);
            x.f.loop_start(i, n);
            Gen::element(&mut x, 0, i, e);
            x.f.all([
                I::LocalGet(at),
                I::LocalGet(i),
                I::I32Const(3),
                I::I32Shl,
                I::I32Add,
                I::LocalGet(e),
            ]);
            g.ser_call(&mut x, elem);
            x.f.e(I::I64Store(mem(0)));
            x.f.loop_end(i);
            x.f.all([
                I::LocalGet(at),
                I::I64ExtendI32U,
                I::LocalGet(0),
                I::I64Const(-1_i64 << 32),
                I::I64And,
                I::I64Or,
            ]);
        }
        _ => x.f.e(I::LocalGet(0)),
    }
    x.f.finish()
}

/// Leaves on the stack whether the memo `table` holds the result for the
/// argument in locals `(v, m)` (its payload and missing set), and sets
/// `at` to the argument's entry. A Fibonacci hash of the payload and the
/// missing set picks the entry.
pub fn memo_probe(f: &mut Func, table: u32, (v, m): (u32, u32), at: u32) {
    f.all([
        I::LocalGet(v),
        I::LocalGet(m),
        I::I64ExtendI32U,
        I::I64Xor,
        I::I64Const(0x9E37_79B9_7F4A_7C15_u64 as i64),
        I::I64Mul,
        I::I64Const(i64::from(64 - MEMO_BITS)),
        I::I64ShrU,
        I::I32WrapI64,
        I::I32Const(MEMO_ENTRY.trailing_zeros() as i32),
        I::I32Shl,
        I::I32Const(table as i32),
        I::I32Add,
        I::LocalTee(at),
        I::I32Load(mem(0)),
        I::GlobalGet(G_GEN),
        I::I32Eq,
        I::LocalGet(at),
        I::I64Load(mem(8)),
        I::LocalGet(v),
        I::I64Eq,
        I::I32And,
        I::LocalGet(at),
        I::I32Load(mem(4)),
        I::LocalGet(m),
        I::I32Eq,
        I::I32And,
    ]);
}

/// A definition's function. A shared one (`shared`: it has a memo table)
/// takes after its argument the address of the argument's entry, which
/// the call found empty or another's ([`memo_probe`], at the call), and
/// stores its result there: it runs once per argument and household.
pub fn def_function(g: &mut Gen<'_>, def: &Def, shared: bool) -> Function {
    let n = def.params.len() as u32;
    let mut x = Fx::new(2 * n + u32::from(shared));
    for i in 0..n {
        x.frame.push(Some(Val {
            v: 2 * i,
            m: 2 * i + 1,
        }));
        x.stable.push(crate::ir::LocalId(i));
    }
    let r = g.expr(&mut x, def.body);
    if shared {
        let at = 2 * n;
        x.f.all([
            I::LocalGet(at),
            I::GlobalGet(G_GEN),
            I::I32Store(mem(0)),
            I::LocalGet(at),
            I::LocalGet(1),
            I::I32Store(mem(4)),
            I::LocalGet(at),
            I::LocalGet(0),
            I::I64Store(mem(8)),
            I::LocalGet(at),
            I::LocalGet(r.v),
            I::I64Store(mem(16)),
            I::LocalGet(at),
            I::LocalGet(r.m),
            I::I32Store(mem(24)),
        ]);
    }
    x.f.all([I::LocalGet(r.v), I::LocalGet(r.m)]);
    x.f.finish()
}

/// A ruleset's function for one instance (its parameters are the subject
/// chain's records): the instance event, `let`s, filter, criteria, and for
/// determination the benefit and the decision.
pub fn ruleset_function(g: &mut Gen<'_>, k: usize, ruleset: &Ruleset) -> Function {
    let n = ruleset.subject_locals.len() as u32;
    let mut x = Fx::new(n);
    for (i, local) in ruleset.subject_locals.iter().enumerate() {
        let v = x.local(*local);
        x.f.all([
            I::LocalGet(i as u32),
            I::LocalSet(v.v),
            I::I32Const(0),
            I::LocalSet(v.m),
        ]);
        x.stable.push(*local);
    }
    let last = n.saturating_sub(1);
    emit(
        &mut x,
        event::INSTANCE,
        [
            &|x| x.f.e(I::I32Const(k as i32)),
            &|x| {
                if n == 0 {
                    x.f.e(I::I32Const(-1));
                } else {
                    x.f.lo(last);
                    x.f.e(I::I32Load(mem(0)));
                }
            },
            &zero32,
            &zero64,
        ],
    );
    for l in &ruleset.lets {
        let v = g.expr(&mut x, l.value);
        let slot = x.local(l.local);
        x.f.copy(slot, v);
        x.stable.push(l.local);
    }
    let determination = ruleset.stage == Stage::Determination;
    if determination && let Some(filter) = ruleset.filter {
        let f = g.expr(&mut x, filter);
        x.f.get(f.m);
        x.f.if_();
        emit(
            &mut x,
            event::FILTER_UNDETERMINED,
            [&|x| x.f.get(f.m), &zero32, &zero32, &zero64],
        );
        x.f.e(I::Return);
        x.f.end();
        x.f.all([I::LocalGet(f.v), I::I64Eqz]);
        x.f.if_();
        emit(&mut x, event::SKIP, [&zero32, &zero32, &zero32, &zero64]);
        x.f.e(I::Return);
        x.f.end();
    }
    let (any_failed, und_missing, any_und) = (x.f.zeroed_i32(), x.f.zeroed_i32(), x.f.zeroed_i32());
    for (ci, c) in ruleset.criteria.iter().enumerate() {
        let (outcome, missing) = g.criterion(&mut x, ci, c, determination);
        if determination {
            x.f.all([
                I::LocalGet(outcome),
                I::I32Const(FAILED),
                I::I32Eq,
                I::LocalGet(any_failed),
                I::I32Or,
                I::LocalSet(any_failed),
                I::LocalGet(outcome),
                I::I32Const(UNDETERMINED),
                I::I32Eq,
            ]);
            x.f.if_();
            x.f.all([I::I32Const(1), I::LocalSet(any_und)]);
            Gen::union_into(&mut x, und_missing, missing);
            x.f.end();
        } else if c.severity == Severity::Blocking {
            x.f.all([
                I::LocalGet(outcome),
                I::I32Const(PASSED),
                I::I32Ne,
                I::GlobalGet(G_RETURNED),
                I::I32Or,
                I::GlobalSet(G_RETURNED),
            ]);
        }
    }
    if !determination {
        return x.f.finish();
    }
    let benefit = ruleset
        .benefit
        .as_ref()
        .map(|b| g.benefit(&mut x, b.amount));
    // Eligibility: failed criteria first, then undetermined ones, then the
    // benefit.
    let (elig, amount) = (x.f.i32(), x.f.i64());
    let (has_amount, missing) = (x.f.zeroed_i32(), x.f.zeroed_i32());
    x.f.all([I::I32Const(UNDETERMINED), I::LocalSet(elig)]);
    x.f.get(any_failed);
    x.f.if_();
    x.f.all([
        I::I32Const(NOT_ELIGIBLE),
        I::LocalSet(elig),
        I::I32Const(1),
        I::LocalSet(has_amount),
    ]);
    x.f.else_();
    x.f.get(any_und);
    x.f.if_();
    x.f.all([I::LocalGet(und_missing), I::LocalSet(missing)]);
    x.f.else_();
    match benefit {
        None => x.f.all([I::I32Const(ELIGIBLE), I::LocalSet(elig)]),
        Some(b) => {
            x.f.get(b.m);
            x.f.if_();
            x.f.all([I::LocalGet(b.m), I::LocalSet(missing)]);
            x.f.else_();
            x.f.all([
                I::I32Const(ELIGIBLE),
                I::LocalSet(elig),
                I::I32Const(1),
                I::LocalSet(has_amount),
                I::LocalGet(b.v),
                I::LocalSet(amount),
            ]);
            x.f.end();
        }
    }
    x.f.end();
    x.f.end();
    emit(
        &mut x,
        event::DECISION,
        [
            &|x| x.f.get(elig),
            &|x| x.f.get(has_amount),
            &|x| x.f.get(missing),
            &|x| x.f.get(amount),
        ],
    );
    x.f.finish()
}

impl Gen<'_> {
    /// The outcome of a truth value under `on missing`: pushes nothing,
    /// sets `outcome` (an `i32` local).
    fn outcome_of(x: &mut Fx, truth: Val, on_missing: Option<OnMissing>, outcome: u32) {
        let und = match on_missing {
            Some(OnMissing::Fail) => FAILED,
            Some(OnMissing::Pass) => PASSED,
            None => UNDETERMINED,
        };
        x.f.get(truth.m);
        x.f.if_();
        x.f.all([I::I32Const(und), I::LocalSet(outcome)]);
        x.f.else_();
        x.f.all([I::LocalGet(truth.v), I::I64Eqz, I::LocalSet(outcome)]);
        x.f.end();
    }

    /// Every hole of both messages, Indonesian first, as `HOLE` events;
    /// evaluated only when the call explains (`evaluate`, not `decide`).
    fn holes(&mut self, x: &mut Fx, id: &Template, en: &Template) {
        let any = id
            .parts
            .iter()
            .chain(&en.parts)
            .any(|p| matches!(p, TemplatePart::Hole { .. }));
        if !any {
            return;
        }
        x.f.e(I::GlobalGet(G_EXPLAIN));
        x.f.if_();
        self.holes_always(x, id, en);
        x.f.end();
    }

    fn holes_always(&mut self, x: &mut Fx, id: &Template, en: &Template) {
        for part in id.parts.iter().chain(&en.parts) {
            let TemplatePart::Hole { expr, .. } = part else {
                continue;
            };
            let v = self.expr(x, *expr);
            let ty = self.p.ty(*expr).cloned();
            x.f.e(I::I32Const(event::HOLE as i32));
            x.f.get(v.m);
            x.f.all([I::I32Const(0), I::I32Const(0)]);
            x.f.get(v.m);
            x.f.if_with(wasm_encoder::ValType::I64);
            x.f.e(I::I64Const(0));
            x.f.else_();
            x.f.get(v.v);
            if let Some(ty) = &ty {
                self.ser_call(x, ty);
            }
            x.f.end();
            x.f.e(I::Call(EVENT));
        }
    }

    /// One criterion: its events, and its outcome and missing set (`i32`
    /// locals).
    fn criterion(
        &mut self,
        x: &mut Fx,
        ci: usize,
        c: &Criterion,
        explained_only: bool,
    ) -> (u32, u32) {
        let outcome = x.f.i32();
        let (missing, checked) = (x.f.zeroed_i32(), x.f.zeroed_i32());
        match &c.each {
            None => {
                let t = self.expr(x, c.require);
                Self::outcome_of(x, t, c.on_missing, outcome);
                x.f.all([I::LocalGet(t.m), I::LocalSet(missing)]);
                self.holes(x, &c.message_id, &c.message_en);
                x.f.all([I::I32Const(-1), I::LocalSet(checked)]);
            }
            Some(each) => {
                let records = self.records(each.list);
                let l = self.expr(x, each.list);
                x.f.get(l.m);
                x.f.if_();
                Self::outcome_of(x, l, c.on_missing, outcome);
                x.f.all([I::LocalGet(l.m), I::LocalSet(missing)]);
                x.f.else_();
                let (i, n, eo) = (x.f.i32(), x.f.i32(), x.f.i32());
                let (any_failed, any_listed) = (x.f.zeroed_i32(), x.f.zeroed_i32());
                let truth = x.f.val();
                x.f.hi(l.v);
                x.f.set(n);
                x.f.loop_start(i, n);
                let var = x.local(each.var);
                Self::element(x, l.v, i, var.v);
                x.f.all([I::I32Const(0), I::LocalSet(var.m)]);
                match each.filter {
                    Some(fe) => {
                        let f = self.expr(x, fe);
                        x.f.all([
                            I::LocalGet(f.m),
                            I::I32Eqz,
                            I::LocalGet(f.v),
                            I::I64Eqz,
                            I::I32And,
                            I::BrIf(0),
                        ]);
                        x.f.copy(truth, f);
                        x.f.get(f.m);
                        x.f.e(I::I32Eqz);
                        x.f.if_();
                        let r = self.expr(x, c.require);
                        x.f.copy(truth, r);
                        x.f.end();
                    }
                    None => {
                        let r = self.expr(x, c.require);
                        x.f.copy(truth, r);
                    }
                }
                x.f.all([
                    I::LocalGet(checked),
                    I::I32Const(1),
                    I::I32Add,
                    I::LocalSet(checked),
                ]);
                Self::outcome_of(x, truth, c.on_missing, eo);
                Self::union_into(x, missing, truth.m);
                x.f.all([I::LocalGet(eo), I::I32Const(PASSED), I::I32Eq, I::BrIf(0)]);
                x.f.all([
                    I::LocalGet(eo),
                    I::I32Const(FAILED),
                    I::I32Eq,
                    I::LocalGet(any_failed),
                    I::I32Or,
                    I::LocalSet(any_failed),
                    I::I32Const(1),
                    I::LocalSet(any_listed),
                ]);
                // The element's messages and event are the explanation's.
                x.f.e(I::GlobalGet(G_EXPLAIN));
                x.f.if_();
                self.holes_always(x, &c.message_id, &c.message_en);
                emit(
                    x,
                    event::ELEMENT,
                    [
                        &|x| x.f.get(i),
                        &|x| {
                            if records {
                                x.f.lo(var.v);
                                x.f.e(I::I32Load(mem(0)));
                            } else {
                                x.f.e(I::I32Const(-1));
                            }
                        },
                        &|x| x.f.get(eo),
                        &|x| x.f.all([I::LocalGet(truth.m), I::I64ExtendI32U]),
                    ],
                );
                x.f.end();
                x.f.loop_end(i);
                x.f.all([
                    I::I32Const(FAILED),
                    I::I32Const(UNDETERMINED),
                    I::I32Const(PASSED),
                    I::LocalGet(any_listed),
                    I::Select,
                    I::LocalGet(any_failed),
                    I::Select,
                    I::LocalSet(outcome),
                ]);
                x.f.end();
            }
        }
        // A determination criterion is only the explanation's: the summary
        // needs the decision alone.
        if explained_only {
            x.f.e(I::GlobalGet(G_EXPLAIN));
            x.f.if_();
        }
        emit(
            x,
            event::CRITERION,
            [
                &|x| x.f.e(I::I32Const(ci as i32)),
                &|x| x.f.get(outcome),
                &|x| x.f.get(checked),
                &|x| x.f.all([I::LocalGet(missing), I::I64ExtendI32U]),
            ],
        );
        if explained_only {
            x.f.end();
        }
        (outcome, missing)
    }

    /// The benefit's value, with `BENEFIT_ITEM` events for an aggregate
    /// benefit and a `BENEFIT` event.
    fn benefit(&mut self, x: &mut Fx, amount: crate::ir::ExprId) -> Val {
        let agg = match self.p.expr(amount) {
            Some(Expr::Agg {
                kind: kind @ (AggKind::Sum | AggKind::SumTop | AggKind::Max | AggKind::Min),
                var,
                list,
                n,
                filter,
                body,
            }) => Some((*kind, *var, *list, *n, *filter, *body)),
            _ => None,
        };
        let v = match agg {
            Some(parts) => {
                let v = x.f.val();
                let items = self.breakdown(x, v, amount, parts);
                x.f.e(I::GlobalGet(G_EXPLAIN));
                x.f.if_();
                Self::items(x, &items);
                x.f.end();
                v
            }
            None => self.expr(x, amount),
        };
        x.f.e(I::GlobalGet(G_EXPLAIN));
        x.f.if_();
        emit(
            x,
            event::BENEFIT,
            [&|x| x.f.get(v.m), &zero32, &zero32, &|x| x.f.get(v.v)],
        );
        x.f.end();
        v
    }

    fn items(x: &mut Fx, items: &Items) {
        let (i, item) = (x.f.i32(), x.f.i32());
        x.f.loop_start(i, items.count);
        Self::item_at(x, items, i, item);
        let word = |off: u32| move |x: &mut Fx| x.f.all([I::LocalGet(item), I::I32Load(mem(off))]);
        emit(
            x,
            event::BENEFIT_ITEM,
            [
                &word(0),
                &word(4),
                &|x| {
                    // Bit 0: the value is present; bit 1: it counted.
                    x.f.all([
                        I::LocalGet(item),
                        I::I32Load(mem(16)),
                        I::I32Eqz,
                        I::LocalGet(item),
                        I::I32Load(mem(20)),
                        I::I32Const(1),
                        I::I32Shl,
                        I::I32Or,
                    ]);
                },
                &|x| x.f.all([I::LocalGet(item), I::I64Load(mem(8))]),
            ],
        );
        x.f.loop_end(i);
        let _ = ITEM;
        let _ = UNION;
    }
}
