//! `cargo +nightly fuzz run ws_message`: see `fuzz/targets.rs` for what it checks.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    targets::ws_message(data);
});
