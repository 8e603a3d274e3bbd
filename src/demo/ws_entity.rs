//! `ENTITY_DATA` and `ENTITY_COUNT` subscriptions of one WebSocket session (§4.1, §4.2).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::query::QueryContext;
use super::series::Grid;
use super::state::{State, reader};
use super::world::{DemoUser, Scope};
use crate::protocol::{
    AggKey, Aggregation, ComparisonTsValue, CountDataKind, EntityCountCmd, EntityCountUpdate,
    EntityData, EntityDataCmd, EntityDataKind, EntityDataQuery, EntityDataUpdate, EntityId,
    EntityKey, EntityKeyType, PageData, ServerMessage, TelemetrySubscriptionUpdate, TsValue,
};

/// What handling a command or event produces.
#[derive(Debug)]
pub enum Outcome {
    /// Send this message.
    Send(ServerMessage),
    /// Close the socket with this code (ThingsBoard closes on runtime failures).
    Close(u16, String),
}

/// Close code for a runtime failure inside `ENTITY_DATA` processing.
pub const SERVICE_RESTARTED: u16 = 1012;

/// Default point limit of time series commands (`limit` 0 → 100).
pub(super) fn effective_limit(limit: i32) -> usize {
    if limit <= 0 {
        100
    } else {
        usize::try_from(limit).unwrap_or(100)
    }
}

/// One `ENTITY_DATA` subscription.
#[derive(Debug, Default)]
struct DataSub {
    query: Option<EntityDataQuery>,
    page: Vec<EntityId>,
    on_page: HashSet<EntityId>,
    latest_keys: Vec<EntityKey>,
    ts_keys: HashSet<String>,
    ts_entities: HashSet<EntityId>,
    agg_ts_keys: HashSet<String>,
    initial_sent: bool,
    last_latest: HashMap<(EntityId, EntityKeyType, String), TsValue>,
    newest_ts: HashMap<(EntityId, String), TsValue>,
}

/// One `ENTITY_COUNT` subscription.
#[derive(Debug)]
struct CountSub {
    query: crate::protocol::EntityCountQuery,
    last: i64,
}

/// The `ENTITY_DATA` and `ENTITY_COUNT` subscriptions of a session.
#[derive(Debug, Default)]
pub struct EntitySubs {
    data: BTreeMap<i32, DataSub>,
    counts: BTreeMap<i32, CountSub>,
    /// Send one premature `update` before the first `data` (the race of §4.1).
    pub premature_updates: bool,
}

/// What the handlers need from the server while the state is locked.
pub struct Ctx<'a> {
    /// Locked server state.
    pub st: &'a State,
    /// Who asks.
    pub user: &'a DemoUser,
    /// Computed-point grid.
    pub grid: Grid,
}

impl Ctx<'_> {
    /// The entity-query context of this session's user.
    pub(super) fn query_ctx(&self) -> QueryContext<'_> {
        self.st.query_context(self.user)
    }
}

/// An error reply in the v1 shape (§3), as every command family sends them.
pub(super) fn v1_error(cmd_id: i32, code: i32, msg: impl Into<String>) -> Outcome {
    Outcome::Send(ServerMessage::Telemetry(
        TelemetrySubscriptionUpdate::error(cmd_id, code, msg),
    ))
}

fn data_msg(cmd_id: i32, page: PageData<EntityData>, allowed: usize) -> ServerMessage {
    ServerMessage::EntityData(EntityDataUpdate {
        cmd_id,
        data: Some(page),
        update: None,
        error_code: 0,
        error_msg: None,
        allowed_entities: i32::try_from(allowed).unwrap_or(i32::MAX),
        kind: EntityDataKind,
    })
}

fn update_msg(cmd_id: i32, rows: Vec<EntityData>, allowed: usize) -> ServerMessage {
    ServerMessage::EntityData(EntityDataUpdate {
        cmd_id,
        data: None,
        update: Some(rows),
        error_code: 0,
        error_msg: None,
        allowed_entities: i32::try_from(allowed).unwrap_or(i32::MAX),
        kind: EntityDataKind,
    })
}

impl EntitySubs {
    /// Number of live subscriptions (data + count).
    #[must_use]
    pub fn len(&self) -> usize {
        self.data.len() + self.counts.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `ENTITY_DATA`: the server flow of §4.1 step by step.
    #[allow(clippy::too_many_lines)] // mirrors the reference's numbered flow; split when alarms reuse parts
    pub fn entity_data(
        &mut self,
        cmd: &EntityDataCmd,
        ctx: &Ctx<'_>,
        allowed: usize,
    ) -> Vec<Outcome> {
        let has_sub = cmd.latest_cmd.is_some()
            || cmd.ts_cmd.is_some()
            || cmd.history_cmd.is_some()
            || cmd.agg_history_cmd.is_some()
            || cmd.agg_ts_cmd.is_some();
        if cmd.query.is_none() && !has_sub {
            return vec![v1_error(cmd.cmd_id, 2, "Query is empty!")];
        }
        let is_new = !self.data.contains_key(&cmd.cmd_id);
        if is_new && cmd.query.is_none() {
            // The server dereferences the missing query context: the socket dies.
            return vec![Outcome::Close(SERVICE_RESTARTED, String::new())];
        }
        if let Err(reason) = validate_sub_commands(cmd) {
            tracing::debug!(%reason, "demo: ENTITY_DATA runtime failure");
            return vec![Outcome::Close(SERVICE_RESTARTED, String::new())];
        }
        let sub = self.data.entry(cmd.cmd_id).or_default();
        if has_sub {
            sub.latest_keys.clear();
            sub.ts_keys.clear();
            sub.ts_entities.clear();
            sub.agg_ts_keys.clear();
        }
        if let Some(q) = &cmd.query {
            let mut q = q.clone();
            if let Some(latest) = &cmd.latest_cmd {
                let list = q.latest_values.get_or_insert_with(Vec::new);
                for k in &latest.keys {
                    if !list.contains(k) {
                        list.push(k.clone());
                    }
                }
            }
            sub.query = Some(q);
        }
        let Some(query) = sub.query.clone() else {
            return vec![Outcome::Close(SERVICE_RESTARTED, String::new())];
        };
        let mut page = match ctx.query_ctx().find(&query) {
            Ok(p) => p,
            Err(e) => {
                self.data.remove(&cmd.cmd_id);
                return vec![v1_error(cmd.cmd_id, 1, e.0)];
            }
        };
        let Some(sub) = self.data.get_mut(&cmd.cmd_id) else {
            return Vec::new();
        };
        sub.page = page.data.iter().map(|r| r.entity_id.clone()).collect();
        sub.on_page = sub.page.iter().cloned().collect();
        if let Some(latest) = &cmd.latest_cmd {
            sub.latest_keys = latest
                .keys
                .iter()
                .filter(|k| k.key_type != EntityKeyType::EntityField)
                .cloned()
                .collect();
        }
        // Sub-commands: fetch series for every entity on the page.
        for row in &mut page.data {
            let Some(e) = ctx.st.world.entity(&row.entity_id) else {
                continue;
            };
            if let Some(ts) = &cmd.ts_cmd {
                let end = ts.start_ts.saturating_add(ts.time_window);
                let series = fetch(
                    ctx,
                    e,
                    &ts.keys,
                    ts.start_ts,
                    end,
                    ts.interval,
                    ts.limit,
                    ts.agg.as_ref(),
                    ts.fetch_latest_previous_point,
                );
                match series {
                    Ok(s) => row.timeseries = Some(s),
                    Err(_) => return vec![Outcome::Close(SERVICE_RESTARTED, String::new())],
                }
            }
            if let Some(h) = &cmd.history_cmd {
                let series = fetch(
                    ctx,
                    e,
                    &h.keys,
                    h.start_ts,
                    h.end_ts,
                    h.interval,
                    h.limit,
                    h.agg.as_ref(),
                    h.fetch_latest_previous_point,
                );
                match series {
                    Ok(s) => row.timeseries = Some(s),
                    Err(_) => return vec![Outcome::Close(SERVICE_RESTARTED, String::new())],
                }
            }
            if let Some(a) = &cmd.agg_history_cmd {
                row.agg_latest = Some(aggregates(ctx, e, &a.keys, a.start_ts, a.end_ts));
            }
            if let Some(a) = &cmd.agg_ts_cmd {
                row.agg_latest = Some(aggregates(
                    ctx,
                    e,
                    &a.keys,
                    a.start_ts,
                    a.start_ts.saturating_add(a.time_window),
                ));
            }
            // Remember what the client has, so live updates only carry news.
            if let Some(latest) = &row.latest {
                for (kt, keys) in latest {
                    for (k, v) in keys {
                        sub.last_latest
                            .insert((row.entity_id.clone(), kt.clone(), k.clone()), v.clone());
                    }
                }
            }
            if let Some(ts) = &row.timeseries {
                for (k, points) in ts {
                    if let Some(newest) = points.iter().max_by_key(|p| p.ts) {
                        sub.newest_ts
                            .insert((row.entity_id.clone(), k.clone()), newest.clone());
                    }
                }
            }
        }
        if let Some(ts) = &cmd.ts_cmd {
            sub.ts_keys = ts.keys.iter().cloned().collect();
            sub.ts_entities = sub.on_page.clone();
        }
        if let Some(a) = &cmd.agg_ts_cmd {
            sub.agg_ts_keys = a.keys.iter().map(|k| k.key.clone()).collect();
        }
        let mut out = Vec::new();
        if !sub.initial_sent {
            if self.premature_updates
                && let Some(first) = page.data.first()
                && first.latest.is_some()
            {
                out.push(Outcome::Send(update_msg(
                    cmd.cmd_id,
                    vec![EntityData {
                        entity_id: first.entity_id.clone(),
                        latest: first.latest.clone(),
                        timeseries: None,
                        agg_latest: None,
                    }],
                    allowed,
                )));
            }
            sub.initial_sent = true;
            out.push(Outcome::Send(data_msg(cmd.cmd_id, page, allowed)));
        } else if has_sub {
            out.push(Outcome::Send(update_msg(cmd.cmd_id, page.data, allowed)));
        }
        out
    }

    /// `ENTITY_DATA_UNSUBSCRIBE`.
    pub fn unsubscribe_data(&mut self, cmd_id: i32) {
        self.data.remove(&cmd_id);
    }

    /// `ENTITY_COUNT`: the count now; later only changes. A live `cmdId` is ignored.
    pub fn entity_count(&mut self, cmd: &EntityCountCmd, ctx: &Ctx<'_>) -> Vec<Outcome> {
        if self.counts.contains_key(&cmd.cmd_id) {
            return Vec::new();
        }
        let Some(query) = &cmd.query else {
            return vec![v1_error(cmd.cmd_id, 2, "Query is empty!")];
        };
        match ctx.query_ctx().count(query) {
            Ok(count) => {
                self.counts.insert(
                    cmd.cmd_id,
                    CountSub {
                        query: query.clone(),
                        last: count,
                    },
                );
                vec![Outcome::Send(count_msg(cmd.cmd_id, count))]
            }
            Err(e) => vec![v1_error(cmd.cmd_id, 1, e.0)],
        }
    }

    /// `ENTITY_COUNT_UNSUBSCRIBE`.
    pub fn unsubscribe_count(&mut self, cmd_id: i32) {
        self.counts.remove(&cmd_id);
    }

    /// New time series points: `update`s for the subscriptions that cover them, one
    /// message per entity and kind (latest values, series), as the server sends them.
    pub fn on_telemetry(
        &mut self,
        batch: &[(EntityId, String, TsValue)],
        allowed: usize,
    ) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        for (&cmd_id, sub) in &mut self.data {
            let mut latest_rows: BTreeMap<&EntityId, BTreeMap<String, TsValue>> = BTreeMap::new();
            let mut ts_rows: BTreeMap<&EntityId, BTreeMap<String, Vec<TsValue>>> = BTreeMap::new();
            for (entity, key, point) in batch {
                if !sub.on_page.contains(entity) {
                    continue;
                }
                let wants_latest = sub
                    .latest_keys
                    .iter()
                    .any(|k| k.key_type == EntityKeyType::TimeSeries && k.key == *key)
                    || sub.agg_ts_keys.contains(key);
                if wants_latest {
                    let slot = (entity.clone(), EntityKeyType::TimeSeries, key.clone());
                    let newer = sub.last_latest.get(&slot).is_none_or(|cur| {
                        point.ts > cur.ts || (point.ts == cur.ts && point.value != cur.value)
                    });
                    // Deletions ({ts:0,value:""}) are always forwarded.
                    if newer || point.is_empty_marker() {
                        sub.last_latest.insert(slot, point.clone());
                        latest_rows
                            .entry(entity)
                            .or_default()
                            .insert(key.clone(), point.clone());
                    }
                }
                if sub.ts_keys.contains(key)
                    && sub.ts_entities.contains(entity)
                    && !point.is_empty_marker()
                {
                    let slot = (entity.clone(), key.clone());
                    if sub.newest_ts.get(&slot) != Some(point) {
                        if sub.newest_ts.get(&slot).is_none_or(|n| point.ts >= n.ts) {
                            sub.newest_ts.insert(slot, point.clone());
                        }
                        ts_rows
                            .entry(entity)
                            .or_default()
                            .entry(key.clone())
                            .or_default()
                            .push(point.clone());
                    }
                }
            }
            for (entity, keys) in latest_rows {
                let mut latest = BTreeMap::new();
                latest.insert(EntityKeyType::TimeSeries, keys);
                out.push(update_msg(
                    cmd_id,
                    vec![EntityData {
                        entity_id: entity.clone(),
                        latest: Some(latest),
                        timeseries: None,
                        agg_latest: None,
                    }],
                    allowed,
                ));
            }
            for (entity, mut series) in ts_rows {
                for points in series.values_mut() {
                    points.sort_by_key(|p| std::cmp::Reverse(p.ts));
                }
                out.push(update_msg(
                    cmd_id,
                    vec![EntityData {
                        entity_id: entity.clone(),
                        latest: None,
                        timeseries: Some(series),
                        agg_latest: None,
                    }],
                    allowed,
                ));
            }
        }
        out
    }

    /// An attribute changed: `update`s for subscriptions with that attribute as a latest key.
    pub fn on_attribute(
        &mut self,
        entity: &EntityId,
        scope: Scope,
        key: &str,
        value: &TsValue,
        allowed: usize,
    ) -> Vec<ServerMessage> {
        let scoped = match scope {
            Scope::Client => EntityKeyType::ClientAttribute,
            Scope::Shared => EntityKeyType::SharedAttribute,
            Scope::Server => EntityKeyType::ServerAttribute,
        };
        let mut out = Vec::new();
        for (&cmd_id, sub) in &mut self.data {
            if !sub.on_page.contains(entity) {
                continue;
            }
            let mut latest = BTreeMap::new();
            for kt in [&scoped, &EntityKeyType::Attribute] {
                if sub
                    .latest_keys
                    .iter()
                    .any(|k| k.key_type == *kt && k.key == key)
                {
                    sub.last_latest
                        .insert((entity.clone(), kt.clone(), key.to_owned()), value.clone());
                    latest
                        .entry(kt.clone())
                        .or_insert_with(BTreeMap::new)
                        .insert(key.to_owned(), value.clone());
                }
            }
            if !latest.is_empty() {
                out.push(update_msg(
                    cmd_id,
                    vec![EntityData {
                        entity_id: entity.clone(),
                        latest: Some(latest),
                        timeseries: None,
                        agg_latest: None,
                    }],
                    allowed,
                ));
            }
        }
        out
    }

    /// The periodic refresh: dynamic pages whose entity set changed get a full `data`
    /// page, counts that changed get a `COUNT_DATA`.
    pub fn on_refresh(&mut self, ctx: &Ctx<'_>, allowed: usize) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        let qc = ctx.query_ctx();
        for (&cmd_id, sub) in &mut self.data {
            let Some(query) = &sub.query else { continue };
            if !query.page_link.dynamic {
                continue;
            }
            let Ok(mut page) = qc.find(query) else {
                continue;
            };
            let ids: Vec<EntityId> = page.data.iter().map(|r| r.entity_id.clone()).collect();
            // Only a change in the *set* of ids counts (§4.1), not a new order.
            if ids.len() == sub.page.len() && ids.iter().all(|id| sub.on_page.contains(id)) {
                continue;
            }
            for row in &mut page.data {
                row.timeseries = Some(BTreeMap::new());
                row.agg_latest = Some(BTreeMap::new());
            }
            sub.on_page = ids.iter().cloned().collect();
            sub.page = ids;
            out.push(data_msg(cmd_id, page, allowed));
        }
        for (&cmd_id, sub) in &mut self.counts {
            if let Ok(count) = qc.count(&sub.query)
                && count != sub.last
            {
                sub.last = count;
                out.push(count_msg(cmd_id, count));
            }
        }
        out
    }
}

fn count_msg(cmd_id: i32, count: i64) -> ServerMessage {
    ServerMessage::EntityCount(EntityCountUpdate {
        cmd_id,
        count,
        error_code: 0,
        error_msg: None,
        kind: CountDataKind,
    })
}

/// The runtime checks whose failure kills the socket on a real server (§4.1).
fn validate_sub_commands(cmd: &EntityDataCmd) -> Result<(), String> {
    let check = |start: i64, end: i64, interval: i64, agg: Option<&Aggregation>| {
        if agg.is_some_and(|a| !matches!(a, Aggregation::None)) {
            if interval < 1 {
                return Err(format!("aggregation interval {interval} < 1"));
            }
            if end.saturating_sub(start) / interval.max(1000) > super::series::MAX_INTERVALS {
                return Err("too many intervals".to_owned());
            }
        }
        Ok(())
    };
    if let Some(ts) = &cmd.ts_cmd {
        check(
            ts.start_ts,
            ts.start_ts.saturating_add(ts.time_window),
            ts.interval,
            ts.agg.as_ref(),
        )?;
    }
    if let Some(h) = &cmd.history_cmd {
        check(h.start_ts, h.end_ts, h.interval, h.agg.as_ref())?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn fetch(
    ctx: &Ctx<'_>,
    e: &super::world::EntityRecord,
    keys: &[String],
    start: i64,
    end: i64,
    interval: i64,
    limit: i32,
    agg: Option<&Aggregation>,
    previous_point: bool,
) -> Result<BTreeMap<String, Vec<TsValue>>, String> {
    let mut out = BTreeMap::new();
    for key in keys {
        let r = reader(ctx.st, e, key, ctx.grid);
        let points = match agg {
            Some(a) if !matches!(a, Aggregation::None) => r.aggregate(start, end, interval, a)?,
            _ => {
                let mut pts = r.raw(start, end, effective_limit(limit));
                if previous_point
                    && let Some(prev) = r.latest_at(start.saturating_sub(1))
                    && prev.ts >= start.saturating_sub(365 * 86_400_000)
                {
                    pts.push(prev);
                    pts.sort_by_key(|p| std::cmp::Reverse(p.ts));
                }
                pts
            }
        };
        out.insert(key.clone(), points);
    }
    Ok(out)
}

fn aggregates(
    ctx: &Ctx<'_>,
    e: &super::world::EntityRecord,
    keys: &[AggKey],
    start: i64,
    end: i64,
) -> BTreeMap<i32, ComparisonTsValue> {
    let one = |key: &str, agg: &Aggregation, s: i64, en: i64| -> TsValue {
        let r = reader(ctx.st, e, key, ctx.grid);
        let span = en.saturating_sub(s).max(1);
        let point = r
            .aggregate(s, en, span, agg)
            .ok()
            .and_then(|v| v.into_iter().next());
        point.unwrap_or_else(|| match agg {
            Aggregation::Sum | Aggregation::Count => TsValue::new(s + span / 2, "0"),
            _ => TsValue::new(0, ""),
        })
    };
    keys.iter()
        .map(|k| {
            let previous = match (k.previous_start_ts, k.previous_end_ts) {
                (Some(ps), Some(pe)) => Some(one(&k.key, &k.agg, ps, pe)),
                _ => None,
            };
            let current = if k.previous_value_only == Some(true) {
                None
            } else {
                Some(one(&k.key, &k.agg, start, end))
            };
            (k.id, ComparisonTsValue { current, previous })
        })
        .collect()
}
