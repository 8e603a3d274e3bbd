//! The entity query builder (issue 6).
