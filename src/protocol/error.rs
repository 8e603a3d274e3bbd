//! Errors of decoding protocol messages.

/// Why a message could not be decoded. The text names the message shape and the field.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The text is not JSON (truncated, garbage, nesting too deep).
    #[error("not valid JSON: {0}")]
    Syntax(#[source] serde_json::Error),
    /// The JSON is not an object.
    #[error("expected a JSON object, got {found}")]
    NotAnObject {
        /// What was found instead (`array`, `string`, …).
        found: &'static str,
    },
    /// An object with neither `cmdUpdateType` nor `subscriptionId`.
    #[error("unrecognised message: it has neither `cmdUpdateType` nor `subscriptionId`")]
    UnknownShape,
    /// A field of a recognised shape has the wrong type or value.
    #[error("invalid {shape} message at `{path}`: {message}")]
    Invalid {
        /// The shape being decoded, e.g. `ENTITY_DATA update`.
        shape: &'static str,
        /// Path of the failing field, e.g. `update[0].latest.TIME_SERIES.temperature.ts`.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// A JWT that cannot be read.
    #[error("invalid JWT: {0}")]
    Jwt(String),
}

impl ProtocolError {
    pub(crate) fn invalid(
        shape: &'static str,
        err: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        let path = err.path().to_string();
        ProtocolError::Invalid {
            shape,
            path,
            message: err.into_inner().to_string(),
        }
    }
}

pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Decodes `T` from text, naming `shape` and the failing field on error.
///
/// # Errors
/// [`ProtocolError::Syntax`] for text that is not JSON, [`ProtocolError::Invalid`] otherwise.
pub fn decode_named<T: serde::de::DeserializeOwned>(
    shape: &'static str,
    text: &str,
) -> Result<T, ProtocolError> {
    // Fast path first; the slower, path-tracking decode only runs to explain a failure.
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(e) if e.is_syntax() || e.is_eof() => Err(ProtocolError::Syntax(e)),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(text);
            match serde_path_to_error::deserialize(&mut de) {
                Ok(v) => Ok(v),
                Err(e) => Err(ProtocolError::invalid(shape, e)),
            }
        }
    }
}
