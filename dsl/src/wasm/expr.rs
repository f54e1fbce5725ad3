//! Expressions: one arm per IR node, each leaving its value in a fresh
//! pair of locals ([`Val`]). Strict operators evaluate every operand and
//! union their missing sets, as the interpreter does; Kleene operators
//! stop early exactly where it does.

use wasm_encoder::{Instruction as I, ValType};

use super::codegen::{ArgKey, CallKey, Fx, Gen, TableAt, present_bit};
use super::func::{Func, Val, mem};
use super::layout::{PARAM_SLOT, node, reason};
use super::runtime::{
    G_AS_OF, G_PARAMS, HIGH_BITS, IS_DATE, IS_DIGITS, KAND, KOR, LEN, MUL, NODE, SLICE,
    STARTS_WITH, TABLE, TABLE_KEYS, TEXT_CMP, TEXT_EQ, TO_INT, UNION, is_digit,
};
use crate::ir::{ArithOp, Builtin, CmpOp, Expr, ExprId, Lit, RecordId, Type};

/// The missing set of a value read by [`Gen::presence`] that is missing:
/// not a set (no node is at this address), only ever tested against 0.
const ANY_MISSING: i32 = -1;

impl Gen<'_> {
    /// Pushes a new missing-set node with a reason code.
    pub fn push_reason(x: &mut Fx, code: u32) {
        x.f.all([
            I::I32Const(node::REASON as i32),
            I::I32Const(code as i32),
            I::I32Const(0),
            I::Call(NODE),
        ]);
    }

    /// `dst` = undetermined for a reason.
    pub fn set_reason(x: &mut Fx, dst: Val, code: u32) {
        Self::push_reason(x, code);
        x.f.set_missing_from_stack(dst);
    }

    /// `acc = acc ∪ m`, with no call when `m` is empty (a present value:
    /// the common case, and a call costs the fuel counter's save and
    /// reload around it).
    pub fn union_into(x: &mut Fx, acc: u32, m: u32) {
        x.f.get(m);
        x.f.if_();
        x.f.all([
            I::LocalGet(acc),
            I::LocalGet(m),
            I::Call(UNION),
            I::LocalSet(acc),
        ]);
        x.f.end();
    }

    /// Evaluates every operand; their values and the union of their
    /// missing sets (an `i32` local).
    pub fn strict(&mut self, x: &mut Fx, ids: &[ExprId]) -> (Vec<Val>, u32) {
        let acc = x.f.i32();
        let mut vals = Vec::with_capacity(ids.len());
        for (k, id) in ids.iter().enumerate() {
            let v = self.expr(x, *id);
            if k == 0 {
                // `union(∅, m) = m`, said as a copy so that `simplify`
                // sees a set that is always empty when `m` is.
                x.f.all([I::LocalGet(v.m), I::LocalSet(acc)]);
            } else {
                Self::union_into(x, acc, v.m);
            }
            vals.push(v);
        }
        if ids.is_empty() {
            x.f.all([I::I32Const(0), I::LocalSet(acc)]);
        }
        (vals, acc)
    }

    /// Opens `if acc == 0` after setting `dst` undetermined with `acc`
    /// otherwise; the caller computes the present case and closes with
    /// `end`.
    fn when_present(x: &mut Fx, dst: Val, acc: u32) {
        x.f.get(acc);
        x.f.if_();
        x.f.get(acc);
        x.f.set_missing_from_stack(dst);
        x.f.else_();
        x.f.all([I::I32Const(0), I::LocalSet(dst.m)]);
    }

    fn ty(&self, id: ExprId) -> Option<&Type> {
        self.p.ty(id)
    }

    pub fn expr(&mut self, x: &mut Fx, id: ExprId) -> Val {
        let dst = x.f.val();
        let Some(expr) = self.p.expr(id) else {
            Self::set_reason(x, dst, reason::INTERNAL);
            return dst;
        };
        match expr {
            Expr::Lit(lit) => {
                let n = self.lit(lit);
                x.f.set_const(dst, n);
            }
            Expr::List(items) => {
                let (vals, acc) = self.strict(x, items);
                Self::when_present(x, dst, acc);
                self.array(x, dst, &vals);
                x.f.end();
            }
            Expr::Local(local) => {
                let src = x.local(*local);
                x.f.copy(dst, src);
            }
            Expr::AsOf => {
                x.f.all([I::GlobalGet(G_AS_OF), I::LocalSet(dst.v)]);
                x.f.all([I::I32Const(0), I::LocalSet(dst.m)]);
            }
            Expr::Param(p) => self.param(x, dst, p.index() as u32),
            Expr::Field { base, field } => {
                let b = self.expr(x, *base);
                match self.ty(*base).cloned() {
                    Some(Type::Record(rid)) => {
                        x.f.get(b.m);
                        x.f.if_();
                        x.f.copy(dst, b);
                        x.f.else_();
                        self.read_field(x, dst, b.v, rid, *field);
                        x.f.end();
                    }
                    _ => Self::set_reason(x, dst, reason::INTERNAL),
                }
            }
            Expr::Project {
                base,
                field,
                flatten,
            } => {
                let (base, field, flatten) = (*base, *field, *flatten);
                self.project(x, dst, base, field, flatten);
            }
            Expr::Call { def, args } => {
                let (def, args) = (def.0, args.clone());
                self.call(x, dst, def, &args);
            }
            Expr::Builtin { op, args } => {
                let (op, args) = (*op, args.clone());
                let (vals, acc) = self.strict(x, &args);
                Self::when_present(x, dst, acc);
                self.builtin(x, dst, id, op, &vals);
                x.f.end();
            }
            Expr::Not(e) => {
                let v = self.expr(x, *e);
                x.f.copy(dst, v);
                x.f.get(v.m);
                x.f.e(I::I32Eqz);
                x.f.if_();
                x.f.all([
                    I::LocalGet(v.v),
                    I::I64Const(1),
                    I::I64Xor,
                    I::LocalSet(dst.v),
                ]);
                x.f.end();
            }
            Expr::Neg(e) => {
                let v = self.expr(x, *e);
                x.f.copy(dst, v);
                x.f.all([I::LocalGet(v.m), I::I32Eqz]);
                x.f.if_();
                x.f.all([I::LocalGet(v.v), I::I64Const(i64::MIN), I::I64Eq]);
                x.f.if_();
                Self::set_reason(x, dst, reason::OVERFLOW);
                x.f.else_();
                x.f.all([
                    I::I64Const(0),
                    I::LocalGet(v.v),
                    I::I64Sub,
                    I::LocalSet(dst.v),
                ]);
                x.f.end();
                x.f.end();
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                let is_and = matches!(expr, Expr::And(..));
                let (a, b) = (*a, *b);
                // `false and _` is false, `true or _` is true: `b` is not
                // evaluated, so its missing data is not reported.
                let absorbing = if is_and { 0 } else { 1 };
                let va = self.expr(x, a);
                x.f.all([
                    I::LocalGet(va.m),
                    I::I32Eqz,
                    I::LocalGet(va.v),
                    I::I64Const(absorbing),
                    I::I64Eq,
                    I::I32And,
                ]);
                x.f.if_();
                x.f.set_const(dst, absorbing);
                x.f.else_();
                let vb = self.expr(x, b);
                // A present `a` that did not absorb is neutral: the result
                // is `b`, as the Kleene helper would say after its tests.
                // Said inline so that a present `a` known at compile time
                // (see `simplify`) costs no call.
                x.f.all([I::LocalGet(va.m), I::I32Eqz]);
                x.f.if_();
                x.f.copy(dst, vb);
                x.f.else_();
                x.f.all([
                    I::LocalGet(va.v),
                    I::LocalGet(va.m),
                    I::LocalGet(vb.v),
                    I::LocalGet(vb.m),
                    I::Call(if is_and { KAND } else { KOR }),
                    I::LocalSet(dst.m),
                    I::LocalSet(dst.v),
                ]);
                x.f.end();
                x.f.end();
            }
            Expr::Arith { op, lhs, rhs } => {
                let op = *op;
                let (vals, acc) = self.strict(x, &[*lhs, *rhs]);
                Self::when_present(x, dst, acc);
                if let [a, b] = vals.as_slice() {
                    Self::arith(x, dst, op, *a, *b);
                }
                x.f.end();
            }
            Expr::Compare { op, lhs, rhs } => {
                let (op, lhs, rhs) = (*op, *lhs, *rhs);
                let text = matches!(self.ty(lhs), Some(Type::Text));
                let (vals, acc) = match self.len_against_zero(lhs, rhs) {
                    Some((t, len_left)) => self.nonempty_and_zero(x, t, len_left),
                    None => self.strict(x, &[lhs, rhs]),
                };
                Self::when_present(x, dst, acc);
                if let [a, b] = vals.as_slice() {
                    Self::compare(x, op, text, *a, *b);
                    x.f.all([I::I64ExtendI32U, I::LocalSet(dst.v)]);
                }
                x.f.end();
            }
            Expr::InList {
                value,
                list,
                negated,
            } => {
                let negated = *negated;
                let text = matches!(self.ty(*value), Some(Type::Text));
                if let Some(items) = self.literal_items(*list) {
                    // `x in [a, b]` on literals: `x == a or x == b`, with
                    // no list built in the arena and no loop.
                    let v = self.expr(x, *value);
                    Self::when_present(x, dst, v.m);
                    self.in_literals(x, dst, text, v, &items);
                } else {
                    let (vals, acc) = self.strict(x, &[*value, *list]);
                    Self::when_present(x, dst, acc);
                    if let [v, l] = vals.as_slice() {
                        self.in_list(x, dst, text, *v, *l);
                    }
                }
                if negated {
                    x.f.all([
                        I::LocalGet(dst.v),
                        I::I64Const(1),
                        I::I64Xor,
                        I::LocalSet(dst.v),
                    ]);
                }
                x.f.end();
            }
            Expr::InRange {
                value,
                lo,
                hi,
                negated,
            } => {
                let negated = *negated;
                let text = matches!(self.ty(*value), Some(Type::Text));
                let (vals, acc) = self.strict(x, &[*value, *lo, *hi]);
                Self::when_present(x, dst, acc);
                if let [v, lo, hi] = vals.as_slice() {
                    Self::compare(x, CmpOp::Le, text, *lo, *v);
                    Self::compare(x, CmpOp::Le, text, *v, *hi);
                    x.f.e(I::I32And);
                    if negated {
                        x.f.e(I::I32Eqz);
                    }
                    x.f.all([I::I64ExtendI32U, I::LocalSet(dst.v)]);
                }
                x.f.end();
            }
            Expr::InTable {
                value,
                table,
                negated,
            } => {
                let negated = *negated;
                let t = self.tables.get(table.index()).copied();
                let v = self.expr(x, *value);
                match t {
                    Some(at) => {
                        Self::when_present(x, dst, v.m);
                        x.f.get(v.v);
                        match at {
                            TableAt::Keys { slots, mask } => x.f.all([
                                I::I32Const(slots),
                                I::I32Const(mask),
                                I::Call(TABLE_KEYS),
                            ]),
                            TableAt::Texts { codes, slots, mask } => x.f.all([
                                I::I32Const(codes),
                                I::I32Const(slots),
                                I::I32Const(mask),
                                I::Call(TABLE),
                            ]),
                        }
                        if negated {
                            x.f.e(I::I32Eqz);
                        }
                        x.f.all([I::I64ExtendI32U, I::LocalSet(dst.v)]);
                        x.f.end();
                    }
                    None => {
                        x.f.copy(dst, v);
                        x.f.all([I::LocalGet(v.m), I::I32Eqz]);
                        x.f.if_();
                        Self::set_reason(x, dst, reason::INTERNAL);
                        x.f.end();
                    }
                }
            }
            Expr::Coalesce { value, default } => {
                let default = *default;
                let v = self.presence(x, *value);
                x.f.get(v.m);
                x.f.if_();
                let d = self.expr(x, default);
                x.f.copy(dst, d);
                x.f.else_();
                x.f.copy(dst, v);
                x.f.end();
            }
            Expr::Present(e) => {
                let v = self.presence(x, *e);
                x.f.all([
                    I::LocalGet(v.m),
                    I::I32Eqz,
                    I::I64ExtendI32U,
                    I::LocalSet(dst.v),
                    I::I32Const(0),
                    I::LocalSet(dst.m),
                ]);
            }
            Expr::If { arms, else_ } => {
                // One block for the whole ladder, each arm leaving it when
                // its condition is undetermined or true: the nesting of the
                // module does not grow with the number of arms.
                let (arms, else_) = (arms.clone(), *else_);
                x.f.block();
                for (cond, then) in arms {
                    let c = self.expr(x, cond);
                    x.f.get(c.m);
                    x.f.if_();
                    x.f.get(c.m);
                    x.f.set_missing_from_stack(dst);
                    x.f.e(I::Br(1));
                    x.f.end();
                    x.f.all([I::LocalGet(c.v), I::I32WrapI64]);
                    x.f.if_();
                    let t = self.expr(x, then);
                    x.f.copy(dst, t);
                    x.f.e(I::Br(1));
                    x.f.end();
                }
                let e = self.expr(x, else_);
                x.f.copy(dst, e);
                x.f.end();
            }
            Expr::Match {
                scrutinee,
                by_variant,
                arms,
            } => {
                let (by_variant, arms) = (by_variant.clone(), arms.clone());
                let s = self.expr(x, *scrutinee);
                Self::when_present(x, dst, s.m);
                Self::set_reason(x, dst, reason::INTERNAL);
                for (a, arm) in arms.iter().enumerate() {
                    let variants: Vec<usize> = by_variant
                        .iter()
                        .enumerate()
                        .filter(|(_, to)| **to as usize == a)
                        .map(|(v, _)| v)
                        .collect();
                    x.f.e(I::I32Const(0));
                    for v in variants {
                        x.f.all([I::LocalGet(s.v), I::I64Const(v as i64), I::I64Eq, I::I32Or]);
                    }
                    x.f.if_();
                    let r = self.expr(x, *arm);
                    x.f.copy(dst, r);
                    x.f.end();
                }
                x.f.end();
            }
            Expr::Agg {
                kind,
                var,
                list,
                n,
                filter,
                body,
            } => {
                let parts = (*kind, *var, *list, *n, *filter, *body);
                self.agg(x, dst, id, parts);
            }
        }
        dst
    }

    /// The text of `len(text)` compared with the literal 0, and whether
    /// `len` is on the left.
    fn len_against_zero(&self, lhs: ExprId, rhs: ExprId) -> Option<(ExprId, bool)> {
        let len_of = |id: ExprId| match self.p.expr(id)? {
            Expr::Builtin {
                op: Builtin::Len,
                args,
            } => match args.as_slice() {
                [t] => Some(*t),
                _ => None,
            },
            _ => None,
        };
        let zero = |id: ExprId| matches!(self.p.expr(id), Some(Expr::Lit(Lit::Int(0))));
        match (len_of(lhs), len_of(rhs)) {
            (Some(t), _) if zero(rhs) => Some((t, true)),
            (_, Some(t)) if zero(lhs) => Some((t, false)),
            _ => None,
        }
    }

    /// The operands of `len(t)` compared with 0 (`len` on the left when
    /// `len_left`) and their missing set. A text has characters exactly
    /// when it has bytes, so `min(len(t), 1)`, read off its byte length,
    /// compares with 0 as `len(t)` does, and nothing is counted.
    fn nonempty_and_zero(&mut self, x: &mut Fx, t: ExprId, len_left: bool) -> (Vec<Val>, u32) {
        let v = self.expr(x, t);
        let (some, zero) = (x.f.val(), x.f.val());
        x.f.all([
            I::LocalGet(v.v),
            I::I64Const(32),
            I::I64ShrU,
            I::I64Const(0),
            I::I64Ne,
            I::I64ExtendI32U,
            I::LocalSet(some.v),
        ]);
        x.f.set_const(zero, 0);
        let vals = if len_left {
            vec![some, zero]
        } else {
            vec![zero, some]
        };
        (vals, v.m)
    }

    /// `dst = def(args)`. Definitions are pure: a call whose arguments
    /// cannot change during this function (see [`Fx::stable`]) is
    /// evaluated at most once per call of the function, the first time
    /// control reaches one of its places (`nik_format_ok` asks for
    /// `nik_day(nik)` eight times).
    fn call(&mut self, x: &mut Fx, dst: Val, def: u32, args: &[ExprId]) {
        let key = args
            .iter()
            .map(|a| self.arg_key(x, *a))
            .collect::<Option<Vec<_>>>()
            .map(|args| CallKey { def, args });
        let cached = key.map(|key| *x.calls.entry(key).or_insert_with(|| (x.f.i32(), x.f.val())));
        if let Some((flag, value)) = cached {
            x.f.get(flag);
            x.f.if_();
            x.f.copy(dst, value);
            x.f.else_();
        }
        let mut vals = Vec::new();
        for a in args {
            vals.push(self.expr(x, *a));
        }
        match self.p.defs.get(def as usize) {
            Some(d) if self.inline.get(def as usize) == Some(&true) => {
                // The body in place of the call, in a frame of its own: the
                // parameters are the arguments' values, nothing is stable
                // (this place may run many times per call of the function),
                // and the caller's frame comes back afterwards.
                let frame = std::mem::replace(&mut x.frame, vals.into_iter().map(Some).collect());
                let stable = std::mem::take(&mut x.stable);
                let calls = std::mem::take(&mut x.calls);
                let r = self.expr(x, d.body);
                x.frame = frame;
                x.stable = stable;
                x.calls = calls;
                x.f.copy(dst, r);
            }
            _ => {
                // A shared definition's memo table is looked up here, so a
                // result already there costs no call; on a miss the
                // definition gets the entry to store its result in.
                let table = self.memo.get(def as usize).copied().flatten();
                let entry = match (table, vals.as_slice()) {
                    (Some(table), [arg]) => {
                        let at = x.f.i32();
                        super::trace::memo_probe(&mut x.f, table, (arg.v, arg.m), at);
                        x.f.if_();
                        x.f.all([
                            I::LocalGet(at),
                            I::I64Load(mem(16)),
                            I::LocalSet(dst.v),
                            I::LocalGet(at),
                            I::I32Load(mem(24)),
                            I::LocalSet(dst.m),
                        ]);
                        x.f.else_();
                        Some(at)
                    }
                    _ => None,
                };
                for v in vals {
                    x.f.all([I::LocalGet(v.v), I::LocalGet(v.m)]);
                }
                if let Some(at) = entry {
                    x.f.get(at);
                }
                x.f.all([
                    I::Call(self.def_base + def),
                    I::LocalSet(dst.m),
                    I::LocalSet(dst.v),
                ]);
                if entry.is_some() {
                    x.f.end();
                }
            }
        }
        if let Some((flag, value)) = cached {
            x.f.copy(value, dst);
            x.f.all([I::I32Const(1), I::LocalSet(flag)]);
            x.f.end();
        }
    }

    /// The key of an argument that cannot change during this function.
    fn arg_key(&self, x: &Fx, id: ExprId) -> Option<ArgKey> {
        match self.p.expr(id)? {
            Expr::Local(l) if x.stable.contains(l) => Some(ArgKey::Local(l.0)),
            Expr::Field { base, field } => {
                Some(ArgKey::Field(Box::new(self.arg_key(x, *base)?), *field))
            }
            _ => None,
        }
    }

    fn lit(&mut self, lit: &Lit) -> i64 {
        match lit {
            Lit::Bool(b) => i64::from(*b),
            Lit::Int(n) | Lit::Money(n) => *n,
            Lit::Text(s) => self.text_const(s),
            Lit::Date(d) => i64::from(d.yyyymmdd()),
            Lit::Enum(_, i) => i64::from(*i),
        }
    }

    /// A new array of the values' payloads.
    fn array(&mut self, x: &mut Fx, dst: Val, vals: &[Val]) {
        let arr = x.f.i32();
        x.f.all([
            I::I32Const(8 * vals.len() as i32),
            I::Call(super::runtime::ARENA),
            I::LocalSet(arr),
        ]);
        for (i, v) in vals.iter().enumerate() {
            x.f.all([
                I::LocalGet(arr),
                I::LocalGet(v.v),
                I::I64Store(mem(8 * i as u32)),
            ]);
        }
        x.f.all([
            I::LocalGet(arr),
            I::I64ExtendI32U,
            I::I64Const((vals.len() as i64) << 32),
            I::I64Or,
            I::LocalSet(dst.v),
        ]);
    }

    fn param(&mut self, x: &mut Fx, dst: Val, p: u32) {
        use super::layout::{PARAM_BAD_OVERRIDE, PARAM_VALUE};
        let flag = x.f.i32();
        x.f.all([
            I::GlobalGet(G_PARAMS),
            I::I32Load(mem(p * PARAM_SLOT)),
            I::LocalTee(flag),
            I::I32Const(PARAM_VALUE as i32),
            I::I32Eq,
        ]);
        x.f.if_();
        x.f.all([
            I::GlobalGet(G_PARAMS),
            I::I64Load(mem(p * PARAM_SLOT + 8)),
            I::LocalSet(dst.v),
            I::I32Const(0),
            I::LocalSet(dst.m),
        ]);
        x.f.else_();
        x.f.all([
            I::LocalGet(flag),
            I::I32Const(PARAM_BAD_OVERRIDE as i32),
            I::I32Eq,
        ]);
        x.f.if_();
        Self::set_reason(x, dst, reason::BAD_OVERRIDE);
        x.f.else_();
        x.f.all([
            I::I32Const(node::PARAM as i32),
            I::I32Const(p as i32),
            I::I32Const(0),
            I::Call(NODE),
        ]);
        x.f.set_missing_from_stack(dst);
        x.f.end();
        x.f.end();
    }

    /// `id`'s value where only whether it is missing matters, not which
    /// data (the value of `present(e)`, of `e ?? d`): a chain of fields
    /// missing somewhere has the missing set [`ANY_MISSING`], which is no
    /// set, and nothing is allocated to name the absent field. Anything
    /// else is [`Gen::expr`].
    fn presence(&mut self, x: &mut Fx, id: ExprId) -> Val {
        let Some(&Expr::Field { base, field }) = self.p.expr(id) else {
            return self.expr(x, id);
        };
        let Some(Type::Record(record)) = self.ty(base).cloned() else {
            return self.expr(x, id);
        };
        let Some(offset) = self.field_offset(record, field) else {
            return self.expr(x, id);
        };
        let b = self.presence(x, base);
        let dst = x.f.val();
        x.f.all([I::I32Const(ANY_MISSING), I::LocalSet(dst.m)]);
        x.f.get(b.m);
        x.f.e(I::I32Eqz);
        x.f.if_();
        Self::if_field_present(x, dst, b.v, field, offset);
        x.f.end();
        x.f.end();
        dst
    }

    /// Where `field` is in a block of `record`.
    fn field_offset(&self, record: RecordId, field: u32) -> Option<u32> {
        self.layouts
            .get(record.index())
            .and_then(|l| l.fields.get(field as usize))
            .copied()
    }

    /// Opens `if` on the present bit of `field` of the record in `rec` (an
    /// `i64` local) and reads the field into `dst` there; the caller
    /// closes it.
    fn if_field_present(x: &mut Fx, dst: Val, rec: u32, field: u32, offset: u32) {
        present_bit(&mut x.f, rec, field);
        x.f.if_();
        x.f.lo(rec);
        x.f.all([
            I::I64Load(mem(offset)),
            I::LocalSet(dst.v),
            I::I32Const(0),
            I::LocalSet(dst.m),
        ]);
    }

    /// `dst = rec.field` for a present record (`rec` an `i64` local):
    /// undetermined with the field's path when absent.
    pub fn read_field(&mut self, x: &mut Fx, dst: Val, rec: u32, record: RecordId, field: u32) {
        let Some(offset) = self.field_offset(record, field) else {
            Self::set_reason(x, dst, reason::INTERNAL);
            return;
        };
        Self::if_field_present(x, dst, rec, field, offset);
        x.f.else_();
        x.f.e(I::I32Const(node::FIELD as i32));
        x.f.lo(rec);
        x.f.all([I::I32Load(mem(0)), I::I32Const(field as i32), I::Call(NODE)]);
        x.f.set_missing_from_stack(dst);
        x.f.end();
    }

    fn arith(x: &mut Fx, dst: Val, op: ArithOp, a: Val, b: Val) {
        let r = dst.v;
        let ovf = |x: &mut Fx| {
            x.f.if_();
            Self::set_reason(x, dst, reason::OVERFLOW);
            x.f.end();
        };
        match op {
            ArithOp::Add | ArithOp::Sub => {
                let add = op == ArithOp::Add;
                x.f.all([
                    I::LocalGet(a.v),
                    I::LocalGet(b.v),
                    if add { I::I64Add } else { I::I64Sub },
                    I::LocalSet(r),
                ]);
                // Add overflows when both operands differ in sign from the
                // result; sub when the operands differ in sign and the
                // result differs from `a`.
                if add {
                    x.f.all([
                        I::LocalGet(a.v),
                        I::LocalGet(r),
                        I::I64Xor,
                        I::LocalGet(b.v),
                        I::LocalGet(r),
                        I::I64Xor,
                        I::I64And,
                    ]);
                } else {
                    x.f.all([
                        I::LocalGet(a.v),
                        I::LocalGet(b.v),
                        I::I64Xor,
                        I::LocalGet(a.v),
                        I::LocalGet(r),
                        I::I64Xor,
                        I::I64And,
                    ]);
                }
                x.f.all([I::I64Const(0), I::I64LtS]);
                ovf(x);
            }
            ArithOp::Mul => {
                let ok = x.f.i32();
                x.f.all([
                    I::LocalGet(a.v),
                    I::LocalGet(b.v),
                    I::Call(MUL),
                    I::LocalSet(ok),
                    I::LocalSet(r),
                    I::LocalGet(ok),
                    I::I32Eqz,
                ]);
                ovf(x);
            }
            ArithOp::Div | ArithOp::Rem => {
                x.f.all([I::LocalGet(b.v), I::I64Eqz]);
                x.f.if_();
                Self::set_reason(x, dst, reason::DIVISION_BY_ZERO);
                x.f.else_();
                if op == ArithOp::Div {
                    x.f.all([
                        I::LocalGet(a.v),
                        I::I64Const(i64::MIN),
                        I::I64Eq,
                        I::LocalGet(b.v),
                        I::I64Const(-1),
                        I::I64Eq,
                        I::I32And,
                    ]);
                    x.f.if_();
                    Self::set_reason(x, dst, reason::OVERFLOW);
                    x.f.else_();
                    x.f.all([
                        I::LocalGet(a.v),
                        I::LocalGet(b.v),
                        I::I64DivS,
                        I::LocalSet(r),
                    ]);
                    x.f.end();
                } else {
                    // `rem_s` gives 0 for `MIN % -1`, as the interpreter.
                    x.f.all([
                        I::LocalGet(a.v),
                        I::LocalGet(b.v),
                        I::I64RemS,
                        I::LocalSet(r),
                    ]);
                }
                x.f.end();
            }
        }
    }

    /// Pushes the `i32` truth of `a op b`.
    pub fn compare(x: &mut Fx, op: CmpOp, text: bool, a: Val, b: Val) {
        if text {
            if matches!(op, CmpOp::Eq | CmpOp::Ne) {
                Self::text_eq(x, a.v, b.v);
                if op == CmpOp::Ne {
                    x.f.e(I::I32Eqz);
                }
                return;
            }
            x.f.all([
                I::LocalGet(a.v),
                I::LocalGet(b.v),
                I::Call(TEXT_CMP),
                I::I32Const(0),
            ]);
            x.f.e(match op {
                CmpOp::Lt => I::I32LtS,
                CmpOp::Le => I::I32LeS,
                CmpOp::Gt => I::I32GtS,
                _ => I::I32GeS,
            });
            return;
        }
        x.f.all([I::LocalGet(a.v), I::LocalGet(b.v)]);
        x.f.e(match op {
            CmpOp::Eq => I::I64Eq,
            CmpOp::Ne => I::I64Ne,
            CmpOp::Lt => I::I64LtS,
            CmpOp::Le => I::I64LeS,
            CmpOp::Gt => I::I64GtS,
            CmpOp::Ge => I::I64GeS,
        });
    }

    /// Pushes whether the texts in `i64` locals `a` and `b` are equal. The
    /// common cases are said here, with no call: the same payload (a text
    /// compared with itself), lengths that differ, and 8 to 16 bytes (a
    /// NIK), which two words cover: the first eight bytes and the last
    /// eight, both inside the text. Anything else asks `runtime::text_eq`.
    fn text_eq(x: &mut Fx, a: u32, b: u32) {
        let n = x.f.i32();
        let word = |x: &mut Fx, text: u32, from_end: bool| {
            x.f.lo(text);
            if from_end {
                x.f.all([I::LocalGet(n), I::I32Add, I::I32Const(8), I::I32Sub]);
            }
            x.f.e(I::I64Load(mem(0)));
        };
        x.f.all([I::LocalGet(a), I::LocalGet(b), I::I64Eq]);
        x.f.if_with(ValType::I32);
        x.f.e(I::I32Const(1));
        x.f.else_();
        x.f.hi(a);
        x.f.hi(b);
        x.f.e(I::I32Ne);
        x.f.if_with(ValType::I32);
        x.f.e(I::I32Const(0));
        x.f.else_();
        x.f.hi(a);
        x.f.all([
            I::LocalTee(n),
            I::I32Const(8),
            I::I32Sub,
            I::I32Const(8),
            I::I32LeU,
        ]);
        x.f.if_with(ValType::I32);
        word(x, a, false);
        word(x, b, false);
        x.f.e(I::I64Eq);
        word(x, a, true);
        word(x, b, true);
        x.f.all([I::I64Eq, I::I32And]);
        x.f.else_();
        x.f.all([I::LocalGet(a), I::LocalGet(b), I::Call(TEXT_EQ)]);
        x.f.end();
        x.f.end();
        x.f.end();
    }

    /// The items of `list` when it is a list literal of literals (a list
    /// that can never be undetermined and whose values are known here).
    fn literal_items(&self, list: ExprId) -> Option<Vec<ExprId>> {
        match self.p.expr(list)? {
            Expr::List(items)
                if items
                    .iter()
                    .all(|i| matches!(self.p.expr(*i), Some(Expr::Lit(_)))) =>
            {
                Some(items.clone())
            }
            _ => None,
        }
    }

    /// `dst.v = v == items[0] or v == items[1] ...` (false for none), as
    /// [`Self::in_list`] decides it for a list of those values.
    fn in_literals(&mut self, x: &mut Fx, dst: Val, text: bool, v: Val, items: &[ExprId]) {
        x.f.e(I::I32Const(0));
        for item in items {
            let c = self.expr(x, *item);
            Self::compare(x, CmpOp::Eq, text, v, c);
            x.f.e(I::I32Or);
        }
        x.f.all([I::I64ExtendI32U, I::LocalSet(dst.v)]);
    }

    fn in_list(&mut self, x: &mut Fx, dst: Val, text: bool, v: Val, list: Val) {
        let (i, n) = (x.f.i32(), x.f.i32());
        let item = x.f.val();
        x.f.all([I::I64Const(0), I::LocalSet(dst.v)]);
        x.f.hi(list.v);
        x.f.set(n);
        x.f.loop_start(i, n);
        Self::element(x, list.v, i, item.v);
        Self::compare(x, CmpOp::Eq, text, v, item);
        x.f.all([
            I::I64ExtendI32U,
            I::LocalGet(dst.v),
            I::I64Or,
            I::LocalSet(dst.v),
        ]);
        x.f.loop_end(i);
    }

    /// `out = list[i]` (payloads).
    pub fn element(x: &mut Fx, list: u32, i: u32, out: u32) {
        x.f.lo(list);
        x.f.all([
            I::LocalGet(i),
            I::I32Const(3),
            I::I32Shl,
            I::I32Add,
            I::I64Load(mem(0)),
            I::LocalSet(out),
        ]);
    }

    /// `(from, to)` of a `slice` whose positions are integer literals with
    /// `1 <= from <= to <= 16`.
    fn literal_positions(&self, id: ExprId) -> Option<(i64, i64)> {
        let Some(Expr::Builtin { args, .. }) = self.p.expr(id) else {
            return None;
        };
        let int = |k: usize| match self.p.expr(*args.get(k)?)? {
            Expr::Lit(Lit::Int(n)) => Some(*n),
            _ => None,
        };
        let (from, to) = (int(1)?, int(2)?);
        (1 <= from && from <= to && to <= 16).then_some((from, to))
    }

    fn builtin(&mut self, x: &mut Fx, dst: Val, id: ExprId, op: Builtin, args: &[Val]) {
        let get = |x: &mut Fx, k: usize| {
            if let Some(a) = args.get(k) {
                x.f.get(a.v);
            } else {
                x.f.e(I::I64Const(0));
            }
        };
        let set_bool = |x: &mut Fx| x.f.all([I::I64ExtendI32U, I::LocalSet(dst.v)]);
        match op {
            Builtin::Len => {
                get(x, 0);
                x.f.all([I::Call(LEN), I::LocalSet(dst.v)]);
            }
            Builtin::IsDigits => {
                get(x, 0);
                x.f.e(I::Call(IS_DIGITS));
                set_bool(x);
            }
            Builtin::Slice => {
                // Positions written as literals within the first 16
                // characters (the NIK's fields) of a text whose first 16
                // bytes are ASCII: characters are bytes, and the slice is
                // read off the payload here, with no call.
                let positions = self.literal_positions(id);
                let text = args.first().map(|a| a.v);
                let fast = match (positions, text) {
                    (Some((from, to)), Some(t)) => {
                        x.f.if_both(
                            |f| {
                                f.hi(t);
                                f.all([I::I32Const(16), I::I32GeU]);
                            },
                            |f| {
                                for off in [0, 8] {
                                    f.lo(t);
                                    f.e(I::I64Load(mem(off)));
                                }
                                f.all([I::I64Or, I::I64Const(HIGH_BITS), I::I64And, I::I64Eqz]);
                            },
                        );
                        x.f.all([
                            I::LocalGet(t),
                            I::I64Const(0xFFFF_FFFF),
                            I::I64And,
                            I::I64Const(from - 1),
                            I::I64Add,
                            I::I64Const((to - from + 1) << 32),
                            I::I64Or,
                            I::LocalSet(dst.v),
                        ]);
                        x.f.else_();
                        true
                    }
                    _ => false,
                };
                for k in 0..3 {
                    get(x, k);
                }
                x.f.all([I::Call(SLICE), I::LocalSet(dst.v)]);
                if fast {
                    x.f.end();
                }
            }
            Builtin::ToInt => {
                // Two ASCII digits (a NIK's day, month or year) are read
                // here, with no call: both bytes are the text's own.
                let two_digits = args.first().map(|t| {
                    let (w, b0, b1) = (x.f.i32(), x.f.i32(), x.f.i32());
                    let guard = |f: &mut Func| {
                        f.hi(t.v);
                        f.all([I::I32Const(2), I::I32Eq]);
                    };
                    let test = |f: &mut Func| {
                        f.lo(t.v);
                        f.all([I::I32Load16U(mem(0)), I::LocalTee(w)]);
                        f.all([I::I32Const(0xff), I::I32And, I::LocalSet(b0)]);
                        f.all([I::LocalGet(w), I::I32Const(8), I::I32ShrU, I::LocalSet(b1)]);
                        is_digit(f, b0);
                        is_digit(f, b1);
                        f.e(I::I32And);
                    };
                    x.f.if_both(guard, test);
                    // (b0 - '0') * 10 + (b1 - '0')
                    x.f.all([
                        I::LocalGet(b0),
                        I::I32Const(10),
                        I::I32Mul,
                        I::LocalGet(b1),
                        I::I32Add,
                        I::I32Const(11 * 48),
                        I::I32Sub,
                        I::I64ExtendI32U,
                        I::LocalSet(dst.v),
                        I::I32Const(0),
                        I::LocalSet(dst.m),
                    ]);
                    x.f.else_();
                });
                get(x, 0);
                x.f.all([I::Call(TO_INT), I::LocalSet(dst.m), I::LocalSet(dst.v)]);
                x.f.get(dst.m);
                x.f.if_();
                x.f.all([
                    I::I32Const(node::REASON as i32),
                    I::LocalGet(dst.m),
                    I::I32Const(0),
                    I::Call(NODE),
                    I::LocalSet(dst.m),
                ]);
                x.f.end();
                if two_digits.is_some() {
                    x.f.end();
                }
            }
            Builtin::StartsWith => {
                get(x, 0);
                get(x, 1);
                x.f.e(I::Call(STARTS_WITH));
                set_bool(x);
            }
            Builtin::Year | Builtin::Month | Builtin::Day => {
                get(x, 0);
                match op {
                    Builtin::Year => x.f.all([I::I64Const(10_000), I::I64DivS]),
                    Builtin::Month => {
                        x.f.all([I::I64Const(100), I::I64DivS, I::I64Const(100), I::I64RemS])
                    }
                    _ => x.f.all([I::I64Const(100), I::I64RemS]),
                }
                x.f.set(dst.v);
            }
            Builtin::IsDate | Builtin::MakeDate => {
                for k in 0..3 {
                    get(x, k);
                }
                x.f.e(I::Call(IS_DATE));
                if op == Builtin::IsDate {
                    set_bool(x);
                } else {
                    x.f.if_();
                    get(x, 0);
                    x.f.all([I::I64Const(10_000), I::I64Mul]);
                    get(x, 1);
                    x.f.all([I::I64Const(100), I::I64Mul, I::I64Add]);
                    get(x, 2);
                    x.f.all([I::I64Add, I::LocalSet(dst.v)]);
                    x.f.else_();
                    Self::set_reason(x, dst, reason::NOT_A_DATE);
                    x.f.end();
                }
            }
            Builtin::YearsBetween => {
                // Rounded down like `Date::years_until`. Both dates lie in
                // 0001-01-01..=9999-12-31, so the difference is within
                // ±10^8; shifting it by 10^9 (a multiple of 10^4) makes it
                // positive, where truncating division is floor division.
                get(x, 1);
                get(x, 0);
                x.f.all([
                    I::I64Sub,
                    I::I64Const(1_000_000_000),
                    I::I64Add,
                    I::I64Const(10_000),
                    I::I64DivS,
                    I::I64Const(100_000),
                    I::I64Sub,
                    I::LocalSet(dst.v),
                ]);
            }
            Builtin::Greatest | Builtin::Least => {
                if args.is_empty() {
                    Self::set_reason(x, dst, reason::NO_ELEMENTS);
                    return;
                }
                get(x, 0);
                x.f.set(dst.v);
                for a in args.iter().skip(1) {
                    x.f.all([
                        I::LocalGet(a.v),
                        I::LocalGet(dst.v),
                        I::LocalGet(a.v),
                        I::LocalGet(dst.v),
                        if op == Builtin::Greatest {
                            I::I64GtS
                        } else {
                            I::I64LtS
                        },
                        I::Select,
                        I::LocalSet(dst.v),
                    ]);
                }
            }
        }
        let _ = id;
    }
}
