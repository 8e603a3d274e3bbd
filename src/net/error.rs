//! Network errors, typed so the UI can say what happened and what to do.

use crate::protocol::ThingsboardErrorCode;

/// A failed network operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The server answered with ThingsBoard's error body (its message is shown as is).
    #[error("{message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// ThingsBoard's error code.
        code: ThingsboardErrorCode,
        /// The server's message.
        message: String,
    },
    /// The server could not be reached (DNS, refused, timed out, reset).
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// TLS setup or verification failed.
    #[error("secure connection failed: {0}")]
    Tls(String),
    /// The session cannot be renewed: the password is needed again.
    #[error("the session has expired: log in again")]
    SessionExpired,
    /// No login yet.
    #[error("not logged in")]
    NotLoggedIn,
    /// The login needs a second factor (see the 2FA calls).
    #[error("the login needs a second factor")]
    SecondFactorRequired,
    /// The user must set up two-factor authentication in the web UI first.
    #[error("two-factor authentication must be set up in ThingsBoard's web UI first")]
    MfaConfigurationRequired,
    /// The server's answer was not what ThingsBoard sends.
    #[error("unexpected answer from the server: {0}")]
    BadResponse(String),
    /// The server URL is unusable.
    #[error("invalid server URL: {0}")]
    BadUrl(String),
}

impl NetError {
    /// Whether this is ThingsBoard's "JWT expired" (401, code 11): refresh and retry.
    #[must_use]
    pub fn is_token_expired(&self) -> bool {
        matches!(
            self,
            NetError::Server {
                status: 401,
                code: ThingsboardErrorCode::JwtTokenExpired,
                ..
            }
        )
    }

    /// Whether the credentials themselves were refused (401, not an expiry).
    #[must_use]
    pub fn is_bad_credentials(&self) -> bool {
        matches!(self, NetError::Server { status: 401, .. }) && !self.is_token_expired()
    }

    /// Whether trying again later may succeed (network trouble, server overload).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            NetError::Unreachable(_) => true,
            NetError::Server { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}
