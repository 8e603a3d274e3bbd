//! The Alarms view's model, free of egui: which alarms reach the user as desktop
//! notifications (grouped, rate-limited, quiet mode), and the acknowledge / clear / assign
//! actions with their undo window and per-alarm outcomes.
//!
//! | module | role |
//! |---|---|
//! | [`notify`] | new and escalated alarms → grouped, rate-limited notices (desktop, toast, sound) |
//! | [`filter`] | the list's filter and the `ALARM_DATA` query it makes |
//! | [`actions`] | single and bulk alarm actions: undo window, REST calls, per-alarm errors |

pub mod actions;
pub mod filter;
pub mod notify;
