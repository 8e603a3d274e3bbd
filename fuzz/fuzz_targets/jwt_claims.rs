//! `cargo +nightly fuzz run jwt_claims`: see `fuzz/targets.rs` for what it checks.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    targets::jwt_claims(data);
});
