//! [`ServerMessage`]: everything the server sends on the socket, and its fast decoder.
//!
//! Decoding is on the hot path (every telemetry update), so [`ServerMessage::from_json`]
//! avoids building a `serde_json::Value`: it finds the `cmdUpdateType` by a byte search,
//! decodes the matching typed struct in one pass, and relies on the struct's
//! `cmdUpdateType` marker to refuse a wrong guess (for example a key of that name nested
//! in alarm details). Only a failed or ambiguous fast decode takes the slow path, which
//! parses a `Value`, dispatches exactly as the reference says (§3), and reports the shape
//! and field that failed.

use serde::{Deserialize, Serialize};

use super::enums::CmdUpdateType;
use super::error::{ProtocolError, json_kind};
use super::update::{
    AlarmCountUpdate, AlarmDataUpdate, AlarmStatusUpdate, EntityCountUpdate, EntityDataUpdate,
    TOO_MANY_UPDATES, TelemetrySubscriptionUpdate, TooManyUpdates, UnreadNotificationsCountUpdate,
    UnreadNotificationsUpdate,
};

/// One message from the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ServerMessage {
    /// v1 data or an error in the v1 shape (`subscriptionId`, no `cmdUpdateType`).
    Telemetry(TelemetrySubscriptionUpdate),
    /// The per-session rate-limit message.
    TooManyUpdates(TooManyUpdates),
    /// `ENTITY_DATA`.
    EntityData(EntityDataUpdate),
    /// `ALARM_DATA`.
    AlarmData(AlarmDataUpdate),
    /// `COUNT_DATA`.
    EntityCount(EntityCountUpdate),
    /// `ALARM_COUNT_DATA`.
    AlarmCount(AlarmCountUpdate),
    /// `ALARM_STATUS`.
    AlarmStatus(AlarmStatusUpdate),
    /// `NOTIFICATIONS`.
    Notifications(UnreadNotificationsUpdate),
    /// `NOTIFICATIONS_COUNT`.
    NotificationsCount(UnreadNotificationsCountUpdate),
    /// A `cmdUpdateType` this version does not know, kept verbatim.
    Unknown(UnknownUpdate),
}

/// What an error message is about (see [`ServerMessage::error_scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorScope {
    /// The command or subscription with this `cmdId`.
    Subscription(i32),
    /// A whole frame the server could not parse; none of its commands ran.
    WholeFrame,
    /// The per-tenant/user subscription rate limit; the subscription was not created.
    SubscriptionRateLimit,
}

/// A CmdUpdate with an unknown `cmdUpdateType`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct UnknownUpdate {
    /// The whole message.
    pub raw: serde_json::Map<String, serde_json::Value>,
}

impl UnknownUpdate {
    /// The unknown `cmdUpdateType`.
    #[must_use]
    pub fn cmd_update_type(&self) -> &str {
        self.raw
            .get("cmdUpdateType")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }

    /// The `cmdId`, if it is a valid one.
    #[must_use]
    pub fn cmd_id(&self) -> Option<i32> {
        self.raw
            .get("cmdId")
            .and_then(serde_json::Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
    }
}

impl ServerMessage {
    /// Decodes one text frame.
    ///
    /// # Errors
    /// A [`ProtocolError`] naming the shape and the field that failed. Never panics,
    /// whatever the input.
    pub fn from_json(text: &str) -> Result<Self, ProtocolError> {
        if let Some(msg) = fast_decode(text) {
            return Ok(msg);
        }
        slow_decode(text)
    }

    /// Encodes the message as the server would send it.
    ///
    /// # Errors
    /// Only for values JSON cannot hold (non-finite floats in free JSON fields).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The subscription this message belongs to: `cmdId`, or `subscriptionId` for the v1 shape.
    #[must_use]
    pub fn cmd_id(&self) -> Option<i32> {
        match self {
            ServerMessage::Telemetry(m) => Some(m.subscription_id),
            ServerMessage::TooManyUpdates(m) => Some(m.subscription_id),
            ServerMessage::EntityData(m) => Some(m.cmd_id),
            ServerMessage::AlarmData(m) => Some(m.cmd_id),
            ServerMessage::EntityCount(m) => Some(m.cmd_id),
            ServerMessage::AlarmCount(m) => Some(m.cmd_id),
            ServerMessage::AlarmStatus(m) => Some(m.cmd_id),
            ServerMessage::Notifications(m) => Some(m.cmd_id),
            ServerMessage::NotificationsCount(m) => Some(m.cmd_id),
            ServerMessage::Unknown(m) => m.cmd_id(),
        }
    }

    /// The error this message reports, if any: `(errorCode, errorMsg)`.
    #[must_use]
    pub fn error(&self) -> Option<(i32, &str)> {
        let (code, msg) = match self {
            ServerMessage::Telemetry(m) => (m.error_code, m.error_msg.as_deref()),
            ServerMessage::TooManyUpdates(m) => (m.error_code, m.error_msg.as_deref()),
            ServerMessage::EntityData(m) => (m.error_code, m.error_msg.as_deref()),
            ServerMessage::AlarmData(m) => (m.error_code, m.error_msg.as_deref()),
            ServerMessage::EntityCount(m) => (m.error_code, m.error_msg.as_deref()),
            ServerMessage::AlarmCount(m) => (m.error_code, m.error_msg.as_deref()),
            ServerMessage::AlarmStatus(m) => (m.error_code, m.error_msg.as_deref()),
            ServerMessage::Notifications(m) => (m.error_code, m.error_msg.as_deref()),
            ServerMessage::NotificationsCount(m) => (m.error_code, m.error_msg.as_deref()),
            ServerMessage::Unknown(_) => return None,
        };
        (code != 0).then(|| (code, msg.unwrap_or_default()))
    }

    /// What an error message refers to, or `None` when the message is not an error.
    ///
    /// The v1 error shape reuses `subscriptionId` for things that are not a subscription:
    /// an unparseable frame is always reported as subscription 1, and the subscription rate
    /// limit names the server's *internal* id.
    #[must_use]
    pub fn error_scope(&self) -> Option<ErrorScope> {
        let (code, msg) = self.error()?;
        if let ServerMessage::Telemetry(m) = self {
            if code == super::update::BAD_REQUEST && msg == "Failed to parse the payload" {
                return Some(ErrorScope::WholeFrame);
            }
            if msg.starts_with("Exceeded rate limit for WS subscriptions") {
                return Some(ErrorScope::SubscriptionRateLimit);
            }
            return Some(ErrorScope::Subscription(m.subscription_id));
        }
        self.cmd_id().map(ErrorScope::Subscription)
    }

    /// A short name of the shape, for logs and errors.
    #[must_use]
    pub fn shape(&self) -> &'static str {
        match self {
            ServerMessage::Telemetry(_) => SHAPE_V1,
            ServerMessage::TooManyUpdates(_) => "too-many-updates",
            ServerMessage::EntityData(_) => "ENTITY_DATA update",
            ServerMessage::AlarmData(_) => "ALARM_DATA update",
            ServerMessage::EntityCount(_) => "COUNT_DATA update",
            ServerMessage::AlarmCount(_) => "ALARM_COUNT_DATA update",
            ServerMessage::AlarmStatus(_) => "ALARM_STATUS update",
            ServerMessage::Notifications(_) => "NOTIFICATIONS update",
            ServerMessage::NotificationsCount(_) => "NOTIFICATIONS_COUNT update",
            ServerMessage::Unknown(_) => "unknown CmdUpdate",
        }
    }
}

const SHAPE_V1: &str = "v1 subscription update";

/// Classifies a decoded v1-shape message: the rate-limit message is the one with code 34
/// and neither `data` nor `latestValues`.
fn classify_v1(m: TelemetrySubscriptionUpdate) -> ServerMessage {
    if m.error_code == TOO_MANY_UPDATES && m.data.is_none() && m.latest_values.is_none() {
        ServerMessage::TooManyUpdates(TooManyUpdates {
            subscription_id: m.subscription_id,
            error_code: m.error_code,
            error_msg: m.error_msg,
        })
    } else {
        ServerMessage::Telemetry(m)
    }
}

enum Hint {
    /// A literal `"cmdUpdateType":"NAME"` was found (the last one in the text).
    Type(CmdUpdateType),
    /// No literal `"cmdUpdateType"` key and no `\u` escape that could spell one.
    NoUpdateType,
    /// Something the byte search cannot decide; take the slow path.
    Undecided,
}

fn update_type_hint(text: &str) -> Hint {
    const KEY: &[u8] = b"\"cmdUpdateType\"";
    let bytes = text.as_bytes();
    // Jackson writes `cmdUpdateType` last: look at the tail first, then everywhere.
    let tail_start = bytes.len().saturating_sub(64);
    let found = rfind_quoted(&bytes[tail_start..], KEY)
        .map(|at| at + tail_start)
        .or_else(|| memchr::memmem::rfind(bytes, KEY));
    let Some(at) = found else {
        // A key can only spell `cmdUpdateType` in escaped form through `\u` escapes.
        return if memchr::memmem::find(bytes, b"\\u").is_some() {
            Hint::Undecided
        } else {
            Hint::NoUpdateType
        };
    };
    let rest = &bytes[at + KEY.len()..];
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < rest.len() && matches!(rest[*i], b' ' | b'\t' | b'\n' | b'\r') {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if rest.get(i) != Some(&b':') {
        return Hint::Undecided;
    }
    i += 1;
    skip_ws(&mut i);
    if rest.get(i) != Some(&b'"') {
        return Hint::Undecided;
    }
    i += 1;
    let start = i;
    while i < rest.len() && rest[i] != b'"' {
        if rest[i] == b'\\' {
            return Hint::Undecided;
        }
        i += 1;
    }
    match std::str::from_utf8(&rest[start..i.min(rest.len())]) {
        Ok(name) if i < rest.len() => Hint::Type(CmdUpdateType::from_wire(name)),
        _ => Hint::Undecided,
    }
}

/// The last occurrence of `needle`, which starts with `"`, in a short `haystack`: a backward
/// walk over its quotes. For the 64-byte tail this costs a few dozen instructions where
/// `memmem::rfind` spends hundreds building its searcher on every call.
fn rfind_quoted(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let mut end = haystack.len();
    while let Some(at) = memchr::memrchr(b'"', &haystack[..end]) {
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        end = at;
    }
    None
}

fn fast_decode(text: &str) -> Option<ServerMessage> {
    // serde's derived structs also accept JSON arrays; every message is an object.
    if text.trim_start().as_bytes().first() != Some(&b'{') {
        return None;
    }
    match update_type_hint(text) {
        Hint::Type(kind) => decode_typed_fast(&kind, text),
        Hint::NoUpdateType => serde_json::from_str::<TelemetrySubscriptionUpdate>(text)
            .ok()
            .map(classify_v1),
        Hint::Undecided => None,
    }
}

fn decode_typed_fast(kind: &CmdUpdateType, text: &str) -> Option<ServerMessage> {
    fn de<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
        serde_json::from_str(text).ok()
    }
    match kind {
        CmdUpdateType::EntityData => de(text).map(ServerMessage::EntityData),
        CmdUpdateType::AlarmData => de(text).map(ServerMessage::AlarmData),
        CmdUpdateType::CountData => de(text).map(ServerMessage::EntityCount),
        CmdUpdateType::AlarmCountData => de(text).map(ServerMessage::AlarmCount),
        CmdUpdateType::AlarmStatus => de(text).map(ServerMessage::AlarmStatus),
        CmdUpdateType::Notifications => de(text).map(ServerMessage::Notifications),
        CmdUpdateType::NotificationsCount => de(text).map(ServerMessage::NotificationsCount),
        CmdUpdateType::Unknown(_) => None,
    }
}

fn slow_decode(text: &str) -> Result<ServerMessage, ProtocolError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(ProtocolError::Syntax)?;
    from_value(value)
}

fn typed<T: serde::de::DeserializeOwned>(
    shape: &'static str,
    value: &serde_json::Value,
) -> Result<T, ProtocolError> {
    serde_path_to_error::deserialize(value).map_err(|e| ProtocolError::invalid(shape, e))
}

/// Dispatches a parsed message by the rules of §3 of the reference.
fn from_value(value: serde_json::Value) -> Result<ServerMessage, ProtocolError> {
    let serde_json::Value::Object(map) = value else {
        return Err(ProtocolError::NotAnObject {
            found: json_kind(&value),
        });
    };
    let kind = match map.get("cmdUpdateType") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(name)) => Some(CmdUpdateType::from_wire(name)),
        Some(other) => {
            return Err(ProtocolError::Invalid {
                shape: "CmdUpdate",
                path: "cmdUpdateType".to_owned(),
                message: format!("expected a string, got {}", json_kind(other)),
            });
        }
    };
    let value = serde_json::Value::Object(map);
    let Some(kind) = kind else {
        if value.get("subscriptionId").is_some() {
            return typed(SHAPE_V1, &value).map(classify_v1);
        }
        return Err(ProtocolError::UnknownShape);
    };
    Ok(match kind {
        CmdUpdateType::EntityData => {
            ServerMessage::EntityData(typed("ENTITY_DATA update", &value)?)
        }
        CmdUpdateType::AlarmData => ServerMessage::AlarmData(typed("ALARM_DATA update", &value)?),
        CmdUpdateType::CountData => ServerMessage::EntityCount(typed("COUNT_DATA update", &value)?),
        CmdUpdateType::AlarmCountData => {
            ServerMessage::AlarmCount(typed("ALARM_COUNT_DATA update", &value)?)
        }
        CmdUpdateType::AlarmStatus => {
            ServerMessage::AlarmStatus(typed("ALARM_STATUS update", &value)?)
        }
        CmdUpdateType::Notifications => {
            ServerMessage::Notifications(typed("NOTIFICATIONS update", &value)?)
        }
        CmdUpdateType::NotificationsCount => {
            ServerMessage::NotificationsCount(typed("NOTIFICATIONS_COUNT update", &value)?)
        }
        CmdUpdateType::Unknown(_) => {
            let serde_json::Value::Object(raw) = value else {
                return Err(ProtocolError::UnknownShape);
            };
            ServerMessage::Unknown(UnknownUpdate { raw })
        }
    })
}

impl<'de> Deserialize<'de> for ServerMessage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        from_value(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::rfind_quoted;

    #[test]
    fn rfind_quoted_finds_the_last_occurrence_and_nothing_in_a_text_without_it() {
        let key = b"\"k\"";
        assert_eq!(rfind_quoted(br#"{"k":1,"k":2}"#, key), Some(7));
        assert_eq!(rfind_quoted(br#"{"kk":1,"x":"k2"}"#, key), None);
        // A byte search like `memmem::rfind`: the caller checks what follows.
        assert_eq!(rfind_quoted(br#"{"x":"k"}"#, key), Some(5));
        assert_eq!(rfind_quoted(b"", key), None);
        assert_eq!(rfind_quoted(b"\"", key), None);
    }
}
