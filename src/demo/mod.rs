//! The demo server: a ThingsBoard-compatible REST + WebSocket server with a simulated tenant.
//!
//! Shipped in the binary (`tb-monitor demo-server`, later `tb-monitor --demo`) and used by
//! the tests through its control handle ([`DemoControl`]). Its behaviour follows the
//! protocol reference (`thingsboard-protocol.md`).
//!
//! | module | role |
//! |---|---|
//! | [`world`] | the simulated tenant: users, customers, assets, devices, relations, attributes |
//! | [`signals`] | telemetry as a pure function of (seed, device, key, time) |
//! | [`series`] | raw and aggregated reads over computed and stored points |
//! | [`query`] | entity filters, key filters, sort, paging |
//! | [`alarms`], [`notifications`], [`effects`] | alarm store and rules, notification inboxes, and how a change reaches both |
//! | [`state`] | shared state, tokens, event bus |
//! | [`rest`], [`rest_alarm`] | REST endpoints |
//! | [`ws`], [`strict`], [`ws_entity`], [`ws_alarm`], [`ws_notify`], [`ws_v1`] | WebSocket sessions and each command family's subscriptions |
//! | [`sim`] | the live simulation task |
//! | [`control`] | fault injection and counters for tests |

pub mod alarms;
pub mod config;
pub mod control;
pub mod effects;
pub mod jwt;
pub mod latest;
pub mod notifications;
pub mod query;
pub mod rest;
pub mod rest_alarm;
pub mod rng;
pub mod series;
pub mod server;
pub mod signals;
pub mod sim;
pub mod state;
pub mod strict;
pub mod world;
pub mod ws;
pub mod ws_alarm;
pub mod ws_entity;
pub mod ws_notify;
pub mod ws_v1;

pub use config::{DemoConfig, Limits};
pub use control::{DemoControl, DeviceInfo};
pub use server::DemoServer;
