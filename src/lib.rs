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
//! | [`store`] | UI-thread data model fed by net events | `protocol` |
//! | [`watch`] | `tb-monitor watch`: a session's events as JSON lines | `net`, `store` |
//! | `ui` | egui panels reading the store, pushing commands | `store` |
//! | `app` | the eframe app wiring everything | everything |
//! | `config` | settings file and OS keychain | – |
//! | `demo` | the ThingsBoard-compatible demo server shipped in the binary | `protocol` |
//!
//! [`protocol`], [`demo`], [`net`] (in part) and [`store`] exist so far; the others arrive
//! with their issues.
//!
//! ## Failure handling
//!
//! External input never panics: every decoder returns a typed error that names what
//! failed ([`protocol::ProtocolError`]). Secrets are never printed: the types holding
//! passwords and tokens redact them in `Debug`.

pub mod app;
pub mod demo;
pub mod logging;
pub mod net;
pub mod protocol;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod ui;
pub mod watch;
