//! Secrets never leave the keychain: everything tb-monitor writes during a session is
//! grepped for the password and the tokens it used.
//!
//! The canaries:
//!
//! * the password: the demo tenant's is changed to `pw-CANARY-7f3a-<random>`
//!   (`DemoControl::set_password`), a string nothing else contains;
//! * the tokens: every signature the demo issued (`DemoControl::issued_token_signatures`),
//!   which any whole copy of a token contains;
//! * any `eyJ` run (the start of every JWT): a cut-off token has no signature, and the
//!   masked form (`<token>`) has no `eyJ`.
//!
//! Two kinds of session are grepped:
//!
//! 1. the real binary, `tb-monitor watch --password-stdin`, with `RUST_LOG=trace` (the most
//!    verbose filter: every crate's events, less the `TRACE` of the crates `logging` knows to
//!    carry secrets) and `HOME`/`XDG_*` in a temp dir, against the current endpoint and
//!    against a legacy one (token on the socket's URL). Meanwhile the demo expires its access
//!    token and drops the link (a refusal, a refresh, a new socket), sends a frame that is not
//!    JSON and one whose mistyped field holds a token, closes with a 1007 reason echoing a
//!    token as ThingsBoard's does, and finally revokes the tokens, which ends `watch`. Its
//!    stdout, stderr and every file under the temp dir are grepped;
//! 2. the app in `egui_kittest`, logged in through the form with "Remember password", through
//!    a refresh and the same echoing close: its log (`logging::init` at `trace` into a temp
//!    dir; the one global subscriber of this test binary), the settings file after a change
//!    in the Settings view, what `TbApp::save` and egui's memory put in an eframe storage,
//!    and the text "Copy diagnostics" puts on the clipboard. The password must be in the
//!    (in-memory) keychain, and nowhere else.
//!
//! Crash output is grepped by `tests/crash_report.rs`. Each run also asserts that it did what
//! it claims (logged in, refreshed, reconnected, received data, logged), so that a run that
//! wrote nothing cannot pass.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;
#[path = "common/ui.rs"]
mod ui;

use std::hash::BuildHasher as _;
use std::io::{BufRead as _, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Instant;

use egui_kittest::kittest::Queryable as _;
use serde_json::Value;
use tb_monitor::app::{AppConfig, Start, TbApp};
use tb_monitor::demo::{DemoConfig, DemoServer};
use tb_monitor::secrets::{MemoryStore, SecretKind, SecretStore as _};
use tb_monitor::settings::{InboxPrefs, NotificationPrefs, Settings, SettingsFile};
use tb_monitor::store::health::ConnectionState;

/// The demo user whose password is replaced by the canary.
const USER: &str = "tenant@thingsboard.org";

/// A token-shaped canary (`{"alg":"HS256"}`, `{"sub":"canary"}`, signature
/// "CANARY-signature") the demo echoes in a close reason, as ThingsBoard's 1007 reason
/// echoes the first frame.
const CANARY_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.Q0FOQVJZLXNpZ25hdHVyZQ";

/// A 1007 close reason as ThingsBoard words it for a first frame it cannot read, echoing
/// the frame (here [`CANARY_JWT`]; under the 123-byte limit, so the demo sends it whole).
fn echoing_reason() -> String {
    format!(r#"cannot be transformed to Json object: {{"token":"{CANARY_JWT}"}}"#)
}

/// A password no other text contains.
fn canary_password() -> String {
    let random = std::hash::RandomState::new().hash_one(std::process::id());
    format!("pw-CANARY-7f3a-{random:016x}")
}

/// One place the app wrote to, and what it holds.
struct Written {
    place: String,
    text: String,
}

impl Written {
    fn new(place: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            place: place.into(),
            text: text.into(),
        }
    }
}

/// Every file under `dir` (recursively) with its text (lossy UTF-8).
fn files_under(dir: &Path) -> Vec<Written> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push(Written::new(
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes),
                ));
            }
        }
    }
    out
}

/// How many `eyJ` runs `line` holds (the start of a JWT: `{"` in base64url).
fn jwt_runs(line: &str) -> usize {
    let bytes = line.as_bytes();
    line.match_indices("eyJ")
        .filter(|(at, _)| {
            bytes
                .get(at + 3)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        })
        .count()
}

/// At most the first 300 bytes of `line`, on a char boundary.
fn cut(line: &str) -> &str {
    let mut end = line.len().min(300);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// Every line of `written` holding a secret (the password, a token signature, an `eyJ` run),
/// as "place:line: what: the line".
fn leaks(written: &[Written], password: &str, signatures: &[String]) -> Vec<String> {
    let canary_signature = CANARY_JWT.rsplit('.').next().unwrap();
    let mut found = Vec::new();
    for w in written {
        for (n, line) in w.text.lines().enumerate() {
            let mut what = Vec::new();
            if line.contains(password) {
                what.push("the password".to_owned());
            }
            let tokens = signatures
                .iter()
                .filter(|s| line.contains(s.as_str()))
                .count();
            if tokens > 0 {
                what.push(format!("{tokens} issued token(s)"));
            }
            if line.contains(canary_signature) {
                what.push("the canary token".to_owned());
            }
            let runs = jwt_runs(line);
            if runs > 0 {
                what.push(format!("{runs} eyJ run(s)"));
            }
            if !what.is_empty() {
                found.push(format!(
                    "{}:{}: {}: {}",
                    w.place,
                    n + 1,
                    what.join(", "),
                    cut(line)
                ));
            }
        }
    }
    found
}

/// Asserts that nothing in `written` holds a secret.
fn assert_no_leak(written: &[Written], password: &str, signatures: &[String]) {
    let found = leaks(written, password, signatures);
    assert!(
        found.is_empty(),
        "{} secret(s) written:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_grep_finds_the_password_a_whole_token_and_a_cut_off_one_but_not_a_masked_one() {
    let token = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ0ZW5hbnQifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg";
    let signatures = vec![token.rsplit('.').next().unwrap().to_owned()];
    let written = [Written::new(
        "probe",
        format!("pw-x here\nbearer {token}\nreason {{\"token\":\"eyJhbGciOiJI\nclean <token>\n"),
    )];
    let found = leaks(&written, "pw-x", &signatures);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("probe:1: the password"), "{found:#?}");
    assert!(
        found[1].starts_with("probe:2: 1 issued token(s), 2 eyJ run(s)"),
        "{found:#?}"
    );
    assert!(found[2].starts_with("probe:3: 1 eyJ run(s)"), "{found:#?}");
}

// ----- 1. the CLI ---------------------------------------------------------------------------

/// The `watch` child: its stdout lines as they come, stderr collected, killed on drop.
struct Watch {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Watch {
    fn start(base_url: &str, password: &str, home: &Path) -> Self {
        let query = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/queries/thermostats.json");
        let mut child = Command::new(env!("CARGO_BIN_EXE_tb-monitor"))
            .args([
                "watch",
                "--server",
                base_url,
                "--user",
                USER,
                "--password-stdin",
            ])
            .args(["--seconds", "30", "--query"])
            .arg(query)
            .env("RUST_LOG", "trace")
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_STATE_HOME", home.join("state"))
            .env_remove("TB_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::sync_channel(1024);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut out = Vec::new();
            stderr.read_to_end(&mut out).ok();
            out
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Reads events until one matches `wanted`, by the deadline.
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + ui::DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|e| {
                panic!("no {what} ({e}); events so far:\n{}", self.seen.join("\n"))
            });
            let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            self.seen.push(line);
            if wanted(&event) {
                return;
            }
        }
    }

    /// Waits for the child to end by itself (stdout closed), by the deadline; returns its
    /// stdout and stderr.
    fn finish(mut self) -> (String, String) {
        let deadline = Instant::now() + ui::DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("watch did not stop; events:\n{}", self.seen.join("\n"))
                }
            }
        }
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        let stderr = String::from_utf8_lossy(&stderr).into_owned();
        assert!(status.success(), "watch failed: {status}\n{stderr}");
        (self.seen.join("\n"), stderr)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn is_live(e: &Value) -> bool {
    e["event"] == "connection" && e["state"] == "live"
}

/// Runs `watch` at `RUST_LOG=trace` against a demo (`legacy`: one serving only the endpoint
/// of ThingsBoard before 3.6.2, which takes the token on the socket's URL) through a refresh,
/// reconnections, bad frames and a close echoing a token, until revoked tokens end it; then
/// greps its stdout, stderr and every file under its `HOME`.
#[allow(
    clippy::print_stderr,
    reason = "the counts grepped, for the reliability report"
)]
fn watch_writes_no_secret(legacy: bool) {
    let rt = ui::runtime();
    let config = DemoConfig {
        legacy_only: legacy,
        ..common::wire::quiet_config()
    };
    let (server, control) = rt.block_on(common::wire::start(config));
    let password = canary_password();
    assert!(control.set_password(USER, &password));
    let home = tempfile::tempdir().unwrap();
    let mut watch = Watch::start(&server.base_url(), &password, home.path());

    watch.wait_for("the first live connection", is_live);
    watch.wait_for("data", |e| e["event"] == "message");
    // The access token expires while the link drops: a refused token, a refresh, a new socket.
    control.expire_access_tokens();
    control.drop_connections(false);
    watch.wait_for("the reconnection", is_live);
    watch.wait_for("data after the reconnection", |e| e["event"] == "message");
    // A frame that is not JSON, then one whose mistyped field holds a token.
    control.send_raw_frame("{not json");
    watch.wait_for("the bad frame", |e| e["event"] == "bad-frame");
    control.send_raw_frame(format!(
        r#"{{"cmdId":"{CANARY_JWT}","cmdUpdateType":"ENTITY_DATA"}}"#
    ));
    watch.wait_for("the second bad frame", |e| e["event"] == "bad-frame");
    // ThingsBoard's 1007 reason echoes the frame it could not read, token and all.
    control.close_sessions(1007, &echoing_reason());
    watch.wait_for("the 1007 close", |e| {
        e["event"] == "closed" && e["code"] == 1007
    });
    watch.wait_for("the reconnection after the 1007", is_live);
    // Revoked tokens end the session: the refresh is refused and watch stops by itself.
    control.revoke_tokens();
    control.drop_connections(false);
    watch.wait_for("the session's end", |e| e["event"] == "session-expired");
    let (stdout, stderr) = watch.finish();

    // The run did what it claims: logged in, refreshed, reconnected, streamed, logged verbosely.
    let stats = control.stats();
    assert!(stats.logins == 1 && stats.refreshes >= 1, "{stats:?}");
    assert!(stats.ws_sessions_opened >= 3, "{stats:?}");
    assert_eq!(stdout.contains(r#""event":"legacy-server""#), legacy);
    assert!(
        stderr.contains(" DEBUG tungstenite::"),
        "RUST_LOG=trace lets a dependency's DEBUG through:\n{stderr}"
    );
    let signatures = control.issued_token_signatures();
    assert!(signatures.len() >= 4, "two pairs at least: {signatures:?}");

    let files = files_under(home.path());
    eprintln!(
        "watch{}: grepped stdout ({} lines, {} bytes), stderr ({} lines, {} at TRACE, {} at \
         DEBUG, {} bytes) and {} file(s) ({} bytes) for the password and {} token signatures",
        if legacy { " (legacy endpoint)" } else { "" },
        stdout.lines().count(),
        stdout.len(),
        stderr.lines().count(),
        stderr.lines().filter(|l| l.contains(" TRACE ")).count(),
        stderr.lines().filter(|l| l.contains(" DEBUG ")).count(),
        stderr.len(),
        files.len(),
        files.iter().map(|f| f.text.len()).sum::<usize>(),
        signatures.len()
    );
    let mut written = vec![
        Written::new("stdout", stdout),
        Written::new("stderr", stderr),
    ];
    written.extend(files);
    assert_no_leak(&written, &password, &signatures);
}

#[test]
fn watch_at_trace_level_writes_no_password_or_token_through_refresh_reconnect_and_echoed_closes() {
    watch_writes_no_secret(false);
}

#[test]
fn watch_on_a_legacy_server_writes_no_token_though_the_socket_url_carries_it() {
    watch_writes_no_secret(true);
}

// ----- 2. the app ---------------------------------------------------------------------------

/// An eframe storage that keeps what the app saves.
#[derive(Default)]
struct Collected(std::collections::BTreeMap<String, String>);

impl eframe::Storage for Collected {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }

    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }

    fn flush(&mut self) {}
}

/// The text the last frame put on the clipboard.
fn copied(h: &egui_kittest::Harness<'_, TbApp>) -> Option<String> {
    h.output()
        .platform_output
        .commands
        .iter()
        .find_map(|c| match c {
            egui::OutputCommand::CopyText(text) => Some(text.clone()),
            _ => None,
        })
}

/// The app at its login screen, saving its settings to `settings_path` and its secrets in
/// `secrets`; no desktop notification or tray icon (a test shows none).
fn login_screen<'a>(
    rt: &tokio::runtime::Runtime,
    settings_path: &Path,
    secrets: Arc<MemoryStore>,
) -> egui_kittest::Harness<'a, TbApp> {
    let config = AppConfig {
        start: Start::LoginScreen,
        settings_file: Some(SettingsFile::new(settings_path)),
        settings: Settings {
            notifications: NotificationPrefs {
                desktop: false,
                ..NotificationPrefs::default()
            },
            inbox: InboxPrefs {
                tray_icon: false,
                ..InboxPrefs::default()
            },
            ..Settings::default()
        },
        secrets,
        notice: None,
        demo: DemoConfig::default(),
    };
    let handle = rt.handle().clone();
    egui_kittest::Harness::builder()
        .with_size(egui::vec2(1100.0, 800.0))
        .build_eframe(move |cc| TbApp::new(cc, &handle, config))
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "the counts grepped, for the reliability report"
)]
fn the_app_keeps_a_remembered_password_in_the_keychain_only() {
    let rt = ui::runtime();
    let demo = rt
        .block_on(DemoServer::start(DemoConfig {
            simulate: false,
            devices: 8,
            ..DemoConfig::default()
        }))
        .unwrap();
    let control = demo.control();
    let password = canary_password();
    assert!(control.set_password(USER, &password));
    let dir = tempfile::tempdir().unwrap();
    // The app's own log at its most verbose level, written where this test can read it.
    let log = tb_monitor::logging::init("trace", Some(&dir.path().join("logs"))).unwrap();
    let log_file = log.file().unwrap().to_owned();
    let settings_path = dir.path().join("settings.toml");
    let secrets = Arc::new(MemoryStore::new());
    let mut h = login_screen(&rt, &settings_path, secrets.clone());
    ui::type_into(&mut h, "Server URL", &demo.base_url());
    ui::type_into(&mut h, "E-mail", USER);
    ui::type_into(&mut h, "Password", &password);
    ui::click(&mut h, "Remember password");
    ui::click(&mut h, "Log in");
    ui::step_until(&mut h, "live data", |h| {
        h.state()
            .live()
            .and_then(|l| l.store().health.as_ref())
            .is_some_and(|health| health.total_messages() > 0)
    });
    // Tokens travel again: a refresh and a new socket, then a close echoing a token.
    control.expire_access_tokens();
    control.drop_connections(false);
    let reconnected = |n: u32| {
        move |h: &egui_kittest::Harness<'_, TbApp>| {
            h.state()
                .live()
                .and_then(|l| l.store().health.as_ref())
                .is_some_and(|health| {
                    health.reconnects() >= n && *health.state() == ConnectionState::Live
                })
        }
    };
    ui::step_until(&mut h, "the reconnection", reconnected(1));
    control.close_sessions(1007, &echoing_reason());
    ui::step_until(&mut h, "the reconnection after the 1007", reconnected(2));

    // The Settings view (a change saves the file), then Connection's "Copy diagnostics".
    ui::click(&mut h, "Settings");
    ui::click(
        &mut h,
        "Log in to the last server on start when its password is remembered",
    );
    ui::click(&mut h, "Connection");
    h.get_by_label("Copy diagnostics").click();
    h.step();
    let diagnostics = copied(&h).expect("the diagnostics on the clipboard");
    assert!(diagnostics.contains("last close 1007"), "{diagnostics}");

    let mut storage = Collected::default();
    eframe::App::save(h.state_mut(), &mut storage);
    // What eframe adds when it saves: egui's memory (text edit states among it).
    h.ctx.memory(|m| eframe::set_value(&mut storage, "egui", m));
    drop(h);

    // The password is in the keychain (the positive control), with a refresh token.
    let settings = SettingsFile::new(&settings_path).load().settings;
    assert_eq!(settings.profiles.len(), 1, "{settings:?}");
    let profile = &settings.profiles[0];
    assert!(profile.remember_password);
    assert!(!settings.auto_login, "the Settings view saved its change");
    let account = profile.account();
    assert_eq!(
        secrets.get(SecretKind::Password, &account).unwrap(),
        Some(password.clone())
    );
    assert!(
        secrets
            .get(SecretKind::RefreshToken, &account)
            .unwrap()
            .is_some()
    );
    let stats = control.stats();
    assert!(stats.logins >= 1 && stats.refreshes >= 1, "{stats:?}");

    let log_text = std::fs::read_to_string(&log_file).unwrap();
    assert!(log_text.contains("socket live"), "{log_text}");
    assert!(storage.0.contains_key("egui"), "{:?}", storage.0.keys());
    let signatures = control.issued_token_signatures();
    let mut written = files_under(dir.path());
    written.push(Written::new("the diagnostics", diagnostics.clone()));
    for (key, value) in &storage.0 {
        written.push(Written::new(
            format!("eframe storage {key:?}"),
            format!("{key}\n{value}"),
        ));
    }
    eprintln!(
        "grepped {} file(s) ({} bytes; the log {} lines), the diagnostics ({} bytes), {} storage \
         key(s) ({} bytes) for the password and {} token signature(s)",
        written.len() - 1 - storage.0.len(),
        files_under(dir.path())
            .iter()
            .map(|f| f.text.len())
            .sum::<usize>(),
        log_text.lines().count(),
        diagnostics.len(),
        storage.0.len(),
        storage.0.values().map(String::len).sum::<usize>(),
        signatures.len()
    );
    assert_no_leak(&written, &password, &signatures);
}
