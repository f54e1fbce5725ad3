//! A peephole pass over each generated function: missing sets that can
//! only ever be empty are folded away, with the unions and branches on
//! them.
//!
//! The expression generator gives every value a fresh missing-set local
//! and tests it, unions it, copies it, whatever the operand: a literal, a
//! comparison of two present values, `as_of`. Knowing which of those
//! locals are always 0 would need a type of presence in the IR; the code
//! says it plainly instead: an `i32` local that is only ever set from
//! `i32.const 0` (or never) holds 0 everywhere, since locals start at 0.
//! Reading it is then the constant 0, a union with it is the other operand
//! (`union(m, 0) = union(0, m) = m`), and an `if` on a constant keeps the
//! arm it would take, as a `block` of the same type so that branch depths
//! inside stay right. Each round can make more locals constant (a copy of
//! a constant, an accumulator whose unions all went), so rounds repeat
//! until nothing changes.
//!
//! What this saves is executed work (calls, branches, fuel), not only
//! bytes: the differential tests run the simplified module against the
//! interpreter.

use wasm_encoder::{BlockType, Instruction as I, ValType};

use super::runtime::UNION;

/// Rounds at most; each one that changes something removes instructions,
/// and real functions settle within a few.
const MAX_ROUNDS: usize = 16;

/// Simplifies `code` of a function with `params` parameters and `locals`
/// (declared after them).
pub fn simplify(params: u32, locals: &[ValType], mut code: Vec<I<'static>>) -> Vec<I<'static>> {
    for _ in 0..MAX_ROUNDS {
        let zero = zero_locals(params, locals, &code);
        let before = code.len();
        code = fold_ifs(fold_zero(&zero, params, code));
        if code.len() == before {
            break;
        }
    }
    code
}

/// Whether each local (by index, parameters included) always holds 0: an
/// `i32` local, not a parameter, every `local.set` of it right after
/// `i32.const 0` and no `local.tee`.
fn zero_locals(params: u32, locals: &[ValType], code: &[I<'static>]) -> Vec<bool> {
    let mut zero: Vec<bool> = (0..params)
        .map(|_| false)
        .chain(locals.iter().map(|t| *t == ValType::I32))
        .collect();
    let mut clear = |l: u32| {
        if let Some(z) = zero.get_mut(l as usize) {
            *z = false;
        }
    };
    for (i, ins) in code.iter().enumerate() {
        match ins {
            I::LocalSet(l) => {
                let after_zero = i
                    .checked_sub(1)
                    .and_then(|p| code.get(p))
                    .is_some_and(|p| matches!(p, I::I32Const(0)));
                if !after_zero {
                    clear(*l);
                }
            }
            I::LocalTee(l) => clear(*l),
            _ => {}
        }
    }
    zero
}

/// Reads of zero locals become constants, their sets go, and unions with
/// a constant empty set become the other operand.
fn fold_zero(zero: &[bool], params: u32, code: Vec<I<'static>>) -> Vec<I<'static>> {
    let is_zero = |l: &u32| *l >= params && zero.get(*l as usize).copied().unwrap_or(false);
    let mut out: Vec<I<'static>> = Vec::with_capacity(code.len());
    for ins in code {
        match ins {
            I::LocalGet(l) if is_zero(&l) => out.push(I::I32Const(0)),
            I::LocalSet(l) if is_zero(&l) => {
                // The `i32.const 0` it stored (see `zero_locals`).
                if matches!(out.last(), Some(I::I32Const(0))) {
                    out.pop();
                } else {
                    out.push(I::Drop);
                }
            }
            I::LocalSet(l) if matches!(out.last(), Some(I::LocalGet(g)) if *g == l) => {
                // `x = x`.
                out.pop();
            }
            I::Call(UNION) if matches!(out.last(), Some(I::I32Const(0))) => {
                // union(m, 0) = m: the first operand stays on the stack.
                out.pop();
            }
            I::Call(UNION)
                if matches!(
                    out.len().checked_sub(2).and_then(|i| out.get(i)),
                    Some(I::I32Const(0))
                ) && out.last().is_some_and(pushes_one) =>
            {
                // union(0, m) = m: drop the 0 under the one push of `m`.
                let m = out.pop();
                out.pop();
                out.extend(m);
            }
            I::I32Eqz if matches!(out.last(), Some(I::I32Const(_))) => {
                if let Some(I::I32Const(c)) = out.pop() {
                    out.push(I::I32Const(i32::from(c == 0)));
                }
            }
            ins => out.push(ins),
        }
    }
    out
}

/// An instruction that only pushes one value (no pops, no effects).
fn pushes_one(ins: &I<'static>) -> bool {
    matches!(
        ins,
        I::LocalGet(_) | I::I32Const(_) | I::I64Const(_) | I::GlobalGet(_)
    )
}

/// `i32.const c; if .. else .. end` becomes `block` holding the arm `c`
/// selects: same type, same depth for the branches inside it.
fn fold_ifs(code: Vec<I<'static>>) -> Vec<I<'static>> {
    let arms = match_ifs(&code);
    let mut out: Vec<I<'static>> = Vec::with_capacity(code.len());
    // Positions of `else` whose arm is skipped: there the walk goes on at
    // the matching `end`.
    let mut skip_else: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some(ins) = code.get(i) {
        if let Some(&(_, end)) = skip_else.iter().find(|(e, _)| *e == i) {
            skip_else.retain(|(e, _)| *e != i);
            i = end;
            continue;
        }
        match (ins, out.last(), arms.get(&i)) {
            (I::If(bt), Some(I::I32Const(c)), Some(&(else_at, end))) => {
                let (c, bt) = (*c, *bt);
                out.pop();
                out.push(I::Block(bt));
                if c != 0 {
                    if let Some(e) = else_at {
                        skip_else.push((e, end));
                    }
                    i += 1;
                } else {
                    // Into the `else` arm, or straight to the `end`.
                    i = else_at.map_or(end, |e| e + 1);
                }
            }
            _ => {
                out.push(ins.clone());
                i += 1;
            }
        }
    }
    remove_empty_blocks(out)
}

/// For each `if` (by position), its `else` (if any) and its `end`.
fn match_ifs(code: &[I<'static>]) -> std::collections::HashMap<usize, (Option<usize>, usize)> {
    let mut open: Vec<(usize, bool, Option<usize>)> = Vec::new();
    let mut arms = std::collections::HashMap::new();
    for (i, ins) in code.iter().enumerate() {
        match ins {
            I::If(_) => open.push((i, true, None)),
            I::Block(_) | I::Loop(_) => open.push((i, false, None)),
            I::Else => {
                if let Some(top) = open.last_mut() {
                    top.2 = Some(i);
                }
            }
            I::End => {
                if let Some((at, true, else_at)) = open.pop() {
                    arms.insert(at, (else_at, i));
                }
            }
            _ => {}
        }
    }
    arms
}

/// `block end` with nothing inside (no type, no branch to it) goes.
fn remove_empty_blocks(code: Vec<I<'static>>) -> Vec<I<'static>> {
    let mut out: Vec<I<'static>> = Vec::with_capacity(code.len());
    for ins in code {
        if matches!(ins, I::End) && matches!(out.last(), Some(I::Block(BlockType::Empty))) {
            out.pop();
            continue;
        }
        out.push(ins);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(params: u32, locals: &[ValType], code: Vec<I<'static>>) -> String {
        format!("{:?}", simplify(params, locals, code))
    }

    #[test]
    fn a_local_only_set_to_zero_folds_its_union_and_branch() {
        // m = 0; acc = 0; acc = union(acc, m); if acc { 7 } else { 8 }
        let code = vec![
            I::I32Const(0),
            I::LocalSet(1),
            I::I32Const(0),
            I::LocalSet(2),
            I::LocalGet(2),
            I::LocalGet(1),
            I::Call(UNION),
            I::LocalSet(2),
            I::LocalGet(2),
            I::If(BlockType::Result(ValType::I32)),
            I::I32Const(7),
            I::Else,
            I::I32Const(8),
            I::End,
        ];
        assert_eq!(
            run(1, &[ValType::I32, ValType::I32], code),
            "[Block(Result(I32)), I32Const(8), End]"
        );
    }

    #[test]
    fn a_local_set_from_anything_else_stays() {
        let code = vec![
            I::LocalGet(0),
            I::LocalSet(1),
            I::LocalGet(1),
            I::I32Const(0),
            I::Call(UNION),
            I::If(BlockType::Empty),
            I::Br(0),
            I::End,
        ];
        assert_eq!(
            run(1, &[ValType::I32], code),
            "[LocalGet(0), LocalSet(1), LocalGet(1), If(Empty), Br(0), End]"
        );
    }

    #[test]
    fn a_true_constant_keeps_the_then_arm_and_skips_the_else() {
        let code = vec![
            I::I32Const(0),
            I::I32Eqz,
            I::If(BlockType::Empty),
            I::LocalGet(0),
            I::Drop,
            I::Else,
            I::Unreachable,
            I::End,
            I::Nop,
        ];
        assert_eq!(
            run(1, &[], code),
            "[Block(Empty), LocalGet(0), Drop, End, Nop]"
        );
    }

    #[test]
    fn parameters_and_i64_locals_are_never_taken_for_zero() {
        let code = vec![
            I::I64Const(0),
            I::LocalSet(1),
            I::LocalGet(0),
            I::LocalGet(1),
            I::Drop,
            I::Drop,
        ];
        assert_eq!(run(1, &[ValType::I64], code.clone()), format!("{code:?}"));
    }
}
