//! User settings: server profiles and preferences in `settings.toml` in the platform config
//! dir ([`SettingsFile::default_location`]).
//!
//! * **Tolerant.** Every field has a default (`#[serde(default)]`), so an older or partial
//!   file loads; unknown keys are ignored. Numbers out of range are clamped on load and the
//!   user is told ([`Settings::normalize`]). A choice key (`theme`, `time_zone`,
//!   `default_window`) holding a value this version does not know, say `theme = "purple"`
//!   written by a newer version, falls back to that key's default with a note naming the key
//!   and its line; the rest of the file, profiles included, is kept and the file stays where
//!   it is ([`Settings::from_toml_str_with_notes`]). `notifications.min_severity` keeps an
//!   unknown name, which `normalize` replaces with a note.
//! * **Never loses the user's file.** A file that is not TOML, or whose structure is wrong (a
//!   text where a table or a list belongs, a list where a choice belongs), is renamed aside to
//!   `settings.toml.bak-<unix seconds>`, defaults are used and [`Loaded::notice`] says where
//!   the backup is. [`SettingsFile::save`] moves such a file aside too before writing, so a
//!   backup that failed at load cannot be overwritten later.
//! * **Atomic.** [`SettingsFile::save`] writes a temporary file in the same folder, syncs it
//!   and renames it over the old one: a crash leaves the old file or the new one, never half.
//! * **No secrets.** Passwords and tokens live in the OS keychain ([`crate::secrets`]); a
//!   password typed into a profile URL is dropped before writing.
//!
//! This module does no egui: the Settings view is `crate::ui::settings`.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::net::tls::{TlsTrust, parse_fingerprint};
use crate::protocol::{AlarmSeverity, EntityDataQuery, NotificationType, ProtocolError};

/// The file name inside the config dir.
pub const FILE_NAME: &str = "settings.toml";

/// The first lines of every saved file.
const HEADER: &str = "# tb-monitor settings. Passwords and tokens are kept in the OS keychain, \
                      never in this file.\n# Unknown keys are ignored; a file that cannot be read \
                      is kept aside as settings.toml.bak-<time>.\n\n";

/// A saved server.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Profile {
    /// The name shown in the picker (unique).
    pub name: String,
    /// The server's base URL, e.g. `https://tb.example.com`.
    pub url: String,
    /// The user's e-mail.
    pub username: String,
    /// Keep the password (and the refresh token) in the OS keychain.
    pub remember_password: bool,
    /// A PEM file of extra CA certificates to trust.
    pub ca_file: Option<PathBuf>,
    /// The SHA-256 fingerprint of a self-signed server certificate the user confirmed.
    pub pinned_sha256: Option<String>,
}

impl Profile {
    /// The keychain account of this profile: `<user>@<server>`.
    #[must_use]
    pub fn account(&self) -> String {
        format!("{}@{}", self.username, self.url)
    }

    /// The TLS trust the profile asks for.
    #[must_use]
    pub fn trust(&self) -> TlsTrust {
        if let Some(sha256) = &self.pinned_sha256 {
            TlsTrust::Pinned {
                sha256: sha256.clone(),
            }
        } else if let Some(pem_path) = &self.ca_file {
            TlsTrust::CustomCa {
                pem_path: pem_path.clone(),
            }
        } else {
            TlsTrust::System
        }
    }

    /// Checks what the login screen needs before it saves or uses the profile.
    ///
    /// # Errors
    /// A sentence for the user: an empty name or user name, a URL that is not `http(s)://`
    /// with a host (or carries a password), a pinned fingerprint that is not 64 hex digits, an
    /// empty CA file path.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("Give the server a name".to_owned());
        }
        validate_url(&self.url)?;
        if self.username.trim().is_empty() {
            return Err("Enter the user name (the e-mail you log in with)".to_owned());
        }
        if let Some(sha256) = &self.pinned_sha256 {
            parse_fingerprint(sha256)
                .map_err(|e| format!("The pinned certificate fingerprint is not valid: {e}"))?;
        }
        if let Some(ca_file) = &self.ca_file
            && ca_file.as_os_str().is_empty()
        {
            return Err("Choose the CA certificate file, or turn the custom CA off".to_owned());
        }
        Ok(())
    }
}

/// The warning shown for a server reached in clear text.
pub const CLEARTEXT_WARNING: &str = "Not encrypted: the password and all data travel in clear \
     text. Use https:// unless this network is trusted.";

/// [`CLEARTEXT_WARNING`] when `url` reaches another machine in clear text: `http`/`ws` to a
/// host that is not loopback. The login form shows it under the URL and `tb-monitor watch`
/// prints it before logging in, but neither refuses the URL (a trusted lab network is a fair
/// choice). This machine is `localhost` (any case, trailing dot or not), 127.0.0.0/8 and
/// `::1` (also as `::ffff:127.x.y.z`): traffic to them never leaves it. `None` for
/// `https`/`wss`, loopback, and text that is not a URL (validation reports that).
#[must_use]
pub fn cleartext_warning(url: &str) -> Option<&'static str> {
    let parsed = reqwest::Url::parse(url.trim()).ok()?;
    if !matches!(parsed.scheme(), "http" | "ws") {
        return None;
    }
    // `host_str` is the parser's canonical text: IPv4 as dotted decimal (`127.1` becomes
    // `127.0.0.1`), IPv6 in brackets, domains lower-cased.
    let host = parsed.host_str()?;
    let ip = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse::<std::net::IpAddr>();
    let loopback = match ip {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(std::net::IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => host
            .strip_suffix('.')
            .unwrap_or(host)
            .eq_ignore_ascii_case("localhost"),
    };
    (!loopback).then_some(CLEARTEXT_WARNING)
}

/// Checks a server URL: `http` or `https`, a host, no password in it.
fn validate_url(text: &str) -> Result<(), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Enter the server URL, e.g. https://thingsboard.example.com".to_owned());
    }
    if !text.contains("://") {
        return Err(format!(
            "The server URL must start with https:// or http://, e.g. https://{text}"
        ));
    }
    let url = reqwest::Url::parse(text)
        .map_err(|e| format!("The server URL is not valid ({e}): {text}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "The server URL must start with https:// or http://: {text}"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("The server URL has no host name: {text}"));
    }
    if url.password().is_some() {
        return Err(
            "Put the password in the password field, not in the URL (settings are stored in plain text)"
                .to_owned(),
        );
    }
    Ok(())
}

/// The colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemePref {
    /// Light text on a dark background.
    Dark,
    /// Dark text on a light background.
    Light,
    /// Whatever the operating system uses.
    #[default]
    System,
}

impl ThemePref {
    /// Every choice, in the order the Settings view shows them.
    pub const ALL: [ThemePref; 3] = [ThemePref::Dark, ThemePref::Light, ThemePref::System];

    /// The label in the Settings view.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            ThemePref::Dark => "Dark",
            ThemePref::Light => "Light",
            ThemePref::System => "Follow the system",
        }
    }
}

/// The time zone times are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeZonePref {
    /// The computer's local time zone.
    #[default]
    Local,
    /// Coordinated Universal Time.
    Utc,
}

impl TimeZonePref {
    /// Every choice, in the order the Settings view shows them.
    pub const ALL: [TimeZonePref; 2] = [TimeZonePref::Local, TimeZonePref::Utc];

    /// The label in the Settings view.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            TimeZonePref::Local => "Local time",
            TimeZonePref::Utc => "UTC",
        }
    }
}

/// The time window a new plot starts with.
///
/// Written as `"5m"`, `"15m"`, `"1h"`, `"6h"`, `"24h"` or `"7d"`; a whole number of minutes
/// equal to one of these (`60`) is read too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeWindowPref {
    /// The last 5 minutes.
    Min5,
    /// The last 15 minutes.
    #[default]
    Min15,
    /// The last hour.
    Hour1,
    /// The last 6 hours.
    Hour6,
    /// The last 24 hours.
    Hour24,
    /// The last 7 days.
    Day7,
}

impl TimeWindowPref {
    /// Every choice, shortest first.
    pub const ALL: [TimeWindowPref; 6] = [
        TimeWindowPref::Min5,
        TimeWindowPref::Min15,
        TimeWindowPref::Hour1,
        TimeWindowPref::Hour6,
        TimeWindowPref::Hour24,
        TimeWindowPref::Day7,
    ];

    /// The window's length in minutes.
    #[must_use]
    pub fn minutes(self) -> u32 {
        match self {
            TimeWindowPref::Min5 => 5,
            TimeWindowPref::Min15 => 15,
            TimeWindowPref::Hour1 => 60,
            TimeWindowPref::Hour6 => 6 * 60,
            TimeWindowPref::Hour24 => 24 * 60,
            TimeWindowPref::Day7 => 7 * 24 * 60,
        }
    }

    /// The window's length in milliseconds (ThingsBoard's time unit).
    #[must_use]
    pub fn millis(self) -> i64 {
        i64::from(self.minutes()) * 60_000
    }

    /// The window's length.
    #[must_use]
    pub fn duration(self) -> Duration {
        Duration::from_secs(u64::from(self.minutes()) * 60)
    }

    /// The window of exactly `minutes`, if it is one of the choices.
    #[must_use]
    pub fn from_minutes(minutes: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.minutes() == minutes)
    }

    /// The name in the file.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TimeWindowPref::Min5 => "5m",
            TimeWindowPref::Min15 => "15m",
            TimeWindowPref::Hour1 => "1h",
            TimeWindowPref::Hour6 => "6h",
            TimeWindowPref::Hour24 => "24h",
            TimeWindowPref::Day7 => "7d",
        }
    }

    /// The label in the Settings view.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            TimeWindowPref::Min5 => "5 minutes",
            TimeWindowPref::Min15 => "15 minutes",
            TimeWindowPref::Hour1 => "1 hour",
            TimeWindowPref::Hour6 => "6 hours",
            TimeWindowPref::Hour24 => "24 hours",
            TimeWindowPref::Day7 => "7 days",
        }
    }
}

impl serde::Serialize for TimeWindowPref {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TimeWindowPref {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WindowVisitor;
        impl serde::de::Visitor<'_> for WindowVisitor {
            type Value = TimeWindowPref;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("one of \"5m\", \"15m\", \"1h\", \"6h\", \"24h\", \"7d\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                TimeWindowPref::ALL
                    .into_iter()
                    .find(|w| w.as_str().eq_ignore_ascii_case(v.trim()))
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                // TOML integers are signed; a negative one is no window.
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                u32::try_from(v)
                    .ok()
                    .and_then(TimeWindowPref::from_minutes)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
        }
        deserializer.deserialize_any(WindowVisitor)
    }
}

/// When new alarms raise a desktop notification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NotificationPrefs {
    /// Show desktop notifications at all.
    pub desktop: bool,
    /// Alarms of this severity or worse notify (`CRITICAL` is the worst).
    pub min_severity: AlarmSeverity,
    /// Play a sound with a notification.
    pub sound: bool,
}

impl NotificationPrefs {
    /// The default threshold: major and critical alarms notify.
    pub const DEFAULT_MIN_SEVERITY: AlarmSeverity = AlarmSeverity::Major;

    /// Whether a new alarm of `severity` raises a desktop notification.
    #[must_use]
    pub fn notifies(&self, severity: &AlarmSeverity) -> bool {
        self.desktop && severity.is_known() && severity.rank() <= self.min_severity.rank()
    }
}

impl Default for NotificationPrefs {
    fn default() -> Self {
        Self {
            desktop: true,
            min_severity: Self::DEFAULT_MIN_SEVERITY,
            sound: false,
        }
    }
}

/// The notification center: how many notifications the tray lists, which of them pop up on
/// the desktop, and the system tray icon.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct InboxPrefs {
    /// Notifications the tray lists (the `limit` of its `NOTIFICATIONS` subscription).
    #[serde(deserialize_with = "saturating_count")]
    pub tray_limit: usize,
    /// New platform notifications raise a desktop notification.
    pub desktop: bool,
    /// Notification types that never pop up (they are still listed). Unknown names are
    /// kept; entries that are not text are dropped on load.
    #[serde(deserialize_with = "lenient_types")]
    pub muted_types: Vec<NotificationType>,
    /// Show an icon in the system tray (where the desktop has one).
    pub tray_icon: bool,
    /// Closing the window keeps the app running in the system tray, still notifying.
    pub close_to_tray: bool,
}

impl InboxPrefs {
    /// The tray's default length.
    pub const DEFAULT_TRAY_LIMIT: usize = 20;
    /// The shortest tray.
    pub const MIN_TRAY_LIMIT: usize = 1;
    /// The longest tray (the server sends the whole list again after each read).
    pub const MAX_TRAY_LIMIT: usize = 100;

    /// Whether notifications of type `t` pop up on the desktop.
    #[must_use]
    pub fn pops_up(&self, t: &NotificationType) -> bool {
        self.desktop && !self.muted_types.contains(t)
    }

    /// Mutes or unmutes the type `t`.
    pub fn set_muted(&mut self, t: &NotificationType, muted: bool) {
        self.muted_types.retain(|m| m != t);
        if muted {
            self.muted_types.push(t.clone());
            self.muted_types.sort();
        }
    }
}

impl Default for InboxPrefs {
    fn default() -> Self {
        Self {
            tray_limit: Self::DEFAULT_TRAY_LIMIT,
            desktop: true,
            muted_types: Vec::new(),
            tray_icon: true,
            close_to_tray: false,
        }
    }
}

/// Reads `muted_types` leniently: text entries are kept (unknown names too), others dropped.
fn lenient_types<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<NotificationType>, D::Error> {
    let values = <Vec<toml::Value> as serde::Deserialize>::deserialize(deserializer)?;
    let mut types: Vec<NotificationType> = values
        .iter()
        .filter_map(toml::Value::as_str)
        .map(NotificationType::from_wire)
        .collect();
    types.sort();
    types.dedup();
    Ok(types)
}

/// Memory bounds of the live data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DataLimits {
    /// Points kept per plotted series (16 bytes each); the oldest are dropped first.
    #[serde(deserialize_with = "saturating_count")]
    pub points_per_series: usize,
}

impl DataLimits {
    /// The default points per series: the store's own default.
    pub const DEFAULT_POINTS_PER_SERIES: usize =
        crate::store::series::SeriesLimits::DEFAULT_MAX_POINTS;
    /// The fewest points per series (a few minutes of a fast sensor).
    pub const MIN_POINTS_PER_SERIES: usize = 1_000;
    /// The most points per series (about 160 MB for one series).
    pub const MAX_POINTS_PER_SERIES: usize = 10_000_000;
    /// Bytes per stored point, for the memory estimate shown to the user.
    pub const BYTES_PER_POINT: usize = 16;
}

impl Default for DataLimits {
    fn default() -> Self {
        Self {
            points_per_series: Self::DEFAULT_POINTS_PER_SERIES,
        }
    }
}

/// Reads any TOML integer into a `usize`, saturating (negative → 0), so a wrong count is
/// clamped by [`Settings::normalize`] instead of making the whole file unreadable.
fn saturating_count<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let value = <i64 as serde::Deserialize>::deserialize(deserializer)?;
    Ok(usize::try_from(value.max(0)).unwrap_or(usize::MAX))
}

/// A saved entity query: a name and ThingsBoard's `EntityDataQuery` as JSON text.
///
/// The query stays JSON rather than TOML tables: an entry this version cannot read (a filter
/// type from a newer ThingsBoard) or a hand-edited mistake spoils only that entry, never the
/// whole settings file, and an export gives back exactly what was saved.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SavedQuery {
    /// The name shown in the query builder (unique).
    pub name: String,
    /// The `EntityDataQuery` JSON.
    pub query: String,
}

impl SavedQuery {
    /// `query` saved as `name`.
    ///
    /// # Errors
    /// Only if the query holds a number JSON cannot represent (a non-finite float).
    pub fn new(
        name: impl Into<String>,
        query: &EntityDataQuery,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            name: name.into(),
            query: serde_json::to_string(query)?,
        })
    }

    /// The saved query.
    ///
    /// # Errors
    /// A sentence for the user naming the query and what cannot be read.
    pub fn query(&self) -> Result<EntityDataQuery, String> {
        crate::protocol::decode_named("saved query", &self.query)
            .map_err(|e| format!("The saved query \"{}\" cannot be read: {e}", self.name))
    }
}

/// Reads `saved_queries` leniently: an entry that is not a table with a text name (or a
/// second entry of the same name) is dropped, and a value that is not a list gives none, so
/// one bad entry never costs the user the rest of the file.
fn lenient_saved_queries<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SavedQuery>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Good(SavedQuery),
        Bad(serde::de::IgnoredAny),
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum List {
        Entries(Vec<Entry>),
        Other(serde::de::IgnoredAny),
    }
    let List::Entries(entries) = <List as serde::Deserialize>::deserialize(deserializer)? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<SavedQuery> = Vec::new();
    for entry in entries {
        if let Entry::Good(q) = entry
            && !q.name.trim().is_empty()
            && !out.iter().any(|o| o.name == q.name)
        {
            out.push(q);
        }
    }
    Ok(out)
}

/// Reads `plot_layouts` leniently: the current layout and each saved one are read on their
/// own; one that cannot be read is dropped (a layout is convenience, not data to refuse a
/// settings file over).
#[allow(
    clippy::unnecessary_wraps,
    reason = "serde's deserialize_with signature"
)]
fn lenient_plot_layouts<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<crate::plot::layout::PlotLayouts, D::Error> {
    use crate::plot::layout::{Layout, PlotLayouts};
    use serde::Deserialize as _;
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Raw {
        current: Option<toml::Value>,
        saved: Vec<toml::Value>,
    }
    let raw = match <toml::Value as serde::Deserialize>::deserialize(deserializer) {
        Ok(value) => Raw::deserialize(value).unwrap_or_default(),
        Err(_) => Raw::default(),
    };
    let layout = |v: toml::Value| Layout::deserialize(v).ok();
    let mut saved: Vec<Layout> = Vec::new();
    for l in raw.saved.into_iter().filter_map(layout) {
        if !l.name.trim().is_empty() && !saved.iter().any(|s| s.name == l.name) {
            saved.push(l);
        }
    }
    Ok(PlotLayouts {
        current: raw.current.and_then(layout),
        saved,
    })
}

/// All settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The profile used last (auto-login picks it).
    pub last_profile: Option<String>,
    /// Log in to the last profile on start (when its password is remembered).
    pub auto_login: bool,
    /// The colour theme.
    pub theme: ThemePref,
    /// The most frames a second that streaming data redraws the window (a user action
    /// always redraws at once); lower saves CPU on slow or software-rendered machines.
    pub max_frame_rate: u32,
    /// The time zone times are shown in.
    pub time_zone: TimeZonePref,
    /// The time window a new plot starts with.
    pub default_window: TimeWindowPref,
    /// Desktop notifications for new alarms.
    pub notifications: NotificationPrefs,
    /// The notification center (tray, desktop notices of platform notifications, tray icon).
    pub inbox: InboxPrefs,
    /// Memory bounds of the live data.
    pub limits: DataLimits,
    /// Saved servers (written as `[[profiles]]` tables).
    pub profiles: Vec<Profile>,
    /// Saved entity queries of the query builder (written as `[[saved_queries]]` tables);
    /// unreadable entries are dropped on load.
    #[serde(deserialize_with = "lenient_saved_queries")]
    pub saved_queries: Vec<SavedQuery>,
    /// The Plots view's current and saved layouts (written last); an unreadable part is
    /// dropped on load, the rest of the file is kept.
    #[serde(deserialize_with = "lenient_plot_layouts")]
    pub plot_layouts: crate::plot::layout::PlotLayouts,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            last_profile: None,
            auto_login: true,
            theme: ThemePref::default(),
            max_frame_rate: Self::DEFAULT_MAX_FRAME_RATE,
            time_zone: TimeZonePref::default(),
            default_window: TimeWindowPref::default(),
            notifications: NotificationPrefs::default(),
            inbox: InboxPrefs::default(),
            limits: DataLimits::default(),
            profiles: Vec::new(),
            saved_queries: Vec::new(),
            plot_layouts: crate::plot::layout::PlotLayouts::default(),
        }
    }
}

impl Settings {
    /// Frame-rate caps offered.
    pub const FRAME_RATES: [u32; 6] = [5, 10, 15, 20, 30, 60];
    /// The default cap: live values and plots stay fluid, and a software-rendered window
    /// (22 ms a frame under llvmpipe) stays near a quarter of a core under 1,000 updates/s.
    pub const DEFAULT_MAX_FRAME_RATE: u32 = 10;

    /// The profile called `name`.
    #[must_use]
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The profile used last, if it still exists.
    #[must_use]
    pub fn last(&self) -> Option<&Profile> {
        self.profile(self.last_profile.as_deref()?)
    }

    /// Replaces the profile of the same name where it stands, or adds it at the end.
    pub fn upsert_profile(&mut self, profile: Profile) {
        match self.profiles.iter_mut().find(|p| p.name == profile.name) {
            Some(slot) => *slot = profile,
            None => self.profiles.push(profile),
        }
    }

    /// Removes the profile called `name` (and forgets it as the last one used); returns it,
    /// so the caller can delete its keychain entries.
    pub fn remove_profile(&mut self, name: &str) -> Option<Profile> {
        let index = self.profiles.iter().position(|p| p.name == name)?;
        if self.last_profile.as_deref() == Some(name) {
            self.last_profile = None;
        }
        Some(self.profiles.remove(index))
    }

    /// Brings values into range and drops what cannot be used; returns a sentence per change
    /// worth telling the user about.
    ///
    /// Points per series are clamped to
    /// [`DataLimits::MIN_POINTS_PER_SERIES`]..=[`DataLimits::MAX_POINTS_PER_SERIES`]; an
    /// unknown minimum severity falls back to the default; a second profile with the same
    /// name is dropped; a last profile that no longer exists is forgotten.
    pub fn normalize(&mut self) -> Vec<String> {
        let mut notes = Vec::new();
        let points = self.limits.points_per_series;
        let clamped = points.clamp(
            DataLimits::MIN_POINTS_PER_SERIES,
            DataLimits::MAX_POINTS_PER_SERIES,
        );
        if clamped != points {
            notes.push(format!(
                "Points kept per series must be between {} and {}; {points} was changed to \
                 {clamped}",
                DataLimits::MIN_POINTS_PER_SERIES,
                DataLimits::MAX_POINTS_PER_SERIES,
            ));
            self.limits.points_per_series = clamped;
        }
        let rate = self.max_frame_rate;
        let clamped = rate.clamp(1, 120);
        if clamped != rate {
            notes.push(format!(
                "The frame rate cap must be between 1 and 120; {rate} was changed to {clamped}"
            ));
            self.max_frame_rate = clamped;
        }
        let tray = self.inbox.tray_limit;
        let clamped = tray.clamp(InboxPrefs::MIN_TRAY_LIMIT, InboxPrefs::MAX_TRAY_LIMIT);
        if clamped != tray {
            notes.push(format!(
                "The tray lists between {} and {} notifications; {tray} was changed to {clamped}",
                InboxPrefs::MIN_TRAY_LIMIT,
                InboxPrefs::MAX_TRAY_LIMIT,
            ));
            self.inbox.tray_limit = clamped;
        }
        if !self.notifications.min_severity.is_known() {
            notes.push(ProtocolError::bounded(&format!(
                "The notification severity `{}` is not known; {} is used",
                self.notifications.min_severity,
                NotificationPrefs::DEFAULT_MIN_SEVERITY,
            )));
            self.notifications.min_severity = NotificationPrefs::DEFAULT_MIN_SEVERITY;
        }
        let mut seen = std::collections::HashSet::new();
        let before = self.profiles.len();
        self.profiles.retain(|p| seen.insert(p.name.clone()));
        if self.profiles.len() != before {
            notes.push(format!(
                "{} server profile(s) with a name already used were ignored",
                before - self.profiles.len()
            ));
        }
        if self.last_profile.is_some() && self.last().is_none() {
            self.last_profile = None;
        }
        notes
    }

    /// Reads the bytes of a settings file as [`SettingsFile::load`] does, without touching the
    /// disk and without [`Settings::normalize`] (call it for the clamping and its notes). The
    /// entry point of the `settings_file` fuzz target and the hostile-input tests. An unknown
    /// choice falls back to its default; [`Settings::from_toml_str_with_notes`] also returns
    /// the notes saying so.
    ///
    /// # Errors
    /// Bytes that are not UTF-8 or not a settings TOML document. The text is a phrase that
    /// follows "The settings file", naming the line and what was wrong:
    /// `is not a text file (it is not UTF-8)`, `could not be read (line 3: invalid type: …)`.
    pub fn from_toml_bytes(bytes: &[u8]) -> Result<Settings, String> {
        Self::from_toml_str(utf8(bytes)?)
    }

    /// Reads the text of a settings file; see [`Settings::from_toml_bytes`].
    ///
    /// # Errors
    /// Text that is not a settings TOML document: `could not be read (line N: …)`.
    pub fn from_toml_str(text: &str) -> Result<Settings, String> {
        Self::from_toml_str_with_notes(text).map(|(settings, _)| settings)
    }

    /// Reads the text of a settings file, with a note for each choice key (`theme`,
    /// `time_zone`, `default_window`) whose value is not one of its choices and was replaced
    /// by the key's default, e.g. `` `theme` on line 2: unknown variant `purple`, expected one
    /// of `dark`, `light`, `system`; the default "system" is used ``. A value a note quotes
    /// is cut to a bounded length.
    ///
    /// # Errors
    /// Text that is not TOML, or whose structure does not fit the settings (a text where a
    /// table belongs, a list where a choice belongs): `could not be read (line N: …)`.
    pub fn from_toml_str_with_notes(text: &str) -> Result<(Settings, Vec<String>), String> {
        use serde::Deserialize as _;
        let unreadable =
            |e: &toml::de::Error| format!("could not be read ({})", describe_toml_error(text, e));
        let mut root = toml::de::DeTable::parse(text).map_err(|e| unreadable(&e))?;
        let mut notes = Vec::new();
        for (key, fall_back) in CHOICES {
            fall_back(root.get_mut(), key, text, &mut notes);
        }
        // Spans stay those of `text`, so an error still names its line.
        let settings = Settings::deserialize(toml::de::Deserializer::from(root))
            .map_err(|e| unreadable(&e))?;
        Ok((settings, notes))
    }

    /// The text [`SettingsFile::save`] writes (a header comment, then the TOML document; a
    /// password typed into a profile URL is dropped).
    ///
    /// # Errors
    /// A value TOML cannot hold (none is known).
    pub fn to_toml_string(&self) -> Result<String, String> {
        toml::to_string_pretty(&self.for_disk())
            .map(|body| format!("{HEADER}{body}"))
            .map_err(|e| format!("Could not save settings: {e}"))
    }

    /// What goes on disk: a password typed into a profile URL is dropped.
    fn for_disk(&self) -> Settings {
        let mut out = self.clone();
        for profile in &mut out.profiles {
            if let Ok(mut url) = reqwest::Url::parse(profile.url.trim())
                && url.password().is_some()
                && url.set_password(None).is_ok()
            {
                profile.url = url.to_string();
            }
        }
        out
    }
}

/// Reads one key of a document leniently (see [`fall_back`]).
type FallBack = fn(&mut toml::de::DeTable<'_>, &str, &str, &mut Vec<String>);

/// The keys whose value is one of a few choices: one this version does not know falls back
/// to the key's default with a note ([`Settings::from_toml_str_with_notes`]). A new choice
/// field is added here.
const CHOICES: [(&str, FallBack); 3] = [
    ("theme", fall_back::<ThemePref>),
    ("time_zone", fall_back::<TimeZonePref>),
    ("default_window", fall_back::<TimeWindowPref>),
];

/// The text of a settings file, or why it is none.
fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|_| "is not a text file (it is not UTF-8)".to_owned())
}

/// Replaces the value of `key` with `T`'s default (by removing it) when it is a single value
/// (text, number, boolean, date) that `T` does not read, and says so in `notes`. A list or a
/// table is left for the settings' own reading to refuse: that is a file of another shape.
fn fall_back<T>(table: &mut toml::de::DeTable<'_>, key: &str, text: &str, notes: &mut Vec<String>)
where
    T: serde::de::DeserializeOwned + serde::Serialize + Default,
{
    let Some(value) = table.get(key) else {
        return;
    };
    if value.get_ref().is_array() || value.get_ref().is_table() {
        return;
    }
    let Err(e) = T::deserialize(toml::de::ValueDeserializer::from(value.clone())) else {
        return;
    };
    let line = line_of(text, value.span().start);
    let default =
        toml::Value::try_from(T::default()).map_or_else(|_| "value".to_owned(), |v| v.to_string());
    notes.push(ProtocolError::bounded(&format!(
        "`{key}` on line {line}: {}; the default {default} is used",
        e.message().trim()
    )));
    table.remove(key);
}

/// The line (from 1) of the byte at `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

/// tb-monitor's platform folders (config, data); `None` when the system has no home
/// directory. The one place the app's identity for `directories` is spelled: the settings
/// file and the log dir ([`crate::logging::default_dir`]) both start here.
#[must_use]
pub fn app_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("io", "tb-monitor", "tb-monitor")
}

/// Settings read from disk, with a notice for the user when something was wrong.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The settings (defaults when the file was missing or corrupt).
    pub settings: Settings,
    /// What the user should know (e.g. "settings.toml was corrupt, kept as …").
    pub notice: Option<String>,
}

/// Where settings live.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    /// Settings at `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `settings.toml` in the platform config dir (`~/.config/tb-monitor` on Linux,
    /// `~/Library/Application Support/io.tb-monitor.tb-monitor` on macOS,
    /// `%APPDATA%\tb-monitor\tb-monitor\config` on Windows); `None` when the system has no
    /// home directory.
    #[must_use]
    pub fn default_location() -> Option<SettingsFile> {
        app_dirs().map(|dirs| Self::new(dirs.config_dir().join(FILE_NAME)))
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder holding the file.
    fn dir(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    /// Reads the settings. A missing file gives the defaults; a file that cannot be read or
    /// parsed is renamed aside (`settings.toml.bak-<unix seconds>`) and gives the defaults,
    /// with a notice naming the backup. Never fails and never panics.
    #[must_use]
    pub fn load(&self) -> Loaded {
        match self.read() {
            Ok(None) => Loaded::default(),
            Ok(Some((mut settings, mut notes))) => {
                notes.extend(settings.normalize());
                let notice = (!notes.is_empty()).then(|| {
                    format!(
                        "Some settings were adjusted: {}. File: {}",
                        notes.join("; "),
                        self.path.display()
                    )
                });
                Loaded { settings, notice }
            }
            Err(reason) => Loaded {
                settings: Settings::default(),
                notice: Some(match self.set_aside() {
                    Ok(backup) => format!(
                        "The settings file {reason}. Default settings are used; your file was \
                         kept as {}",
                        backup.display()
                    ),
                    Err(e) => format!(
                        "The settings file {reason}, and it could not be moved aside ({}). \
                         Default settings are used and changes are not saved until the file is \
                         fixed or removed: {}",
                        plain_io(&e),
                        self.path.display()
                    ),
                }),
            },
        }
    }

    /// The settings in the file and the notes of reading it: `Ok(None)` when there is none,
    /// `Err` with the reason (a phrase that follows "The settings file") when it cannot be used.
    fn read(&self) -> Result<Option<(Settings, Vec<String>)>, String> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("could not be read ({})", plain_io(&e))),
        };
        Settings::from_toml_str_with_notes(utf8(&bytes)?).map(Some)
    }

    /// Renames the file to `<name>.bak-<unix seconds>` (with `-2`, `-3`, … when taken).
    fn set_aside(&self) -> io::Result<PathBuf> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let base = format!("{}.bak-{now}", self.file_name().to_string_lossy());
        let mut backup = self.dir().join(&base);
        let mut n = 1;
        while backup.exists() {
            n += 1;
            backup = self.dir().join(format!("{base}-{n}"));
        }
        fs::rename(&self.path, &backup)?;
        Ok(backup)
    }

    /// The file's name (`settings.toml` if the path names none; `save` refuses such a path).
    fn file_name(&self) -> &std::ffi::OsStr {
        self.path
            .file_name()
            .unwrap_or(std::ffi::OsStr::new(FILE_NAME))
    }

    /// Writes the settings atomically, creating the folder when missing. A file in the way
    /// that is not a readable settings file is first kept aside as `load` does.
    ///
    /// # Errors
    /// A sentence for the user, ending with the path: the folder cannot be created, the file
    /// cannot be written or replaced.
    pub fn save(&self, settings: &Settings) -> Result<(), String> {
        let dir = self.dir();
        if self.path.file_name().is_none() {
            return Err(format!(
                "Could not save settings: the path does not name a file: {}",
                self.path.display()
            ));
        }
        fs::create_dir_all(dir).map_err(|e| {
            format!(
                "Could not save settings: the folder cannot be created ({}): {}",
                plain_io(&e),
                dir.display()
            )
        })?;
        if let Err(reason) = self.read() {
            match self.set_aside() {
                Ok(backup) => tracing::warn!(
                    "the settings file {reason}; kept as {} before saving",
                    backup.display()
                ),
                Err(e) => {
                    return Err(format!(
                        "Could not save settings: the existing file {reason} and could not be \
                         moved aside ({}): {}",
                        plain_io(&e),
                        self.path.display()
                    ));
                }
            }
        }
        let text = settings.to_toml_string()?;
        self.write_atomically(text.as_bytes()).map_err(|(what, e)| {
            format!(
                "Could not save settings: {what} failed ({}): {}",
                plain_io(&e),
                self.path.display()
            )
        })
    }

    /// Writes `bytes` to a new temporary file in the same folder, syncs it and renames it
    /// over the file; on failure the temporary file is removed. The error names the step.
    fn write_atomically(&self, bytes: &[u8]) -> Result<(), (&'static str, io::Error)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = self.dir();
        let tmp = dir.join(format!(
            ".{}.tmp-{}-{}",
            self.file_name().to_string_lossy(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| ("creating a temporary file", e))?;
            file.write_all(bytes)
                .map_err(|e| ("writing the temporary file", e))?;
            file.sync_all()
                .map_err(|e| ("syncing the temporary file", e))?;
            drop(file);
            fs::rename(&tmp, &self.path).map_err(|e| ("replacing the file", e))
        })();
        if result.is_err() {
            fs::remove_file(&tmp).ok();
        } else {
            sync_dir(dir);
        }
        result
    }
}

/// Makes the rename durable (POSIX); best effort, the data itself is already synced.
#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        d.sync_all().ok();
    }
}

/// Renames are durable without a folder sync elsewhere (and folders cannot be opened).
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

/// A TOML error as a short phrase with its line: `line 3: invalid type: …`. The parser
/// repeats a wrong value whole (a 10 MB string where a number belongs) and the notice is
/// shown in a window: a quoted value is cut as protocol errors cut theirs
/// ([`ProtocolError::bounded`]).
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = ProtocolError::bounded(err.message().lines().next().unwrap_or("").trim());
    match err.span() {
        Some(span) => format!("line {}: {message}", line_of(text, span.start)),
        None => message,
    }
}

/// An I/O error in plain words.
fn plain_io(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::NotFound => "not found".to_owned(),
        io::ErrorKind::NotADirectory => "a file is where a folder should be".to_owned(),
        io::ErrorKind::IsADirectory => "it is a folder, not a file".to_owned(),
        io::ErrorKind::ReadOnlyFilesystem => "the disk is read-only".to_owned(),
        io::ErrorKind::StorageFull => "the disk is full".to_owned(),
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = "[[profiles]]\nname = \"plant\"\nurl = \"https://tb.example.com\"\n";

    fn read(text: &str) -> (Settings, Vec<String>) {
        Settings::from_toml_str_with_notes(text).unwrap()
    }

    #[test]
    fn an_unknown_theme_falls_back_to_the_default_with_a_note_and_the_profiles_are_kept() {
        let (settings, notes) = read(&format!(
            "auto_login = false\ntheme = \"purple\"\ntime_zone = \"utc\"\n{PROFILE}"
        ));
        assert_eq!(settings.theme, ThemePref::default());
        assert_eq!(settings.time_zone, TimeZonePref::Utc, "the rest is kept");
        assert!(!settings.auto_login);
        assert_eq!(settings.profiles.len(), 1);
        assert_eq!(
            notes,
            [
                "`theme` on line 2: unknown variant `purple`, expected one of `dark`, `light`, \
              `system`; the default \"system\" is used"
            ]
        );
    }

    #[test]
    fn every_choice_key_falls_back_on_its_own_whatever_single_value_it_holds() {
        let (settings, notes) = read(&format!(
            "theme = 3\ntime_zone = \"mars\"\ndefault_window = \"2w\"\n{PROFILE}"
        ));
        assert_eq!(settings.theme, ThemePref::default());
        assert_eq!(settings.time_zone, TimeZonePref::default());
        assert_eq!(settings.default_window, TimeWindowPref::default());
        assert_eq!(settings.profiles.len(), 1);
        assert_eq!(notes.len(), 3, "{notes:?}");
        for (note, (key, line)) in
            notes
                .iter()
                .zip([("theme", 1), ("time_zone", 2), ("default_window", 3)])
        {
            assert!(
                note.starts_with(&format!("`{key}` on line {line}: ")),
                "{note}"
            );
        }
        assert!(notes[2].contains("\"2w\""), "{}", notes[2]);
        assert!(
            notes[2].ends_with("the default \"15m\" is used"),
            "{}",
            notes[2]
        );
        for value in ["-5", "7", "1.5", "true", "1979-05-27"] {
            let (settings, notes) = read(&format!("default_window = {value}\n"));
            assert_eq!(
                settings.default_window,
                TimeWindowPref::default(),
                "{value}"
            );
            assert_eq!(notes.len(), 1, "{value}");
        }
    }

    #[test]
    fn known_choices_give_no_note() {
        let (settings, notes) =
            read("theme = \"light\"\ntime_zone = \"utc\"\ndefault_window = 60\n");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(settings.theme, ThemePref::Light);
        assert_eq!(settings.default_window, TimeWindowPref::Hour1);
    }

    #[test]
    fn a_list_or_a_table_where_a_choice_belongs_is_still_refused_naming_the_line() {
        for (text, line) in [
            ("auto_login = true\ntheme = [\"dark\"]\n", 2),
            ("auto_login = true\ntheme = { name = \"dark\" }\n", 2),
            ("auto_login = true\n[time_zone]\nname = \"utc\"\n", 3),
        ] {
            let err = Settings::from_toml_str_with_notes(text).unwrap_err();
            let start = format!("could not be read (line {line}: ");
            assert!(err.starts_with(&start), "{err}");
        }
    }

    #[test]
    fn a_wrong_structure_elsewhere_is_refused_even_with_an_unknown_choice_before_it() {
        let err =
            Settings::from_toml_str("theme = \"purple\"\nprofiles = \"plant\"\n").unwrap_err();
        assert!(
            err.starts_with("could not be read (line 2: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn a_ten_megabyte_unknown_choice_gives_a_note_under_a_kilobyte() {
        let big = "x".repeat(10 << 20);
        let (settings, notes) = read(&format!("theme = \"{big}\"\n{PROFILE}"));
        assert_eq!(settings.profiles.len(), 1);
        assert!(notes[0].len() < 1024, "{} bytes", notes[0].len());
        assert!(
            notes[0].starts_with("`theme` on line 1: unknown variant `xxx"),
            "{}",
            notes[0]
        );
        assert!(
            notes[0].ends_with(
                "xxx`, expected one of `dark`, `light`, `system`; the default \"system\" is used"
            ),
            "{}",
            notes[0]
        );
    }

    #[test]
    fn a_ten_megabyte_unknown_severity_gives_a_note_under_a_kilobyte() {
        let big = "Y".repeat(10 << 20);
        let mut settings =
            Settings::from_toml_str(&format!("[notifications]\nmin_severity = \"{big}\"\n"))
                .unwrap();
        let notes = settings.normalize();
        assert!(notes[0].len() < 1024, "{} bytes", notes[0].len());
        assert!(
            notes[0].starts_with("The notification severity `YYY"),
            "{}",
            notes[0]
        );
        assert!(
            notes[0].ends_with("YYY` is not known; MAJOR is used"),
            "{}",
            notes[0]
        );
    }

    #[test]
    fn a_ten_megabyte_value_of_the_wrong_type_gives_an_error_under_a_kilobyte() {
        let big = "z".repeat(10 << 20);
        let err = Settings::from_toml_str(&format!("auto_login = \"{big}\"\n")).unwrap_err();
        assert!(err.len() < 1024, "{} bytes", err.len());
        assert!(
            err.starts_with("could not be read (line 1: invalid type: string \"zzz"),
            "{err}"
        );
        assert!(err.ends_with("zzz\", expected a boolean)"), "{err}");
    }

    #[test]
    fn cleartext_to_another_machine_warns_and_loopback_or_tls_does_not() {
        for url in [
            "http://tb.example.com",
            "http://10.0.0.5:8080",
            "ws://host",
            "HTTP://tb.example.com/",
            "http://[2001:db8::1]:8080",
            "http://localhost.example.com",
            "http://128.0.0.1",
        ] {
            assert_eq!(cleartext_warning(url), Some(CLEARTEXT_WARNING), "{url}");
        }
        for url in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://127.1",
            "http://localhost",
            "http://LOCALHOST.",
            "http://[::1]:9090",
            "http://[::ffff:127.0.0.1]",
            "ws://localhost:8080/api/ws",
            "https://tb.example.com",
            "wss://tb.example.com",
            "not a url",
            "",
        ] {
            assert_eq!(cleartext_warning(url), None, "{url}");
        }
    }
}
