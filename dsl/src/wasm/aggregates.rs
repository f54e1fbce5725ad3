//! Aggregates: `any`/`all` (Kleene, stopping once decided), `count` and
//! `filter`, and the numeric ones (`sum`, `min`, `max`, `sum_top`) through
//! a breakdown that keeps each element that passed the filter, so that a
//! benefit can list them with whether they counted.

use wasm_encoder::Instruction as I;

use super::codegen::{Fx, Gen};
use super::func::{Val, mem};
use super::layout::reason;
use super::runtime::{ARENA, KAND, KOR};
use crate::ast::AggKind;
use crate::ir::{ExprId, LocalId, Type};

/// `(kind, var, list, n, filter, body)` of an aggregate.
pub type AggParts = (
    AggKind,
    LocalId,
    ExprId,
    Option<ExprId>,
    Option<ExprId>,
    Option<ExprId>,
);

/// One breakdown item: `index: i32, record: i32, value: i64, missing: i32,
/// counted: i32`.
pub const ITEM: u32 = 24;

/// The items of a numeric aggregate: an `i32` local with their address and
/// one with their number.
pub struct Items {
    pub at: u32,
    pub count: u32,
}

impl Gen<'_> {
    pub fn agg(&mut self, x: &mut Fx, dst: Val, id: ExprId, parts: AggParts) {
        let (kind, var, list, _, filter, body) = parts;
        match kind {
            AggKind::Any | AggKind::All => {
                self.any_all(x, dst, kind == AggKind::Any, var, list, filter, body);
            }
            AggKind::Count | AggKind::Filter => {
                self.count_filter(x, dst, kind == AggKind::Filter, var, list, filter);
            }
            AggKind::Sum | AggKind::Min | AggKind::Max | AggKind::SumTop => {
                self.breakdown(x, dst, id, parts);
            }
        }
    }

    /// Binds the aggregate's variable to `list[i]`.
    fn bind(x: &mut Fx, var: LocalId, list: u32, i: u32) -> Val {
        let v = x.local(var);
        Self::element(x, list, i, v.v);
        x.f.all([I::I32Const(0), I::LocalSet(v.m)]);
        v
    }

    /// Whether the list's elements are records (their record number is
    /// their address's first word).
    pub fn records(&self, list: ExprId) -> bool {
        matches!(self.p.ty(list), Some(Type::List(e)) if matches!(**e, Type::Record(_)))
    }

    #[expect(clippy::too_many_arguments, reason = "the parts of an aggregate")]
    fn any_all(
        &mut self,
        x: &mut Fx,
        dst: Val,
        any: bool,
        var: LocalId,
        list: ExprId,
        filter: Option<ExprId>,
        body: Option<ExprId>,
    ) {
        let l = self.expr(x, list);
        x.f.get(l.m);
        x.f.if_();
        x.f.copy(dst, l);
        x.f.else_();
        let acc = x.f.val();
        let this = x.f.val();
        let (i, n) = (x.f.i32(), x.f.i32());
        x.f.set_const(acc, if any { 0 } else { 1 });
        x.f.hi(l.v);
        x.f.set(n);
        x.f.loop_start(i, n);
        Self::bind(x, var, l.v, i);
        let f = match filter {
            Some(fe) => self.expr(x, fe),
            None => {
                let t = x.f.val();
                x.f.set_const(t, 1);
                t
            }
        };
        x.f.all([
            I::LocalGet(f.m),
            I::I32Eqz,
            I::LocalGet(f.v),
            I::I64Eqz,
            I::I32And,
        ]);
        x.f.if_();
        x.f.set_const(this, if any { 0 } else { 1 });
        x.f.else_();
        let b = match body {
            Some(be) => self.expr(x, be),
            None => {
                let t = x.f.val();
                x.f.set_const(t, 1);
                t
            }
        };
        if any {
            x.f.all([I::LocalGet(f.v), I::LocalGet(f.m)]);
        } else {
            // `not filter`: the filter is true or undetermined here.
            x.f.all([
                I::LocalGet(f.v),
                I::LocalGet(f.m),
                I::I32Eqz,
                I::I64ExtendI32U,
                I::I64Xor,
                I::LocalGet(f.m),
            ]);
        }
        x.f.all([
            I::LocalGet(b.v),
            I::LocalGet(b.m),
            I::Call(if any { KAND } else { KOR }),
            I::LocalSet(this.m),
            I::LocalSet(this.v),
        ]);
        x.f.end();
        x.f.all([
            I::LocalGet(acc.v),
            I::LocalGet(acc.m),
            I::LocalGet(this.v),
            I::LocalGet(this.m),
            I::Call(if any { KOR } else { KAND }),
            I::LocalSet(acc.m),
            I::LocalSet(acc.v),
        ]);
        // The rest cannot change a decided result.
        x.f.all([
            I::LocalGet(acc.m),
            I::I32Eqz,
            I::LocalGet(acc.v),
            I::I64Const(if any { 1 } else { 0 }),
            I::I64Eq,
            I::I32And,
            I::BrIf(2),
        ]);
        x.f.loop_end(i);
        x.f.copy(dst, acc);
        x.f.end();
    }

    fn count_filter(
        &mut self,
        x: &mut Fx,
        dst: Val,
        is_filter: bool,
        var: LocalId,
        list: ExprId,
        filter: Option<ExprId>,
    ) {
        let l = self.expr(x, list);
        x.f.get(l.m);
        x.f.if_();
        x.f.copy(dst, l);
        x.f.else_();
        let (i, n, out) = (x.f.i32(), x.f.i32(), x.f.i32());
        let (k, mis) = (x.f.zeroed_i32(), x.f.zeroed_i32());
        x.f.hi(l.v);
        x.f.set(n);
        if is_filter {
            x.f.all([
                I::LocalGet(n),
                I::I32Const(3),
                I::I32Shl,
                I::Call(ARENA),
                I::LocalSet(out),
            ]);
        }
        x.f.loop_start(i, n);
        let v = Self::bind(x, var, l.v, i);
        if let Some(fe) = filter {
            let f = self.expr(x, fe);
            x.f.get(f.m);
            x.f.if_();
            Self::union_into(x, mis, f.m);
            x.f.e(I::Br(1));
            x.f.end();
            x.f.all([I::LocalGet(f.v), I::I64Eqz, I::BrIf(0)]);
        }
        if is_filter {
            x.f.all([
                I::LocalGet(out),
                I::LocalGet(k),
                I::I32Const(3),
                I::I32Shl,
                I::I32Add,
                I::LocalGet(v.v),
                I::I64Store(mem(0)),
            ]);
        }
        x.f.all([I::LocalGet(k), I::I32Const(1), I::I32Add, I::LocalSet(k)]);
        x.f.loop_end(i);
        x.f.get(mis);
        x.f.if_();
        x.f.get(mis);
        x.f.set_missing_from_stack(dst);
        x.f.else_();
        x.f.all([I::LocalGet(k), I::I64ExtendI32U]);
        if is_filter {
            x.f.all([
                I::I64Const(32),
                I::I64Shl,
                I::LocalGet(out),
                I::I64ExtendI32U,
                I::I64Or,
            ]);
        }
        x.f.all([I::LocalSet(dst.v), I::I32Const(0), I::LocalSet(dst.m)]);
        x.f.end();
        x.f.end();
    }

    /// A numeric aggregate's value in `dst`, and its items.
    pub fn breakdown(&mut self, x: &mut Fx, dst: Val, _id: ExprId, parts: AggParts) -> Items {
        let (kind, var, list, n, filter, body) = parts;
        let items = Items {
            at: x.f.zeroed_i32(),
            count: x.f.zeroed_i32(),
        };
        let records = self.records(list);
        let l = self.expr(x, list);
        let nv = n.map(|n| self.expr(x, n));
        let acc = x.f.zeroed_i32();
        Self::union_into(x, acc, l.m);
        if let Some(nv) = nv {
            Self::union_into(x, acc, nv.m);
        }
        x.f.get(acc);
        x.f.if_();
        x.f.get(acc);
        x.f.set_missing_from_stack(dst);
        x.f.else_();
        let (i, j, len, item) = (x.f.i32(), x.f.i32(), x.f.i32(), x.f.i32());
        let mis = x.f.zeroed_i32();
        x.f.hi(l.v);
        x.f.set(len);
        x.f.all([
            I::LocalGet(len),
            I::I32Const(ITEM as i32),
            I::I32Mul,
            I::Call(ARENA),
            I::LocalSet(items.at),
        ]);
        x.f.loop_start(i, len);
        let v = Self::bind(x, var, l.v, i);
        if let Some(fe) = filter {
            let f = self.expr(x, fe);
            x.f.get(f.m);
            x.f.if_();
            Self::union_into(x, mis, f.m);
            x.f.e(I::Br(1));
            x.f.end();
            x.f.all([I::LocalGet(f.v), I::I64Eqz, I::BrIf(0)]);
        }
        let b = match body {
            Some(be) => self.expr(x, be),
            None => v,
        };
        Self::union_into(x, mis, b.m);
        Self::item_at(x, &items, items.count, item);
        x.f.all([I::LocalGet(item), I::LocalGet(i), I::I32Store(mem(0))]);
        x.f.e(I::LocalGet(item));
        if records {
            x.f.lo(v.v);
            x.f.e(I::I32Load(mem(0)));
        } else {
            x.f.e(I::I32Const(-1));
        }
        x.f.e(I::I32Store(mem(4)));
        x.f.all([
            I::LocalGet(item),
            I::LocalGet(b.v),
            I::I64Store(mem(8)),
            I::LocalGet(item),
            I::LocalGet(b.m),
            I::I32Store(mem(16)),
            I::LocalGet(item),
            I::I32Const(0),
            I::I32Store(mem(20)),
            I::LocalGet(items.count),
            I::I32Const(1),
            I::I32Add,
            I::LocalSet(items.count),
        ]);
        x.f.loop_end(i);
        x.f.get(mis);
        x.f.if_();
        x.f.get(mis);
        x.f.set_missing_from_stack(dst);
        x.f.else_();
        // Which items count: all for `sum`; for the others, those whose
        // rank (larger, or equal and earlier, values before it) is small
        // enough.
        let (vi, vj, rank) = (x.f.i64(), x.f.i64(), x.f.i64());
        let other = x.f.i32();
        x.f.loop_start(i, items.count);
        Self::item_at(x, &items, i, item);
        x.f.all([I::LocalGet(item), I::I64Load(mem(8)), I::LocalSet(vi)]);
        if kind == AggKind::Sum {
            x.f.all([I::LocalGet(item), I::I32Const(1), I::I32Store(mem(20))]);
        } else {
            x.f.all([I::I64Const(0), I::LocalSet(rank)]);
            x.f.loop_start(j, items.count);
            Self::item_at(x, &items, j, other);
            x.f.all([I::LocalGet(other), I::I64Load(mem(8)), I::LocalSet(vj)]);
            x.f.all([
                I::LocalGet(vj),
                I::LocalGet(vi),
                if kind == AggKind::Min {
                    I::I64LtS
                } else {
                    I::I64GtS
                },
                I::LocalGet(vj),
                I::LocalGet(vi),
                I::I64Eq,
                I::LocalGet(j),
                I::LocalGet(i),
                I::I32LtU,
                I::I32And,
                I::I32Or,
                I::I64ExtendI32U,
                I::LocalGet(rank),
                I::I64Add,
                I::LocalSet(rank),
            ]);
            x.f.loop_end(j);
            x.f.all([I::LocalGet(item), I::LocalGet(rank)]);
            match (kind, nv) {
                (AggKind::SumTop, Some(nv)) => x.f.all([I::LocalGet(nv.v), I::I64LtS]),
                _ => x.f.all([I::I64Eqz]),
            }
            x.f.e(I::I32Store(mem(20)));
        }
        x.f.loop_end(i);
        // The total, in element order, checked.
        let ovf = x.f.zeroed_i32();
        x.f.all([
            I::I64Const(0),
            I::LocalSet(dst.v),
            I::I32Const(0),
            I::LocalSet(dst.m),
        ]);
        x.f.all([I::I32Const(0), I::LocalSet(j)]);
        x.f.loop_start(i, items.count);
        Self::item_at(x, &items, i, item);
        x.f.all([
            I::LocalGet(item),
            I::I32Load(mem(20)),
            I::I32Eqz,
            I::BrIf(0),
        ]);
        x.f.all([
            I::LocalGet(j),
            I::I32Const(1),
            I::I32Add,
            I::LocalSet(j),
            I::LocalGet(item),
            I::I64Load(mem(8)),
            I::LocalTee(vi),
            I::LocalGet(dst.v),
            I::I64Add,
            I::LocalSet(vj),
            I::LocalGet(vi),
            I::LocalGet(vj),
            I::I64Xor,
            I::LocalGet(dst.v),
            I::LocalGet(vj),
            I::I64Xor,
            I::I64And,
            I::I64Const(0),
            I::I64LtS,
            I::LocalGet(ovf),
            I::I32Or,
            I::LocalSet(ovf),
            I::LocalGet(vj),
            I::LocalSet(dst.v),
        ]);
        x.f.loop_end(i);
        x.f.get(ovf);
        x.f.if_();
        Self::set_reason(x, dst, reason::OVERFLOW);
        x.f.end();
        if matches!(kind, AggKind::Min | AggKind::Max) {
            x.f.all([I::LocalGet(j), I::I32Eqz]);
            x.f.if_();
            Self::set_reason(x, dst, reason::NO_ELEMENTS);
            x.f.end();
        }
        // An undetermined total counts nothing.
        x.f.get(dst.m);
        x.f.if_();
        x.f.loop_start(i, items.count);
        Self::item_at(x, &items, i, item);
        x.f.all([I::LocalGet(item), I::I32Const(0), I::I32Store(mem(20))]);
        x.f.loop_end(i);
        x.f.end();
        x.f.end();
        x.f.end();
        items
    }

    /// `base.field` over a list of records: each present field in order,
    /// inner lists concatenated when flattening.
    pub fn project(&mut self, x: &mut Fx, dst: Val, base: ExprId, field: u32, flatten: bool) {
        let rid = match self.p.ty(base) {
            Some(Type::List(e)) => match **e {
                Type::Record(rid) => Some(rid),
                _ => None,
            },
            _ => None,
        };
        let offset = rid
            .and_then(|r| self.layouts.get(r.index()))
            .and_then(|l| l.fields.get(field as usize))
            .copied();
        let b = self.expr(x, base);
        let Some(offset) = offset else {
            Self::set_reason(x, dst, reason::INTERNAL);
            return;
        };
        x.f.get(b.m);
        x.f.if_();
        x.f.copy(dst, b);
        x.f.else_();
        let (i, j, n, m, out) = (x.f.i32(), x.f.i32(), x.f.i32(), x.f.i32(), x.f.i32());
        let total = x.f.zeroed_i32();
        let k = x.f.zeroed_i32();
        let (rec, val, inner) = (x.f.i64(), x.f.i64(), x.f.i64());
        x.f.hi(b.v);
        x.f.set(n);
        for pass in 0..2 {
            x.f.loop_start(i, n);
            Self::element(x, b.v, i, rec);
            super::codegen::present_bit(&mut x.f, rec, field);
            x.f.if_();
            x.f.lo(rec);
            x.f.all([I::I64Load(mem(offset)), I::LocalSet(val)]);
            if pass == 0 {
                if flatten {
                    x.f.hi(val);
                } else {
                    x.f.e(I::I32Const(1));
                }
                x.f.all([I::LocalGet(total), I::I32Add, I::LocalSet(total)]);
            } else if flatten {
                x.f.hi(val);
                x.f.set(m);
                x.f.loop_start(j, m);
                Self::element(x, val, j, inner);
                Self::store_out(x, out, k, inner);
                x.f.loop_end(j);
            } else {
                Self::store_out(x, out, k, val);
            }
            x.f.end();
            x.f.loop_end(i);
            if pass == 0 {
                x.f.all([
                    I::LocalGet(total),
                    I::I32Const(3),
                    I::I32Shl,
                    I::Call(ARENA),
                    I::LocalSet(out),
                ]);
            }
        }
        x.f.all([
            I::LocalGet(out),
            I::I64ExtendI32U,
            I::LocalGet(total),
            I::I64ExtendI32U,
            I::I64Const(32),
            I::I64Shl,
            I::I64Or,
            I::LocalSet(dst.v),
            I::I32Const(0),
            I::LocalSet(dst.m),
        ]);
        x.f.end();
    }

    /// `out[k++] = v`.
    fn store_out(x: &mut Fx, out: u32, k: u32, v: u32) {
        x.f.all([
            I::LocalGet(out),
            I::LocalGet(k),
            I::I32Const(3),
            I::I32Shl,
            I::I32Add,
            I::LocalGet(v),
            I::I64Store(mem(0)),
            I::LocalGet(k),
            I::I32Const(1),
            I::I32Add,
            I::LocalSet(k),
        ]);
    }

    /// `out = items.at + k * ITEM`.
    pub fn item_at(x: &mut Fx, items: &Items, k: u32, out: u32) {
        x.f.all([
            I::LocalGet(items.at),
            I::LocalGet(k),
            I::I32Const(ITEM as i32),
            I::I32Mul,
            I::I32Add,
            I::LocalSet(out),
        ]);
    }
}
