//! `cargo +nightly fuzz run query_import`: see `fuzz/targets.rs` for what it checks.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    targets::query_import(data);
});
