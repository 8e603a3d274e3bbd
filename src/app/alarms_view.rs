//! The Alarms view: the filter bar, the live alarm list (one `ALARM_DATA` subscription,
//! paged by re-sending the same `cmdId`), selection and keyboard triage, actions with an
//! undo window, and the details pane.
//!
//! Keyboard (when no text field has the focus): `j`/`k` or the arrows move the cursor,
//! `x` or space selects, `a` acknowledges, `c` clears, `m` assigns to me, `u` unassigns
//! (the selection, else the cursor's alarm), `/` searches, Escape clears the selection.

use std::collections::BTreeSet;

use tokio::sync::mpsc;

use crate::alarm::actions::{ActionQueue, AlarmAction, Outcome};
use crate::alarm::filter::{AlarmFilter, Scope};
use crate::net::rest::RestClient;
use crate::net::{NetCommand, SubId, SubSpec};
use crate::plot::window::Zone;
use crate::protocol::{AlarmDataCmd, EntityId, EntityType, SortDirection};
use crate::ui::alarms::Column;

use super::Effect;

/// The Alarms view's `ALARM_DATA` subscription.
pub const ALARMS_VIEW_SUB: SubId = 6;

/// The subscription that feeds desktop notices and the badge's tint: every active alarm of
/// every device (propagated ones included), newest first.
pub const ALARM_NOTIFY_SUB: SubId = 7;

/// Active alarms watched for notices (the newest this many).
const NOTIFY_PAGE: i32 = 500;

/// The spec of [`ALARM_NOTIFY_SUB`].
#[must_use]
pub fn notify_spec() -> SubSpec {
    let query =
        AlarmFilter::default().query(("createdTime", SortDirection::Desc), 0, NOTIFY_PAGE, None);
    SubSpec::AlarmData(AlarmDataCmd {
        cmd_id: 0,
        query: Some(query),
    })
}

/// Page sizes offered.
const PAGE_SIZES: [i32; 4] = [50, 100, 500, 1_000];

/// Answers of the view's tasks.
#[derive(Debug)]
enum Reply {
    /// An action finished on every alarm it took.
    Done {
        action: AlarmAction,
        outcomes: Vec<(uuid::Uuid, Outcome)>,
    },
    /// The newest value of each time series of an alarm's originator.
    Latest {
        originator: EntityId,
        values: Result<Vec<LatestValue>, String>,
    },
}

/// One time series' newest point: key, time, value text.
pub type LatestValue = (String, i64, String);

/// An originator's newest points, or why they could not be read.
pub type LatestValues = Result<Vec<LatestValue>, String>;

/// The Alarms view.
#[derive(Debug)]
pub struct AlarmsView {
    filter: AlarmFilter,
    sort: (&'static str, SortDirection),
    page: i32,
    page_size: i32,
    /// The query last subscribed, and what it was built from.
    subscribed: Option<crate::protocol::AlarmDataQuery>,
    subscribed_for: Option<OwnedInputs>,
    /// The logged-in user (from the access token).
    me: Option<EntityId>,
    selected: BTreeSet<EntityId>,
    cursor: Option<EntityId>,
    scroll_to_cursor: bool,
    columns: Vec<Column>,
    queue: ActionQueue,
    tx: mpsc::Sender<Reply>,
    rx: mpsc::Receiver<Reply>,
    /// The originator whose latest values the details pane shows, and them.
    latest: Option<(EntityId, Option<LatestValues>)>,
    focus_search: bool,
    zone: Zone,
}

impl AlarmsView {
    /// Every active alarm of every device, newest first.
    #[must_use]
    pub fn new(settings: &crate::settings::Settings) -> Self {
        let (tx, rx) = mpsc::channel(16);
        Self {
            filter: AlarmFilter::default(),
            sort: ("createdTime", SortDirection::Desc),
            page: 0,
            page_size: 100,
            subscribed: None,
            subscribed_for: None,
            me: None,
            selected: BTreeSet::new(),
            cursor: None,
            scroll_to_cursor: false,
            columns: Column::ALL.to_vec(),
            queue: ActionQueue::default(),
            tx,
            rx,
            focus_search: false,
            latest: None,
            zone: Zone::from_pref(settings.time_zone),
        }
    }

    /// The filter (for tests).
    #[must_use]
    pub fn filter(&self) -> &AlarmFilter {
        &self.filter
    }

    /// The selected alarms.
    #[must_use]
    pub fn selected(&self) -> &BTreeSet<EntityId> {
        &self.selected
    }

    /// The actions and their outcomes.
    #[must_use]
    pub fn queue(&self) -> &ActionQueue {
        &self.queue
    }

    /// Lists the alarms of one entity (opened from a table row).
    pub fn show_entity(&mut self, id: EntityId, name: String) {
        self.filter.scope = Scope::Entity { id, name };
        self.page = 0;
    }

    /// Shows one alarm (a notification's action): every alarm of its originator whatever
    /// their status or age (every alarm when the originator is unknown), with this one under
    /// the cursor, selected and its details open.
    pub fn show_alarm(&mut self, alarm: uuid::Uuid, originator: Option<(EntityId, String)>) {
        self.filter = AlarmFilter {
            status: crate::alarm::filter::StatusChoice::Any,
            scope: originator.map_or(Scope::AllDevices, |(id, name)| Scope::Entity { id, name }),
            ..AlarmFilter::default()
        };
        self.page = 0;
        self.sort = ("createdTime", SortDirection::Desc);
        let id = EntityId::new(crate::protocol::EntityType::Alarm, alarm);
        self.selected = BTreeSet::from([id.clone()]);
        self.cursor = Some(id);
        self.scroll_to_cursor = true;
    }

    /// The alarm under the cursor (its details are shown).
    #[must_use]
    pub fn cursor(&self) -> Option<&EntityId> {
        self.cursor.as_ref()
    }

    /// Applies the display settings.
    pub fn apply_settings(&mut self, settings: &crate::settings::Settings) {
        self.zone = Zone::from_pref(settings.time_zone);
    }

    /// Keeps the subscription in step with the filter and runs due actions.
    pub fn logic(
        &mut self,
        rest: &RestClient,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
        now_ms: i64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        while let Ok(reply) = self.rx.try_recv() {
            match reply {
                Reply::Done { action, outcomes } => {
                    for (alarm, outcome) in outcomes {
                        self.queue.record(alarm, action, outcome);
                    }
                }
                Reply::Latest { originator, values } => {
                    if let Some((shown, slot)) = &mut self.latest
                        && *shown == originator
                    {
                        *slot = Some(values);
                    }
                }
            }
        }
        for pending in self.queue.take_due(now_ms) {
            let rest = rest.clone();
            let tx = self.tx.clone();
            let ctx = ctx.clone();
            runtime.spawn(async move {
                // The user for "assign to me": the token's claim, else asked of the server.
                let outcomes = match crate::alarm::actions::me(&rest).await {
                    Ok(me) => {
                        crate::alarm::actions::run(&rest, pending.action, &pending.alarms, me).await
                    }
                    Err(e) => {
                        let why = crate::alarm::actions::plain_words(&e);
                        pending
                            .alarms
                            .iter()
                            .map(|a| (*a, Outcome::Failed(why.clone())))
                            .collect()
                    }
                };
                tx.send(Reply::Done {
                    action: pending.action,
                    outcomes,
                })
                .await
                .ok();
                ctx.request_repaint();
            });
        }
        if !self.queue.pending().is_empty() {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
        // The logged-in user does not change within a session: read it from the token once.
        if self.me.is_none() {
            self.me = me(rest);
        }
        let inputs = QueryInputs {
            filter: &self.filter,
            sort: (self.sort.0, &self.sort.1),
            page: self.page,
            page_size: self.page_size,
            me: self.me.as_ref(),
        };
        // Built only when something it depends on changed, not every frame.
        if self
            .subscribed_for
            .as_ref()
            .is_none_or(|old| !old.same(&inputs))
        {
            let query = self.filter.query(
                (self.sort.0, self.sort.1.clone()),
                self.page,
                self.page_size,
                self.me.as_ref(),
            );
            self.subscribed_for = Some(inputs.owned());
            let spec = SubSpec::AlarmData(AlarmDataCmd {
                cmd_id: 0,
                query: Some(query.clone()),
            });
            if self.subscribed.is_some() {
                effects.push(Effect::NewAlarmView(ALARMS_VIEW_SUB));
            }
            let cmd = if self.subscribed.is_some() {
                NetCommand::Update {
                    sub: ALARMS_VIEW_SUB,
                    spec,
                }
            } else {
                NetCommand::Subscribe {
                    sub: ALARMS_VIEW_SUB,
                    spec,
                }
            };
            effects.push(Effect::Net(Box::new(cmd)));
            self.subscribed = Some(query);
        }
        effects
    }
}

impl AlarmsView {
    /// Fetches the newest value of each time series of `originator` for the details pane
    /// (once per originator shown).
    pub(super) fn want_latest(
        &mut self,
        originator: &EntityId,
        rest: &RestClient,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
    ) {
        if self.latest.as_ref().is_some_and(|(o, _)| o == originator) {
            return;
        }
        self.latest = Some((originator.clone(), None));
        let rest = rest.clone();
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        let originator = originator.clone();
        runtime.spawn(async move {
            let values = latest_values(&rest, &originator).await;
            tx.send(Reply::Latest { originator, values }).await.ok();
            ctx.request_repaint();
        });
    }
}

/// The newest point of every time series of `entity`, by key.
async fn latest_values(rest: &RestClient, entity: &EntityId) -> Result<Vec<LatestValue>, String> {
    let keys = rest
        .timeseries_keys(entity)
        .await
        .map_err(|e| e.to_string())?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let query = crate::net::rest::TimeseriesQuery {
        keys,
        start_ts: 0,
        end_ts: super::now_ms(),
        interval: None,
        limit: Some(1),
        agg: None,
    };
    let values = rest
        .timeseries_values(entity, &query)
        .await
        .map_err(|e| e.to_string())?;
    Ok(values
        .into_iter()
        .filter_map(|(key, points)| {
            let p = points.into_iter().max_by_key(|p| p.ts)?;
            let text = p.value.as_ref().map_or("", |v| v.as_str()).to_owned();
            Some((key, p.ts, text))
        })
        .collect())
}

/// What the list's query is built from, borrowed for the per-frame comparison.
struct QueryInputs<'a> {
    filter: &'a AlarmFilter,
    sort: (&'static str, &'a SortDirection),
    page: i32,
    page_size: i32,
    me: Option<&'a EntityId>,
}

/// [`QueryInputs`] kept from the last subscription.
#[derive(Debug)]
struct OwnedInputs {
    filter: AlarmFilter,
    sort: (&'static str, SortDirection),
    page: i32,
    page_size: i32,
    me: Option<EntityId>,
}

impl QueryInputs<'_> {
    fn owned(&self) -> OwnedInputs {
        OwnedInputs {
            filter: self.filter.clone(),
            sort: (self.sort.0, self.sort.1.clone()),
            page: self.page,
            page_size: self.page_size,
            me: self.me.cloned(),
        }
    }
}

impl OwnedInputs {
    fn same(&self, now: &QueryInputs<'_>) -> bool {
        self.filter == *now.filter
            && self.sort.0 == now.sort.0
            && self.sort.1 == *now.sort.1
            && (self.page, self.page_size) == (now.page, now.page_size)
            && self.me.as_ref() == now.me
    }
}

/// The logged-in user as an entity id (for "assigned to me" and "assign to me").
fn me(rest: &RestClient) -> Option<EntityId> {
    let user = rest.tokens()?.claims().user_id?;
    Some(EntityId::new(EntityType::User, user))
}

mod view;
