//! The tokio side: REST login and calls, TLS, and (next) the one socket-owning session.
//!
//! | module | role |
//! |---|---|
//! | [`rest`] | login with 2FA, single-flight token refresh, logout, the REST calls the panels need |
//! | [`tokens`] | the token pair with clock-skew-safe expiry and the refresh schedule |
//! | [`tls`] | rustls configurations: system roots, a custom CA, a pinned self-signed certificate |
//! | [`backoff`] | capped exponential reconnect backoff with full jitter |
//! | [`error`] | [`NetError`] |

pub mod backoff;
pub mod error;
pub mod rest;
pub mod tls;
pub mod tokens;

pub use error::NetError;
