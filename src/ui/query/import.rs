//! Import: what a pasted or opened JSON text holds. Three shapes are accepted: an
//! `EntityDataQuery` (or an `EntityCountQuery`), an entity filter alone, or a whole
//! `{"cmds":[…]}` frame (its first `ENTITY_DATA` command, else the filter part of its first
//! `ENTITY_COUNT` command; the legacy `entityDataCmds` wrapper too).

use serde_json::Value;

use crate::protocol::{EntityCountQuery, EntityDataQuery, EntityFilter};

/// Why a JSON text could not be imported. The texts are for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The text is not JSON.
    #[error("The text is not JSON: {0}")]
    NotJson(String),
    /// The JSON is not an object.
    #[error("Expected a JSON object, found {0}")]
    NotAnObject(&'static str),
    /// An object of none of the accepted shapes.
    #[error(
        "Expected an entity data query (with entityFilter), an entity filter (with type) or a \
         WebSocket frame (with cmds)"
    )]
    UnknownShape,
    /// A frame without a usable `ENTITY_DATA` command.
    #[error("The WebSocket frame has no ENTITY_DATA command with a query{0}")]
    NoEntityDataCommand(String),
    /// A shape was recognised but a field is wrong.
    #[error("The {what} is not valid{}: {message}", at(.path))]
    Invalid {
        /// What was being read, e.g. `entity filter`.
        what: &'static str,
        /// The failing field, e.g. `entityFilter.rootEntity.id` (empty or `.` when unknown:
        /// serde cannot follow a path into the `"type"`-tagged filters).
        path: String,
        /// What was wrong.
        message: String,
    },
}

/// `" at <path>"`, or nothing when the place is not known.
fn at(path: &str) -> String {
    if path.is_empty() || path == "." {
        String::new()
    } else {
        format!(" at {path}")
    }
}

/// What an imported text holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Imported {
    /// A whole query.
    Query(EntityDataQuery),
    /// A count query: filter and key filters, no columns or paging.
    Count(EntityCountQuery),
    /// An entity filter alone.
    Filter(EntityFilter),
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decodes `T`, naming the failing field (prefixed by `prefix`) on error.
fn decode<T: serde::de::DeserializeOwned>(
    what: &'static str,
    prefix: &str,
    value: Value,
) -> Result<T, ImportError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (prefix.is_empty(), inner.as_str()) {
            (true, _) => inner.clone(),
            (false, ".") => prefix.to_owned(),
            (false, _) => format!("{prefix}.{inner}"),
        };
        ImportError::Invalid {
            what,
            path,
            message: e.into_inner().to_string(),
        }
    })
}

/// Reads `text` as one of the accepted shapes.
pub(crate) fn import(text: &str) -> Result<Imported, ImportError> {
    let value: Value =
        serde_json::from_str(text.trim()).map_err(|e| ImportError::NotJson(e.to_string()))?;
    let Value::Object(map) = &value else {
        return Err(ImportError::NotAnObject(kind(&value)));
    };
    if let Some(cmds) = map.get("cmds") {
        return from_frame(cmds, "cmds", "type");
    }
    if let Some(cmds) = map.get("entityDataCmds") {
        return from_frame(cmds, "entityDataCmds", "");
    }
    if map.contains_key("entityFilter") {
        return if map.contains_key("pageLink") {
            decode("entity data query", "", value).map(Imported::Query)
        } else {
            decode("entity count query", "", value).map(Imported::Count)
        };
    }
    if map.get("type").is_some_and(Value::is_string) {
        return decode("entity filter", "", value).map(Imported::Filter);
    }
    Err(ImportError::UnknownShape)
}

/// The query of the first `ENTITY_DATA` command of a command list (`type_key` empty: every
/// element is one, as in the legacy wrapper).
fn from_frame(cmds: &Value, name: &str, type_key: &str) -> Result<Imported, ImportError> {
    let Value::Array(cmds) = cmds else {
        return Err(ImportError::Invalid {
            what: "WebSocket frame",
            path: name.to_owned(),
            message: format!("expected a list of commands, found {}", kind(cmds)),
        });
    };
    let of_type = |c: &Value, t: &str| c.get(type_key).and_then(Value::as_str) == Some(t);
    let entity_data = cmds
        .iter()
        .enumerate()
        .find(|(_, c)| type_key.is_empty() || of_type(c, "ENTITY_DATA"));
    let count = cmds.iter().enumerate().find(|(_, c)| {
        !type_key.is_empty()
            && of_type(c, "ENTITY_COUNT")
            && c.get("query").is_some_and(Value::is_object)
    });
    if entity_data.is_none()
        && let Some((index, cmd)) = count
    {
        let query = cmd.get("query").cloned().unwrap_or_default();
        return decode(
            "entity count query",
            &format!("{name}[{index}].query"),
            query,
        )
        .map(Imported::Count);
    }
    let Some((index, cmd)) = entity_data else {
        let found: Vec<&str> = cmds
            .iter()
            .filter_map(|c| c.get(type_key).and_then(Value::as_str))
            .collect();
        let found = if found.is_empty() {
            String::new()
        } else {
            format!(" (it has {})", found.join(", "))
        };
        return Err(ImportError::NoEntityDataCommand(found));
    };
    let Some(query) = cmd.get("query").filter(|q| !q.is_null()) else {
        return Err(ImportError::NoEntityDataCommand(
            "; its ENTITY_DATA command only changes sub-commands".to_owned(),
        ));
    };
    decode(
        "entity data query",
        &format!("{name}[{index}].query"),
        query.clone(),
    )
    .map(Imported::Query)
}
