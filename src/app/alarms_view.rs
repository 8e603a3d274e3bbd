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

use super::entities_view::Effect;

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

/// Answers of the action tasks.
#[derive(Debug)]
struct Done {
    action: AlarmAction,
    outcomes: Vec<(uuid::Uuid, Outcome)>,
}

/// The Alarms view.
#[derive(Debug)]
pub struct AlarmsView {
    filter: AlarmFilter,
    sort: (&'static str, SortDirection),
    page: i32,
    page_size: i32,
    /// The query last subscribed.
    subscribed: Option<crate::protocol::AlarmDataQuery>,
    selected: BTreeSet<EntityId>,
    cursor: Option<EntityId>,
    scroll_to_cursor: bool,
    columns: Vec<Column>,
    queue: ActionQueue,
    tx: mpsc::Sender<Done>,
    rx: mpsc::Receiver<Done>,
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
            selected: BTreeSet::new(),
            cursor: None,
            scroll_to_cursor: false,
            columns: Column::ALL.to_vec(),
            queue: ActionQueue::default(),
            tx,
            rx,
            focus_search: false,
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
        while let Ok(done) = self.rx.try_recv() {
            for (alarm, outcome) in done.outcomes {
                self.queue.record(alarm, done.action, outcome);
            }
        }
        for pending in self.queue.take_due(now_ms) {
            let me = me(rest).map_or(uuid::Uuid::nil(), |m| m.id);
            let rest = rest.clone();
            let tx = self.tx.clone();
            let ctx = ctx.clone();
            runtime.spawn(async move {
                let outcomes =
                    crate::alarm::actions::run(&rest, pending.action, &pending.alarms, me).await;
                tx.send(Done {
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
        let query = self.filter.query(
            (self.sort.0, self.sort.1.clone()),
            self.page,
            self.page_size,
            me(rest).as_ref(),
        );
        if self.subscribed.as_ref() != Some(&query) {
            let spec = SubSpec::AlarmData(AlarmDataCmd {
                cmd_id: 0,
                query: Some(query.clone()),
            });
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

/// The logged-in user as an entity id (for "assigned to me" and "assign to me").
fn me(rest: &RestClient) -> Option<EntityId> {
    let user = rest.tokens()?.claims().user_id?;
    Some(EntityId::new(EntityType::User, user))
}

mod view;
