//! The real OS keychain through `KeychainStore`.
//!
//! The round-trip tests need a Secret Service: they are ignored by `cargo test` and run by
//! `.ci/keyring-test.sh`, which starts a private session bus and an unlocked gnome-keyring.
//! The no-session-bus test runs everywhere: it re-runs this binary as a child process with
//! `DBUS_SESSION_BUS_ADDRESS` pointing nowhere (environment variables are process-wide).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tb_monitor::secrets::{KeychainStore, SecretError, SecretKind, SecretStore};

/// An account no other test (or earlier run) uses.
fn account(user: &str) -> String {
    format!(
        "{user}-{}@https://tb.keychain-test.invalid",
        std::process::id()
    )
}

/// The secret of (`kind`, `account`); the call itself must succeed.
fn secret(keychain: &KeychainStore, kind: SecretKind, account: &str) -> Option<String> {
    keychain
        .get(kind, account)
        .unwrap_or_else(|e| panic!("reading the {kind:?} of {account}: {e}"))
}

fn open() -> KeychainStore {
    KeychainStore::open_with_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("no keychain (run .ci/keyring-test.sh): {e}"))
}

#[test]
#[ignore = "needs a Secret Service: run .ci/keyring-test.sh"]
fn a_password_and_a_refresh_token_round_trip_through_the_os_keychain() {
    let keychain = open();
    let alice = account("alice");
    keychain
        .set(SecretKind::Password, &alice, "pässword 1")
        .unwrap();
    keychain
        .set(
            SecretKind::RefreshToken,
            &alice,
            "eyJhbGciOiJIUzUxMiJ9.refresh.sig",
        )
        .unwrap();
    assert_eq!(
        secret(&keychain, SecretKind::Password, &alice).as_deref(),
        Some("pässword 1")
    );
    assert_eq!(
        secret(&keychain, SecretKind::RefreshToken, &alice).as_deref(),
        Some("eyJhbGciOiJIUzUxMiJ9.refresh.sig")
    );
    // Setting again replaces the secret (a new refresh token after each login).
    keychain
        .set(SecretKind::RefreshToken, &alice, "rotated")
        .unwrap();
    assert_eq!(
        secret(&keychain, SecretKind::RefreshToken, &alice).as_deref(),
        Some("rotated")
    );
    keychain.delete(SecretKind::Password, &alice).unwrap();
    keychain.delete(SecretKind::RefreshToken, &alice).unwrap();
}

#[test]
#[ignore = "needs a Secret Service: run .ci/keyring-test.sh"]
fn get_after_delete_is_none_and_deleting_twice_is_fine() {
    let keychain = open();
    let bob = account("bob");
    assert_eq!(secret(&keychain, SecretKind::Password, &bob), None);
    keychain.set(SecretKind::Password, &bob, "secret").unwrap();
    keychain.delete(SecretKind::Password, &bob).unwrap();
    assert_eq!(secret(&keychain, SecretKind::Password, &bob), None);
    keychain.delete(SecretKind::Password, &bob).unwrap();
}

#[test]
#[ignore = "needs a Secret Service: run .ci/keyring-test.sh"]
fn two_accounts_and_the_two_kinds_do_not_mix() {
    let keychain = open();
    let carol = account("carol");
    let dave = account("dave");
    keychain
        .set(SecretKind::Password, &carol, "carol-pw")
        .unwrap();
    keychain
        .set(SecretKind::Password, &dave, "dave-pw")
        .unwrap();
    keychain
        .set(SecretKind::RefreshToken, &dave, "dave-rt")
        .unwrap();
    assert_eq!(
        secret(&keychain, SecretKind::Password, &carol).as_deref(),
        Some("carol-pw")
    );
    assert_eq!(
        secret(&keychain, SecretKind::Password, &dave).as_deref(),
        Some("dave-pw")
    );
    assert_eq!(secret(&keychain, SecretKind::RefreshToken, &carol), None);
    // Logging out of one account leaves the other's secrets alone.
    keychain.delete(SecretKind::Password, &dave).unwrap();
    keychain.delete(SecretKind::RefreshToken, &dave).unwrap();
    assert_eq!(
        secret(&keychain, SecretKind::Password, &carol).as_deref(),
        Some("carol-pw")
    );
    keychain.delete(SecretKind::Password, &carol).unwrap();
}

/// Set in the child process of the no-session-bus test.
const CHILD_MARKER: &str = "TB_MONITOR_KEYCHAIN_TEST_CHILD";
/// Printed by the child when it checked the error, so the parent knows it really ran.
const CHILD_DONE: &str = "no-session-bus child: checked";

#[test]
fn without_a_session_bus_the_keychain_fails_fast_in_plain_words() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_opens_the_keychain_without_a_session_bus",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MARKER, "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/tb-monitor-test/bus",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes on threads so the child never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    for mut pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).ok();
            tx.send(text).ok();
        });
    }
    let deadline = Instant::now() + Duration::from_mins(1);
    let mut output = String::new();
    for _ in 0..2 {
        let Ok(text) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            child.kill().ok();
            panic!("the child did not finish within 60 s (a hang?): {output}");
        };
        output.push_str(&text);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "the child failed: {output}");
    assert!(
        output.contains(CHILD_DONE),
        "the child did not run: {output}"
    );
}

#[test]
#[ignore = "runs as the child process of without_a_session_bus_the_keychain_fails_fast_in_plain_words"]
fn child_opens_the_keychain_without_a_session_bus() {
    if std::env::var_os(CHILD_MARKER).is_none() {
        // Run by hand or by `--ignored` with a real bus: nothing to check here.
        return;
    }
    let started = Instant::now();
    // The store's own timeout (20 s) and the parent's deadline (60 s) bound a hang.
    let result = KeychainStore::open_with_timeout(Duration::from_secs(20)).and_then(|keychain| {
        keychain.set(SecretKind::Password, &account("nobody"), "never stored")
    });
    let elapsed = started.elapsed();
    let err = result.expect_err("no keychain can work without a session bus");
    assert!(
        err == SecretError::no_session_bus() || err == SecretError::no_service(),
        "not in plain words: {err}"
    );
    assert!(err.to_string().contains("you can still log in"), "{err}");
    assert!(
        elapsed < Duration::from_secs(5),
        "took {elapsed:?} instead of failing fast"
    );
    println!("{CHILD_DONE} in {elapsed:?}: {err}");
}
