//! Frame time of the live entity table (issue 6). Stub: filled in by the table work.
fn main() {}
