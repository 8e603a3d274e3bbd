//! REST authentication (§11): login, 2FA, token refresh, the current user and JWT claims.
//!
//! Secrets (passwords, tokens) never appear in `Debug` output.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::enums::{Authority, TwoFaProviderType};
use super::error::ProtocolError;
use super::ids::EntityId;

/// `POST /api/auth/login` body. Exactly these two fields: extras make the server refuse it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The user's e-mail.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The token pair of a login, refresh or 2FA check (`JwtPair`, nulls omitted).
///
/// With 2FA, login returns only `token` with `scope` `PRE_VERIFICATION_TOKEN` (or
/// `MFA_CONFIGURATION_TOKEN` when 2FA is enforced but not yet configured).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// Access token, or the pre-verification token.
    pub token: String,
    /// Refresh token (absent for a pre-verification login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Set when the login is not complete yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Authority>,
}

impl LoginResponse {
    /// Whether a second factor must be checked before the session is usable.
    #[must_use]
    pub fn needs_second_factor(&self) -> bool {
        matches!(self.scope, Some(Authority::PreVerificationToken))
    }

    /// Whether the user must configure 2FA (not possible from tb-monitor).
    #[must_use]
    pub fn needs_mfa_configuration(&self) -> bool {
        matches!(self.scope, Some(Authority::MfaConfigurationToken))
    }
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope)
            .finish()
    }
}

/// `POST /api/auth/token` body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshTokenRequest {
    /// The refresh token.
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshTokenRequest { refresh_token: <redacted> }")
    }
}

/// One entry of `GET /api/auth/2fa/providers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TwoFaProviderInfo {
    /// The provider.
    #[serde(rename = "type")]
    pub provider_type: TwoFaProviderType,
    /// The user's default provider.
    #[serde(default)]
    pub default: bool,
    /// Masked e-mail or phone the code goes to.
    #[serde(default)]
    pub contact: Option<String>,
    /// Seconds to wait before another code may be sent.
    #[serde(default)]
    pub min_verification_code_send_period: Option<i64>,
}

/// The current user (`GET /api/auth/user`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user's id.
    pub id: EntityId,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_time: i64,
    /// The tenant.
    #[serde(default)]
    pub tenant_id: Option<EntityId>,
    /// The customer (`NULL_UUID` for tenant admins).
    #[serde(default)]
    pub customer_id: Option<EntityId>,
    /// E-mail, also the login name.
    #[serde(default)]
    pub email: String,
    /// Authority.
    pub authority: Authority,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Optimistic-locking version.
    #[serde(default)]
    pub version: Option<i64>,
    /// Display name (the e-mail).
    #[serde(default)]
    pub name: Option<String>,
    /// Free JSON.
    #[serde(default)]
    pub additional_info: Option<serde_json::Value>,
}

impl User {
    /// "First Last", or the e-mail when no name is set.
    #[must_use]
    pub fn display_name(&self) -> String {
        let full = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if full.is_empty() {
            self.email.clone()
        } else {
            full
        }
    }
}

/// Claims of an access or refresh JWT, read without checking the signature (the client
/// cannot; the server does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtClaims {
    /// The user's e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// Authorities; `REFRESH_TOKEN` for refresh tokens.
    #[serde(default)]
    pub scopes: Vec<Authority>,
    /// The login session; logout invalidates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Uuid>,
    /// Expiry (epoch seconds).
    pub exp: i64,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Issued at (epoch seconds).
    pub iat: i64,
    /// First name (access tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name (access tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Account enabled (access tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Public (anonymous dashboard) user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_public: Option<bool>,
    /// Tenant (`NULL_UUID` for sys admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
    /// Customer (`NULL_UUID` for tenant admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    /// Token id (refresh tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl JwtClaims {
    /// Reads the claims of `token` (the middle, base64url part).
    ///
    /// # Errors
    /// [`ProtocolError::Jwt`] for anything that is not a three-part JWT with a JSON
    /// payload carrying `exp` and `iat`; a claim of the wrong type is named
    /// (``payload field `exp`: invalid type: …``). The token itself is never part of the
    /// message, and a value it quotes is cut to a bounded length.
    pub fn decode(token: &str) -> Result<Self, ProtocolError> {
        let mut parts = token.trim().split('.');
        let (Some(_header), Some(payload), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ProtocolError::Jwt(
                "expected three dot-separated parts".to_owned(),
            ));
        };
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        let bytes = engine
            .decode(payload)
            .map_err(|e| ProtocolError::Jwt(format!("payload is not base64url: {e}")))?;
        let jwt = |text: String| ProtocolError::Jwt(ProtocolError::bounded(&text));
        // Fast path first; the path-tracking decode only runs to name the failing field.
        match serde_json::from_slice(&bytes) {
            Ok(claims) => Ok(claims),
            Err(e) if e.is_syntax() || e.is_eof() => Err(jwt(format!("payload: {e}"))),
            Err(_) => {
                let mut de = serde_json::Deserializer::from_slice(&bytes);
                serde_path_to_error::deserialize(&mut de).map_err(|e| {
                    let path = e.path().to_string();
                    match path.as_str() {
                        // A missing claim fails on the payload itself and names the claim.
                        "." => jwt(format!("payload: {}", e.into_inner())),
                        _ => jwt(format!("payload field `{path}`: {}", e.into_inner())),
                    }
                })
            }
        }
    }

    /// Lifetime the server granted, in seconds (`exp - iat`), independent of our clock.
    #[must_use]
    pub fn lifetime_secs(&self) -> i64 {
        self.exp.saturating_sub(self.iat)
    }

    /// Whether this is a refresh token.
    #[must_use]
    pub fn is_refresh_token(&self) -> bool {
        self.scopes.contains(&Authority::RefreshToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JWT whose payload is `payload` (the client never checks the signature).
    fn jwt(payload: &str) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("eyJhbGciOiJIUzUxMiJ9.{}.c2ln", engine.encode(payload))
    }

    fn error_of(payload: &str) -> String {
        JwtClaims::decode(&jwt(payload)).unwrap_err().to_string()
    }

    #[test]
    fn a_claim_of_the_wrong_type_is_named_by_its_field() {
        let message = error_of(r#"{"iat":1,"exp":18446744073709551616}"#);
        assert!(
            message.starts_with("invalid JWT: payload field `exp`: invalid type: floating point"),
            "{message}"
        );
        assert!(message.contains("expected i64"), "{message}");
        let message = error_of(r#"{"exp":2,"iat":1,"scopes":["TENANT_ADMIN",7]}"#);
        assert!(
            message.starts_with("invalid JWT: payload field `scopes[1]`: invalid type"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_claim_or_a_payload_that_is_not_json_names_the_payload() {
        let message = error_of(r#"{"exp":2}"#);
        assert!(
            message.starts_with("invalid JWT: payload: missing field `iat`"),
            "{message}"
        );
        let message = error_of(r#"{"exp":2,"#);
        assert!(message.starts_with("invalid JWT: payload: "), "{message}");
        assert!(message.contains("EOF"), "{message}");
    }

    #[test]
    fn a_ten_megabyte_claim_of_the_wrong_type_gives_an_error_under_a_kilobyte() {
        let big = "x".repeat(10 << 20);
        let message = error_of(&format!(r#"{{"iat":1,"exp":"{big}"}}"#));
        assert!(message.len() < 1024, "{} bytes", message.len());
        assert!(
            message.starts_with("invalid JWT: payload field `exp`: invalid type: string \"xxx"),
            "{message}"
        );
        assert!(message.contains("xxx\", expected i64"), "{message}");
    }

    #[test]
    fn good_claims_decode() {
        let claims = JwtClaims::decode(&jwt(r#"{"exp":20,"iat":5,"sub":"a@b"}"#)).unwrap();
        assert_eq!(claims.lifetime_secs(), 15);
        assert_eq!(claims.sub.as_deref(), Some("a@b"));
    }
}
