//! The `tb-monitor` binary.

// A command-line entry point talks to its terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tb_monitor::demo::{DemoConfig, DemoServer};

/// A desktop client for ThingsBoard.
#[derive(Debug, Parser)]
#[command(name = "tb-monitor", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the ThingsBoard-compatible demo server with a simulated tenant until Ctrl-C.
    DemoServer {
        /// Address to listen on (loopback by default).
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Number of simulated devices.
        #[arg(long, default_value_t = 60)]
        devices: usize,
        /// Telemetry points per second per device and key.
        #[arg(long, default_value_t = 1.0)]
        rate: f64,
        /// Seed of the simulated tenant.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Access token lifetime in seconds.
        #[arg(long, default_value_t = 9000)]
        token_ttl: u64,
        /// Refresh token lifetime in seconds.
        #[arg(long, default_value_t = 604_800)]
        refresh_ttl: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::DemoServer {
            bind,
            devices,
            rate,
            seed,
            token_ttl,
            refresh_ttl,
        }) => {
            if !(rate.is_finite() && rate > 0.0 && rate <= 1000.0) {
                eprintln!("tb-monitor: --rate must be between 0 and 1000 points per second");
                return ExitCode::from(2);
            }
            let config = DemoConfig {
                bind,
                devices,
                rate_hz: rate,
                seed,
                token_ttl: Duration::from_secs(token_ttl),
                refresh_ttl: Duration::from_secs(refresh_ttl),
                ..DemoConfig::default()
            };
            run_demo_server(config)
        }
        None => {
            println!(
                "tb-monitor {}: the desktop app is not built yet.\n\
                 Run `tb-monitor demo-server` for the ThingsBoard-compatible demo server, \
                 or `tb-monitor --help`.",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::SUCCESS
        }
    }
}

fn run_demo_server(config: DemoConfig) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tb-monitor: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let devices = config.devices;
        let server = match DemoServer::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("tb-monitor: cannot start the demo server: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "tb-monitor demo server: {} ({devices} devices)",
            server.base_url()
        );
        println!("  WebSocket  {}", server.ws_url());
        println!("  tenant admin   tenant@thingsboard.org / tenant");
        println!("  customer user  customer@thingsboard.org / customer");
        println!(
            "  2FA user       mfa@thingsboard.org / mfa (TOTP secret {})",
            tb_monitor::demo::world::MFA_TOTP_SECRET_BASE32
        );
        println!("Press Ctrl-C to stop.");
        tokio::signal::ctrl_c().await.ok();
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}
