//! The app's command line: the documented flags exist, bad combinations are refused with a
//! usage error before any window opens.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

fn tb_monitor(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tb-monitor"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap()
}

#[test]
fn help_lists_the_login_flags_and_the_subcommands() {
    let out = tb_monitor(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--demo",
        "--server",
        "--user",
        "--profile",
        "--log-level",
        "demo-server",
        "watch",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
}

#[test]
fn version_prints_the_package_version() {
    let out = tb_monitor(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim(),
        format!("tb-monitor {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_server_without_a_user_is_a_usage_error() {
    let out = tb_monitor(&["--server", "https://tb.example.com"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("--user"), "{text}");
}

#[test]
fn demo_and_a_profile_cannot_be_combined() {
    let out = tb_monitor(&["--demo", "--profile", "plant"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_unknown_log_level_is_refused_before_the_window_opens() {
    let out = tb_monitor(&["--demo", "--log-level", "loud"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("loud"), "{text}");
}
