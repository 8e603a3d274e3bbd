//! ThingsBoard's strict command parsing (§0, §2.1, §8).
//!
//! The server parses commands with `FAIL_ON_UNKNOWN_PROPERTIES`: an unknown field anywhere
//! in a command (outside `query`, whose classes ignore unknown properties) makes the whole
//! frame unparseable. The protocol types are tolerant, so this module adds the check by
//! comparing the frame with what the decoded command encodes back to.

use serde_json::Value;

use super::ws::SessionKind;
use crate::protocol::{ClientMessage, LegacyNotificationsMessage, LegacyTelemetryMessage, WsCmd};

/// Why a frame is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure(pub String);

/// Parses a frame of a session of `kind` into the commands it carries, in the order the
/// server runs them.
///
/// # Errors
/// When the frame is not JSON, has the wrong shape, or has an unknown field.
pub fn parse_client_message(kind: SessionKind, text: &str) -> Result<ClientMessage, ParseFailure> {
    let raw: Value = serde_json::from_str(text).map_err(|e| ParseFailure(e.to_string()))?;
    match kind {
        SessionKind::General | SessionKind::Unknown => {
            let msg: ClientMessage =
                serde_json::from_value(raw.clone()).map_err(|e| ParseFailure(e.to_string()))?;
            let encoded = serde_json::to_value(&msg).map_err(|e| ParseFailure(e.to_string()))?;
            check_known(&raw, &encoded, "")?;
            Ok(msg)
        }
        SessionKind::LegacyTelemetry => {
            if raw.get("authCmd").is_some() || raw.get("cmds").is_some() {
                return Err(ParseFailure(
                    "unknown field on the legacy endpoint".to_owned(),
                ));
            }
            let m: LegacyTelemetryMessage =
                serde_json::from_value(raw.clone()).map_err(|e| ParseFailure(e.to_string()))?;
            let encoded = serde_json::to_value(&m).map_err(|e| ParseFailure(e.to_string()))?;
            check_known(&raw, &encoded, "")?;
            let mut cmds = Vec::new();
            cmds.extend(m.attr_sub_cmds.into_iter().map(WsCmd::Attributes));
            cmds.extend(m.ts_sub_cmds.into_iter().map(WsCmd::Timeseries));
            cmds.extend(m.history_cmds.into_iter().map(WsCmd::TimeseriesHistory));
            cmds.extend(m.entity_data_cmds.into_iter().map(WsCmd::EntityData));
            cmds.extend(
                m.entity_data_unsubscribe_cmds
                    .into_iter()
                    .map(WsCmd::EntityDataUnsubscribe),
            );
            cmds.extend(m.alarm_data_cmds.into_iter().map(WsCmd::AlarmData));
            cmds.extend(
                m.alarm_data_unsubscribe_cmds
                    .into_iter()
                    .map(WsCmd::AlarmDataUnsubscribe),
            );
            cmds.extend(m.entity_count_cmds.into_iter().map(WsCmd::EntityCount));
            cmds.extend(
                m.entity_count_unsubscribe_cmds
                    .into_iter()
                    .map(WsCmd::EntityCountUnsubscribe),
            );
            cmds.extend(m.alarm_count_cmds.into_iter().map(WsCmd::AlarmCount));
            cmds.extend(
                m.alarm_count_unsubscribe_cmds
                    .into_iter()
                    .map(WsCmd::AlarmCountUnsubscribe),
            );
            Ok(ClientMessage::new(cmds))
        }
        SessionKind::LegacyNotifications => {
            let m: LegacyNotificationsMessage =
                serde_json::from_value(raw.clone()).map_err(|e| ParseFailure(e.to_string()))?;
            let encoded = serde_json::to_value(&m).map_err(|e| ParseFailure(e.to_string()))?;
            check_known(&raw, &encoded, "")?;
            let mut cmds = Vec::new();
            cmds.extend(m.unread_count_sub_cmd.map(WsCmd::NotificationsCount));
            cmds.extend(m.unread_sub_cmd.map(WsCmd::Notifications));
            cmds.extend(m.mark_as_read_cmd.map(WsCmd::MarkNotificationsAsRead));
            cmds.extend(
                m.mark_all_as_read_cmd
                    .map(WsCmd::MarkAllNotificationsAsRead),
            );
            cmds.extend(m.unsub_cmd.map(WsCmd::NotificationsUnsubscribe));
            Ok(ClientMessage::new(cmds))
        }
    }
}

/// Whether a value the encoder leaves out means the same as absence.
fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Every member of `raw` must survive in `encoded`, except inside `query` objects (whose
/// classes ignore unknown properties) and a `type` inside `authCmd` or legacy list items.
fn check_known(raw: &Value, encoded: &Value, path: &str) -> Result<(), ParseFailure> {
    match (raw, encoded) {
        (Value::Object(r), Value::Object(e)) => {
            for (k, rv) in r {
                if k == "query" {
                    continue;
                }
                let child = format!("{path}.{k}");
                match e.get(k) {
                    Some(ev) => check_known(rv, ev, &child)?,
                    None if is_default(rv) => {}
                    None if k == "type" => {}
                    None => {
                        return Err(ParseFailure(format!(
                            "unknown field `{}`",
                            child.trim_start_matches('.')
                        )));
                    }
                }
            }
            Ok(())
        }
        (Value::Object(r), _) if !r.is_empty() => {
            Err(ParseFailure(format!("unexpected object at `{path}`")))
        }
        (Value::Array(r), Value::Array(e)) => {
            for (i, (rv, ev)) in r.iter().zip(e.iter()).enumerate() {
                check_known(rv, ev, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_field_in_a_command_refuses_the_whole_frame() {
        let ok = r#"{"cmds":[{"type":"ENTITY_COUNT","cmdId":1,"query":{"entityFilter":{"type":"entityType","entityType":"DEVICE"}}}]}"#;
        assert!(parse_client_message(SessionKind::General, ok).is_ok());
        let bad = r#"{"cmds":[{"type":"ENTITY_COUNT","cmdId":1,"bogus":true,"query":{"entityFilter":{"type":"entityType","entityType":"DEVICE"}}}]}"#;
        assert!(parse_client_message(SessionKind::General, bad).is_err());
        let unsub_extra =
            r#"{"cmds":[{"type":"ENTITY_DATA_UNSUBSCRIBE","cmdId":1,"query":null,"x":1}]}"#;
        assert!(parse_client_message(SessionKind::General, unsub_extra).is_err());
    }

    #[test]
    fn unknown_fields_inside_a_query_are_ignored_like_the_server_does() {
        let text = r#"{"cmds":[{"type":"ENTITY_COUNT","cmdId":1,"query":{"futureOption":1,"entityFilter":{"type":"entityType","entityType":"DEVICE","extra":"x"}}}]}"#;
        assert!(parse_client_message(SessionKind::General, text).is_ok());
    }

    #[test]
    fn an_auth_cmd_may_carry_a_type_and_defaults_may_be_spelled_out() {
        let text = r#"{"authCmd":{"cmdId":0,"token":"t","type":"AUTH"},"cmds":[{"type":"ATTRIBUTES","cmdId":2,"entityType":"DEVICE","entityId":"x","unsubscribe":false}]}"#;
        assert!(parse_client_message(SessionKind::General, text).is_ok());
    }

    #[test]
    fn legacy_frames_run_in_the_servers_fixed_list_order() {
        let text = r#"{"entityCountCmds":[{"cmdId":3,"query":{"entityFilter":{"type":"entityType","entityType":"DEVICE"}}}],"tsSubCmds":[{"cmdId":1,"entityType":"DEVICE","entityId":"x"}]}"#;
        let msg = parse_client_message(SessionKind::LegacyTelemetry, text).expect("parses");
        let order: Vec<&str> = msg.cmds.iter().map(WsCmd::type_name).collect();
        assert_eq!(order, ["TIMESERIES", "ENTITY_COUNT"]);
        let with_auth = r#"{"authCmd":{"cmdId":0,"token":"t"}}"#;
        assert!(parse_client_message(SessionKind::LegacyTelemetry, with_auth).is_err());
    }
}
