//! New platform notifications that reach the user: unread notifications of the
//! `NOTIFICATIONS` subscription (thingsboard-protocol.md §4.7) become grouped, rate-limited
//! notices (an in-app toast and a desktop notification, optionally a sound).
//!
//! The rules [`InboxNotifier`] follows (modelled on [`crate::alarm::notify::Notifier`]):
//!
//! * It watches the inbox's current list, newest first ([`InboxNotifier::observe`]). The
//!   first call is the **baseline**: what was unread at login pops up nothing, its ids are
//!   only remembered. Afterwards every **unread** notification whose id was never seen is
//!   **new**, whether a partial update prepended it or a full list brought it (one that
//!   arrived while the connection was down). Read notifications never notify.
//! * **Reconnects need no reset**: after a reconnect the server sends the full list again;
//!   the ids seen before stay quiet and only the unseen unread ones notify.
//! * Memory is bounded: beyond [`MAX_REMEMBERED`] ids the ones seen least recently go first
//!   (the current list is always kept), so a long-forgotten id that comes back would notify
//!   again.
//! * **Muted types** ([`InboxPrefs::muted`]): such a notification is remembered but never
//!   notifies, not even after unmuting. Muting a type withdraws the gathered notifications of
//!   that type.
//! * **Alarm duplicates**: the app raises its own notices for alarms (the `ALARM_DATA`
//!   watch) and reports each with [`InboxNotifier::note_alarm_alerted`]. A notification about
//!   an alarm (its info [`is_alarm`](crate::protocol::NotificationInfo::is_alarm), with an
//!   `alarm_id`) alerted within the last [`ALARM_DEDUP_MS`] does not notify (it is remembered
//!   as seen); one being gathered when its alarm is alerted is withdrawn. At most
//!   [`MAX_ALERTED`] alarms are remembered, the ones alerted longest ago go first.
//! * **Grouping**: new notifications are gathered for [`GROUP_WINDOW_MS`] after the first one,
//!   then come out as one [`InboxNotice`]. One reads as its subject (or its type in words,
//!   "Device activity") over its text (at most 3 lines, 300 characters); several read
//!   "5 new notifications", or "5 new alarm notifications" when all share one type, over
//!   the newest 3 subjects and "and 2 more".
//! * **Rate limit**: at most [`MAX_NOTICES_PER_MINUTE`] notices in any rolling
//!   [`RATE_WINDOW_MS`] (toast and desktop notification are the same notice). Past the limit
//!   notifications keep being gathered and come out as one summary as soon as the limit
//!   allows; nothing is dropped (beyond [`MAX_PENDING`] gathered ones the rest are only
//!   counted, "and 12 more"; counted ones are withdrawn by muting but not by an alarm alert).
//! * **Channels**: a notice is always an in-app toast; it is also a desktop notification when
//!   [`InboxPrefs::desktop`] is on and quiet mode is off, with a sound only then and when
//!   [`InboxPrefs::sound`] is on. Channels follow the preferences at the time the notice
//!   comes out. A notice is critical when one of its notifications is about a CRITICAL alarm.
//! * Times are read with saturating arithmetic; a clock that jumps back shortens waits
//!   instead of freezing notices.
//!
//! [`show_on_desktop`] hands one notice to the desktop's notification service and, where
//! the platform allows, calls back when the user clicks it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};

use uuid::Uuid;

use crate::alarm::notify::{
    GROUP_WINDOW_MS, MAX_NOTICES_PER_MINUTE, MAX_PENDING, MAX_REMEMBERED, RATE_WINDOW_MS,
};
use crate::protocol::{AlarmSeverity, Notification, NotificationType};
use crate::settings::NotificationPrefs;

/// How long after the app alerted an alarm a notification about it stays quiet.
pub const ALARM_DEDUP_MS: i64 = 5 * 60_000;
/// The most alerted alarms remembered for [`ALARM_DEDUP_MS`].
pub const MAX_ALERTED: usize = 1_024;
/// Subjects named one per line in a grouped notice's body.
const BODY_LINES: usize = 3;
/// The most lines and characters of one notification's text in a notice's body.
const TEXT_LINES: usize = 3;
const TEXT_CHARS: usize = 300;
/// The most characters of a title or of a subject line in a grouped body.
const LINE_CHARS: usize = 120;
/// The most distinct types counted beyond [`MAX_PENDING`]; further ones are counted untyped.
const MAX_UNLISTED_TYPES: usize = 32;
/// The most threads [`show_on_desktop`] keeps waiting for a click.
const MAX_CLICK_WAITERS: usize = 8;

/// What the inbox notifier needs of the user's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxPrefs {
    /// Show desktop notifications.
    pub desktop: bool,
    /// Play a sound with a desktop notification.
    pub sound: bool,
    /// Notification types that never notify.
    pub muted: BTreeSet<NotificationType>,
    /// Quiet mode: in-app toasts only, no desktop notification, no sound.
    pub quiet: bool,
}

impl From<&NotificationPrefs> for InboxPrefs {
    fn from(prefs: &NotificationPrefs) -> Self {
        Self {
            desktop: prefs.desktop,
            sound: prefs.sound,
            muted: BTreeSet::new(),
            quiet: false,
        }
    }
}

/// One notice to show: in-app toast and/or desktop notification, optional sound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxNotice {
    /// One line: the subject, or "5 new notifications".
    pub title: String,
    /// Details, lines separated by `\n`.
    pub body: String,
    /// The notifications' ids, newest first.
    pub ids: Vec<Uuid>,
    /// The notification a click opens, when the notice is about exactly one.
    pub focus: Option<Uuid>,
    /// Also show it as a desktop notification.
    pub desktop: bool,
    /// Play a sound with the desktop notification.
    pub sound: bool,
    /// One of the notifications is about a CRITICAL alarm.
    pub critical: bool,
}

/// What a notice needs of one gathered notification.
#[derive(Debug, Clone)]
struct Pending {
    id: Uuid,
    kind: NotificationType,
    subject: String,
    text: String,
    alarm: Option<Uuid>,
    critical: bool,
    created_ms: i64,
    /// Arrival order (a seen-stamp): breaks ties of `created_ms`, newer is larger.
    order: u64,
}

/// Watches the user's unread notifications and turns new ones into grouped notices. See the
/// [module docs](self) for the rules.
#[derive(Debug)]
pub struct InboxNotifier {
    prefs: InboxPrefs,
    baseline_done: bool,
    /// Notification ids seen, with the stamp of the last time (smallest: least recent).
    seen: HashMap<Uuid, u64>,
    next_stamp: u64,
    /// Alarms the app alerted, with when.
    alerted: HashMap<Uuid, i64>,
    /// Notifications being gathered.
    pending: Vec<Pending>,
    /// Notifications beyond [`MAX_PENDING`], only counted by type (`None`: type not kept).
    unlisted: BTreeMap<Option<NotificationType>, usize>,
    /// When the first gathered notification arrived.
    group_started_ms: Option<i64>,
    /// When the notices of the last [`RATE_WINDOW_MS`] came out.
    sent_ms: VecDeque<i64>,
}

impl InboxNotifier {
    /// A notifier that has not seen any notification yet.
    #[must_use]
    pub fn new(prefs: InboxPrefs) -> Self {
        Self {
            prefs,
            baseline_done: false,
            seen: HashMap::new(),
            next_stamp: 0,
            alerted: HashMap::new(),
            pending: Vec::new(),
            unlisted: BTreeMap::new(),
            group_started_ms: None,
            sent_ms: VecDeque::new(),
        }
    }

    /// Changes the preferences. Gathered notifications of a muted type are withdrawn.
    pub fn set_prefs(&mut self, prefs: InboxPrefs) {
        self.pending.retain(|p| !prefs.muted.contains(&p.kind));
        self.unlisted
            .retain(|kind, _| kind.as_ref().is_none_or(|k| !prefs.muted.contains(k)));
        self.prefs = prefs;
        self.end_group_if_empty();
    }

    /// Compares the inbox's current list (newest first) with what it saw before: an unread
    /// notification never seen is new, except on the first call (the baseline). Muted types
    /// and duplicates of alarms alerted lately are remembered without notifying.
    pub fn observe(&mut self, notifications: &[Notification], now_ms: i64) {
        let pass_start = self.next_stamp;
        // Oldest first, so newer notifications get larger stamps.
        for notification in notifications.iter().rev() {
            let id = notification.id.id;
            let stamp = self.next_stamp;
            self.next_stamp = self.next_stamp.saturating_add(1);
            let seen_before = match self.seen.get_mut(&id) {
                // The same id twice in one list: the first copy counts.
                Some(seen) if *seen >= pass_start => continue,
                Some(seen) => {
                    *seen = stamp;
                    true
                }
                None => {
                    self.seen.insert(id, stamp);
                    false
                }
            };
            if seen_before
                || !self.baseline_done
                || !notification.is_unread()
                || self.prefs.muted.contains(&notification.notification_type)
            {
                continue;
            }
            let alarm = alarm_of(notification);
            if alarm.is_some_and(|alarm| self.alerted_lately(alarm, now_ms)) {
                continue;
            }
            self.gather(notification, alarm, stamp, now_ms);
        }
        self.forget_oldest(pass_start);
        self.baseline_done = true;
    }

    /// Notes that the app raised a notice for `alarm` at `now_ms`: notifications about it
    /// stay quiet for [`ALARM_DEDUP_MS`], and gathered ones are withdrawn.
    pub fn note_alarm_alerted(&mut self, alarm: Uuid, now_ms: i64) {
        self.alerted
            .retain(|_, at| now_ms.abs_diff(*at) < ALARM_DEDUP_MS.unsigned_abs());
        if self.alerted.len() >= MAX_ALERTED
            && !self.alerted.contains_key(&alarm)
            && let Some(oldest) = self
                .alerted
                .iter()
                .min_by_key(|(id, at)| (**at, **id))
                .map(|(id, _)| *id)
        {
            self.alerted.remove(&oldest);
        }
        self.alerted.insert(alarm, now_ms);
        self.pending.retain(|p| p.alarm != Some(alarm));
        self.end_group_if_empty();
    }

    /// Whether the app alerted `alarm` within [`ALARM_DEDUP_MS`] of `now_ms` (either way:
    /// a clock that jumped back ends the quiet time instead of stretching it).
    fn alerted_lately(&self, alarm: Uuid, now_ms: i64) -> bool {
        self.alerted
            .get(&alarm)
            .is_some_and(|at| now_ms.abs_diff(*at) < ALARM_DEDUP_MS.unsigned_abs())
    }

    /// Adds one new notification to the group being gathered.
    fn gather(&mut self, n: &Notification, alarm: Option<Uuid>, stamp: u64, now_ms: i64) {
        if self.group_started_ms.is_none() {
            self.group_started_ms = Some(now_ms);
        }
        if self.pending.len() < MAX_PENDING {
            let info = n.info.as_deref();
            self.pending.push(Pending {
                id: n.id.id,
                kind: n.notification_type.clone(),
                subject: n.subject.as_deref().unwrap_or_default().trim().to_owned(),
                text: n.text.as_deref().unwrap_or_default().to_owned(),
                alarm,
                critical: info.is_some_and(|info| {
                    info.is_alarm() && info.alarm_severity == Some(AlarmSeverity::Critical)
                }),
                created_ms: n.created_time,
                order: stamp,
            });
        } else {
            let kind = Some(n.notification_type.clone());
            let key =
                if self.unlisted.len() < MAX_UNLISTED_TYPES || self.unlisted.contains_key(&kind) {
                    kind
                } else {
                    None
                };
            let count = self.unlisted.entry(key).or_default();
            *count = count.saturating_add(1);
        }
    }

    /// Stops the group timer when nothing is left to show.
    fn end_group_if_empty(&mut self) {
        if self.pending.is_empty() && self.unlisted.is_empty() {
            self.group_started_ms = None;
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
        let mut stamps: Vec<u64> = self.seen.values().copied().collect();
        let (_, &mut cutoff, _) = stamps.select_nth_unstable(excess);
        self.seen
            .retain(|_, stamp| *stamp >= cutoff || *stamp >= pass_start);
    }

    /// The notice due now, if any: the gathered notifications once the group window ended
    /// and the rate limit allows.
    pub fn poll(&mut self, now_ms: i64) -> Vec<InboxNotice> {
        self.sent_ms
            .retain(|&at| at <= now_ms && now_ms.saturating_sub(at) < RATE_WINDOW_MS);
        let Some(started) = self.group_started_ms else {
            return Vec::new();
        };
        let started = started.min(now_ms);
        self.group_started_ms = Some(started);
        if now_ms < started.saturating_add(GROUP_WINDOW_MS)
            || self.sent_ms.len() >= MAX_NOTICES_PER_MINUTE
        {
            return Vec::new();
        }
        self.group_started_ms = None;
        self.sent_ms.push_back(now_ms);
        let pending = std::mem::take(&mut self.pending);
        let unlisted = std::mem::take(&mut self.unlisted);
        let mut notice = compose(pending, &unlisted);
        notice.desktop = self.prefs.desktop && !self.prefs.quiet;
        notice.sound = notice.desktop && self.prefs.sound;
        vec![notice]
    }

    /// When the next notice may become due (for the app to schedule a repaint), if any is
    /// being gathered. It may already be in the past.
    #[must_use]
    pub fn next_due_ms(&self) -> Option<i64> {
        // At most MAX_NOTICES_PER_MINUTE are kept: the oldest must leave the window first.
        let rate_free = self
            .sent_ms
            .len()
            .checked_sub(MAX_NOTICES_PER_MINUTE)
            .and_then(|index| self.sent_ms.get(index))
            .map_or(i64::MIN, |at| at.saturating_add(RATE_WINDOW_MS));
        self.group_started_ms
            .map(|started| started.saturating_add(GROUP_WINDOW_MS).max(rate_free))
    }
}

/// The alarm a notification is about, if its info says so.
fn alarm_of(notification: &Notification) -> Option<Uuid> {
    notification
        .info
        .as_deref()
        .filter(|info| {
            // What an alarm notice announces: a new or escalated alarm. Comments,
            // assignments, acknowledgements and clears are news of their own.
            info.kind == crate::protocol::NotificationInfoKind::Alarm
                && info
                    .action
                    .as_deref()
                    .is_none_or(|a| a == "created" || a == "severity changed")
        })
        .and_then(|info| info.alarm_id)
}

/// One notice for the gathered notifications and the counted ones.
fn compose(
    mut pending: Vec<Pending>,
    unlisted: &BTreeMap<Option<NotificationType>, usize>,
) -> InboxNotice {
    pending.sort_by_key(|p| std::cmp::Reverse((p.created_ms, p.order)));
    let counted = unlisted.values().fold(0_usize, |a, n| a.saturating_add(*n));
    let heading = |p: &Pending| {
        if p.subject.is_empty() {
            capitalised(&type_words(&p.kind))
        } else {
            clip(&p.subject, 1, LINE_CHARS)
        }
    };
    let (title, body, focus) = match pending.as_slice() {
        [one] if counted == 0 => (
            heading(one),
            clip(&one.text, TEXT_LINES, TEXT_CHARS),
            Some(one.id),
        ),
        _ => {
            let total = pending.len().saturating_add(counted);
            let mut kinds = pending
                .iter()
                .map(|p| Some(&p.kind))
                .chain(unlisted.keys().map(Option::as_ref));
            let first = kinds.next().flatten();
            let one_kind = first.filter(|first| kinds.all(|k| k == Some(*first)));
            let noun = plural(total, "notification");
            let title = match one_kind {
                Some(kind) => format!("{total} new {} {noun}", type_words(kind)),
                None => format!("{total} new {noun}"),
            };
            let mut lines: Vec<String> = pending.iter().take(BODY_LINES).map(heading).collect();
            let rest = total.saturating_sub(lines.len());
            if rest > 0 {
                lines.push(format!("and {rest} more"));
            }
            (title, lines.join("\n"), None)
        }
    };
    InboxNotice {
        title,
        body,
        ids: pending.iter().map(|p| p.id).collect(),
        focus,
        desktop: false,
        sound: false,
        critical: pending.iter().any(|p| p.critical),
    }
}

/// A type in lower-case words: `DEVICE_ACTIVITY` → "device activity".
fn type_words(kind: &NotificationType) -> String {
    kind.as_str().replace('_', " ").to_lowercase()
}

/// "device activity" → "Device activity".
fn capitalised(words: &str) -> String {
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// `text` trimmed, blank lines dropped, at most `max_lines` lines and `max_chars`
/// characters; "…" marks a cut.
fn clip(text: &str, max_lines: usize, max_chars: usize) -> String {
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let mut out = lines
        .by_ref()
        .take(max_lines)
        .collect::<Vec<_>>()
        .join("\n");
    let mut cut = lines.next().is_some();
    if out.chars().count() > max_chars {
        out = out.chars().take(max_chars.saturating_sub(1)).collect();
        out.truncate(out.trim_end().len());
        cut = true;
    }
    if cut {
        out.push('…');
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// Threads waiting in [`show_on_desktop`] for a click.
#[cfg_attr(not(all(unix, not(target_os = "macos"))), allow(dead_code))]
static CLICK_WAITERS: AtomicUsize = AtomicUsize::new(0);

/// A slot among the [`MAX_CLICK_WAITERS`] click waiters, freed on drop.
#[cfg_attr(not(all(unix, not(target_os = "macos"))), allow(dead_code))]
struct ClickWaiter;

#[cfg_attr(not(all(unix, not(target_os = "macos"))), allow(dead_code))]
impl ClickWaiter {
    /// Takes a slot, if one is free.
    fn enter() -> Option<Self> {
        CLICK_WAITERS
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_CLICK_WAITERS).then_some(n.saturating_add(1))
            })
            .ok()
            .map(|_| Self)
    }
}

impl Drop for ClickWaiter {
    fn drop(&mut self) {
        CLICK_WAITERS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Shows a notice on the desktop (notify-rust), blocking: call it from a blocking task.
///
/// Where the platform allows (Linux/BSD, XDG notifications), a click on the notification
/// calls `on_click`: the notification gets a "default" action and this thread waits until
/// the notification is clicked or closed. At most eight threads wait at once; beyond that,
/// and on macOS and Windows, the notice is just shown and `on_click` is dropped. A critical
/// notice gets the critical urgency on XDG desktops.
///
/// # Errors
/// The notification service's error as text (no notification daemon, no D-Bus): the app
/// then keeps the in-app toast and logs once.
pub fn show_on_desktop(
    notice: &InboxNotice,
    on_click: Option<Box<dyn FnOnce() + Send>>,
) -> Result<(), String> {
    let mut desktop = crate::alarm::notify::desktop_notification();
    desktop.summary(&notice.title).body(&notice.body);
    if notice.sound {
        desktop.sound_name("message-new-instant");
    }
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        if notice.critical {
            desktop.urgency(notify_rust::Urgency::Critical);
        }
        // Only offer the click when someone waits for it.
        let waiting = on_click.and_then(|on_click| Some((on_click, ClickWaiter::enter()?)));
        if waiting.is_some() {
            desktop.action("default", "Open");
        }
        let handle = desktop.show().map_err(|e| e.to_string())?;
        if let Some((on_click, _slot)) = waiting {
            handle.wait_for_action(|action| {
                if action == "default" {
                    on_click();
                }
            });
        }
        Ok(())
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        drop(on_click);
        desktop.show().map(drop).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// 2026-11-30 14:02:00 UTC.
    const T0: i64 = 1_796_047_320_000;

    fn prefs() -> InboxPrefs {
        InboxPrefs {
            desktop: true,
            sound: true,
            muted: BTreeSet::new(),
            quiet: false,
        }
    }

    fn id(n: u32) -> Uuid {
        Uuid::from_u128(u128::from(n))
    }

    /// Unread notification `n` of `kind` (wire name), created `n` ms after `T0`.
    fn note(n: u32, kind: &str, subject: &str) -> Notification {
        serde_json::from_value(json!({
            "id": {"entityType": "NOTIFICATION", "id": id(n)},
            "requestId": {"entityType": "NOTIFICATION_REQUEST", "id": id(n + 1_000_000)},
            "type": kind,
            "deliveryMethod": "WEB",
            "subject": subject,
            "text": format!("Text of {n}"),
            "status": "SENT",
            "createdTime": T0 + i64::from(n),
        }))
        .unwrap()
    }

    fn general(n: u32) -> Notification {
        note(n, "GENERAL", &format!("Subject {n}"))
    }

    fn read(mut n: Notification) -> Notification {
        n.status = Some(crate::protocol::NotificationStatus::Read);
        n
    }

    /// An `ALARM` notification `n` about alarm `alarm` of `severity`.
    fn alarm_note(n: u32, alarm: u32, severity: &str) -> Notification {
        serde_json::from_value(json!({
            "id": {"entityType": "NOTIFICATION", "id": id(n)},
            "type": "ALARM",
            "subject": "Alarm created: High Temperature",
            "text": "Boiler 3 raised a CRITICAL alarm",
            "status": "SENT",
            "createdTime": T0 + i64::from(n),
            "info": {
                "type": "org.thingsboard.server.common.data.notification.info.AlarmNotificationInfo",
                "alarmType": "High Temperature",
                "action": "created",
                "alarmId": id(alarm),
                "alarmOriginator": {"entityType": "DEVICE", "id": id(9_999)},
                "alarmOriginatorName": "Boiler 3",
                "alarmSeverity": severity,
                "alarmStatus": "ACTIVE_UNACK",
                "acknowledged": false,
                "cleared": false,
            },
        }))
        .unwrap()
    }

    /// Newest first, as the inbox holds them.
    fn newest_first(mut list: Vec<Notification>) -> Vec<Notification> {
        list.reverse();
        list
    }

    /// A notifier past a baseline holding notification 1.
    fn watching() -> InboxNotifier {
        let mut n = InboxNotifier::new(prefs());
        n.observe(&[general(1)], T0);
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0 + GROUP_WINDOW_MS).is_empty());
        n
    }

    fn titles(notices: &[InboxNotice]) -> Vec<&str> {
        notices.iter().map(|n| n.title.as_str()).collect()
    }

    #[test]
    fn what_was_unread_at_login_pops_up_nothing() {
        let mut n = InboxNotifier::new(prefs());
        n.observe(&newest_first(vec![general(1), general(2), general(3)]), T0);
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0 + 60_000).is_empty());
        n.observe(
            &newest_first(vec![general(1), general(2), general(3)]),
            T0 + 1,
        );
        assert!(n.poll(T0 + 60_000).is_empty());
    }

    #[test]
    fn a_new_unread_notification_comes_out_alone_when_the_group_window_ends() {
        let mut n = watching();
        let mut new = note(2, "DEVICE_ACTIVITY", "  Boiler 3 is inactive ");
        new.text = Some("\n  Boiler 3 sent nothing for 10 minutes.  \n".into());
        n.observe(&[new, general(1)], T0 + 500);
        assert_eq!(n.next_due_ms(), Some(T0 + 500 + GROUP_WINDOW_MS));
        assert!(n.poll(T0 + 500 + GROUP_WINDOW_MS - 1).is_empty());
        assert_eq!(
            n.poll(T0 + 500 + GROUP_WINDOW_MS),
            [InboxNotice {
                title: "Boiler 3 is inactive".into(),
                body: "Boiler 3 sent nothing for 10 minutes.".into(),
                ids: vec![id(2)],
                focus: Some(id(2)),
                desktop: true,
                sound: true,
                critical: false,
            }]
        );
        assert_eq!(n.next_due_ms(), None);
    }

    #[test]
    fn a_notification_without_subject_is_titled_by_its_type_in_words() {
        let mut n = watching();
        n.observe(&[note(2, "DEVICE_ACTIVITY", " ")], T0);
        assert_eq!(titles(&n.poll(T0 + GROUP_WINDOW_MS)), ["Device activity"]);
        n.observe(&[note(3, "ALARM", "")], T0 + 60_000);
        assert_eq!(titles(&n.poll(T0 + 70_000)), ["Alarm"]);
    }

    #[test]
    fn a_long_text_is_cut_to_three_lines_and_300_characters() {
        let mut n = watching();
        let mut long = general(2);
        long.text = Some("one\n\ntwo\nthree\nfour".into());
        n.observe(&[long], T0);
        assert_eq!(n.poll(T0 + GROUP_WINDOW_MS)[0].body, "one\ntwo\nthree…");
        let mut longer = general(3);
        longer.text = Some("x".repeat(1_000));
        n.observe(&[longer], T0 + 10_000);
        let body = &n.poll(T0 + 20_000)[0].body;
        assert_eq!(body.chars().count(), 300);
        assert!(body.ends_with("x…"));
    }

    #[test]
    fn a_read_notification_never_notifies() {
        let mut n = watching();
        n.observe(&[read(general(2)), general(1)], T0);
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0 + 60_000).is_empty());
    }

    #[test]
    fn several_in_the_window_become_one_notice_listing_the_newest_three() {
        let mut n = watching();
        n.observe(&[note(2, "GENERAL", "Maintenance tonight")], T0);
        n.observe(
            &newest_first(vec![
                note(3, "ALARM", "Alarm created: High Temperature"),
                note(4, "DEVICE_ACTIVITY", "Boiler 3 is inactive"),
            ]),
            T0 + 1_000,
        );
        n.observe(&[note(5, "ENTITY_ACTION", "Device added")], T0 + 1_999);
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        n.observe(&[note(6, "GENERAL", "Too late for this group")], T0 + 2_001);
        assert_eq!(
            notices,
            [InboxNotice {
                title: "4 new notifications".into(),
                body: "Device added\nBoiler 3 is inactive\nAlarm created: High Temperature\n\
                       and 1 more"
                    .into(),
                ids: vec![id(5), id(4), id(3), id(2)],
                focus: None,
                desktop: true,
                sound: true,
                critical: false,
            }]
        );
        // The one that came after the window ended opens a group of its own.
        assert_eq!(n.next_due_ms(), Some(T0 + 2_001 + GROUP_WINDOW_MS));
    }

    #[test]
    fn several_of_one_type_get_a_typed_title() {
        let mut n = watching();
        n.observe(
            &newest_first(vec![
                note(2, "DEVICE_ACTIVITY", "A"),
                note(3, "DEVICE_ACTIVITY", "B"),
            ]),
            T0,
        );
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(titles(&notices), ["2 new device activity notifications"]);
        assert_eq!(notices[0].body, "B\nA");
    }

    #[test]
    fn the_fifth_notice_within_a_minute_waits_and_comes_out_as_a_summary() {
        let mut n = watching();
        let mut at = T0;
        for k in 0..4 {
            n.observe(&[general(10 + k)], at);
            at += GROUP_WINDOW_MS;
            assert_eq!(titles(&n.poll(at)), [format!("Subject {}", 10 + k)]);
        }
        let first_sent = T0 + GROUP_WINDOW_MS;
        n.observe(&[general(20)], at);
        n.observe(&[general(21)], at + 10_000);
        assert!(n.poll(at + 20_000).is_empty());
        assert_eq!(n.next_due_ms(), Some(first_sent + RATE_WINDOW_MS));
        assert!(n.poll(first_sent + RATE_WINDOW_MS - 1).is_empty());
        let notices = n.poll(first_sent + RATE_WINDOW_MS);
        assert_eq!(titles(&notices), ["2 new general notifications"]);
        assert_eq!(notices[0].ids, [id(21), id(20)]);
    }

    #[test]
    fn a_muted_type_never_notifies_even_after_unmuting() {
        let mut muted = prefs();
        muted.muted.insert(NotificationType::DeviceActivity);
        let mut n = InboxNotifier::new(muted);
        n.observe(&[], T0);
        n.observe(&[note(2, "DEVICE_ACTIVITY", "Boiler 3 is inactive")], T0);
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0 + 60_000).is_empty());
        n.set_prefs(prefs());
        n.observe(
            &[note(2, "DEVICE_ACTIVITY", "Boiler 3 is inactive")],
            T0 + 1,
        );
        assert!(n.poll(T0 + 60_000).is_empty());
    }

    #[test]
    fn muting_a_type_withdraws_its_gathered_notifications() {
        let mut n = watching();
        n.observe(
            &newest_first(vec![note(2, "DEVICE_ACTIVITY", "A"), general(3)]),
            T0,
        );
        let mut muted = prefs();
        muted.muted.insert(NotificationType::DeviceActivity);
        n.set_prefs(muted.clone());
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(notices[0].ids, [id(3)]);
        // Muting the last gathered type leaves nothing due.
        n.observe(&[note(4, "DEVICE_ACTIVITY", "B"), general(5)], T0 + 10_000);
        muted.muted.insert(NotificationType::General);
        n.set_prefs(muted);
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0 + 60_000).is_empty());
    }

    #[test]
    fn a_notification_about_an_alarm_alerted_a_minute_ago_stays_quiet() {
        let mut n = watching();
        n.note_alarm_alerted(id(77), T0);
        n.observe(&[alarm_note(2, 77, "CRITICAL")], T0 + 60_000);
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0 + 120_000).is_empty());
    }

    #[test]
    fn news_of_an_alerted_alarm_other_than_its_creation_still_notifies() {
        let mut n = watching();
        n.note_alarm_alerted(id(77), T0);
        let mut cleared = alarm_note(2, 77, "CRITICAL");
        if let Some(info) = cleared.info.as_deref_mut() {
            info.action = Some("cleared".to_owned());
        }
        let mut comment = alarm_note(3, 77, "CRITICAL");
        comment.notification_type = NotificationType::AlarmComment;
        if let Some(info) = comment.info.as_deref_mut() {
            info.kind = crate::protocol::NotificationInfoKind::AlarmComment;
            info.action = None;
        }
        n.observe(&newest_first(vec![cleared, comment]), T0 + 60_000);
        let notices = n.poll(T0 + 60_000 + GROUP_WINDOW_MS);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].ids, vec![id(3), id(2)]);
    }

    #[test]
    fn a_notification_about_an_alarm_alerted_six_minutes_ago_notifies() {
        let mut n = watching();
        n.note_alarm_alerted(id(77), T0);
        n.observe(&[alarm_note(2, 77, "CRITICAL")], T0 + 6 * 60_000);
        let notices = n.poll(T0 + 6 * 60_000 + GROUP_WINDOW_MS);
        assert_eq!(titles(&notices), ["Alarm created: High Temperature"]);
        assert!(notices[0].critical);
    }

    #[test]
    fn alerting_an_alarm_withdraws_its_gathered_notification() {
        let mut n = watching();
        n.observe(&[alarm_note(2, 77, "CRITICAL")], T0);
        n.note_alarm_alerted(id(77), T0 + 500);
        assert_eq!(n.next_due_ms(), None);
        assert!(n.poll(T0 + GROUP_WINDOW_MS).is_empty());
    }

    #[test]
    fn only_a_critical_alarm_notification_makes_a_notice_critical() {
        let mut n = watching();
        n.observe(&[alarm_note(2, 77, "MAJOR")], T0);
        assert!(!n.poll(T0 + GROUP_WINDOW_MS)[0].critical);
        n.observe(&[general(3), alarm_note(4, 78, "CRITICAL")], T0 + 10_000);
        assert!(n.poll(T0 + 20_000)[0].critical);
    }

    #[test]
    fn after_a_reconnect_seen_ids_stay_quiet_and_unseen_unread_ones_notify() {
        let mut n = watching();
        n.observe(&[general(2), general(1)], T0);
        assert_eq!(n.poll(T0 + GROUP_WINDOW_MS)[0].ids, [id(2)]);
        // Reconnect: the inbox is reset, then the full list arrives with what came offline.
        n.observe(&[], T0 + 30_000);
        n.observe(
            &[general(4), read(general(3)), general(2), general(1)],
            T0 + 31_000,
        );
        let notices = n.poll(T0 + 31_000 + GROUP_WINDOW_MS);
        assert_eq!(titles(&notices), ["Subject 4"]);
    }

    #[test]
    fn the_same_id_twice_in_one_list_counts_once() {
        let mut n = watching();
        n.observe(&[general(2), general(2)], T0);
        assert_eq!(n.poll(T0 + GROUP_WINDOW_MS)[0].ids, [id(2)]);
    }

    #[test]
    fn remembered_ids_are_bounded_least_recently_seen_first() {
        let mut n = watching();
        let count = u32::try_from(MAX_REMEMBERED).unwrap() + 100;
        for k in 0..count {
            n.observe(&[general(100 + k)], T0);
        }
        assert_eq!(n.seen.len(), MAX_REMEMBERED);
        assert!(!n.seen.contains_key(&id(1)));
        assert!(n.seen.contains_key(&id(100 + count - 1)));
        // A whole list longer than the bound is kept while it is current.
        let list: Vec<Notification> = (0..count).map(|k| general(100_000 + k)).collect();
        n.observe(&list, T0);
        assert!(list.iter().all(|x| n.seen.contains_key(&x.id.id)));
    }

    #[test]
    fn gathered_notifications_beyond_the_cap_are_counted_not_lost() {
        let mut n = watching();
        let count = u32::try_from(MAX_PENDING).unwrap() + 12;
        let list: Vec<Notification> = (0..count)
            .map(|k| note(100 + k, "RULE_NODE", "Rule fired"))
            .collect();
        n.observe(&newest_first(list), T0);
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(
            notices[0].title,
            format!("{count} new rule node notifications")
        );
        assert_eq!(notices[0].ids.len(), MAX_PENDING);
        assert!(
            notices[0]
                .body
                .ends_with(&format!("and {} more", count - 3))
        );
    }

    #[test]
    fn alerted_alarms_are_bounded() {
        let mut n = watching();
        let count = u32::try_from(MAX_ALERTED).unwrap() + 50;
        for k in 0..count {
            n.note_alarm_alerted(id(k), T0 + i64::from(k));
        }
        assert_eq!(n.alerted.len(), MAX_ALERTED);
        assert!(n.alerted.contains_key(&id(count - 1)));
        assert!(!n.alerted.contains_key(&id(0)));
        // Old ones leave when their quiet time is over.
        n.note_alarm_alerted(id(1), T0 + ALARM_DEDUP_MS + i64::from(count));
        assert_eq!(n.alerted.len(), 1);
    }

    #[test]
    fn quiet_mode_keeps_the_toast_without_desktop_or_sound() {
        let mut quiet = prefs();
        quiet.quiet = true;
        let mut n = watching();
        n.set_prefs(quiet);
        n.observe(&[general(2)], T0);
        let notices = n.poll(T0 + GROUP_WINDOW_MS);
        assert_eq!(notices.len(), 1);
        assert!(!notices[0].desktop);
        assert!(!notices[0].sound);
    }

    #[test]
    fn sound_follows_the_desktop_channel_and_its_own_switch() {
        let mut n = watching();
        n.set_prefs(InboxPrefs {
            sound: false,
            ..prefs()
        });
        n.observe(&[general(2)], T0);
        let notice = &n.poll(T0 + GROUP_WINDOW_MS)[0];
        assert!(notice.desktop && !notice.sound);
    }

    #[test]
    fn a_clock_that_jumps_back_does_not_hold_notices_back() {
        let mut n = watching();
        n.observe(&[general(2)], T0 + 3_600_000);
        assert!(n.poll(T0).is_empty());
        assert_eq!(titles(&n.poll(T0 + GROUP_WINDOW_MS)), ["Subject 2"]);
        // Notices sent "in the future" no longer count against the limit.
        for k in 0..4 {
            n.observe(&[general(10 + k)], T0 + 3_600_000);
            assert_eq!(n.poll(T0 + 3_600_000 + GROUP_WINDOW_MS).len(), 1);
        }
        n.observe(&[general(20)], T0);
        assert_eq!(n.poll(T0 + GROUP_WINDOW_MS).len(), 1);
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let mut n = watching();
        for now in [i64::MIN, -1, 0, i64::MAX] {
            n.note_alarm_alerted(id(77), now);
            n.observe(&[alarm_note(2, 77, "CRITICAL"), general(3)], now);
            let _ = n.next_due_ms();
            let _ = n.poll(now);
            let _ = n.poll(now.saturating_add(GROUP_WINDOW_MS));
        }
    }

    #[test]
    fn settings_prefs_convert_with_nothing_muted_and_quiet_off() {
        let settings = NotificationPrefs {
            desktop: false,
            min_severity: AlarmSeverity::Critical,
            sound: true,
        };
        assert_eq!(
            InboxPrefs::from(&settings),
            InboxPrefs {
                desktop: false,
                sound: true,
                muted: BTreeSet::new(),
                quiet: false,
            }
        );
    }

    #[test]
    fn at_most_eight_threads_wait_for_a_click() {
        let slots: Vec<ClickWaiter> = std::iter::from_fn(ClickWaiter::enter)
            .take(MAX_CLICK_WAITERS + 1)
            .collect();
        assert_eq!(slots.len(), MAX_CLICK_WAITERS);
        assert!(ClickWaiter::enter().is_none());
        drop(slots);
        assert!(ClickWaiter::enter().is_some());
    }
}
