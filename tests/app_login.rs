//! The login screen in `egui_kittest` against the in-process demo server: the form logs in
//! and saves the profile, errors read in plain words, a missing keychain does not stop a
//! login, 2FA asks for the code, a remembered login comes back without a password and
//! logout forgets its refresh token, a self-signed server is pinned by its fingerprint (and a
//! pinned server presenting another certificate is warned about before any re-pin), a
//! clear-text URL to another machine is warned about without blocking the login.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/tls.rs"]
mod tls;
#[path = "common/ui.rs"]
mod ui;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tb_monitor::app::{AppConfig, Start, TbApp};
use tb_monitor::demo::{DemoConfig, DemoServer};
use tb_monitor::secrets::{MemoryStore, SecretError, SecretKind, SecretStore};
use tb_monitor::settings::{Settings, SettingsFile};
use tb_monitor::ui::login::PIN_CHANGED_WARNING;
use tls::{Pki, TlsFront};
use ui::{DEADLINE, click, runtime, step_until, type_into};

fn quiet_demo() -> DemoConfig {
    DemoConfig {
        simulate: false,
        devices: 8,
        ..DemoConfig::default()
    }
}

fn start_demo(rt: &tokio::runtime::Runtime) -> DemoServer {
    rt.block_on(DemoServer::start(quiet_demo())).unwrap()
}

fn config(start: Start, file: &Path, secrets: Arc<dyn SecretStore>) -> AppConfig {
    let file = SettingsFile::new(file);
    AppConfig {
        start,
        settings: file.load().settings,
        settings_file: Some(file),
        secrets,
        notice: None,
        demo: quiet_demo(),
    }
}

fn app<'a>(rt: &tokio::runtime::Runtime, config: AppConfig) -> Harness<'a, TbApp> {
    let handle = rt.handle().clone();
    Harness::builder()
        .with_size(egui::vec2(1100.0, 800.0))
        .build_eframe(move |cc| TbApp::new(cc, &handle, config))
}

fn fill_in(harness: &mut Harness<'_, TbApp>, url: &str, user: &str, password: &str) {
    type_into(harness, "Server URL", url);
    type_into(harness, "E-mail", user);
    type_into(harness, "Password", password);
}

/// Logs in as the demo tenant from a fresh login screen (remembering the password or not)
/// and waits for the live view.
fn log_in_as_tenant<'a>(
    rt: &tokio::runtime::Runtime,
    demo: &DemoServer,
    file: &Path,
    secrets: Arc<dyn SecretStore>,
    remember: bool,
) -> Harness<'a, TbApp> {
    let mut h = app(rt, config(Start::LoginScreen, file, secrets));
    fill_in(&mut h, &demo.base_url(), "tenant@thingsboard.org", "tenant");
    if remember {
        click(&mut h, "Remember password");
    }
    click(&mut h, "Log in");
    step_until(&mut h, "the live view", |h| h.state().live().is_some());
    h
}

/// Logs in to `url` from a fresh login screen and waits for an error containing `expected`.
fn login_fails_with(rt: &tokio::runtime::Runtime, url: &str, password: &str, expected: &str) {
    let (_dir, file) = settings_dir();
    let mut h = app(
        rt,
        config(Start::LoginScreen, &file, Arc::new(MemoryStore::new())),
    );
    fill_in(&mut h, url, "tenant@thingsboard.org", password);
    click(&mut h, "Log in");
    step_until(&mut h, expected, |h| {
        h.query_by_label_contains(expected).is_some()
    });
    assert!(h.state().live().is_none());
    assert!(
        saved(&file).profiles.is_empty(),
        "a failed login saves nothing"
    );
}

fn settings_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.toml");
    (dir, file)
}

fn saved(file: &Path) -> Settings {
    SettingsFile::new(file).load().settings
}

#[test]
fn logging_in_with_the_form_reaches_the_live_view_and_saves_the_profile_without_secrets() {
    let rt = runtime();
    let demo = start_demo(&rt);
    let (_dir, file) = settings_dir();
    let secrets = Arc::new(MemoryStore::new());
    let mut h = log_in_as_tenant(&rt, &demo, &file, secrets.clone(), false);
    step_until(&mut h, "the live indicator", |h| {
        h.query_by_label_contains("live").is_some()
    });
    h.get_by_label_contains("tenant@thingsboard.org");

    let settings = saved(&file);
    assert_eq!(settings.profiles.len(), 1);
    assert_eq!(settings.profiles[0].url, demo.base_url());
    assert_eq!(
        settings.last_profile.as_deref(),
        Some(settings.profiles[0].name.as_str())
    );
    let text = std::fs::read_to_string(&file).unwrap();
    // Neither the password nor a token (JWTs start with "eyJ") is in the file.
    assert!(
        !text.contains("\"tenant\"") && !text.contains("eyJ"),
        "{text}"
    );
    // "Remember password" was off: nothing in the keychain.
    assert!(secrets.is_empty());
}

#[test]
fn a_wrong_password_says_so_in_plain_words_and_stays_on_the_login_screen() {
    let rt = runtime();
    let demo = start_demo(&rt);
    login_fails_with(
        &rt,
        &demo.base_url(),
        "not-the-password",
        "Wrong e-mail or password.",
    );
}

#[test]
fn an_unreachable_server_is_named_with_what_to_check() {
    let rt = runtime();
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    login_fails_with(
        &rt,
        &format!("http://127.0.0.1:{port}"),
        "x",
        "Cannot reach http://127.0.0.1",
    );
}

#[test]
fn without_a_keychain_the_login_still_works_and_says_why_it_cannot_remember() {
    let rt = runtime();
    let demo = start_demo(&rt);
    let (_dir, file) = settings_dir();
    let secrets = Arc::new(MemoryStore::failing(SecretError::no_service()));
    let mut h = log_in_as_tenant(&rt, &demo, &file, secrets.clone(), true);
    h.run_steps(2);
    h.get_by_label_contains("cannot be remembered");
    secrets.set_failure(None);
    assert!(secrets.is_empty(), "nothing was stored anywhere");
}

#[test]
fn a_two_factor_login_asks_for_the_code_and_goes_live_with_it() {
    let rt = runtime();
    let demo = start_demo(&rt);
    let (_dir, file) = settings_dir();
    let mut h = app(
        &rt,
        config(Start::LoginScreen, &file, Arc::new(MemoryStore::new())),
    );
    fill_in(&mut h, &demo.base_url(), "mfa@thingsboard.org", "mfa");
    click(&mut h, "Log in");
    step_until(&mut h, "the code step", |h| {
        h.query_by_label("Two-factor authentication").is_some()
    });
    let secret =
        tb_monitor::demo::world::base32_decode(tb_monitor::demo::world::MFA_TOTP_SECRET_BASE32)
            .unwrap();
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .cast_signed();
    type_into(&mut h, "Code", &tb_monitor::demo::jwt::totp(&secret, now_s));
    click(&mut h, "Verify");
    step_until(&mut h, "the live view", |h| h.state().live().is_some());
}

#[test]
fn a_remembered_login_comes_back_without_a_password_and_logout_forgets_the_refresh_token() {
    let rt = runtime();
    let demo = start_demo(&rt);
    let (_dir, file) = settings_dir();
    let secrets = Arc::new(MemoryStore::new());
    drop(log_in_as_tenant(&rt, &demo, &file, secrets.clone(), true));
    let profile = saved(&file).profiles.remove(0);
    assert!(profile.remember_password);
    let account = profile.account();
    assert_eq!(
        secrets
            .get(SecretKind::Password, &account)
            .unwrap()
            .as_deref(),
        Some("tenant")
    );
    assert!(
        secrets
            .get(SecretKind::RefreshToken, &account)
            .unwrap()
            .is_some()
    );

    // The next start logs in by itself, with the refresh token (the password is not typed).
    let mut h = app(&rt, config(Start::Auto, &file, secrets.clone()));
    step_until(&mut h, "the automatic login", |h| {
        h.state().live().is_some()
    });

    click(&mut h, "Log out");
    assert!(h.state().live().is_none());
    h.get_by_label("Logged out.");
    let deadline = Instant::now() + DEADLINE;
    while secrets
        .get(SecretKind::RefreshToken, &account)
        .unwrap()
        .is_some()
    {
        assert!(
            Instant::now() < deadline,
            "the refresh token was not forgotten"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The password stays: the user asked to remember it.
    assert!(
        secrets
            .get(SecretKind::Password, &account)
            .unwrap()
            .is_some()
    );
}

#[test]
fn try_the_demo_server_logs_in_to_the_embedded_server() {
    let rt = runtime();
    let (_dir, file) = settings_dir();
    let mut h = app(
        &rt,
        config(Start::LoginScreen, &file, Arc::new(MemoryStore::new())),
    );
    click(&mut h, "Try the demo server");
    step_until(&mut h, "the live view", |h| h.state().live().is_some());
    assert!(h.state().live().unwrap().demo_server().is_some());
    assert!(
        saved(&file).profiles.is_empty(),
        "the demo is not saved as a profile"
    );
}

/// The app at the login screen with nothing saved, and the quiet demo server behind a TLS
/// front serving `identity`.
fn login_screen_before_tls_demo<'a>(
    rt: &tokio::runtime::Runtime,
    identity: &tls::Identity,
) -> (
    Harness<'a, TbApp>,
    DemoServer,
    TlsFront,
    tempfile::TempDir,
    PathBuf,
) {
    let demo = start_demo(rt);
    let front = rt.block_on(TlsFront::start(tls::demo_addr(&demo), identity));
    let (dir, file) = settings_dir();
    let h = app(
        rt,
        config(Start::LoginScreen, &file, Arc::new(MemoryStore::new())),
    );
    (h, demo, front, dir, file)
}

#[test]
fn a_self_signed_server_shows_its_fingerprint_and_once_trusted_logs_in_pinned() {
    let rt = runtime();
    let pki = Pki::new();
    let (mut h, _demo, front, _dir, file) = login_screen_before_tls_demo(&rt, &pki.self_signed);
    fill_in(&mut h, &front.url(), "tenant@thingsboard.org", "tenant");
    click(&mut h, "Log in");
    step_until(&mut h, "the certificate's fingerprint", |h| {
        h.query_by_label_contains("The certificate of 127.0.0.1 is not trusted")
            .is_some()
            && h.query_by_label("Trust this certificate and log in")
                .is_some()
    });
    assert!(
        h.state().live().is_none(),
        "an untrusted server is not logged in to"
    );
    assert!(
        h.query_by_label_contains("not the certificate you pinned")
            .is_none()
    );
    let expected = pki.self_signed.fingerprint();
    h.get_by_label(&expected);

    click(&mut h, "Trust this certificate and log in");
    step_until(&mut h, "the live view", |h| h.state().live().is_some());
    step_until(&mut h, "the live indicator", |h| {
        h.query_by_label_contains("live").is_some()
    });
    let profile = saved(&file).profiles.remove(0);
    assert_eq!(profile.pinned_sha256.as_deref(), Some(expected.as_str()));
}

#[test]
fn a_pinned_server_presenting_another_certificate_warns_of_interception_before_any_re_pin() {
    let rt = runtime();
    let pki = Pki::new();
    // The server now presents the impostor's certificate; the form pins the old one.
    let (mut h, _demo, front, _dir, file) = login_screen_before_tls_demo(&rt, &pki.impostor);
    let (pinned, presented) = (pki.self_signed.fingerprint(), pki.impostor.fingerprint());
    fill_in(&mut h, &front.url(), "tenant@thingsboard.org", "tenant");
    click(&mut h, "Security (TLS)");
    type_into(&mut h, "Pinned SHA-256", &pinned);
    click(&mut h, "Log in");
    step_until(&mut h, "the changed-certificate warning", |h| {
        h.query_by_label(PIN_CHANGED_WARNING).is_some()
    });
    h.get_by_label(&format!(
        "The certificate of 127.0.0.1 changed since you trusted it: you pinned {pinned}, but \
         the server presented {presented}. Someone may be intercepting the connection. Trust \
         the new certificate only if your administrator confirms that it replaced the old one."
    ));
    h.get_by_label(&presented);
    // No quiet one-click trust: the button says it replaces the pin.
    assert!(
        h.query_by_label("Trust this certificate and log in")
            .is_none()
    );
    assert!(h.state().live().is_none());
    assert!(saved(&file).profiles.is_empty(), "nothing was pinned");

    click(&mut h, "Replace the pinned certificate and log in");
    step_until(&mut h, "the live view", |h| h.state().live().is_some());
    let profile = saved(&file).profiles.remove(0);
    assert_eq!(profile.pinned_sha256.as_deref(), Some(presented.as_str()));
}

#[test]
fn an_expired_session_goes_back_to_the_login_screen_with_the_profile_filled_in() {
    let rt = runtime();
    let demo = start_demo(&rt);
    let control = demo.control();
    let (_dir, file) = settings_dir();
    let mut h = log_in_as_tenant(&rt, &demo, &file, Arc::new(MemoryStore::new()), false);
    step_until(&mut h, "the live indicator", |h| {
        h.query_by_label_contains("live").is_some()
    });
    // Both tokens die (as after a week asleep) and the link drops: the session cannot renew.
    control.expire_tokens();
    control.drop_connections(false);
    step_until(&mut h, "the login screen", |h| h.state().live().is_none());
    h.run_steps(2);
    h.get_by_label("The session has expired: log in again.");
    let url = h
        .get_all_by_label("Server URL")
        .find(|n| n.accesskit_node().role() == Role::TextInput)
        .unwrap()
        .value();
    assert_eq!(url.as_deref(), Some(demo.base_url().as_str()));
}

#[test]
fn a_server_that_is_not_thingsboard_is_named_as_such() {
    let rt = runtime();
    // A web server that answers every request with an HTML 404.
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Read the request head (any answer will do for this server).
                let mut buf = [0u8; 4096];
                let mut got = 0;
                while !buf[..got].windows(4).any(|w| w == b"\r\n\r\n") && got < buf.len() {
                    match tcp.read(&mut buf[got..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                }
                let body = "<html><body>Not Found</body></html>";
                let reply = format!(
                    "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                tcp.write_all(reply.as_bytes()).await.ok();
            });
        }
    });
    login_fails_with(
        &rt,
        &format!("http://127.0.0.1:{port}"),
        "x",
        "does not answer like a ThingsBoard server",
    );
}

/// The login form's "Log in" button.
fn log_in_button<'h>(h: &'h Harness<'_, TbApp>) -> egui_kittest::Node<'h> {
    h.get_all_by_label("Log in")
        .find(|n| n.accesskit_node().role() == Role::Button)
        .unwrap()
}

#[test]
fn an_http_url_to_another_host_shows_a_cleartext_warning_that_does_not_block_the_login() {
    let rt = runtime();
    let (_dir, file) = settings_dir();
    let mut h = app(
        &rt,
        config(Start::LoginScreen, &file, Arc::new(MemoryStore::new())),
    );
    assert!(h.query_by_label_contains("Not encrypted").is_none());
    fill_in(
        &mut h,
        "http://tb.example.com",
        "tenant@thingsboard.org",
        "x",
    );
    h.get_by_label(tb_monitor::settings::CLEARTEXT_WARNING);
    assert!(!log_in_button(&h).accesskit_node().is_disabled());
}

#[test]
fn the_demo_servers_loopback_url_shows_no_cleartext_warning() {
    let rt = runtime();
    let demo = start_demo(&rt);
    let (_dir, file) = settings_dir();
    let mut h = app(
        &rt,
        config(Start::LoginScreen, &file, Arc::new(MemoryStore::new())),
    );
    let url = demo.base_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    fill_in(&mut h, &url, "tenant@thingsboard.org", "tenant");
    assert!(!log_in_button(&h).accesskit_node().is_disabled());
    assert!(h.query_by_label_contains("Not encrypted").is_none());
}
