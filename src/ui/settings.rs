//! The Settings view.
//!
//! (Interface stub: issue 5's settings increment fills this in.)
