//! Validation of the builder's input: [`Problem`]s with a place and a plain message, the
//! server limits they check against, and parsers for the text buffers (numbers typed half
//! way never panic, they become a problem).

use crate::protocol::{ClientMessage, EntityDataCmd, EntityDataQuery, MAX_FRAME_BYTES, WsCmd};
use crate::ui::thousands;

/// Largest page of one `ENTITY_DATA` subscription: the server's
/// `server.ws.max_entities_per_data_subscription` (§9 of the reference).
pub const MAX_PAGE_SIZE: i32 = 10_000;

/// Something the builder cannot turn into a query, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: a dotted path through the form, e.g. `key_filters[0].predicate.value`,
    /// `entity_filter.root`, `paging.page_size` or `frame`.
    pub path: String,
    /// What is wrong and what to do, in plain words (no trailing period).
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    #[must_use]
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Collects problems while a form is built.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub(crate) list: Vec<Problem>,
}

impl Problems {
    /// Records a problem.
    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        self.list.push(Problem::new(path, message));
    }

    /// Parses a number typed as text. Empty, garbage and non-finite input are problems.
    pub(crate) fn number(&mut self, path: &str, text: &str) -> Option<f64> {
        let text = text.trim();
        if text.is_empty() {
            self.push(path, "Enter a number, e.g. 20 or 1.5");
            return None;
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            Ok(_) => {
                self.push(path, format!("{text} is not a finite number"));
                None
            }
            Err(_) => {
                self.push(
                    path,
                    format!("\"{text}\" is not a number; use digits and a point, e.g. 20 or 1.5"),
                );
                None
            }
        }
    }

    /// Parses a whole number in `min..=max` typed as text.
    pub(crate) fn whole(&mut self, path: &str, text: &str, min: i32, max: i32) -> Option<i32> {
        let text = text.trim();
        // Only written for a problem: this runs every frame.
        let range = || {
            format!(
                "between {} and {}",
                thousands(min.into()),
                thousands(max.into())
            )
        };
        if text.is_empty() {
            self.push(path, format!("Enter a whole number {}", range()));
            return None;
        }
        let Ok(value) = text.parse::<i64>() else {
            self.push(
                path,
                format!("\"{text}\" is not a whole number; enter one {}", range()),
            );
            return None;
        };
        match i32::try_from(value) {
            Ok(v) if (min..=max).contains(&v) => Some(v),
            _ => {
                self.push(
                    path,
                    format!("{text} is out of range; enter a number {}", range()),
                );
                None
            }
        }
    }

    /// Parses `true` or `false` typed as text.
    pub(crate) fn boolean(&mut self, path: &str, text: &str) -> Option<bool> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.push(path, format!("\"{other}\" is not true or false"));
                None
            }
        }
    }

    /// Requires a non-blank text.
    pub(crate) fn required(&mut self, path: &str, text: &str, message: &str) {
        if text.trim().is_empty() {
            self.push(path, message);
        }
    }
}

/// `Some(text)` unless blank.
pub(crate) fn non_blank(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_owned())
}

/// The problem of a query that cannot be written as JSON (not expected; still a problem,
/// never a panic).
pub(crate) fn json_problem(e: &serde_json::Error) -> Problem {
    Problem::new("frame", format!("The query cannot be written as JSON: {e}"))
}

/// The `{"cmds":[{"type":"ENTITY_DATA",…}]}` frame of `query`: the query plus a `latestCmd`
/// on its latest-value keys, so the command subscribes to live values.
pub(crate) fn ws_frame(cmd_id: i32, query: &EntityDataQuery) -> ClientMessage {
    let latest = query.latest_values.clone().unwrap_or_default();
    let mut cmd = EntityDataCmd::query(cmd_id, query.clone());
    if !latest.is_empty() {
        cmd = cmd.with_latest(latest);
    }
    ClientMessage::new(vec![WsCmd::EntityData(cmd)])
}

/// Checks that the query's command fits in one WebSocket text frame the server accepts.
pub(crate) fn check_frame(query: &EntityDataQuery, problems: &mut Problems) {
    // The longest cmdId the app may use, so the check holds for any subscription.
    match ws_frame(i32::MAX, query).to_json() {
        Ok(text) if text.len() > MAX_FRAME_BYTES => problems.push(
            "frame",
            format!(
                "The query is {} bytes as a WebSocket command, over the server's limit of {} \
                 bytes (32 KiB); remove columns, key filters or listed entities",
                thousands(i64::try_from(text.len()).unwrap_or(i64::MAX)),
                thousands(i64::try_from(MAX_FRAME_BYTES).unwrap_or(i64::MAX)),
            ),
        ),
        Ok(_) => {}
        Err(e) => problems.list.push(json_problem(&e)),
    }
}
