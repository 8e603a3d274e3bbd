//! The Entities view: the query builder beside the live table. It owns the running query,
//! turns builder and table actions into subscription updates, and runs the REST calls the
//! builder needs (entity search for pickers, the matched entities' keys) as tasks that
//! answer through a bounded channel polled each frame.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::net::rest::RestClient;
use crate::net::{NetCommand, SubId, SubSpec};
use crate::protocol::{
    AlarmDataCmd, AlarmDataPageLink, AlarmDataQuery, AlarmSearchStatus, AlarmSeverity,
    EntityCountCmd, EntityDataCmd, EntityDataQuery, EntityFilter, EntityId, EntityKey, EntityType,
    LatestValueCmd,
};
use crate::settings::{SavedQuery, Settings};
use crate::store::{Store, SubData};
use crate::ui::entities::{EntitiesPanel, TableAction};
use crate::ui::query::{QueryAction, QueryBuilder};

use super::ENTITIES_SUB;
use super::Effect;

/// The builder's live count preview (`ENTITY_COUNT` of the query being edited).
pub const COUNT_PREVIEW_SUB: SubId = 4;
/// Active alarms of the table's entities (their highest severity per row).
pub const TABLE_ALARMS_SUB: SubId = 5;

/// How long the builder must be still before the count preview is re-run.
const PREVIEW_DEBOUNCE: Duration = Duration::from_millis(300);
/// Entity-name search results offered by a picker.
const SEARCH_RESULTS: i32 = 20;
/// Alarms read for the table's severity badges.
const TABLE_ALARMS: i32 = 1000;
/// The entity fields every entity has (the builder offers them as columns).
const ENTITY_FIELDS: [&str; 4] = ["name", "type", "label", "createdTime"];

/// What a REST task reports.
#[derive(Debug)]
enum Reply {
    Search {
        request_id: u64,
        results: Result<Vec<(EntityId, String)>, String>,
    },
    Keys(Result<crate::net::rest::EntityKeys, String>),
    /// A query file picked for import, read (or why not).
    Imported(Result<(std::path::PathBuf, String), String>),
    /// Something to tell the user (an export's outcome).
    Notice(String),
}

/// The Entities view.
#[derive(Debug)]
pub struct EntitiesView {
    builder: QueryBuilder,
    table: EntitiesPanel,
    /// The query the table shows.
    query: EntityDataQuery,
    columns: Vec<EntityKey>,
    show_builder: bool,
    preview_due: Option<Instant>,
    count_version: Option<u64>,
    alarms: HashMap<EntityId, AlarmSeverity>,
    alarms_read: Option<Instant>,
    /// Whether the builder lists the saved queries of the settings (they change only here).
    saved_names_synced: bool,
    /// One `ALARM_STATUS` subscription per entity in view: a new alarm shows on its row at
    /// once, even while the alarm list's re-fetch is throttled (10 a minute).
    status_subs: std::collections::BTreeMap<EntityId, SubId>,
    next_status_sub: SubId,
    status_synced: Option<Instant>,
    tx: mpsc::Sender<Reply>,
    rx: mpsc::Receiver<Reply>,
}

/// The first `SubId` of the rows' `ALARM_STATUS` subscriptions (ids only grow).
pub const STATUS_SUB_BASE: SubId = 1_000_000_000;

/// Most rows whose alarm status is watched (a screenful).
const MAX_STATUS_SUBS: usize = 64;

/// The table's columns: entity fields, then latest values, in the query's order.
fn columns_of(query: &EntityDataQuery) -> Vec<EntityKey> {
    query
        .entity_fields
        .iter()
        .flatten()
        .chain(query.latest_values.iter().flatten())
        .cloned()
        .collect()
}

/// The `ENTITY_DATA` command of a query: its latest values subscribed live.
#[must_use]
pub fn entity_data_spec(query: &EntityDataQuery) -> SubSpec {
    let mut cmd = EntityDataCmd::query(0, query.clone());
    let keys: Vec<EntityKey> = query.latest_values.iter().flatten().cloned().collect();
    if !keys.is_empty() {
        cmd.latest_cmd = Some(LatestValueCmd { keys });
    }
    SubSpec::EntityData(cmd)
}

/// The active alarms of the entities a query matches (for the rows' severity badges).
#[must_use]
pub fn table_alarms_spec(filter: &EntityFilter) -> SubSpec {
    let mut page_link =
        AlarmDataPageLink::first(TABLE_ALARMS).with_statuses([AlarmSearchStatus::Active]);
    page_link.dynamic = true;
    // A window, so the server catches up re-fetches it skipped past its limit.
    page_link.time_window = crate::alarm::filter::ANY_AGE_MS;
    SubSpec::AlarmData(AlarmDataCmd {
        cmd_id: 0,
        query: Some(AlarmDataQuery::new(filter.clone(), page_link)),
    })
}

impl EntitiesView {
    /// The view showing `query`.
    #[must_use]
    pub fn new(query: EntityDataQuery) -> Self {
        let (tx, rx) = mpsc::channel(64);
        Self {
            builder: QueryBuilder::from_query(&query),
            table: EntitiesPanel::default(),
            columns: columns_of(&query),
            query,
            show_builder: true,
            preview_due: None,
            count_version: None,
            alarms: HashMap::new(),
            alarms_read: None,
            saved_names_synced: false,
            status_subs: std::collections::BTreeMap::new(),
            next_status_sub: STATUS_SUB_BASE,
            status_synced: None,
            tx,
            rx,
        }
    }

    /// The query the table shows.
    #[must_use]
    pub fn query(&self) -> &EntityDataQuery {
        &self.query
    }

    /// The subscriptions of the table: its entities and their active alarms.
    #[must_use]
    pub fn subscriptions(&self) -> Vec<(SubId, SubSpec)> {
        vec![
            (ENTITIES_SUB, entity_data_spec(&self.query)),
            (
                TABLE_ALARMS_SUB,
                table_alarms_spec(&self.query.entity_filter),
            ),
        ]
    }

    /// Per-frame work: REST answers, the debounced count preview, the count and alarms from
    /// the store.
    pub fn logic(
        &mut self,
        store: &Store,
        rest: &RestClient,
        runtime: &tokio::runtime::Handle,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        while let Ok(reply) = self.rx.try_recv() {
            match reply {
                Reply::Search {
                    request_id,
                    results,
                } => match results {
                    Ok(r) => {
                        self.builder.set_search_results(request_id, r);
                    }
                    Err(e) => effects.push(Effect::Notice(format!("entity search failed: {e}"))),
                },
                Reply::Keys(Ok(keys)) => self.builder.set_available_keys(
                    ENTITY_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
                    keys.attribute,
                    keys.timeseries,
                ),
                Reply::Keys(Err(e)) => {
                    tracing::info!("the matched entities' keys are unavailable: {e}");
                }
                Reply::Imported(Ok((path, text))) => {
                    effects.push(Effect::Notice(match self.builder.import_json(&text) {
                        Ok(()) => format!("Imported {}: Run to show it", path.display()),
                        Err(e) => format!("Cannot import {}: {e}", path.display()),
                    }));
                }
                Reply::Imported(Err(e)) | Reply::Notice(e) => effects.push(Effect::Notice(e)),
            }
        }
        if self.preview_due.is_some_and(|due| Instant::now() >= due) {
            self.preview_due = None;
            effects.extend(self.run_preview(rest, runtime));
        }
        if let Some(SubData::EntityCount(count)) = store.subs.get(&COUNT_PREVIEW_SUB)
            && self.count_version != Some(count.version())
        {
            self.count_version = Some(count.version());
            let value = match (count.count(), count.last_error()) {
                (_, Some(e)) => Some(Err(e.message.clone())),
                (Some(n), None) => Some(Ok(n)),
                (None, None) => None,
            };
            self.builder.set_count(value);
        }
        self.read_alarms(store);
        effects
    }

    /// The count preview and the offered keys for the query being edited.
    fn run_preview(&mut self, rest: &RestClient, runtime: &tokio::runtime::Handle) -> Vec<Effect> {
        let Ok(count) = self.builder.count_query() else {
            return vec![Effect::Net(Box::new(NetCommand::Unsubscribe {
                sub: COUNT_PREVIEW_SUB,
            }))];
        };
        if let Ok(query) = self.builder.build() {
            let rest = rest.clone();
            let tx = self.tx.clone();
            runtime.spawn(async move {
                let keys = rest
                    .find_entity_keys(&query)
                    .await
                    .map_err(|e| e.to_string());
                tx.send(Reply::Keys(keys)).await.ok();
            });
        }
        vec![Effect::Net(Box::new(NetCommand::Update {
            sub: COUNT_PREVIEW_SUB,
            spec: SubSpec::EntityCount(EntityCountCmd {
                cmd_id: 0,
                query: Some(count),
            }),
        }))]
    }

    /// The highest active severity per entity, re-read at most twice a second.
    fn read_alarms(&mut self, store: &Store) {
        if self
            .alarms_read
            .is_some_and(|t| t.elapsed() < Duration::from_millis(500))
        {
            return;
        }
        self.alarms_read = Some(Instant::now());
        self.alarms.clear();
        if let Some(SubData::Alarms(page)) = store.subs.get(&TABLE_ALARMS_SUB) {
            for alarm in page.rows().iter().filter(|a| !a.cleared) {
                let worst = self
                    .alarms
                    .entry(alarm.originator.clone())
                    .or_insert_with(|| alarm.severity.clone());
                if alarm.severity.rank() < worst.rank() {
                    *worst = alarm.severity.clone();
                }
            }
        }
    }

    /// Runs `query` in the table.
    fn run(&mut self, query: EntityDataQuery) -> Vec<Effect> {
        let filter_changed = query.entity_filter != self.query.entity_filter;
        let shape_changed = filter_changed || columns_of(&query) != self.columns;
        self.columns = columns_of(&query);
        self.query = query;
        let mut effects = Vec::new();
        if shape_changed {
            effects.push(Effect::Forget(ENTITIES_SUB));
        }
        effects.push(Effect::Net(Box::new(NetCommand::Update {
            sub: ENTITIES_SUB,
            spec: entity_data_spec(&self.query),
        })));
        if filter_changed {
            effects.push(Effect::Forget(TABLE_ALARMS_SUB));
            effects.push(Effect::Net(Box::new(NetCommand::Update {
                sub: TABLE_ALARMS_SUB,
                spec: table_alarms_spec(&self.query.entity_filter),
            })));
        }
        effects
    }

    /// Draws the view.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        store: &Store,
        settings: &mut Settings,
        rest: &RestClient,
        runtime: &tokio::runtime::Handle,
        now_ms: i64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        ui.horizontal(|ui| {
            ui.heading("Entities");
            let label = if self.show_builder {
                "Hide query"
            } else {
                "Edit query"
            };
            if ui.button(label).clicked() {
                self.show_builder = !self.show_builder;
            }
        });
        if self.show_builder {
            let names = settings
                .saved_queries
                .iter()
                .map(|q| q.name.clone())
                .collect();
            self.builder.set_saved_queries(names);
            let mut actions = Vec::new();
            egui::Panel::left("query_builder")
                .resizable(true)
                .default_size(380.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        actions = self.builder.show(ui);
                    });
                });
            for action in actions {
                effects.extend(self.on_query_action(action, settings, rest, runtime, ui.ctx()));
            }
        }
        let page = match store.subs.get(&ENTITIES_SUB) {
            Some(SubData::Entities(p)) => Some(p),
            _ => None,
        };
        let sort = self.query.page_link.sort_order.clone();
        self.table
            .set_paging(self.query.page_link.page, self.query.page_link.page_size);
        self.table.set_active_alarms(self.active_by_status(store));
        self.table.set_frame_rate(settings.max_frame_rate);
        let action = egui::CentralPanel::default()
            .show(ui, |ui| {
                self.table
                    .show(ui, page, &self.columns, &self.alarms, sort.as_ref(), now_ms)
            })
            .inner;
        if let Some(action) = action {
            effects.extend(self.on_table_action(action));
        }
        if !store.legacy_server {
            effects.extend(self.sync_status_subs());
        }
        effects
    }

    /// The entities in view whose `ALARM_STATUS` says an alarm is active.
    fn active_by_status(&self, store: &Store) -> std::collections::HashSet<EntityId> {
        self.status_subs
            .iter()
            .filter(|(_, sub)| {
                matches!(store.subs.get(sub), Some(SubData::AlarmStatus(f)) if f.active() == Some(true))
            })
            .map(|(entity, _)| entity.clone())
            .collect()
    }

    /// Watches the alarm status of the rows in view (checked every 300 ms, so scrolling
    /// does not churn subscriptions every frame): new rows subscribe, rows gone retire.
    fn sync_status_subs(&mut self) -> Vec<Effect> {
        if self
            .status_synced
            .is_some_and(|t| t.elapsed() < Duration::from_millis(300))
        {
            return Vec::new();
        }
        self.status_synced = Some(Instant::now());
        let wanted: Vec<EntityId> = self
            .table
            .visible_entities()
            .iter()
            .take(MAX_STATUS_SUBS)
            .cloned()
            .collect();
        let mut effects = Vec::new();
        let gone: Vec<EntityId> = self
            .status_subs
            .keys()
            .filter(|e| !wanted.contains(e))
            .cloned()
            .collect();
        for entity in gone {
            if let Some(sub) = self.status_subs.remove(&entity) {
                effects.push(Effect::Net(Box::new(NetCommand::Unsubscribe { sub })));
                effects.push(Effect::Retire(sub));
            }
        }
        for entity in wanted {
            if self.status_subs.contains_key(&entity) {
                continue;
            }
            let sub = self.next_status_sub;
            self.next_status_sub += 1;
            let spec = SubSpec::AlarmStatus(crate::protocol::AlarmStatusCmd {
                cmd_id: 0,
                originator_id: entity.clone(),
                type_list: None,
                severity_list: None,
            });
            effects.push(Effect::Net(Box::new(NetCommand::Subscribe { sub, spec })));
            self.status_subs.insert(entity, sub);
        }
        effects
    }

    /// The `ALARM_STATUS` subscription of each entity in view.
    #[must_use]
    pub fn status_subscriptions(&self) -> &std::collections::BTreeMap<EntityId, SubId> {
        &self.status_subs
    }

    fn on_table_action(&mut self, action: TableAction) -> Vec<Effect> {
        let mut query = self.query.clone();
        match action {
            TableAction::Sort(order) => {
                query.page_link.sort_order = Some(order);
                query.page_link.page = 0;
            }
            TableAction::Page(page) => query.page_link.page = page.max(0),
            TableAction::PageSize(size) => {
                query.page_link.page_size = size;
                query.page_link.page = 0;
            }
            TableAction::Plot { entity, keys } => {
                return vec![Effect::Plot { entity, keys }];
            }
            TableAction::Inspect(entity) => {
                return vec![Effect::Open(crate::ui::View::Inspector, entity)];
            }
            TableAction::ShowAlarms(entity) => {
                return vec![Effect::Open(crate::ui::View::Alarms, entity)];
            }
            TableAction::CopyId(entity) => return vec![Effect::Copy(entity.id.to_string())],
        }
        // Keep the builder in step with what the table shows.
        self.builder.load_query(&query);
        self.run(query)
    }

    fn on_query_action(
        &mut self,
        action: QueryAction,
        settings: &mut Settings,
        rest: &RestClient,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
    ) -> Vec<Effect> {
        match action {
            QueryAction::SearchEntities {
                request_id,
                entity_type,
                text,
            } => {
                self.search(request_id, entity_type, text, rest, runtime, ctx);
                Vec::new()
            }
            QueryAction::Changed => {
                self.preview_due = Some(Instant::now() + PREVIEW_DEBOUNCE);
                ctx.request_repaint_after(PREVIEW_DEBOUNCE);
                Vec::new()
            }
            QueryAction::Run => match self.builder.build() {
                Ok(query) => self.run(query),
                Err(problems) => vec![Effect::Notice(format!(
                    "The query has {} problem(s): {}",
                    problems.len(),
                    problems.first().map_or("", |p| p.message.as_str())
                ))],
            },
            QueryAction::CopyWsCommand(text) => vec![
                Effect::Copy(text),
                Effect::Notice("Copied the WebSocket command".to_owned()),
            ],
            QueryAction::Export(text) => {
                self.export(text, runtime, ctx);
                Vec::new()
            }
            QueryAction::Import => {
                self.import(runtime, ctx);
                Vec::new()
            }
            QueryAction::SaveAs(name) => match self.builder.saved_query(&name) {
                Ok(saved) => {
                    upsert_saved(settings, saved);
                    self.saved_names_synced = false;
                    vec![
                        Effect::SettingsChanged,
                        Effect::Notice(format!("Saved the query \"{name}\"")),
                    ]
                }
                Err(problems) => vec![Effect::Notice(format!(
                    "Cannot save \"{name}\": {}",
                    problems.first().map_or("", |p| p.message.as_str())
                ))],
            },
            QueryAction::Load(name) => {
                match settings
                    .saved_queries
                    .iter()
                    .find(|q| q.name == name)
                    .map(SavedQuery::query)
                {
                    Some(Ok(query)) => {
                        self.builder.load_query(&query);
                        vec![Effect::Notice(format!("Loaded \"{name}\": Run to show it"))]
                    }
                    Some(Err(e)) => vec![Effect::Notice(format!("Cannot load \"{name}\": {e}"))],
                    None => Vec::new(),
                }
            }
            QueryAction::Delete(name) => {
                settings.saved_queries.retain(|q| q.name != name);
                self.saved_names_synced = false;
                vec![
                    Effect::SettingsChanged,
                    Effect::Notice(format!("Deleted the query \"{name}\"")),
                ]
            }
        }
    }

    fn search(
        &self,
        request_id: u64,
        entity_type: EntityType,
        text: String,
        rest: &RestClient,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
    ) {
        let rest = rest.clone();
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        runtime.spawn(async move {
            let results =
                super::search_entities_by_name(&rest, entity_type, text, SEARCH_RESULTS).await;
            tx.send(Reply::Search {
                request_id,
                results,
            })
            .await
            .ok();
            ctx.request_repaint();
        });
    }

    /// Picks a query file with the system's dialog and reads it, as a task: the dialog
    /// must not hold the frame. The answer arrives as [`Reply::Imported`].
    fn import(&self, runtime: &tokio::runtime::Handle, ctx: &egui::Context) {
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        runtime.spawn(async move {
            let Some(file) = rfd::AsyncFileDialog::new()
                .add_filter("JSON", &["json"])
                .pick_file()
                .await
            else {
                return;
            };
            let path = file.path().to_owned();
            let read = tokio::fs::read_to_string(&path)
                .await
                .map(|text| (path.clone(), text))
                .map_err(|e| format!("Cannot read {}: {e}", path.display()));
            tx.send(Reply::Imported(read)).await.ok();
            ctx.request_repaint();
        });
    }

    /// Saves `text` where the user picks, as a task.
    fn export(&self, text: String, runtime: &tokio::runtime::Handle, ctx: &egui::Context) {
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        runtime.spawn(async move {
            let request = super::SaveRequest {
                file_name: "query.json".to_owned(),
                filter: ("JSON", "json"),
                bytes: text.into_bytes(),
                what: "the query",
            };
            if let Some(notice) = super::save_file_as(request).await {
                tx.send(Reply::Notice(notice)).await.ok();
                ctx.request_repaint();
            }
        });
    }
}

fn upsert_saved(settings: &mut Settings, saved: SavedQuery) {
    if let Some(slot) = settings
        .saved_queries
        .iter_mut()
        .find(|q| q.name == saved.name)
    {
        *slot = saved;
    } else {
        settings.saved_queries.push(saved);
    }
}
