//! Secrets (remembered passwords, refresh tokens) in the OS keychain behind a trait, with an
//! in-memory store for tests and for "this session only". Never a plaintext fallback.
//!
//! ## Keying
//!
//! Every secret is a keychain item named by a *service* and an *account*. The account is the
//! profile's `<user>@<server>` ([`crate::settings::Profile::account`]); the service says what
//! the secret is ([`SecretKind::service`]):
//!
//! | secret | service | account |
//! |---|---|---|
//! | the remembered password | `tb-monitor` ([`PASSWORD_SERVICE`]) | `<user>@<server>` |
//! | the last refresh token | `tb-monitor-refresh-token` ([`REFRESH_TOKEN_SERVICE`]) | `<user>@<server>` |
//!
//! A distinct service (rather than an account suffix) keeps the account the user sees in their
//! keychain app exactly `<user>@<server>` for both, and lets "forget this server" find both.
//!
//! ## Stores
//!
//! * [`KeychainStore`]: the OS keychain through `keyring-core` and the platform's store crate
//!   (Secret Service over D-Bus on Linux, the login keychain on macOS, the Credential Manager
//!   on Windows). It holds its store instance itself and never installs a process-wide
//!   default, so tests can hand it the mock store ([`KeychainStore::with_store`]).
//! * [`MemoryStore`]: a map in process memory, gone at exit. Tests use it, and the app uses it
//!   as the "session only" store when the keychain is unavailable
//!   ([`open_keychain_or_session_only`]). It can be told to fail like a locked keychain.
//!
//! ## Failure handling
//!
//! Every failure is a [`SecretError`] whose text says, in plain words, why tb-monitor cannot
//! remember and what the user can do; `keyring-core`'s errors are mapped in
//! [`SecretError::from_keyring`]. A keychain that does not answer (a wedged D-Bus service, an
//! unlock prompt left open) cannot freeze the caller: each keychain call runs on a short-lived
//! worker thread and gives up after [`KeychainStore::DEFAULT_TIMEOUT`]; until that stuck call
//! returns, later calls fail at once instead of queueing behind it. The calls still block for
//! up to the timeout (an unlock prompt waits for the user), so the UI runs them off its thread.
//!
//! Secrets never reach a log or a `Debug` print: the stores' `Debug` shows no values, and error
//! texts never include the bytes `keyring-core` attaches to a damaged entry.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use keyring_core::{CredentialStore, Entry};

/// The keychain service of remembered passwords.
pub const PASSWORD_SERVICE: &str = "tb-monitor";
/// The keychain service of refresh tokens.
pub const REFRESH_TOKEN_SERVICE: &str = "tb-monitor-refresh-token";

/// What the user calls the OS keychain, for messages.
#[cfg(target_os = "linux")]
const KEYCHAIN_NAME: &str = "the Secret Service, e.g. GNOME Keyring or KWallet";
#[cfg(target_os = "macos")]
const KEYCHAIN_NAME: &str = "the macOS Keychain";
#[cfg(target_os = "windows")]
const KEYCHAIN_NAME: &str = "the Windows Credential Manager";
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
const KEYCHAIN_NAME: &str = "no keychain this build supports";

/// Why the keychain could not be used, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SecretError(pub String);

impl SecretError {
    /// No keychain service runs (or none is reachable): nothing can be remembered here.
    #[must_use]
    pub fn no_service() -> Self {
        Self(format!(
            "No keychain service is running ({KEYCHAIN_NAME}), so tb-monitor cannot remember \
             passwords on this machine; you can still log in"
        ))
    }

    /// No D-Bus session bus, so no Secret Service can be reached (Linux).
    #[must_use]
    pub fn no_session_bus() -> Self {
        Self(
            "No keychain service is reachable (there is no D-Bus session bus), so tb-monitor \
             cannot remember passwords in this session; you can still log in"
                .to_owned(),
        )
    }

    /// The keychain is locked (or has no default keyring yet) and was not unlocked.
    #[must_use]
    pub fn locked() -> Self {
        Self(
            "The keychain is locked: unlock it (or create a default keyring if there is none) \
             and try again"
                .to_owned(),
        )
    }

    /// The keychain refused to store the secret; `detail` says why (never the secret).
    #[must_use]
    pub fn refused(detail: impl fmt::Display) -> Self {
        Self(format!(
            "The keychain refused to store the secret: {detail}"
        ))
    }

    /// The keychain failed for a reason of its own; `detail` is its text (never the secret).
    #[must_use]
    pub fn failed(detail: impl fmt::Display) -> Self {
        Self(format!(
            "The keychain failed ({detail}), so tb-monitor cannot remember passwords right \
             now; you can still log in"
        ))
    }

    /// The keychain did not answer within `after`.
    #[must_use]
    pub fn not_answering(after: Duration) -> Self {
        Self(format!(
            "The keychain did not answer within {} s (is an unlock prompt waiting?), so \
             tb-monitor cannot remember passwords right now; you can still log in",
            after.as_secs()
        ))
    }

    /// The keychain holds an entry for this account that cannot be read back.
    #[must_use]
    pub fn damaged() -> Self {
        Self(
            "The keychain holds a damaged entry for this account: forget the saved password \
             and save it again"
                .to_owned(),
        )
    }

    /// Maps an error of `keyring-core` (and the platform store under it) to plain words.
    ///
    /// `NoEntry` is not a failure for the stores (a missing secret is `Ok(None)`); mapped on
    /// its own it reads as a damaged entry.
    #[must_use]
    pub fn from_keyring(err: &keyring_core::Error) -> Self {
        use keyring_core::Error as K;
        match err {
            K::NoStorageAccess(_) => Self::locked(),
            K::PlatformFailure(inner) => {
                let text = crate::error_chain(inner.as_ref());
                if is_no_session_bus(&text) {
                    Self::no_session_bus()
                } else if is_no_service(&text) {
                    Self::no_service()
                } else {
                    Self::failed(text)
                }
            }
            K::NoDefaultStore => Self::no_service(),
            // The attached bytes may be the secret: never show them.
            K::NoEntry | K::BadEncoding(_) | K::BadDataFormat(..) => Self::damaged(),
            K::BadStoreFormat(reason) => Self::failed(format!("its data is damaged: {reason}")),
            K::TooLong(what, limit) => Self::refused(format!(
                "the {what} is longer than its limit of {limit} characters"
            )),
            K::Invalid(what, reason) => Self::refused(format!("the {what} {reason}")),
            K::Ambiguous(items) => Self(format!(
                "The keychain holds {} entries for this account, so tb-monitor cannot tell \
                 which is right: remove the extra ones in your keychain app and try again",
                items.len()
            )),
            K::NotSupportedByStore(what) => Self::refused(format!("not supported: {what}")),
            other => Self::failed(other),
        }
    }
}

impl From<keyring_core::Error> for SecretError {
    fn from(err: keyring_core::Error) -> Self {
        Self::from_keyring(&err)
    }
}

/// zbus could not find or reach the session bus (no socket, no address).
fn is_no_session_bus(text: &str) -> bool {
    // secret-service maps a missing bus socket or address to `Unavailable`; older stacks
    // surface zbus's own connection and address errors.
    text.contains("no secret service provider or dbus session found")
        || text.contains("Failed to connect to address")
        || text.contains("DBUS_SESSION_BUS_ADDRESS")
        || (text.contains("Connection") && text.contains("NotFound"))
}

/// The bus is there but nothing provides `org.freedesktop.secrets`.
fn is_no_service(text: &str) -> bool {
    text.contains("ServiceUnknown")
        || text.contains("org.freedesktop.secrets")
        || text.contains("NameHasNoOwner")
}

/// What a secret is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// The remembered password.
    Password,
    /// The refresh token of the last login.
    RefreshToken,
}

impl SecretKind {
    /// The keychain service this kind of secret is stored under.
    #[must_use]
    pub const fn service(self) -> &'static str {
        match self {
            Self::Password => PASSWORD_SERVICE,
            Self::RefreshToken => REFRESH_TOKEN_SERVICE,
        }
    }
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

/// The OS keychain if it can be opened within `connect_timeout`, else a [`MemoryStore`] for
/// this session with the reason the keychain cannot be used (for the login view to show).
///
/// Connecting happens before the window opens, so it gets a short deadline of its own; the
/// keychain's later calls (run off the UI thread) get [`KeychainStore::DEFAULT_TIMEOUT`],
/// long enough for an unlock prompt.
#[must_use]
pub fn open_keychain_or_session_only(
    connect_timeout: Duration,
) -> (Arc<dyn SecretStore>, Option<SecretError>) {
    match KeychainStore::open_with_timeout(connect_timeout) {
        Ok(store) => (
            Arc::new(store.with_timeout(KeychainStore::DEFAULT_TIMEOUT)),
            None,
        ),
        Err(e) => (Arc::new(MemoryStore::new()), Some(e)),
    }
}

/// The OS keychain through `keyring-core` and the platform's store crate.
///
/// Calls block for at most the store's timeout; run them off the UI thread.
pub struct KeychainStore {
    store: Arc<CredentialStore>,
    timeout: Duration,
    /// Calls that timed out and have not returned yet: later calls would queue behind them.
    stuck: Arc<AtomicUsize>,
}

impl fmt::Debug for KeychainStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeychainStore")
            .field("store", &self.store.vendor())
            .field("timeout", &self.timeout)
            .field("stuck", &self.stuck.load(Ordering::SeqCst))
            .finish()
    }
}

impl KeychainStore {
    /// How long a keychain call may take: long enough to type a password into an unlock
    /// prompt, short enough that a wedged keychain service does not stall a login for long.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Connects to the platform keychain with [`Self::DEFAULT_TIMEOUT`].
    ///
    /// On Linux this connects to the Secret Service on the D-Bus session bus; it does not
    /// unlock anything, so a locked keychain shows up at the first call.
    ///
    /// # Errors
    /// No session bus, no keychain service, or it did not answer in time.
    pub fn open() -> Result<Self, SecretError> {
        Self::open_with_timeout(Self::DEFAULT_TIMEOUT)
    }

    /// Connects to the platform keychain; this and every later call give up after `timeout`.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with_timeout(timeout: Duration) -> Result<Self, SecretError> {
        let stuck = Arc::new(AtomicUsize::new(0));
        let store = with_deadline(timeout, &stuck, platform_store)??;
        Ok(Self {
            store,
            timeout,
            stuck,
        })
    }

    /// A keychain over `store` (e.g. `keyring_core::mock::Store` in tests).
    #[must_use]
    pub fn with_store(store: Arc<CredentialStore>) -> Self {
        Self {
            store,
            timeout: Self::DEFAULT_TIMEOUT,
            stuck: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The same keychain with calls giving up after `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The store's vendor, e.g. "Secret Service store, https://…" (for diagnostics).
    #[must_use]
    pub fn vendor(&self) -> String {
        self.store.vendor()
    }

    /// Runs `op` on the entry of (`kind`, `account`) on a worker thread, within the timeout.
    fn call<T: Send + 'static>(
        &self,
        kind: SecretKind,
        account: &str,
        op: impl FnOnce(&Entry) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<keyring_core::Result<T>, SecretError> {
        let store = Arc::clone(&self.store);
        let account = account.to_owned();
        with_deadline(self.timeout, &self.stuck, move || {
            let entry = Entry::new_in_store(&store, kind.service(), &account)?;
            op(&entry)
        })
    }
}

impl SecretStore for KeychainStore {
    fn get(&self, kind: SecretKind, account: &str) -> Result<Option<String>, SecretError> {
        match self.call(kind, account, Entry::get_password)? {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn set(&self, kind: SecretKind, account: &str, secret: &str) -> Result<(), SecretError> {
        let secret = secret.to_owned();
        Ok(self.call(kind, account, move |entry| entry.set_password(&secret))??)
    }

    fn delete(&self, kind: SecretKind, account: &str) -> Result<(), SecretError> {
        match self.call(kind, account, Entry::delete_credential)? {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Runs `job` on a worker thread and waits for it at most `timeout`.
///
/// A job that times out is abandoned but keeps running; `stuck` counts such jobs until they
/// return, and while any is stuck new jobs fail at once (the platform stores serialise their
/// calls, so they would only queue behind it).
fn with_deadline<T: Send + 'static>(
    timeout: Duration,
    stuck: &Arc<AtomicUsize>,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SecretError> {
    if stuck.load(Ordering::SeqCst) > 0 {
        return Err(SecretError::not_answering(timeout));
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let abandoned = Arc::new(Mutex::new(false));
    let (worker_abandoned, worker_stuck) = (Arc::clone(&abandoned), Arc::clone(stuck));
    std::thread::Builder::new()
        .name("tb-monitor-keychain".to_owned())
        .spawn(move || {
            // A panic in the store becomes an error, and the bookkeeping below still runs.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).ok();
            let abandoned = worker_abandoned
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if *abandoned {
                worker_stuck.fetch_sub(1, Ordering::SeqCst);
            } else {
                tx.send(result).ok();
            }
        })
        .map_err(|e| SecretError::failed(format!("cannot start a thread: {e}")))?;
    let crashed = || SecretError::failed("the keychain call crashed");
    match rx.recv_timeout(timeout) {
        Ok(result) => result.ok_or_else(crashed),
        Err(RecvTimeoutError::Disconnected) => Err(crashed()),
        Err(RecvTimeoutError::Timeout) => {
            let mut abandoned = abandoned.lock().unwrap_or_else(PoisonError::into_inner);
            // The job may have finished between the timeout and the lock: then it is not stuck.
            if let Ok(result) = rx.try_recv() {
                return result.ok_or_else(crashed);
            }
            *abandoned = true;
            stuck.fetch_add(1, Ordering::SeqCst);
            Err(SecretError::not_answering(timeout))
        }
    }
}

/// The platform's keychain store.
#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

/// The platform's keychain store.
#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    Ok(store)
}

/// The platform's keychain store.
#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    Ok(store)
}

/// The platform's keychain store: none on other systems.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(keyring_core::Error::NoDefaultStore)
}

/// Secrets in process memory: for tests, and the "this session only" store when the keychain
/// cannot be used. Can be told to fail like a missing, locked or full keychain.
#[derive(Default)]
pub struct MemoryStore {
    secrets: Mutex<HashMap<(SecretKind, String), String>>,
    failure: Mutex<Option<SecretError>>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: the values are secrets, and the accounts are nobody's business.
        f.debug_struct("MemoryStore")
            .field("secrets", &self.lock_secrets().len())
            .field("failure", &*self.lock_failure())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store that works.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose every call fails with `err` (until [`Self::set_failure`] clears it).
    #[must_use]
    pub fn failing(err: SecretError) -> Self {
        let store = Self::new();
        store.set_failure(Some(err));
        store
    }

    /// Makes every later call fail with `err`, or work again with `None`.
    pub fn set_failure(&self, err: Option<SecretError>) {
        *self.lock_failure() = err;
    }

    /// How many secrets the store holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock_secrets().len()
    }

    /// The store holds no secret.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&self) -> Result<(), SecretError> {
        self.lock_failure().clone().map_or(Ok(()), Err)
    }

    // A panic while holding a lock cannot leave the map half-written: recover the guard.
    fn lock_secrets(&self) -> std::sync::MutexGuard<'_, HashMap<(SecretKind, String), String>> {
        self.secrets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_failure(&self) -> std::sync::MutexGuard<'_, Option<SecretError>> {
        self.failure.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, kind: SecretKind, account: &str) -> Result<Option<String>, SecretError> {
        self.check()?;
        Ok(self
            .lock_secrets()
            .get(&(kind, account.to_owned()))
            .cloned())
    }

    fn set(&self, kind: SecretKind, account: &str, secret: &str) -> Result<(), SecretError> {
        self.check()?;
        self.lock_secrets()
            .insert((kind, account.to_owned()), secret.to_owned());
        Ok(())
    }

    fn delete(&self, kind: SecretKind, account: &str) -> Result<(), SecretError> {
        self.check()?;
        self.lock_secrets().remove(&(kind, account.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "alice@example.com@https://tb.example.com";
    const BOB: &str = "bob@example.com@https://tb.example.com";

    /// The secret of (`kind`, `account`); the call itself must succeed.
    fn secret(store: &dyn SecretStore, kind: SecretKind, account: &str) -> Option<String> {
        store.get(kind, account).unwrap()
    }

    fn boxed(
        err: impl std::error::Error + Send + Sync + 'static,
    ) -> keyring_core::error::PlatformError {
        Box::new(err)
    }

    #[test]
    fn memory_store_gives_back_what_was_set_per_kind_and_account() {
        let store = MemoryStore::new();
        store.set(SecretKind::Password, ALICE, "pw-a").unwrap();
        store.set(SecretKind::RefreshToken, ALICE, "rt-a").unwrap();
        store.set(SecretKind::Password, BOB, "pw-b").unwrap();
        assert_eq!(
            secret(&store, SecretKind::Password, ALICE).as_deref(),
            Some("pw-a")
        );
        assert_eq!(
            secret(&store, SecretKind::RefreshToken, ALICE).as_deref(),
            Some("rt-a")
        );
        assert_eq!(
            secret(&store, SecretKind::Password, BOB).as_deref(),
            Some("pw-b")
        );
        assert_eq!(secret(&store, SecretKind::RefreshToken, BOB), None);
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn memory_store_overwrites_and_deletes_and_deleting_nothing_is_fine() {
        let store = MemoryStore::new();
        store.set(SecretKind::Password, ALICE, "old").unwrap();
        store.set(SecretKind::Password, ALICE, "new").unwrap();
        assert_eq!(
            secret(&store, SecretKind::Password, ALICE).as_deref(),
            Some("new")
        );
        store.delete(SecretKind::Password, ALICE).unwrap();
        assert_eq!(secret(&store, SecretKind::Password, ALICE), None);
        store.delete(SecretKind::Password, ALICE).unwrap();
        assert!(store.is_empty());
    }

    #[test]
    fn failing_memory_store_fails_every_call_until_cleared() {
        let store = MemoryStore::failing(SecretError::locked());
        assert_eq!(
            store.get(SecretKind::Password, ALICE),
            Err(SecretError::locked())
        );
        assert_eq!(
            store.set(SecretKind::Password, ALICE, "pw"),
            Err(SecretError::locked())
        );
        assert_eq!(
            store.delete(SecretKind::Password, ALICE),
            Err(SecretError::locked())
        );
        store.set_failure(None);
        store.set(SecretKind::Password, ALICE, "pw").unwrap();
        assert_eq!(
            secret(&store, SecretKind::Password, ALICE).as_deref(),
            Some("pw")
        );
    }

    #[test]
    fn memory_store_debug_shows_no_secret_and_no_account() {
        let store = MemoryStore::new();
        store
            .set(SecretKind::Password, ALICE, "hunter2-secret")
            .unwrap();
        let text = format!("{store:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("alice"), "{text}");
        assert!(text.contains("secrets: 1"), "{text}");
    }

    #[test]
    fn password_and_refresh_token_live_under_distinct_services() {
        assert_eq!(SecretKind::Password.service(), "tb-monitor");
        assert_eq!(
            SecretKind::RefreshToken.service(),
            "tb-monitor-refresh-token"
        );
    }

    #[test]
    fn locked_keychain_maps_to_unlock_and_try_again() {
        let err = keyring_core::Error::NoStorageAccess(boxed(std::io::Error::other(
            "SS error: result not returned from SS API",
        )));
        let msg = SecretError::from_keyring(&err).to_string();
        assert!(
            msg.starts_with("The keychain is locked: unlock it"),
            "{msg}"
        );
    }

    #[test]
    fn missing_session_bus_maps_to_no_keychain_service_reachable() {
        let err = keyring_core::Error::PlatformFailure(boxed(std::io::Error::other(
            "no secret service provider or dbus session found",
        )));
        assert_eq!(
            SecretError::from_keyring(&err),
            SecretError::no_session_bus()
        );
        let err = keyring_core::Error::PlatformFailure(boxed(std::io::Error::other(
            "zbus error: Failed to connect to address `unix:path=/run/user/0/bus`: No such \
             file or directory (os error 2)",
        )));
        assert_eq!(
            SecretError::from_keyring(&err),
            SecretError::no_session_bus()
        );
        assert!(
            SecretError::no_session_bus()
                .0
                .contains("you can still log in")
        );
    }

    #[test]
    fn missing_secret_service_maps_to_no_keychain_service_running() {
        let err = keyring_core::Error::PlatformFailure(boxed(std::io::Error::other(
            "zbus error: org.freedesktop.DBus.Error.ServiceUnknown: The name \
             org.freedesktop.secrets was not provided by any .service files",
        )));
        let msg = SecretError::from_keyring(&err).to_string();
        assert_eq!(SecretError::from_keyring(&err), SecretError::no_service());
        assert!(msg.starts_with("No keychain service is running"), "{msg}");
        assert!(msg.ends_with("you can still log in"), "{msg}");
        let no_store = SecretError::from_keyring(&keyring_core::Error::NoDefaultStore);
        assert_eq!(no_store, SecretError::no_service());
    }

    #[test]
    fn other_platform_failures_keep_their_detail() {
        let err = keyring_core::Error::PlatformFailure(boxed(std::io::Error::other("disk full")));
        let msg = SecretError::from_keyring(&err).to_string();
        assert!(msg.contains("(disk full)"), "{msg}");
    }

    #[test]
    fn damaged_entries_never_show_their_bytes() {
        let err = keyring_core::Error::BadEncoding(b"hunter2-secret\xff".to_vec());
        let msg = SecretError::from_keyring(&err).to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
        assert_eq!(SecretError::from_keyring(&err), SecretError::damaged());
        let err = keyring_core::Error::BadDataFormat(
            b"hunter2-secret".to_vec(),
            boxed(std::io::Error::other("bad padding")),
        );
        let msg = SecretError::from_keyring(&err).to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn refusals_say_the_keychain_refused_to_store_the_secret() {
        let too_long = keyring_core::Error::TooLong("password".to_owned(), 2560);
        let msg = SecretError::from_keyring(&too_long).to_string();
        assert_eq!(
            msg,
            "The keychain refused to store the secret: the password is longer than its limit \
             of 2560 characters"
        );
        let invalid = keyring_core::Error::Invalid("user".to_owned(), "cannot be empty".to_owned());
        let msg = SecretError::from_keyring(&invalid).to_string();
        assert_eq!(
            msg,
            "The keychain refused to store the secret: the user cannot be empty"
        );
    }

    #[test]
    fn error_chain_joins_sources_without_repeating_them() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let text = crate::error_chain(&Outer(std::io::Error::other("inner")));
        assert_eq!(text, "outer: inner");
    }

    fn mock_keychain() -> KeychainStore {
        KeychainStore::with_store(keyring_core::mock::Store::new().unwrap())
    }

    /// Makes the next call on (`kind`, `account`) of a mock-backed keychain fail with `err`.
    fn inject(keychain: &KeychainStore, kind: SecretKind, account: &str, err: keyring_core::Error) {
        let entry = Entry::new_in_store(&keychain.store, kind.service(), account).unwrap();
        let cred: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(err);
    }

    #[test]
    fn keychain_store_over_the_mock_store_sets_gets_and_deletes() {
        let keychain = mock_keychain();
        assert_eq!(secret(&keychain, SecretKind::Password, ALICE), None);
        keychain.set(SecretKind::Password, ALICE, "pw-a").unwrap();
        keychain
            .set(SecretKind::RefreshToken, ALICE, "rt-a")
            .unwrap();
        assert_eq!(
            secret(&keychain, SecretKind::Password, ALICE).as_deref(),
            Some("pw-a")
        );
        assert_eq!(
            secret(&keychain, SecretKind::RefreshToken, ALICE).as_deref(),
            Some("rt-a")
        );
        assert_eq!(secret(&keychain, SecretKind::Password, BOB), None);
        keychain.delete(SecretKind::Password, ALICE).unwrap();
        assert_eq!(secret(&keychain, SecretKind::Password, ALICE), None);
        assert_eq!(
            secret(&keychain, SecretKind::RefreshToken, ALICE).as_deref(),
            Some("rt-a")
        );
        keychain.delete(SecretKind::Password, ALICE).unwrap();
    }

    #[test]
    fn keychain_store_reports_a_locked_keychain_in_plain_words() {
        let keychain = mock_keychain();
        keychain.set(SecretKind::Password, ALICE, "pw-a").unwrap();
        let locked =
            || keyring_core::Error::NoStorageAccess(boxed(std::io::Error::other("locked")));
        inject(&keychain, SecretKind::Password, ALICE, locked());
        assert_eq!(
            keychain.get(SecretKind::Password, ALICE),
            Err(SecretError::locked())
        );
        inject(&keychain, SecretKind::Password, ALICE, locked());
        assert_eq!(
            keychain.set(SecretKind::Password, ALICE, "x"),
            Err(SecretError::locked())
        );
        inject(&keychain, SecretKind::Password, ALICE, locked());
        assert_eq!(
            keychain.delete(SecretKind::Password, ALICE),
            Err(SecretError::locked())
        );
        // The mock fails once: the entry is intact afterwards.
        assert_eq!(
            secret(&keychain, SecretKind::Password, ALICE).as_deref(),
            Some("pw-a")
        );
    }

    #[test]
    fn keychain_store_debug_names_the_store_only() {
        let keychain = mock_keychain();
        keychain
            .set(SecretKind::Password, ALICE, "hunter2-secret")
            .unwrap();
        let text = format!("{keychain:?}");
        assert!(text.contains("Mock store"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn a_call_that_does_not_answer_times_out_and_later_calls_fail_at_once() {
        let stuck = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = std::sync::mpsc::sync_channel::<()>(1);
        let (returned_tx, returned_rx) = std::sync::mpsc::sync_channel::<()>(1);
        let started = std::time::Instant::now();
        let first = with_deadline(Duration::from_millis(50), &stuck, move || {
            // Blocks until the test releases it (or gives up after a deadline).
            release_rx.recv_timeout(Duration::from_secs(30)).ok();
            returned_tx.send(()).ok();
        });
        assert_eq!(
            first,
            Err(SecretError::not_answering(Duration::from_millis(50)))
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(stuck.load(Ordering::SeqCst), 1);
        let second = with_deadline(Duration::from_secs(5), &stuck, || 2);
        assert!(second.is_err(), "a call behind a stuck one fails at once");
        // Once the stuck call returns, the keychain is usable again.
        release_tx.send(()).unwrap();
        returned_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while stuck.load(Ordering::SeqCst) > 0 {
            assert!(std::time::Instant::now() < deadline, "still stuck");
            std::thread::yield_now();
        }
        assert_eq!(with_deadline(Duration::from_secs(5), &stuck, || 3), Ok(3));
    }

    #[test]
    fn a_call_that_answers_in_time_returns_its_result() {
        let stuck = Arc::new(AtomicUsize::new(0));
        assert_eq!(
            with_deadline(Duration::from_secs(10), &stuck, || 42),
            Ok(42)
        );
        assert_eq!(stuck.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_call_that_panics_is_an_error_not_a_hang() {
        let stuck = Arc::new(AtomicUsize::new(0));
        let result: Result<(), _> = with_deadline(Duration::from_secs(10), &stuck, || {
            panic!("store bug");
        });
        assert_eq!(
            result,
            Err(SecretError::failed("the keychain call crashed"))
        );
        assert_eq!(stuck.load(Ordering::SeqCst), 0);
    }
}
