//! Secrets (remembered passwords, refresh tokens) in the OS keychain behind a trait, with an
//! in-memory store for tests. Never a plaintext fallback.
//!
//! (Interface stub: issue 5's keychain increment fills this in.)

/// Why the keychain could not be used, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SecretError(pub String);

/// What a secret is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The remembered password.
    Password,
    /// The refresh token of the last login.
    RefreshToken,
}

/// A keychain.
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// The secret of `account`, if any.
    ///
    /// # Errors
    /// The keychain is unavailable or locked.
    fn get(&self, kind: SecretKind, account: &str) -> Result<Option<String>, SecretError>;
    /// Stores the secret of `account`.
    ///
    /// # Errors
    /// The keychain is unavailable, locked or full.
    fn set(&self, kind: SecretKind, account: &str, secret: &str) -> Result<(), SecretError>;
    /// Removes the secret of `account` (no error when there was none).
    ///
    /// # Errors
    /// The keychain is unavailable or locked.
    fn delete(&self, kind: SecretKind, account: &str) -> Result<(), SecretError>;
}
