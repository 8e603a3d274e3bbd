//! The eframe app. [`TbApp`] is either on the login screen ([`login`] runs the attempts off
//! the UI thread) or [`live`]: one session whose events it drains into the
//! [`crate::store::Store`] in `logic` and whose panels it lays out in `ui`.

pub mod alarms_view;
pub mod entities_view;
pub mod inbox_view;
pub mod inspector_view;
pub mod live;
pub mod login;
pub mod plots_view;
mod shell;
pub mod system_tray;
pub mod tray;

pub use shell::{AppConfig, Start, TbApp};

use std::sync::Arc;
use std::time::Duration;

use crate::demo::{DemoConfig, DemoServer};
use crate::net::rest::{LoginOutcome, RestClient};
use crate::net::tls::TlsTrust;
use crate::net::{SubId, SubSpec, UiWaker};
use crate::protocol::WsCmd;

/// The entity table's subscription.
pub const ENTITIES_SUB: SubId = 1;
/// The alarm badge's subscription (active unacknowledged alarms).
pub const ALARM_COUNT_SUB: SubId = 2;
/// The bell's subscription (unread notifications).
pub const UNREAD_SUB: SubId = 3;

/// How long `logic` may spend applying events before it yields the frame.
pub const DRAIN_BUDGET: Duration = Duration::from_millis(8);

/// Wakes egui when network events arrive, at most as often as the frame-rate cap allows
/// (Settings → Appearance; changed live through [`EguiWaker::set_frame_rate`]).
#[derive(Debug, Clone)]
pub struct EguiWaker {
    ctx: egui::Context,
    /// The delay after an event before the frame that shows it (ms).
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl EguiWaker {
    /// A waker of `ctx` capped at `frames_per_second`.
    #[must_use]
    pub fn new(ctx: egui::Context, frames_per_second: u32) -> Self {
        let waker = Self {
            ctx,
            delay_ms: Arc::default(),
        };
        waker.set_frame_rate(frames_per_second);
        waker
    }

    /// Caps the frames that network events cause at `frames_per_second` (at least 1).
    pub fn set_frame_rate(&self, frames_per_second: u32) {
        let delay = 1_000 / u64::from(frames_per_second.max(1));
        self.delay_ms
            .store(delay, std::sync::atomic::Ordering::Relaxed);
    }
}

impl UiWaker for EguiWaker {
    fn wake(&self) {
        let delay = self.delay_ms.load(std::sync::atomic::Ordering::Relaxed);
        self.ctx.request_repaint_after(Duration::from_millis(delay));
    }
}

/// A logged-in server.
#[derive(Debug, Clone)]
pub struct Session {
    /// The server's URL (shown in the top bar).
    pub server: String,
    /// The user's e-mail.
    pub user: String,
    /// The REST client holding the tokens.
    pub rest: RestClient,
    /// Something the user should know about this login (e.g. the password could not be
    /// remembered).
    pub notice: Option<String>,
}

/// Starts the embedded demo server and logs in as its tenant admin.
///
/// # Errors
/// The server cannot bind, or the login fails (both would be bugs).
pub async fn demo_session(config: DemoConfig) -> Result<(Session, DemoServer), String> {
    let server = DemoServer::start(config)
        .await
        .map_err(|e| format!("cannot start the demo server: {e}"))?;
    let rest = RestClient::new(&server.base_url(), TlsTrust::System).map_err(|e| e.to_string())?;
    let user = "tenant@thingsboard.org";
    match rest
        .login(user, "tenant")
        .await
        .map_err(|e| e.to_string())?
    {
        LoginOutcome::LoggedIn(_) => {}
        LoginOutcome::SecondFactor(_) => return Err("the demo tenant asked for 2FA".to_owned()),
    }
    Ok((
        Session {
            server: format!("demo server {}", server.base_url()),
            user: user.to_owned(),
            rest,
            notice: None,
        },
        server,
    ))
}

/// The entity table's query at start: every device with its common telemetry.
#[must_use]
pub fn default_entities_query() -> crate::protocol::EntityDataQuery {
    default_subscriptions()
        .into_iter()
        .find_map(|(sub, spec)| match spec {
            SubSpec::EntityData(cmd) if sub == ENTITIES_SUB => cmd.query,
            _ => None,
        })
        .unwrap_or_else(|| {
            crate::protocol::EntityDataQuery::new(
                crate::protocol::EntityFilter::EntityType(crate::protocol::EntityTypeFilter {
                    entity_type: crate::protocol::EntityType::Device,
                }),
                crate::protocol::EntityDataPageLink::first(100),
            )
            .with_fields(["name", "type"])
        })
}

/// The subscriptions the shell opens: the entity table, the alarm badge and the bell.
#[must_use]
pub fn default_subscriptions() -> Vec<(SubId, SubSpec)> {
    let frame = include_str!("../../assets/queries/app_default.json");
    let Ok(message) = serde_json::from_str::<crate::protocol::ClientMessage>(frame) else {
        return Vec::new();
    };
    let ids = [ENTITIES_SUB, ALARM_COUNT_SUB, UNREAD_SUB];
    message
        .cmds
        .into_iter()
        .filter_map(|c: WsCmd| SubSpec::from_cmd(c))
        .zip(ids)
        .map(|(spec, id)| (id, spec))
        .collect()
}

fn now_ms() -> i64 {
    crate::net::tokens::now_ms()
}

/// The entities of `entity_type` whose name starts with `text` (at most `limit`, by name),
/// with their names: what the entity pickers of the query builder and the plots offer.
///
/// # Errors
/// The REST call's failure, as a sentence.
pub(crate) async fn search_entities_by_name(
    rest: &crate::net::rest::RestClient,
    entity_type: crate::protocol::EntityType,
    text: String,
    limit: i32,
) -> Result<Vec<(crate::protocol::EntityId, String)>, String> {
    use crate::protocol::{EntityDataPageLink, EntityDataQuery, EntityFilter, EntityKey};
    let page_link = EntityDataPageLink::first(limit).sorted_by(
        EntityKey::field("name"),
        crate::protocol::SortDirection::Asc,
    );
    let query = EntityDataQuery::new(EntityFilter::by_name(entity_type, text), page_link)
        .with_fields(["name"]);
    let page = rest
        .find_entities(&query)
        .await
        .map_err(|e| e.to_string())?;
    Ok(page
        .data
        .into_iter()
        .map(|row| {
            let name = row
                .latest
                .as_ref()
                .and_then(|l| l.get(&crate::protocol::EntityKeyType::EntityField))
                .and_then(|fields| fields.get("name"))
                .and_then(|v| v.value.as_ref())
                .map_or_else(|| row.entity_id.id.to_string(), |v| v.as_str().to_owned());
            (row.entity_id, name)
        })
        .collect())
}

/// What a view (Entities, Plots, Alarms) asks of the live session; `Live` carries it out
/// after drawing, so no view touches the network, the store or the clipboard directly.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send this to the session.
    Net(Box<crate::net::NetCommand>),
    /// Forget a subscription's data (its query changed shape).
    Forget(SubId),
    /// Forget a subscription whose id is never used again, and drop its late messages.
    Retire(SubId),
    /// The next page of this alarm subscription answers the user's filter, sort or page
    /// change: none of its alarms is new.
    NewAlarmView(SubId),
    /// Copy to the clipboard.
    Copy(String),
    /// Show a message in the status bar.
    Notice(String),
    /// The settings changed (saved queries): save them.
    SettingsChanged,
    /// Open another view for this entity (plots, inspector, alarms).
    Open(crate::ui::View, crate::protocol::EntityId),
    /// Follow a notification's action: show its alarm, open its entity or its link (with
    /// the alarm's originator and name, when known).
    Follow(
        crate::inbox::look::Target,
        Option<(crate::protocol::EntityId, String)>,
    ),
    /// Plot every time series of an entity around a moment (an alarm's start).
    PlotAround {
        /// The entity.
        entity: crate::protocol::EntityId,
        /// Its name.
        name: String,
        /// The moment (epoch ms).
        at_ms: i64,
    },
    /// Plot these time-series keys of an entity (a new plot in the Plots view).
    Plot {
        /// The entity.
        entity: crate::protocol::EntityId,
        /// The keys.
        keys: Vec<String>,
    },
}

/// A file the user saves: the name the dialog suggests, its filter (name, extension), the
/// bytes, and what it is in the status bar's words ("the query").
pub(crate) struct SaveRequest {
    pub file_name: String,
    pub filter: (&'static str, &'static str),
    pub bytes: Vec<u8>,
    pub what: &'static str,
}

/// Asks where to save (the system's dialog, awaited on the runtime so the frame never
/// waits) and writes the file; returns the sentence for the status bar, or `None` when the
/// user cancelled.
pub(crate) async fn save_file_as(request: SaveRequest) -> Option<String> {
    let SaveRequest {
        file_name,
        filter: (filter, extension),
        bytes,
        what,
    } = request;
    let file = rfd::AsyncFileDialog::new()
        .add_filter(filter, &[extension])
        .set_file_name(&file_name)
        .save_file()
        .await?;
    let path = file.path().to_owned();
    Some(match tokio::fs::write(&path, bytes).await {
        Ok(()) => format!("Exported {what} to {}", path.display()),
        Err(e) => format!("Cannot write {}: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waker_delays_frames_by_the_frame_rate_cap_and_never_below_one_a_second() {
        let waker = EguiWaker::new(egui::Context::default(), 10);
        let delay = || waker.delay_ms.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(delay(), 100);
        waker.set_frame_rate(60);
        assert_eq!(delay(), 16);
        waker.set_frame_rate(0);
        assert_eq!(delay(), 1_000);
    }

    #[test]
    fn the_default_subscriptions_are_the_table_the_alarm_badge_and_the_bell() {
        let subs = default_subscriptions();
        let ids: Vec<SubId> = subs.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [ENTITIES_SUB, ALARM_COUNT_SUB, UNREAD_SUB]);
        assert!(matches!(subs[0].1, SubSpec::EntityData(_)));
        assert!(matches!(subs[1].1, SubSpec::AlarmCount(_)));
        assert!(matches!(subs[2].1, SubSpec::NotificationsCount(_)));
    }
}
