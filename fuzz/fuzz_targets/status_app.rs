#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| status_1to1_conformance::fuzz_targets::status_app(data));
