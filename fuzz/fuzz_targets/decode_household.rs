#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    layak_tests::decode_household(data);
});
