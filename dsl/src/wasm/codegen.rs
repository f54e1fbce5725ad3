//! The module as a whole: sections, static data (text literals, reference
//! tables), the exports of the ABI and the household driver.

use std::collections::HashMap;

use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection,
    GlobalSection, GlobalType, Instruction as I, MemorySection, MemoryType, Module, TypeSection,
    ValType,
};

use super::func::{Func, Val, mem};
use super::layout::{
    self, ABI_VERSION, DATA_BASE, H_AS_OF, H_COUNT, H_INDEX, H_PARAMS, H_RELOC, H_RELOC_COUNT,
    H_RELOCATED, HEADER_SIZE, MEMO_TABLE, RESULT_HEADER, RecordLayout, event,
};
use super::runtime::{
    self, ARENA, EVENT, G_AS_OF, G_EXPLAIN, G_FIRST, G_GEN, G_LAST, G_PARAMS, G_RESULT_LEN,
    G_RETURNED, G_TOP, HELPERS,
};
use crate::diagnostic::Diagnostic;
use crate::ir::{Program, Stage, SubjectId, Type};
use crate::source::Span;

/// A table in the static data, with the slots' mask.
#[derive(Clone, Copy)]
pub(super) enum TableAt {
    /// Codes that are all digits: the hash slots of their keys
    /// (`runtime::table_keys`).
    Keys { slots: i32, mask: i32 },
    /// Any other codes: their packed text payloads (sorted) and the hash
    /// slots of their indices (`runtime::table`).
    Texts { codes: i32, slots: i32, mask: i32 },
}

/// The state of one module's generation.
pub(super) struct Gen<'p> {
    pub p: &'p Program,
    pub layouts: Vec<RecordLayout>,
    /// Static data, placed at `data_base`.
    pub data: Vec<u8>,
    /// Where static data starts: after the memo tables.
    data_base: u32,
    /// The memo table of each shared definition ([`Program::shared_defs`]).
    pub memo: Vec<Option<u32>>,
    /// The definitions written in place of their calls
    /// ([`Program::inlined_defs`]).
    pub inline: Vec<bool>,
    texts: HashMap<String, i64>,
    /// Where each table is in the static data.
    pub tables: Vec<TableAt>,
    pub def_base: u32,
    pub ruleset_base: u32,
    pub ser_base: u32,
    /// The types that have a serialiser, by serialiser index.
    pub sers: Vec<Type>,
}

/// One function's generation: the function and where each IR local lives.
pub(super) struct Fx {
    pub f: Func,
    pub frame: Vec<Option<Val>>,
    /// IR locals that keep one value for the whole call (a definition's
    /// parameters, a ruleset's subjects and `let`s once set).
    pub stable: Vec<crate::ir::LocalId>,
    /// Calls of a definition on stable arguments already placed in this
    /// function: a flag (set once evaluated) and the value (see
    /// `Gen::call`).
    pub calls: HashMap<CallKey, (u32, Val)>,
}

/// A definition applied to arguments that cannot change during the call
/// of the function being generated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct CallKey {
    pub def: u32,
    pub args: Vec<ArgKey>,
}

/// A stable argument: a stable local, or a field of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum ArgKey {
    Local(u32),
    Field(Box<ArgKey>, u32),
}

impl Fx {
    pub fn new(params: u32) -> Fx {
        Fx {
            f: Func::new(params),
            frame: Vec::new(),
            stable: Vec::new(),
            calls: HashMap::new(),
        }
    }

    pub fn local(&mut self, id: crate::ir::LocalId) -> Val {
        let i = id.index();
        if self.frame.len() <= i {
            self.frame.resize(i + 1, None);
        }
        match self.frame.get(i).copied().flatten() {
            Some(v) => v,
            None => {
                let v = self.f.val();
                if let Some(slot) = self.frame.get_mut(i) {
                    *slot = Some(v);
                }
                v
            }
        }
    }
}

impl Gen<'_> {
    /// A text literal in the data segment, as a packed payload.
    pub fn text_const(&mut self, s: &str) -> i64 {
        if let Some(&t) = self.texts.get(s) {
            return t;
        }
        let ptr = self.data_base + self.data.len() as u32;
        self.data.extend_from_slice(s.as_bytes());
        let t = i64::from(ptr) | (s.len() as i64) << 32;
        self.texts.insert(s.to_string(), t);
        t
    }

    fn align_data(&mut self) {
        let len = self.data.len().next_multiple_of(8);
        self.data.resize(len, 0);
    }

    /// Appends `bytes` to the static data, 8-aligned; their address.
    fn place(&mut self, bytes: impl IntoIterator<Item = u8>) -> i32 {
        self.align_data();
        let at = self.data_base + self.data.len() as u32;
        self.data.extend(bytes);
        at as i32
    }
}

/// [`compile_module`] within the module size limit
/// ([`MAX_MODULE_BYTES`](crate::limits::MAX_MODULE_BYTES)): a larger module
/// is E0906. What a caller that runs the module should use.
pub fn compile_module_checked(program: &Program) -> Result<Vec<u8>, Diagnostic> {
    compile_module_within(program, crate::limits::MAX_MODULE_BYTES)
}

/// [`compile_module`], refusing (E0906) a module larger than `max_bytes` or
/// one that passes WebAssembly's own limits (50,000 locals in a function,
/// for one: a ruleset is one function). Code generation is linear in the
/// size of the program, which the other limits bound, so the module is
/// checked once, at the end, by validating it.
pub fn compile_module_within(program: &Program, max_bytes: usize) -> Result<Vec<u8>, Diagnostic> {
    let problem = match generate(program, max_bytes) {
        None => format!("the compiled module would be more than {max_bytes} bytes"),
        Some(wasm) if wasm.len() > max_bytes => format!(
            "the compiled module would be {} bytes, more than {max_bytes}",
            wasm.len()
        ),
        Some(wasm) => match wasmparser::validate(&wasm) {
            Ok(_) => return Ok(wasm),
            Err(e) => format!(
                "the compiled module passes a limit of WebAssembly: {}",
                e.message()
            ),
        },
    };
    let at = program.rulesets.first().map(|r| r.span).unwrap_or_default();
    Err(Diagnostic::new(
        "E0906",
        Span {
            end: at.start,
            ..at
        },
        problem,
    )
    .with_help("split the rules into separate rulesets compiled on their own"))
}

/// Compiles the whole program (every ruleset) to one module that imports
/// nothing and exports the ABI of docs/abi.md. No size limit: see
/// [`compile_module_checked`].
pub fn compile_module(program: &Program) -> Vec<u8> {
    generate(program, usize::MAX).unwrap_or_default()
}

/// The module, or `None` as soon as its function bodies alone pass
/// `max_bytes`: a program far over the limit stops early rather than
/// holding a module many times the limit in memory (a 14 MB upload of
/// definitions generated 350 MB of code before it was refused).
fn generate(program: &Program, max_bytes: usize) -> Option<Vec<u8>> {
    // The memo tables come first, zeroed by the memory itself (no bytes in
    // the data segment), then the static data.
    let mut memo_end = DATA_BASE;
    let memo: Vec<Option<u32>> = program
        .shared_defs()
        .into_iter()
        .map(|shared| {
            shared.then(|| {
                let at = memo_end;
                memo_end += MEMO_TABLE;
                at
            })
        })
        .collect();
    let mut g = Gen {
        p: program,
        layouts: layout::layouts(&program.schema),
        data: Vec::new(),
        data_base: memo_end,
        memo,
        inline: program.inlined_defs(),
        texts: HashMap::new(),
        tables: Vec::new(),
        def_base: HELPERS,
        ruleset_base: HELPERS + program.defs.len() as u32,
        ser_base: HELPERS + (program.defs.len() + program.rulesets.len()) as u32,
        sers: Vec::new(),
    };
    for table in &program.tables {
        // A table of digit codes (the village codes) keeps only their keys;
        // any other keeps its codes as texts.
        let keys: Option<Vec<u64>> = table.codes.iter().map(|c| digit_key(c)).collect();
        let at = match keys {
            Some(keys) => {
                let (slots, mask) = key_slots(&keys);
                TableAt::Keys {
                    slots: g.place(slots.iter().flat_map(|s| s.to_le_bytes())),
                    mask: mask as i32,
                }
            }
            None => {
                let codes: Vec<i64> = table.codes.iter().map(|c| g.text_const(c)).collect();
                let (slots, mask) = hash_slots(&table.codes);
                TableAt::Texts {
                    codes: g.place(codes.iter().flat_map(|c| c.to_le_bytes())),
                    slots: g.place(slots.iter().flat_map(|s| s.to_le_bytes())),
                    mask: mask as i32,
                }
            }
        };
        g.tables.push(at);
    }
    g.sers = super::trace::serialised_types(program);

    // (params, results, body) of every function, in index order.
    let mut funcs: Vec<(Vec<ValType>, Vec<ValType>, Function)> = runtime::helpers()
        .into_iter()
        .map(|(p, r, f)| (p, r, f.finish()))
        .collect();
    let mut bodies = 0usize;
    let mut within = |body: &Function| {
        bodies = bodies.saturating_add(body.byte_len());
        (bodies <= max_bytes).then_some(())
    };
    for (d, def) in program.defs.iter().enumerate() {
        // A shared definition also takes its memo entry's address.
        let shared = g.memo.get(d).is_some_and(Option::is_some);
        let params = def.params.iter().flat_map(|_| [ValType::I64, ValType::I32]);
        let entry = shared.then_some(ValType::I32);
        let body = super::trace::def_function(&mut g, def, shared);
        within(&body)?;
        funcs.push((
            params.chain(entry).collect(),
            vec![ValType::I64, ValType::I32],
            body,
        ));
    }
    for (k, ruleset) in program.rulesets.iter().enumerate() {
        let params = vec![ValType::I64; ruleset.subject_locals.len()];
        let body = super::trace::ruleset_function(&mut g, k, ruleset);
        within(&body)?;
        funcs.push((params, vec![], body));
    }
    for ty in g.sers.clone() {
        let body = super::trace::serialiser(&mut g, &ty);
        within(&body)?;
        funcs.push((vec![ValType::I64], vec![ValType::I64], body));
    }
    let household = funcs.len() as u32;
    funcs.push((
        vec![ValType::I32, ValType::I32],
        vec![],
        household_function(&mut g).finish(),
    ));
    g.align_data();
    let heap = (g.data_base + g.data.len() as u32).next_multiple_of(8);
    let memo = (DATA_BASE, memo_end - DATA_BASE);
    let exports: [(&str, Vec<ValType>, Func); 5] = [
        ("alloc", vec![ValType::I32], alloc_function(heap)),
        (
            "evaluate",
            vec![ValType::I32, ValType::I32],
            evaluate_function(household, true, memo),
        ),
        (
            "decide",
            vec![ValType::I32, ValType::I32],
            evaluate_function(household, false, memo),
        ),
        ("abi_version", vec![], constant(ABI_VERSION as i32)),
        ("result_len", vec![], {
            let mut f = Func::new(0);
            f.e(I::GlobalGet(G_RESULT_LEN));
            f
        }),
    ];
    let mut export_section = ExportSection::new();
    export_section.export("memory", ExportKind::Memory, 0);
    for (name, params, f) in exports {
        export_section.export(name, ExportKind::Func, funcs.len() as u32);
        funcs.push((params, vec![ValType::I32], f.finish()));
    }

    let mut types = TypeSection::new();
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    for (i, (params, results, body)) in funcs.iter().enumerate() {
        types.ty().function(params.clone(), results.clone());
        functions.function(i as u32);
        code.function(body);
    }
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: u64::from(heap.div_ceil(65536) + 1),
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut globals = GlobalSection::new();
    for ty in [
        ValType::I32,
        ValType::I32,
        ValType::I32,
        ValType::I64,
        ValType::I32,
        ValType::I32,
        ValType::I32,
        ValType::I32,
        ValType::I32,
    ] {
        let init = match ty {
            ValType::I64 => ConstExpr::i64_const(0),
            _ => ConstExpr::i32_const(0),
        };
        globals.global(
            GlobalType {
                val_type: ty,
                mutable: true,
                shared: false,
            },
            &init,
        );
    }
    let mut data = DataSection::new();
    data.active(
        0,
        &ConstExpr::i32_const(g.data_base as i32),
        g.data.iter().copied(),
    );

    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&globals)
        .section(&export_section)
        .section(&code)
        .section(&data);
    Some(module.finish())
}

/// A digit code's key for `runtime::table_keys`: a 1, then the code's
/// digits, read as a number (the leading 1 keeps `"07"` apart from `"7"`,
/// and no key is 0, the empty slot). `None` for a code that is not 0 to
/// `MAX_KEY_DIGITS` ASCII digits.
pub(super) fn digit_key(code: &str) -> Option<u64> {
    if code.len() > runtime::MAX_KEY_DIGITS as usize {
        return None;
    }
    code.bytes().try_fold(1u64, |key, b| {
        b.is_ascii_digit().then(|| key * 10 + u64::from(b - b'0'))
    })
}

/// The hash slots of a table's digit keys (the slot `runtime::table_keys`
/// starts from): each slot holds a key, 0 when empty.
fn key_slots(keys: &[u64]) -> (Vec<u64>, u32) {
    open_slots(keys.iter().map(|&key| (key_hash(key), key)), keys.len())
}

/// Where `runtime::table_keys` starts looking for `key` (before the mask).
fn key_hash(key: u64) -> u32 {
    (key.wrapping_mul(runtime::KEY_HASH) >> 32) as u32
}

/// FNV-1a over a text's bytes: the hash of a table's slots, computed the
/// same way by `runtime::table`.
pub(super) fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811C_9DC5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The hash slots of a table's codes (by FNV-1a, as `runtime::table`
/// hashes them): each slot holds a code's index plus one, 0 when empty.
fn hash_slots(codes: &[String]) -> (Vec<u32>, u32) {
    let indices = codes.iter().zip(1u32..);
    open_slots(
        indices.map(|(code, i)| (fnv1a(code.as_bytes()), i)),
        codes.len(),
    )
}

/// An open-addressing hash table (linear probing) of `len` distinct values,
/// each placed from its hash masked; `T::default()` marks an empty slot and
/// is no value. At most two thirds full, so a lookup costs a probe or two
/// and always meets an empty slot. The slots and the mask.
fn open_slots<T: Copy + Default + PartialEq>(
    values: impl Iterator<Item = (u32, T)>,
    len: usize,
) -> (Vec<T>, u32) {
    let size = (len * 3 / 2 + 1).max(8).next_power_of_two();
    let mask = size as u32 - 1;
    let mut slots = vec![T::default(); size];
    for (hash, value) in values {
        let mut h = hash & mask;
        while let Some(slot) = slots.get_mut(h as usize) {
            if *slot == T::default() {
                *slot = value;
                break;
            }
            h = (h + 1) & mask;
        }
    }
    (slots, mask)
}

fn constant(n: i32) -> Func {
    let mut f = Func::new(0);
    f.e(I::I32Const(n));
    f
}

/// `alloc(size)`: the place for the input, right after the static data.
/// Each call forgets the previous input and results.
fn alloc_function(heap: u32) -> Func {
    let mut f = Func::new(1);
    let end = f.i32();
    f.all([I::LocalGet(0), I::I32Const(0), I::I32LtS]);
    f.if_();
    f.all([I::I32Const(0), I::Return]);
    f.end();
    f.all([
        I::LocalGet(0),
        I::I32Const(heap as i32),
        I::I32Add,
        I::LocalSet(end),
    ]);
    runtime::grow_to(&mut f, end, false);
    f.all([
        I::LocalGet(end),
        I::GlobalSet(G_TOP),
        I::I32Const(heap as i32),
    ]);
    f
}

/// `evaluate` (with `explain`: the whole trace) or `decide` (only what the
/// summary needs). `memo` is the memo tables' address and length.
fn evaluate_function(household: u32, explain: bool, memo: (u32, u32)) -> Func {
    use layout::error::{BAD_INPUT, BAD_RELOCATION, BAD_VERSION};
    let mut f = Func::new(2);
    f.all([I::I32Const(i32::from(explain)), I::GlobalSet(G_EXPLAIN)]);
    // The generation only grows; long before it could wrap round to an
    // old entry's, the tables are cleared and it starts again.
    f.all([I::GlobalGet(G_GEN), I::I32Const(0x4000_0000), I::I32GeU]);
    f.if_();
    f.all([
        I::I32Const(memo.0 as i32),
        I::I32Const(0),
        I::I32Const(memo.1 as i32),
        I::MemoryFill(0),
        I::I32Const(0),
        I::GlobalSet(G_GEN),
    ]);
    f.end();
    let (ptr, len) = (0, 1);
    let fail = |f: &mut Func, code: i32| {
        f.if_();
        f.all([I::I32Const(code), I::Return]);
        f.end();
    };
    f.all([I::LocalGet(len), I::I32Const(HEADER_SIZE as i32), I::I32LtS]);
    fail(&mut f, BAD_INPUT);
    f.all([
        I::LocalGet(ptr),
        I::I64ExtendI32U,
        I::LocalGet(len),
        I::I64ExtendI32U,
        I::I64Add,
        I::MemorySize(0),
        I::I64ExtendI32U,
        I::I64Const(16),
        I::I64Shl,
        I::I64GtU,
    ]);
    fail(&mut f, BAD_INPUT);
    f.all([
        I::LocalGet(ptr),
        I::I32Load(mem(0)),
        I::I32Const(ABI_VERSION as i32),
        I::I32Ne,
    ]);
    fail(&mut f, BAD_VERSION);
    f.all([I::LocalGet(ptr), I::I32Load(mem(H_RELOCATED)), I::I32Eqz]);
    f.if_();
    let table = f.i32();
    let count = f.i32();
    let k = f.i32();
    let off = f.i32();
    f.all([
        I::LocalGet(ptr),
        I::I32Load(mem(H_RELOC)),
        I::LocalSet(table),
        I::LocalGet(ptr),
        I::I32Load(mem(H_RELOC_COUNT)),
        I::LocalSet(count),
        I::LocalGet(table),
        I::I64ExtendI32U,
        I::LocalGet(count),
        I::I64ExtendI32U,
        I::I64Const(4),
        I::I64Mul,
        I::I64Add,
        I::LocalGet(len),
        I::I64ExtendI32U,
        I::I64GtU,
    ]);
    fail(&mut f, BAD_RELOCATION);
    f.loop_start(k, count);
    f.all([
        I::LocalGet(ptr),
        I::LocalGet(table),
        I::I32Add,
        I::LocalGet(k),
        I::I32Const(2),
        I::I32Shl,
        I::I32Add,
        I::I32Load(mem(0)),
        I::LocalTee(off),
        I::LocalGet(len),
        I::I32Const(4),
        I::I32Sub,
        I::I32GtU,
    ]);
    fail(&mut f, BAD_RELOCATION);
    f.all([
        I::LocalGet(ptr),
        I::LocalGet(off),
        I::I32Add,
        I::LocalGet(ptr),
        I::LocalGet(off),
        I::I32Add,
        I::I32Load(mem(0)),
        I::LocalGet(ptr),
        I::I32Add,
        I::I32Store(mem(0)),
    ]);
    f.loop_end(k);
    f.all([
        I::LocalGet(ptr),
        I::I32Const(1),
        I::I32Store(mem(H_RELOCATED)),
    ]);
    f.end();
    f.all([
        I::LocalGet(ptr),
        I::I32Load(mem(H_AS_OF)),
        I::I64ExtendI32S,
        I::GlobalSet(G_AS_OF),
        I::LocalGet(ptr),
        I::LocalGet(ptr),
        I::I32Load(mem(H_PARAMS)),
        I::I32Add,
        I::GlobalSet(G_PARAMS),
        I::LocalGet(ptr),
        I::LocalGet(len),
        I::I32Add,
        I::GlobalSet(G_TOP),
        I::I32Const(0),
        I::GlobalSet(G_FIRST),
        I::I32Const(0),
        I::GlobalSet(G_LAST),
    ]);
    let header = f.i32();
    let index = f.i32();
    let h = f.i32();
    f.all([
        I::I32Const(RESULT_HEADER as i32),
        I::Call(ARENA),
        I::LocalSet(header),
        I::LocalGet(ptr),
        I::I32Load(mem(H_COUNT)),
        I::LocalSet(count),
        I::LocalGet(ptr),
        I::LocalGet(ptr),
        I::I32Load(mem(H_INDEX)),
        I::I32Add,
        I::LocalSet(index),
    ]);
    f.loop_start(h, count);
    f.all([
        I::LocalGet(h),
        I::LocalGet(index),
        I::LocalGet(h),
        I::I32Const(2),
        I::I32Shl,
        I::I32Add,
        I::I32Load(mem(0)),
        I::Call(household),
    ]);
    f.loop_end(h);
    let words: [Vec<I<'static>>; 5] = [
        vec![I::I32Const(ABI_VERSION as i32)],
        vec![I::LocalGet(header)],
        vec![I::LocalGet(count)],
        vec![I::GlobalGet(G_FIRST)],
        vec![I::GlobalGet(G_TOP), I::LocalGet(header), I::I32Sub],
    ];
    for (i, word) in words.into_iter().enumerate() {
        f.e(I::LocalGet(header));
        f.all(word);
        f.e(I::I32Store(mem(4 * i as u32)));
    }
    f.all([
        I::GlobalGet(G_TOP),
        I::LocalGet(header),
        I::I32Sub,
        I::GlobalSet(G_RESULT_LEN),
        I::LocalGet(header),
    ]);
    f
}

/// `household(index, root)`: verification, the status, then (when
/// verified) determination, each ruleset over every instance.
fn household_function(g: &mut Gen<'_>) -> Func {
    let mut f = Func::new(2);
    let ev = |f: &mut Func, kind: u32, a: Vec<I<'static>>| {
        f.e(I::I32Const(kind as i32));
        f.all(a);
        f.all([
            I::I32Const(0),
            I::I32Const(0),
            I::I64Const(0),
            I::Call(EVENT),
        ]);
    };
    ev(&mut f, event::HOUSEHOLD, vec![I::LocalGet(0)]);
    f.all([
        I::I32Const(0),
        I::GlobalSet(G_RETURNED),
        I::GlobalGet(G_GEN),
        I::I32Const(1),
        I::I32Add,
        I::GlobalSet(G_GEN),
    ]);
    f.all([I::LocalGet(1)]);
    f.if_();
    for stage in [Stage::Verification, Stage::Determination] {
        if stage == Stage::Determination {
            f.end();
            ev(
                &mut f,
                event::STATUS,
                vec![I::GlobalGet(G_RETURNED), I::I32Eqz],
            );
            f.all([
                I::LocalGet(1),
                I::I32Const(0),
                I::I32Ne,
                I::GlobalGet(G_RETURNED),
                I::I32Eqz,
                I::I32And,
            ]);
            f.if_();
        }
        for (k, ruleset) in g.p.rulesets.iter().enumerate() {
            if ruleset.stage == stage {
                let root = f.i64();
                f.all([I::LocalGet(1), I::I64ExtendI32U, I::LocalSet(root)]);
                let chain = g.p.schema.chain(ruleset.subject);
                instances(g, &mut f, &chain, vec![root], g.ruleset_base + k as u32);
            }
        }
    }
    f.end();
    f
}

/// Nested loops over the instances of a subject chain, calling the
/// ruleset's function with the chain's records.
fn instances(g: &Gen<'_>, f: &mut Func, chain: &[SubjectId], bound: Vec<u32>, func: u32) {
    let schema = &g.p.schema;
    let starts_at_root = chain
        .first()
        .and_then(|s| schema.subjects.get(s.index()))
        .is_some_and(|s| s.parent.is_none());
    if !starts_at_root {
        return;
    }
    let Some(next) = chain.get(bound.len()) else {
        for l in &bound {
            f.get(*l);
        }
        f.e(I::Call(func));
        return;
    };
    let parent_record = chain
        .get(bound.len() - 1)
        .and_then(|s| schema.subjects.get(s.index()))
        .map(|s| s.record);
    let field = schema.subjects.get(next.index()).and_then(|s| s.parent);
    let (Some(record), Some((_, field)), Some(parent)) = (parent_record, field, bound.last())
    else {
        return;
    };
    let Some(offset) = g
        .layouts
        .get(record.index())
        .and_then(|l| l.fields.get(field as usize))
    else {
        return;
    };
    let parent = *parent;
    present_bit(f, parent, field);
    f.if_();
    let list = f.i64();
    let count = f.i32();
    let i = f.i32();
    let child = f.i64();
    f.lo(parent);
    f.all([I::I64Load(mem(*offset)), I::LocalSet(list)]);
    f.hi(list);
    f.set(count);
    f.loop_start(i, count);
    f.lo(list);
    f.all([
        I::LocalGet(i),
        I::I32Const(3),
        I::I32Shl,
        I::I32Add,
        I::I64Load(mem(0)),
        I::LocalSet(child),
    ]);
    let mut deeper = bound.clone();
    deeper.push(child);
    instances(g, f, chain, deeper, func);
    f.loop_end(i);
    f.end();
}

/// Pushes whether field `field` of the record at `rec` (an `i64` local
/// holding its address) is present.
pub(super) fn present_bit(f: &mut Func, rec: u32, field: u32) {
    f.lo(rec);
    f.all([
        I::I32Load(mem(layout::PRESENCE + 4 * (field / 32))),
        I::I32Const(1 << (field % 32)),
        I::I32And,
    ]);
}

#[cfg(test)]
mod tests {
    use super::{digit_key, key_slots};

    #[test]
    fn digit_keys_tell_every_digit_code_apart() {
        assert_eq!(digit_key(""), Some(1));
        assert_eq!(digit_key("7"), Some(17));
        assert_eq!(digit_key("007"), Some(1007));
        assert_eq!(digit_key("3310012001"), Some(13_310_012_001));
        assert_eq!(digit_key(&"9".repeat(18)), Some(1_999_999_999_999_999_999));
        // Past 18 digits, signs, spaces and other scripts' digits: no key
        // (the table then keeps its codes as texts).
        for code in [&"1".repeat(19) as &str, "-1", "1 2", "12a", "١٢٣"] {
            assert_eq!(digit_key(code), None, "{code}");
        }
    }

    #[test]
    fn key_slots_hold_every_key_once_and_leave_room() {
        let keys: Vec<u64> = (0..1000u64).map(|n| 1_000_000 + n * 7).collect();
        let (slots, mask) = key_slots(&keys);
        assert_eq!(slots.len(), mask as usize + 1);
        assert!(slots.len() >= keys.len() * 3 / 2);
        let mut held: Vec<u64> = slots.iter().copied().filter(|k| *k != 0).collect();
        held.sort_unstable();
        assert_eq!(held, keys);
    }
}
