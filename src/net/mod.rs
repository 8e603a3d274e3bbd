//! The tokio side: REST login and calls, TLS, and the one socket-owning session.
//!
//! | module | role |
//! |---|---|
//! | [`rest`] | login with 2FA, single-flight token refresh, logout, the REST calls the panels need |
//! | [`tokens`] | the token pair with clock-skew-safe expiry and the refresh schedule |
//! | [`tls`] | rustls configurations: system roots, a custom CA, a pinned self-signed certificate |
//! | [`session`] | the one task that owns the WebSocket: auth, keep-alive, reconnect, replay |
//! | [`subscriptions`] | subscriptions as data: `SubId` ↔ `cmdId`, update rules, framing |
//! | [`event`] | [`NetEvent`] and the bounded, coalescing net → UI queue |
//! | [`backoff`] | capped exponential reconnect backoff with full jitter |
//! | [`error`] | [`NetError`] |

pub mod backoff;
pub mod error;
pub mod event;
pub mod rest;
pub mod session;
pub mod subscriptions;
pub mod tls;
pub mod tokens;

pub use error::NetError;
pub use event::{ConnState, EventQueue, NetEvent, SubId, UiWaker};
pub use session::{NetCommand, NetHandle, SessionConfig, spawn};
pub use subscriptions::SubSpec;
