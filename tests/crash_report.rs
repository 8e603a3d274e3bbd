//! A crash is written to the log file (where an app started from a menu keeps it), with its
//! place and message, and never with a token in it.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

/// A token-shaped canary (header `{"alg":"HS256"}`, payload `{"sub":"tenant"}`).
const CANARY_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZW5hbnQifQ.Y2FuYXJ5LXNpZ25hdHVyZQ";

#[test]
fn a_panic_is_logged_to_the_log_file_with_its_place_and_without_the_token_it_carried() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tb-monitor"))
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env_remove("RUST_LOG")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env(
            "TB_MONITOR_TEST_PANIC",
            format!("canary crash, token {CANARY_TOKEN}"),
        )
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(101),
        "a panic exits with Rust's code"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("canary crash"), "{stderr}");

    let logs: Vec<_> = walk(home.path())
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("tb-monitor.log"))
        })
        .collect();
    assert_eq!(logs.len(), 1, "one log file under the data dir: {logs:?}");
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(log.contains("ERROR tb_monitor::panic"), "{log}");
    assert!(log.contains("panicked at src/main.rs"), "{log}");
    assert!(log.contains("canary crash, token <token>"), "{log}");
    assert!(log.contains("backtrace:"), "{log}");

    // The token appears nowhere the app wrote: not in the log, not on stderr.
    for (name, text) in [("log", log.as_str()), ("stderr", &*stderr)] {
        for part in CANARY_TOKEN.split('.') {
            assert!(
                !text.contains(part),
                "{name} holds a part of the token: {text}"
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
