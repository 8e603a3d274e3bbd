//! Logging: tracing to stderr and a rotating file in the data dir. Never a password or token.
//!
//! (Interface stub: issue 5's logging increment fills this in.)
