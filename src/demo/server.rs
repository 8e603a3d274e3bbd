//! [`DemoServer`]: binds, serves REST and WebSocket, runs the simulation, stops cleanly.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::config::DemoConfig;
use super::control::DemoControl;
use super::state::{Event, Shared};
use super::{rest, rest_alarm, sim, ws};

/// A running demo server. Dropping it (or [`DemoServer::shutdown`]) stops it.
#[derive(Debug)]
pub struct DemoServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    serve: Option<JoinHandle<()>>,
    sim: Option<JoinHandle<()>>,
}

/// Accepts TCP connections, dropping them at once while the server "restarts".
struct GatedListener {
    inner: TcpListener,
    shared: Arc<Shared>,
}

impl axum::serve::Listener for GatedListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let refusing = {
                        let mut st = self.shared.lock();
                        let refusing = st.refuse_until.is_some_and(|t| Instant::now() < t);
                        if refusing {
                            st.stats.ws_connection_attempts += 1;
                        }
                        refusing
                    };
                    if refusing {
                        drop(stream);
                        continue;
                    }
                    stream.set_nodelay(true).ok();
                    return (stream, addr);
                }
                // Out of file descriptors and the like: back off briefly, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let telemetry = "/api/plugins/telemetry/{entity_type}/{entity_id}";
    Router::new()
        .route("/api/auth/login", post(rest::login))
        .route("/api/auth/token", post(rest::refresh))
        .route("/api/auth/user", get(rest::current_user))
        .route("/api/auth/logout", post(rest::logout))
        .route("/api/auth/2fa/providers", get(rest::two_fa_providers))
        .route("/api/auth/2fa/verification/send", post(rest::two_fa_send))
        .route("/api/auth/2fa/verification/check", post(rest::two_fa_check))
        .route("/api/entitiesQuery/find", post(rest::entities_find))
        .route("/api/entitiesQuery/count", post(rest::entities_count))
        .route(
            "/api/entitiesQuery/find/keys",
            post(rest::entities_find_keys),
        )
        .route(&format!("{telemetry}/keys/timeseries"), get(rest::ts_keys))
        .route(
            &format!("{telemetry}/keys/attributes"),
            get(rest::attr_keys),
        )
        .route(
            &format!("{telemetry}/keys/attributes/{{scope}}"),
            get(rest::attr_keys),
        )
        .route(
            &format!("{telemetry}/values/timeseries"),
            get(rest::ts_values),
        )
        .route(
            &format!("{telemetry}/values/attributes"),
            get(rest::attr_values),
        )
        .route(
            &format!("{telemetry}/values/attributes/{{scope}}"),
            get(rest::attr_values),
        )
        .route("/api/notifications", get(rest::notifications_list))
        .route(
            "/api/notifications/unread/count",
            get(rest::notifications_unread_count),
        )
        .route(
            "/api/notifications/read",
            axum::routing::put(rest::notifications_read_all),
        )
        .route(
            "/api/notification/{id}/read",
            axum::routing::put(rest::notification_read),
        )
        .route(
            "/api/notification/{id}",
            axum::routing::delete(rest::notification_delete),
        )
        .route("/api/alarm/{id}/ack", post(rest_alarm::ack))
        .route("/api/alarm/{id}/clear", post(rest_alarm::clear))
        .route(
            "/api/alarm/{id}/assign/{assignee}",
            post(rest_alarm::assign),
        )
        .route(
            "/api/alarm/{id}/assign",
            axum::routing::delete(rest_alarm::unassign),
        )
        .route("/api/alarm/{id}", axum::routing::delete(rest_alarm::delete))
        .route("/api/alarm/info/{id}", get(rest_alarm::info))
        .route("/api/v2/alarms", get(rest_alarm::list_v2))
        .route("/api/alarmsQuery/find", post(rest_alarm::query_find))
        .route("/api/ws", get(ws::general))
        .route("/api/ws/plugins/telemetry", get(ws::legacy_telemetry))
        .route(
            "/api/ws/plugins/notifications",
            get(ws::legacy_notifications),
        )
        .route("/api/ws/", get(ws::unknown))
        .route("/api/ws/{*rest}", get(ws::unknown))
        .with_state(shared)
}

impl DemoServer {
    /// Binds `config.bind` and starts serving; returns once the port is open.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(config: DemoConfig) -> io::Result<Self> {
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let simulate = config.simulate;
        let shared = Arc::new(Shared::new(config));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(Arc::clone(&shared));
        let gated = GatedListener {
            inner: listener,
            shared: Arc::clone(&shared),
        };
        let serve = tokio::spawn(async move {
            axum::serve(gated, app)
                .with_graceful_shutdown(async {
                    stopped.await.ok();
                })
                .await
                .ok();
        });
        let sim = simulate.then(|| tokio::spawn(sim::run(Arc::clone(&shared))));
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            serve: Some(serve),
            sim,
        })
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, the base of every REST path.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://host:port/api/ws`.
    #[must_use]
    pub fn ws_url(&self) -> String {
        format!("ws://{}/api/ws", self.addr)
    }

    /// The control handle (fault injection, scripted pushes, counters).
    #[must_use]
    pub fn control(&self) -> DemoControl {
        DemoControl::new(Arc::clone(&self.shared))
    }

    /// Stops serving: closes every session with 1001 and waits (bounded) for the server task.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(serve) = self.serve.take() {
            let abort = serve.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), serve)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    fn stop_now(&mut self) {
        self.shared.publish(Event::DropAll { graceful: true });
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(sim) = self.sim.take() {
            sim.abort();
        }
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.stop_now();
        if let Some(serve) = self.serve.take() {
            // Sessions got their close; do not let a stuck connection keep the task alive.
            let abort = serve.abort_handle();
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(async move {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        abort.abort();
                    });
                }
                // Dropped outside the runtime (e.g. after it shut down): stop at once.
                Err(_) => abort.abort(),
            }
        }
    }
}
