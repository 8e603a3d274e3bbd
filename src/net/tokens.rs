//! The token pair of a login and when to refresh it, safe against clock skew.
//!
//! A laptop's clock may be minutes off the server's, so `exp` is never compared with the
//! local clock directly. The lifetime the server granted (`exp - iat`) is added to the local
//! time the pair was received (ThingsBoard's web UI does the same). Times are wall-clock
//! milliseconds, not `Instant`s: a monotonic clock stops while a laptop sleeps, and a token
//! must count as expired after a night in a bag.
//!
//! The refresh is due at 80 % of the lifetime or 60 s before expiry, whichever comes first,
//! but never before half the lifetime (short-lived tokens in tests would otherwise refresh in
//! a loop). A token that is dead on arrival (a lifetime within [`VALIDITY_MARGIN_MS`], such as
//! `exp <= iat` from a misconfigured server) is not refreshed again before
//! [`DEAD_ON_ARRIVAL_REFRESH_MS`]: the next pair would be as dead, and the session ticks
//! every second.
//!
//! Tokens never reach logs or close reasons: [`redact_jwts`] masks JWT-like runs in text the
//! server sent (a 1007 close reason can echo the first frame, token included).

use crate::protocol::{JwtClaims, LoginResponse};

/// Margin under which an access token no longer counts as valid for a new request.
pub const VALIDITY_MARGIN_MS: i64 = 2_000;

/// Earliest background refresh of a pair whose access token was never valid (its lifetime is
/// at most [`VALIDITY_MARGIN_MS`]).
pub const DEAD_ON_ARRIVAL_REFRESH_MS: i64 = 30_000;

/// What [`redact_jwts`] puts in place of a token.
pub const REDACTED_TOKEN: &str = "<token>";

/// The current access and refresh tokens with their local expiry times.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    access: String,
    refresh: Option<String>,
    claims: JwtClaims,
    received_ms: i64,
    refresh_lifetime_ms: Option<i64>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access", &"<redacted>")
            .field("refresh", &self.refresh.as_ref().map(|_| "<redacted>"))
            .field("user", &self.claims.sub)
            .field("received_ms", &self.received_ms)
            .field("lifetime_ms", &self.lifetime_ms())
            .finish_non_exhaustive()
    }
}

/// Why a token pair cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The access token's claims are unreadable.
    #[error("the server's access token is not a readable JWT: {0}")]
    Unreadable(String),
    /// The login needs a second factor first.
    #[error("the login needs a second factor")]
    NeedsSecondFactor,
    /// The user must configure two-factor authentication in the web UI first.
    #[error("two-factor authentication must be set up in ThingsBoard's web UI first")]
    NeedsMfaConfiguration,
}

impl Tokens {
    /// The pair of a login, refresh or 2FA check, received at local time `now_ms`.
    ///
    /// # Errors
    /// A pre-verification answer (2FA pending) or an access token whose claims cannot be read.
    pub fn from_login(resp: &LoginResponse, now_ms: i64) -> Result<Self, TokenError> {
        if resp.needs_second_factor() {
            return Err(TokenError::NeedsSecondFactor);
        }
        if resp.needs_mfa_configuration() {
            return Err(TokenError::NeedsMfaConfiguration);
        }
        Self::new(resp.token.clone(), resp.refresh_token.clone(), now_ms)
    }

    /// A pair from its parts (a refresh token restored from the keychain has no access token:
    /// use [`Tokens::refresh_only_expiry`] for that case).
    ///
    /// # Errors
    /// An access token whose claims cannot be read.
    pub fn new(access: String, refresh: Option<String>, now_ms: i64) -> Result<Self, TokenError> {
        let claims =
            JwtClaims::decode(&access).map_err(|e| TokenError::Unreadable(e.to_string()))?;
        let refresh_lifetime_ms = refresh
            .as_deref()
            .and_then(|r| JwtClaims::decode(r).ok())
            .map(|c| c.lifetime_secs().saturating_mul(1000));
        Ok(Self {
            access,
            refresh,
            claims,
            received_ms: now_ms,
            refresh_lifetime_ms,
        })
    }

    /// Local expiry of a stored refresh token alone, when it was saved at `saved_ms`
    /// (`None` when unreadable).
    #[must_use]
    pub fn refresh_only_expiry(refresh: &str, saved_ms: i64) -> Option<i64> {
        let c = JwtClaims::decode(refresh).ok()?;
        Some(saved_ms.saturating_add(c.lifetime_secs().saturating_mul(1000)))
    }

    /// The access token (for `X-Authorization: Bearer` and `authCmd`).
    #[must_use]
    pub fn access(&self) -> &str {
        &self.access
    }

    /// The refresh token, if the server gave one.
    #[must_use]
    pub fn refresh(&self) -> Option<&str> {
        self.refresh.as_deref()
    }

    /// The access token's claims (user, authority, tenant, customer).
    #[must_use]
    pub fn claims(&self) -> &JwtClaims {
        &self.claims
    }

    /// The lifetime the server granted the access token, in ms.
    #[must_use]
    pub fn lifetime_ms(&self) -> i64 {
        self.claims.lifetime_secs().saturating_mul(1000).max(0)
    }

    /// Local wall-clock time at which the access token expires.
    #[must_use]
    pub fn expires_at_ms(&self) -> i64 {
        self.received_ms.saturating_add(self.lifetime_ms())
    }

    /// Local wall-clock time at which the refresh token expires (`None`: no refresh token).
    #[must_use]
    pub fn refresh_expires_at_ms(&self) -> Option<i64> {
        self.refresh_lifetime_ms
            .map(|l| self.received_ms.saturating_add(l))
    }

    /// When to refresh: `min(80 % of the lifetime, 60 s before expiry)`, at least half-way;
    /// [`DEAD_ON_ARRIVAL_REFRESH_MS`] after receipt for a token that was never valid.
    #[must_use]
    pub fn refresh_due_at_ms(&self) -> i64 {
        let l = self.lifetime_ms();
        let after = if l <= VALIDITY_MARGIN_MS {
            DEAD_ON_ARRIVAL_REFRESH_MS
        } else {
            (l / 5 * 4).min(l.saturating_sub(60_000).max(l / 2))
        };
        self.received_ms.saturating_add(after)
    }

    /// Whether the access token is still good for a request made at `now_ms`.
    #[must_use]
    pub fn is_valid_at(&self, now_ms: i64) -> bool {
        now_ms.saturating_add(VALIDITY_MARGIN_MS) < self.expires_at_ms()
    }

    /// Whether the refresh token can still be used at `now_ms` (unknown lifetimes count as
    /// usable: the server decides).
    #[must_use]
    pub fn can_refresh_at(&self, now_ms: i64) -> bool {
        self.refresh.is_some()
            && self
                .refresh_expires_at_ms()
                .is_none_or(|e| now_ms.saturating_add(VALIDITY_MARGIN_MS) < e)
    }
}

/// `text` with every JWT-like run replaced by [`REDACTED_TOKEN`]: `eyJ` (the base64url start
/// of a JSON object, which every JWT header is) at the start of a word, followed by a
/// base64url character, and everything after it up to the next whitespace (the rest of the
/// token: its other parts, or the JSON around a token cut short).
#[must_use]
pub fn redact_jwts(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(found) = text[from..].find("eyJ") {
        let start = from + found;
        let after = start + 3;
        let word_start = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let base64url = bytes
            .get(after)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
        if word_start && base64url {
            let end = text[after..]
                .find(char::is_whitespace)
                .map_or(text.len(), |n| after + n);
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED_TOKEN);
            copied = end;
            from = end;
        } else {
            from = after;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Wall-clock now in epoch ms.
#[must_use]
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn jwt(iat: i64, exp: i64, scope: &str) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = format!(
            r#"{{"sub":"tenant@thingsboard.org","scopes":["{scope}"],"iat":{iat},"exp":{exp}}}"#
        );
        format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"HS512"}"#),
            b64.encode(payload)
        )
    }

    fn pair(lifetime_s: i64, received_ms: i64) -> Tokens {
        // The server's clock is an hour ahead of ours: only the lifetime matters.
        let server_now = received_ms / 1000 + 3600;
        Tokens::new(
            jwt(server_now, server_now + lifetime_s, "TENANT_ADMIN"),
            Some(jwt(server_now, server_now + 604_800, "REFRESH_TOKEN")),
            received_ms,
        )
        .unwrap()
    }

    #[test]
    fn expiry_is_the_local_receipt_time_plus_the_granted_lifetime_whatever_the_server_clock() {
        let t = pair(9000, 1_000_000);
        assert_eq!(t.lifetime_ms(), 9_000_000);
        assert_eq!(t.expires_at_ms(), 10_000_000);
        assert_eq!(t.refresh_expires_at_ms(), Some(1_000_000 + 604_800_000));
        assert!(t.is_valid_at(9_000_000));
        assert!(!t.is_valid_at(10_000_000 - VALIDITY_MARGIN_MS));
    }

    #[test]
    fn refresh_is_due_at_eighty_percent_or_a_minute_before_expiry_whichever_is_first() {
        // 2.5 h: 80 % = 2 h comes before 2 h 29 min.
        assert_eq!(pair(9000, 0).refresh_due_at_ms(), 7_200_000);
        // 200 s: 60 s before expiry (140 s) comes before 80 % (160 s).
        assert_eq!(pair(200, 0).refresh_due_at_ms(), 140_000);
        // 100 s: never before half the lifetime.
        assert_eq!(pair(100, 0).refresh_due_at_ms(), 50_000);
        // 3 s (tests): half-way.
        assert_eq!(pair(3, 0).refresh_due_at_ms(), 1_500);
    }

    #[test]
    fn a_token_that_is_dead_on_arrival_is_not_refreshed_again_for_thirty_seconds() {
        // exp == iat (a misconfigured server): refreshing at once would loop every tick.
        assert_eq!(pair(0, 5_000).refresh_due_at_ms(), 35_000);
        // exp < iat, and a lifetime within the validity margin: never valid either.
        assert_eq!(pair(-60, 5_000).refresh_due_at_ms(), 35_000);
        assert_eq!(pair(2, 5_000).refresh_due_at_ms(), 35_000);
        assert!(!pair(2, 5_000).is_valid_at(5_000));
        // The shortest usable lifetime keeps the half-way rule.
        assert_eq!(pair(3, 5_000).refresh_due_at_ms(), 6_500);
    }

    #[test]
    fn jwt_like_runs_are_masked_up_to_the_next_whitespace() {
        let t = pair(9000, 0);
        let reason = format!(
            "The given string value cannot be transformed to Json object: {{\"authCmd\":{{\"token\":\"{}\"}}}}",
            t.access()
        );
        let masked = redact_jwts(&reason);
        assert_eq!(
            masked,
            "The given string value cannot be transformed to Json object: {\"authCmd\":{\"token\":\"<token>"
        );
        // A token cut short by the close frame's 123-byte limit, and one after `=`.
        let cut = &t.access()[..31];
        assert_eq!(redact_jwts(&format!("object: {cut}")), "object: <token>");
        assert_eq!(
            redact_jwts(&format!("bad ?token={} here", t.refresh().unwrap())),
            "bad ?token=<token> here"
        );
        assert_eq!(redact_jwts("eyJa eyJb\teyJc"), "<token> <token>\t<token>");
    }

    #[test]
    fn text_without_a_jwt_is_left_alone() {
        for text in [
            "",
            "Max tenant sessions limit reached!",
            "JWT Token expired",
            "heyJude monkeyJump eyJ eyJ. eyJ",
            "ünïcödé eyJ€ 日本eyJ",
        ] {
            assert_eq!(redact_jwts(text), text);
        }
        // A multi-byte character before the run is a word start.
        assert_eq!(redact_jwts("éeyJhbGc rest"), "é<token> rest");
    }

    #[test]
    fn a_pre_verification_login_is_not_a_usable_pair() {
        let resp = LoginResponse {
            token: jwt(0, 1800, "PRE_VERIFICATION_TOKEN"),
            refresh_token: None,
            scope: Some(crate::protocol::Authority::PreVerificationToken),
        };
        assert_eq!(
            Tokens::from_login(&resp, 0),
            Err(TokenError::NeedsSecondFactor)
        );
    }

    #[test]
    fn an_unreadable_access_token_is_an_error_that_does_not_repeat_it() {
        let err = Tokens::new("secret.garbage.token".into(), None, 0).unwrap_err();
        assert!(!err.to_string().contains("secret.garbage.token"));
    }

    #[test]
    fn debug_output_never_shows_the_tokens() {
        let t = pair(9000, 0);
        let dbg = format!("{t:?}");
        assert!(!dbg.contains(t.access()));
        assert!(!dbg.contains(t.refresh().unwrap()));
    }
}
