//! The `tb-monitor` binary.

// A command-line entry point talks to its terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--version" | "-V") => {
            println!("tb-monitor {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h") | None => {
            println!(
                "tb-monitor {}: a desktop client for ThingsBoard.\n\n\
                 This build contains the protocol model only; the desktop app and the demo \
                 server are not built yet.\n\nOptions:\n  -V, --version  print the version\n  \
                 -h, --help     print this help",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("tb-monitor: unknown argument `{other}` (try --help)");
            ExitCode::from(2)
        }
    }
}
