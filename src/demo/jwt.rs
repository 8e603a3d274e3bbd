//! HS512 JWTs like ThingsBoard's, and RFC 6238 TOTP codes for the 2FA user.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;

use crate::protocol::JwtClaims;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a token was refused; the texts are ThingsBoard's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a JWT, or unreadable claims.
    Malformed,
    /// Expired, or signed with another key (ThingsBoard cannot tell them apart).
    Expired,
}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct JwtKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKey(<redacted>)")
    }
}

impl JwtKey {
    /// A key from secret bytes.
    #[must_use]
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    fn mac(&self) -> Hmac<Sha512> {
        // HMAC takes keys of any length; the error case cannot happen.
        <Hmac<Sha512> as KeyInit>::new_from_slice(&self.secret).unwrap_or_else(|_| {
            <Hmac<Sha512> as KeyInit>::new(&hmac::digest::Key::<Hmac<Sha512>>::default())
        })
    }

    /// Encodes and signs `claims` (header `{"alg":"HS512"}`).
    #[must_use]
    pub fn sign(&self, claims: &JwtClaims) -> String {
        let header = B64.encode(br#"{"alg":"HS512"}"#);
        let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = B64.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{sig}")
    }

    /// Checks the signature and expiry (`now_s` in epoch seconds) and returns the claims.
    ///
    /// # Errors
    /// [`TokenError::Malformed`] for anything unreadable, [`TokenError::Expired`] for a
    /// bad signature or an expired token (ThingsBoard reports both as expired).
    pub fn verify(&self, token: &str, now_s: i64) -> Result<JwtClaims, TokenError> {
        let token = token.trim();
        let (signing_input, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let claims = JwtClaims::decode(token).map_err(|_| TokenError::Malformed)?;
        let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        if mac.verify_slice(&sig).is_err() || claims.exp <= now_s {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// The 6-digit TOTP code (SHA-1, 30 s steps) of `secret` at `now_s`.
#[must_use]
pub fn totp(secret: &[u8], now_s: i64) -> String {
    let step = u64::try_from(now_s.div_euclid(30)).unwrap_or(0);
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| {
        <Hmac<sha1::Sha1> as KeyInit>::new(&hmac::digest::Key::<Hmac<sha1::Sha1>>::default())
    });
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest.last().copied().unwrap_or(0) & 0x0F);
    let word = digest
        .get(offset..offset + 4)
        .map_or(0, |b| u32::from_be_bytes([b[0] & 0x7F, b[1], b[2], b[3]]));
    format!("{:06}", word % 1_000_000)
}

/// Whether `code` is the TOTP of `secret` now or one step before or after (clock drift).
#[must_use]
pub fn totp_matches(secret: &[u8], code: &str, now_s: i64) -> bool {
    [-30, 0, 30]
        .iter()
        .any(|d| totp(secret, now_s + d) == code.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_the_rfc_6238_test_vectors() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", 8 digits there; we keep
        // the last 6 digits of each expected value.
        let secret = b"12345678901234567890";
        assert_eq!(totp(secret, 59), "287082");
        assert_eq!(totp(secret, 1_111_111_109), "081804");
        assert_eq!(totp(secret, 1_234_567_890), "005924");
        assert_eq!(totp(secret, 2_000_000_000), "279037");
    }

    #[test]
    fn signed_tokens_verify_and_tampered_or_expired_ones_do_not() {
        let key = JwtKey::new(b"demo-secret");
        let claims = JwtClaims {
            sub: Some("tenant@thingsboard.org".into()),
            user_id: None,
            scopes: vec![crate::protocol::Authority::TenantAdmin],
            session_id: None,
            exp: 2_000,
            iss: Some("thingsboard.io".into()),
            iat: 1_000,
            first_name: None,
            last_name: None,
            enabled: Some(true),
            is_public: Some(false),
            tenant_id: None,
            customer_id: None,
            jti: None,
        };
        let token = key.sign(&claims);
        assert_eq!(key.verify(&token, 1_500), Ok(claims.clone()));
        assert_eq!(key.verify(&token, 2_000), Err(TokenError::Expired));
        assert_eq!(
            JwtKey::new(b"other").verify(&token, 1_500),
            Err(TokenError::Expired)
        );
        assert_eq!(key.verify("garbage", 1_500), Err(TokenError::Malformed));
        let mut tampered = token.clone();
        tampered.push('A');
        assert!(key.verify(&tampered, 1_500).is_err());
        let header = token.split('.').next().unwrap_or_default();
        assert_eq!(
            header, "eyJhbGciOiJIUzUxMiJ9",
            "header is {{\"alg\":\"HS512\"}}"
        );
    }
}
