//! `ALARM_DATA`, `ALARM_COUNT` and `ALARM_STATUS` subscriptions of one session (§4.3–§4.5).

use std::collections::{BTreeMap, HashSet};

use uuid::Uuid;

use super::alarms::{AlarmChange, AlarmStore, alarm_row};
use super::query::QueryContext;
use super::state::now_ms;
use super::ws_entity::{Ctx, Outcome, v1_error};
use crate::protocol::{
    AlarmCountCmd, AlarmCountDataKind, AlarmCountQuery, AlarmCountUpdate, AlarmData, AlarmDataCmd,
    AlarmDataKind, AlarmDataQuery, AlarmDataUpdate, AlarmStatusCmd, AlarmStatusKind,
    AlarmStatusUpdate, EntityId, EntityKeyType, PageData, ServerMessage, TsValue,
};

#[derive(Debug)]
struct DataSub {
    query: AlarmDataQuery,
    /// The rows of the page the client holds: (alarm, matched entity).
    rows: Vec<(Uuid, EntityId)>,
    /// Re-fetches made in the current refresh interval.
    refetches: u32,
    /// A re-fetch was skipped past the limit; caught up at the next refresh only when the
    /// page link has a time window (§4.3).
    skipped: bool,
}

/// `max_alarm_queries_per_refresh_interval`: re-fetches one `ALARM_DATA` subscription may
/// make per refresh interval (§4.3).
pub const MAX_ALARM_QUERIES_PER_REFRESH: u32 = 10;

#[derive(Debug)]
struct CountSub {
    query: AlarmCountQuery,
    last: i64,
    /// A filter that matched no entity is never refreshed (§4.4).
    live: bool,
}

impl CountSub {
    /// Without an entity filter only the periodic refresh recounts (§4.4).
    fn periodic(&self) -> bool {
        self.query.entity_filter.is_none()
    }
}

#[derive(Debug)]
struct StatusSub {
    cmd: AlarmStatusCmd,
    active: bool,
}

/// The alarm subscriptions of a session.
#[derive(Debug, Default)]
pub struct AlarmSubs {
    data: BTreeMap<i32, DataSub>,
    counts: BTreeMap<i32, CountSub>,
    status: BTreeMap<i32, StatusSub>,
}

fn data_msg(
    cmd_id: i32,
    page: PageData<AlarmData>,
    total_entities: usize,
    max_entities: usize,
) -> ServerMessage {
    let total = i64::try_from(total_entities).unwrap_or(i64::MAX);
    ServerMessage::AlarmData(AlarmDataUpdate {
        cmd_id,
        data: Some(page),
        update: None,
        error_code: 0,
        error_msg: None,
        allowed_entities: if total == 0 {
            0
        } else {
            i64::try_from(max_entities).unwrap_or(i64::MAX)
        },
        total_entities: total,
        kind: AlarmDataKind,
    })
}

/// Changed rows of a page the client holds.
fn update_msg(cmd_id: i32, rows: Vec<AlarmData>, max_entities: usize) -> ServerMessage {
    ServerMessage::AlarmData(AlarmDataUpdate {
        cmd_id,
        data: None,
        update: Some(rows),
        error_code: 0,
        error_msg: None,
        allowed_entities: i64::try_from(max_entities).unwrap_or(i64::MAX),
        total_entities: 0,
        kind: AlarmDataKind,
    })
}

fn rows_of(page: &PageData<AlarmData>) -> Vec<(Uuid, EntityId)> {
    page.data
        .iter()
        .map(|a| {
            (
                a.id.id,
                a.entity_id.clone().unwrap_or_else(|| a.originator.clone()),
            )
        })
        .collect()
}

fn count_msg(cmd_id: i32, count: i64) -> ServerMessage {
    ServerMessage::AlarmCount(AlarmCountUpdate {
        cmd_id,
        count,
        error_code: 0,
        error_msg: None,
        kind: AlarmCountDataKind,
    })
}

fn status_msg(cmd_id: i32, active: bool) -> ServerMessage {
    ServerMessage::AlarmStatus(AlarmStatusUpdate {
        cmd_id,
        error_code: 0,
        error_msg: None,
        active,
        kind: AlarmStatusKind,
    })
}

impl AlarmSubs {
    /// Number of live subscriptions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.data.len() + self.counts.len() + self.status.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `ALARM_DATA`: a full page; re-sending the same `cmdId` re-runs everything (paging).
    pub fn alarm_data(
        &mut self,
        cmd: &AlarmDataCmd,
        ctx: &Ctx<'_>,
        store: &AlarmStore,
        max_entities: usize,
    ) -> Vec<Outcome> {
        let Some(query) = &cmd.query else {
            return vec![v1_error(cmd.cmd_id, 2, "Query is empty!")];
        };
        match store.find(&ctx.query_ctx(), query, max_entities, now_ms()) {
            Ok((page, total)) => {
                self.data.insert(
                    cmd.cmd_id,
                    DataSub {
                        query: query.clone(),
                        rows: rows_of(&page),
                        refetches: 0,
                        skipped: false,
                    },
                );
                vec![Outcome::Send(data_msg(
                    cmd.cmd_id,
                    page,
                    total,
                    max_entities,
                ))]
            }
            Err(e) => {
                self.data.remove(&cmd.cmd_id);
                vec![v1_error(cmd.cmd_id, 1, e.0)]
            }
        }
    }

    /// `ALARM_COUNT`: the count now, later only changes; a live `cmdId` is ignored.
    pub fn alarm_count(
        &mut self,
        cmd: &AlarmCountCmd,
        ctx: &Ctx<'_>,
        store: &AlarmStore,
    ) -> Vec<Outcome> {
        if self.counts.contains_key(&cmd.cmd_id) {
            return Vec::new();
        }
        let Some(query) = &cmd.query else {
            // The server dereferences the null query: a code-1 error in the v1 shape.
            return vec![v1_error(
                cmd.cmd_id,
                1,
                "Cannot invoke \"org.thingsboard.server.common.data.query.AlarmCountQuery.getEntityFilter()\" because \"query\" is null",
            )];
        };
        let qc = ctx.query_ctx();
        let live = match &query.entity_filter {
            Some(filter) => qc
                .matching(
                    filter,
                    query.key_filters.as_deref().unwrap_or_default(),
                    query.key_filters_operation.as_ref(),
                )
                .is_ok_and(|m| !m.is_empty()),
            None => true,
        };
        match store.count(&qc, query, now_ms()) {
            Ok(count) => {
                self.counts.insert(
                    cmd.cmd_id,
                    CountSub {
                        query: query.clone(),
                        last: count,
                        live,
                    },
                );
                vec![Outcome::Send(count_msg(cmd.cmd_id, count))]
            }
            Err(e) => vec![v1_error(cmd.cmd_id, 1, e.0)],
        }
    }

    /// `ALARM_STATUS`: the flag now, later only flips; a live `cmdId` is ignored.
    pub fn alarm_status(&mut self, cmd: &AlarmStatusCmd, store: &AlarmStore) -> Vec<Outcome> {
        if self.status.contains_key(&cmd.cmd_id) {
            return Vec::new();
        }
        let active = store.has_active(
            &cmd.originator_id,
            cmd.type_list.as_deref(),
            cmd.severity_list.as_deref(),
        );
        self.status.insert(
            cmd.cmd_id,
            StatusSub {
                cmd: cmd.clone(),
                active,
            },
        );
        vec![Outcome::Send(status_msg(cmd.cmd_id, active))]
    }

    /// `ALARM_DATA_UNSUBSCRIBE`.
    pub fn unsubscribe_data(&mut self, cmd_id: i32) {
        self.data.remove(&cmd_id);
    }

    /// `ALARM_COUNT_UNSUBSCRIBE`.
    pub fn unsubscribe_count(&mut self, cmd_id: i32) {
        self.counts.remove(&cmd_id);
    }

    /// `ALARM_STATUS_UNSUBSCRIBE`.
    pub fn unsubscribe_status(&mut self, cmd_id: i32) {
        self.status.remove(&cmd_id);
    }

    /// Alarms changed: rows on a page that still match are sent as `update`; an alarm that
    /// left the filter or was deleted, or a new matching alarm while on page 0, re-runs the
    /// query and sends a new `data` page. Counts and status flags follow.
    pub fn on_alarm_changes(
        &mut self,
        changes: &[AlarmChange],
        ctx: &Ctx<'_>,
        store: &AlarmStore,
        max_entities: usize,
    ) -> Vec<ServerMessage> {
        let now = now_ms();
        let qc = ctx.query_ctx();
        let mut out = self.each_data(|cmd_id, sub| {
            sub.on_changes(cmd_id, changes, &qc, store, max_entities, now)
        });
        out.extend(self.recount(&qc, store, now, false));
        for (&cmd_id, sub) in &mut self.status {
            let active = store.has_active(
                &sub.cmd.originator_id,
                sub.cmd.type_list.as_deref(),
                sub.cmd.severity_list.as_deref(),
            );
            if active != sub.active {
                sub.active = active;
                out.push(status_msg(cmd_id, active));
            }
        }
        out
    }

    /// The periodic refresh (`dynamic_page_link.refresh_interval`): alarm lists start a new
    /// interval of re-fetches (catching up a skipped one when they have a time window), and
    /// filter-less counts are recounted and sent when they changed.
    pub fn on_refresh(
        &mut self,
        ctx: &Ctx<'_>,
        store: &AlarmStore,
        max_entities: usize,
    ) -> Vec<ServerMessage> {
        let now = now_ms();
        let qc = ctx.query_ctx();
        let mut out =
            self.each_data(|cmd_id, sub| sub.on_refresh(cmd_id, &qc, store, max_entities, now));
        out.extend(self.recount(&qc, store, now, true));
        out
    }

    /// What each `ALARM_DATA` subscription sends, by `f`.
    fn each_data(
        &mut self,
        mut f: impl FnMut(i32, &mut DataSub) -> Option<ServerMessage>,
    ) -> Vec<ServerMessage> {
        self.data
            .iter_mut()
            .filter_map(|(&cmd_id, sub)| f(cmd_id, sub))
            .collect()
    }

    /// Recounts the live counts that are (or are not) `periodic`; sends those that changed.
    fn recount(
        &mut self,
        qc: &QueryContext<'_>,
        store: &AlarmStore,
        now: i64,
        periodic: bool,
    ) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        for (&cmd_id, sub) in &mut self.counts {
            if !sub.live || sub.periodic() != periodic {
                continue;
            }
            if let Ok(count) = store.count(qc, &sub.query, now)
                && count != sub.last
            {
                sub.last = count;
                out.push(count_msg(cmd_id, count));
            }
        }
        out
    }

    /// Latest values changed: every alarm row of those entities is sent with the new values,
    /// when the query asks for the changed keys.
    pub fn on_telemetry(
        &mut self,
        batch: &[(EntityId, String, TsValue)],
        ctx: &Ctx<'_>,
        store: &AlarmStore,
        max_entities: usize,
    ) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        let qc = ctx.query_ctx();
        for (&cmd_id, sub) in &self.data {
            let keys: HashSet<&str> = sub
                .query
                .latest_values
                .iter()
                .flatten()
                .filter(|k| k.key_type == EntityKeyType::TimeSeries)
                .map(|k| k.key.as_str())
                .collect();
            if keys.is_empty() {
                continue;
            }
            let touched: HashSet<&EntityId> = batch
                .iter()
                .filter(|(_, k, _)| keys.contains(k.as_str()))
                .map(|(e, _, _)| e)
                .collect();
            let rows: Vec<AlarmData> = sub
                .rows
                .iter()
                .filter(|(_, entity)| touched.contains(entity))
                .filter_map(|(alarm_id, entity)| {
                    let (alarm, e) = (store.get(*alarm_id)?, ctx.st.world.entity(entity)?);
                    Some(alarm_row(&qc, &sub.query, alarm, e))
                })
                .collect();
            if !rows.is_empty() {
                out.push(update_msg(cmd_id, rows, max_entities));
            }
        }
        out
    }
}

impl DataSub {
    /// Runs the query again; the new page when it differs from the one the client holds
    /// (or `force`).
    fn refetch(
        &mut self,
        cmd_id: i32,
        qc: &QueryContext<'_>,
        store: &AlarmStore,
        max_entities: usize,
        now: i64,
        force: bool,
    ) -> Option<ServerMessage> {
        let (page, total) = store.find(qc, &self.query, max_entities, now).ok()?;
        let rows = rows_of(&page);
        if rows == self.rows && !force {
            return None;
        }
        self.rows = rows;
        Some(data_msg(cmd_id, page, total, max_entities))
    }

    /// The refresh tick: a new interval of re-fetches; a skipped one is caught up only
    /// with a time window (ThingsBoard schedules the periodic task only then).
    fn on_refresh(
        &mut self,
        cmd_id: i32,
        qc: &QueryContext<'_>,
        store: &AlarmStore,
        max_entities: usize,
        now: i64,
    ) -> Option<ServerMessage> {
        self.refetches = 0;
        let catch_up = std::mem::take(&mut self.skipped) && self.query.page_link.time_window > 0;
        if !catch_up {
            return None;
        }
        self.refetches += 1;
        self.refetch(cmd_id, qc, store, max_entities, now, false)
    }

    /// What one `ALARM_DATA` subscription sends for `changes`: a new page, an update of
    /// the rows it holds, or nothing.
    fn on_changes(
        &mut self,
        cmd_id: i32,
        changes: &[AlarmChange],
        qc: &QueryContext<'_>,
        store: &AlarmStore,
        max_entities: usize,
        now: i64,
    ) -> Option<ServerMessage> {
        let world = qc.world;
        let mut refetch = false;
        let mut updated: Vec<AlarmData> = Vec::new();
        for change in changes {
            let id = change.id();
            let on_page: Vec<&EntityId> = self
                .rows
                .iter()
                .filter(|(a, _)| *a == id)
                .map(|(_, e)| e)
                .collect();
            match (change, store.get(id)) {
                (AlarmChange::Deleted(_), _) | (_, None) => refetch |= !on_page.is_empty(),
                (_, Some(alarm)) if !on_page.is_empty() => {
                    if !AlarmStore::matches_query(alarm, world, &self.query, now) {
                        refetch = true;
                        continue;
                    }
                    updated.extend(
                        on_page
                            .into_iter()
                            .map(|entity| match world.entity(entity) {
                                Some(e) => alarm_row(qc, &self.query, alarm, e),
                                None => alarm.to_data(world, Some(entity.clone()), None),
                            }),
                    );
                }
                // Not on the page: only page 0 takes new (or newly matching) alarms.
                (_, Some(alarm)) => {
                    refetch |= self.query.page_link.page == 0
                        && AlarmStore::matches_query(alarm, world, &self.query, now);
                }
            }
        }
        if refetch && self.refetches >= MAX_ALARM_QUERIES_PER_REFRESH {
            // Over the limit: skipped (the rows still on the page keep their updates).
            self.skipped = true;
            refetch = false;
        }
        if refetch {
            self.refetches += 1;
            self.refetch(cmd_id, qc, store, max_entities, now, !updated.is_empty())
        } else if updated.is_empty() {
            None
        } else {
            Some(update_msg(cmd_id, updated, max_entities))
        }
    }
}
