//! Alarms that reach the user: new and escalated alarms become grouped, rate-limited notices
//! (a desktop notification and an in-app toast, optionally a sound).
//!
//! The rules [`Notifier`] follows:
//!
//! * It watches the rows of one `ALARM_DATA` subscription ([`Notifier::observe`]). An active
//!   alarm it has not seen is **new**; a seen alarm whose severity got worse (lower
//!   [`AlarmSeverity::rank`]) is **escalated**. A milder severity is remembered silently, so
//!   a later rise notifies again.
//! * The first observation is the **baseline**: alarms already active at login do not pop up
//!   one by one; one summary ("3 active alarms (1 CRITICAL, 2 MAJOR) on 2 devices") is due
//!   at once if any is at or above the threshold.
//! * **Threshold**: only known severities at or above [`NotifyPrefs::min_severity`] notify
//!   (unknown severities never do). Every active alarm is remembered whatever its
//!   severity, so lowering the threshold does not make old alarms "new", and a rise from
//!   below the threshold to above it is an escalation.
//! * A **cleared** alarm is forgotten (an active row with its id later is new again), and a
//!   notice for it that is still being gathered is withdrawn. Alarms that merely leave the
//!   rows stay remembered. Memory is bounded: beyond [`MAX_REMEMBERED`] ids the ones seen
//!   least recently go first (the current rows are always kept).
//! * **Grouping**: events are gathered for [`GROUP_WINDOW_MS`] after the first one, then
//!   come out as one notice. One alarm appears once per notice: new-then-escalated stays new
//!   at the worse severity, escalated twice keeps its first "from". One event reads
//!   "CRITICAL alarm: High Temperature" / "Boiler 3 · 14:02"; several are counted by
//!   severity, worst first: "12 new MAJOR alarms on Site B", "12 new alarms (3 CRITICAL,
//!   9 MAJOR) on 7 devices", "2 alarms escalated to CRITICAL on Boiler 3". The body lists the
//!   worst few.
//! * **Rate limit**: at most [`MAX_NOTICES_PER_MINUTE`] notices in any rolling
//!   [`RATE_WINDOW_MS`]. The limit counts every notice, whichever channel shows it: the
//!   toast and the desktop notification are the same notice, so a flood gives neither a
//!   popup nor a toast per alarm. Past the limit, events keep being gathered and come out as
//!   one summary as soon as the limit allows; nothing is dropped (beyond
//!   [`MAX_PENDING`] gathered alarms the rest are counted, "and 12 more").
//! * **Channels**: a notice is always an in-app toast; it is also a desktop notification when
//!   [`NotifyPrefs::desktop`] is on and quiet mode is off, and it carries a sound only with
//!   the desktop notification (the sound is a hint of it). Channels follow the preferences
//!   at the time the notice comes out.
//! * Times are read with saturating arithmetic; a clock that jumps back shortens waits
//!   instead of freezing notices.
//!
//! [`show_on_desktop`] hands one notice to the desktop's notification service.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;

use crate::plot::window::Zone;
use crate::protocol::{AlarmData, AlarmSeverity, EntityId, EntityKeyType, EntityType, TbValue};
use crate::settings::NotificationPrefs;

/// How long events are gathered after the first one before they come out as one notice.
pub const GROUP_WINDOW_MS: i64 = 2_000;
/// The most notices in any rolling [`RATE_WINDOW_MS`].
pub const MAX_NOTICES_PER_MINUTE: usize = 4;
/// The rolling window of the rate limit.
pub const RATE_WINDOW_MS: i64 = 60_000;
/// The most alarm ids remembered (besides those of the current rows).
pub const MAX_REMEMBERED: usize = 4_096;
/// The most alarms listed in one gathered notice; further ones are only counted.
pub const MAX_PENDING: usize = 4_096;
/// Alarms named one per line in a grouped notice's body.
const BODY_LINES: usize = 3;

/// What makes an alarm worth a notice.
#[derive(Debug, Clone, PartialEq)]
pub enum AlarmEventKind {
    /// An active alarm not seen before.
    New,
    /// A seen alarm whose severity got worse.
    Escalated {
        /// The severity before.
        from: AlarmSeverity,
    },
}

/// A new or escalated alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmEvent {
    /// The alarm's id.
    pub alarm: EntityId,
    /// New or escalated.
    pub kind: AlarmEventKind,
    /// The alarm's severity now.
    pub severity: AlarmSeverity,
    /// The alarm type, e.g. `High Temperature`.
    pub alarm_type: String,
    /// The originator's name, or its id's text when the server sent no name.
    pub originator: String,
    /// The originator's id (to count distinct originators).
    pub originator_id: EntityId,
    /// When it happened (epoch ms): the alarm's creation time for a new alarm, the time it
    /// was observed for an escalation.
    pub at_ms: i64,
}

/// One notice to show: desktop notification and/or in-app toast, optional sound.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// One line: "CRITICAL alarm: High Temperature".
    pub title: String,
    /// Details, lines separated by `\n`.
    pub body: String,
    /// The worst severity among the alarms.
    pub severity: AlarmSeverity,
    /// The alarms, worst first.
    pub alarms: Vec<EntityId>,
    /// Also show it as a desktop notification.
    pub desktop: bool,
    /// Play a sound with the desktop notification.
    pub sound: bool,
}

/// What the notifier needs of the user's notification settings.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyPrefs {
    /// Show desktop notifications.
    pub desktop: bool,
    /// Play a sound with a desktop notification.
    pub sound: bool,
    /// Alarms of this severity or worse notify.
    pub min_severity: AlarmSeverity,
    /// Quiet mode: in-app toasts only, no desktop notification, no sound.
    pub quiet: bool,
}

impl From<&NotificationPrefs> for NotifyPrefs {
    fn from(prefs: &NotificationPrefs) -> Self {
        Self {
            desktop: prefs.desktop,
            sound: prefs.sound,
            min_severity: prefs.min_severity.clone(),
            quiet: false,
        }
    }
}

impl NotifyPrefs {
    /// Whether an alarm of `severity` notifies: known and at or above the threshold.
    #[must_use]
    pub fn passes(&self, severity: &AlarmSeverity) -> bool {
        severity.is_known() && severity.rank() <= self.min_severity.rank()
    }
}

/// What the notifier remembers of an alarm.
#[derive(Debug, Clone)]
struct Seen {
    severity: AlarmSeverity,
    /// Increases with every row observed: the smallest are the least recently seen.
    stamp: u64,
}

/// Watches the active alarms (rows of one `ALARM_DATA` subscription) and turns changes into
/// grouped notices. See the [module docs](self) for the rules.
#[derive(Debug)]
pub struct Notifier {
    prefs: NotifyPrefs,
    zone: Zone,
    baseline_done: bool,
    seen: HashMap<EntityId, Seen>,
    next_stamp: u64,
    /// The baseline summary and when it became due.
    ready: Option<(Notice, i64)>,
    /// Events being gathered, one per alarm.
    pending: BTreeMap<EntityId, AlarmEvent>,
    /// Events beyond [`MAX_PENDING`], only counted.
    unlisted: usize,
    /// When the first gathered event arrived.
    group_started_ms: Option<i64>,
    /// When the notices of the last [`RATE_WINDOW_MS`] came out.
    sent_ms: VecDeque<i64>,
}

impl Notifier {
    /// A notifier that has not seen any alarm yet; times are shown in local time.
    #[must_use]
    pub fn new(prefs: NotifyPrefs) -> Self {
        Self::with_zone(prefs, Zone::local())
    }

    /// A notifier showing times in `zone`.
    #[must_use]
    pub fn with_zone(prefs: NotifyPrefs, zone: Zone) -> Self {
        Self {
            prefs,
            zone,
            baseline_done: false,
            seen: HashMap::new(),
            next_stamp: 0,
            ready: None,
            pending: BTreeMap::new(),
            unlisted: 0,
            group_started_ms: None,
            sent_ms: VecDeque::new(),
        }
    }

    /// Changes the preferences. Gathered events below a raised threshold are withdrawn.
    pub fn set_prefs(&mut self, prefs: NotifyPrefs) {
        self.pending
            .retain(|_, event| prefs.passes(&event.severity));
        self.prefs = prefs;
        if self.pending.is_empty() && self.unlisted == 0 {
            self.group_started_ms = None;
        }
    }

    /// Changes the zone times are shown in (the settings' time zone).
    pub fn set_zone(&mut self, zone: Zone) {
        self.zone = zone;
    }

    /// Compares the rows with what it saw before: an active alarm not seen before is new
    /// (except on the first call, the baseline, which prepares one summary notice instead),
    /// a seen alarm whose severity got worse is escalated. Cleared alarms are forgotten.
    /// Events below the threshold are ignored.
    pub fn observe(&mut self, rows: &[AlarmData], now_ms: i64) {
        let pass_start = self.next_stamp;
        let mut baseline = Vec::new();
        for row in rows {
            if row.cleared {
                self.seen.remove(&row.id);
                if self.pending.remove(&row.id).is_some() && self.pending.is_empty() {
                    self.group_started_ms = self.group_started_ms.filter(|_| self.unlisted > 0);
                }
                continue;
            }
            let stamp = self.next_stamp;
            self.next_stamp = self.next_stamp.saturating_add(1);
            let before = match self.seen.get_mut(&row.id) {
                // The same alarm twice in one call: the first copy counts.
                Some(seen) if seen.stamp >= pass_start => continue,
                Some(seen) => {
                    seen.stamp = stamp;
                    Some(std::mem::replace(&mut seen.severity, row.severity.clone()))
                }
                None => {
                    let severity = row.severity.clone();
                    self.seen.insert(row.id.clone(), Seen { severity, stamp });
                    None
                }
            };
            let kind = match before {
                None => AlarmEventKind::New,
                Some(from) if row.severity.rank() < from.rank() => {
                    AlarmEventKind::Escalated { from }
                }
                Some(_) => continue,
            };
            if !self.prefs.passes(&row.severity) {
                continue;
            }
            let at_ms = match kind {
                AlarmEventKind::New if row.created_time > 0 => row.created_time,
                _ => now_ms,
            };
            let event = AlarmEvent {
                alarm: row.id.clone(),
                kind,
                severity: row.severity.clone(),
                alarm_type: row.alarm_type.clone(),
                originator: originator_name(row),
                originator_id: row.originator.clone(),
                at_ms,
            };
            if self.baseline_done {
                self.gather(event, now_ms);
            } else {
                baseline.push(event);
            }
        }
        self.forget_oldest(pass_start);
        if !self.baseline_done {
            self.baseline_done = true;
            if !baseline.is_empty() {
                let notice = compose(baseline, 0, "active", true, &self.zone);
                self.ready = Some((notice, now_ms));
            }
        }
    }

    /// Adds one event to the group being gathered.
    fn gather(&mut self, event: AlarmEvent, now_ms: i64) {
        if self.group_started_ms.is_none() {
            self.group_started_ms = Some(now_ms);
        }
        if let Some(held) = self.pending.get_mut(&event.alarm) {
            held.severity = event.severity;
            if let AlarmEventKind::Escalated { .. } = held.kind {
                held.at_ms = event.at_ms;
            }
        } else if self.pending.len() < MAX_PENDING {
            self.pending.insert(event.alarm.clone(), event);
        } else {
            self.unlisted = self.unlisted.saturating_add(1);
        }
    }

    /// Forgets the least recently seen ids beyond [`MAX_REMEMBERED`], never those seen in
    /// this call (stamps from `pass_start` on).
    fn forget_oldest(&mut self, pass_start: u64) {
        let Some(excess) = self.seen.len().checked_sub(MAX_REMEMBERED) else {
            return;
        };
        if excess == 0 {
            return;
        }
        let mut stamps: Vec<u64> = self.seen.values().map(|seen| seen.stamp).collect();
        let (_, &mut cutoff, _) = stamps.select_nth_unstable(excess);
        self.seen
            .retain(|_, seen| seen.stamp >= cutoff || seen.stamp >= pass_start);
    }

    /// Notices due now, at most one gathered notice per call (and the baseline summary).
    /// Each comes out only while the rate limit allows.
    pub fn poll(&mut self, now_ms: i64) -> Vec<Notice> {
        self.sent_ms
            .retain(|&at| at <= now_ms && now_ms.saturating_sub(at) < RATE_WINDOW_MS);
        let mut out = Vec::new();
        if self.sent_ms.len() < MAX_NOTICES_PER_MINUTE
            && let Some((notice, _)) = self.ready.take()
        {
            out.push(notice);
            self.sent_ms.push_back(now_ms);
        }
        if let Some(started) = self.group_started_ms {
            let started = started.min(now_ms);
            self.group_started_ms = Some(started);
            if now_ms >= started.saturating_add(GROUP_WINDOW_MS)
                && self.sent_ms.len() < MAX_NOTICES_PER_MINUTE
            {
                let events = std::mem::take(&mut self.pending).into_values().collect();
                let unlisted = std::mem::take(&mut self.unlisted);
                self.group_started_ms = None;
                out.push(compose(events, unlisted, "new", false, &self.zone));
                self.sent_ms.push_back(now_ms);
            }
        }
        let desktop = self.prefs.desktop && !self.prefs.quiet;
        for notice in &mut out {
            notice.desktop = desktop;
            notice.sound = desktop && self.prefs.sound;
        }
        out
    }

    /// When the next notice may become due (for the app to schedule a repaint), if any is
    /// pending. It may already be in the past.
    #[must_use]
    pub fn next_due_ms(&self) -> Option<i64> {
        // At most MAX_NOTICES_PER_MINUTE are kept: the oldest must leave the window first.
        let rate_free = self
            .sent_ms
            .len()
            .checked_sub(MAX_NOTICES_PER_MINUTE)
            .and_then(|index| self.sent_ms.get(index))
            .map_or(i64::MIN, |at| at.saturating_add(RATE_WINDOW_MS));
        let ready = self.ready.as_ref().map(|(_, at)| *at);
        let group = self
            .group_started_ms
            .map(|started| started.saturating_add(GROUP_WINDOW_MS));
        ready
            .into_iter()
            .chain(group)
            .min()
            .map(|due| due.max(rate_free))
    }
}

/// The originator's display name (label, else name), else the name the query's entity
/// fields carry (only when the alarm was found for its originator), else the id's text.
fn originator_name(row: &AlarmData) -> String {
    let non_blank = |name: Option<&str>| name.filter(|n| !n.trim().is_empty()).map(str::to_owned);
    non_blank(row.originator_display_name.as_deref())
        .or_else(|| non_blank(row.originator_name.as_deref()))
        .or_else(|| {
            let fields = row
                .latest
                .as_ref()
                .filter(|_| row.entity_id.as_ref() == Some(&row.originator))?
                .get(&EntityKeyType::EntityField)?;
            non_blank(fields.get("name")?.value.as_ref().map(TbValue::as_str))
        })
        .unwrap_or_else(|| row.originator.to_string())
}

/// One notice for `events` (at least one, else a notice about `unlisted` alarms only).
/// `adjective` is "new" or "active"; a `summary` never uses the one-alarm wording.
fn compose(
    mut events: Vec<AlarmEvent>,
    unlisted: usize,
    adjective: &str,
    summary: bool,
    zone: &Zone,
) -> Notice {
    events.sort_by(|a, b| {
        (a.severity.rank(), a.at_ms, &a.alarm).cmp(&(b.severity.rank(), b.at_ms, &b.alarm))
    });
    let severity = events
        .first()
        .map_or(AlarmSeverity::Indeterminate, |e| e.severity.clone());
    let alarms = events.iter().map(|e| e.alarm.clone()).collect();
    let clock = |ms: i64| {
        let text = zone.format(ms);
        text.split_once(' ')
            .and_then(|(_, time)| time.get(..5))
            .unwrap_or_default()
            .to_owned()
    };
    let (title, body) = match events.as_slice() {
        [one] if !summary && unlisted == 0 => {
            let (title, was) = match &one.kind {
                AlarmEventKind::New => (
                    format!("{} alarm: {}", one.severity, one.alarm_type),
                    String::new(),
                ),
                AlarmEventKind::Escalated { from } => (
                    format!("{} escalated to {}", one.alarm_type, one.severity),
                    format!(" · was {from}"),
                ),
            };
            (
                title,
                format!("{} · {}{was}", one.originator, clock(one.at_ms)),
            )
        }
        _ => (
            group_title(&events, unlisted, adjective),
            group_body(&events, unlisted, &clock),
        ),
    };
    Notice {
        title,
        body,
        severity,
        alarms,
        desktop: false,
        sound: false,
    }
}

/// "12 new alarms (3 CRITICAL, 9 MAJOR), 2 escalated to CRITICAL on 7 devices".
fn group_title(events: &[AlarmEvent], unlisted: usize, adjective: &str) -> String {
    let (new, escalated): (Vec<&AlarmEvent>, Vec<&AlarmEvent>) =
        events.iter().partition(|e| e.kind == AlarmEventKind::New);
    let mut parts = Vec::new();
    if !new.is_empty() {
        let n = new.len();
        parts.push(match severity_counts(&new).as_slice() {
            [(severity, _)] => format!("{n} {adjective} {severity} {}", plural(n, "alarm")),
            counts => format!("{n} {adjective} alarms ({})", counts_text(counts)),
        });
    }
    if !escalated.is_empty() {
        let n = escalated.len();
        let what = if new.is_empty() {
            format!("{n} {} escalated", plural(n, "alarm"))
        } else {
            format!("{n} escalated")
        };
        parts.push(match severity_counts(&escalated).as_slice() {
            [(severity, _)] => format!("{what} to {severity}"),
            counts => format!("{what} ({})", counts_text(counts)),
        });
    }
    if parts.is_empty() {
        parts.push(format!(
            "{unlisted} {adjective} {}",
            plural(unlisted, "alarm")
        ));
    }
    let mut originators: Vec<(&EntityId, &str)> = events
        .iter()
        .map(|e| (&e.originator_id, e.originator.as_str()))
        .collect();
    originators.sort_unstable();
    originators.dedup_by(|a, b| a.0 == b.0);
    let place = match originators.as_slice() {
        [] => String::new(),
        [(_, name)] if unlisted == 0 => format!(" on {name}"),
        many => {
            let kind = |t: &EntityType| many.iter().all(|(id, _)| &id.entity_type == t);
            let noun = if kind(&EntityType::Device) {
                "devices"
            } else if kind(&EntityType::Asset) {
                "assets"
            } else {
                "entities"
            };
            let more = if unlisted > 0 { "+" } else { "" };
            format!(" on {}{more} {noun}", many.len())
        }
    };
    format!("{}{place}", parts.join(", "))
}

/// The worst [`BODY_LINES`] alarms, one a line, then "and 9 more".
fn group_body(events: &[AlarmEvent], unlisted: usize, clock: &dyn Fn(i64) -> String) -> String {
    let mut lines: Vec<String> = events
        .iter()
        .take(BODY_LINES)
        .map(|e| {
            let mut line = format!(
                "{} · {} · {} · {}",
                e.severity,
                e.alarm_type,
                e.originator,
                clock(e.at_ms)
            );
            if let AlarmEventKind::Escalated { from } = &e.kind {
                let _ = write!(line, " · was {from}");
            }
            line
        })
        .collect();
    let rest = events
        .len()
        .saturating_sub(BODY_LINES)
        .saturating_add(unlisted);
    if rest > 0 {
        lines.push(format!("and {rest} more"));
    }
    lines.join("\n")
}

/// Counts by severity, worst first.
fn severity_counts(events: &[&AlarmEvent]) -> Vec<(AlarmSeverity, usize)> {
    let mut counts: Vec<(AlarmSeverity, usize)> = Vec::new();
    for event in events {
        match counts.iter_mut().find(|(s, _)| *s == event.severity) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => counts.push((event.severity.clone(), 1)),
        }
    }
    counts.sort_by_key(|(severity, _)| severity.rank());
    counts
}

/// "3 CRITICAL, 9 MAJOR".
fn counts_text(counts: &[(AlarmSeverity, usize)]) -> String {
    counts
        .iter()
        .map(|(severity, n)| format!("{n} {severity}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// The app's identity on the desktop: the bundle id (macOS) and the `AppUserModelID` the
/// installers give the Start-menu shortcut (Windows).
pub const APP_ID: &str = "io.tb-monitor.tb-monitor";

/// A desktop notification carrying the app's name and, where the platform needs it, its
/// identity: on macOS the bundle id (outside an installed bundle that fails and notices come
/// from the default sender), on Windows the shortcut's id when the installers made one
/// (otherwise Windows would name the notices after PowerShell's id anyway).
#[must_use]
pub fn desktop_notification() -> notify_rust::Notification {
    let mut desktop = notify_rust::Notification::new();
    desktop.appname("tb-monitor");
    #[cfg(target_os = "macos")]
    {
        static IDENTITY: std::sync::Once = std::sync::Once::new();
        IDENTITY.call_once(|| {
            notify_rust::set_application(APP_ID).ok();
        });
    }
    #[cfg(target_os = "windows")]
    if start_menu_shortcut_exists() {
        desktop.app_id(APP_ID);
    }
    desktop
}

/// Whether an installer made the Start-menu shortcut that carries [`APP_ID`].
#[cfg(target_os = "windows")]
fn start_menu_shortcut_exists() -> bool {
    ["APPDATA", "ProgramData"]
        .into_iter()
        .filter_map(std::env::var_os)
        .any(|base| {
            std::path::PathBuf::from(base)
                .join(r"Microsoft\Windows\Start Menu\Programs\tb-monitor\tb-monitor.lnk")
                .exists()
        })
}

/// Shows a notice on the desktop (notify-rust), blocking: call it from a blocking task.
///
/// # Errors
/// The notification service's error as text (no notification daemon, no D-Bus): the app
/// then keeps the in-app toast and logs once.
pub fn show_on_desktop(notice: &Notice) -> Result<(), String> {
    let mut desktop = desktop_notification();
    desktop.summary(&notice.title).body(&notice.body);
    if notice.sound {
        desktop.sound_name("message-new-instant");
    }
    #[cfg(all(unix, not(target_os = "macos")))]
    if notice.severity == AlarmSeverity::Critical {
        desktop.urgency(notify_rust::Urgency::Critical);
    }
    desktop.show().map(drop).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use uuid::Uuid;

    use super::*;
    use crate::protocol::TsValue;

    /// 2026-11-30 14:02:00 UTC.
    const T0: i64 = 1_796_047_320_000;

    fn prefs() -> NotifyPrefs {
        NotifyPrefs {
            desktop: true,
            sound: true,
            min_severity: AlarmSeverity::Major,
            quiet: false,
        }
    }

    fn notifier() -> Notifier {
        Notifier::with_zone(prefs(), Zone::utc())
    }

    fn device(n: u128) -> EntityId {
        EntityId::device(Uuid::from_u128(n))
    }

    fn alarm_id(n: u128) -> EntityId {
        EntityId::new(EntityType::Alarm, Uuid::from_u128(n))
    }

    /// An active `High Temperature` alarm `n` on device `on`, named `Device {on}`.
    fn row(n: u128, severity: AlarmSeverity, on: u128) -> AlarmData {
        let mut row: AlarmData = serde_json::from_value(serde_json::json!({
            "id": alarm_id(n),
            "originator": device(on),
            "type": "High Temperature",
            "severity": "MAJOR",
            "createdTime": T0,
        }))
        .unwrap();
        row.severity = severity;
        row.originator_name = Some(format!("Device {on}"));
        row
    }

    fn named(mut row: AlarmData, name: &str) -> AlarmData {
        row.originator_name = Some(name.to_owned());
        row
    }

    fn cleared(mut row: AlarmData) -> AlarmData {
        row.cleared = true;
        row
    }

    /// A notifier past an empty baseline.
    fn watching() -> Notifier {
        let mut n = notifier();
        n.observe(&[], T0);
        assert!(n.poll(T0).is_empty());
        n
    }

    fn titles(notices: &[Notice]) -> Vec<&str> {
        notices.iter().map(|n| n.title.as_str()).collect()
    }

    #[test]
    fn the_first_observation_is_a_baseline_summarised_in_one_notice() {
        let mut n = notifier();
        let rows = [
            row(1, AlarmSeverity::Critical, 1),
            row(2, AlarmSeverity::Major, 1),
            row(3, AlarmSeverity::Major, 2),
            row(4, AlarmSeverity::Minor, 3),
        ];
        n.observe(&rows, T0);
        assert_eq!(n.next_due_ms(), Some(T0));
        let notices = n.poll(T0);
        assert_eq!(
            titles(&notices),
            ["3 active alarms (1 CRITICAL, 2 MAJOR) on 2 devices"]
        );
        assert_eq!(notices[0].severity, AlarmSeverity::Critical);
        assert_eq!(notices[0].alarms, [alarm_id(1), alarm_id(2), alarm_id(3)]);
        assert_eq!(
            notices[0].body,
            "CRITICAL · High Temperature · Device 1 · 14:02\n\
             MAJOR · High Temperature · Device 1 · 14:02\n\
             MAJOR · High Temperature · Device 2 · 14:02"
        );
        // The same alarms again, later: nothing is new.
        n.observe(&rows, T0 + 5_000);
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0 + 10_000).is_empty());
    }

    #[test]
    fn a_baseline_of_one_alarm_still_reads_as_a_summary() {
        let mut n = notifier();
        n.observe(&[named(row(1, AlarmSeverity::Critical, 1), "Boiler 3")], T0);
        assert_eq!(titles(&n.poll(T0)), ["1 active CRITICAL alarm on Boiler 3"]);
    }

    #[test]
    fn a_baseline_below_the_threshold_gives_no_notice() {
        let mut n = notifier();
        n.observe(&[row(1, AlarmSeverity::Minor, 1)], T0);
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0).is_empty());
    }

    #[test]
    fn one_new_alarm_comes_out_alone_when_the_group_window_ends() {
        let mut n = watching();
        n.observe(
            &[named(row(1, AlarmSeverity::Critical, 1), "Boiler 3")],
            T0 + 500,
        );
        assert_eq!(n.next_due_ms(), Some(T0 + 500 + GROUP_WINDOW_MS));
        assert!(n.poll(T0 + 500 + GROUP_WINDOW_MS - 1).is_empty());
        let notices = n.poll(T0 + 500 + GROUP_WINDOW_MS);
        assert_eq!(
            notices,
            [Notice {
                title: "CRITICAL alarm: High Temperature".to_owned(),
                body: "Boiler 3 · 14:02".to_owned(),
                severity: AlarmSeverity::Critical,
                alarms: vec![alarm_id(1)],
                desktop: true,
                sound: true,
            }]
        );
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0 + 60_000).is_empty());
    }

    #[test]
    fn a_worse_severity_is_an_escalation_and_a_milder_one_is_remembered_silently() {
        let mut n = notifier();
        let major = named(row(1, AlarmSeverity::Major, 1), "Boiler 3");
        n.observe(std::slice::from_ref(&major), T0);
        n.poll(T0);
        let critical = AlarmData {
            severity: AlarmSeverity::Critical,
            ..major.clone()
        };
        // 14:03:00
        let at = T0 + 60_000;
        n.observe(std::slice::from_ref(&critical), at);
        let notices = n.poll(at + GROUP_WINDOW_MS);
        assert_eq!(titles(&notices), ["High Temperature escalated to CRITICAL"]);
        assert_eq!(notices[0].body, "Boiler 3 · 14:03 · was MAJOR");
        // Back to MAJOR: nothing; up to CRITICAL again: an escalation again.
        n.observe(std::slice::from_ref(&major), at + 10_000);
        assert_eq!(n.next_due_ms(), None);
        n.observe(&[critical], at + 20_000);
        assert_eq!(
            titles(&n.poll(at + 20_000 + GROUP_WINDOW_MS)),
            ["High Temperature escalated to CRITICAL"]
        );
    }

    #[test]
    fn an_escalation_from_below_the_threshold_notifies_but_one_staying_below_does_not() {
        let mut n = notifier();
        n.observe(&[row(1, AlarmSeverity::Warning, 1)], T0);
        n.observe(&[row(1, AlarmSeverity::Minor, 1)], T0 + 1_000);
        assert_eq!(n.next_due_ms(), None);
        n.observe(&[row(1, AlarmSeverity::Major, 1)], T0 + 2_000);
        assert_eq!(
            titles(&n.poll(T0 + 2_000 + GROUP_WINDOW_MS)),
            ["High Temperature escalated to MAJOR"]
        );
    }

    #[test]
    fn a_flood_on_one_originator_is_one_notice_counted_by_severity() {
        let mut n = watching();
        let rows: Vec<AlarmData> = (1..=12)
            .map(|i| named(row(i, AlarmSeverity::Major, 1), "Site B"))
            .collect();
        n.observe(&rows, T0);
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(titles(&notices), ["12 new MAJOR alarms on Site B"]);
        assert_eq!(notices[0].alarms.len(), 12);
        assert_eq!(
            notices[0].body,
            "MAJOR · High Temperature · Site B · 14:02\n\
             MAJOR · High Temperature · Site B · 14:02\n\
             MAJOR · High Temperature · Site B · 14:02\n\
             and 9 more"
        );
    }

    #[test]
    fn a_flood_on_several_originators_names_the_severities_worst_first_and_counts_devices() {
        let mut n = watching();
        let mut rows: Vec<AlarmData> = (1..=9)
            .map(|i| row(i, AlarmSeverity::Major, i % 7))
            .collect();
        rows.extend((10..=12).map(|i| row(i, AlarmSeverity::Critical, 1)));
        n.observe(&rows, T0);
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(
            titles(&notices),
            ["12 new alarms (3 CRITICAL, 9 MAJOR) on 7 devices"]
        );
        assert_eq!(notices[0].severity, AlarmSeverity::Critical);
        assert_eq!(
            notices[0].alarms[..3],
            [alarm_id(10), alarm_id(11), alarm_id(12)]
        );
    }

    #[test]
    fn events_are_gathered_from_the_first_one_for_the_group_window() {
        let mut n = watching();
        n.observe(&[row(1, AlarmSeverity::Major, 1)], T0);
        n.observe(
            &[
                row(1, AlarmSeverity::Major, 1),
                row(2, AlarmSeverity::Major, 1),
            ],
            T0 + 1_500,
        );
        assert_eq!(n.next_due_ms(), Some(T0 + GROUP_WINDOW_MS));
        assert_eq!(
            titles(&n.poll(T0 + GROUP_WINDOW_MS)),
            ["2 new MAJOR alarms on Device 1"]
        );
    }

    #[test]
    fn new_and_escalated_alarms_in_one_notice_are_both_said() {
        let mut n = notifier();
        n.observe(&[row(1, AlarmSeverity::Major, 1)], T0);
        n.poll(T0);
        n.observe(
            &[
                row(1, AlarmSeverity::Critical, 1),
                row(2, AlarmSeverity::Major, 2),
                row(3, AlarmSeverity::Critical, 2),
            ],
            T0 + 10_000,
        );
        let notices = n.poll(T0 + 10_000 + GROUP_WINDOW_MS);
        assert_eq!(
            titles(&notices),
            ["2 new alarms (1 CRITICAL, 1 MAJOR), 1 escalated to CRITICAL on 2 devices"]
        );
        assert!(notices[0].body.contains("Device 1 · 14:02 · was MAJOR"));
    }

    #[test]
    fn several_escalations_alone_say_alarms_escalated() {
        let mut n = notifier();
        let rows = [
            row(1, AlarmSeverity::Minor, 1),
            row(2, AlarmSeverity::Major, 1),
        ];
        n.observe(&rows, T0);
        n.poll(T0);
        n.observe(
            &[
                row(1, AlarmSeverity::Critical, 1),
                row(2, AlarmSeverity::Critical, 1),
            ],
            T0 + 10_000,
        );
        assert_eq!(
            titles(&n.poll(T0 + 10_000 + GROUP_WINDOW_MS)),
            ["2 alarms escalated to CRITICAL on Device 1"]
        );
    }

    #[test]
    fn an_alarm_new_and_escalated_in_one_window_is_one_new_alarm_at_the_worse_severity() {
        let mut n = watching();
        n.observe(&[row(1, AlarmSeverity::Major, 1)], T0);
        n.observe(&[row(1, AlarmSeverity::Critical, 1)], T0 + 1_000);
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(titles(&notices), ["CRITICAL alarm: High Temperature"]);
        assert_eq!(notices[0].alarms, [alarm_id(1)]);
    }

    #[test]
    fn the_same_alarm_twice_in_one_observation_counts_once() {
        let mut n = watching();
        n.observe(
            &[
                row(1, AlarmSeverity::Major, 1),
                row(1, AlarmSeverity::Critical, 1),
            ],
            T0,
        );
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(titles(&notices), ["MAJOR alarm: High Temperature"]);
    }

    #[test]
    fn a_flood_past_the_rate_limit_gives_four_notices_then_one_summary_of_the_rest() {
        let mut n = watching();
        let mut shown: Vec<(i64, Notice)> = Vec::new();
        let mut raised = 0_u128;
        let mut rows = Vec::new();
        // Three new alarms every second for 70 s, polled every 100 ms.
        for tick in 0..700_i64 {
            let now = T0 + tick * 100;
            if tick % 10 == 0 {
                for _ in 0..3 {
                    raised += 1;
                    rows.push(row(raised, AlarmSeverity::Major, raised % 5));
                }
                n.observe(&rows, now);
            }
            shown.extend(n.poll(now).into_iter().map(|notice| (now, notice)));
        }
        let times: Vec<i64> = shown.iter().map(|(at, _)| at - T0).collect();
        // Four in the first minute; then the fifth waits until the first leaves the window.
        assert_eq!(times, [2_000, 5_000, 8_000, 11_000, 62_000, 65_000, 68_000]);
        // It holds everything raised since the fourth: seconds 12 to 62.
        assert_eq!(shown[4].1.alarms.len(), 51 * 3);
        assert_eq!(shown[4].1.title, "153 new MAJOR alarms on 5 devices");
        assert!(shown.iter().all(|(_, notice)| notice.desktop));
        // Nothing is lost: every alarm raised up to second 68 was in exactly one notice.
        let mut ids: Vec<EntityId> = shown
            .iter()
            .flat_map(|(_, notice)| notice.alarms.clone())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            shown.iter().map(|(_, n)| n.alarms.len()).sum::<usize>()
        );
        assert_eq!(ids.len(), 69 * 3);
        // Second 69's alarms are due when both their window and the rate limit allow.
        assert_eq!(n.next_due_ms(), Some(T0 + 71_000));
    }

    #[test]
    fn a_blocked_group_reports_when_the_rate_limit_frees_it() {
        let mut n = watching();
        for i in 0..4_u32 {
            let at = T0 + i64::from(i) * 10_000;
            n.observe(&[row(u128::from(i) + 1, AlarmSeverity::Major, 1)], at);
            assert_eq!(n.poll(at + GROUP_WINDOW_MS).len(), 1);
        }
        n.observe(&[row(9, AlarmSeverity::Major, 1)], T0 + 40_000);
        let free = T0 + GROUP_WINDOW_MS + RATE_WINDOW_MS;
        assert_eq!(n.next_due_ms(), Some(free));
        assert!(n.poll(free - 1).is_empty());
        assert_eq!(titles(&n.poll(free)), ["MAJOR alarm: High Temperature"]);
    }

    #[test]
    fn alarms_below_the_threshold_are_ignored_until_it_is_lowered() {
        let mut n = watching();
        n.observe(&[row(1, AlarmSeverity::Minor, 1)], T0);
        assert_eq!(n.next_due_ms(), None);
        n.set_prefs(NotifyPrefs {
            min_severity: AlarmSeverity::Minor,
            ..prefs()
        });
        // The alarm seen before is not new after the change; a new MINOR alarm is.
        n.observe(
            &[
                row(1, AlarmSeverity::Minor, 1),
                row(2, AlarmSeverity::Minor, 1),
            ],
            T0 + 1_000,
        );
        let notices = n.poll(T0 + 1_000 + GROUP_WINDOW_MS);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].alarms, [alarm_id(2)]);
    }

    #[test]
    fn raising_the_threshold_withdraws_gathered_events_below_it() {
        let mut n = watching();
        n.observe(
            &[
                row(1, AlarmSeverity::Major, 1),
                row(2, AlarmSeverity::Critical, 1),
            ],
            T0,
        );
        n.set_prefs(NotifyPrefs {
            min_severity: AlarmSeverity::Critical,
            ..prefs()
        });
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].alarms, [alarm_id(2)]);
        n.observe(&[row(3, AlarmSeverity::Major, 1)], T0 + 5_000);
        n.set_prefs(NotifyPrefs {
            min_severity: AlarmSeverity::Critical,
            ..prefs()
        });
        assert_eq!(n.next_due_ms(), None);
    }

    #[test]
    fn quiet_mode_shows_toasts_only_and_desktop_off_has_no_sound() {
        let mut n = watching();
        n.set_prefs(NotifyPrefs {
            quiet: true,
            ..prefs()
        });
        n.observe(&[row(1, AlarmSeverity::Critical, 1)], T0);
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(notices.len(), 1);
        assert!(!notices[0].desktop && !notices[0].sound);

        n.set_prefs(NotifyPrefs {
            desktop: false,
            ..prefs()
        });
        n.observe(&[row(2, AlarmSeverity::Critical, 1)], T0 + 10_000);
        let notices = n.poll(T0 + 10_000 + GROUP_WINDOW_MS);
        assert!(!notices[0].desktop && !notices[0].sound);

        n.set_prefs(NotifyPrefs {
            sound: false,
            ..prefs()
        });
        n.observe(&[row(3, AlarmSeverity::Critical, 1)], T0 + 20_000);
        let notices = n.poll(T0 + 20_000 + GROUP_WINDOW_MS);
        assert!(notices[0].desktop && !notices[0].sound);
    }

    #[test]
    fn a_cleared_alarm_is_forgotten_and_new_again_when_raised_again() {
        let mut n = notifier();
        let alarm = row(1, AlarmSeverity::Critical, 1);
        n.observe(std::slice::from_ref(&alarm), T0);
        n.poll(T0);
        n.observe(&[cleared(alarm.clone())], T0 + 1_000);
        assert!(!n.seen.contains_key(&alarm_id(1)));
        assert_eq!(n.next_due_ms(), None);
        n.observe(std::slice::from_ref(&alarm), T0 + 2_000);
        assert_eq!(
            titles(&n.poll(T0 + 2_000 + GROUP_WINDOW_MS)),
            ["CRITICAL alarm: High Temperature"]
        );
    }

    #[test]
    fn an_alarm_cleared_while_gathered_is_withdrawn_from_the_notice() {
        let mut n = watching();
        let alarm = row(1, AlarmSeverity::Critical, 1);
        n.observe(std::slice::from_ref(&alarm), T0);
        n.observe(&[cleared(alarm)], T0 + 1_000);
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0 + GROUP_WINDOW_MS).is_empty());
    }

    #[test]
    fn an_alarm_that_leaves_the_rows_is_not_new_when_it_comes_back() {
        let mut n = notifier();
        let alarm = row(1, AlarmSeverity::Critical, 1);
        n.observe(std::slice::from_ref(&alarm), T0);
        n.poll(T0);
        n.observe(&[], T0 + 1_000);
        n.observe(&[alarm], T0 + 2_000);
        assert_eq!(n.next_due_ms(), None);
    }

    #[test]
    fn memory_is_bounded_and_keeps_the_current_rows() {
        let mut n = watching();
        let below = |i| row(i, AlarmSeverity::Warning, 1);
        // Many alarms come and go (below the threshold: no notices).
        for batch in 0..5_u128 {
            let rows: Vec<AlarmData> = (0..2_000).map(|i| below(batch * 2_000 + i)).collect();
            n.observe(&rows, T0);
            assert!(n.seen.len() <= MAX_REMEMBERED);
        }
        // The last ids stay remembered, the first are gone.
        assert!(n.seen.contains_key(&alarm_id(9_999)));
        assert!(!n.seen.contains_key(&alarm_id(0)));
        // A page larger than the bound is remembered whole: observing it again is silent.
        let big: Vec<AlarmData> = (0..6_000)
            .map(|i| row(100_000 + i, AlarmSeverity::Warning, 1))
            .collect();
        n.observe(&big, T0);
        assert_eq!(n.seen.len(), 6_000);
        n.set_prefs(NotifyPrefs {
            min_severity: AlarmSeverity::Warning,
            ..prefs()
        });
        n.observe(&big, T0 + 1_000);
        assert_eq!(n.next_due_ms(), None);
    }

    #[test]
    fn gathered_alarms_past_the_list_bound_are_counted_not_dropped() {
        let mut n = watching();
        let rows: Vec<AlarmData> = (0..3_000)
            .map(|i| row(i, AlarmSeverity::Major, 1))
            .collect();
        n.observe(&rows, T0);
        let more: Vec<AlarmData> = (3_000..5_000)
            .map(|i| row(i, AlarmSeverity::Major, 2))
            .collect();
        n.observe(&more, T0 + 1_000);
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(notices[0].alarms.len(), MAX_PENDING);
        assert_eq!(notices[0].title, "4096 new MAJOR alarms on 2+ devices");
        let unlisted = 5_000 - MAX_PENDING + (MAX_PENDING - BODY_LINES);
        assert!(notices[0].body.ends_with(&format!("and {unlisted} more")));
    }

    #[test]
    fn unknown_severities_never_notify_but_a_rise_from_one_does() {
        let mut n = watching();
        let odd = AlarmSeverity::from_wire("EXTREME");
        n.observe(&[row(1, odd.clone(), 1)], T0);
        assert_eq!(n.next_due_ms(), None);
        n.observe(&[row(1, AlarmSeverity::Critical, 1)], T0 + 1_000);
        assert_eq!(
            titles(&n.poll(T0 + 1_000 + GROUP_WINDOW_MS)),
            ["High Temperature escalated to CRITICAL"]
        );
        // Even a threshold of an unknown severity lets no unknown severity through.
        n.set_prefs(NotifyPrefs {
            min_severity: odd.clone(),
            ..prefs()
        });
        n.observe(
            &[row(2, odd, 1), row(3, AlarmSeverity::Indeterminate, 1)],
            T0 + 10_000,
        );
        let notices = n.poll(T0 + 10_000 + GROUP_WINDOW_MS);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].alarms, [alarm_id(3)]);
    }

    #[test]
    fn a_missing_name_falls_back_to_the_entity_field_then_to_the_id_text() {
        let mut bare = row(1, AlarmSeverity::Major, 7);
        bare.originator_name = None;
        assert_eq!(originator_name(&bare), device(7).to_string());

        let mut fields = BTreeMap::new();
        fields.insert("name".to_owned(), TsValue::new(0, "Pump 7"));
        let mut latest = BTreeMap::new();
        latest.insert(EntityKeyType::EntityField, fields);
        let mut with_field = bare.clone();
        with_field.latest = Some(latest.clone());
        with_field.entity_id = Some(device(7));
        assert_eq!(originator_name(&with_field), "Pump 7");
        // Propagated: the entity fields are another entity's.
        with_field.entity_id = Some(device(8));
        assert_eq!(originator_name(&with_field), device(7).to_string());

        let mut labelled = bare.clone();
        labelled.originator_name = Some("  ".to_owned());
        labelled.originator_display_name = Some("Pump seven".to_owned());
        assert_eq!(originator_name(&labelled), "Pump seven");

        let mut n = watching();
        n.observe(&[bare], T0);
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(notices[0].body, format!("{} · 14:02", device(7)));
    }

    #[test]
    fn extreme_times_do_not_panic() {
        for now in [i64::MIN, -1, 0, i64::MAX] {
            let mut n = notifier();
            n.observe(&[row(1, AlarmSeverity::Critical, 1)], now);
            let mut alarm = row(2, AlarmSeverity::Critical, 1);
            alarm.created_time = i64::MIN;
            n.observe(&[alarm], now);
            let _ = n.next_due_ms();
            let shown = n.poll(now).len() + n.poll(now.saturating_add(GROUP_WINDOW_MS)).len();
            assert!(shown >= 1);
            let _ = n.poll(i64::MIN);
            let _ = n.poll(i64::MAX);
        }
    }

    #[test]
    fn a_clock_that_jumps_back_does_not_hold_notices_back() {
        let mut n = watching();
        n.observe(&[row(1, AlarmSeverity::Major, 1)], T0 + 3_600_000);
        assert!(n.poll(T0).is_empty());
        assert_eq!(n.poll(T0 + GROUP_WINDOW_MS).len(), 1);
    }

    #[test]
    fn settings_prefs_convert_without_quiet_mode() {
        let settings = NotificationPrefs {
            desktop: false,
            min_severity: AlarmSeverity::Critical,
            sound: true,
        };
        assert_eq!(
            NotifyPrefs::from(&settings),
            NotifyPrefs {
                desktop: false,
                sound: true,
                min_severity: AlarmSeverity::Critical,
                quiet: false,
            }
        );
    }
}
