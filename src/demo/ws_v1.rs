//! The v1 commands of one session: `ATTRIBUTES`, `TIMESERIES`, `TIMESERIES_HISTORY` (§4.6).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uuid::Uuid;

use super::rest::split_list;
use super::state::{now_ms, reader};
use super::world::{EntityRecord, Scope};
use super::ws_entity::{Ctx, Outcome, effective_limit, v1_error};
use crate::protocol::{
    Aggregation, AttributeScope, AttributesSubscriptionCmd, EntityId, EntityType, GetHistoryCmd,
    ServerMessage, TbValue, TelemetryScope, TelemetrySubscriptionUpdate, TimeseriesSubscriptionCmd,
    TsPoint, TsValue,
};

#[derive(Debug)]
enum Kind {
    Attributes {
        scope: Option<Scope>,
    },
    Timeseries {
        /// `LATEST_TELEMETRY`: points older than the last one sent are not sent.
        latest_only: bool,
        /// The newest ts sent per key.
        last_sent: HashMap<String, i64>,
    },
}

#[derive(Debug)]
struct Sub {
    entity: EntityId,
    /// Empty = every key.
    keys: BTreeSet<String>,
    kind: Kind,
}

/// The v1 subscriptions of a session, by `cmdId`.
#[derive(Debug, Default)]
pub struct V1Subs {
    subs: BTreeMap<i32, Sub>,
}

fn error(cmd_id: i32, code: i32, msg: &str) -> Vec<Outcome> {
    vec![v1_error(cmd_id, code, msg)]
}

fn reply(cmd_id: i32, data: BTreeMap<String, Vec<TsPoint>>) -> ServerMessage {
    // `latestValues` is the ts of the *last* element of each key's list, as the server computes it.
    let latest_values = data
        .iter()
        .filter_map(|(k, points)| points.last().map(|p| (k.clone(), p.0)))
        .collect();
    ServerMessage::Telemetry(TelemetrySubscriptionUpdate {
        subscription_id: cmd_id,
        error_code: 0,
        error_msg: None,
        data: Some(data),
        latest_values: Some(latest_values),
    })
}

fn csv(keys: Option<&str>) -> BTreeSet<String> {
    split_list(keys).map(str::to_owned).collect()
}

fn scope_of(s: &AttributeScope) -> Option<Scope> {
    match s {
        AttributeScope::Client => Some(Scope::Client),
        AttributeScope::Shared => Some(Scope::Shared),
        AttributeScope::Server => Some(Scope::Server),
        AttributeScope::Unknown(_) => None,
    }
}

/// Resolves the entity of a v1 command for the session's user; `Err` carries the error reply.
fn resolve<'a>(
    ctx: &'a Ctx<'_>,
    cmd_id: i32,
    entity_type: &EntityType,
    entity_id: &str,
) -> Result<&'a EntityRecord, Vec<Outcome>> {
    if entity_id.trim().is_empty() {
        return Err(error(cmd_id, 2, "Device id is empty!"));
    }
    let Ok(uuid) = Uuid::parse_str(entity_id.trim()) else {
        return Err(error(cmd_id, 1, "Failed to fetch data!"));
    };
    let id = EntityId::new(entity_type.clone(), uuid);
    match ctx.st.world.entity(&id) {
        Some(e) if ctx.st.world.visible_to(ctx.user, e) => Ok(e),
        _ => Err(error(cmd_id, 3, "Unauthorized")),
    }
}

impl V1Subs {
    /// Number of live v1 subscriptions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.subs.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// Handles `unsubscribe: true`: the one subscription, or with an empty `entityId`
    /// every subscription of the session.
    fn unsubscribe(&mut self, cmd_id: i32, entity_id: &str) {
        if entity_id.trim().is_empty() {
            self.subs.clear();
        } else {
            self.subs.remove(&cmd_id);
        }
    }

    /// `ATTRIBUTES`.
    pub fn attributes(&mut self, cmd: &AttributesSubscriptionCmd, ctx: &Ctx<'_>) -> Vec<Outcome> {
        if cmd.unsubscribe {
            self.unsubscribe(cmd.cmd_id, &cmd.entity_id);
            return Vec::new();
        }
        let e = match resolve(ctx, cmd.cmd_id, &cmd.entity_type, &cmd.entity_id) {
            Ok(e) => e,
            Err(out) => return out,
        };
        let scope = cmd.scope.as_ref().and_then(scope_of);
        if cmd.scope.is_some() && scope.is_none() {
            return error(cmd.cmd_id, 1, "Failed to fetch attributes!");
        }
        let keys = csv(cmd.keys.as_deref());
        let mut data: BTreeMap<String, Vec<TsPoint>> = BTreeMap::new();
        if let Some(attrs) = ctx.st.world.attributes.get(&e.id) {
            for (s, map) in [
                (Scope::Client, &attrs.client),
                (Scope::Shared, &attrs.shared),
                (Scope::Server, &attrs.server),
            ] {
                if scope.is_some_and(|want| want != s) {
                    continue;
                }
                for (k, v) in map {
                    if keys.is_empty() || keys.contains(k) {
                        data.insert(
                            k.clone(),
                            vec![TsPoint(v.last_update_ts, Some(v.value.clone()))],
                        );
                    }
                }
            }
        }
        self.subs.insert(
            cmd.cmd_id,
            Sub {
                entity: e.id.clone(),
                keys,
                kind: Kind::Attributes { scope },
            },
        );
        vec![Outcome::Send(reply(cmd.cmd_id, data))]
    }

    /// `TIMESERIES`.
    pub fn timeseries(&mut self, cmd: &TimeseriesSubscriptionCmd, ctx: &Ctx<'_>) -> Vec<Outcome> {
        if cmd.unsubscribe {
            self.unsubscribe(cmd.cmd_id, &cmd.entity_id);
            return Vec::new();
        }
        let e = match resolve(ctx, cmd.cmd_id, &cmd.entity_type, &cmd.entity_id) {
            Ok(e) => e,
            Err(out) => return out,
        };
        let keys = csv(cmd.keys.as_deref());
        let now = now_ms();
        let mut data: BTreeMap<String, Vec<TsPoint>> = BTreeMap::new();
        if keys.is_empty() {
            if let Some(all) = ctx.st.latest.entity(&e.id) {
                for (k, v) in all {
                    data.insert(k.clone(), vec![TsPoint(v.ts, v.value.clone())]);
                }
            }
        } else if cmd.time_window > 0 {
            let end = cmd.start_ts.saturating_add(cmd.time_window);
            for k in &keys {
                let Ok(points) = fetch(
                    ctx,
                    e,
                    k,
                    cmd.start_ts,
                    end,
                    cmd.interval,
                    cmd.limit,
                    cmd.agg.as_ref(),
                ) else {
                    return error(cmd.cmd_id, 1, "Failed to fetch data!");
                };
                data.insert(k.clone(), points);
            }
        } else {
            for k in &keys {
                let point = ctx
                    .st
                    .latest
                    .get(&e.id, k)
                    .map_or(TsPoint(now, None), |v| TsPoint(v.ts, v.value.clone()));
                data.insert(k.clone(), vec![point]);
            }
        }
        let last_sent = data
            .iter()
            .filter_map(|(k, p)| p.iter().map(|p| p.0).max().map(|t| (k.clone(), t)))
            .collect();
        self.subs.insert(
            cmd.cmd_id,
            Sub {
                entity: e.id.clone(),
                keys,
                kind: Kind::Timeseries {
                    latest_only: matches!(cmd.scope, Some(TelemetryScope::LatestTelemetry)),
                    last_sent,
                },
            },
        );
        vec![Outcome::Send(reply(cmd.cmd_id, data))]
    }

    /// `TIMESERIES_HISTORY`: one reply, no subscription.
    #[must_use]
    pub fn history(cmd: &GetHistoryCmd, ctx: &Ctx<'_>) -> Vec<Outcome> {
        let e = match resolve(ctx, cmd.cmd_id, &cmd.entity_type, &cmd.entity_id) {
            Ok(e) => e,
            Err(out) => return out,
        };
        let keys = csv(Some(&cmd.keys));
        if keys.is_empty() {
            return error(cmd.cmd_id, 2, "Keys are empty!");
        }
        let mut data = BTreeMap::new();
        for k in &keys {
            match fetch(
                ctx,
                e,
                k,
                cmd.start_ts,
                cmd.end_ts,
                cmd.interval,
                cmd.limit,
                cmd.agg.as_ref(),
            ) {
                Ok(p) => data.insert(k.clone(), p),
                Err(()) => return error(cmd.cmd_id, 1, "Failed to fetch data!"),
            };
        }
        vec![Outcome::Send(reply(cmd.cmd_id, data))]
    }

    /// New time series points: one message per subscription with the keys it covers.
    pub fn on_telemetry(&mut self, batch: &[(EntityId, String, TsValue)]) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        for (&cmd_id, sub) in &mut self.subs {
            let Kind::Timeseries {
                latest_only,
                last_sent,
            } = &mut sub.kind
            else {
                continue;
            };
            let mut data: BTreeMap<String, Vec<TsPoint>> = BTreeMap::new();
            for (entity, key, point) in batch {
                if *entity != sub.entity || !(sub.keys.is_empty() || sub.keys.contains(key)) {
                    continue;
                }
                let deleted = point.is_empty_marker();
                if *latest_only && !deleted && last_sent.get(key).is_some_and(|&t| point.ts < t) {
                    continue;
                }
                if !deleted {
                    let slot = last_sent.entry(key.clone()).or_insert(point.ts);
                    *slot = (*slot).max(point.ts);
                }
                data.entry(key.clone())
                    .or_default()
                    .push(TsPoint(point.ts, point.value.clone()));
            }
            if !data.is_empty() {
                for points in data.values_mut() {
                    points.sort_by_key(|p| std::cmp::Reverse(p.0));
                }
                out.push(reply(cmd_id, data));
            }
        }
        out
    }

    /// An attribute changed.
    pub fn on_attribute(
        &mut self,
        entity: &EntityId,
        scope: Scope,
        key: &str,
        value: &TsValue,
    ) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        for (&cmd_id, sub) in &mut self.subs {
            let Kind::Attributes { scope: want } = sub.kind else {
                continue;
            };
            if sub.entity != *entity
                || want.is_some_and(|w| w != scope)
                || !(sub.keys.is_empty() || sub.keys.contains(key))
            {
                continue;
            }
            let mut data = BTreeMap::new();
            data.insert(key.to_owned(), vec![TsPoint(value.ts, value.value.clone())]);
            out.push(reply(cmd_id, data));
        }
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn fetch(
    ctx: &Ctx<'_>,
    e: &EntityRecord,
    key: &str,
    start: i64,
    end: i64,
    interval: i64,
    limit: i32,
    agg: Option<&Aggregation>,
) -> Result<Vec<TsPoint>, ()> {
    let r = reader(ctx.st, e, key, ctx.grid);
    let points = match agg {
        Some(a) if !matches!(a, Aggregation::None | Aggregation::Unknown(_)) => {
            r.aggregate(start, end, interval, a).map_err(|_| ())?
        }
        Some(Aggregation::Unknown(name)) if !name.is_empty() => return Err(()),
        _ => r.raw(start, end, effective_limit(limit)),
    };
    Ok(points
        .into_iter()
        .map(|p| TsPoint(p.ts, p.value.or_else(|| Some(TbValue::new("")))))
        .collect())
}
