//! The UI-thread data model: what the network reported, shaped for the panels.
//!
//! No egui and no tokio here: every type is plain data with methods that apply protocol
//! updates, so the rules (updates before `data`, sequence numbers, bounded series) are unit
//! tested without a socket or a window.
//!
//! | module | role |
//! |---|---|
//! | [`series`] | one time series: bounded by points and age, ordered inserts, gaps, cached min/max decimation |
//! | [`entities`] | an `ENTITY_DATA` subscription's page: premature updates, merges by entity id, values with their age |
//! | [`alarms`] | an `ALARM_DATA` subscription's page by alarm id, alarm counts and alarm status flags |
//! | [`notifications`] | the notification inbox: sequence numbers, the three update variants, the unread count |
//! | [`health`] | connection health: state, round-trip time, message and byte rates, reconnects, last close |

pub mod alarms;
pub mod entities;
pub mod health;
pub mod notifications;
pub mod series;
