//! Logging in, off the UI thread: every attempt (password, refresh token from the keychain,
//! second factor, the demo server) is a task on the runtime that reports one
//! [`LoginResult`] through a oneshot channel the UI polls each frame.
//!
//! A refused certificate is explained by its reason ([`Refusal`]). A certificate nobody
//! vouches for is offered for pinning once the user checked its fingerprint; a pinned
//! server that presents another certificate is explained with both fingerprints and the
//! warning that someone may be intercepting, and the new fingerprint comes from the refusal
//! itself. An expired certificate, one not valid yet or one for another host name is not
//! offered: a pin would hide the problem, not fix it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::demo::{DemoConfig, DemoServer};
use crate::net::NetError;
use crate::net::rest::{LoginOutcome, PreAuth, RestClient};
use crate::net::tls::{PinMismatch, Refusal, fetch_fingerprint, format_fingerprint};
use crate::protocol::{ThingsboardErrorCode, TwoFaProviderInfo, TwoFaProviderType};
use crate::secrets::{SecretKind, SecretStore};
use crate::settings::Profile;

use super::Session;
use super::live::Remember;

/// How long fetching a failing server's certificate may take.
const FINGERPRINT_TIMEOUT: Duration = Duration::from_secs(10);

/// A password held in memory only; `Debug` never prints it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A login that needs its second factor.
#[derive(Debug, Clone)]
pub struct SecondFactor {
    /// The client the pre-authentication token belongs to.
    pub rest: RestClient,
    /// The pre-authentication token.
    pub pre: PreAuth,
    /// The user's providers (TOTP, e-mail, SMS, backup code).
    pub providers: Vec<TwoFaProviderInfo>,
    /// The profile logging in.
    pub profile: Profile,
    /// The password, to remember once the code is accepted.
    pub password: Password,
}

/// Why a login failed, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailure {
    /// What happened and what to do.
    pub message: String,
    /// A TLS failure's server certificate fingerprint (SHA-256, colon hex), to confirm and pin.
    pub fingerprint: Option<String>,
}

impl LoginFailure {
    /// A failure with no certificate to confirm.
    #[must_use]
    pub fn plain(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            fingerprint: None,
        }
    }
}

/// What a login task reports.
#[derive(Debug)]
pub enum LoginResult {
    /// Logged in.
    LoggedIn {
        /// The session.
        session: Session,
        /// The embedded demo server, when that is what the user logged in to.
        demo: Option<DemoServer>,
        /// Where rotated refresh tokens go (a remembered login).
        remember: Option<Remember>,
    },
    /// The password was right; the server wants the second factor.
    SecondFactor(Box<SecondFactor>),
    /// Auto-login found nothing to log in with (no refresh token or password kept): show
    /// the form, no error.
    NeedsPassword {
        /// Something the user should know (e.g. the keychain is unavailable).
        notice: Option<String>,
    },
    /// The server sent a second-factor code (e-mail, SMS): the code step stays.
    CodeSent {
        /// Where it went, for the screen.
        notice: String,
    },
    /// The attempt failed.
    Failed(LoginFailure),
}

/// A login task in flight.
#[derive(Debug)]
pub struct Pending {
    rx: oneshot::Receiver<LoginResult>,
    task: tokio::task::AbortHandle,
    /// What is happening, for the screen ("Logging in to …").
    pub what: String,
}

impl Pending {
    /// Runs `work` on `runtime`; its result wakes `ctx`.
    pub fn spawn<F>(
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
        what: String,
        work: F,
    ) -> Self
    where
        F: Future<Output = LoginResult> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let ctx = ctx.clone();
        let task = runtime.spawn(async move {
            let result = work.await;
            // The screen may have been left (cancel): nobody waits then.
            tx.send(result).ok();
            ctx.request_repaint();
        });
        Self {
            rx,
            task: task.abort_handle(),
            what,
        }
    }

    /// The result, once the task is done.
    pub fn poll(&mut self) -> Option<LoginResult> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(LoginResult::Failed(
                LoginFailure::plain("the login was interrupted: try again"),
            )),
        }
    }

    /// Stops the attempt.
    pub fn cancel(self) {
        self.task.abort();
    }
}

/// A refused login (401/403) in plain words: ThingsBoard tells the cases apart only by
/// code 15 (credentials expired) and by its message.
fn refusal(code: ThingsboardErrorCode, message: &str) -> String {
    if code == ThingsboardErrorCode::CredentialsExpired {
        "The password has expired: set a new one in ThingsBoard's web UI, then log in here."
            .to_owned()
    } else if message.contains("locked") {
        "This account is locked (too many failed logins or locked by an administrator). Ask \
         your ThingsBoard administrator to unlock it."
            .to_owned()
    } else if message.contains("not active") {
        "This account is not active yet: open the activation e-mail, or ask your administrator."
            .to_owned()
    } else if message.contains("Invalid username or password")
        || message.contains("Authentication failed")
    {
        "Wrong e-mail or password.".to_owned()
    } else {
        format!("The server refused the login: {message}")
    }
}

/// The login error in plain words, with what to do. (Too many sessions is not a login
/// error: the socket closes with 1008 and the Connection view explains it.)
#[must_use]
pub fn explain(error: &NetError, url: &str) -> String {
    match error {
        NetError::Server {
            status: 401 | 403,
            code,
            message,
        } => refusal(*code, message),
        NetError::Server { status: 429, .. } => {
            "Too many login attempts: wait a minute, then try again.".to_owned()
        }
        NetError::Server {
            status, message, ..
        } => format!("The server answered {status}: {message}"),
        NetError::Unreachable(detail) => {
            format!("Cannot reach {url}: check the address, the port and your network. ({detail})")
        }
        NetError::Tls(detail) => tls_failure(detail, url),
        NetError::BadResponse(detail) => format!(
            "{url} does not answer like a ThingsBoard server: check the address (and \
             http/https). ({detail})"
        ),
        NetError::BadUrl(detail) => format!("The server address is not a valid URL: {detail}"),
        NetError::MfaConfigurationRequired => "Your account must set up two-factor \
             authentication in ThingsBoard's web UI before it can log in here."
            .to_owned(),
        other => other.to_string(),
    }
}

/// A TLS failure in plain words: why the certificate was refused and what to do.
fn tls_failure(detail: &str, url: &str) -> String {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| url.to_owned());
    match Refusal::of(detail) {
        Refusal::PinChanged(PinMismatch { pinned, presented }) => format!(
            "The certificate of {host} changed since you trusted it: you pinned {pinned}, but \
             the server presented {presented}. Someone may be intercepting the connection. \
             Trust the new certificate only if your administrator confirms that it replaced \
             the old one."
        ),
        Refusal::Expired { not_after } => {
            let on = not_after
                .and_then(|s| jiff::Timestamp::from_second(s).ok())
                .map(|t| format!(" on {}", t.strftime("%Y-%m-%d")))
                .unwrap_or_default();
            format!(
                "The certificate of {host} expired{on}, so the connection cannot be verified: \
                 ask the server's administrator to renew it. ({detail})"
            )
        }
        Refusal::NotYetValid => format!(
            "The certificate of {host} is not valid yet: check this computer's date and \
             time. ({detail})"
        ),
        Refusal::WrongName => format!(
            "The server's certificate is not valid for {host}: it was issued for another name. \
             Check the server address, or ask the administrator for a certificate that \
             covers {host}. ({detail})"
        ),
        Refusal::UnknownIssuer => format!(
            "The certificate of {host} is not trusted: no authority this computer trusts \
             signed it (a self-signed server, or a company CA that is not set up here). Choose \
             the company's CA file under Security (TLS), or trust this certificate once your \
             administrator confirmed its fingerprint. ({detail})"
        ),
        Refusal::Other if detail.contains("CA file") => {
            format!("The CA file cannot be used: {detail}")
        }
        Refusal::Other => format!(
            "The secure connection to {url} failed: the certificate is not trusted or the \
             server does not speak TLS there. ({detail})"
        ),
    }
}

/// The certificate a TLS failure offers to pin (colon hex), if any.
async fn offered_fingerprint(detail: &str, url: &str) -> Option<String> {
    match Refusal::of(detail) {
        // The refusal names the certificate presented: no second connection.
        Refusal::PinChanged(m) => Some(m.presented),
        Refusal::UnknownIssuer | Refusal::Other => {
            let (host, port) = https_host_port(url)?;
            tokio::time::timeout(FINGERPRINT_TIMEOUT, fetch_fingerprint(&host, port))
                .await
                .ok()
                .and_then(Result::ok)
                .map(|fp| format_fingerprint(&fp))
        }
        Refusal::Expired { .. } | Refusal::NotYetValid | Refusal::WrongName => None,
    }
}

/// The host and port of an `https` URL (for fetching its certificate).
fn https_host_port(url: &str) -> Option<(String, u16)> {
    let parsed = reqwest::Url::parse(url).ok()?;
    if parsed.scheme() != "https" {
        return None;
    }
    Some((
        parsed.host_str()?.to_owned(),
        parsed.port_or_known_default()?,
    ))
}

async fn failure(error: &NetError, url: &str) -> LoginFailure {
    let fingerprint = match error {
        NetError::Tls(detail) => offered_fingerprint(detail, url).await,
        _ => None,
    };
    LoginFailure {
        message: explain(error, url),
        fingerprint,
    }
}

fn session_for(profile: &Profile, rest: RestClient, notice: Option<String>) -> Session {
    Session {
        server: if profile.name.is_empty() {
            profile.url.clone()
        } else {
            profile.name.clone()
        },
        user: profile.username.clone(),
        rest,
        notice,
    }
}

/// Runs a keychain call off the async threads (it may block on D-Bus or a prompt).
async fn keychain<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("the keychain call failed: {e}"))
}

/// Keeps the password and refresh token of a login the user asked to remember; returns a
/// notice when the keychain cannot (the login goes on for this session).
async fn remember(
    secrets: &Arc<dyn SecretStore>,
    profile: &Profile,
    password: Option<&Password>,
    rest: &RestClient,
) -> (Option<Remember>, Option<String>) {
    if !profile.remember_password {
        return (None, None);
    }
    let account = profile.account();
    let refresh = rest.tokens().and_then(|t| t.refresh().map(str::to_owned));
    let store = Arc::clone(secrets);
    let password = password.cloned();
    let acc = account.clone();
    let outcome = keychain(move || {
        if let Some(p) = password {
            store.set(SecretKind::Password, &acc, &p.0)?;
        }
        if let Some(r) = refresh {
            store.set(SecretKind::RefreshToken, &acc, &r)?;
        }
        Ok::<(), crate::secrets::SecretError>(())
    })
    .await;
    match outcome {
        Ok(Ok(())) => (
            Some(Remember {
                secrets: Arc::clone(secrets),
                account,
            }),
            None,
        ),
        Ok(Err(e)) => (
            None,
            Some(format!(
                "Logged in, but the password cannot be remembered: {e}"
            )),
        ),
        Err(e) => (None, Some(e)),
    }
}

/// Logs in with a password typed by the user.
pub async fn with_password(
    profile: Profile,
    password: Password,
    secrets: Arc<dyn SecretStore>,
) -> LoginResult {
    let rest = match RestClient::new(&profile.url, profile.trust()) {
        Ok(r) => r,
        Err(e) => return LoginResult::Failed(failure(&e, &profile.url).await),
    };
    match rest.login(&profile.username, &password.0).await {
        Ok(LoginOutcome::LoggedIn(_)) => {
            let (remember, notice) = remember(&secrets, &profile, Some(&password), &rest).await;
            LoginResult::LoggedIn {
                session: session_for(&profile, rest, notice),
                demo: None,
                remember,
            }
        }
        Ok(LoginOutcome::SecondFactor(pre)) => match rest.two_fa_providers(&pre).await {
            Ok(providers) => LoginResult::SecondFactor(Box::new(SecondFactor {
                rest,
                pre,
                providers,
                profile,
                password,
            })),
            Err(e) => LoginResult::Failed(failure(&e, &profile.url).await),
        },
        Err(e) => LoginResult::Failed(failure(&e, &profile.url).await),
    }
}

/// Checks a second-factor code.
pub async fn with_code(
    second: SecondFactor,
    provider: TwoFaProviderType,
    code: String,
    secrets: Arc<dyn SecretStore>,
) -> LoginResult {
    match second
        .rest
        .two_fa_check(&second.pre, &provider, &code)
        .await
    {
        Ok(_) => {
            let (remember, notice) = remember(
                &secrets,
                &second.profile,
                Some(&second.password),
                &second.rest,
            )
            .await;
            LoginResult::LoggedIn {
                session: session_for(&second.profile, second.rest, notice),
                demo: None,
                remember,
            }
        }
        Err(NetError::Server { status: 400, .. }) => LoginResult::Failed(LoginFailure::plain(
            "That code is not right (or has expired): check it and try again.",
        )),
        Err(e) => LoginResult::Failed(failure(&e, &second.profile.url).await),
    }
}

/// Asks the server to send a code by e-mail or SMS.
pub async fn send_code(second: SecondFactor, provider: TwoFaProviderType) -> LoginResult {
    match second.rest.two_fa_send(&second.pre, &provider).await {
        Ok(()) => {
            let to = second
                .providers
                .iter()
                .find(|p| p.provider_type == provider)
                .and_then(|p| p.contact.clone());
            LoginResult::CodeSent {
                notice: to.map_or_else(
                    || "A code was sent.".to_owned(),
                    |to| format!("A code was sent to {to}."),
                ),
            }
        }
        Err(e) => LoginResult::Failed(LoginFailure::plain(explain(&e, &second.profile.url))),
    }
}

/// Asks the user for a CA file with the system's dialog (a task: the dialog must not hold
/// the frame).
pub async fn pick_ca_file() -> Option<std::path::PathBuf> {
    rfd::AsyncFileDialog::new()
        .add_filter("PEM certificates", &["pem", "crt", "cer"])
        .pick_file()
        .await
        .map(|f| f.path().to_owned())
}

/// Forgets a deleted profile's secrets (both kinds).
pub async fn forget_profile(secrets: Arc<dyn SecretStore>, account: String) {
    let result = keychain(move || {
        secrets.delete(SecretKind::Password, &account)?;
        secrets.delete(SecretKind::RefreshToken, &account)
    })
    .await;
    if let Ok(Err(e)) = result {
        tracing::warn!("cannot delete a deleted profile's secrets from the keychain: {e}");
    }
}

/// Logs in without a password: the refresh token kept in the keychain, else the remembered
/// password. Reports [`LoginResult::NeedsPassword`] when neither works.
pub async fn automatic(profile: Profile, secrets: Arc<dyn SecretStore>) -> LoginResult {
    let account = profile.account();
    let store = Arc::clone(&secrets);
    let kept = keychain(move || {
        let refresh = store.get(SecretKind::RefreshToken, &account)?;
        let password = store.get(SecretKind::Password, &account)?;
        Ok::<_, crate::secrets::SecretError>((refresh, password))
    })
    .await;
    let (refresh, password) = match kept {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => {
            return LoginResult::NeedsPassword {
                notice: Some(format!("Saved logins are unavailable: {e}")),
            };
        }
        Err(e) => return LoginResult::NeedsPassword { notice: Some(e) },
    };
    if let Some(token) = refresh {
        let rest = match RestClient::new(&profile.url, profile.trust()) {
            Ok(r) => r,
            Err(e) => return LoginResult::Failed(failure(&e, &profile.url).await),
        };
        match rest.resume(&token).await {
            Ok(_) => {
                let (remember, notice) = remember(&secrets, &profile, None, &rest).await;
                return LoginResult::LoggedIn {
                    session: session_for(&profile, rest, notice),
                    demo: None,
                    remember,
                };
            }
            // The token ran out or was revoked: fall back to the password.
            Err(NetError::SessionExpired) => {}
            Err(e) => return LoginResult::Failed(failure(&e, &profile.url).await),
        }
    }
    match password {
        Some(p) => with_password(profile, Password(p), secrets).await,
        None => LoginResult::NeedsPassword { notice: None },
    }
}

/// Starts the embedded demo server and logs in as its tenant admin.
pub async fn demo(config: DemoConfig) -> LoginResult {
    match super::demo_session(config).await {
        Ok((session, server)) => LoginResult::LoggedIn {
            session,
            demo: Some(server),
            remember: None,
        },
        Err(message) => LoginResult::Failed(LoginFailure::plain(message)),
    }
}

/// Forgets a logout's refresh token (the password stays if the user chose to remember it).
pub async fn forget_session(rest: RestClient, remember: Option<Remember>) {
    if let Some(Remember { secrets, account }) = remember {
        let result = keychain(move || secrets.delete(SecretKind::RefreshToken, &account)).await;
        if let Ok(Err(e)) = result {
            tracing::warn!("cannot delete the refresh token from the keychain: {e}");
        }
    }
    if let Err(e) = rest.logout().await {
        tracing::info!("logout on the server failed (the tokens are forgotten here): {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(status: u16, code: ThingsboardErrorCode, message: &str) -> NetError {
        NetError::Server {
            status,
            code,
            message: message.to_owned(),
        }
    }

    #[test]
    fn login_errors_read_as_plain_words_with_what_to_do() {
        let url = "https://tb.example.com";
        let wrong = server_error(
            401,
            ThingsboardErrorCode::Authentication,
            "Invalid username or password",
        );
        assert_eq!(explain(&wrong, url), "Wrong e-mail or password.");
        let locked = server_error(
            401,
            ThingsboardErrorCode::Authentication,
            "User account is locked due to security policy",
        );
        assert!(explain(&locked, url).contains("locked"));
        assert!(explain(&locked, url).contains("administrator"));
        let unreachable = NetError::Unreachable("connection refused".to_owned());
        assert!(explain(&unreachable, url).starts_with("Cannot reach https://tb.example.com"));
        let not_tb = NetError::BadResponse("HTTP 404 Not Found: <html>".to_owned());
        assert!(explain(&not_tb, url).contains("does not answer like a ThingsBoard server"));
        let tls = NetError::Tls("invalid peer certificate: UnknownIssuer".to_owned());
        assert!(explain(&tls, url).contains("certificate of tb.example.com is not trusted"));
        let busy = server_error(
            429,
            ThingsboardErrorCode::TooManyRequests,
            "Too many requests",
        );
        assert!(explain(&busy, url).contains("wait a minute"));
    }

    #[test]
    fn a_changed_pinned_certificate_names_both_fingerprints_and_warns_of_interception() {
        let m = PinMismatch {
            pinned: vec!["AA"; 32].join(":"),
            presented: vec!["BB"; 32].join(":"),
        };
        let err = NetError::Tls(format!(
            "client error (Connect): invalid peer certificate: Other(OtherError({m}))"
        ));
        let text = explain(&err, "https://tb.example.com:8443");
        assert!(
            text.starts_with("The certificate of tb.example.com changed since you trusted it"),
            "{text}"
        );
        assert!(text.contains(&format!("you pinned {}", m.pinned)), "{text}");
        assert!(
            text.contains(&format!("the server presented {}", m.presented)),
            "{text}"
        );
        assert!(text.contains("Someone may be intercepting"), "{text}");
    }

    #[test]
    fn expired_and_misnamed_certificates_say_so_with_the_date_and_the_host() {
        let url = "https://10.0.0.5:8443";
        let expired = NetError::Tls(
            "invalid peer certificate: certificate expired: verification time 1750000000 \
             (UNIX), but certificate is not valid after 1609459200 (140540800 seconds ago)"
                .to_owned(),
        );
        assert!(
            explain(&expired, url).starts_with("The certificate of 10.0.0.5 expired on 2021-01-01"),
            "{}",
            explain(&expired, url)
        );
        let misnamed = NetError::Tls(
            "invalid peer certificate: certificate not valid for name \"10.0.0.5\"; \
             certificate is only valid for DnsName(\"tb.other.example\")"
                .to_owned(),
        );
        assert!(
            explain(&misnamed, url)
                .starts_with("The server's certificate is not valid for 10.0.0.5"),
            "{}",
            explain(&misnamed, url)
        );
        let not_yet = NetError::Tls("invalid peer certificate: NotValidYet".to_owned());
        assert!(explain(&not_yet, url).contains("check this computer's date and time"));
        let ca_file = NetError::Tls("cannot use the CA file /x/ca.pem: not found".to_owned());
        assert!(explain(&ca_file, url).starts_with("The CA file cannot be used"));
    }

    #[tokio::test]
    async fn a_changed_pin_offers_the_presented_certificate_and_an_expired_one_offers_none() {
        let m = PinMismatch {
            pinned: vec!["AA"; 32].join(":"),
            presented: vec!["BB"; 32].join(":"),
        };
        // Port 9 on loopback: nothing to fetch from, so the offer can only come from the text.
        let url = "https://127.0.0.1:9";
        assert_eq!(
            offered_fingerprint(&m.to_string(), url).await,
            Some(m.presented)
        );
        assert_eq!(
            offered_fingerprint("invalid peer certificate: Expired", url).await,
            None
        );
        assert_eq!(
            offered_fingerprint("invalid peer certificate: NotValidForName", url).await,
            None
        );
    }

    #[test]
    fn only_https_urls_have_a_certificate_to_fetch() {
        assert_eq!(
            https_host_port("https://tb.example.com"),
            Some(("tb.example.com".to_owned(), 443))
        );
        assert_eq!(
            https_host_port("https://10.0.0.5:8443/"),
            Some(("10.0.0.5".to_owned(), 8443))
        );
        assert_eq!(https_host_port("http://tb.example.com"), None);
        assert_eq!(https_host_port("not a url"), None);
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = Password("hunter2".to_owned());
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
