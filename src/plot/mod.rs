//! The Plots view's model, free of egui and tokio: time windows and aggregation intervals,
//! the client-side realtime aggregation, export and the saved plot layouts.
//!
//! | module | role |
//! |---|---|
//! | [`window`] | time windows (realtime, fixed, relative like "yesterday"), time zones, interval math and the 700-interval limit |
//! | [`aggregate`] | ThingsBoard's aggregation functions, shared by the demo server and the client's realtime re-aggregation |
//! | [`export`] | CSV of the visible series and PNG encoding of a plot |
//! | [`layout`] | the plot layout the settings file keeps |

pub mod aggregate;
pub mod export;
pub mod layout;
pub mod window;
