//! How much work the module does per household, in wasmi fuel (a count of
//! executed instructions: deterministic, unlike time on a shared machine),
//! through `evaluate` (the whole explanation) and `decide` (the summary
//! only), on the sample households. `cargo test -p layak-dsl --test
//! wasm_fuel -- --nocapture` prints the figures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken fixture"
)]

mod common;

use common::{context, shipped_rules, workspace};
use layak_dsl::ir::Program;
use layak_dsl::record::decode_line;
use layak_dsl::value::Value;
use layak_dsl::wasm::{compile_module, encode_batch};

/// The fuel one call of `export` uses on `households`.
fn fuel(program: &Program, households: &[Value], export: &str) -> Option<u64> {
    let bytes = compile_module(program);
    let mut config = wasmi::Config::default();
    config.consume_fuel(true);
    let engine = wasmi::Engine::new(&config);
    let module = wasmi::Module::new(&engine, bytes.as_slice()).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    store.set_fuel(u64::MAX / 2).unwrap();
    let instance = wasmi::Linker::<()>::new(&engine)
        .instantiate_and_start(&mut store, &module)
        .unwrap();
    let alloc = instance
        .get_typed_func::<i32, i32>(&store, "alloc")
        .unwrap();
    let call = instance
        .get_typed_func::<(i32, i32), i32>(&store, export)
        .ok()?;
    let memory = instance.get_memory(&store, "memory").unwrap();
    let ctx = context(program, "2025-10-01", &[]);
    let batch = encode_batch(program, households, &ctx);
    let ptr = alloc.call(&mut store, batch.len() as i32).unwrap();
    memory.write(&mut store, ptr as usize, &batch).unwrap();
    let before = store.get_fuel().unwrap();
    let result = call.call(&mut store, (ptr, batch.len() as i32)).unwrap();
    assert!(result > 0);
    Some(before - store.get_fuel().unwrap())
}

#[test]
fn fuel_per_household() {
    let program = shipped_rules();
    let text = std::fs::read_to_string(workspace().join("rules/tests/samples.ndjson")).unwrap();
    let households: Vec<Value> = text
        .lines()
        .filter_map(|l| decode_line(&program.schema, l).ok())
        .collect();
    let n = households.len() as u64;
    let evaluate = fuel(&program, &households, "evaluate").unwrap();
    println!(
        "evaluate: {} fuel per household ({n} samples)",
        evaluate / n
    );
    if let Some(decide) = fuel(&program, &households, "decide") {
        println!("decide:   {} fuel per household", decide / n);
        assert!(decide < evaluate, "decide {decide} >= evaluate {evaluate}");
    }
}
