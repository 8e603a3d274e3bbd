//! The login screen.
