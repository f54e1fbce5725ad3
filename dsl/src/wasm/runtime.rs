//! The module's fixed helper functions: the bump arena, missing-set nodes,
//! the event trace, Kleene logic, text and date builtins, checked
//! multiplication and table lookup (of texts, and of digit codes by key).
//! Their indices come first in the function index space (the module
//! imports nothing).

use wasm_encoder::{Instruction as I, ValType};

use super::func::{Func, mem};
use super::layout::EVENT_SIZE;

pub const ARENA: u32 = 0;
pub const NODE: u32 = 1;
pub const UNION: u32 = 2;
pub const EVENT: u32 = 3;
pub const KAND: u32 = 4;
pub const KOR: u32 = 5;
pub const TEXT_EQ: u32 = 6;
pub const TEXT_CMP: u32 = 7;
pub const LEN: u32 = 8;
pub const IS_DIGITS: u32 = 9;
pub const SLICE: u32 = 10;
pub const TO_INT: u32 = 11;
pub const STARTS_WITH: u32 = 12;
pub const IS_DATE: u32 = 13;
pub const MUL: u32 = 14;
pub const TABLE: u32 = 15;
pub const TABLE_KEYS: u32 = 16;
pub const HELPERS: u32 = 17;

/// Globals: the arena's top, the trace's first and last event, `as_of`,
/// the parameters block, whether the household is returned, the result
/// length, the memo generation, the explain flag.
pub const G_TOP: u32 = 0;
pub const G_FIRST: u32 = 1;
pub const G_LAST: u32 = 2;
pub const G_AS_OF: u32 = 3;
pub const G_PARAMS: u32 = 4;
pub const G_RETURNED: u32 = 5;
pub const G_RESULT_LEN: u32 = 6;
/// The generation of the memo tables: bumped per household, so an entry
/// written for another household (or batch) is never read.
pub const G_GEN: u32 = 7;
/// Whether the running call builds the explanation trace (`evaluate`) or
/// only what the summary needs (`decide`): 1 or 0.
pub const G_EXPLAIN: u32 = 8;

use ValType::{I32, I64};

/// The signature and body of each helper, by index.
pub fn helpers() -> Vec<(Vec<ValType>, Vec<ValType>, Func)> {
    vec![
        (vec![I32], vec![I32], arena()),
        (vec![I32, I32, I32], vec![I32], node()),
        (vec![I32, I32], vec![I32], union()),
        (vec![I32, I32, I32, I32, I64], vec![], event()),
        (vec![I64, I32, I64, I32], vec![I64, I32], kleene(true)),
        (vec![I64, I32, I64, I32], vec![I64, I32], kleene(false)),
        (vec![I64, I64], vec![I32], text_eq()),
        (vec![I64, I64], vec![I32], text_cmp()),
        (vec![I64], vec![I64], len()),
        (vec![I64], vec![I32], is_digits()),
        (vec![I64, I64, I64], vec![I64], slice()),
        (vec![I64], vec![I64, I32], to_int()),
        (vec![I64, I64], vec![I32], starts_with()),
        (vec![I64, I64, I64], vec![I32], is_date()),
        (vec![I64, I64], vec![I64, I32], mul()),
        (vec![I64, I32, I32, I32], vec![I32], table()),
        (vec![I64, I32, I32], vec![I32], table_keys()),
    ]
}

/// `arena(size) -> ptr`: 8-aligned bump allocation, growing memory; traps
/// (`unreachable`) when memory cannot grow.
fn arena() -> Func {
    let mut f = Func::new(1);
    let ptr = f.i32();
    let end = f.i32();
    f.all([
        I::GlobalGet(G_TOP),
        I::I32Const(7),
        I::I32Add,
        I::I32Const(-8),
        I::I32And,
        I::LocalTee(ptr),
        I::LocalGet(0),
        I::I32Add,
        I::LocalSet(end),
    ]);
    grow_to(&mut f, end, true);
    f.all([I::LocalGet(end), I::GlobalSet(G_TOP), I::LocalGet(ptr)]);
    f
}

/// Grows memory so that address `end` (exclusive) is inside it. When it
/// cannot, traps (`trap`) or returns 0.
pub fn grow_to(f: &mut Func, end: u32, trap: bool) {
    f.all([
        I::LocalGet(end),
        I::MemorySize(0),
        I::I32Const(16),
        I::I32Shl,
        I::I32GtU,
    ]);
    f.if_();
    f.all([
        I::LocalGet(end),
        I::MemorySize(0),
        I::I32Const(16),
        I::I32Shl,
        I::I32Sub,
        I::I32Const(65535),
        I::I32Add,
        I::I32Const(16),
        I::I32ShrU,
        I::MemoryGrow(0),
        I::I32Const(-1),
        I::I32Eq,
    ]);
    f.if_();
    if trap {
        f.e(I::Unreachable);
    } else {
        f.all([I::I32Const(0), I::Return]);
    }
    f.end();
    f.end();
}

fn node() -> Func {
    let mut f = Func::new(3);
    let p = f.i32();
    f.all([
        I::I32Const(16),
        I::Call(ARENA),
        I::LocalTee(p),
        I::LocalGet(0),
        I::I32Store(mem(0)),
        I::LocalGet(p),
        I::LocalGet(1),
        I::I32Store(mem(4)),
        I::LocalGet(p),
        I::LocalGet(2),
        I::I32Store(mem(8)),
        I::LocalGet(p),
    ]);
    f
}

fn union() -> Func {
    let mut f = Func::new(2);
    f.all([I::LocalGet(0), I::I32Eqz]);
    f.if_();
    f.all([I::LocalGet(1), I::Return]);
    f.end();
    f.all([I::LocalGet(1), I::I32Eqz]);
    f.if_();
    f.all([I::LocalGet(0), I::Return]);
    f.end();
    f.all([
        I::I32Const(super::layout::node::UNION as i32),
        I::LocalGet(0),
        I::LocalGet(1),
        I::Call(NODE),
    ]);
    f
}

fn event() -> Func {
    let mut f = Func::new(5);
    let p = f.i32();
    f.all([
        I::I32Const(EVENT_SIZE as i32),
        I::Call(ARENA),
        I::LocalSet(p),
    ]);
    // The arena is not cleared between calls: write every word.
    f.all([I::LocalGet(p), I::I32Const(0), I::I32Store(mem(0))]);
    for (arg, off) in [(0, 4), (1, 8), (2, 12), (3, 16)] {
        f.all([I::LocalGet(p), I::LocalGet(arg), I::I32Store(mem(off))]);
    }
    f.all([I::LocalGet(p), I::LocalGet(4), I::I64Store(mem(24))]);
    f.all([I::GlobalGet(G_LAST)]);
    f.if_();
    f.all([I::GlobalGet(G_LAST), I::LocalGet(p), I::I32Store(mem(0))]);
    f.else_();
    f.all([I::LocalGet(p), I::GlobalSet(G_FIRST)]);
    f.end();
    f.all([I::LocalGet(p), I::GlobalSet(G_LAST)]);
    f
}

/// Kleene `and` (`is_and`) or `or` of two evaluated truth values.
fn kleene(is_and: bool) -> Func {
    let mut f = Func::new(4);
    // The absorbing value: false for `and`, true for `or`.
    let absorbing = if is_and { 0 } else { 1 };
    for (v, m) in [(0, 1), (2, 3)] {
        f.all([
            I::LocalGet(m),
            I::I32Eqz,
            I::LocalGet(v),
            I::I64Const(absorbing),
            I::I64Eq,
            I::I32And,
        ]);
        f.if_();
        f.all([I::I64Const(absorbing), I::I32Const(0), I::Return]);
        f.end();
    }
    // A present operand is now the neutral one: the result is the other.
    f.all([I::LocalGet(1), I::I32Eqz]);
    f.if_();
    f.all([I::LocalGet(2), I::LocalGet(3), I::Return]);
    f.end();
    f.all([I::LocalGet(3), I::I32Eqz]);
    f.if_();
    f.all([I::LocalGet(0), I::LocalGet(1), I::Return]);
    f.end();
    f.all([
        I::I64Const(0),
        I::LocalGet(1),
        I::LocalGet(3),
        I::Call(UNION),
    ]);
    f
}

/// Pushes the byte at `ptr_of(text) + i`.
fn byte_at(f: &mut Func, text: u32, i: u32) {
    f.lo(text);
    f.all([I::LocalGet(i), I::I32Add, I::I32Load8U(mem(0))]);
}

/// Bit 7 of each byte of a word: set in a byte that is not ASCII.
pub(super) const HIGH_BITS: i64 = 0x8080_8080_8080_8080_u64 as i64;

/// Pushes the eight bytes of text `text` (a packed payload local) from
/// byte `i` (a local), as an `i64` (unaligned, little-endian).
fn word_at(f: &mut Func, text: u32, i: u32) {
    f.lo(text);
    f.all([I::LocalGet(i), I::I32Add, I::I64Load(mem(0))]);
}

/// Runs `body` with `j` (a local) at each word of bytes `0..end`: 0, 8,
/// ... while the word ends by `end`, then `end - 8`, the last word, which
/// may overlap the one before (for tests where reading a byte twice does
/// no harm). `end` must be at least 8.
fn each_word(f: &mut Func, end: u32, j: u32, mut body: impl FnMut(&mut Func)) {
    f.all([
        I::I32Const(0),
        I::LocalSet(j),
        I::Loop(wasm_encoder::BlockType::Empty),
    ]);
    body(f);
    f.all([
        I::LocalGet(j),
        I::I32Const(8),
        I::I32Add,
        I::LocalTee(j),
        I::I32Const(8),
        I::I32Add,
        I::LocalGet(end),
        I::I32LeU,
        I::BrIf(0),
        I::End,
        I::LocalGet(end),
        I::I32Const(8),
        I::I32Sub,
        I::LocalSet(j),
    ]);
    body(f);
}

fn text_eq() -> Func {
    let mut f = Func::new(2);
    let n = f.i32();
    let i = f.i32();
    f.hi(0);
    f.hi(1);
    f.e(I::I32Ne);
    f.if_();
    f.all([I::I32Const(0), I::Return]);
    f.end();
    f.hi(0);
    f.set(n);
    // Eight bytes at a time (NIKs of one household share their first
    // digits); shorter texts byte by byte.
    f.all([I::LocalGet(n), I::I32Const(8), I::I32GeU]);
    f.if_();
    each_word(&mut f, n, i, |f| {
        word_at(f, 0, i);
        word_at(f, 1, i);
        f.e(I::I64Ne);
        f.if_();
        f.all([I::I32Const(0), I::Return]);
        f.end();
    });
    f.all([I::I32Const(1), I::Return]);
    f.end();
    f.loop_start(i, n);
    byte_at(&mut f, 0, i);
    byte_at(&mut f, 1, i);
    f.e(I::I32Ne);
    f.if_();
    f.all([I::I32Const(0), I::Return]);
    f.end();
    f.loop_end(i);
    f.e(I::I32Const(1));
    f
}

fn text_cmp() -> Func {
    let mut f = Func::new(2);
    let n = f.i32();
    let i = f.i32();
    let a = f.i32();
    let b = f.i32();
    f.hi(0);
    f.hi(1);
    f.hi(0);
    f.hi(1);
    f.all([I::I32LtU, I::Select, I::LocalSet(n)]);
    f.loop_start(i, n);
    byte_at(&mut f, 0, i);
    f.set(a);
    byte_at(&mut f, 1, i);
    f.set(b);
    f.all([I::LocalGet(a), I::LocalGet(b), I::I32LtU]);
    f.if_();
    f.all([I::I32Const(-1), I::Return]);
    f.end();
    f.all([I::LocalGet(a), I::LocalGet(b), I::I32GtU]);
    f.if_();
    f.all([I::I32Const(1), I::Return]);
    f.end();
    f.loop_end(i);
    f.hi(0);
    f.hi(1);
    f.e(I::I32LtU);
    f.if_();
    f.all([I::I32Const(-1), I::Return]);
    f.end();
    f.hi(0);
    f.hi(1);
    f.e(I::I32GtU);
    f
}

/// `len(t)`: the characters of `t`, its bytes less its continuation bytes
/// (`10xxxxxx`), counted eight bytes at a time (`popcnt` of the bytes
/// whose bit 7 is set and bit 6 clear), then the last few one by one.
fn len() -> Func {
    let mut f = Func::new(1);
    let n = f.i32();
    let i = f.i32();
    let words = f.i32();
    let count = f.i64();
    let w = f.i64();
    f.hi(0);
    f.set(n);
    f.all([I::LocalGet(n), I::I64ExtendI32U, I::LocalSet(count)]);
    // The whole words, below n rounded down to 8:
    // count -= popcnt(w & !w << 1 & HIGH_BITS).
    f.all([
        I::LocalGet(n),
        I::I32Const(-8),
        I::I32And,
        I::LocalSet(words),
    ]);
    f.loop_start(i, words);
    f.get(count);
    word_at(&mut f, 0, i);
    f.all([
        I::LocalTee(w),
        I::LocalGet(w),
        I::I64Const(-1),
        I::I64Xor,
        I::I64Const(1),
        I::I64Shl,
        I::I64And,
        I::I64Const(HIGH_BITS),
        I::I64And,
        I::I64Popcnt,
        I::I64Sub,
        I::LocalSet(count),
    ]);
    f.loop_end_by(i, 8);
    // The last bytes, one by one.
    f.loop_on(i, n);
    f.get(count);
    byte_at(&mut f, 0, i);
    f.all([
        I::I32Const(0xC0),
        I::I32And,
        I::I32Const(0x80),
        I::I32Eq,
        I::I64ExtendI32U,
        I::I64Sub,
        I::LocalSet(count),
    ]);
    f.loop_end(i);
    f.get(count);
    f
}

/// Pushes whether byte `b` (a local) is an ASCII digit.
pub(super) fn is_digit(f: &mut Func, b: u32) {
    f.all([
        I::LocalGet(b),
        I::I32Const(48),
        I::I32Sub,
        I::I32Const(10),
        I::I32LtU,
    ]);
}

fn is_digits() -> Func {
    let mut f = Func::new(1);
    let n = f.i32();
    let i = f.i32();
    let b = f.i32();
    f.hi(0);
    f.all([I::LocalTee(n), I::I32Eqz]);
    f.if_();
    f.all([I::I32Const(0), I::Return]);
    f.end();
    f.loop_start(i, n);
    byte_at(&mut f, 0, i);
    f.set(b);
    is_digit(&mut f, b);
    f.e(I::I32Eqz);
    f.if_();
    f.all([I::I32Const(0), I::Return]);
    f.end();
    f.loop_end(i);
    f.e(I::I32Const(1));
    f
}

/// `slice(text, from, to)`: the characters at positions `from..=to`
/// (1-based) are contiguous, so the result is a view into the text.
fn slice() -> Func {
    let mut f = Func::new(3);
    let n = f.i32();
    let i = f.i32();
    let pos = f.i64();
    let start = f.i32();
    let end = f.i32();
    f.hi(0);
    f.set(n);
    slice_ascii(&mut f, n, start, end);
    f.all([I::I32Const(-1), I::LocalSet(start)]);
    f.all([I::LocalGet(n), I::LocalSet(end)]);
    f.loop_start(i, n);
    byte_at(&mut f, 0, i);
    f.all([I::I32Const(0xC0), I::I32And, I::I32Const(0x80), I::I32Ne]);
    f.if_();
    f.all([
        I::LocalGet(pos),
        I::I64Const(1),
        I::I64Add,
        I::LocalTee(pos),
        I::LocalGet(2),
        I::I64GtS,
    ]);
    f.if_();
    f.all([I::LocalGet(i), I::LocalSet(end), I::Br(4)]);
    f.end();
    f.all([
        I::LocalGet(start),
        I::I32Const(0),
        I::I32LtS,
        I::LocalGet(pos),
        I::LocalGet(1),
        I::I64GeS,
        I::I32And,
    ]);
    f.if_();
    f.all([I::LocalGet(i), I::LocalSet(start)]);
    f.end();
    f.end();
    f.loop_end(i);
    return_slice(&mut f, start, end);
    f
}

/// Returns bytes `start..end` (`i32` locals) of text param 0, or the empty
/// text at its start when `start` is negative (no character in range).
fn return_slice(f: &mut Func, start: u32, end: u32) {
    f.all([I::LocalGet(start), I::I32Const(0), I::I32LtS]);
    f.if_();
    f.lo(0);
    f.all([I::I64ExtendI32U, I::Return]);
    f.end();
    f.lo(0);
    f.all([
        I::LocalGet(start),
        I::I32Add,
        I::I64ExtendI32U,
        I::LocalGet(end),
        I::LocalGet(start),
        I::I32Sub,
        I::I64ExtendI32U,
        I::I64Const(32),
        I::I64Shl,
        I::I64Or,
        I::Return,
    ]);
}

/// The fast path of `slice(t, from, to)` (params 0, 1, 2; `n` the byte
/// length of `t`): when the first `k = clamp(to, 0, n)` bytes are ASCII,
/// character positions are byte positions, so the slice is bytes
/// `max(from, 1) - 1 .. k` (empty at `t` when that is past `k`), returned
/// at once. The bytes are tested eight at a time with unaligned loads
/// inside the text (the last load ends at byte `k`, overlapping the one
/// before). A text of fewer than eight bytes, or with a non-ASCII byte in
/// the first `k`, falls through to the character-by-character loop, which
/// gives the same answer on ASCII: a byte after `k` cannot be a
/// continuation byte, since byte `k - 1` is ASCII.
fn slice_ascii(f: &mut Func, n: u32, start: u32, end: u32) {
    let k = f.i32();
    let j = f.i32();
    let w = f.i64();
    let from = f.i64();
    // k = clamp(to, 0, n)
    f.all([I::LocalGet(2), I::LocalGet(n), I::I64ExtendI32U, I::I64GeS]);
    f.if_();
    f.all([I::LocalGet(n), I::LocalSet(k)]);
    f.else_();
    f.all([I::LocalGet(2), I::I64Const(0), I::I64GtS]);
    f.if_();
    f.all([I::LocalGet(2), I::I32WrapI64, I::LocalSet(k)]);
    f.else_();
    f.all([I::I32Const(0), I::LocalSet(k)]);
    f.end();
    f.end();
    // w = the high bits of bytes 0..k (HIGH_BITS when n < 8: not tested).
    f.all([I::LocalGet(n), I::I32Const(8), I::I32LtU]);
    f.if_();
    f.all([I::I64Const(HIGH_BITS), I::LocalSet(w)]);
    f.else_();
    f.all([I::LocalGet(k), I::I32Const(8), I::I32LtU]);
    f.if_();
    // The first word, bytes k.. masked off (k < 8 <= n).
    f.lo(0);
    f.all([
        I::I64Load(mem(0)),
        I::I64Const(1),
        I::LocalGet(k),
        I::I64ExtendI32U,
        I::I64Const(3),
        I::I64Shl,
        I::I64Shl,
        I::I64Const(1),
        I::I64Sub,
        I::I64And,
        I::LocalSet(w),
    ]);
    f.else_();
    // Every word of bytes 0..k (k >= 8).
    f.all([I::I64Const(0), I::LocalSet(w)]);
    each_word(f, k, j, |f| {
        word_at(f, 0, j);
        f.all([I::LocalGet(w), I::I64Or, I::LocalSet(w)]);
    });
    f.end();
    f.end();
    f.all([I::LocalGet(w), I::I64Const(HIGH_BITS), I::I64And, I::I64Eqz]);
    f.if_();
    // from = max(from, 1) - 1, as a byte offset
    f.all([I::LocalGet(1), I::I64Const(1), I::I64LtS]);
    f.if_();
    f.all([I::I64Const(0), I::LocalSet(from)]);
    f.else_();
    f.all([I::LocalGet(1), I::I64Const(1), I::I64Sub, I::LocalSet(from)]);
    f.end();
    // start = from when before k, else none (-1); end = k.
    f.all([
        I::I32Const(-1),
        I::LocalGet(from),
        I::I32WrapI64,
        I::LocalGet(from),
        I::LocalGet(k),
        I::I64ExtendI32U,
        I::I64GeS,
        I::Select,
        I::LocalSet(start),
        I::LocalGet(k),
        I::LocalSet(end),
    ]);
    return_slice(f, start, end);
    f.end();
}

fn to_int() -> Func {
    use super::layout::reason::{NOT_A_NUMBER, OVERFLOW};
    let mut f = Func::new(1);
    let n = f.i32();
    let i = f.i32();
    let b = f.i32();
    let neg = f.i32();
    let acc = f.i64();
    let d = f.i64();
    let nan = |f: &mut Func| f.all([I::I64Const(0), I::I32Const(NOT_A_NUMBER as i32), I::Return]);
    let ovf = |f: &mut Func| f.all([I::I64Const(0), I::I32Const(OVERFLOW as i32), I::Return]);
    f.hi(0);
    f.set(n);
    f.all([I::LocalGet(n), I::I32Eqz]);
    f.if_();
    nan(&mut f);
    f.end();
    let zero = f.i32();
    byte_at(&mut f, 0, zero);
    f.all([I::I32Const(45), I::I32Eq, I::LocalSet(neg)]);
    // Digits start after the sign; check them all before parsing, as
    // "not a number" wins over "overflow".
    f.all([I::LocalGet(neg), I::LocalGet(n), I::I32GeU]);
    f.if_();
    nan(&mut f);
    f.end();
    let count = f.i32();
    f.all([
        I::LocalGet(n),
        I::LocalGet(neg),
        I::I32Sub,
        I::LocalSet(count),
    ]);
    let k = f.i32();
    f.loop_start(k, count);
    f.all([I::LocalGet(k), I::LocalGet(neg), I::I32Add, I::LocalSet(i)]);
    byte_at(&mut f, 0, i);
    f.set(b);
    is_digit(&mut f, b);
    f.e(I::I32Eqz);
    f.if_();
    nan(&mut f);
    f.end();
    f.loop_end(k);
    f.loop_start(k, count);
    f.all([I::LocalGet(k), I::LocalGet(neg), I::I32Add, I::LocalSet(i)]);
    byte_at(&mut f, 0, i);
    f.all([I::I32Const(48), I::I32Sub, I::I64ExtendI32U, I::LocalSet(d)]);
    // acc <= 0 accumulates the negated value: acc * 10 - d.
    f.all([
        I::LocalGet(acc),
        I::I64Const(-922_337_203_685_477_580),
        I::I64LtS,
    ]);
    f.if_();
    ovf(&mut f);
    f.end();
    f.all([
        I::LocalGet(acc),
        I::I64Const(10),
        I::I64Mul,
        I::LocalTee(acc),
        I::I64Const(i64::MIN),
        I::LocalGet(d),
        I::I64Add,
        I::I64LtS,
    ]);
    f.if_();
    ovf(&mut f);
    f.end();
    f.all([
        I::LocalGet(acc),
        I::LocalGet(d),
        I::I64Sub,
        I::LocalSet(acc),
    ]);
    f.loop_end(k);
    f.all([I::LocalGet(neg), I::I32Eqz]);
    f.if_();
    f.all([I::LocalGet(acc), I::I64Const(i64::MIN), I::I64Eq]);
    f.if_();
    ovf(&mut f);
    f.end();
    f.all([
        I::I64Const(0),
        I::LocalGet(acc),
        I::I64Sub,
        I::LocalSet(acc),
    ]);
    f.end();
    f.all([I::LocalGet(acc), I::I32Const(0)]);
    f
}

fn starts_with() -> Func {
    let mut f = Func::new(2);
    let n = f.i32();
    let i = f.i32();
    f.hi(1);
    f.hi(0);
    f.e(I::I32GtU);
    f.if_();
    f.all([I::I32Const(0), I::Return]);
    f.end();
    f.hi(1);
    f.set(n);
    f.loop_start(i, n);
    byte_at(&mut f, 0, i);
    byte_at(&mut f, 1, i);
    f.e(I::I32Ne);
    f.if_();
    f.all([I::I32Const(0), I::Return]);
    f.end();
    f.loop_end(i);
    f.e(I::I32Const(1));
    f
}

fn is_date() -> Func {
    let mut f = Func::new(3);
    let dim = f.i64();
    let no = |f: &mut Func| {
        f.if_();
        f.all([I::I32Const(0), I::Return]);
        f.end();
    };
    // 1 <= y <= 9999, 1 <= m <= 12, 1 <= d.
    for (arg, lo, hi) in [(0, 1, 9999), (1, 1, 12), (2, 1, 31)] {
        f.all([
            I::LocalGet(arg),
            I::I64Const(lo),
            I::I64LtS,
            I::LocalGet(arg),
            I::I64Const(hi),
            I::I64GtS,
            I::I32Or,
        ]);
        no(&mut f);
    }
    f.all([I::I64Const(31), I::LocalSet(dim)]);
    for m in [4, 6, 9, 11] {
        f.all([I::LocalGet(1), I::I64Const(m), I::I64Eq]);
        f.if_();
        f.all([I::I64Const(30), I::LocalSet(dim)]);
        f.end();
    }
    f.all([I::LocalGet(1), I::I64Const(2), I::I64Eq]);
    f.if_();
    // Leap: divisible by 4 and not by 100, or by 400.
    f.all([
        I::I64Const(28),
        I::LocalGet(0),
        I::I64Const(4),
        I::I64RemS,
        I::I64Eqz,
        I::LocalGet(0),
        I::I64Const(100),
        I::I64RemS,
        I::I64Const(0),
        I::I64Ne,
        I::I32And,
        I::LocalGet(0),
        I::I64Const(400),
        I::I64RemS,
        I::I64Eqz,
        I::I32Or,
        I::I64ExtendI32U,
        I::I64Add,
        I::LocalSet(dim),
    ]);
    f.end();
    f.all([I::LocalGet(2), I::LocalGet(dim), I::I64LeS]);
    f
}

/// Checked multiplication: `(product, 1)` or `(0, 0)` on overflow.
fn mul() -> Func {
    let mut f = Func::new(2);
    let r = f.i64();
    f.all([
        I::LocalGet(0),
        I::I64Eqz,
        I::LocalGet(1),
        I::I64Eqz,
        I::I32Or,
    ]);
    f.if_();
    f.all([I::I64Const(0), I::I32Const(1), I::Return]);
    f.end();
    for (a, b) in [(0, 1), (1, 0)] {
        f.all([
            I::LocalGet(a),
            I::I64Const(-1),
            I::I64Eq,
            I::LocalGet(b),
            I::I64Const(i64::MIN),
            I::I64Eq,
            I::I32And,
        ]);
        f.if_();
        f.all([I::I64Const(0), I::I32Const(0), I::Return]);
        f.end();
    }
    f.all([
        I::LocalGet(0),
        I::LocalGet(1),
        I::I64Mul,
        I::LocalTee(r),
        I::LocalGet(1),
        I::I64DivS,
        I::LocalGet(0),
        I::I64Ne,
    ]);
    f.if_();
    f.all([I::I64Const(0), I::I32Const(0), I::Return]);
    f.end();
    f.all([I::LocalGet(r), I::I32Const(1)]);
    f
}

/// `table(text, codes, slots, mask)`: whether a text is one of a table's
/// codes, by its hash slots (`codegen::hash_slots`): FNV-1a over the bytes,
/// then linear probing until the code or an empty slot.
fn table() -> Func {
    let mut f = Func::new(4);
    let h = f.i32();
    let n = f.i32();
    let i = f.i32();
    let k = f.i32();
    f.all([I::I32Const(0x811C_9DC5_u32 as i32), I::LocalSet(h)]);
    f.hi(0);
    f.set(n);
    f.loop_start(i, n);
    f.e(I::LocalGet(h));
    byte_at(&mut f, 0, i);
    f.all([
        I::I32Xor,
        I::I32Const(0x0100_0193),
        I::I32Mul,
        I::LocalSet(h),
    ]);
    f.loop_end(i);
    // A slot holds a code's index plus one: the code is codes[k - 1].
    probe(&mut f, h, (2, 3), false, k, |f| {
        f.all([
            I::LocalGet(k),
            I::I32Const(1),
            I::I32Sub,
            I::I32Const(3),
            I::I32Shl,
            I::LocalGet(1),
            I::I32Add,
            I::I64Load(mem(0)),
            I::LocalGet(0),
            I::Call(TEXT_EQ),
        ]);
    });
    f
}

/// Linear probing from hash `h` (an `i32` local) through the slots at
/// param `params.0`, masked by param `params.1`, ending the function: 0 at
/// an empty slot (0), 1 when `matches` holds (it pushes an `i32`; the
/// slot is in local `k`), else on to the next slot. Slots are `u64`s when
/// `wide`, else `u32`s.
fn probe(
    f: &mut Func,
    h: u32,
    params: (u32, u32),
    wide: bool,
    k: u32,
    matches: impl FnOnce(&mut Func),
) {
    let (shift, load, is_empty) = if wide {
        (3, I::I64Load(mem(0)), I::I64Eqz)
    } else {
        (2, I::I32Load(mem(0)), I::I32Eqz)
    };
    f.all([
        I::Loop(wasm_encoder::BlockType::Empty),
        I::LocalGet(h),
        I::LocalGet(params.1),
        I::I32And,
        I::LocalTee(h),
        I::I32Const(shift),
        I::I32Shl,
        I::LocalGet(params.0),
        I::I32Add,
        load,
        I::LocalTee(k),
        is_empty,
    ]);
    f.if_();
    f.all([I::I32Const(0), I::Return]);
    f.end();
    matches(f);
    f.if_();
    f.all([I::I32Const(1), I::Return]);
    f.end();
    f.all([
        I::LocalGet(h),
        I::I32Const(1),
        I::I32Add,
        I::LocalSet(h),
        I::Br(0),
        I::End,
        I::I32Const(0),
    ]);
}

/// `table_keys(text, slots, mask)`: whether a text is one of a table of
/// digit codes, by its keys' hash slots (`codegen::key_slots`): the text's
/// key (`codegen::digit_key`: a 1, then its digits, as a number), hashed
/// by [`KEY_HASH`], then linear probing until the key or an empty slot. A
/// text that is not 0 to 18 ASCII digits has no key and is no such code.
/// One slot holds the whole key, so a lookup reads one place in memory
/// where [`table`] reads three (slot, code, the code's bytes).
fn table_keys() -> Func {
    let mut f = Func::new(3);
    let n = f.i32();
    let i = f.i32();
    let d = f.i32();
    let key = f.i64();
    let h = f.i32();
    let k = f.i64();
    f.hi(0);
    f.all([I::LocalTee(n), I::I32Const(MAX_KEY_DIGITS), I::I32GtU]);
    f.if_();
    f.all([I::I32Const(0), I::Return]);
    f.end();
    f.all([I::I64Const(1), I::LocalSet(key)]);
    f.loop_start(i, n);
    byte_at(&mut f, 0, i);
    f.all([
        I::I32Const(i32::from(b'0')),
        I::I32Sub,
        I::LocalTee(d),
        I::I32Const(9),
        I::I32GtU,
    ]);
    f.if_();
    f.all([I::I32Const(0), I::Return]);
    f.end();
    f.all([
        I::LocalGet(key),
        I::I64Const(10),
        I::I64Mul,
        I::LocalGet(d),
        I::I64ExtendI32U,
        I::I64Add,
        I::LocalSet(key),
    ]);
    f.loop_end(i);
    f.all([
        I::LocalGet(key),
        I::I64Const(KEY_HASH as i64),
        I::I64Mul,
        I::I64Const(32),
        I::I64ShrU,
        I::I32WrapI64,
        I::LocalSet(h),
    ]);
    probe(&mut f, h, (1, 2), true, k, |f| {
        f.all([I::LocalGet(k), I::LocalGet(key), I::I64Eq]);
    });
    f
}

/// The most digits a code may have for a key: a 1 and 18 digits stay
/// below 2^63.
pub const MAX_KEY_DIGITS: i32 = 18;

/// The multiplier of a key's hash (the slot is bits 32.. of the product,
/// masked): the 64-bit golden ratio, as in Fibonacci hashing.
pub const KEY_HASH: u64 = 0x9E37_79B9_7F4A_7C15;
