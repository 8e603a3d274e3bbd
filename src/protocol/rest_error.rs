//! The REST error body (`ThingsboardErrorResponse`, §11).

use serde::{Deserialize, Serialize};

/// ThingsBoard's numeric error codes; unknown codes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThingsboardErrorCode {
    /// 2: general error / 500.
    General,
    /// 10: authentication failed / 401.
    Authentication,
    /// 11: JWT expired (or badly signed) / 401: refresh the token.
    JwtTokenExpired,
    /// 15: credentials expired / 401 (comes with a reset token).
    CredentialsExpired,
    /// 20: permission denied / 403.
    PermissionDenied,
    /// 30: invalid arguments / 400.
    InvalidArguments,
    /// 31: bad request parameters / 400.
    BadRequestParams,
    /// 32: item not found / 404.
    ItemNotFound,
    /// 33: too many requests / 429.
    TooManyRequests,
    /// 34: too many updates.
    TooManyUpdates,
    /// 35: version conflict / 409.
    VersionConflict,
    /// 40: subscription violation / 403.
    SubscriptionViolation,
    /// 41: entities limit exceeded / 403.
    EntitiesLimitExceeded,
    /// 45: password policy violation.
    PasswordViolation,
    /// 46: database error.
    Database,
    /// A code this version does not know.
    Unknown(i64),
}

impl ThingsboardErrorCode {
    /// The number on the wire.
    #[must_use]
    pub fn code(self) -> i64 {
        match self {
            Self::General => 2,
            Self::Authentication => 10,
            Self::JwtTokenExpired => 11,
            Self::CredentialsExpired => 15,
            Self::PermissionDenied => 20,
            Self::InvalidArguments => 30,
            Self::BadRequestParams => 31,
            Self::ItemNotFound => 32,
            Self::TooManyRequests => 33,
            Self::TooManyUpdates => 34,
            Self::VersionConflict => 35,
            Self::SubscriptionViolation => 40,
            Self::EntitiesLimitExceeded => 41,
            Self::PasswordViolation => 45,
            Self::Database => 46,
            Self::Unknown(c) => c,
        }
    }

    /// The variant of a wire number.
    #[must_use]
    pub fn from_code(code: i64) -> Self {
        match code {
            2 => Self::General,
            10 => Self::Authentication,
            11 => Self::JwtTokenExpired,
            15 => Self::CredentialsExpired,
            20 => Self::PermissionDenied,
            30 => Self::InvalidArguments,
            31 => Self::BadRequestParams,
            32 => Self::ItemNotFound,
            33 => Self::TooManyRequests,
            34 => Self::TooManyUpdates,
            35 => Self::VersionConflict,
            40 => Self::SubscriptionViolation,
            41 => Self::EntitiesLimitExceeded,
            45 => Self::PasswordViolation,
            46 => Self::Database,
            other => Self::Unknown(other),
        }
    }
}

impl Serialize for ThingsboardErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.code())
    }
}

impl<'de> Deserialize<'de> for ThingsboardErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i64::deserialize(deserializer).map(Self::from_code)
    }
}

/// A REST error body: `{"status":401,"message":"…","errorCode":10,"timestamp":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestError {
    /// HTTP status.
    #[serde(default)]
    pub status: u16,
    /// The server's message, shown to the user (`null` for exceptions without one).
    #[serde(default)]
    pub message: Option<String>,
    /// ThingsBoard's code.
    pub error_code: ThingsboardErrorCode,
    /// Server time (epoch ms).
    #[serde(default)]
    pub timestamp: i64,
    /// Password-reset token of a "credentials expired" error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_token: Option<String>,
}

impl RestError {
    /// Reads an error body.
    ///
    /// # Errors
    /// When the body is not a ThingsBoard error (a proxy's HTML page, say).
    pub fn from_json(text: &str) -> Result<Self, super::ProtocolError> {
        super::error::decode_named("REST error", text)
    }

    /// The text shown when the server sent no message (or a blank one).
    pub const DEFAULT_MESSAGE: &str = "The server reported an error without a message";

    /// The message, or [`RestError::DEFAULT_MESSAGE`] when the server sent none or only
    /// white space (`"message":""`).
    #[must_use]
    pub fn message_or_default(&self) -> &str {
        self.message
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or(Self::DEFAULT_MESSAGE)
    }

    /// Whether the access token expired and a refresh may fix the call.
    #[must_use]
    pub fn is_token_expired(&self) -> bool {
        self.error_code == ThingsboardErrorCode::JwtTokenExpired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_of(body: &str) -> String {
        RestError::from_json(body)
            .unwrap()
            .message_or_default()
            .to_owned()
    }

    #[test]
    fn an_empty_or_blank_message_shows_the_default_text() {
        for body in [
            r#"{"status":500,"message":"","errorCode":2}"#,
            r#"{"status":500,"message":" \n\t","errorCode":2}"#,
            r#"{"status":500,"message":null,"errorCode":2}"#,
            r#"{"status":500,"errorCode":2}"#,
        ] {
            assert_eq!(message_of(body), RestError::DEFAULT_MESSAGE, "{body}");
        }
    }

    #[test]
    fn a_message_with_text_is_shown_as_the_server_sent_it() {
        let body = r#"{"status":401,"message":" Authentication failed ","errorCode":10}"#;
        assert_eq!(message_of(body), " Authentication failed ");
    }
}
