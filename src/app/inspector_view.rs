//! The Inspector: one entity close up through the v1 commands (§4.6), which every server
//! since ThingsBoard 2 answers (a pre-3.6.2 server over its legacy endpoint).
//!
//! * Attributes: one `ATTRIBUTES` subscription per scope (`scope` set; client and shared
//!   only for devices), every key live with its last update time.
//! * Telemetry: one `TIMESERIES` subscription without keys (every key's latest value, then
//!   live, `LATEST_TELEMETRY`). Ticked keys get a second `TIMESERIES` with those keys and a
//!   time window (the window's points, then live) whose points the store keeps as series
//!   (`Store::track_v1_series`), drawn in place by the plot code.
//! * History: a one-shot `TIMESERIES_HISTORY` for the picked keys with start, end,
//!   aggregation, interval and limit; its points in a table, exportable as CSV.
//!
//! Every subscription has its own `SubId` (from [`INSPECTOR_SUB_BASE`], never reused). A
//! new entity, new ticked keys or a new plot window unsubscribes the old ones (the session
//! sends `unsubscribe: true` with the same `cmdId` and the entity's id) and retires them in
//! the store, so nothing of theirs still in flight lands anywhere.

mod view;

use std::collections::BTreeSet;

use tokio::sync::mpsc;

use super::Effect;
use crate::net::{NetCommand, SubId, SubSpec};
use crate::plot::window::{AggFn, Zone};
use crate::protocol::{
    AttributeScope, AttributesSubscriptionCmd, EntityId, EntityType, GetHistoryCmd, TelemetryScope,
    TimeseriesSubscriptionCmd, csv_keys,
};
use crate::store::Store;

/// The first of the Inspector's subscription ids.
pub const INSPECTOR_SUB_BASE: SubId = 3_000_000_000;

/// Plot windows offered for ticked keys (ms).
pub const PLOT_WINDOWS: [(i64, &str); 4] = [
    (5 * 60_000, "5 min"),
    (15 * 60_000, "15 min"),
    (60 * 60_000, "1 h"),
    (6 * 60 * 60_000, "6 h"),
];

/// The most points a history fetch may ask for per key.
pub const MAX_HISTORY_LIMIT: i32 = 50_000;

/// The view's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Attributes by scope.
    Attributes,
    /// Latest telemetry, ticked keys plotted.
    Telemetry,
    /// History of picked keys.
    History,
}

/// The live subscriptions for the entity shown.
#[derive(Debug, Clone, Default)]
struct Subs {
    attributes: Vec<(AttributeScope, SubId)>,
    latest: Option<SubId>,
    /// The plot's subscription and what it was made for (keys, window).
    plot: Option<(SubId, BTreeSet<String>, i64)>,
    history: Option<SubId>,
}

impl Subs {
    fn all(&self) -> Vec<SubId> {
        self.attributes
            .iter()
            .map(|(_, s)| *s)
            .chain(self.latest)
            .chain(self.plot.as_ref().map(|(s, _, _)| *s))
            .chain(self.history)
            .collect()
    }
}

/// The history form.
#[derive(Debug, Clone)]
struct HistoryForm {
    picked: BTreeSet<String>,
    from: String,
    to: String,
    agg: AggFn,
    interval_ms: i64,
    limit: i32,
    /// What the last fetch asked for (shown above the table).
    asked: Option<String>,
    /// The last fetch's raw limit per key (`None` when it aggregated).
    raw_limit: Option<i32>,
}

/// Results of an entity search.
type Found = Result<Vec<(EntityId, String)>, String>;

/// What the view's background requests answer.
enum Reply {
    /// Entities whose name starts with the text searched.
    Found(String, Found),
    /// The name of an entity opened by id only.
    Name(EntityId, String),
    /// What became of an export (for the status bar).
    Notice(String),
}

/// The Inspector view.
pub struct InspectorView {
    entity: Option<(EntityId, String)>,
    subs: Subs,
    next_sub: SubId,
    tab: Tab,
    filter: String,
    plotted: BTreeSet<String>,
    plot_window_ms: i64,
    history: HistoryForm,
    /// The history table built from the last reply, and the fetch it answers.
    table: Option<(SubId, crate::ui::inspector::HistoryTable)>,
    /// Per subscription and key: the point's time last seen, and when (local ms) it changed.
    changed: std::collections::HashMap<SubId, std::collections::HashMap<String, (i64, i64)>>,
    search: String,
    search_type: EntityType,
    found: Option<Found>,
    searching: bool,
    /// The entity's name was asked of the server (it was opened by id only).
    name_asked: bool,
    tx: mpsc::Sender<Reply>,
    rx: mpsc::Receiver<Reply>,
    zone: Zone,
}

impl std::fmt::Debug for InspectorView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InspectorView")
            .field("entity", &self.entity)
            .field("tab", &self.tab)
            .finish_non_exhaustive()
    }
}

impl InspectorView {
    /// No entity yet.
    #[must_use]
    pub fn new(settings: &crate::settings::Settings) -> Self {
        let (tx, rx) = mpsc::channel(4);
        Self {
            entity: None,
            subs: Subs::default(),
            next_sub: INSPECTOR_SUB_BASE,
            tab: Tab::Attributes,
            filter: String::new(),
            plotted: BTreeSet::new(),
            plot_window_ms: PLOT_WINDOWS[1].0,
            history: HistoryForm {
                picked: BTreeSet::new(),
                from: String::new(),
                to: String::new(),
                agg: AggFn::None,
                interval_ms: 60_000,
                limit: 1_000,
                asked: None,
                raw_limit: None,
            },
            table: None,
            changed: std::collections::HashMap::new(),
            search: String::new(),
            search_type: EntityType::Device,
            found: None,
            searching: false,
            name_asked: false,
            tx,
            rx,
            zone: Zone::from_pref(settings.time_zone),
        }
    }

    /// Applies the display settings.
    pub fn apply_settings(&mut self, settings: &crate::settings::Settings) {
        self.zone = Zone::from_pref(settings.time_zone);
    }

    /// The entity shown.
    #[must_use]
    pub fn entity(&self) -> Option<&(EntityId, String)> {
        self.entity.as_ref()
    }

    /// Every live subscription of the view (for tests).
    #[must_use]
    pub fn subscriptions(&self) -> Vec<SubId> {
        self.subs.all()
    }

    /// The attribute subscription of `scope`, if the entity has that scope.
    #[must_use]
    pub fn attributes_sub(&self, scope: &AttributeScope) -> Option<SubId> {
        self.subs
            .attributes
            .iter()
            .find(|(s, _)| s == scope)
            .map(|(_, sub)| *sub)
    }

    /// The latest-telemetry subscription.
    #[must_use]
    pub fn latest_sub(&self) -> Option<SubId> {
        self.subs.latest
    }

    /// The plot's subscription, while keys are ticked.
    #[must_use]
    pub fn plot_sub(&self) -> Option<SubId> {
        self.subs.plot.as_ref().map(|(s, _, _)| *s)
    }

    /// The last history fetch's subscription.
    #[must_use]
    pub fn history_sub(&self) -> Option<SubId> {
        self.subs.history
    }

    /// The ticked keys.
    #[must_use]
    pub fn plotted(&self) -> &BTreeSet<String> {
        &self.plotted
    }

    fn allocate(&mut self) -> SubId {
        let sub = self.next_sub;
        self.next_sub += 1;
        sub
    }

    /// Shows `entity` (from the table, an alarm, a notification or the search): ends the
    /// old entity's subscriptions and subscribes to the new one's attributes and telemetry.
    pub fn open(&mut self, entity: EntityId, name: String, store: &mut Store) -> Vec<Effect> {
        if self.entity.as_ref().is_some_and(|(e, _)| *e == entity) {
            return Vec::new();
        }
        let mut effects = self.end_all(store);
        self.changed.clear();
        self.plotted.clear();
        self.history.picked.clear();
        self.history.asked = None;
        self.table = None;
        let scopes: &[AttributeScope] = if entity.entity_type == EntityType::Device {
            &[
                AttributeScope::Client,
                AttributeScope::Shared,
                AttributeScope::Server,
            ]
        } else {
            &[AttributeScope::Server]
        };
        for scope in scopes {
            let sub = self.allocate();
            self.subs.attributes.push((scope.clone(), sub));
            effects.push(subscribe(
                sub,
                SubSpec::Attributes(AttributesSubscriptionCmd {
                    cmd_id: 0,
                    entity_type: entity.entity_type.clone(),
                    entity_id: entity.id.to_string(),
                    keys: None,
                    scope: Some(scope.clone()),
                    unsubscribe: false,
                }),
            ));
        }
        let latest = self.allocate();
        self.subs.latest = Some(latest);
        effects.push(subscribe(
            latest,
            SubSpec::Timeseries(TimeseriesSubscriptionCmd {
                cmd_id: 0,
                entity_type: entity.entity_type.clone(),
                entity_id: entity.id.to_string(),
                keys: None,
                scope: Some(TelemetryScope::LatestTelemetry),
                unsubscribe: false,
                start_ts: 0,
                time_window: 0,
                interval: 0,
                limit: 0,
                agg: None,
            }),
        ));
        self.name_asked = false;
        self.entity = Some((entity, name));
        effects
    }

    /// Ends every subscription of the view (the entity changed, or the session ends).
    fn end_all(&mut self, store: &mut Store) -> Vec<Effect> {
        let subs = std::mem::take(&mut self.subs);
        subs.all().into_iter().map(|sub| end(sub, store)).collect()
    }

    /// Keeps the plot's subscription in step with the ticked keys and the window; takes
    /// search results.
    pub fn logic(&mut self, store: &mut Store, now_ms: i64) -> Vec<Effect> {
        let mut effects = Vec::new();
        while let Ok(reply) = self.rx.try_recv() {
            match reply {
                Reply::Notice(text) => effects.push(Effect::Notice(text)),
                Reply::Found(asked, found) => {
                    if asked == self.search.trim() {
                        self.found = Some(found);
                        self.searching = false;
                    }
                }
                Reply::Name(id, name) => {
                    if let Some((shown, old)) = &mut self.entity
                        && *shown == id
                    {
                        *old = name;
                    }
                }
            }
        }
        let Some((entity, _)) = self.entity.clone() else {
            return effects;
        };
        let wanted =
            (!self.plotted.is_empty()).then(|| (self.plotted.clone(), self.plot_window_ms));
        let current = self
            .subs
            .plot
            .as_ref()
            .map(|(_, keys, window)| (keys.clone(), *window));
        if wanted != current {
            if let Some((old, _, _)) = self.subs.plot.take() {
                effects.push(end(old, store));
            }
            if let Some((keys, window)) = wanted {
                let sub = self.allocate();
                store.track_v1_series(sub, entity.clone());
                effects.push(subscribe(
                    sub,
                    SubSpec::Timeseries(TimeseriesSubscriptionCmd {
                        cmd_id: 0,
                        entity_type: entity.entity_type.clone(),
                        entity_id: entity.id.to_string(),
                        keys: Some(csv_keys(&keys.iter().collect::<Vec<_>>())),
                        scope: None,
                        unsubscribe: false,
                        start_ts: now_ms.saturating_sub(window),
                        time_window: window,
                        interval: 0,
                        limit: crate::store::series::SeriesLimits::DEFAULT_MAX_POINTS
                            .try_into()
                            .unwrap_or(i32::MAX)
                            .min(MAX_HISTORY_LIMIT),
                        agg: None,
                    }),
                ));
                self.subs.plot = Some((sub, keys, window));
            }
        }
        effects
    }

    /// Asks for the picked keys' history (a new one-shot subscription).
    fn fetch_history(&mut self, store: &mut Store, range: (i64, i64)) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some((entity, _)) = self.entity.clone() else {
            return effects;
        };
        if let Some(old) = self.subs.history.take() {
            effects.push(end(old, store));
        }
        self.table = None;
        let sub = self.allocate();
        // Waiting for the reply: the slot says so, and marks the sub's messages as history.
        store
            .subs
            .insert(sub, crate::store::SubData::V1History(None));
        let keys: Vec<&String> = self.history.picked.iter().collect();
        let agg = self.history.agg;
        let cmd = GetHistoryCmd {
            cmd_id: 0,
            entity_type: entity.entity_type.clone(),
            entity_id: entity.id.to_string(),
            keys: csv_keys(&keys),
            start_ts: range.0,
            end_ts: range.1,
            interval: if agg == AggFn::None {
                0
            } else {
                self.history.interval_ms
            },
            limit: self.history.limit.clamp(1, MAX_HISTORY_LIMIT),
            agg: Some(agg.to_wire()),
        };
        self.history.asked = Some(format!(
            "{} from {} to {}{}",
            csv_keys(&keys),
            self.zone.format(range.0),
            self.zone.format(range.1),
            if agg == AggFn::None {
                format!(", raw, at most {} points per key", cmd.limit)
            } else {
                format!(
                    ", {} per {}",
                    agg.label(),
                    crate::plot::window::format_duration(cmd.interval)
                )
            }
        ));
        self.history.raw_limit = (agg == AggFn::None).then_some(cmd.limit);
        effects.push(subscribe(sub, SubSpec::History(cmd)));
        self.subs.history = Some(sub);
        effects
    }
}

fn subscribe(sub: SubId, spec: SubSpec) -> Effect {
    Effect::Net(Box::new(NetCommand::Subscribe { sub, spec }))
}

/// Unsubscribes `sub` and retires it in the store.
fn end(sub: SubId, store: &mut Store) -> Effect {
    store.retire(sub);
    Effect::Net(Box::new(NetCommand::Unsubscribe { sub }))
}
