//! `cargo +nightly fuzz run settings_file`: see `fuzz/targets.rs` for what it checks.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    targets::settings_file(data);
});
