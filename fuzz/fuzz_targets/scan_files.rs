#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fuzzing::scan_files(bytes));
