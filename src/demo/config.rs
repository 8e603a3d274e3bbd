//! Configuration of the demo server; every limit and timeout can be shrunk for tests.

use std::net::SocketAddr;
use std::time::Duration;

/// How the demo server runs.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Address to bind; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// Number of simulated devices.
    pub devices: usize,
    /// Telemetry rate per device (points per second per key).
    pub rate_hz: f64,
    /// Seed of the simulated tenant.
    pub seed: u64,
    /// Access token lifetime.
    pub token_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_ttl: Duration,
    /// How far back history reaches.
    pub history: Duration,
    /// Run the live simulation (telemetry ticks); tests may drive everything by hand.
    pub simulate: bool,
    /// Behave like a server older than 3.6.2: no `/api/ws` (404), only the legacy
    /// `/api/ws/plugins/*?token=` endpoints.
    pub legacy_only: bool,
    /// Protocol limits and timeouts.
    pub limits: Limits,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            devices: 60,
            rate_hz: 1.0,
            seed: 42,
            token_ttl: Duration::from_mins(150),
            refresh_ttl: Duration::from_hours(7 * 24),
            history: Duration::from_hours(7 * 24),
            simulate: true,
            legacy_only: false,
            limits: Limits::default(),
        }
    }
}

impl DemoConfig {
    /// Spacing of the telemetry grid in ms (at least 1).
    #[must_use]
    pub fn period_ms(&self) -> i64 {
        if self.rate_hz.is_finite() && self.rate_hz > 0.0 {
            #[allow(clippy::cast_possible_truncation)]
            let p = (1000.0 / self.rate_hz).round() as i64;
            p.max(1)
        } else {
            1000
        }
    }
}

/// The server-side limits of the reference (§1.3, §9), with ThingsBoard's defaults.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How often the keep-alive task runs (`ping_timeout / 3`).
    pub ping_interval: Duration,
    /// Close with 4500 after this long without a pong.
    pub ping_timeout: Duration,
    /// Close with 1008 when no `authCmd` arrived within this time.
    pub auth_timeout: Duration,
    /// Outbound frames a session may have pending before it is closed with 1008.
    pub max_queue: usize,
    /// Largest inbound text frame (bytes); larger frames close with 1009.
    pub max_frame_bytes: usize,
    /// Most entities one subscription covers.
    pub max_entities: usize,
    /// Period of dynamic page-link refreshes and count re-queries.
    pub refresh_interval: Duration,
    /// Each outbound frame must be written within this time or the session closes with 4500.
    pub send_timeout: Duration,
    /// Sessions per tenant (all users); `None` = unlimited.
    pub max_sessions_per_tenant: Option<usize>,
    /// Sessions per customer (customer users only, as in ThingsBoard); `None` = unlimited.
    pub max_sessions_per_customer: Option<usize>,
    /// The tenant profile's `wsUpdatesPerSessionRateLimit`: at most `n` messages per window
    /// per session. Past it the session gets one `Too many updates!` (code 34) and further
    /// updates are dropped until the window ends. `None` = unlimited (the default profile).
    pub updates_per_session: Option<(u32, Duration)>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(10),
            ping_timeout: Duration::from_secs(30),
            auth_timeout: Duration::from_secs(10),
            max_queue: 1000,
            max_frame_bytes: 32_768,
            max_entities: 10_000,
            refresh_interval: Duration::from_mins(1),
            send_timeout: Duration::from_secs(5),
            max_sessions_per_tenant: None,
            max_sessions_per_customer: None,
            updates_per_session: None,
        }
    }
}
