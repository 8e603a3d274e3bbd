//! `tb-monitor watch`: stream a server's updates as JSON lines, for scripts, a quick check
//! from a terminal, and CI.
//!
//! The query file holds a `cmds` list as in the API (`{"cmds":[{"type":"ENTITY_DATA",…}]}`);
//! each subscribing command becomes a subscription numbered by its position (`sub` 0, 1, …).
//! Every event is one line: `{"event":"message","sub":0,"msg":{…the server's message…}}`,
//! `{"event":"connection","state":"live"}`, `{"event":"closed","code":1006,"reason":"…"}`, …
//! The session underneath is the app's: it reconnects, replays and backfills the same way.
//! A clear-text server URL to another machine gets one warning in the log (stderr) before
//! the login ([`crate::settings::cleartext_warning`], in `main.rs`); stdout stays JSON lines.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::net::event::{ConnState, EventQueue, NetEvent, UiWaker};
use crate::net::rest::RestClient;
use crate::net::session::{NetCommand, SessionConfig, spawn};
use crate::net::subscriptions::SubSpec;
use crate::protocol::{ClientMessage, WsCmd};

/// When `watch` stops by itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopAfter {
    /// After this many `message` events (`None`: never).
    pub messages: Option<u64>,
    /// After this long (`None`: never).
    pub duration: Option<Duration>,
}

/// Reads a query file's text into subscriptions.
///
/// # Errors
/// Text that is not a `{"cmds":[…]}` frame, or one without a subscribing command.
pub fn parse_query(text: &str) -> Result<Vec<SubSpec>, String> {
    let frame: ClientMessage = serde_json::from_str(text)
        .map_err(|e| format!("the query file is not a cmds frame: {e}"))?;
    let specs: Vec<SubSpec> = frame
        .cmds
        .into_iter()
        .filter_map(SubSpec::from_cmd)
        .collect();
    if specs.is_empty() {
        return Err("the query file has no subscribing command in `cmds`".to_owned());
    }
    Ok(specs)
}

/// One event as a JSON line's value.
#[must_use]
pub fn event_json(event: &NetEvent) -> Value {
    match event {
        NetEvent::Connection(state) => match state {
            ConnState::Connecting { attempt } => {
                json!({"event": "connection", "state": "connecting", "attempt": attempt})
            }
            ConnState::Live => json!({"event": "connection", "state": "live"}),
            ConnState::Reconnecting {
                attempt,
                retry_at_ms,
            } => json!({"event": "connection", "state": "reconnecting", "attempt": attempt,
                        "retryAtMs": retry_at_ms}),
            ConnState::Offline { reason } => {
                json!({"event": "connection", "state": "offline", "reason": reason})
            }
        },
        NetEvent::Closed { code, reason } => {
            let (summary, action) = crate::store::health::close_reason(*code, reason);
            json!({"event": "closed", "code": code, "reason": reason, "summary": summary,
                   "action": action})
        }
        NetEvent::Rtt { ms } => json!({"event": "rtt", "ms": ms}),
        NetEvent::Traffic { msgs, bytes } => {
            json!({"event": "traffic", "msgs": msgs, "bytes": bytes})
        }
        NetEvent::Message { sub, msg } => json!({"event": "message", "sub": sub,
            "msg": serde_json::to_value(msg.as_ref()).unwrap_or(Value::Null)}),
        NetEvent::SubscriptionError { sub, code, message } => {
            json!({"event": "error", "sub": sub, "code": code, "message": message})
        }
        NetEvent::Gap {
            sub,
            from_ms,
            to_ms,
        } => json!({"event": "gap", "sub": sub, "fromMs": from_ms, "toMs": to_ms}),
        NetEvent::BadFrame { error } => json!({"event": "bad-frame", "error": error}),
        NetEvent::Lagged { subs } => {
            let ids: Vec<_> = subs.iter().map(|l| l.sub).collect();
            let since: Vec<_> = subs.iter().map(|l| l.since_ms).collect();
            json!({"event": "lagged", "subs": ids, "sinceMs": since})
        }
        NetEvent::Resynced { sub } => json!({"event": "resynced", "sub": sub}),
        NetEvent::SessionExpired => json!({"event": "session-expired"}),
        NetEvent::LegacyServer => json!({"event": "legacy-server",
            "note": "ThingsBoard before 3.6.2: no alarm status, no notifications"}),
    }
}

struct NotifyWaker(Arc<Notify>);

impl UiWaker for NotifyWaker {
    fn wake(&self) {
        self.0.notify_one();
    }
}

/// Subscribes `specs` on a logged-in `rest` client and writes every event to `out` as a
/// JSON line until `stop` says so (or the session expires, or the output closes).
///
/// # Errors
/// The output cannot be written.
pub async fn watch(
    rest: RestClient,
    specs: Vec<SubSpec>,
    stop: StopAfter,
    out: &mut (dyn Write + Send),
) -> std::io::Result<()> {
    let notify = Arc::new(Notify::new());
    let queue = EventQueue::new(10_000, Arc::new(NotifyWaker(Arc::clone(&notify))));
    let net = spawn(
        &tokio::runtime::Handle::current(),
        rest,
        SessionConfig::default(),
        queue.clone(),
    );
    for (i, spec) in specs.into_iter().enumerate() {
        // Waits for room: a query file may hold more commands than the queue.
        net.send(NetCommand::Subscribe {
            sub: i as u64,
            spec,
        })
        .await
        .map_err(std::io::Error::other)?;
    }
    let deadline = stop.duration.map(|d| tokio::time::Instant::now() + d);
    let mut messages = 0u64;
    loop {
        for event in queue.drain(usize::MAX) {
            writeln!(out, "{}", event_json(&event))?;
            if matches!(event, NetEvent::Message { .. }) {
                messages += 1;
            }
            let expired = matches!(event, NetEvent::SessionExpired);
            if expired || stop.messages.is_some_and(|n| messages >= n) {
                out.flush()?;
                net.try_send(NetCommand::Shutdown).ok();
                return Ok(());
            }
        }
        out.flush()?;
        let wait = notify.notified();
        match deadline {
            Some(d) => {
                if tokio::time::timeout_at(d, wait).await.is_err() {
                    net.try_send(NetCommand::Shutdown).ok();
                    return Ok(());
                }
            }
            None => wait.await,
        }
    }
}

/// The example query file (`assets/queries/thermostats.json`): latest temperatures of every
/// thermostat and the active alarm count.
pub const EXAMPLE_QUERY: &str = include_str!("../assets/queries/thermostats.json");

/// Which commands of a frame are not subscriptions (reported, not sent).
#[must_use]
pub fn ignored_cmds(text: &str) -> Vec<&'static str> {
    serde_json::from_str::<ClientMessage>(text)
        .map(|f| {
            f.cmds
                .into_iter()
                .filter(|c| SubSpec::from_cmd(c.clone()).is_none())
                .map(|c: WsCmd| c.type_name())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_query_parses_into_two_subscriptions() {
        let specs = parse_query(EXAMPLE_QUERY).unwrap();
        assert_eq!(specs.len(), 2);
        assert!(matches!(specs[0], SubSpec::EntityData(_)));
        assert!(ignored_cmds(EXAMPLE_QUERY).is_empty());
    }

    #[test]
    fn a_query_without_subscriptions_or_not_json_is_a_clear_error() {
        assert!(parse_query("{").unwrap_err().contains("not a cmds frame"));
        let only_unsub = r#"{"cmds":[{"type":"ENTITY_DATA_UNSUBSCRIBE","cmdId":1}]}"#;
        assert!(
            parse_query(only_unsub)
                .unwrap_err()
                .contains("no subscribing")
        );
        assert_eq!(ignored_cmds(only_unsub), ["ENTITY_DATA_UNSUBSCRIBE"]);
    }

    #[test]
    fn events_become_one_json_object_each() {
        let closed = event_json(&NetEvent::Closed {
            code: 1008,
            reason: "Max pending updates limit reached!".into(),
        });
        assert_eq!(closed["event"], "closed");
        assert_eq!(closed["code"], 1008);
        assert!(closed["summary"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(
            event_json(&NetEvent::Connection(ConnState::Live)),
            json!({"event": "connection", "state": "live"})
        );
    }
}
