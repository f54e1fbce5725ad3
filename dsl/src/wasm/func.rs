//! A function under construction: its locals and instructions, plus the
//! few instruction idioms every part of the code generator uses.

use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, MemArgTarget, ValType};

/// A value during evaluation, held in two locals: the payload (`i64`) and
/// the missing set (`i32`, 0 when the value is present).
#[derive(Debug, Clone, Copy)]
pub struct Val {
    pub v: u32,
    pub m: u32,
}

pub struct Func {
    params: u32,
    locals: Vec<ValType>,
    pub code: Vec<I<'static>>,
}

pub fn mem(offset: u32) -> MemArg {
    MemArg {
        offset: u64::from(offset),
        align: 0,
        target: MemArgTarget::Memory(0),
        ordering: None,
    }
}

impl Func {
    pub fn new(params: u32) -> Func {
        Func {
            params,
            locals: Vec::new(),
            code: Vec::new(),
        }
    }

    pub fn local(&mut self, ty: ValType) -> u32 {
        self.locals.push(ty);
        self.params + self.locals.len() as u32 - 1
    }

    pub fn i64(&mut self) -> u32 {
        self.local(ValType::I64)
    }

    pub fn i32(&mut self) -> u32 {
        self.local(ValType::I32)
    }

    pub fn val(&mut self) -> Val {
        Val {
            v: self.i64(),
            m: self.i32(),
        }
    }

    pub fn e(&mut self, ins: I<'static>) {
        self.code.push(ins);
    }

    pub fn all(&mut self, ins: impl IntoIterator<Item = I<'static>>) {
        self.code.extend(ins);
    }

    pub fn get(&mut self, l: u32) {
        self.e(I::LocalGet(l));
    }

    pub fn set(&mut self, l: u32) {
        self.e(I::LocalSet(l));
    }

    /// A block with no result, to leave with `br`.
    pub fn block(&mut self) {
        self.e(I::Block(BlockType::Empty));
    }

    pub fn if_(&mut self) {
        self.e(I::If(BlockType::Empty));
    }

    /// `if` with one result of type `ty`.
    pub fn if_with(&mut self, ty: ValType) {
        self.e(I::If(BlockType::Result(ty)));
    }

    /// Opens `if` on `guard and test`, `test` evaluated only when `guard`
    /// holds (each pushes an `i32`: a test that may only read memory once
    /// the guard has checked the bounds); close with [`Func::end`], an
    /// [`Func::else_`] between.
    pub fn if_both(&mut self, guard: impl FnOnce(&mut Func), test: impl FnOnce(&mut Func)) {
        guard(self);
        self.if_with(ValType::I32);
        test(self);
        self.else_();
        self.e(I::I32Const(0));
        self.end();
        self.if_();
    }

    /// A new `i32` local set to 0 here (locals inside loops must not keep
    /// the previous iteration's value).
    pub fn zeroed_i32(&mut self) -> u32 {
        let l = self.i32();
        self.all([I::I32Const(0), I::LocalSet(l)]);
        l
    }

    pub fn else_(&mut self) {
        self.e(I::Else);
    }

    pub fn end(&mut self) {
        self.e(I::End);
    }

    /// `dst = src`.
    pub fn copy(&mut self, dst: Val, src: Val) {
        self.all([
            I::LocalGet(src.v),
            I::LocalSet(dst.v),
            I::LocalGet(src.m),
            I::LocalSet(dst.m),
        ]);
    }

    /// `dst = (payload on the stack... )`: sets a present constant.
    pub fn set_const(&mut self, dst: Val, n: i64) {
        self.all([
            I::I64Const(n),
            I::LocalSet(dst.v),
            I::I32Const(0),
            I::LocalSet(dst.m),
        ]);
    }

    /// `dst = undetermined` with the missing set on the stack.
    pub fn set_missing_from_stack(&mut self, dst: Val) {
        self.all([I::LocalSet(dst.m), I::I64Const(0), I::LocalSet(dst.v)]);
    }

    /// The pointer half of a packed payload (`ptr | len << 32`).
    pub fn lo(&mut self, l: u32) {
        self.all([I::LocalGet(l), I::I32WrapI64]);
    }

    /// The length half of a packed payload.
    pub fn hi(&mut self, l: u32) {
        self.all([I::LocalGet(l), I::I64Const(32), I::I64ShrU, I::I32WrapI64]);
    }

    /// Opens `block; loop; block` over `i in 0..count` (both `i32`
    /// locals); close with [`Func::loop_end`]. In the body, `br 0` goes on
    /// to the next element and `br 2` leaves the loop.
    pub fn loop_start(&mut self, i: u32, count: u32) {
        self.all([I::I32Const(0), I::LocalSet(i)]);
        self.loop_on(i, count);
    }

    /// [`Func::loop_start`] from `i`'s current value: `i in i..count`.
    pub fn loop_on(&mut self, i: u32, count: u32) {
        self.all([
            I::Block(BlockType::Empty),
            I::Loop(BlockType::Empty),
            I::LocalGet(i),
            I::LocalGet(count),
            I::I32GeU,
            I::BrIf(1),
            I::Block(BlockType::Empty),
        ]);
    }

    pub fn loop_end(&mut self, i: u32) {
        self.loop_end_by(i, 1);
    }

    /// [`Func::loop_end`] stepping `i` by `step`.
    pub fn loop_end_by(&mut self, i: u32, step: i32) {
        self.all([
            I::End,
            I::LocalGet(i),
            I::I32Const(step),
            I::I32Add,
            I::LocalSet(i),
            I::Br(0),
            I::End,
            I::End,
        ]);
    }

    pub fn finish(self) -> Function {
        let code = super::simplify::simplify(self.params, &self.locals, self.code);
        let mut f = Function::new_with_locals_types(self.locals);
        for ins in &code {
            f.instruction(ins);
        }
        f.instruction(&I::End);
        f
    }
}
