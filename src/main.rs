//! The `tb-monitor` binary.

// Windows release builds are GUI programs: no console window opens beside the app when it
// is started from the Start menu or Explorer. What that means for the subcommands' output in
// a terminal is in packaging/windows/README.md. Debug builds keep the console.
#![cfg_attr(
    all(target_os = "windows", not(debug_assertions)),
    windows_subsystem = "windows"
)]
// A command-line entry point talks to its terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tb_monitor::app::{AppConfig, Start, TbApp};
use tb_monitor::demo::{DemoConfig, DemoServer};
use tb_monitor::net::rest::{LoginOutcome, RestClient};
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::protocol::TwoFaProviderType;
use tb_monitor::settings::SettingsFile;
use tb_monitor::watch::StopAfter;

/// A desktop client for ThingsBoard.
#[derive(Debug, Parser)]
#[command(name = "tb-monitor", version, about)]
struct Cli {
    /// Open the app on the embedded demo server (a simulated ThingsBoard), logged in.
    #[arg(long, conflicts_with_all = ["server", "profile"])]
    demo: bool,
    /// Open the login for this server (base URL, e.g. `https://tb.example.com`).
    #[arg(long, requires = "user", conflicts_with = "profile")]
    server: Option<String>,
    /// The user's e-mail on `--server`.
    #[arg(long, requires = "server")]
    user: Option<String>,
    /// Log in with this saved server profile.
    #[arg(long)]
    profile: Option<String>,
    /// Log level: off, error, warn, info, debug or trace (`RUST_LOG` overrides it). The app
    /// also writes its log to a rotating file in the data dir.
    #[arg(long, global = true, default_value = "info", value_parser = log_level)]
    log_level: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the ThingsBoard-compatible demo server with a simulated tenant until Ctrl-C.
    DemoServer {
        /// Address to listen on (loopback by default).
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Number of simulated devices.
        #[arg(long, default_value_t = 60)]
        devices: usize,
        /// Telemetry points per second per device and key.
        #[arg(long, default_value_t = 1.0)]
        rate: f64,
        /// Seed of the simulated tenant.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Access token lifetime in seconds.
        #[arg(long, default_value_t = 9000)]
        token_ttl: u64,
        /// Refresh token lifetime in seconds.
        #[arg(long, default_value_t = 604_800)]
        refresh_ttl: u64,
    },
    /// Stream a server's updates as JSON lines (one event per line) for scripts and CI.
    Watch {
        /// The ThingsBoard base URL, e.g. `https://tb.example.com`.
        #[arg(long, required_unless_present = "demo", conflicts_with = "demo")]
        server: Option<String>,
        /// The user's e-mail.
        #[arg(long, required_unless_present = "demo")]
        user: Option<String>,
        /// Read the password (and, with 2FA, then the TOTP code) from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Watch an embedded demo server instead, logged in as its tenant admin.
        #[arg(long)]
        demo: bool,
        /// A JSON file holding a `cmds` list as in the WebSocket API.
        #[arg(long)]
        query: std::path::PathBuf,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<u64>,
        /// Trust a custom CA (PEM file) besides the system roots.
        #[arg(long, conflicts_with = "pin_sha256")]
        ca_file: Option<std::path::PathBuf>,
        /// Trust exactly the certificate with this SHA-256 fingerprint (a self-signed server).
        #[arg(long)]
        pin_sha256: Option<String>,
    },
}

/// Validates `--log-level` (clap reports a bad one as a usage error).
fn log_level(text: &str) -> Result<String, String> {
    tb_monitor::logging::parse_level(text).map(|_| text.to_owned())
}

fn main() -> ExitCode {
    #[cfg(all(target_os = "windows", not(debug_assertions)))]
    attach_parent_console();
    let cli = Cli::parse();
    // Only the desktop app keeps a log file; the subcommands log to stderr.
    let log_dir = cli
        .command
        .is_none()
        .then(tb_monitor::logging::default_dir)
        .flatten();
    let log = match tb_monitor::logging::init(&cli.log_level, log_dir.as_deref()) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("tb-monitor: {e}");
            return ExitCode::from(2);
        }
    };
    tb_monitor::logging::install_panic_hook();
    // The crash-report test's way in: a debug build panics on purpose when asked.
    #[cfg(debug_assertions)]
    if let Ok(message) = std::env::var("TB_MONITOR_TEST_PANIC") {
        panic!("{message}");
    }
    match cli.command {
        Some(Command::DemoServer {
            bind,
            devices,
            rate,
            seed,
            token_ttl,
            refresh_ttl,
        }) => {
            if !(rate.is_finite() && rate > 0.0 && rate <= 1000.0) {
                eprintln!("tb-monitor: --rate must be between 0 and 1000 points per second");
                return ExitCode::from(2);
            }
            let config = DemoConfig {
                bind,
                devices,
                rate_hz: rate,
                seed,
                token_ttl: Duration::from_secs(token_ttl),
                refresh_ttl: Duration::from_secs(refresh_ttl),
                ..DemoConfig::default()
            };
            run_demo_server(config)
        }
        Some(Command::Watch {
            server,
            user,
            password_stdin,
            demo,
            query,
            count,
            seconds,
            ca_file,
            pin_sha256,
        }) => {
            let trust = match (ca_file, pin_sha256) {
                (Some(pem_path), _) => TlsTrust::CustomCa { pem_path },
                (None, Some(sha256)) => TlsTrust::Pinned { sha256 },
                (None, None) => TlsTrust::System,
            };
            let target = if demo {
                Target::Demo
            } else {
                Target::Server {
                    url: server.unwrap_or_default(),
                    user: user.unwrap_or_default(),
                    password_stdin,
                    trust,
                }
            };
            let stop = StopAfter {
                messages: count,
                duration: seconds.map(Duration::from_secs),
            };
            run_watch(target, &query, stop)
        }
        None => {
            let start = if cli.demo {
                Start::Demo
            } else if let (Some(url), Some(user)) = (cli.server, cli.user) {
                Start::Server { url, user }
            } else if let Some(name) = cli.profile {
                Start::Profile(name)
            } else {
                Start::Auto
            };
            run_app(start, log.file_error().map(str::to_owned))
        }
    }
}

fn run_demo_server(config: DemoConfig) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tb-monitor: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let devices = config.devices;
        let server = match DemoServer::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("tb-monitor: cannot start the demo server: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "tb-monitor demo server: {} ({devices} devices)",
            server.base_url()
        );
        println!("  WebSocket  {}", server.ws_url());
        println!("  tenant admin   tenant@thingsboard.org / tenant");
        println!("  customer user  customer@thingsboard.org / customer");
        println!(
            "  2FA user       mfa@thingsboard.org / mfa (TOTP secret {})",
            tb_monitor::demo::world::MFA_TOTP_SECRET_BASE32
        );
        println!("Press Ctrl-C to stop.");
        tokio::signal::ctrl_c().await.ok();
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Where `watch` connects.
enum Target {
    Demo,
    Server {
        url: String,
        user: String,
        password_stdin: bool,
        trust: TlsTrust,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("tb-monitor: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

fn run_watch(target: Target, query: &std::path::Path, stop: StopAfter) -> ExitCode {
    let text = match std::fs::read_to_string(query) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tb-monitor: cannot read {}: {e}", query.display());
            return ExitCode::from(2);
        }
    };
    let specs = match tb_monitor::watch::parse_query(&text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tb-monitor: {}: {e}", query.display());
            return ExitCode::from(2);
        }
    };
    for ignored in tb_monitor::watch::ignored_cmds(&text) {
        eprintln!("tb-monitor: ignoring {ignored}: watch only subscribes");
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let (rest, _demo) = match login(target).await {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("tb-monitor: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut stdout = std::io::stdout();
        match tb_monitor::watch::watch(rest, specs, stop, &mut stdout).await {
            Ok(()) => ExitCode::SUCCESS,
            // A closed pipe (`| head`) is a normal way to stop.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tb-monitor: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Logs in to the target; the demo server, when started, lives as long as the returned guard.
async fn login(target: Target) -> Result<(RestClient, Option<DemoServer>), String> {
    match target {
        Target::Demo => {
            let (session, server) = tb_monitor::app::demo_session(DemoConfig::default()).await?;
            Ok((session.rest, Some(server)))
        }
        Target::Server {
            url,
            user,
            password_stdin,
            trust,
        } => {
            // Before the password goes out, not after.
            if let Some(warning) = tb_monitor::settings::cleartext_warning(&url) {
                tracing::warn!("{url}: {warning}");
            }
            let rest = RestClient::new(&url, trust).map_err(|e| e.to_string())?;
            let mut lines = std::io::stdin().lines();
            let password = if password_stdin {
                lines
                    .next()
                    .and_then(Result::ok)
                    .ok_or("no password on standard input")?
            } else {
                std::env::var("TB_PASSWORD")
                    .map_err(|_| "give the password with --password-stdin (or TB_PASSWORD)")?
            };
            match rest
                .login(&user, &password)
                .await
                .map_err(|e| e.to_string())?
            {
                LoginOutcome::LoggedIn(_) => {}
                LoginOutcome::SecondFactor(pre) => {
                    let code = lines.next().and_then(Result::ok).ok_or(
                        "the login needs a TOTP code: give it on the line after the password",
                    )?;
                    rest.two_fa_check(&pre, &TwoFaProviderType::Totp, &code)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            Ok((rest, None))
        }
    }
}

/// Opens the desktop app; `log_problem` says why the log file could not be opened.
fn run_app(start: Start, log_problem: Option<String>) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let settings_file = SettingsFile::default_location();
    let loaded = settings_file
        .as_ref()
        .map(SettingsFile::load)
        .unwrap_or_default();
    let (secrets, keychain_problem) = if start == Start::Demo {
        // The demo logs in with built-in credentials: nothing to remember.
        (
            std::sync::Arc::new(tb_monitor::secrets::MemoryStore::new())
                as std::sync::Arc<dyn tb_monitor::secrets::SecretStore>,
            None,
        )
    } else {
        // Connecting must not hold the window back for long; later calls (off the UI thread)
        // may wait for an unlock prompt.
        tb_monitor::secrets::open_keychain_or_session_only(Duration::from_secs(5))
    };
    if let Some(e) = &keychain_problem {
        tracing::warn!("keychain: {e}");
    }
    let notices: Vec<String> = [
        loaded.notice,
        keychain_problem.map(|e| e.to_string()),
        log_problem,
    ]
    .into_iter()
    .flatten()
    .collect();
    let notice = (!notices.is_empty()).then(|| notices.join("\n"));
    let config = AppConfig {
        start,
        settings_file,
        settings: loaded.settings,
        secrets,
        notice,
        demo: DemoConfig::default(),
    };
    let handle = rt.handle().clone();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("tb-monitor")
        // The desktop entry's id (packaging/linux): Wayland matches the window to it; on X11
        // it is the window class the entry's StartupWMClass names.
        .with_app_id("io.tb_monitor.tb_monitor")
        .with_inner_size([1200.0, 760.0])
        .with_min_inner_size([640.0, 400.0]);
    match eframe::icon_data::from_png_bytes(include_bytes!("../assets/icon.png")) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(e) => tracing::warn!("app icon: {e}"),
    }
    let options = eframe::NativeOptions {
        viewport,
        // The window state stays where it always was (eframe would otherwise name the
        // folder after the app id): `tb-monitor/data/app.ron` in the platform data dir.
        persistence_path: eframe::storage_dir("tb-monitor").map(|dir| dir.join("app.ron")),
        ..eframe::NativeOptions::default()
    };
    let result = eframe::run_native(
        "tb-monitor",
        options,
        Box::new(move |cc| Ok(Box::new(TbApp::new(cc, &handle, config)))),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tb-monitor: cannot open the window: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Attaches a Windows release build to the console of the terminal that started it.
///
/// Release builds use the `windows` subsystem, so they start without a console: started from
/// cmd or PowerShell, `--help`, `--version`, `watch` and `demo-server` would print nothing.
/// Standard handles the parent redirected (a pipe, a file) stay as they are. Started from
/// Explorer or the Start menu there is no parent console, and this does nothing.
#[cfg(all(target_os = "windows", not(debug_assertions)))]
#[allow(unsafe_code)]
fn attach_parent_console() {
    use windows_sys::Win32::System::Console::{ATTACH_PARENT_PROCESS, AttachConsole};
    // SAFETY: `AttachConsole` takes a process id by value and touches no memory of ours. It
    // fails (returns 0) when the parent has no console, which leaves the process as it was.
    unsafe {
        AttachConsole(ATTACH_PARENT_PROCESS);
    }
}
