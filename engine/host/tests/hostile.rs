//! The sandbox under attack: hand-written malicious modules (WAT) are given to
//! the runtime, each failure must come back as the right typed error, and the
//! same `Runtime` must then still serve a well-behaved module. Also the
//! caches, concurrency and the real module compiled from the shipped rules.
//!
//! Run with `--nocapture` to see every limit firing with its message.

use std::path::{Path, PathBuf};
use std::time::Instant;

use layak_dsl::date::Date;
use layak_dsl::eval::{EvalContext, evaluate};
use layak_dsl::record::decode_line;
use layak_dsl::value::Value;
use layak_dsl::wasm::{Names, compile_module, decode_results, decode_summaries, encode_batch};
use layak_host::sandbox::{
    ErrorCode, Export, Limits, LoadOutcome, LoadedModule, Runtime, RuntimeConfig, RuntimeError,
};

/// Small limits so that hostile modules are stopped quickly.
fn tight() -> Limits {
    Limits {
        fuel: 20_000_000,
        memory_bytes: 16 << 20,
        stack_bytes: 256 << 10,
    }
}

fn new_runtime(limits: Limits, cache_dir: Option<PathBuf>) -> Runtime {
    Runtime::new(RuntimeConfig {
        limits,
        cache_dir,
        abi_version: 1,
        max_instances: 32,
    })
    .expect("the runtime starts")
}

/// A runtime for modules the compiler made (their real ABI version).
fn shipped_runtime(cache_dir: Option<PathBuf>) -> Runtime {
    Runtime::new(RuntimeConfig {
        limits: Limits::default(),
        cache_dir,
        abi_version: layak_dsl::wasm::ABI_VERSION,
        max_instances: 32,
    })
    .expect("the runtime starts")
}

/// A fresh, empty directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("layak-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A module following the ABI whose parts can be replaced. Memory layout:
/// the input at 1024, the output right after it.
struct Wat<'a> {
    abi_version: &'a str,
    alloc: &'a str,
    evaluate: &'a str,
    result_len: &'a str,
    memory: &'a str,
    extra: &'a str,
}

const ECHO: Wat<'static> = Wat {
    abi_version: "(i32.const 1)",
    // Makes room for the input and the output (2 * size bytes at 1024).
    alloc: "(local $pages i32)
        (local.set $pages (i32.shr_u (i32.add (i32.add (i32.const 1024)
            (i32.shl (local.get $size) (i32.const 1))) (i32.const 65535)) (i32.const 16)))
        (if (i32.gt_u (local.get $pages) (memory.size))
          (then (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
            (then (return (i32.const 0))))))
        (i32.const 1024)",
    // Copies the input right after itself.
    evaluate:
        "(memory.copy (i32.add (local.get $ptr) (local.get $len)) (local.get $ptr) (local.get $len))
        (global.set $len (local.get $len))
        (i32.add (local.get $ptr) (local.get $len))",
    result_len: "(global.get $len)",
    memory: "(memory (export \"memory\") 1)",
    extra: "",
};

impl Wat<'_> {
    fn text(&self) -> String {
        format!(
            r#"(module
  {memory}
  (global $len (mut i32) (i32.const 0))
  (func (export "abi_version") (result i32) {abi_version})
  (func (export "alloc") (param $size i32) (result i32) {alloc})
  (func (export "evaluate") (param $ptr i32) (param $len i32) (result i32) {evaluate})
  (func (export "decide") (param $ptr i32) (param $len i32) (result i32) {evaluate})
  (func (export "result_len") (result i32) {result_len})
  {extra}
)"#,
            memory = self.memory,
            abi_version = self.abi_version,
            alloc = self.alloc,
            evaluate = self.evaluate,
            result_len = self.result_len,
            extra = self.extra,
        )
    }

    fn wasm(&self) -> Vec<u8> {
        wat::parse_str(self.text()).expect("the test module parses")
    }
}

fn wasm(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("the test module parses")
}

/// Proves the runtime still serves: the echo module loads and echoes.
fn still_serves(runtime: &Runtime) {
    let echo = runtime.load(&ECHO.wasm()).expect("the echo module loads");
    let input = b"the runtime keeps serving".repeat(100);
    assert_eq!(echo.call(&input).expect("echo runs"), input);
}

fn show(what: &str, err: &RuntimeError) {
    println!("{what:<28} -> {err}");
}

/// Loading `wasm` fails with `code`; then the runtime still serves.
fn rejected_at_load(runtime: &Runtime, what: &str, wasm: &[u8], code: ErrorCode) -> RuntimeError {
    let err = runtime
        .load(wasm)
        .err()
        .unwrap_or_else(|| panic!("{what}: expected {code} at load, it loaded"));
    show(what, &err);
    assert_eq!(err.kind(), code, "{what}: {err}");
    assert_eq!(err.code(), code.as_str());
    still_serves(runtime);
    err
}

/// `wasm` loads, but calling it fails with `code`; then the runtime still
/// serves.
fn fails_at_call(runtime: &Runtime, what: &str, wasm: &[u8], code: ErrorCode) -> RuntimeError {
    let module = runtime
        .load(wasm)
        .unwrap_or_else(|e| panic!("{what}: expected to load, got {e}"));
    let err = module
        .call(b"some input")
        .err()
        .unwrap_or_else(|| panic!("{what}: expected {code}, the call succeeded"));
    show(what, &err);
    assert_eq!(err.kind(), code, "{what}: {err}");
    still_serves(runtime);
    err
}

/// One runtime per process, shared by every thread; sessions move to workers.
#[test]
fn runtime_types_are_shareable() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Runtime>();
    send_sync::<LoadedModule>();
    send::<layak_host::sandbox::Session>();
    send_sync::<RuntimeError>();
}

#[test]
fn echo_module_round_trips() {
    let runtime = new_runtime(tight(), None);
    let echo = runtime.load(&ECHO.wasm()).unwrap();
    assert_eq!(echo.outcome(), LoadOutcome::Compiled);
    for input in [&b""[..], b"x", &[7u8; 200_000]] {
        assert_eq!(echo.call(input).unwrap(), input);
    }
}

#[test]
fn infinite_loop_is_stopped_by_fuel() {
    let runtime = new_runtime(tight(), None);
    let looping = Wat {
        evaluate: "(loop $forever (br $forever)) (i32.const 0)",
        ..ECHO
    };
    let started = Instant::now();
    let err = fails_at_call(
        &runtime,
        "infinite loop",
        &looping.wasm(),
        ErrorCode::Timeout,
    );
    assert!(err.message().contains("20000000 fuel units"), "{err}");
    println!("  (stopped after {:?})", started.elapsed());
}

#[test]
fn memory_grow_bomb_hits_the_cap() {
    let runtime = new_runtime(tight(), None);
    let bomb = Wat {
        evaluate: "(loop $more (drop (memory.grow (i32.const 16))) (br $more)) (i32.const 0)",
        ..ECHO
    };
    let err = fails_at_call(
        &runtime,
        "memory.grow bomb",
        &bomb.wasm(),
        ErrorCode::Memory,
    );
    assert!(
        err.message().contains("over the cap of 16777216 bytes"),
        "{err}"
    );
}

#[test]
fn huge_initial_memory_is_rejected_at_load() {
    let runtime = new_runtime(tight(), None);
    let greedy = Wat {
        memory: "(memory (export \"memory\") 1000)",
        ..ECHO
    };
    rejected_at_load(
        &runtime,
        "initial memory over cap",
        &greedy.wasm(),
        ErrorCode::Memory,
    );
}

#[test]
fn alloc_returning_zero_is_out_of_memory() {
    let runtime = new_runtime(tight(), None);
    let full = Wat {
        alloc: "(i32.const 0)",
        ..ECHO
    };
    fails_at_call(&runtime, "alloc returns 0", &full.wasm(), ErrorCode::Memory);
}

#[test]
fn infinite_recursion_overflows_the_stack() {
    let runtime = new_runtime(tight(), None);
    let recursive = Wat {
        evaluate: "(call $down (i32.const 0))",
        extra: "(func $down (param $n i32) (result i32)
            (call $down (i32.add (local.get $n) (i32.const 1))))",
        ..ECHO
    };
    fails_at_call(
        &runtime,
        "infinite recursion",
        &recursive.wasm(),
        ErrorCode::Stack,
    );
}

#[test]
fn deep_recursion_with_big_frames_overflows_the_stack() {
    // Finite but deep (a million frames with many live locals): not a loop,
    // so it is the stack limit, not fuel, that stops it.
    let runtime = new_runtime(
        Limits {
            fuel: 1_000_000_000,
            ..tight()
        },
        None,
    );
    let deep = Wat {
        evaluate: "(call $deep (i32.const 1000000))",
        extra: "(func $deep (param $n i32) (result i32)
            (local $a i64) (local $b i64) (local $c i64) (local $d i64)
            (if (result i32) (i32.eqz (local.get $n))
              (then (i32.const 0))
              (else (i32.add (call $deep (i32.sub (local.get $n) (i32.const 1)))
                             (i32.wrap_i64 (i64.add (local.get $a) (local.get $d)))))))",
        ..ECHO
    };
    fails_at_call(&runtime, "deep recursion", &deep.wasm(), ErrorCode::Stack);
}

#[test]
fn out_of_bounds_access_traps() {
    let runtime = new_runtime(tight(), None);
    let oob = Wat {
        evaluate: "(i32.load (i32.const -4))",
        ..ECHO
    };
    let err = fails_at_call(&runtime, "out-of-bounds load", &oob.wasm(), ErrorCode::Trap);
    assert!(
        err.message().contains("out of bounds memory access"),
        "{err}"
    );
}

#[test]
fn unreachable_traps() {
    let runtime = new_runtime(tight(), None);
    let dead = Wat {
        evaluate: "(unreachable)",
        ..ECHO
    };
    let err = fails_at_call(&runtime, "unreachable", &dead.wasm(), ErrorCode::Trap);
    assert!(err.message().contains("unreachable"), "{err}");
}

#[test]
fn division_by_zero_traps() {
    let runtime = new_runtime(tight(), None);
    let div = Wat {
        evaluate: "(i32.div_u (local.get $len) (i32.const 0))",
        ..ECHO
    };
    fails_at_call(&runtime, "division by zero", &div.wasm(), ErrorCode::Trap);
}

#[test]
fn a_module_with_imports_is_rejected() {
    let runtime = new_runtime(tight(), None);
    let importing = Wat {
        memory: "(import \"env\" \"exfiltrate\" (func $out (param i32)))
            (memory (export \"memory\") 1)",
        ..ECHO
    };
    let err = rejected_at_load(
        &runtime,
        "imports a function",
        &importing.wasm(),
        ErrorCode::Abi,
    );
    assert!(err.message().contains("`env::exfiltrate`"), "{err}");
}

#[test]
fn missing_or_mistyped_exports_are_rejected() {
    let runtime = new_runtime(tight(), None);
    let no_result_len = wasm(
        r#"(module (memory (export "memory") 1)
            (func (export "abi_version") (result i32) (i32.const 1))
            (func (export "alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "evaluate") (param i32 i32) (result i32) (i32.const 0)))"#,
    );
    let err = rejected_at_load(
        &runtime,
        "missing result_len",
        &no_result_len,
        ErrorCode::Abi,
    );
    assert!(err.message().contains("`result_len`"), "{err}");

    let no_memory = ECHO
        .text()
        .replace("(memory (export \"memory\") 1)", "(memory 1)");
    rejected_at_load(
        &runtime,
        "memory not exported",
        &wasm(&no_memory),
        ErrorCode::Abi,
    );

    let wrong_type = ECHO.text().replace(
        "(func (export \"result_len\") (result i32) (global.get $len))",
        "(func (export \"result_len\") (result i64) (i64.extend_i32_u (global.get $len)))",
    );
    let err = rejected_at_load(
        &runtime,
        "result_len returns i64",
        &wasm(&wrong_type),
        ErrorCode::Abi,
    );
    assert!(err.message().contains("expected () -> (i32)"), "{err}");
}

#[test]
fn wrong_abi_version_is_rejected() {
    let runtime = new_runtime(tight(), None);
    let v7 = Wat {
        abi_version: "(i32.const 7)",
        ..ECHO
    };
    let err = rejected_at_load(&runtime, "abi_version 7", &v7.wasm(), ErrorCode::Abi);
    assert!(err.message().contains("ABI version 7"), "{err}");
}

#[test]
fn abi_version_that_never_returns_times_out_at_load() {
    let runtime = new_runtime(tight(), None);
    let stuck = Wat {
        abi_version: "(loop $l (br $l)) (i32.const 1)",
        ..ECHO
    };
    rejected_at_load(
        &runtime,
        "abi_version loops",
        &stuck.wasm(),
        ErrorCode::Timeout,
    );
}

#[test]
fn a_looping_start_function_times_out_at_load() {
    let runtime = new_runtime(tight(), None);
    let start = Wat {
        extra: "(func $start (loop $l (br $l))) (start $start)",
        ..ECHO
    };
    rejected_at_load(
        &runtime,
        "start function loops",
        &start.wasm(),
        ErrorCode::Timeout,
    );
}

#[test]
fn lying_result_len_is_an_abi_error() {
    let runtime = new_runtime(tight(), None);
    let liar = Wat {
        result_len: "(i32.const 0x7fffffff)",
        ..ECHO
    };
    let err = fails_at_call(&runtime, "result_len lies", &liar.wasm(), ErrorCode::Abi);
    assert!(err.message().contains("outside memory"), "{err}");

    let negative = Wat {
        result_len: "(i32.const -1)",
        ..ECHO
    };
    fails_at_call(
        &runtime,
        "result_len negative",
        &negative.wasm(),
        ErrorCode::Abi,
    );
}

#[test]
fn bad_pointers_and_error_codes_are_abi_errors() {
    let runtime = new_runtime(tight(), None);
    let far_alloc = Wat {
        alloc: "(i32.const 0x7ffffff0)",
        ..ECHO
    };
    fails_at_call(
        &runtime,
        "alloc points past memory",
        &far_alloc.wasm(),
        ErrorCode::Abi,
    );

    let refusing = Wat {
        evaluate: "(i32.const -2)",
        ..ECHO
    };
    let err = fails_at_call(
        &runtime,
        "evaluate returns -2",
        &refusing.wasm(),
        ErrorCode::Abi,
    );
    assert!(err.message().contains("error code -2"), "{err}");
}

#[test]
fn garbage_bytes_do_not_compile() {
    let runtime = new_runtime(tight(), None);
    rejected_at_load(
        &runtime,
        "not wasm",
        b"\0asm\x01\0\0\0garbage",
        ErrorCode::Compile,
    );
    rejected_at_load(&runtime, "empty", b"", ErrorCode::Compile);
}

#[test]
fn errors_display_code_message_and_help() {
    let runtime = new_runtime(tight(), None);
    let looping = Wat {
        evaluate: "(loop $forever (br $forever)) (i32.const 0)",
        ..ECHO
    };
    let err = runtime
        .load(&looping.wasm())
        .unwrap()
        .call(b"")
        .unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with("E_TIMEOUT: `evaluate` used its whole budget"),
        "{shown}"
    );
    assert!(shown.contains("(help: "), "{shown}");
    assert!(!shown.contains('\n'), "one line: {shown}");
}

#[test]
fn a_session_reuses_its_instance_and_recovers_after_a_fault() {
    let runtime = new_runtime(tight(), None);
    // Traps when the first input byte is 0xff, echoes otherwise.
    let picky = Wat {
        evaluate: "(if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 0xff)) (then unreachable))
            (memory.copy (i32.add (local.get $ptr) (local.get $len)) (local.get $ptr) (local.get $len))
            (global.set $len (local.get $len))
            (i32.add (local.get $ptr) (local.get $len))",
        ..ECHO
    };
    let module = runtime.load(&picky.wasm()).unwrap();
    let mut session = module.session();
    assert_eq!(session.call(b"one").unwrap(), b"one");
    let first = session.fuel_used();
    assert_eq!(session.call(b"one").unwrap(), b"one");
    assert_eq!(session.fuel_used(), first, "fuel is deterministic");
    assert!(first > 0);
    let err = session.call(&[0xff, 1, 2]).unwrap_err();
    show("session: bad batch", &err);
    assert_eq!(err.kind(), ErrorCode::Trap);
    assert_eq!(session.call(b"two").unwrap(), b"two");
    // Zero-copy read of the result block.
    let len = session.call_with(b"three", <[u8]>::len).unwrap();
    assert_eq!(len, 5);
    // A smaller budget for one session only.
    session.set_fuel(10);
    assert_eq!(session.call(b"x").unwrap_err().kind(), ErrorCode::Timeout);
}

#[test]
fn concurrent_calls_share_one_module_while_hostile_calls_fail() {
    let runtime = new_runtime(tight(), None);
    let echo: LoadedModule = runtime.load(&ECHO.wasm()).unwrap();
    let looping = runtime
        .load(
            &Wat {
                evaluate: "(loop $forever (br $forever)) (i32.const 0)",
                ..ECHO
            }
            .wasm(),
        )
        .unwrap();
    std::thread::scope(|scope| {
        for t in 0..4u8 {
            let echo = echo.clone();
            scope.spawn(move || {
                let mut session = echo.session();
                for i in 0..200u32 {
                    let input: Vec<u8> = (0..(i * 37 % 5000)).map(|b| (b as u8) ^ t).collect();
                    assert_eq!(session.call(&input).unwrap(), input);
                    assert_eq!(echo.call(&input).unwrap(), input);
                }
            });
        }
        for _ in 0..2 {
            let looping = looping.clone();
            scope.spawn(move || {
                for _ in 0..3 {
                    assert_eq!(looping.call(b"").unwrap_err().kind(), ErrorCode::Timeout);
                }
            });
        }
    });
    // The same module, loaded again from another thread, comes from memory.
    let again =
        std::thread::scope(|s| s.spawn(|| runtime.load(&ECHO.wasm()).unwrap()).join()).unwrap();
    assert_eq!(again.outcome(), LoadOutcome::FromMemory);
    assert_eq!(again.hash(), echo.hash());
}

fn cache_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(files.len(), 1, "one artifact in {}", dir.display());
    files[0].clone()
}

#[test]
fn disk_cache_hits_and_recovers_from_corruption() {
    let dir = temp_dir("cache");
    let wasm = ECHO.wasm();
    let first = new_runtime(tight(), Some(dir.clone()));
    assert_eq!(first.load(&wasm).unwrap().outcome(), LoadOutcome::Compiled);
    assert_eq!(
        first.load(&wasm).unwrap().outcome(),
        LoadOutcome::FromMemory
    );
    first.clear_memory_cache();
    assert_eq!(
        first.load(&wasm).unwrap().outcome(),
        LoadOutcome::FromDiskCache
    );
    let stats = first.stats();
    assert_eq!(
        (stats.compiled, stats.memory_hits, stats.disk_hits),
        (1, 1, 1)
    );

    // A new process (a new runtime) finds the artifact on disk.
    let second = new_runtime(tight(), Some(dir.clone()));
    let module = second.load(&wasm).unwrap();
    assert_eq!(module.outcome(), LoadOutcome::FromDiskCache);
    assert_eq!(module.call(b"cached").unwrap(), b"cached");

    // Damage the artifact three ways; each is recompiled and rewritten.
    let file = cache_file(&dir);
    let good = std::fs::read(&file).unwrap();
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    for (how, bytes) in [
        ("flipped bit", flipped),
        ("truncated", good[..good.len() / 3].to_vec()),
        ("garbage", b"not a cache file".to_vec()),
    ] {
        std::fs::write(&file, bytes).unwrap();
        let runtime = new_runtime(tight(), Some(dir.clone()));
        let module = runtime.load(&wasm).unwrap();
        assert_eq!(module.outcome(), LoadOutcome::Compiled, "{how}");
        assert_eq!(runtime.stats().disk_corrupt, 1, "{how}");
        assert_eq!(module.call(how.as_bytes()).unwrap(), how.as_bytes());
        assert_eq!(std::fs::read(&file).unwrap(), good, "{how}: rewritten");
        let after = new_runtime(tight(), Some(dir.clone()));
        assert_eq!(
            after.load(&wasm).unwrap().outcome(),
            LoadOutcome::FromDiskCache
        );
    }

    // A damaged or missing checksum file: recompiled too.
    let sum = file.with_extension("sum");
    for (how, bytes) in [("bad checksum", Some(vec![0u8; 48])), ("no checksum", None)] {
        match bytes {
            Some(bytes) => std::fs::write(&sum, bytes).unwrap(),
            None => std::fs::remove_file(&sum).unwrap(),
        }
        let runtime = new_runtime(tight(), Some(dir.clone()));
        let module = runtime.load(&wasm).unwrap();
        assert_eq!(module.outcome(), LoadOutcome::Compiled, "{how}");
        assert_eq!(module.call(how.as_bytes()).unwrap(), how.as_bytes());
        let after = new_runtime(tight(), Some(dir.clone()));
        assert_eq!(
            after.load(&wasm).unwrap().outcome(),
            LoadOutcome::FromDiskCache
        );
    }

    // Different limits that change the machine code get their own artifact.
    let bigger_stack = new_runtime(
        Limits {
            stack_bytes: 1 << 20,
            ..tight()
        },
        Some(dir.clone()),
    );
    let module = bigger_stack.load(&wasm).unwrap();
    assert_eq!(module.call(b"ok").unwrap(), b"ok");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unwritable_cache_dir_is_not_fatal() {
    let dir = temp_dir("unwritable");
    // A file where the cache directory should be: nothing can be written.
    let blocked = dir.join("blocked");
    std::fs::write(&blocked, b"").unwrap();
    let runtime = new_runtime(tight(), Some(blocked.join("sub")));
    let module = runtime.load(&ECHO.wasm()).unwrap();
    assert_eq!(module.call(b"fine").unwrap(), b"fine");
    assert_eq!(runtime.stats().disk_write_failures, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_limits_are_a_config_error() {
    let err = Runtime::new(RuntimeConfig {
        limits: Limits {
            fuel: 0,
            ..Limits::default()
        },
        ..RuntimeConfig::default()
    })
    .err()
    .unwrap();
    show("fuel = 0", &err);
    assert_eq!(err.code(), "E_CONFIG");
}

/// The real thing: the module compiled from the shipped rules loads (cold,
/// then from disk, then from memory), and decides the sample households
/// exactly as the interpreter does, through wasmtime.
#[test]
fn shipped_rules_run_in_the_sandbox() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let program = layak_host::load::load_program(&root.join("rules")).unwrap();
    let wasm = compile_module(&program);
    let dir = temp_dir("shipped");

    let cold = shipped_runtime(Some(dir.clone()));
    let started = Instant::now();
    let module = cold.load(&wasm).unwrap();
    let compile_time = started.elapsed();
    assert_eq!(module.outcome(), LoadOutcome::Compiled);

    let warm = shipped_runtime(Some(dir.clone()));
    let started = Instant::now();
    let cached = warm.load(&wasm).unwrap();
    let disk_time = started.elapsed();
    assert_eq!(cached.outcome(), LoadOutcome::FromDiskCache);
    let started = Instant::now();
    assert_eq!(warm.load(&wasm).unwrap().outcome(), LoadOutcome::FromMemory);
    let memory_time = started.elapsed();
    println!(
        "shipped rules: {} wasm bytes; cold compile {compile_time:?}, disk cache {disk_time:?}, memory {memory_time:?}",
        wasm.len()
    );

    let samples = std::fs::read_to_string(root.join("rules/tests/samples.ndjson")).unwrap();
    let households: Vec<Value> = samples
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| decode_line(&program.schema, l).unwrap())
        .collect();
    let ctx = EvalContext::new(Date::parse("2025-10-01").unwrap());
    let batch = encode_batch(&program, &households, &ctx);
    let mut session = cached.session();
    let decisions = session
        .call_with(&batch, |block| {
            decode_results(&program, &households, &ctx, block)
        })
        .unwrap()
        .unwrap();
    println!(
        "{} households: {} fuel units ({} per household)",
        households.len(),
        session.fuel_used(),
        session.fuel_used() / households.len() as u64
    );
    assert_eq!(decisions.len(), households.len());
    for (household, decision) in households.iter().zip(&decisions) {
        assert_eq!(
            serde_json::to_string(decision).unwrap(),
            serde_json::to_string(&evaluate(&program, household, &ctx)).unwrap()
        );
    }
    // The decide path: less work, the same summaries.
    let evaluate_fuel = session.fuel_used();
    let summaries = session
        .call_export_with(Export::Decide, &batch, |block| {
            let names: Vec<Names> = households.iter().map(|h| Names::of(&program, h)).collect();
            decode_summaries(&program, &names, &ctx, block)
        })
        .unwrap()
        .unwrap();
    println!(
        "decide path: {} fuel units ({} per household)",
        session.fuel_used(),
        session.fuel_used() / households.len() as u64
    );
    assert!(session.fuel_used() < evaluate_fuel);
    for (summary, decision) in summaries.iter().zip(&decisions) {
        assert_eq!(
            serde_json::to_string(summary).unwrap(),
            serde_json::to_string(&decision.summary()).unwrap()
        );
    }

    // Generated households in batches of 128 (as `layak run` slices them):
    // the same decisions, and the work per batch far under the default limits.
    let mut ndjson = Vec::new();
    let opts = layak_gen::Options {
        households: 512,
        seed: 1,
        reference: layak_gen::Ymd::parse("2025-10-01").unwrap(),
    };
    layak_gen::generate(&opts, &mut ndjson, |_| {}).unwrap();
    let generated: Vec<Value> = String::from_utf8(ndjson)
        .unwrap()
        .lines()
        .filter_map(|l| decode_line(&program.schema, l).ok())
        .collect();
    let (mut most_fuel, mut most_memory) = (0, 0);
    for chunk in generated.chunks(128) {
        let batch = encode_batch(&program, chunk, &ctx);
        let decisions = session
            .call_with(&batch, |block| decode_results(&program, chunk, &ctx, block))
            .unwrap()
            .unwrap();
        most_fuel = most_fuel.max(session.fuel_used());
        most_memory = most_memory.max(session.memory_size());
        for (household, decision) in chunk.iter().zip(&decisions) {
            assert_eq!(
                serde_json::to_string(decision).unwrap(),
                serde_json::to_string(&evaluate(&program, household, &ctx)).unwrap()
            );
        }
    }
    println!(
        "{} generated households, batches of 128: at most {most_fuel} fuel units and {most_memory} bytes of memory per batch",
        generated.len()
    );
    let limits = Limits::default();
    assert!(most_fuel < limits.fuel / 10, "{most_fuel} fuel per batch");
    assert!(
        most_memory < limits.memory_bytes / 4,
        "{most_memory} bytes per batch"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
