//! What the loopback benches (`latency.rs`, `saturation.rs`) share: the subscription they
//! measure (sub 1: the latest `temperature` of the thermostats), how they read the sequence
//! numbers pushed as values back out of an update, the waker of their "UI" thread, and the
//! login that starts the client's session.

use std::error::Error;
use std::thread::Thread;

use tb_monitor::demo::DemoServer;
use tb_monitor::net::event::UiWaker;
use tb_monitor::net::rest::{LoginOutcome, RestClient};
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::net::{EventQueue, NetEvent, NetHandle, SessionConfig, SubId, SubSpec};
use tb_monitor::protocol::{EntityDataCmd, EntityKeyType, ServerMessage};

/// The UI's id for the subscription.
pub const SUB: SubId = 1;
/// The key pushed and subscribed to.
pub const KEY: &str = "temperature";

/// The latest [`KEY`] of every thermostat, one page of up to 100.
pub fn latest_spec() -> Result<SubSpec, serde_json::Error> {
    let cmd: EntityDataCmd = serde_json::from_value(serde_json::json!({
        "cmdId": 0,
        "query": {
            "entityFilter": {"type": "deviceType", "deviceTypes": ["thermostat"]},
            "pageLink": {"pageSize": 100, "page": 0},
            "entityFields": [{"type": "ENTITY_FIELD", "key": "name"}],
            "latestValues": [{"type": "TIME_SERIES", "key": KEY}]
        },
        "latestCmd": {"keys": [{"type": "TIME_SERIES", "key": KEY}]}
    }))?;
    Ok(SubSpec::EntityData(cmd))
}

/// The sequence numbers a live update carries (values of [`KEY`] in `update` rows).
pub fn sequences(event: &NetEvent, out: &mut Vec<u64>) {
    let NetEvent::Message { sub: SUB, msg } = event else {
        return;
    };
    let ServerMessage::EntityData(u) = msg.as_ref() else {
        return;
    };
    for row in u.update.iter().flatten() {
        if let Some(seq) = row
            .latest_value(&EntityKeyType::TimeSeries, KEY)
            .and_then(|v| v.value.as_ref())
            .and_then(|v| v.as_str().parse::<u64>().ok())
        {
            out.push(seq);
        }
    }
}

/// Wakes the UI thread: unparks it (a wake before the park is not lost).
pub struct UnparkWaker(pub Thread);

impl UiWaker for UnparkWaker {
    fn wake(&self) {
        self.0.unpark();
    }
}

/// Logs in to `server` as the demo tenant and starts a session (on the current runtime)
/// that reports to `queue`.
pub async fn login_and_spawn(
    server: &DemoServer,
    queue: EventQueue,
) -> Result<NetHandle, Box<dyn Error + Send + Sync>> {
    let rest = RestClient::new(&server.base_url(), TlsTrust::System)?;
    match rest.login("tenant@thingsboard.org", "tenant").await? {
        LoginOutcome::LoggedIn(_) => {}
        other @ LoginOutcome::SecondFactor(_) => {
            return Err(format!("unexpected login outcome: {other:?}").into());
        }
    }
    Ok(tb_monitor::net::spawn(
        &tokio::runtime::Handle::current(),
        rest,
        SessionConfig::default(),
        queue,
    ))
}
