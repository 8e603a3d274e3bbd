//! Logging: tracing to stderr and a rotating file in the data dir. Never a password or token.
//!
//! [`init`] installs one global subscriber with two outputs:
//!
//! * stderr (coloured when it is a terminal);
//! * `tb-monitor.log` in the log dir ([`default_dir`]: the platform data dir + `logs`),
//!   rotated by size: past [`MAX_FILE_BYTES`] the file becomes `tb-monitor.log.1`, the old
//!   `.1` becomes `.2`, and older ones are dropped ([`KEEP_FILES`] files in all). Rotation is
//!   done here by [`RotatingFile`] (no extra crate); each event is written whole into one file.
//!
//! If the file cannot be opened, logging to stderr still works; [`init`] says why, once, on
//! stderr and in [`LogGuard::file_error`] (for the UI's notice).
//!
//! ## Levels
//!
//! The level (`--log-level`: `error`, `warn`, `info`, `debug`, `trace` or `off`) applies to
//! tb-monitor's own events; other crates log warnings and errors only. `RUST_LOG`, when set,
//! replaces both with any `tracing_subscriber::EnvFilter` directives.
//!
//! ## Panics
//!
//! [`install_panic_hook`] writes a panic (thread, place, message, backtrace) to the log as an
//! `ERROR` event of target `tb_monitor::panic`, so it reaches the log file of an app started
//! from a menu (no visible stderr) as well as stderr. Anything shaped like a token is masked
//! first ([`crate::net::tokens::redact_jwts`]).
//!
//! ## Secrets
//!
//! tb-monitor's own events never carry a password or token (the types holding them redact
//! them in `Debug`). Some dependencies do at `TRACE`: tungstenite logs every WebSocket frame
//! (the `authCmd` holds the access token) and the handshake request (the legacy endpoint's URL
//! holds it too). So `TRACE` events of [`SECRET_BEARING_TARGETS`] are dropped whatever the
//! level or `RUST_LOG` says, and every line written, to stderr or the file, has anything
//! token-shaped masked ([`crate::net::tokens::redact_jwts`]): a dependency may log a
//! server's text verbatim at `DEBUG` (tungstenite logs a close reason, which ThingsBoard's
//! 1007 fills with the first frame, token included).

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterFn, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The log file's name in the log dir.
pub const LOG_FILE_NAME: &str = "tb-monitor.log";
/// The size past which the log file is rotated (5 MiB).
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// How many log files are kept: `tb-monitor.log`, `.log.1` and `.log.2`.
pub const KEEP_FILES: usize = 3;
/// Targets whose `TRACE` events can carry secrets: WebSocket frames and handshake requests
/// (tokens), HTTP internals, and D-Bus messages (the keychain's, though encrypted).
pub const SECRET_BEARING_TARGETS: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "zbus",
];

/// The level names [`parse_level`] accepts, for messages.
const LEVEL_NAMES: &str = "error, warn, info, debug, trace or off";

/// The log dir: the platform data dir + `logs` (e.g. `~/.local/share/tb-monitor/logs`).
#[must_use]
pub fn default_dir() -> Option<PathBuf> {
    crate::settings::app_dirs().map(|dirs| dirs.data_dir().join("logs"))
}

/// Parses a level name (`error`, `warn`, `info`, `debug`, `trace`, `off`; any case).
///
/// # Errors
/// Anything else, with the accepted names.
pub fn parse_level(level: &str) -> Result<LevelFilter, String> {
    match level.trim().to_ascii_lowercase().as_str() {
        "off" => Ok(LevelFilter::OFF),
        "error" => Ok(LevelFilter::ERROR),
        "warn" | "warning" => Ok(LevelFilter::WARN),
        "info" => Ok(LevelFilter::INFO),
        "debug" => Ok(LevelFilter::DEBUG),
        "trace" => Ok(LevelFilter::TRACE),
        _ => Err(format!(
            "unknown log level {level:?}: use one of {LEVEL_NAMES}"
        )),
    }
}

/// What [`init`] set up. Dropping it changes nothing: the file is written unbuffered.
#[derive(Debug, Clone, Default)]
pub struct LogGuard {
    file: Option<PathBuf>,
    file_error: Option<String>,
    filter: String,
}

impl LogGuard {
    /// The log file being written, if any.
    #[must_use]
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Why there is no log file (only stderr), in plain words.
    #[must_use]
    pub fn file_error(&self) -> Option<&str> {
        self.file_error.as_deref()
    }

    /// The filter in force (the level's directives or `RUST_LOG`).
    #[must_use]
    pub fn filter(&self) -> &str {
        &self.filter
    }
}

/// Installs the global subscriber: `level` (overridden by `RUST_LOG`) to stderr and to a
/// rotating `tb-monitor.log` in `dir` (stderr only when `dir` is `None`).
///
/// # Errors
/// The level is not a level name, or a global subscriber is already installed. A log file
/// that cannot be opened is not an error: see [`LogGuard::file_error`].
pub fn init(level: &str, dir: Option<&Path>) -> Result<LogGuard, String> {
    let rust_log = std::env::var("RUST_LOG").ok();
    let ansi = io::stderr().is_terminal();
    let (subscriber, guard, notice) = build(level, dir, rust_log.as_deref(), io::stderr, ansi)?;
    subscriber
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))?;
    // Announced once through the log itself: the user may never open the UI's notice.
    if let Some(notice) = notice {
        tracing::warn!("{notice}");
    }
    if let Some(error) = guard.file_error() {
        tracing::warn!("{error}");
    }
    Ok(guard)
}

/// The text a panic is logged with: thread, place, message (tokens masked) and backtrace.
fn panic_report(
    info: &std::panic::PanicHookInfo<'_>,
    backtrace: &std::backtrace::Backtrace,
) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)");
    let thread = std::thread::current();
    let place = info
        .location()
        .map_or_else(|| "an unknown place".to_owned(), ToString::to_string);
    format!(
        "thread '{}' panicked at {place}: {}\nbacktrace:\n{backtrace}",
        thread.name().unwrap_or("<unnamed>"),
        crate::net::tokens::redact_jwts(message),
    )
}

/// Replaces the default panic hook: every panic is logged at `ERROR` (stderr and the log
/// file), tokens masked; with logging off it still goes to stderr. Call once, after [`init`].
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let backtrace = std::backtrace::Backtrace::force_capture();
        let report = panic_report(info, &backtrace);
        if tracing::enabled!(target: "tb_monitor::panic", Level::ERROR) {
            tracing::error!(target: "tb_monitor::panic", "{report}");
        } else {
            let _ = writeln!(io::stderr(), "{report}");
        }
    }));
}

/// The subscriber [`init`] installs, writing to `console` instead of stderr (for tests), and
/// a notice about an unusable `RUST_LOG`.
fn build<W>(
    level: &str,
    dir: Option<&Path>,
    rust_log: Option<&str>,
    console: W,
    ansi: bool,
) -> Result<
    (
        impl tracing::Subscriber + Send + Sync,
        LogGuard,
        Option<String>,
    ),
    String,
>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let (filter, spec, notice) = filter(level, rust_log)?;
    let mut guard = LogGuard {
        filter: spec,
        ..LogGuard::default()
    };
    let file = dir.and_then(
        |dir| match RotatingFile::open(dir, MAX_FILE_BYTES, KEEP_FILES) {
            Ok(file) => {
                guard.file = Some(file.path().to_owned());
                Some(SharedFile::new(file))
            }
            Err(e) => {
                guard.file_error = Some(format!(
                    "cannot write the log file in {}: {e}; logging to stderr only",
                    dir.display()
                ));
                None
            }
        },
    );
    let file_layer = file.map(|writer| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(Redacting(writer))
    });
    let console_layer = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(Redacting(console));
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(FilterFn::new(|meta| !bears_secrets(meta)))
        .with(console_layer)
        .with(file_layer);
    Ok((subscriber, guard, notice))
}

/// The filter: `RUST_LOG` when set and valid, else `level` for tb-monitor and at most `warn`
/// for other crates. Returns it, its text, and a notice when `RUST_LOG` was unusable.
fn filter(
    level: &str,
    rust_log: Option<&str>,
) -> Result<(EnvFilter, String, Option<String>), String> {
    let level = parse_level(level)?;
    let others = level.min(LevelFilter::WARN);
    let spec = format!("{others},tb_monitor={level}").to_ascii_lowercase();
    let from_level =
        || EnvFilter::try_new(&spec).map_err(|e| format!("bad log filter {spec:?}: {e}"));
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok((from_level()?, spec, None)),
        Some(env) => match EnvFilter::try_new(env) {
            Ok(filter) => Ok((filter, env.to_owned(), None)),
            Err(e) => {
                let notice =
                    format!("RUST_LOG={env:?} is not a valid filter ({e}); using {spec:?}");
                Ok((from_level()?, spec, Some(notice)))
            }
        },
    }
}

/// A `TRACE` event of a crate that logs frames or headers verbatim.
fn bears_secrets(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() == Level::TRACE
        && SECRET_BEARING_TARGETS.iter().any(|t| {
            meta.target()
                .strip_prefix(t)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
}

/// A log file rotated by size: `name`, `name.1`, … `name.<keep-1>`, newest first.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    written: u64,
}

impl RotatingFile {
    /// Opens (appending) or creates `dir/tb-monitor.log`, creating `dir` as needed.
    ///
    /// `keep` counts the current file: 3 keeps `.log`, `.log.1` and `.log.2`.
    ///
    /// # Errors
    /// The dir or the file cannot be created or opened.
    pub fn open(dir: &Path, max_bytes: u64, keep: usize) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE_NAME);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path,
            max_bytes,
            keep: keep.max(1),
            file,
            written,
        })
    }

    /// The current file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of the `n`th older file (`n` ≥ 1).
    fn older(&self, n: usize) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Shifts the files one step older and starts an empty current file.
    fn rotate(&mut self) -> io::Result<()> {
        if self.keep > 1 {
            // Windows refuses to rename onto an existing file: remove the oldest first.
            let oldest = self.older(self.keep - 1);
            if oldest.exists() {
                fs::remove_file(&oldest)?;
            }
            for n in (1..self.keep - 1).rev() {
                let from = self.older(n);
                if from.exists() {
                    fs::rename(&from, self.older(n + 1))?;
                }
            }
            fs::rename(&self.path, self.older(1))?;
        }
        self.file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    /// Writes all of `buf` (one formatted event) into one file, rotating first when it would
    /// go past the limit. An event larger than the limit gets a file of its own.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let full = self.written > 0 && self.written.saturating_add(len) > self.max_bytes;
        if full && self.rotate().is_err() {
            // The files cannot be renamed (e.g. held open elsewhere): start the current file
            // over, so its size stays bounded and the event is kept.
            self.file.set_len(0)?;
            self.written = 0;
        }
        self.file.write_all(buf)?;
        self.written = self.written.saturating_add(len);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// A [`RotatingFile`] shared by the threads that log, as a `MakeWriter`.
#[derive(Debug, Clone)]
struct SharedFile(Arc<Mutex<RotatingFile>>);

impl SharedFile {
    fn new(file: RotatingFile) -> Self {
        Self(Arc::new(Mutex::new(file)))
    }
}

/// The locked file for one event.
struct FileGuard<'a>(MutexGuard<'a, RotatingFile>);

impl Write for FileGuard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for SharedFile {
    type Writer = FileGuard<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        // A panic mid-write leaves at worst a torn line: keep logging.
        FileGuard(self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A writer factory whose writers mask token-shaped text ([`crate::net::tokens::redact_jwts`])
/// in every event: a dependency may log a server's text verbatim (tungstenite logs a close
/// frame's reason at `DEBUG`, and ThingsBoard's 1007 reason can echo a token), whatever
/// level `RUST_LOG` asks for.
struct Redacting<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RedactingWriter(self.0.make_writer_for(meta))
    }
}

/// Masks tokens in each write. The fmt layer writes an event's whole text in one call, so a
/// token is never split across two writes.
struct RedactingWriter<W>(W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if memchr::memmem::find(buf, b"eyJ").is_none() {
            return self.0.write(buf);
        }
        let text = String::from_utf8_lossy(buf);
        self.0
            .write_all(crate::net::tokens::redact_jwts(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_default()
    }

    /// Writes `text` padded to a `len`-byte line in one call, as the fmt layer writes an event.
    fn line(file: &mut RotatingFile, text: &str, len: usize) {
        let line = format!("{text:<width$}\n", width = len - 1);
        file.write_all(line.as_bytes()).unwrap();
    }

    #[test]
    fn level_names_parse_in_any_case() {
        assert_eq!(parse_level("info"), Ok(LevelFilter::INFO));
        assert_eq!(parse_level(" DEBUG "), Ok(LevelFilter::DEBUG));
        assert_eq!(parse_level("Warn"), Ok(LevelFilter::WARN));
        assert_eq!(parse_level("off"), Ok(LevelFilter::OFF));
    }

    #[test]
    fn an_unknown_level_is_refused_with_the_accepted_names() {
        let err = parse_level("verbose").unwrap_err();
        assert_eq!(
            err,
            "unknown log level \"verbose\": use one of error, warn, info, debug, trace or off"
        );
        assert!(build("loud", None, None, io::sink, false).is_err());
    }

    #[test]
    fn the_level_applies_to_tb_monitor_and_other_crates_log_warnings_only() {
        let (_, spec, notice) = filter("debug", None).unwrap();
        assert_eq!(spec, "warn,tb_monitor=debug");
        assert!(notice.is_none());
        let (_, spec, _) = filter("error", None).unwrap();
        assert_eq!(spec, "error,tb_monitor=error");
    }

    #[test]
    fn rust_log_overrides_the_level_and_a_bad_one_is_announced() {
        let (_, spec, notice) = filter("info", Some("tb_monitor::net=trace")).unwrap();
        assert_eq!(spec, "tb_monitor::net=trace");
        assert!(notice.is_none());
        let (_, spec, notice) = filter("info", Some("tb_monitor=loud")).unwrap();
        assert_eq!(spec, "warn,tb_monitor=info");
        assert!(
            notice
                .unwrap()
                .starts_with("RUST_LOG=\"tb_monitor=loud\" is not a valid filter")
        );
        let (_, spec, _) = filter("info", Some("  ")).unwrap();
        assert_eq!(spec, "warn,tb_monitor=info");
    }

    #[test]
    fn the_file_rotates_past_the_limit_and_keeps_three_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = RotatingFile::open(dir.path(), 100, 3).unwrap();
        for i in 0..10 {
            // 50 bytes per line: two lines per file.
            line(&mut file, &i.to_string(), 50);
        }
        let current = dir.path().join("tb-monitor.log");
        let first = dir.path().join("tb-monitor.log.1");
        let second = dir.path().join("tb-monitor.log.2");
        assert!(read(&current).starts_with('8'), "{}", read(&current));
        assert_eq!(read(&current).lines().count(), 2);
        assert!(read(&first).starts_with('6'));
        assert!(read(&second).starts_with('4'));
        assert!(!dir.path().join("tb-monitor.log.3").exists());
        let files = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, 3);
        for path in [&current, &first, &second] {
            assert!(fs::metadata(path).unwrap().len() <= 100);
        }
    }

    #[test]
    fn reopening_appends_and_counts_what_is_already_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = RotatingFile::open(dir.path(), 100, 3).unwrap();
        line(&mut file, "first run", 80);
        drop(file);
        let mut file = RotatingFile::open(dir.path(), 100, 3).unwrap();
        line(&mut file, "second run", 30);
        let first = dir.path().join("tb-monitor.log.1");
        assert!(read(&first).starts_with("first run"));
        assert!(read(file.path()).starts_with("second run"));
    }

    #[test]
    fn an_event_larger_than_the_limit_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = RotatingFile::open(dir.path(), 10, 2).unwrap();
        file.write_all(b"small\n").unwrap();
        file.write_all(b"a line longer than ten bytes\n").unwrap();
        assert_eq!(read(file.path()), "a line longer than ten bytes\n");
        assert_eq!(read(&dir.path().join("tb-monitor.log.1")), "small\n");
    }

    #[test]
    fn events_reach_the_file_without_colours_and_below_the_level_they_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (subscriber, guard, _) = build("info", Some(dir.path()), None, io::sink, true).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "tb_monitor::app", "window opened");
            tracing::debug!(target: "tb_monitor::app", "too chatty");
            tracing::info!(target: "some_crate", "not ours");
            tracing::trace!(target: "tungstenite::protocol", "Sending frame: authCmd token");
        });
        let text = read(guard.file().unwrap());
        assert!(text.contains("window opened"), "{text}");
        assert!(!text.contains("too chatty"), "{text}");
        assert!(!text.contains("not ours"), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "no ANSI escapes in the file: {text}"
        );
        assert!(guard.file_error().is_none());
    }

    #[test]
    fn trace_events_of_frame_logging_crates_are_dropped_even_under_rust_log_trace() {
        let dir = tempfile::tempdir().unwrap();
        let (subscriber, guard, _) =
            build("info", Some(dir.path()), Some("trace"), io::sink, false).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "tungstenite::protocol", "Sending frame: authCmd token");
            tracing::trace!(target: "hyper", "headers");
            tracing::debug!(target: "tungstenite::protocol", "Received close frame");
            tracing::trace!(target: "tungstenite_like", "kept");
            tracing::trace!(target: "tb_monitor::net", "ours at trace");
        });
        let text = read(guard.file().unwrap());
        assert!(!text.contains("authCmd"), "{text}");
        assert!(!text.contains("headers"), "{text}");
        assert!(text.contains("Received close frame"), "{text}");
        assert!(text.contains("kept"), "{text}");
        assert!(text.contains("ours at trace"), "{text}");
    }

    #[test]
    fn a_token_a_dependency_logs_verbatim_is_masked_in_the_file_and_on_the_console() {
        #[derive(Clone, Default)]
        struct Console(Arc<Mutex<Vec<u8>>>);
        impl Write for Console {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let console = Console::default();
        let dir = tempfile::tempdir().unwrap();
        let sink = console.clone();
        let (subscriber, guard, _) = build(
            "info",
            Some(dir.path()),
            Some("debug"),
            move || sink.clone(),
            false,
        )
        .unwrap();
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0In0.c2lnbmF0dXJlLWNhbmFyeQ";
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(
                target: "tungstenite::protocol",
                "Received close frame: {{\"token\":\"{token}\"}}"
            );
        });
        let file = read(guard.file().unwrap());
        let console = String::from_utf8(console.0.lock().unwrap().clone()).unwrap();
        for text in [&file, &console] {
            assert!(text.contains("Received close frame"), "{text}");
            assert!(!text.contains("c2lnbmF0dXJlLWNhbmFyeQ"), "{text}");
            assert!(!text.contains("eyJhbGci"), "{text}");
        }
    }

    #[test]
    fn an_unwritable_log_dir_leaves_stderr_logging_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the dir should be: create_dir_all fails.
        let blocker = dir.path().join("logs");
        fs::write(&blocker, b"not a dir").unwrap();
        let (subscriber, guard, _) = build("info", Some(&blocker), None, io::sink, false).unwrap();
        assert!(guard.file().is_none());
        let error = guard.file_error().unwrap();
        assert!(
            error.starts_with("cannot write the log file in "),
            "{error}"
        );
        assert!(error.ends_with("logging to stderr only"), "{error}");
        tracing::subscriber::with_default(subscriber, || tracing::info!("still fine"));
    }

    #[test]
    fn the_default_dir_is_the_data_dir_plus_logs() {
        if let Some(dir) = default_dir() {
            assert!(dir.ends_with("logs"), "{}", dir.display());
        }
    }
}
