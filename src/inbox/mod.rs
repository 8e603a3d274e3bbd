//! The notification center's logic that needs no egui: what a notification looks like and
//! where its action button leads ([`look`]), and which new notifications become desktop
//! notices ([`notify`]).

pub mod look;
pub mod notify;
