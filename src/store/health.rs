//! Connection health: the session state, round-trip time, message and byte rates,
//! reconnects, and the last close explained in plain words.
//!
//! Everything is pure: the caller passes the time (`now_ms`, local epoch ms), so the rules
//! are tested without clocks. Rates are measured over the last [`RATE_WINDOW_MS`] in
//! 100 ms buckets (memory is fixed however many messages arrive). Close codes are explained
//! by [`close_reason`], following thingsboard-protocol.md §10 and client-behaviour.md §B2, with
//! one heuristic on top: an abnormal close (1006) after about a minute without traffic is
//! most likely a reverse proxy's idle timeout ([`PROXY_IDLE_MS`]).

use std::time::Duration;

use crate::net::tokens::redact_jwts;

/// Span over which message and byte rates are measured.
pub const RATE_WINDOW_MS: i64 = 5_000;

/// Idle time after which an abnormal close (1006) is put down to a proxy's idle timeout
/// (nginx's `proxy_read_timeout` is 60 s by default).
pub const PROXY_IDLE_MS: i64 = 55_000;

const BUCKET_MS: i64 = 100;
const BUCKETS: usize = 50; // RATE_WINDOW_MS / BUCKET_MS

/// The state of the session's connection (the network's own type).
pub use crate::net::event::ConnState as ConnectionState;

/// How the last connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The WebSocket close code (1006 when the link dropped without a close frame).
    pub code: u16,
    /// The close reason text as sent (often empty).
    pub reason: String,
    /// When the close was noticed (local epoch ms).
    pub at_ms: i64,
    /// How long the link had carried no message before the close, if it had carried any.
    pub idle_ms: Option<i64>,
    /// What happened, in plain words.
    pub summary: &'static str,
    /// What the user can do about it.
    pub action: &'static str,
}

/// Messages and bytes received in one 100 ms slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Bucket {
    slot: i64,
    messages: u32,
    bytes: u32,
}

/// Connection health for the HUD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    state: ConnectionState,
    state_since_ms: i64,
    rtt_last: Option<Duration>,
    rtt_smoothed: Option<Duration>,
    buckets: [Bucket; BUCKETS],
    rate_origin_ms: Option<i64>,
    total_messages: u64,
    total_bytes: u64,
    last_message_at_ms: Option<i64>,
    live_since_ms: Option<i64>,
    ever_live: bool,
    reconnects: u32,
    last_close: Option<CloseInfo>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Health {
    /// Health of a session that has not started; the state is `Offline` ("not connected").
    #[must_use]
    pub fn new(now_ms: i64) -> Self {
        Self {
            state: ConnectionState::Offline {
                reason: "not connected".to_owned(),
            },
            state_since_ms: now_ms,
            rtt_last: None,
            rtt_smoothed: None,
            buckets: [Bucket {
                slot: i64::MIN,
                messages: 0,
                bytes: 0,
            }; BUCKETS],
            rate_origin_ms: None,
            total_messages: 0,
            total_bytes: 0,
            last_message_at_ms: None,
            live_since_ms: None,
            ever_live: false,
            reconnects: 0,
            last_close: None,
        }
    }

    /// Moves to `state` at `now_ms`. Going `Live` again after an earlier `Live` counts a
    /// reconnect; entering `Live` also restarts the idle clock and the rate window.
    pub fn set_state(&mut self, now_ms: i64, state: ConnectionState) {
        if state == ConnectionState::Live && self.state != ConnectionState::Live {
            if self.ever_live {
                self.reconnects = self.reconnects.saturating_add(1);
            }
            self.ever_live = true;
            self.live_since_ms = Some(now_ms);
            self.last_message_at_ms = None;
            self.rate_origin_ms = None;
        }
        if state != self.state {
            self.state_since_ms = now_ms;
        }
        self.state = state;
    }

    /// Records that the socket closed with `code` and `reason` at `now_ms`, explaining it
    /// (the proxy heuristic uses the idle time of the link). JWT-like runs in the reason are
    /// masked before it is kept ([`redact_jwts`]): it reaches the diagnostics. The state is
    /// left to the caller's next [`Health::set_state`] (`Reconnecting` or `Offline`).
    pub fn on_close(&mut self, now_ms: i64, code: u16, reason: &str) {
        let idle_ms = self
            .last_message_at_ms
            .or(self.live_since_ms)
            .map(|since| now_ms.saturating_sub(since).max(0));
        let (summary, action) = close_reason_after_idle(code, reason, idle_ms);
        self.last_close = Some(CloseInfo {
            code,
            reason: redact_jwts(reason),
            at_ms: now_ms,
            idle_ms,
            summary,
            action,
        });
        self.live_since_ms = None;
    }

    /// Records one received message of `bytes` bytes at `now_ms`.
    pub fn on_message(&mut self, now_ms: i64, bytes: usize) {
        self.on_messages(now_ms, 1, u64::try_from(bytes).unwrap_or(u64::MAX));
    }

    /// Records `messages` received messages of `bytes` bytes in all at `now_ms` (the session
    /// reports its traffic about once a second).
    pub fn on_messages(&mut self, now_ms: i64, messages: u32, bytes: u64) {
        self.total_messages = self.total_messages.saturating_add(u64::from(messages));
        self.total_bytes = self.total_bytes.saturating_add(bytes);
        self.last_message_at_ms = Some(self.last_message_at_ms.map_or(now_ms, |t| t.max(now_ms)));
        if self.rate_origin_ms.is_none() {
            self.rate_origin_ms = Some(now_ms);
        }
        let slot = now_ms.div_euclid(BUCKET_MS);
        let bucket = &mut self.buckets[bucket_index(slot)];
        if bucket.slot < slot {
            *bucket = Bucket {
                slot,
                messages: 0,
                bytes: 0,
            };
        }
        if bucket.slot == slot {
            bucket.messages = bucket.messages.saturating_add(messages);
            bucket.bytes = bucket
                .bytes
                .saturating_add(u32::try_from(bytes).unwrap_or(u32::MAX));
        }
        // A time older than the bucket's slot (the clock stepped back) only counts in totals.
    }

    /// Records one measured round trip (a ping answered by a pong). The smoothed value is
    /// TCP's estimator: 7/8 of the previous plus 1/8 of the new sample.
    pub fn on_rtt(&mut self, rtt: Duration) {
        self.rtt_last = Some(rtt);
        self.rtt_smoothed = Some(match self.rtt_smoothed {
            None => rtt,
            Some(smoothed) => smoothed
                .saturating_sub(smoothed / 8)
                .saturating_add(rtt / 8),
        });
    }

    /// Messages per second over the last [`RATE_WINDOW_MS`] (or since the first message, if
    /// that is more recent, counting at least one second).
    #[must_use]
    pub fn messages_per_sec(&self, now_ms: i64) -> f64 {
        let (messages, _) = self.window_sums(now_ms);
        messages / self.window_secs(now_ms)
    }

    /// Bytes per second over the last [`RATE_WINDOW_MS`], measured like
    /// [`Health::messages_per_sec`].
    #[must_use]
    pub fn bytes_per_sec(&self, now_ms: i64) -> f64 {
        let (_, bytes) = self.window_sums(now_ms);
        bytes / self.window_secs(now_ms)
    }

    fn window_sums(&self, now_ms: i64) -> (f64, f64) {
        let now_slot = now_ms.div_euclid(BUCKET_MS);
        let oldest = now_slot.saturating_sub(i64::try_from(BUCKETS).unwrap_or(i64::MAX) - 1);
        self.buckets
            .iter()
            .filter(|b| b.slot >= oldest && b.slot <= now_slot)
            .fold((0.0, 0.0), |(m, b), bucket| {
                (m + f64::from(bucket.messages), b + f64::from(bucket.bytes))
            })
    }

    fn window_secs(&self, now_ms: i64) -> f64 {
        let span = self
            .rate_origin_ms
            .map_or(RATE_WINDOW_MS, |origin| now_ms.saturating_sub(origin))
            .clamp(1_000, RATE_WINDOW_MS);
        f64::from(i32::try_from(span).unwrap_or(5_000)) / 1_000.0
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> &ConnectionState {
        &self.state
    }

    /// When the current state began (local epoch ms).
    #[must_use]
    pub fn state_since_ms(&self) -> i64 {
        self.state_since_ms
    }

    /// Milliseconds until the next attempt while `Reconnecting` (never negative).
    #[must_use]
    pub fn retry_in_ms(&self, now_ms: i64) -> Option<i64> {
        match self.state {
            ConnectionState::Reconnecting { retry_at_ms, .. } => {
                Some(retry_at_ms.saturating_sub(now_ms).max(0))
            }
            _ => None,
        }
    }

    /// The last measured round-trip time.
    #[must_use]
    pub fn rtt_last(&self) -> Option<Duration> {
        self.rtt_last
    }

    /// The smoothed round-trip time.
    #[must_use]
    pub fn rtt_smoothed(&self) -> Option<Duration> {
        self.rtt_smoothed
    }

    /// Messages received in total.
    #[must_use]
    pub fn total_messages(&self) -> u64 {
        self.total_messages
    }

    /// Bytes received in total.
    #[must_use]
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// When the last message arrived on the current connection (local epoch ms).
    #[must_use]
    pub fn last_message_at_ms(&self) -> Option<i64> {
        self.last_message_at_ms
    }

    /// How long the live link has carried no message at `now_ms`; `None` when not live.
    #[must_use]
    pub fn idle_ms(&self, now_ms: i64) -> Option<i64> {
        if self.state != ConnectionState::Live {
            return None;
        }
        let since = self.last_message_at_ms.or(self.live_since_ms)?;
        Some(now_ms.saturating_sub(since).max(0))
    }

    /// How many times the session went live again after losing a connection.
    #[must_use]
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// How the last connection ended.
    #[must_use]
    pub fn last_close(&self) -> Option<&CloseInfo> {
        self.last_close.as_ref()
    }
}

fn bucket_index(slot: i64) -> usize {
    let n = i64::try_from(BUCKETS).unwrap_or(1);
    usize::try_from(slot.rem_euclid(n)).unwrap_or(0)
}

/// A close code and reason in plain words: `(what happened, what to do)`.
///
/// Covers the codes ThingsBoard and the network produce (thingsboard-protocol.md §10): 1000,
/// 1001, 1002, 1005, 1006, 1007 (rejected login, unknown endpoint), 1008 (session and
/// subscription limits, the send-queue overflow `Max pending updates limit reached!`, a
/// missing or late login), 1009, 1011, 1012, 1015 and 4500. Use [`close_reason_after_idle`]
/// when the link's idle time is known.
#[must_use]
pub fn close_reason(code: u16, reason: &str) -> (&'static str, &'static str) {
    let lower = reason.to_ascii_lowercase();
    match code {
        1000 => ("the connection was closed normally", "nothing to do"),
        1001 => (
            "the server is going away (restart or shutdown)",
            "wait: the client reconnects by itself",
        ),
        1002 => (
            "the server reported a WebSocket protocol error",
            "the client reconnects; report it if it repeats",
        ),
        1005 => (
            "the connection was closed without a reason",
            "the client reconnects by itself",
        ),
        1006 => (
            "the link dropped without a goodbye (network lost, server down, or a proxy cut it)",
            "check the network or VPN: the client reconnects by itself",
        ),
        1007 if lower.contains("unknown session type") => (
            "the server does not know this WebSocket endpoint",
            "check the server address and that it runs ThingsBoard 3.6.2 or later",
        ),
        1007 => (
            "the server rejected the login (token invalid or expired)",
            "sign in again",
        ),
        1008 => close_reason_1008(&lower),
        1009 => (
            "a message was too large for the server (over 32 KiB)",
            "narrow the request: fewer keys or entities per subscription",
        ),
        1011 => (
            "the server hit an internal error",
            "the client reconnects; report it if it repeats",
        ),
        1012 => (
            "the server dropped the session after a failing command (e.g. a bad time window or aggregation)",
            "the client reconnects; if it repeats, check the time window and aggregation",
        ),
        1015 => (
            "the secure connection (TLS) could not be established",
            "check the server's certificate and the system clock",
        ),
        4500 => (
            "the link stalled: the server heard nothing or could not send for 30 s",
            "check the network: the client reconnects by itself",
        ),
        _ => (
            "the connection was closed with an unrecognised code",
            "the client reconnects; report the code if it repeats",
        ),
    }
}

fn close_reason_1008(lower: &str) -> (&'static str, &'static str) {
    if lower.contains("pending updates") {
        (
            "the server's send queue for this session overflowed: updates came faster than they were read",
            "subscribe to fewer entities or keys, or use a wider aggregation interval",
        )
    } else if lower.contains("sessions limit") {
        (
            "too many open sessions for this tenant, customer or user",
            "close unused browser tabs or sign out from other devices",
        )
    } else if lower.contains("subscriptions limit") {
        (
            "too many subscriptions for this tenant, customer or user",
            "close other dashboards or clients watching the same account",
        )
    } else if lower.contains("limit reached") {
        (
            "a server limit was reached",
            "close other sessions or narrow the subscriptions",
        )
    } else if lower.contains("auth cmd is missing") || lower.trim().is_empty() {
        (
            "the server did not receive the login in time",
            "check the network: the client reconnects by itself",
        )
    } else {
        (
            "the server refused the session (policy violation)",
            "read the reason text; the client reconnects",
        )
    }
}

/// [`close_reason`] with the proxy heuristic: an abnormal close (1006) after at least
/// [`PROXY_IDLE_MS`] without traffic is most likely a proxy's idle timeout.
#[must_use]
pub fn close_reason_after_idle(
    code: u16,
    reason: &str,
    idle_ms: Option<i64>,
) -> (&'static str, &'static str) {
    if code == 1006 && idle_ms.is_some_and(|idle| idle >= PROXY_IDLE_MS) {
        return (
            "a proxy closed the idle link (no traffic for about a minute)",
            "raise the proxy's read timeout (nginx proxy_read_timeout) above 60 s; the client reconnects",
        );
    }
    close_reason(code, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_at(now_ms: i64) -> Health {
        let mut h = Health::new(now_ms);
        h.set_state(now_ms, ConnectionState::Connecting { attempt: 1 });
        h.set_state(now_ms, ConnectionState::Live);
        h
    }

    #[test]
    fn a_new_health_is_offline_with_no_figures() {
        let h = Health::new(7);
        assert_eq!(h.state().label(), "offline");
        assert_eq!(h.state_since_ms(), 7);
        assert_eq!(h.rtt_last(), None);
        assert!(h.messages_per_sec(7).abs() < 1e-9);
        assert_eq!(h.reconnects(), 0);
        assert!(h.last_close().is_none());
    }

    #[test]
    fn rates_are_computed_over_the_last_five_seconds() {
        let mut h = live_at(0);
        // 10 messages of 100 bytes per second for 10 s.
        for i in 0..100 {
            h.on_message(i * 100, 100);
        }
        let now = 9_999;
        assert!((h.messages_per_sec(now) - 10.0).abs() < 1e-9);
        assert!((h.bytes_per_sec(now) - 1_000.0).abs() < 1e-9);
        assert_eq!(h.total_messages(), 100);
        assert_eq!(h.total_bytes(), 10_000);
        // Messages older than the window no longer count.
        assert!((h.messages_per_sec(12_450) - 5.0).abs() < 1e-9);
        assert!(h.messages_per_sec(20_000).abs() < 1e-9);
        assert!(h.bytes_per_sec(20_000).abs() < 1e-9);
    }

    #[test]
    fn rates_just_after_the_first_message_use_the_time_since_it() {
        let mut h = live_at(1_000);
        for i in 0..20 {
            h.on_message(1_000 + i * 100, 50);
        }
        // 20 messages over 2 s.
        assert!((h.messages_per_sec(3_000) - 10.0).abs() < 1e-9);
        assert!((h.bytes_per_sec(3_000) - 500.0).abs() < 1e-9);
        // One message counts over at least one second.
        let mut h = live_at(0);
        h.on_message(0, 10);
        assert!((h.messages_per_sec(0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_clock_stepping_back_does_not_break_the_rates() {
        let mut h = live_at(0);
        h.on_message(10_000, 1);
        h.on_message(5_000, 1);
        h.on_message(-3, usize::MAX);
        assert_eq!(h.total_messages(), 3);
        assert!(h.messages_per_sec(10_000) > 0.0);
        assert_eq!(h.last_message_at_ms(), Some(10_000));
    }

    #[test]
    fn rtt_keeps_the_last_sample_and_a_smoothed_value() {
        let mut h = live_at(0);
        h.on_rtt(Duration::from_millis(80));
        assert_eq!(h.rtt_smoothed(), Some(Duration::from_millis(80)));
        h.on_rtt(Duration::from_millis(160));
        assert_eq!(h.rtt_last(), Some(Duration::from_millis(160)));
        assert_eq!(h.rtt_smoothed(), Some(Duration::from_millis(90)));
        h.on_rtt(Duration::MAX);
        assert!(h.rtt_smoothed().is_some());
    }

    #[test]
    fn going_live_again_counts_a_reconnect() {
        let mut h = live_at(0);
        assert_eq!(h.reconnects(), 0);
        h.on_close(1_000, 1006, "");
        h.set_state(
            1_000,
            ConnectionState::Reconnecting {
                attempt: 1,
                retry_at_ms: 3_000,
            },
        );
        assert_eq!(h.retry_in_ms(2_500), Some(500));
        assert_eq!(h.retry_in_ms(4_000), Some(0));
        h.set_state(3_000, ConnectionState::Connecting { attempt: 1 });
        assert_eq!(h.retry_in_ms(3_000), None);
        h.set_state(3_200, ConnectionState::Live);
        assert_eq!(h.reconnects(), 1);
        assert_eq!(h.state_since_ms(), 3_200);
        h.set_state(3_300, ConnectionState::Live);
        assert_eq!(h.reconnects(), 1, "staying live is not a reconnect");
        assert_eq!(h.state_since_ms(), 3_200);
        h.set_state(
            4_000,
            ConnectionState::Offline {
                reason: "signed out".to_owned(),
            },
        );
        assert_eq!(h.state().label(), "offline");
        assert_eq!(h.idle_ms(4_000), None);
    }

    #[test]
    fn the_idle_time_counts_from_the_last_message() {
        let mut h = live_at(0);
        assert_eq!(h.idle_ms(2_000), Some(2_000));
        h.on_message(5_000, 1);
        assert_eq!(h.idle_ms(8_000), Some(3_000));
    }

    #[test]
    fn a_close_is_recorded_with_its_explanation() {
        let mut h = live_at(0);
        h.on_message(1_000, 10);
        h.on_close(2_000, 1008, "Max pending updates limit reached!");
        let close = h.last_close().unwrap();
        assert_eq!(close.code, 1008);
        assert_eq!(close.reason, "Max pending updates limit reached!");
        assert_eq!(close.at_ms, 2_000);
        assert_eq!(close.idle_ms, Some(1_000));
        assert!(close.summary.contains("send queue"));
    }

    #[test]
    fn a_token_echoed_in_a_close_reason_is_not_kept() {
        let mut h = live_at(0);
        // ThingsBoard's 1007 for an unreadable first frame echoes it, cut to 123 bytes.
        let token = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ0ZW5hbnRAdGhpbmdzYm9hcmQub3JnIn0.c2ln";
        let echoed = format!(
            "The given string value cannot be transformed to Json object: {{\"authCmd\":{{\"cmdId\":0,\"token\":\"{token}\"}}}}"
        );
        h.on_close(1_000, 1007, &echoed[..123]);
        let close = h.last_close().unwrap();
        assert!(!close.reason.contains("eyJ"), "{}", close.reason);
        assert!(
            close.reason.ends_with("\"token\":\"<token>"),
            "{}",
            close.reason
        );
        assert!(close.summary.contains("rejected the login"));
    }

    #[test]
    fn an_abnormal_close_after_a_minute_of_idle_link_blames_a_proxy() {
        let mut h = live_at(0);
        h.on_message(1_000, 10);
        h.on_close(61_000, 1006, "");
        let close = h.last_close().unwrap();
        assert_eq!(
            close.summary,
            "a proxy closed the idle link (no traffic for about a minute)"
        );
        assert!(close.action.contains("proxy_read_timeout"));

        let mut h = live_at(0);
        h.on_message(50_000, 10);
        h.on_close(61_000, 1006, "");
        assert!(
            h.last_close()
                .unwrap()
                .summary
                .starts_with("the link dropped")
        );

        // A live link that never carried a message counts from going live.
        let mut h = live_at(0);
        h.on_close(70_000, 1006, "");
        assert!(h.last_close().unwrap().summary.starts_with("a proxy"));

        // Other codes are never put down to a proxy.
        assert_eq!(
            close_reason_after_idle(4500, "", Some(120_000)),
            close_reason(4500, "")
        );
    }

    #[test]
    fn close_codes_are_explained_in_plain_words() {
        let summary = |code, reason| close_reason(code, reason).0;
        assert!(summary(1000, "").contains("normally"));
        assert!(summary(1001, "").contains("going away"));
        assert!(summary(1006, "").contains("without a goodbye"));
        assert!(summary(1007, "Unknown session type").contains("endpoint"));
        assert!(summary(1007, "JWT Token is expired").contains("login"));
        assert!(summary(1009, "").contains("too large"));
        assert!(summary(1011, "Session not found!").contains("internal error"));
        assert!(summary(1012, "").contains("failing command"));
        assert!(summary(4500, "").contains("stalled"));
        assert!(summary(1015, "").contains("TLS"));
        assert!(summary(3999, "").contains("unrecognised"));
        assert_eq!(
            close_reason(1009, "").1,
            "narrow the request: fewer keys or entities per subscription"
        );
    }

    #[test]
    fn policy_violations_are_told_apart_by_their_reason() {
        let summary = |reason| close_reason(1008, reason).0;
        assert!(summary("Max pending updates limit reached!").contains("send queue"));
        assert!(summary("Max tenant sessions limit reached!").contains("open sessions"));
        assert!(summary("Max regular user sessions limit reached").contains("open sessions"));
        assert_eq!(
            close_reason(1008, "Max customer sessions limit reached").1,
            "close unused browser tabs or sign out from other devices"
        );
        assert!(summary("Max public user subscriptions limit reached").contains("subscriptions"));
        assert!(summary("Max something limit reached").contains("limit"));
        assert!(summary("Auth cmd is missing").contains("login"));
        assert!(
            summary("").contains("login"),
            "the auth timeout closes without a reason"
        );
        assert!(summary("Forbidden").contains("policy violation"));
    }
}
