//! # tb-monitor
//!
//! A native desktop client (egui/eframe) with which field engineers watch a ThingsBoard IoT
//! platform live over its WebSocket API.
//!
//! ## Architecture
//!
//! One crate, layered by convention (see `ARCHITECTURE.md`):
//!
//! | module | role | depends on |
//! |---|---|---|
//! | [`protocol`] | pure serde model of the wire protocol, no I/O | nothing of ours |
//! | [`net`] | tokio side: REST login, the one socket-owning session task | `protocol` |
//! | [`store`] | UI-thread data model fed by net events | `protocol`, `plot::aggregate` |
//! | [`watch`] | `tb-monitor watch`: a session's events as JSON lines | `net`, `store` |
//! | [`ui`] | egui panels reading the store or a form, returning actions | `store`, `settings` |
//! | [`app`] | the eframe app: login screen or a live session, wiring everything | everything |
//! | [`alarm`] | the Alarms view model: desktop notices (grouping, rate limit), actions with undo | `protocol`, `net::rest`, `store` |
//! | [`inbox`] | the notification center's model: a notification's icon and action, desktop notices for new ones | `protocol`, `settings` |
//! | [`plot`] | the Plots view model: time windows, aggregation, export, layouts | `protocol`, `store` |
//! | [`settings`] | `settings.toml`: server profiles and preferences | `net::tls` |
//! | [`secrets`] | the OS keychain behind a trait (passwords, refresh tokens) | – |
//! | [`logging`] | tracing to stderr and a rotating file | – |
//! | [`demo`] | the ThingsBoard-compatible demo server shipped in the binary | `protocol`, `plot::aggregate` |
//!
//! ## Failure handling
//!
//! External input never panics: every decoder returns a typed error that names what
//! failed ([`protocol::ProtocolError`]). Secrets are never printed: the types holding
//! passwords and tokens redact them in `Debug`.

pub mod alarm;
pub mod app;
pub mod demo;
pub mod inbox;
pub mod logging;
pub mod net;
pub mod plot;
pub mod protocol;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod ui;
pub mod watch;

/// An error with its whole source chain, "outer: inner: root", without repeating a source
/// whose text the outer one already contains ("error sending request" alone says nothing).
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}
