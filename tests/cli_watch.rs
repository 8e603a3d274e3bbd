//! `tb-monitor watch` as a user runs it: the real binary, JSON lines on stdout.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

fn query_file() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/queries/thermostats.json")
}

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn watch_demo_streams_the_page_and_counts_as_json_lines_and_stops_after_count() {
    let out = Command::new(env!("CARGO_BIN_EXE_tb-monitor"))
        .args([
            "watch",
            "--demo",
            "--count",
            "3",
            "--seconds",
            "20",
            "--query",
        ])
        .arg(query_file())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = lines(&out.stdout);
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "connection" && e["state"] == "live")
    );
    let messages: Vec<&Value> = events.iter().filter(|e| e["event"] == "message").collect();
    assert_eq!(messages.len(), 3);
    assert!(
        messages
            .iter()
            .any(|m| m["sub"] == 0 && m["msg"]["data"]["data"].is_array())
    );
    assert!(
        messages
            .iter()
            .any(|m| m["sub"] == 1 && m["msg"]["cmdUpdateType"] == "ALARM_COUNT_DATA")
    );
}

#[tokio::test]
async fn watch_logs_in_with_a_password_from_stdin_and_refuses_a_wrong_one() {
    let (server, _control) = common::wire::start(common::wire::quiet_config()).await;
    let base = server.base_url();
    let run = |password: &'static str| {
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(env!("CARGO_BIN_EXE_tb-monitor"))
                .args([
                    "watch",
                    "--server",
                    &base,
                    "--user",
                    "tenant@thingsboard.org",
                ])
                .args([
                    "--password-stdin",
                    "--count",
                    "1",
                    "--seconds",
                    "20",
                    "--query",
                ])
                .arg(query_file())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
            child.wait_with_output().unwrap()
        })
    };
    let ok = run("tenant").await.unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(lines(&ok.stdout).iter().any(|e| e["event"] == "message"));

    let bad = run("wrong").await.unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("Invalid username or password"), "{err}");
    assert!(
        !err.contains("wrong"),
        "the password is never printed: {err}"
    );
}

#[test]
fn a_query_file_without_subscriptions_is_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.json");
    std::fs::write(
        &file,
        r#"{"cmds":[{"type":"ENTITY_DATA_UNSUBSCRIBE","cmdId":1}]}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tb-monitor"))
        .args(["watch", "--demo", "--query"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no subscribing command"));
}

#[test]
fn a_query_file_with_more_commands_than_the_command_queue_still_subscribes_them_all() {
    // 80 ALARM_COUNT commands: more than the 64 commands the session queue holds at once.
    let cmds: Vec<String> = (1..=80)
        .map(|i| {
            format!(r#"{{"type":"ALARM_COUNT","cmdId":{i},"query":{{"statusList":["ACTIVE"]}}}}"#)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let query = dir.path().join("many.json");
    std::fs::write(&query, format!(r#"{{"cmds":[{}]}}"#, cmds.join(","))).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tb-monitor"))
        .args([
            "watch",
            "--demo",
            "--count",
            "80",
            "--seconds",
            "20",
            "--query",
        ])
        .arg(&query)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let subs: std::collections::BTreeSet<i64> = lines(&out.stdout)
        .iter()
        .filter(|e| e["event"] == "message")
        .filter_map(|e| e["sub"].as_i64())
        .collect();
    assert_eq!(subs.len(), 80, "every command got its count: {subs:?}");
}
