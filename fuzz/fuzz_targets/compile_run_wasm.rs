#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    layak_tests::compile_run_wasm(data);
});
