#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    layak_tests::parse_check_format_bytes(data);
});
