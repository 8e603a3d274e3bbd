//! The demo server's alarms: the store, the alarm rules, and alarm query evaluation.
//!
//! Pure code (no I/O, no locking): the server state owns an [`AlarmStore`], feeds every new
//! telemetry point to [`apply_rules`] and device activity changes to [`device_activity`],
//! and forwards the returned [`AlarmChange`]s to the alarm subscriptions. Queries follow
//! ThingsBoard's `DefaultAlarmQueryRepository` (§4.3–§4.5, §6 of the protocol reference):
//! one row per (alarm, matched entity), `AlarmStatusFilter` semantics for the status list,
//! `ALARM_FIELD` sort keys mapped like its column map, and text search as a case-insensitive
//! substring over the requested alarm fields.
//!
//! ThingsBoard keeps at most one active (not cleared) alarm per originator and type: raising
//! again updates that alarm (severity, details, `endTs`) instead of creating a new one.
//! Propagation is resolved when the alarm is raised (ThingsBoard's `entity_alarm` rows) and
//! stored in [`Alarm::propagated_to`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use uuid::Uuid;

use super::query::{QueryContext, QueryError, page_of};
use super::rng::Rng;
use super::world::{DemoUser, EntityRecord, World};
use crate::protocol::{
    AlarmAssignee, AlarmCountQuery, AlarmData, AlarmDataPageLink, AlarmDataQuery,
    AlarmSearchStatus, AlarmSeverity, AlarmStatus, EntityDataSortOrder, EntityId, EntityKey,
    EntityKeyType, EntityType, LatestValues, NULL_UUID, PageData, SortDirection, TbValue,
    ThingsboardErrorCode, TsValue,
};

/// Alarm type of the thermostat temperature rule.
pub const HIGH_TEMPERATURE: &str = "High Temperature";
/// Alarm type of the water-pump pressure rule.
pub const LOW_PRESSURE: &str = "Low Pressure";
/// Alarm type of the water-pump vibration rule.
pub const HIGH_VIBRATION: &str = "High Vibration";
/// Alarm type of the thermostat battery rule.
pub const LOW_BATTERY: &str = "Low Battery";
/// Alarm type of the gateway CPU rule.
pub const HIGH_CPU: &str = "High CPU";
/// Alarm type raised when a device goes silent.
pub const DEVICE_OFFLINE: &str = "Device Offline";
/// The relation type alarms propagate along (sites contain buildings contain devices).
pub const CONTAINS: &str = "Contains";

/// One alarm, with everything needed to render it as `AlarmData` / `AlarmInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// The alarm's id.
    pub id: Uuid,
    /// Creation time (epoch ms).
    pub created_time: i64,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Customer of the originator (`None` = tenant-owned; rendered as `NULL_UUID`).
    pub customer_id: Option<Uuid>,
    /// Alarm type (also its name).
    pub alarm_type: String,
    /// The entity that raised the alarm.
    pub originator: EntityId,
    /// Current severity.
    pub severity: AlarmSeverity,
    /// Acknowledged flag.
    pub acknowledged: bool,
    /// Cleared flag.
    pub cleared: bool,
    /// Assigned user.
    pub assignee: Option<Uuid>,
    /// Start of the alarm (epoch ms).
    pub start_ts: i64,
    /// Last time the alarm was raised again (epoch ms).
    pub end_ts: i64,
    /// Acknowledge time, 0 when not acknowledged.
    pub ack_ts: i64,
    /// Clear time, 0 when not cleared.
    pub clear_ts: i64,
    /// Last assign/unassign time, 0 when never assigned.
    pub assign_ts: i64,
    /// Free-form details.
    pub details: serde_json::Value,
    /// Propagated to related entities.
    pub propagate: bool,
    /// Propagated to the originator's owner (customer or tenant).
    pub propagate_to_owner: bool,
    /// Propagated to the tenant.
    pub propagate_to_tenant: bool,
    /// Relation types followed when propagating (empty = any type).
    pub propagate_relation_types: Vec<String>,
    /// Entities the alarm was propagated to when last raised (originator excluded), in
    /// breadth-first order: ancestors, then owner, then tenant.
    pub propagated_to: Vec<EntityId>,
}

impl Alarm {
    /// The status derived from the two flags.
    #[must_use]
    pub fn status(&self) -> AlarmStatus {
        AlarmStatus::from_flags(self.acknowledged, self.cleared)
    }

    /// The entities this alarm is found for: its originator and, when `propagated`, the
    /// entities it was propagated to.
    pub fn found_for(&self, propagated: bool) -> impl Iterator<Item = &EntityId> {
        let extra: &[EntityId] = if propagated { &self.propagated_to } else { &[] };
        std::iter::once(&self.originator).chain(extra)
    }

    /// Renders the alarm as the server sends it. `entity_id` and `latest` are the query row's
    /// matched entity and its values (`None` for the REST `AlarmInfo`).
    #[must_use]
    pub fn to_data(
        &self,
        world: &World,
        entity_id: Option<EntityId>,
        latest: Option<LatestValues>,
    ) -> AlarmData {
        let name = originator_name(world, &self.originator);
        let label = originator_label(world, &self.originator);
        let display = label.clone().or_else(|| name.clone());
        let assignee = self.assignee.map(|id| {
            let user = world.user(id);
            AlarmAssignee {
                id: EntityId::user(id),
                first_name: user.map(|u| u.first_name.clone()),
                last_name: user.map(|u| u.last_name.clone()),
                email: user.map(|u| u.email.clone()),
            }
        });
        AlarmData {
            entity_id,
            latest,
            id: EntityId::new(EntityType::Alarm, self.id),
            created_time: self.created_time,
            tenant_id: Some(EntityId::new(EntityType::Tenant, self.tenant_id)),
            customer_id: Some(EntityId::customer(self.customer_id.unwrap_or(NULL_UUID))),
            alarm_type: self.alarm_type.clone(),
            originator: self.originator.clone(),
            severity: self.severity.clone(),
            acknowledged: self.acknowledged,
            cleared: self.cleared,
            assignee_id: self.assignee.map(EntityId::user),
            start_ts: self.start_ts,
            end_ts: self.end_ts,
            ack_ts: self.ack_ts,
            clear_ts: self.clear_ts,
            assign_ts: self.assign_ts,
            details: (!self.details.is_null()).then(|| self.details.clone()),
            propagate: self.propagate,
            propagate_to_owner: self.propagate_to_owner,
            propagate_to_tenant: self.propagate_to_tenant,
            propagate_relation_types: Some(self.propagate_relation_types.clone()),
            originator_name: name,
            originator_label: label,
            originator_display_name: display,
            assignee,
            name: Some(self.alarm_type.clone()),
            status: Some(self.status()),
        }
    }
}

/// What happened to an alarm, for the live subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmChange {
    /// A new alarm.
    Created(Uuid),
    /// An existing alarm changed (raised again, acknowledged, cleared, assigned, …).
    Updated(Uuid),
    /// The alarm was deleted.
    Deleted(Uuid),
}

impl AlarmChange {
    /// The alarm concerned.
    #[must_use]
    pub fn id(&self) -> Uuid {
        match self {
            AlarmChange::Created(id) | AlarmChange::Updated(id) | AlarmChange::Deleted(id) => *id,
        }
    }
}

/// Why an alarm action was refused; `Display` gives ThingsBoard's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AlarmActionError {
    /// No alarm with that id (404, code 32).
    #[error("Requested item wasn't found!")]
    NotFound,
    /// Acknowledging an acknowledged alarm (400, code 31).
    #[error("Alarm was already acknowledged!")]
    AlreadyAcknowledged,
    /// Clearing a cleared alarm (400, code 31).
    #[error("Alarm was already cleared!")]
    AlreadyCleared,
}

impl AlarmActionError {
    /// The HTTP status ThingsBoard answers with.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        match self {
            AlarmActionError::NotFound => 404,
            AlarmActionError::AlreadyAcknowledged | AlarmActionError::AlreadyCleared => 400,
        }
    }

    /// ThingsBoard's error code.
    #[must_use]
    pub fn error_code(&self) -> ThingsboardErrorCode {
        match self {
            AlarmActionError::NotFound => ThingsboardErrorCode::ItemNotFound,
            AlarmActionError::AlreadyAcknowledged | AlarmActionError::AlreadyCleared => {
                ThingsboardErrorCode::BadRequestParams
            }
        }
    }
}

/// How a raised alarm propagates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Propagation {
    /// To every entity reaching the originator through relations of `relation_types`
    /// (direction FROM ancestor TO descendant), i.e. to its ancestors.
    pub to_related: bool,
    /// Relation types to follow; empty = any.
    pub relation_types: Vec<String>,
    /// To the originator's owner (its customer, else the tenant).
    pub to_owner: bool,
    /// To the tenant.
    pub to_tenant: bool,
}

impl Propagation {
    /// No propagation.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// To the ancestors along `Contains` relations (the building and site of a device).
    #[must_use]
    pub fn to_parents() -> Self {
        Self {
            to_related: true,
            relation_types: vec![CONTAINS.to_owned()],
            to_owner: false,
            to_tenant: false,
        }
    }
}

/// An alarm to raise (see [`AlarmStore::raise_with`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlarm<'a> {
    /// The entity raising it.
    pub originator: &'a EntityId,
    /// Alarm type.
    pub alarm_type: &'a str,
    /// Severity.
    pub severity: AlarmSeverity,
    /// Free-form details.
    pub details: serde_json::Value,
    /// Where it propagates.
    pub propagation: Propagation,
}

/// The query parameters of `GET /api/v2/alarms`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlarmListParams {
    /// Rows per page (at least 1).
    pub page_size: i32,
    /// Zero-based page (not negative).
    pub page: i32,
    /// `statusList` (`AlarmStatusFilter` semantics; empty = any).
    pub status_list: Vec<AlarmSearchStatus>,
    /// `severityList` (empty = any).
    pub severity_list: Vec<AlarmSeverity>,
    /// `typeList` (empty = any).
    pub type_list: Vec<String>,
    /// `assigneeId`: only alarms assigned to this user.
    pub assignee_id: Option<Uuid>,
    /// `textSearch`: case-insensitive substring of type, severity, status, originator name or
    /// label, or the assignee's e-mail or names.
    pub text_search: Option<String>,
    /// `sortProperty`: an alarm field (`createdTime` when absent).
    pub sort_property: Option<String>,
    /// `sortOrder` (`DESC` when absent).
    pub sort_order: Option<SortDirection>,
    /// `startTime`: created at or after (epoch ms).
    pub start_time: Option<i64>,
    /// `endTime`: created at or before (epoch ms).
    pub end_time: Option<i64>,
}

impl AlarmListParams {
    /// The first page of `page_size` alarms, newest first, unfiltered.
    #[must_use]
    pub fn first(page_size: i32) -> Self {
        Self {
            page_size,
            ..Self::default()
        }
    }
}

/// Every alarm of the demo tenant.
#[derive(Debug, Clone, Default)]
pub struct AlarmStore {
    /// Alarms by creation sequence (creation order).
    alarms: BTreeMap<u64, Alarm>,
    /// Sequence of each alarm id.
    by_id: HashMap<Uuid, u64>,
    /// The active alarm of each (originator, type).
    active: BTreeMap<(EntityId, String), Uuid>,
    next_seq: u64,
}

impl AlarmStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of stored alarms.
    #[must_use]
    pub fn len(&self) -> usize {
        self.alarms.len()
    }

    /// Whether no alarm is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.alarms.is_empty()
    }

    /// Every alarm, oldest first.
    pub fn alarms(&self) -> impl Iterator<Item = &Alarm> {
        self.alarms.values()
    }

    /// The alarm with `id`.
    #[must_use]
    pub fn get(&self, id: Uuid) -> Option<&Alarm> {
        self.by_id.get(&id).and_then(|seq| self.alarms.get(seq))
    }

    fn get_mut(&mut self, id: Uuid) -> Option<&mut Alarm> {
        let seq = self.by_id.get(&id)?;
        self.alarms.get_mut(seq)
    }

    /// The active (not cleared) alarm of `alarm_type` on `originator`.
    #[must_use]
    pub fn active_of(&self, originator: &EntityId, alarm_type: &str) -> Option<&Alarm> {
        self.active
            .get(&(originator.clone(), alarm_type.to_owned()))
            .and_then(|id| self.get(*id))
    }

    /// Raises an alarm of `alarm_type` on `originator`, or, if an active (not cleared) alarm
    /// of that type exists on it, updates that one (severity — an escalation when it rises —,
    /// details, `endTs` = now): ThingsBoard keeps one active alarm per originator and type.
    /// `propagate` propagates the alarm to the originator's ancestors along `Contains`
    /// relations (use [`Self::raise_with`] for other propagation).
    #[allow(clippy::too_many_arguments)] // mirrors ThingsBoard's create-alarm parameters
    pub fn raise(
        &mut self,
        rng: &mut Rng,
        world: &World,
        originator: &EntityId,
        alarm_type: &str,
        severity: AlarmSeverity,
        details: serde_json::Value,
        propagate: bool,
        now_ms: i64,
    ) -> AlarmChange {
        let propagation = if propagate {
            Propagation::to_parents()
        } else {
            Propagation::none()
        };
        self.raise_with(
            rng,
            world,
            NewAlarm {
                originator,
                alarm_type,
                severity,
                details,
                propagation,
            },
            now_ms,
        )
    }

    /// [`Self::raise`] with any propagation.
    pub fn raise_with(
        &mut self,
        rng: &mut Rng,
        world: &World,
        new: NewAlarm<'_>,
        now_ms: i64,
    ) -> AlarmChange {
        let targets = propagation_targets(world, new.originator, &new.propagation);
        let p = new.propagation;
        if let Some(alarm) = self
            .active
            .get(&(new.originator.clone(), new.alarm_type.to_owned()))
            .copied()
            .and_then(|id| self.get_mut(id))
        {
            alarm.severity = new.severity;
            alarm.details = new.details;
            alarm.end_ts = now_ms;
            alarm.propagate = p.to_related;
            alarm.propagate_to_owner = p.to_owner;
            alarm.propagate_to_tenant = p.to_tenant;
            alarm.propagate_relation_types = p.relation_types;
            alarm.propagated_to = targets;
            return AlarmChange::Updated(alarm.id);
        }
        let mut id = rng.uuid();
        while self.by_id.contains_key(&id) {
            id = rng.uuid();
        }
        let customer_id = world.entity(new.originator).and_then(|e| {
            if e.id.entity_type == EntityType::Customer {
                Some(e.id.id)
            } else {
                e.customer_id
            }
        });
        let alarm = Alarm {
            id,
            created_time: now_ms,
            tenant_id: world.tenant_id,
            customer_id,
            alarm_type: new.alarm_type.to_owned(),
            originator: new.originator.clone(),
            severity: new.severity,
            acknowledged: false,
            cleared: false,
            assignee: None,
            start_ts: now_ms,
            end_ts: now_ms,
            ack_ts: 0,
            clear_ts: 0,
            assign_ts: 0,
            details: new.details,
            propagate: p.to_related,
            propagate_to_owner: p.to_owner,
            propagate_to_tenant: p.to_tenant,
            propagate_relation_types: p.relation_types,
            propagated_to: targets,
        };
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.active.insert(
            (new.originator.clone(), new.alarm_type.to_owned()),
            alarm.id,
        );
        self.by_id.insert(id, seq);
        self.alarms.insert(seq, alarm);
        AlarmChange::Created(id)
    }

    /// Acknowledges the alarm (`POST /api/alarm/{id}/ack`).
    ///
    /// # Errors
    ///
    /// [`AlarmActionError::NotFound`], or [`AlarmActionError::AlreadyAcknowledged`].
    pub fn acknowledge(&mut self, id: Uuid, now_ms: i64) -> Result<AlarmChange, AlarmActionError> {
        let alarm = self.get_mut(id).ok_or(AlarmActionError::NotFound)?;
        if alarm.acknowledged {
            return Err(AlarmActionError::AlreadyAcknowledged);
        }
        alarm.acknowledged = true;
        alarm.ack_ts = now_ms;
        Ok(AlarmChange::Updated(id))
    }

    /// Clears the alarm (`POST /api/alarm/{id}/clear`); a new alarm of its type may then be
    /// raised on its originator.
    ///
    /// # Errors
    ///
    /// [`AlarmActionError::NotFound`], or [`AlarmActionError::AlreadyCleared`].
    pub fn clear(&mut self, id: Uuid, now_ms: i64) -> Result<AlarmChange, AlarmActionError> {
        let alarm = self.get_mut(id).ok_or(AlarmActionError::NotFound)?;
        if alarm.cleared {
            return Err(AlarmActionError::AlreadyCleared);
        }
        alarm.cleared = true;
        alarm.clear_ts = now_ms;
        let key = (alarm.originator.clone(), alarm.alarm_type.clone());
        if self.active.get(&key) == Some(&id) {
            self.active.remove(&key);
        }
        Ok(AlarmChange::Updated(id))
    }

    /// Assigns the alarm to `user` (`POST /api/alarm/{id}/assign/{userId}`); assigning it to
    /// its current assignee changes nothing.
    ///
    /// # Errors
    ///
    /// [`AlarmActionError::NotFound`].
    pub fn assign(
        &mut self,
        id: Uuid,
        user: Uuid,
        now_ms: i64,
    ) -> Result<AlarmChange, AlarmActionError> {
        let alarm = self.get_mut(id).ok_or(AlarmActionError::NotFound)?;
        if alarm.assignee != Some(user) {
            alarm.assignee = Some(user);
            alarm.assign_ts = now_ms;
        }
        Ok(AlarmChange::Updated(id))
    }

    /// Removes the assignee (`DELETE /api/alarm/{id}/assign`); unassigning an unassigned
    /// alarm changes nothing.
    ///
    /// # Errors
    ///
    /// [`AlarmActionError::NotFound`].
    pub fn unassign(&mut self, id: Uuid, now_ms: i64) -> Result<AlarmChange, AlarmActionError> {
        let alarm = self.get_mut(id).ok_or(AlarmActionError::NotFound)?;
        if alarm.assignee.is_some() {
            alarm.assignee = None;
            alarm.assign_ts = now_ms;
        }
        Ok(AlarmChange::Updated(id))
    }

    /// The simulated operator: active, unacknowledged alarms older than `after_ms` whose id
    /// falls in one of `one_in` buckets are acknowledged (deterministic per alarm id), so a
    /// demo shows alarms being acknowledged without a client doing it.
    pub fn operator_acks(&mut self, now_ms: i64, after_ms: i64, one_in: u128) -> Vec<AlarmChange> {
        let due: Vec<Uuid> = self
            .active
            .values()
            .filter_map(|id| self.get(*id))
            .filter(|a| {
                !a.acknowledged
                    && now_ms.saturating_sub(a.start_ts) >= after_ms
                    && a.id.as_u128() % one_in.max(1) == 0
            })
            .map(|a| a.id)
            .collect();
        due.into_iter()
            .filter_map(|id| self.acknowledge(id, now_ms).ok())
            .collect()
    }

    /// Deletes the alarm (`DELETE /api/alarm/{id}`).
    ///
    /// # Errors
    ///
    /// [`AlarmActionError::NotFound`].
    pub fn delete(&mut self, id: Uuid) -> Result<AlarmChange, AlarmActionError> {
        let seq = self.by_id.remove(&id).ok_or(AlarmActionError::NotFound)?;
        if let Some(alarm) = self.alarms.remove(&seq) {
            let key = (alarm.originator, alarm.alarm_type);
            if self.active.get(&key) == Some(&id) {
                self.active.remove(&key);
            }
        }
        Ok(AlarmChange::Deleted(id))
    }

    /// Deletes the oldest cleared alarms while more than `max` alarms are stored (active
    /// alarms are never pruned), so a long demo run keeps bounded memory.
    pub fn prune(&mut self, max: usize) -> Vec<AlarmChange> {
        let excess = self.alarms.len().saturating_sub(max);
        let doomed: Vec<Uuid> = self
            .alarms
            .values()
            .filter(|a| a.cleared)
            .take(excess)
            .map(|a| a.id)
            .collect();
        doomed
            .into_iter()
            .filter_map(|id| self.delete(id).ok())
            .collect()
    }

    /// Whether `user` may see (and act on) the alarm: tenant admins see every alarm, customer
    /// users those whose originator they can see.
    #[must_use]
    pub fn visible_to(&self, id: Uuid, world: &World, user: &DemoUser) -> bool {
        self.get(id).is_some_and(|a| visible(world, user, a))
    }

    /// The REST `AlarmInfo` of one alarm (`GET /api/alarm/info/{id}`, and the body of the
    /// ack/clear/assign answers).
    #[must_use]
    pub fn info(&self, id: Uuid, world: &World) -> Option<AlarmData> {
        self.get(id).map(|a| a.to_data(world, None, None))
    }

    /// `ALARM_DATA` and `POST /api/alarmsQuery/find` for `ctx.user`.
    ///
    /// The entity filter (with key filters) is resolved with [`QueryContext::matching`],
    /// ordered by the page link's sort key when it is not an alarm field (else by entity
    /// creation time) and cut to `max_entities`. Rows are (alarm, matched entity) pairs: the
    /// alarm's originator, and with `searchPropagatedAlarms` every entity it propagated to;
    /// then the page link's alarm filters, text search over `alarmFields`, sort (alarm field,
    /// else the entities' order, newest alarm first among equals) and paging apply. Each row
    /// carries the matched entity and its values of `entityFields` + `latestValues`.
    /// Returns the page and the number of matched entities (`totalEntities`).
    ///
    /// A page size below 1 returns every row on one page, as ThingsBoard does.
    ///
    /// # Errors
    ///
    /// A negative page, an unknown alarm sort field, or the entity filter's errors.
    pub fn find(
        &self,
        ctx: &QueryContext<'_>,
        query: &AlarmDataQuery,
        max_entities: usize,
        now_ms: i64,
    ) -> Result<(PageData<AlarmData>, usize), QueryError> {
        let link = &query.page_link;
        if link.page < 0 && link.page_size > 0 {
            return Err(QueryError(format!(
                "Incorrect alarm data page link page '{}'. Page must be positive integer.",
                link.page
            )));
        }
        let alarm_sort = match &link.sort_order {
            Some(order) if order.key.key_type == EntityKeyType::AlarmField => {
                let field = AlarmField::for_sort(&order.key.key).ok_or_else(|| {
                    QueryError(format!(
                        "Unsupported alarm sort property '{}'",
                        order.key.key
                    ))
                })?;
                Some((field, order.direction == SortDirection::Desc))
            }
            _ => None,
        };
        let mut entities = ctx.matching(
            &query.entity_filter,
            query.key_filters.as_deref().unwrap_or_default(),
            query.key_filters_operation.as_ref(),
        )?;
        order_entities(ctx, &mut entities, link.sort_order.as_ref());
        let total_entities = entities.len();
        entities.truncate(max_entities);
        if entities.is_empty() {
            return Ok((PageData::empty(), total_entities));
        }
        let priority: HashMap<&EntityId, (usize, &EntityRecord)> = entities
            .iter()
            .enumerate()
            .map(|(i, e)| (&e.id, (i, *e)))
            .collect();
        let filter = AlarmFilter::from_page_link(link, now_ms);
        let search = TextSearch::new(
            link.text_search.as_deref(),
            query.alarm_fields.as_deref().unwrap_or_default(),
        );
        let world = ctx.world;
        let mut rows: Vec<(SortValue, usize, &Alarm, &EntityRecord)> = Vec::new();
        // Newest first, so equal sort values list the newest alarm first.
        for alarm in self.alarms.values().rev() {
            if !filter.matches(alarm) || !search.matches(alarm, world) {
                continue;
            }
            for target in alarm.found_for(link.search_propagated_alarms) {
                if let Some(&(p, entity)) = priority.get(target) {
                    let key = alarm_sort.map_or(SortValue::Missing, |(field, _)| {
                        field.sort_value(alarm, world)
                    });
                    rows.push((key, p, alarm, entity));
                }
            }
        }
        match alarm_sort {
            Some((_, descending)) => rows.sort_by(|a, b| {
                let ord = a.0.cmp(&b.0);
                if descending { ord.reverse() } else { ord }
            }),
            None => rows.sort_by_key(|row| row.1),
        }
        let page = paged(&rows, link.page_size, link.page, |(_, _, alarm, entity)| {
            alarm_row(ctx, query, alarm, entity)
        });
        Ok((page, total_entities))
    }

    /// `ALARM_COUNT`: the alarms matching the query's filters. Without an entity filter every
    /// alarm `ctx.user` can see counts once; with one, like ThingsBoard's SQL, one per
    /// (alarm, matched entity) row (an alarm propagated to two matched entities counts twice).
    ///
    /// # Errors
    ///
    /// The entity filter's errors.
    pub fn count(
        &self,
        ctx: &QueryContext<'_>,
        query: &AlarmCountQuery,
        now_ms: i64,
    ) -> Result<i64, QueryError> {
        let filter = AlarmFilter::from_count_query(query, now_ms);
        let propagated = query.search_propagated_alarms.unwrap_or(false);
        let count = match &query.entity_filter {
            None => self
                .alarms
                .values()
                .filter(|a| filter.matches(a) && visible(ctx.world, ctx.user, a))
                .count(),
            Some(entity_filter) => {
                let entities = ctx.matching(
                    entity_filter,
                    query.key_filters.as_deref().unwrap_or_default(),
                    query.key_filters_operation.as_ref(),
                )?;
                let ids: HashSet<&EntityId> = entities.iter().map(|e| &e.id).collect();
                self.alarms
                    .values()
                    .filter(|a| filter.matches(a))
                    .map(|a| a.found_for(propagated).filter(|e| ids.contains(e)).count())
                    .sum()
            }
        };
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }

    /// `ALARM_STATUS`: whether `originator` has an active (not cleared) alarm of one of
    /// `types` and `severities` (`None` or empty = any). Propagated alarms do not count.
    #[must_use]
    pub fn has_active(
        &self,
        originator: &EntityId,
        types: Option<&[String]>,
        severities: Option<&[AlarmSeverity]>,
    ) -> bool {
        let types = types.unwrap_or_default();
        let severities = severities.unwrap_or_default();
        self.active
            .range((originator.clone(), String::new())..)
            .take_while(|((o, _), _)| o == originator)
            .filter_map(|(_, id)| self.get(*id))
            .any(|a| {
                !a.cleared
                    && (types.is_empty() || types.contains(&a.alarm_type))
                    && (severities.is_empty() || severities.contains(&a.severity))
            })
    }

    /// `GET /api/v2/alarms`: the alarms `user` can see, filtered, sorted (`createdTime DESC`
    /// by default) and paged; rows are REST `AlarmInfo`s (no `entityId`/`latest`).
    ///
    /// # Errors
    ///
    /// A page size below 1, a negative page or an unknown sort property, with the messages
    /// of Spring's `PageRequest` and a short text.
    pub fn list_v2(
        &self,
        world: &World,
        user: &DemoUser,
        params: &AlarmListParams,
    ) -> Result<PageData<AlarmData>, QueryError> {
        if params.page_size < 1 {
            return Err(QueryError("Page size must not be less than one".to_owned()));
        }
        if params.page < 0 {
            return Err(QueryError(
                "Page index must not be less than zero".to_owned(),
            ));
        }
        let sort_key = params.sort_property.as_deref().unwrap_or("createdTime");
        let field = AlarmField::for_sort(sort_key)
            .ok_or_else(|| QueryError(format!("Unsupported sort property '{sort_key}'")))?;
        let descending = params
            .sort_order
            .as_ref()
            .is_none_or(|d| *d == SortDirection::Desc);
        let filter = AlarmFilter {
            start: params.start_time.filter(|t| *t > 0),
            end: params.end_time.filter(|t| *t > 0),
            types: params.type_list.clone(),
            severities: params.severity_list.clone(),
            status: StatusFilter::from_list(&params.status_list),
            assignee: params.assignee_id,
        };
        let search = TextSearch::v2(params.text_search.as_deref());
        let mut rows: Vec<(SortValue, &Alarm)> = self
            .alarms
            .values()
            .rev()
            .filter(|a| filter.matches(a) && visible(world, user, a))
            .filter(|a| search.matches(a, world))
            .map(|a| (field.sort_value(a, world), a))
            .collect();
        rows.sort_by(|a, b| {
            let ord = a.0.cmp(&b.0);
            if descending { ord.reverse() } else { ord }
        });
        Ok(paged(&rows, params.page_size, params.page, |(_, a)| {
            a.to_data(world, None, None)
        }))
    }

    /// Whether `alarm` passes the query's alarm filters (time, type, severity, status,
    /// assignee, text search) — everything but the entity filter. For live updates.
    #[must_use]
    pub fn matches_query(
        alarm: &Alarm,
        world: &World,
        query: &AlarmDataQuery,
        now_ms: i64,
    ) -> bool {
        let search = TextSearch::new(
            query.page_link.text_search.as_deref(),
            query.alarm_fields.as_deref().unwrap_or_default(),
        );
        AlarmFilter::from_page_link(&query.page_link, now_ms).matches(alarm)
            && search.matches(alarm, world)
    }
}

/// The `latest` of an alarm row: `entity`'s values of `keys` under their key types (alarm
/// fields skipped), `{"ts":0,"value":""}` for keys without a value.
#[must_use]
pub fn entity_latest<'k>(
    ctx: &QueryContext<'_>,
    entity: &EntityRecord,
    keys: impl IntoIterator<Item = &'k EntityKey>,
) -> LatestValues {
    let mut map: LatestValues = BTreeMap::new();
    for key in keys {
        if key.key_type == EntityKeyType::AlarmField {
            continue;
        }
        let value = ctx
            .key_value(entity, key)
            .unwrap_or_else(|| TsValue::new(0, ""));
        map.entry(key.key_type.clone())
            .or_default()
            .insert(key.key.clone(), value);
    }
    map
}

/// An alarm's row for `entity` as `ALARM_DATA` sends it, with the entity's values of the
/// query's `entityFields` and `latestValues`.
#[must_use]
pub fn alarm_row(
    ctx: &QueryContext<'_>,
    query: &AlarmDataQuery,
    alarm: &Alarm,
    entity: &EntityRecord,
) -> AlarmData {
    let keys = query
        .entity_fields
        .iter()
        .flatten()
        .chain(query.latest_values.iter().flatten());
    alarm.to_data(
        ctx.world,
        Some(entity.id.clone()),
        Some(entity_latest(ctx, entity, keys)),
    )
}

// ----- rules --------------------------------------------------------------------------------

/// Thermostat temperature above which `High Temperature` is MAJOR.
pub const TEMPERATURE_MAJOR: f64 = 28.0;
/// Thermostat temperature above which `High Temperature` is CRITICAL.
pub const TEMPERATURE_CRITICAL: f64 = 32.0;
/// Thermostat temperature below which `High Temperature` clears.
pub const TEMPERATURE_CLEAR: f64 = 26.0;
/// Pump pressure below which `Low Pressure` (MAJOR) is raised.
pub const PRESSURE_LOW: f64 = 1.5;
/// Pump pressure above which `Low Pressure` clears.
pub const PRESSURE_CLEAR: f64 = 2.5;
/// Pump vibration above which `High Vibration` (WARNING) is raised.
pub const VIBRATION_HIGH: f64 = 2.5;
/// Pump vibration below which `High Vibration` clears.
pub const VIBRATION_CLEAR: f64 = 1.5;
/// Battery level below which `Low Battery` (MINOR) is raised.
pub const BATTERY_LOW: f64 = 20.0;
/// Battery level at or above which `Low Battery` clears.
pub const BATTERY_CLEAR: f64 = 25.0;
/// Gateway CPU load above which `High CPU` (WARNING) is raised.
pub const CPU_HIGH: f64 = 80.0;
/// Gateway CPU load below which `High CPU` clears.
pub const CPU_CLEAR: f64 = 60.0;

/// What a rule decides for one value.
enum Verdict {
    Raise(AlarmSeverity, f64),
    Clear,
    Keep,
}

/// Runs the alarm rules on a new telemetry point of `entity` and returns the changes:
///
/// | profile, key | raise | clear |
/// |---|---|---|
/// | thermostat `temperature` | `High Temperature` MAJOR > 28, CRITICAL > 32 (propagated to parents) | < 26 |
/// | water-pump `pressure` | `Low Pressure` MAJOR < 1.5 (propagated to parents) | > 2.5 |
/// | water-pump `vibration` | `High Vibration` WARNING > 2.5 | < 1.5 |
/// | thermostat `batteryLevel` | `Low Battery` MINOR < 20 | ≥ 25 |
/// | gateway `cpuLoad` | `High CPU` WARNING > 80; INDETERMINATE for an implausible reading (not a number, < 0 or > 100) | < 60 |
///
/// While a condition holds, every point raises the alarm again (severity follows the value,
/// `endTs` moves), as ThingsBoard's alarm rules do; between the two thresholds nothing
/// changes. Non-numeric values of the other keys are ignored.
pub fn apply_rules(
    store: &mut AlarmStore,
    rng: &mut Rng,
    world: &World,
    entity: &EntityId,
    key: &str,
    value: &TbValue,
    ts: i64,
) -> Vec<AlarmChange> {
    let Some(record) = world.entity(entity) else {
        return Vec::new();
    };
    let number = value.as_f64().filter(|v| v.is_finite());
    let (alarm_type, propagate, verdict) = match (record.profile.as_str(), key) {
        ("thermostat", "temperature") => (
            HIGH_TEMPERATURE,
            true,
            number.map_or(Verdict::Keep, |v| {
                if v > TEMPERATURE_CRITICAL {
                    Verdict::Raise(AlarmSeverity::Critical, TEMPERATURE_CRITICAL)
                } else if v > TEMPERATURE_MAJOR {
                    Verdict::Raise(AlarmSeverity::Major, TEMPERATURE_MAJOR)
                } else if v < TEMPERATURE_CLEAR {
                    Verdict::Clear
                } else {
                    Verdict::Keep
                }
            }),
        ),
        ("thermostat", "batteryLevel") => (
            LOW_BATTERY,
            false,
            band(
                number,
                |v| v < BATTERY_LOW,
                |v| v >= BATTERY_CLEAR,
                || Verdict::Raise(AlarmSeverity::Minor, BATTERY_LOW),
            ),
        ),
        ("water-pump", "pressure") => (
            LOW_PRESSURE,
            true,
            band(
                number,
                |v| v < PRESSURE_LOW,
                |v| v > PRESSURE_CLEAR,
                || Verdict::Raise(AlarmSeverity::Major, PRESSURE_LOW),
            ),
        ),
        ("water-pump", "vibration") => (
            HIGH_VIBRATION,
            false,
            band(
                number,
                |v| v > VIBRATION_HIGH,
                |v| v < VIBRATION_CLEAR,
                || Verdict::Raise(AlarmSeverity::Warning, VIBRATION_HIGH),
            ),
        ),
        ("gateway", "cpuLoad") => (
            HIGH_CPU,
            false,
            match number {
                Some(v) if (0.0..=100.0).contains(&v) => {
                    if v > CPU_HIGH {
                        Verdict::Raise(AlarmSeverity::Warning, CPU_HIGH)
                    } else if v < CPU_CLEAR {
                        Verdict::Clear
                    } else {
                        Verdict::Keep
                    }
                }
                _ => Verdict::Raise(AlarmSeverity::Indeterminate, 100.0),
            },
        ),
        _ => return Vec::new(),
    };
    match verdict {
        Verdict::Raise(severity, threshold) => {
            let details = serde_json::json!({
                "key": key,
                "value": value.as_str(),
                "threshold": threshold,
            });
            vec![store.raise(
                rng, world, entity, alarm_type, severity, details, propagate, ts,
            )]
        }
        Verdict::Clear => clear_active(store, entity, alarm_type, ts)
            .into_iter()
            .collect(),
        Verdict::Keep => Vec::new(),
    }
}

/// A one-severity rule: raise when `raise` holds, clear when `clear` holds.
fn band(
    number: Option<f64>,
    raise: impl Fn(f64) -> bool,
    clear: impl Fn(f64) -> bool,
    verdict: impl Fn() -> Verdict,
) -> Verdict {
    match number {
        Some(v) if raise(v) => verdict(),
        Some(v) if clear(v) => Verdict::Clear,
        _ => Verdict::Keep,
    }
}

fn clear_active(
    store: &mut AlarmStore,
    originator: &EntityId,
    alarm_type: &str,
    now_ms: i64,
) -> Option<AlarmChange> {
    let id = store.active_of(originator, alarm_type)?.id;
    store.clear(id, now_ms).ok()
}

/// `Device Offline` (MAJOR): raised when `device` goes silent (`active` false) unless it is
/// already raised, cleared when the device reports again. `None` when nothing changed.
pub fn device_activity(
    store: &mut AlarmStore,
    rng: &mut Rng,
    world: &World,
    device: &EntityId,
    active: bool,
    now_ms: i64,
) -> Option<AlarmChange> {
    if active {
        return clear_active(store, device, DEVICE_OFFLINE, now_ms);
    }
    if store.active_of(device, DEVICE_OFFLINE).is_some() {
        return None;
    }
    let record = world.entity(device)?;
    let timeout = world
        .attributes
        .get(device)
        .and_then(|a| a.server.get("inactivityTimeout"))
        .and_then(|v| v.value.as_i64());
    let details = serde_json::json!({
        "message": format!("{} stopped reporting", record.name),
        "inactivityTimeout": timeout,
    });
    Some(store.raise(
        rng,
        world,
        device,
        DEVICE_OFFLINE,
        AlarmSeverity::Major,
        details,
        false,
        now_ms,
    ))
}

/// A few historic alarms so the alarm list is never empty: cleared ones of the rule types,
/// and active ones of types no rule clears (`Maintenance Due`, `Firmware Outdated`,
/// `Tamper Detected`), some acknowledged, some assigned to the tenant admin, at least one on
/// a customer-owned device. Deterministic for a world and `now_ms`.
pub fn seed(store: &mut AlarmStore, rng: &mut Rng, world: &World, now_ms: i64) {
    const HOUR: i64 = 3_600_000;
    use AlarmSeverity::{Critical, Indeterminate, Major, Minor, Warning};
    let of_profile = |profile: &str, n: usize| {
        world
            .devices()
            .filter(|d| d.profile == profile)
            .nth(n)
            .map(|d| d.id.clone())
    };
    let admin = world
        .users
        .iter()
        .find(|u| u.customer_id.is_none())
        .map(|u| u.id);
    let customer_device = world
        .devices()
        .find(|d| d.customer_id.is_some() && d.profile == "thermostat")
        .map(|d| d.id.clone());
    // (device, type, severity, age in hours, what happened: Ack, Clear, aSsign, Propagate)
    #[rustfmt::skip]
    let plan = [
        (of_profile("thermostat", 0), HIGH_TEMPERATURE, Critical, 72, "ACP"),
        (of_profile("water-pump", 0), LOW_PRESSURE, Major, 30, "CSP"),
        (of_profile("gateway", 0), HIGH_CPU, Warning, 50, "AC"),
        (of_profile("water-pump", 0), "Maintenance Due", Minor, 26, "S"),
        (of_profile("gateway", 0), "Firmware Outdated", Indeterminate, 5, "AS"),
        (of_profile("energy-meter", 0), "Tamper Detected", Warning, 2, "P"),
        (customer_device, "Tamper Detected", Major, 1, "P"),
    ];
    for (device, alarm_type, severity, hours, events) in plan {
        let Some(device) = device else { continue };
        let created = now_ms - hours * HOUR;
        let details = serde_json::json!({"note": "historic demo alarm"});
        let propagate = events.contains('P');
        let id = store
            .raise(
                rng, world, &device, alarm_type, severity, details, propagate, created,
            )
            .id();
        if events.contains('A') {
            let _ = store.acknowledge(id, created + HOUR / 4);
        }
        if events.contains('S')
            && let Some(admin) = admin
        {
            let _ = store.assign(id, admin, created + HOUR / 2);
        }
        if events.contains('C') {
            let _ = store.clear(id, created + HOUR);
        }
    }
}

// ----- evaluation helpers -------------------------------------------------------------------

/// Whether `user` may see `alarm`: tenant admins see every alarm, customer users those whose
/// originator they can see.
fn visible(world: &World, user: &DemoUser, alarm: &Alarm) -> bool {
    user.customer_id.is_none()
        || world
            .entity(&alarm.originator)
            .is_some_and(|e| world.visible_to(user, e))
}

/// The originator's name as ThingsBoard's `alarm_info` view selects it.
fn originator_name(world: &World, originator: &EntityId) -> Option<String> {
    if originator.entity_type == EntityType::User {
        return world.user(originator.id).map(|u| u.email.clone());
    }
    world.entity(originator).map(|e| e.name.clone())
}

/// The originator's label (devices, assets, edges, entity views); `None` when blank.
fn originator_label(world: &World, originator: &EntityId) -> Option<String> {
    let labeled = matches!(
        originator.entity_type,
        EntityType::Device | EntityType::Asset | EntityType::Edge | EntityType::EntityView
    );
    world
        .entity(originator)
        .filter(|_| labeled)
        .map(|e| e.label.trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

/// The entities an alarm raised on `originator` propagates to (originator excluded):
/// ancestors along the relation types, then the owner, then the tenant.
fn propagation_targets(world: &World, originator: &EntityId, p: &Propagation) -> Vec<EntityId> {
    let mut seen: HashSet<EntityId> = HashSet::from([originator.clone()]);
    let mut out = Vec::new();
    if p.to_related {
        let mut frontier = vec![originator.clone()];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for node in &frontier {
                for rel in world.relations.iter().filter(|r| {
                    r.to == *node
                        && (p.relation_types.is_empty()
                            || p.relation_types.contains(&r.relation_type))
                }) {
                    if seen.insert(rel.from.clone()) {
                        out.push(rel.from.clone());
                        next.push(rel.from.clone());
                    }
                }
            }
            frontier = next;
        }
    }
    let tenant = EntityId::new(EntityType::Tenant, world.tenant_id);
    if p.to_owner {
        let owner = world
            .entity(originator)
            .and_then(|e| e.customer_id)
            .filter(|_| originator.entity_type != EntityType::Customer)
            .map_or_else(|| tenant.clone(), EntityId::customer);
        if seen.insert(owner.clone()) {
            out.push(owner);
        }
    }
    if p.to_tenant && seen.insert(tenant.clone()) {
        out.push(tenant);
    }
    out
}

/// Orders the matched entities as ThingsBoard does before cutting them to the limit: by the
/// page link's sort key when it is not an alarm field, else by creation time (ascending).
fn order_entities(
    ctx: &QueryContext<'_>,
    entities: &mut [&EntityRecord],
    order: Option<&EntityDataSortOrder>,
) {
    match order {
        Some(order) if order.key.key_type != EntityKeyType::AlarmField => {
            let descending = order.direction == SortDirection::Desc;
            let mut keyed: Vec<(SortValue, &EntityRecord)> = entities
                .iter()
                .map(|e| (SortValue::of_entity(ctx.key_value(e, &order.key)), *e))
                .collect();
            keyed.sort_by(|a, b| {
                let ord = a.0.cmp(&b.0);
                if descending { ord.reverse() } else { ord }
            });
            for (slot, (_, e)) in entities.iter_mut().zip(keyed) {
                *slot = e;
            }
        }
        _ => entities.sort_by_key(|e| e.created_time),
    }
}

/// One page of `rows` as `AlarmDataAdapter` computes it; a page size below 1 means no limit.
fn paged<R, T>(rows: &[R], page_size: i32, page: i32, render: impl Fn(&R) -> T) -> PageData<T> {
    match usize::try_from(page_size) {
        Ok(size) if size > 0 => page_of(rows, size, usize::try_from(page).unwrap_or(0), render),
        _ => PageData {
            data: rows.iter().map(render).collect(),
            total_pages: 1,
            total_elements: i64::try_from(rows.len()).unwrap_or(i64::MAX),
            has_next: false,
        },
    }
}

/// ThingsBoard's `AlarmStatusFilter`: two independent dimensions combined with AND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct StatusFilter {
    /// `Some(true)` = only cleared, `Some(false)` = only active.
    cleared: Option<bool>,
    /// `Some(true)` = only acknowledged, `Some(false)` = only unacknowledged.
    acknowledged: Option<bool>,
}

impl StatusFilter {
    fn from_list(list: &[AlarmSearchStatus]) -> Self {
        if list.contains(&AlarmSearchStatus::Any) {
            return Self::default();
        }
        let has = |s: AlarmSearchStatus| list.contains(&s);
        let dimension = |yes: bool, no: bool| match (yes, no) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        Self {
            cleared: dimension(
                has(AlarmSearchStatus::Cleared),
                has(AlarmSearchStatus::Active),
            ),
            acknowledged: dimension(has(AlarmSearchStatus::Ack), has(AlarmSearchStatus::Unack)),
        }
    }

    fn matches(self, alarm: &Alarm) -> bool {
        self.cleared.is_none_or(|c| alarm.cleared == c)
            && self.acknowledged.is_none_or(|a| alarm.acknowledged == a)
    }
}

/// The alarm-level filters of a page link or count query.
#[derive(Debug, Clone, PartialEq, Default)]
struct AlarmFilter {
    /// Created at or after.
    start: Option<i64>,
    /// Created at or before.
    end: Option<i64>,
    types: Vec<String>,
    severities: Vec<AlarmSeverity>,
    status: StatusFilter,
    assignee: Option<Uuid>,
}

impl AlarmFilter {
    /// §4.3: `timeWindow` > 0 → `[startTs, startTs+timeWindow]` when `startTs` > 0, else
    /// `[now-timeWindow, now]`; otherwise `[startTs, endTs]` with 0 = unbounded.
    fn time_range(
        start_ts: i64,
        end_ts: i64,
        window: i64,
        now_ms: i64,
    ) -> (Option<i64>, Option<i64>) {
        let (start, end) = if window > 0 {
            if start_ts > 0 {
                (start_ts, start_ts.saturating_add(window))
            } else {
                (now_ms.saturating_sub(window), now_ms)
            }
        } else {
            (start_ts, end_ts)
        };
        ((start > 0).then_some(start), (end > 0).then_some(end))
    }

    fn from_page_link(link: &AlarmDataPageLink, now_ms: i64) -> Self {
        let (start, end) = Self::time_range(link.start_ts, link.end_ts, link.time_window, now_ms);
        Self {
            start,
            end,
            types: link.type_list.clone().unwrap_or_default(),
            severities: link.severity_list.clone().unwrap_or_default(),
            status: StatusFilter::from_list(link.status_list.as_deref().unwrap_or_default()),
            assignee: link.assignee_id.as_ref().map(|id| id.id),
        }
    }

    fn from_count_query(query: &AlarmCountQuery, now_ms: i64) -> Self {
        let (start, end) = Self::time_range(
            query.start_ts.unwrap_or(0),
            query.end_ts.unwrap_or(0),
            query.time_window.unwrap_or(0),
            now_ms,
        );
        Self {
            start,
            end,
            types: query.type_list.clone().unwrap_or_default(),
            severities: query.severity_list.clone().unwrap_or_default(),
            status: StatusFilter::from_list(query.status_list.as_deref().unwrap_or_default()),
            assignee: query.assignee_id.as_ref().map(|id| id.id),
        }
    }

    fn matches(&self, alarm: &Alarm) -> bool {
        self.start.is_none_or(|s| alarm.created_time >= s)
            && self.end.is_none_or(|e| alarm.created_time <= e)
            && (self.types.is_empty() || self.types.contains(&alarm.alarm_type))
            && (self.severities.is_empty() || self.severities.contains(&alarm.severity))
            && self.status.matches(alarm)
            && self.assignee.is_none_or(|u| alarm.assignee == Some(u))
    }
}

/// Text search over the requested alarm fields; empty text or no searchable field = no filter.
struct TextSearch {
    needle: Option<String>,
    fields: Vec<AlarmField>,
}

impl TextSearch {
    fn new(text: Option<&str>, keys: &[EntityKey]) -> Self {
        let fields: Vec<AlarmField> = keys
            .iter()
            .flat_map(|k| AlarmField::for_search(&k.key))
            .collect();
        let needle = text
            .filter(|t| !t.is_empty() && !fields.is_empty())
            .map(str::to_lowercase);
        Self { needle, fields }
    }

    /// The `textSearch` of `GET /api/v2/alarms`: trimmed, over [`V2_SEARCH_FIELDS`].
    fn v2(text: Option<&str>) -> Self {
        Self {
            needle: text
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_lowercase),
            fields: V2_SEARCH_FIELDS.to_vec(),
        }
    }

    fn matches(&self, alarm: &Alarm, world: &World) -> bool {
        self.needle.as_deref().is_none_or(|needle| {
            self.fields.iter().any(|f| {
                f.search_text(alarm, world)
                    .is_some_and(|t| t.to_lowercase().contains(needle))
            })
        })
    }
}

/// A sortable value: integers, then floats, then text (case-insensitive), then missing —
/// Postgres's `NULLS LAST` when ascending; descending reverses the whole order.
#[derive(Debug, Clone, PartialEq)]
enum SortValue {
    Int(i64),
    Float(f64),
    Text(String),
    Missing,
}

impl SortValue {
    fn of_entity(value: Option<TsValue>) -> Self {
        match value.and_then(|v| v.value) {
            None => SortValue::Missing,
            Some(v) => match v.as_f64() {
                Some(n) => SortValue::Float(n),
                None => SortValue::Text(v.as_str().to_lowercase()),
            },
        }
    }

    fn text(value: Option<String>) -> Self {
        value.map_or(SortValue::Missing, |t| SortValue::Text(t.to_lowercase()))
    }

    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortValue::Int(a), SortValue::Int(b)) => a.cmp(b),
            (SortValue::Float(a), SortValue::Float(b)) => a.total_cmp(b),
            (SortValue::Text(a), SortValue::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortValue::Int(_) => 0,
            SortValue::Float(_) => 1,
            SortValue::Text(_) => 2,
            SortValue::Missing => 3,
        }
    }
}

/// An `ALARM_FIELD` key (ThingsBoard's alarm column map plus a few display names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AlarmField {
    CreatedTime,
    StartTs,
    EndTs,
    AckTs,
    ClearTs,
    AssignTs,
    Details,
    Acknowledged,
    Cleared,
    Type,
    Severity,
    Status,
    OriginatorId,
    OriginatorType,
    Originator,
    OriginatorLabel,
    OriginatorDisplayName,
    AssigneeId,
    AssigneeFirstName,
    AssigneeLastName,
    AssigneeEmail,
}

/// What `GET /api/v2/alarms` searches.
const V2_SEARCH_FIELDS: [AlarmField; 8] = [
    AlarmField::Type,
    AlarmField::Severity,
    AlarmField::Status,
    AlarmField::Originator,
    AlarmField::OriginatorLabel,
    AlarmField::AssigneeEmail,
    AlarmField::AssigneeFirstName,
    AlarmField::AssigneeLastName,
];

impl AlarmField {
    fn parse(key: &str) -> Option<Self> {
        Some(match key {
            "createdTime" => AlarmField::CreatedTime,
            "startTs" | "startTime" => AlarmField::StartTs,
            "endTs" | "endTime" => AlarmField::EndTs,
            "ackTs" | "ackTime" => AlarmField::AckTs,
            "clearTs" | "clearTime" => AlarmField::ClearTs,
            "assignTs" | "assignTime" => AlarmField::AssignTs,
            "details" => AlarmField::Details,
            "acknowledged" => AlarmField::Acknowledged,
            "cleared" => AlarmField::Cleared,
            "type" | "name" => AlarmField::Type,
            "severity" => AlarmField::Severity,
            "status" => AlarmField::Status,
            "originatorId" => AlarmField::OriginatorId,
            "originatorType" => AlarmField::OriginatorType,
            "originator" | "originatorName" => AlarmField::Originator,
            "originatorLabel" => AlarmField::OriginatorLabel,
            "originatorDisplayName" => AlarmField::OriginatorDisplayName,
            "assigneeId" => AlarmField::AssigneeId,
            "assigneeFirstName" => AlarmField::AssigneeFirstName,
            "assigneeLastName" => AlarmField::AssigneeLastName,
            "assigneeEmail" => AlarmField::AssigneeEmail,
            _ => return None,
        })
    }

    /// A sort key: `assignee` sorts by the assignee's e-mail, as in ThingsBoard.
    fn for_sort(key: &str) -> Option<Self> {
        if key.eq_ignore_ascii_case("assignee") {
            return Some(AlarmField::AssigneeEmail);
        }
        Self::parse(key)
    }

    /// The columns a text-search key covers: `assignee` expands to id, names and e-mail.
    fn for_search(key: &str) -> Vec<Self> {
        if key.eq_ignore_ascii_case("assignee") {
            return vec![
                AlarmField::AssigneeId,
                AlarmField::AssigneeFirstName,
                AlarmField::AssigneeLastName,
                AlarmField::AssigneeEmail,
            ];
        }
        Self::parse(key).into_iter().collect()
    }

    fn timestamp(self, a: &Alarm) -> Option<i64> {
        match self {
            AlarmField::CreatedTime => Some(a.created_time),
            AlarmField::StartTs => Some(a.start_ts),
            AlarmField::EndTs => Some(a.end_ts),
            AlarmField::AckTs => Some(a.ack_ts),
            AlarmField::ClearTs => Some(a.clear_ts),
            AlarmField::AssignTs => Some(a.assign_ts),
            _ => None,
        }
    }

    fn sort_value(self, a: &Alarm, world: &World) -> SortValue {
        if let Some(ts) = self.timestamp(a) {
            return SortValue::Int(ts);
        }
        match self {
            // CRITICAL is the highest severity: first when descending.
            AlarmField::Severity => SortValue::Int(5 - i64::from(a.severity.rank())),
            AlarmField::Acknowledged => SortValue::Int(i64::from(a.acknowledged)),
            AlarmField::Cleared => SortValue::Int(i64::from(a.cleared)),
            _ => SortValue::text(self.search_text(a, world)),
        }
    }

    /// The field as text (what a text search compares); `None` for a null column.
    fn search_text(self, a: &Alarm, world: &World) -> Option<String> {
        if let Some(ts) = self.timestamp(a) {
            return Some(ts.to_string());
        }
        let assignee = || a.assignee.and_then(|id| world.user(id));
        match self {
            AlarmField::Details => (!a.details.is_null()).then(|| a.details.to_string()),
            AlarmField::Acknowledged => Some(a.acknowledged.to_string()),
            AlarmField::Cleared => Some(a.cleared.to_string()),
            AlarmField::Type => Some(a.alarm_type.clone()),
            AlarmField::Severity => Some(a.severity.as_str().to_owned()),
            AlarmField::Status => Some(a.status().as_str().to_owned()),
            AlarmField::OriginatorId => Some(a.originator.id.to_string()),
            AlarmField::OriginatorType => Some(a.originator.entity_type.as_str().to_owned()),
            AlarmField::Originator => originator_name(world, &a.originator),
            AlarmField::OriginatorLabel => originator_label(world, &a.originator),
            AlarmField::OriginatorDisplayName => originator_label(world, &a.originator)
                .or_else(|| originator_name(world, &a.originator)),
            AlarmField::AssigneeId => a.assignee.map(|id| id.to_string()),
            AlarmField::AssigneeFirstName => assignee().map(|u| u.first_name.clone()),
            AlarmField::AssigneeLastName => assignee().map(|u| u.last_name.clone()),
            AlarmField::AssigneeEmail => assignee().map(|u| u.email.clone()),
            AlarmField::CreatedTime
            | AlarmField::StartTs
            | AlarmField::EndTs
            | AlarmField::AckTs
            | AlarmField::ClearTs
            | AlarmField::AssignTs => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::latest::LatestStore;
    use crate::demo::world::{CUSTOMER_EMAIL, TENANT_EMAIL, WorldSpec};
    use crate::protocol::EntityFilter;
    use AlarmSeverity::{Critical, Indeterminate, Major, Minor, Warning};
    use serde_json::Value::Null;

    const NOW: i64 = 1_700_000_000_000;
    const MIN: i64 = 60_000;
    const HOUR: i64 = 3_600_000;

    /// The seed-7 world (a temperature on every thermostat), an alarm store and an rng.
    struct Env {
        world: World,
        latest: LatestStore,
        store: AlarmStore,
        rng: Rng,
    }

    impl Env {
        fn new() -> Self {
            let world = World::generate(WorldSpec {
                seed: 7,
                devices: 60,
                now_ms: NOW,
            });
            let mut latest = LatestStore::new();
            for (i, d) in world
                .devices()
                .filter(|d| d.profile == "thermostat")
                .enumerate()
            {
                latest.offer(
                    &d.id,
                    "temperature",
                    TsValue::new(NOW - 1000, format!("2{i}.5")),
                );
            }
            Self {
                world,
                latest,
                store: AlarmStore::new(),
                rng: Rng::new(1),
            }
        }

        fn user(&self, email: &str) -> &DemoUser {
            self.world.user_by_email(email).unwrap()
        }
        fn admin(&self) -> QueryContext<'_> {
            self.ctx(TENANT_EMAIL)
        }
        fn customer(&self) -> QueryContext<'_> {
            self.ctx(CUSTOMER_EMAIL)
        }
        fn ctx(&self, email: &str) -> QueryContext<'_> {
            QueryContext {
                world: &self.world,
                user: self.user(email),
                latest: &self.latest,
                now_ms: NOW,
            }
        }
        fn devices_where(&self, pred: impl Fn(&EntityRecord) -> bool) -> Vec<EntityId> {
            self.world
                .devices()
                .filter(|d| pred(d))
                .map(|d| d.id.clone())
                .collect()
        }
        fn devices(&self, profile: &str) -> Vec<EntityId> {
            self.devices_where(|d| d.profile == profile)
        }
        fn tenant_devices(&self) -> Vec<EntityId> {
            self.devices_where(|d| d.customer_id.is_none())
        }
        fn customer_devices(&self) -> Vec<EntityId> {
            self.devices_where(|d| d.customer_id.is_some())
        }
        /// The entity containing `id`.
        fn parent(&self, id: &EntityId) -> EntityId {
            let rel = self.world.relations.iter().find(|r| r.to == *id);
            rel.map(|r| r.from.clone()).unwrap()
        }
        fn record(&self, id: &EntityId) -> &EntityRecord {
            self.world.entity(id).unwrap()
        }

        fn raise_change(
            &mut self,
            on: &EntityId,
            t: &str,
            s: AlarmSeverity,
            p: bool,
            at: i64,
        ) -> AlarmChange {
            let rng = &mut self.rng;
            self.store.raise(rng, &self.world, on, t, s, Null, p, at)
        }
        fn raise(&mut self, on: &EntityId, t: &str, s: AlarmSeverity, at: i64) -> Uuid {
            self.raise_change(on, t, s, false, at).id()
        }
        fn raise_propagated(&mut self, on: &EntityId, t: &str, s: AlarmSeverity, at: i64) -> Uuid {
            self.raise_change(on, t, s, true, at).id()
        }
        fn rules(&mut self, on: &EntityId, key: &str, value: &str) -> Vec<AlarmChange> {
            let value = TbValue::new(value);
            apply_rules(
                &mut self.store,
                &mut self.rng,
                &self.world,
                on,
                key,
                &value,
                NOW,
            )
        }
        fn activity(&mut self, on: &EntityId, active: bool, at: i64) -> Option<AlarmChange> {
            device_activity(&mut self.store, &mut self.rng, &self.world, on, active, at)
        }

        fn page_as(
            &self,
            ctx: &QueryContext<'_>,
            q: &AlarmDataQuery,
        ) -> (PageData<AlarmData>, usize) {
            self.store.find(ctx, q, 10_000, NOW).unwrap()
        }
        fn page(&self, q: &AlarmDataQuery) -> PageData<AlarmData> {
            self.page_as(&self.admin(), q).0
        }
        /// Sorted ids of the admin's rows.
        fn found(&self, q: &AlarmDataQuery) -> Vec<Uuid> {
            sorted(row_ids(&self.page(q)))
        }
        /// Sorted ids of the stored alarms satisfying `pred`.
        fn expected(&self, pred: impl Fn(&Alarm) -> bool) -> Vec<Uuid> {
            sorted(
                self.store
                    .alarms()
                    .filter(|a| pred(a))
                    .map(|a| a.id)
                    .collect(),
            )
        }
        fn count(&self, q: &AlarmCountQuery) -> i64 {
            self.store.count(&self.admin(), q, NOW).unwrap()
        }
        fn info(&self, id: Uuid) -> AlarmData {
            self.store.info(id, &self.world).unwrap()
        }

        /// One alarm of each status, on four tenant devices.
        fn four_statuses(&mut self) {
            let devices = self.tenant_devices();
            let flags = [(false, false), (true, false), (false, true), (true, true)];
            for (device, (ack, clear)) in devices.iter().zip(flags) {
                let id = self.raise(device, HIGH_TEMPERATURE, Major, NOW - HOUR);
                if ack {
                    self.store.acknowledge(id, NOW).unwrap();
                }
                if clear {
                    self.store.clear(id, NOW).unwrap();
                }
            }
        }
    }

    fn devices_query(link: AlarmDataPageLink) -> AlarmDataQuery {
        AlarmDataQuery::new(EntityFilter::of_type(EntityType::Device), link)
    }

    fn link_with(edit: impl FnOnce(&mut AlarmDataPageLink)) -> AlarmDataPageLink {
        let mut link = AlarmDataPageLink::first(100);
        edit(&mut link);
        link
    }

    fn sort_by(key: EntityKey, direction: SortDirection) -> AlarmDataPageLink {
        link_with(|l| l.sort_order = Some(EntityDataSortOrder { key, direction }))
    }

    fn row_ids(page: &PageData<AlarmData>) -> Vec<Uuid> {
        page.data.iter().map(|d| d.id.id).collect()
    }

    fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
        v.sort();
        v
    }

    fn len_i64(n: usize) -> i64 {
        i64::try_from(n).unwrap()
    }

    // ----- store ---------------------------------------------------------------------------

    #[test]
    fn raising_creates_an_active_unacknowledged_alarm_rendered_like_thingsboard() {
        let mut env = Env::new();
        let labeled =
            env.devices_where(|d| d.customer_id.is_none() && !d.label.is_empty())[0].clone();
        let unlabeled =
            env.devices_where(|d| d.customer_id.is_some() && d.label.is_empty())[0].clone();
        let details = serde_json::json!({"value": 29});
        let change = env.store.raise(
            &mut env.rng,
            &env.world,
            &labeled,
            HIGH_TEMPERATURE,
            Major,
            details.clone(),
            false,
            NOW,
        );
        assert!(matches!(change, AlarmChange::Created(_)));
        let data = env.info(change.id());
        let record = env.record(&labeled);
        assert_eq!(data.id, EntityId::new(EntityType::Alarm, change.id()));
        assert_eq!(
            (data.entity_id.as_ref(), data.latest.as_ref()),
            (None, None)
        );
        assert_eq!(
            data.tenant_id,
            Some(EntityId::new(EntityType::Tenant, env.world.tenant_id))
        );
        assert_eq!(data.customer_id, Some(EntityId::customer(NULL_UUID)));
        assert_eq!(
            (data.alarm_type.as_str(), data.name.as_deref()),
            (HIGH_TEMPERATURE, Some(HIGH_TEMPERATURE))
        );
        assert_eq!((&data.originator, &data.severity), (&labeled, &Major));
        assert_eq!(data.status, Some(AlarmStatus::ActiveUnack));
        assert!(!data.acknowledged && !data.cleared);
        assert_eq!(
            (data.created_time, data.start_ts, data.end_ts),
            (NOW, NOW, NOW)
        );
        assert_eq!((data.ack_ts, data.clear_ts, data.assign_ts), (0, 0, 0));
        assert_eq!(
            (data.assignee_id.as_ref(), data.assignee.as_ref()),
            (None, None)
        );
        assert_eq!(data.details, Some(details));
        assert!(!data.propagate && !data.propagate_to_owner && !data.propagate_to_tenant);
        assert_eq!(data.propagate_relation_types, Some(Vec::new()));
        assert_eq!(data.originator_name.as_deref(), Some(record.name.as_str()));
        assert_eq!(
            data.originator_label.as_deref(),
            Some(record.label.as_str())
        );
        assert_eq!(
            data.originator_display_name.as_deref(),
            Some(record.label.as_str())
        );
        let json = serde_json::to_value(&data).unwrap();
        assert_eq!(json["customerId"]["id"], NULL_UUID.to_string());
        assert_eq!(json["propagateRelationTypes"], serde_json::json!([]));

        let id = env.raise(&unlabeled, LOW_BATTERY, Minor, NOW);
        let data = env.info(id);
        let record = env.record(&unlabeled);
        assert_eq!(
            data.customer_id,
            Some(EntityId::customer(record.customer_id.unwrap()))
        );
        assert_eq!(data.originator_label, None);
        assert_eq!(
            data.originator_display_name.as_deref(),
            Some(record.name.as_str())
        );
        assert_eq!(data.details, None);
    }

    #[test]
    fn raising_again_updates_the_one_active_alarm_and_escalates_its_severity() {
        let mut env = Env::new();
        let device = env.devices("thermostat")[0].clone();
        let first = env.raise(&device, HIGH_TEMPERATURE, Major, NOW - MIN);
        let again = env.store.raise(
            &mut env.rng,
            &env.world,
            &device,
            HIGH_TEMPERATURE,
            Critical,
            serde_json::json!({"v": 33}),
            false,
            NOW,
        );
        assert_eq!(again, AlarmChange::Updated(first));
        assert_eq!(env.store.len(), 1);
        let alarm = env.store.get(first).unwrap();
        assert_eq!(alarm.severity, Critical);
        assert_eq!(
            (alarm.created_time, alarm.start_ts, alarm.end_ts),
            (NOW - MIN, NOW - MIN, NOW)
        );
        assert_eq!(alarm.details, serde_json::json!({"v": 33}));
        assert_eq!(
            env.store.active_of(&device, HIGH_TEMPERATURE).map(|a| a.id),
            Some(first)
        );
    }

    #[test]
    fn a_cleared_alarm_no_longer_blocks_its_type_and_types_and_originators_are_separate() {
        let mut env = Env::new();
        let thermostats = env.devices("thermostat");
        let first = env.raise(&thermostats[0], HIGH_TEMPERATURE, Major, NOW - HOUR);
        env.store.clear(first, NOW - MIN).unwrap();
        let second = env.raise_change(&thermostats[0], HIGH_TEMPERATURE, Major, false, NOW);
        assert!(matches!(second, AlarmChange::Created(id) if id != first));
        let other_type = env.raise(&thermostats[0], LOW_BATTERY, Minor, NOW);
        let other_device = env.raise(&thermostats[1], HIGH_TEMPERATURE, Major, NOW);
        let ids: HashSet<Uuid> = [first, second.id(), other_type, other_device].into();
        assert_eq!((ids.len(), env.store.len()), (4, 4));
    }

    #[test]
    fn the_simulated_operator_acknowledges_old_active_alarms_of_its_share_only() {
        let mut env = Env::new();
        let devices = env.devices("thermostat");
        let ids: Vec<Uuid> = devices
            .iter()
            .map(|d| env.raise(d, HIGH_TEMPERATURE, Major, NOW))
            .collect();
        // Too young: nothing happens.
        assert!(env.store.operator_acks(NOW + 10, 60_000, 2).is_empty());
        let acked = env.store.operator_acks(NOW + 60_000, 60_000, 2);
        let expected: Vec<Uuid> = ids
            .iter()
            .copied()
            .filter(|id| id.as_u128() % 2 == 0)
            .collect();
        let mut got: Vec<Uuid> = acked.iter().map(AlarmChange::id).collect();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want);
        for id in &ids {
            assert_eq!(env.info(*id).acknowledged, expected.contains(id));
        }
        // Acknowledged once only.
        assert!(env.store.operator_acks(NOW + 120_000, 60_000, 2).is_empty());
    }

    #[test]
    fn acknowledge_clear_assign_and_unassign_set_their_flags_and_times() {
        let mut env = Env::new();
        let admin = env.user(TENANT_EMAIL).clone();
        let gateways = env.devices("gateway");
        let id = env.raise(&gateways[0], HIGH_CPU, Warning, NOW);
        assert_eq!(
            env.store.acknowledge(id, NOW + 1),
            Ok(AlarmChange::Updated(id))
        );
        let data = env.info(id);
        assert_eq!((data.acknowledged, data.ack_ts), (true, NOW + 1));
        assert_eq!(data.status, Some(AlarmStatus::ActiveAck));

        assert_eq!(
            env.store.assign(id, admin.id, NOW + 2),
            Ok(AlarmChange::Updated(id))
        );
        let data = env.info(id);
        assert_eq!(
            (data.assignee_id, data.assign_ts),
            (Some(EntityId::user(admin.id)), NOW + 2)
        );
        let assignee = AlarmAssignee {
            id: EntityId::user(admin.id),
            first_name: Some(admin.first_name.clone()),
            last_name: Some(admin.last_name.clone()),
            email: Some(admin.email.clone()),
        };
        assert_eq!(data.assignee, Some(assignee));
        // Assigning to the same user again changes nothing.
        env.store.assign(id, admin.id, NOW + 3).unwrap();
        assert_eq!(env.store.get(id).unwrap().assign_ts, NOW + 2);

        assert_eq!(env.store.clear(id, NOW + 4), Ok(AlarmChange::Updated(id)));
        let data = env.info(id);
        assert_eq!((data.cleared, data.clear_ts), (true, NOW + 4));
        assert_eq!(data.status, Some(AlarmStatus::ClearedAck));

        assert_eq!(
            env.store.unassign(id, NOW + 5),
            Ok(AlarmChange::Updated(id))
        );
        let data = env.info(id);
        assert_eq!(
            (data.assignee_id, data.assignee, data.assign_ts),
            (None, None, NOW + 5)
        );

        // Cleared before acknowledged: CLEARED_UNACK, and it can still be acknowledged.
        let other = env.raise(&gateways[1], HIGH_CPU, Warning, NOW);
        env.store.clear(other, NOW + 1).unwrap();
        assert_eq!(
            env.store.get(other).unwrap().status(),
            AlarmStatus::ClearedUnack
        );
        env.store.acknowledge(other, NOW + 2).unwrap();
        assert_eq!(
            env.store.get(other).unwrap().status(),
            AlarmStatus::ClearedAck
        );
    }

    #[test]
    fn repeated_actions_and_unknown_ids_fail_with_thingsboards_errors() {
        let mut env = Env::new();
        let id = env.raise(&env.devices("thermostat")[0], LOW_BATTERY, Minor, NOW);
        env.store.acknowledge(id, NOW).unwrap();
        env.store.clear(id, NOW).unwrap();
        let acked = env.store.acknowledge(id, NOW).unwrap_err();
        let cleared = env.store.clear(id, NOW).unwrap_err();
        assert_eq!(acked, AlarmActionError::AlreadyAcknowledged);
        assert_eq!(acked.to_string(), "Alarm was already acknowledged!");
        assert_eq!(cleared, AlarmActionError::AlreadyCleared);
        assert_eq!(cleared.to_string(), "Alarm was already cleared!");
        for e in [acked, cleared] {
            assert_eq!((e.http_status(), e.error_code().code()), (400, 31));
        }
        let unknown = Uuid::from_u128(42);
        let admin = env.user(TENANT_EMAIL).id;
        let results = [
            env.store.acknowledge(unknown, NOW),
            env.store.clear(unknown, NOW),
            env.store.assign(unknown, admin, NOW),
            env.store.unassign(unknown, NOW),
            env.store.delete(unknown),
        ];
        for r in results {
            let e = r.unwrap_err();
            assert_eq!(e, AlarmActionError::NotFound);
            assert_eq!(e.to_string(), "Requested item wasn't found!");
            assert_eq!((e.http_status(), e.error_code().code()), (404, 32));
        }
    }

    #[test]
    fn delete_removes_the_alarm_and_frees_its_type_and_prune_drops_the_oldest_cleared() {
        let mut env = Env::new();
        let device = env.devices("water-pump")[0].clone();
        let id = env.raise(&device, LOW_PRESSURE, Major, NOW);
        assert_eq!(env.store.delete(id), Ok(AlarmChange::Deleted(id)));
        assert!(env.store.get(id).is_none() && env.store.is_empty());
        assert!(!env.store.has_active(&device, None, None));
        assert_eq!(env.store.delete(id), Err(AlarmActionError::NotFound));
        let again = env.raise_change(&device, LOW_PRESSURE, Major, false, NOW);
        assert!(matches!(again, AlarmChange::Created(_)));

        let mut cleared = Vec::new();
        for i in 0..3 {
            let id = env.raise(&device, HIGH_VIBRATION, Warning, NOW + i);
            env.store.clear(id, NOW + i).unwrap();
            cleared.push(id);
        }
        assert_eq!(env.store.len(), 4);
        let pruned = env.store.prune(2);
        assert_eq!(
            pruned,
            vec![
                AlarmChange::Deleted(cleared[0]),
                AlarmChange::Deleted(cleared[1])
            ]
        );
        assert_eq!(env.store.len(), 2);
        // Active alarms are never pruned.
        env.store.prune(0);
        let left: Vec<Uuid> = env.store.alarms().map(|a| a.id).collect();
        assert_eq!(left, vec![again.id()]);
    }

    // ----- filters -------------------------------------------------------------------------

    #[test]
    fn status_filters_combine_the_cleared_and_acknowledged_dimensions_with_and() {
        use AlarmSearchStatus::{Ack, Active, Any, Cleared, Unack};
        type Pred = fn(&Alarm) -> bool;
        let mut env = Env::new();
        env.four_statuses();
        let all: Pred = |_| true;
        let cases: [(Vec<AlarmSearchStatus>, Pred); 14] = [
            (vec![], all),
            (vec![Any], all),
            (vec![Active, Any], all),
            (vec![Active], |a| !a.cleared),
            (vec![Cleared], |a| a.cleared),
            (vec![Ack], |a| a.acknowledged),
            (vec![Unack], |a| !a.acknowledged),
            (vec![Active, Unack], |a| !a.cleared && !a.acknowledged),
            (vec![Active, Ack], |a| !a.cleared && a.acknowledged),
            (vec![Cleared, Unack], |a| a.cleared && !a.acknowledged),
            (vec![Cleared, Ack], |a| a.cleared && a.acknowledged),
            (vec![Active, Cleared], all),
            (vec![Ack, Unack], all),
            (vec![Active, Cleared, Ack], |a| a.acknowledged),
        ];
        for (statuses, pred) in cases {
            let want = env.expected(pred);
            let link = AlarmDataPageLink::first(100).with_statuses(statuses.clone());
            assert_eq!(env.found(&devices_query(link)), want, "{statuses:?}");
            let count = AlarmCountQuery {
                status_list: Some(statuses.clone()),
                ..AlarmCountQuery::default()
            };
            assert_eq!(env.count(&count), len_i64(want.len()), "{statuses:?}");
        }
    }

    #[test]
    fn a_time_window_wins_over_the_range_and_zero_bounds_are_unbounded() {
        let mut env = Env::new();
        let devices = env.tenant_devices();
        let three = env.raise(&devices[0], HIGH_CPU, Warning, NOW - 3 * HOUR);
        let two = env.raise(&devices[1], HIGH_CPU, Warning, NOW - 2 * HOUR);
        let one = env.raise(&devices[2], HIGH_CPU, Warning, NOW - HOUR);
        let window = |start_ts: i64, end_ts: i64, time_window: i64| {
            env.found(&devices_query(link_with(|l| {
                (l.start_ts, l.end_ts, l.time_window) = (start_ts, end_ts, time_window);
            })))
        };
        // [now - 90 min, now]; endTs is ignored when a window is given.
        assert_eq!(window(0, 0, 90 * MIN), vec![one]);
        assert_eq!(window(0, NOW - 150 * MIN, 90 * MIN), vec![one]);
        // [startTs, startTs + window]
        assert_eq!(window(NOW - 3 * HOUR, 0, 30 * MIN), vec![three]);
        assert_eq!(
            window(NOW - 3 * HOUR, 0, 90 * MIN),
            sorted(vec![three, two])
        );
        // Fixed ranges, inclusive; 0 = unbounded.
        assert_eq!(window(NOW - 2 * HOUR, 0, 0), sorted(vec![two, one]));
        assert_eq!(window(0, NOW - 2 * HOUR, 0), sorted(vec![three, two]));
        assert_eq!(window(NOW - 2 * HOUR, NOW - 2 * HOUR, 0), vec![two]);
        assert_eq!(window(0, 0, 0), sorted(vec![three, two, one]));
    }

    #[test]
    fn severity_type_and_assignee_filters_keep_only_matching_alarms() {
        let mut env = Env::new();
        let admin = env.user(TENANT_EMAIL).id;
        let devices = env.tenant_devices();
        let plan = [
            (HIGH_TEMPERATURE, Critical, true),
            (HIGH_TEMPERATURE, Major, false),
            (LOW_BATTERY, Minor, true),
            (HIGH_CPU, Warning, false),
            (DEVICE_OFFLINE, Indeterminate, false),
        ];
        for (device, (t, s, assigned)) in devices.iter().zip(plan) {
            let id = env.raise(device, t, s, NOW);
            if assigned {
                env.store.assign(id, admin, NOW).unwrap();
            }
        }
        let link = link_with(|l| l.severity_list = Some(vec![Critical, Minor]));
        let want = env.expected(|a| matches!(a.severity, Critical | Minor));
        assert_eq!(env.found(&devices_query(link)), want);
        let link =
            link_with(|l| l.type_list = Some(vec![HIGH_TEMPERATURE.into(), HIGH_CPU.into()]));
        let want = env.expected(|a| a.alarm_type == HIGH_TEMPERATURE || a.alarm_type == HIGH_CPU);
        assert_eq!(env.found(&devices_query(link)), want);
        let link = link_with(|l| l.assignee_id = Some(EntityId::user(admin)));
        let want = env.expected(|a| a.assignee == Some(admin));
        assert_eq!(env.found(&devices_query(link)), want);
        // Empty lists filter nothing.
        let link = link_with(|l| (l.type_list, l.severity_list) = (Some(vec![]), Some(vec![])));
        assert_eq!(env.found(&devices_query(link)).len(), env.store.len());
    }

    // ----- propagation and visibility ------------------------------------------------------

    #[test]
    fn an_asset_query_finds_propagated_alarms_only_when_asked() {
        let mut env = Env::new();
        let device = env.tenant_devices()[0].clone();
        let building = env.parent(&device);
        let site = env.parent(&building);
        let propagated = env.raise_propagated(&device, HIGH_TEMPERATURE, Major, NOW - 2 * MIN);
        let alarm = env.store.get(propagated).unwrap();
        assert_eq!(alarm.propagated_to, vec![building.clone(), site.clone()]);
        assert_eq!(alarm.propagate_relation_types, vec![CONTAINS.to_owned()]);
        let local = env.raise(&device, LOW_BATTERY, Minor, NOW - MIN);
        let own = env.raise(&site, "Site Alarm", Warning, NOW);

        let assets = |propagated_too: bool| {
            let link = link_with(|l| l.search_propagated_alarms = propagated_too);
            let query = AlarmDataQuery::new(EntityFilter::of_type(EntityType::Asset), link);
            let rows = env.page(&query).data.into_iter();
            sorted(
                rows.map(|d| (d.id.id, d.entity_id.unwrap()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(assets(false), vec![(own, site.clone())]);
        let want = vec![
            (own, site.clone()),
            (propagated, building.clone()),
            (propagated, site.clone()),
        ];
        assert_eq!(assets(true), sorted(want));
        assert!(!assets(true).iter().any(|(id, _)| *id == local));

        // The device itself finds both its alarms either way, with entityId = the device.
        for propagated_too in [false, true] {
            let link = link_with(|l| l.search_propagated_alarms = propagated_too);
            let query = AlarmDataQuery::new(EntityFilter::single(device.clone()), link);
            let (page, total) = env.page_as(&env.admin(), &query);
            assert_eq!(total, 1);
            assert_eq!(sorted(row_ids(&page)), sorted(vec![propagated, local]));
            assert!(
                page.data
                    .iter()
                    .all(|d| d.entity_id.as_ref() == Some(&device))
            );
        }

        // Propagation to the owner and the tenant.
        let customer_device = env.customer_devices()[0].clone();
        let propagation = Propagation {
            to_owner: true,
            to_tenant: true,
            ..Propagation::none()
        };
        let new = NewAlarm {
            originator: &customer_device,
            alarm_type: "Owner",
            severity: Minor,
            details: Null,
            propagation,
        };
        let id = env
            .store
            .raise_with(&mut env.rng, &env.world, new, NOW)
            .id();
        let customer = EntityId::customer(env.record(&customer_device).customer_id.unwrap());
        let tenant = EntityId::new(EntityType::Tenant, env.world.tenant_id);
        assert_eq!(
            env.store.get(id).unwrap().propagated_to,
            vec![customer, tenant]
        );
    }

    #[test]
    fn a_customer_user_sees_only_alarms_of_the_customers_entities() {
        let mut env = Env::new();
        let mine = env.customer_devices()[0].clone();
        let theirs = env.tenant_devices()[0].clone();
        let a = env.raise_propagated(&mine, HIGH_TEMPERATURE, Major, NOW);
        let b = env.raise_propagated(&theirs, HIGH_TEMPERATURE, Major, NOW);

        let query = devices_query(AlarmDataPageLink::first(100));
        let (page, total) = env.page_as(&env.customer(), &query);
        assert_eq!(row_ids(&page), vec![a]);
        assert_eq!(total, env.customer_devices().len());
        assert_eq!(env.found(&query), sorted(vec![a, b]));

        // Propagated rows: only for the customer's building and site.
        let link = link_with(|l| l.search_propagated_alarms = true);
        let query = AlarmDataQuery::new(EntityFilter::of_type(EntityType::Asset), link);
        let (page, _) = env.page_as(&env.customer(), &query);
        assert_eq!(row_ids(&page), vec![a, a]);
        let customer = env.user(CUSTOMER_EMAIL);
        for row in &page.data {
            let entity = env.record(row.entity_id.as_ref().unwrap());
            assert!(env.world.visible_to(customer, entity));
        }

        let everything = AlarmCountQuery::default();
        assert_eq!(
            env.store.count(&env.customer(), &everything, NOW).unwrap(),
            1
        );
        assert_eq!(env.count(&everything), 2);
        let first = AlarmListParams::first(10);
        let v2 = env.store.list_v2(&env.world, customer, &first).unwrap();
        assert_eq!(row_ids(&v2), vec![a]);
        let v2 = env
            .store
            .list_v2(&env.world, env.user(TENANT_EMAIL), &first)
            .unwrap();
        assert_eq!(sorted(row_ids(&v2)), sorted(vec![a, b]));
    }

    // ----- sort, page, search, rows --------------------------------------------------------

    #[test]
    fn alarms_sort_by_severity_and_created_time_both_ways() {
        let mut env = Env::new();
        let devices = env.tenant_devices();
        // Creation order says nothing about severity.
        let severities = [Minor, Critical, Indeterminate, Major, Warning];
        for (i, (device, s)) in devices.iter().zip(severities).enumerate() {
            env.raise(device, HIGH_CPU, s, NOW - len_i64(i) * MIN);
        }
        let rows = |key: &str, direction: SortDirection| {
            env.page(&devices_query(sort_by(
                EntityKey::alarm_field(key),
                direction,
            )))
            .data
        };
        let severities_of =
            |rows: Vec<AlarmData>| rows.into_iter().map(|d| d.severity).collect::<Vec<_>>();
        let times_of =
            |rows: Vec<AlarmData>| rows.into_iter().map(|d| d.created_time).collect::<Vec<_>>();

        assert_eq!(
            severities_of(rows("severity", SortDirection::Desc)),
            AlarmSeverity::KNOWN.to_vec()
        );
        let mut mildest_first = AlarmSeverity::KNOWN.to_vec();
        mildest_first.reverse();
        assert_eq!(
            severities_of(rows("severity", SortDirection::Asc)),
            mildest_first
        );

        let mut times: Vec<i64> = env.store.alarms().map(|a| a.created_time).collect();
        times.sort_unstable();
        assert_eq!(times_of(rows("createdTime", SortDirection::Asc)), times);
        times.reverse();
        assert_eq!(times_of(rows("createdTime", SortDirection::Desc)), times);
    }

    #[test]
    fn an_entity_sort_key_lists_alarms_in_the_order_of_their_entities() {
        let mut env = Env::new();
        for d in env.tenant_devices().iter().take(6) {
            env.raise(d, HIGH_CPU, Warning, NOW);
        }
        for direction in [SortDirection::Asc, SortDirection::Desc] {
            let link = sort_by(EntityKey::field("name"), direction.clone());
            let page = env.page(&devices_query(link));
            let names: Vec<String> = page
                .data
                .iter()
                .map(|d| d.originator_name.clone().unwrap().to_lowercase())
                .collect();
            let mut want: Vec<String> = env
                .store
                .alarms()
                .map(|a| env.record(&a.originator).name.to_lowercase())
                .collect();
            want.sort();
            if direction == SortDirection::Desc {
                want.reverse();
            }
            assert_eq!(names, want);
        }
    }

    #[test]
    fn paging_reports_totals_and_has_next_and_a_page_size_below_one_returns_everything() {
        let mut env = Env::new();
        for (i, d) in env.tenant_devices().iter().take(7).enumerate() {
            env.raise(d, HIGH_CPU, Warning, NOW - len_i64(i));
        }
        let all = row_ids(&env.page(&devices_query(AlarmDataPageLink::first(100))));
        let (total, size) = (env.store.len(), 3);
        let mut collected = Vec::new();
        for page in 0..=total.div_ceil(size) {
            let mut link = AlarmDataPageLink::first(i32::try_from(size).unwrap());
            link.page = i32::try_from(page).unwrap();
            let data = env.page(&devices_query(link));
            assert_eq!(data.total_elements, len_i64(total));
            assert_eq!(
                data.total_pages,
                i32::try_from(total.div_ceil(size)).unwrap()
            );
            assert_eq!(data.has_next, (page + 1) * size < total, "page {page}");
            assert_eq!(data.data.len(), total.saturating_sub(page * size).min(size));
            collected.extend(row_ids(&data));
        }
        assert_eq!(collected, all);
        let everything = env.page(&devices_query(AlarmDataPageLink::first(0)));
        assert_eq!(everything.data.len(), total);
        assert_eq!((everything.total_pages, everything.has_next), (1, false));
    }

    #[test]
    fn text_search_matches_the_requested_alarm_fields_case_insensitively() {
        let mut env = Env::new();
        let admin = env.user(TENANT_EMAIL).clone();
        let gateway = env.devices("gateway")[0].clone();
        let hot = env.raise(
            &env.devices("thermostat")[0],
            HIGH_TEMPERATURE,
            Critical,
            NOW,
        );
        let cpu = env.raise(&gateway, HIGH_CPU, Warning, NOW);
        env.store.assign(cpu, admin.id, NOW).unwrap();
        let search = |text: &str, fields: &[&str]| {
            let mut query = devices_query(link_with(|l| l.text_search = Some(text.to_owned())));
            query.alarm_fields = Some(fields.iter().map(|f| EntityKey::alarm_field(*f)).collect());
            env.found(&query)
        };
        assert_eq!(search("TEMP", &["type"]), vec![hot]);
        assert_eq!(search("crit", &["severity"]), vec![hot]);
        assert_eq!(search("temp", &["severity"]), Vec::<Uuid>::new());
        let name_part = env.record(&gateway).name[2..].to_uppercase();
        assert_eq!(search(&name_part, &["originator", "type"]), vec![cpu]);
        assert_eq!(search(&admin.email[..6], &["assignee"]), vec![cpu]);
        assert_eq!(
            search(&admin.last_name.to_lowercase(), &["assignee"]),
            vec![cpu]
        );
        // No field, or no searchable field: the search is ignored.
        assert_eq!(search("zzz", &[]), sorted(vec![hot, cpu]));
        assert_eq!(search("zzz", &["noSuchField"]), sorted(vec![hot, cpu]));
    }

    #[test]
    fn rows_carry_the_matched_entity_and_its_requested_values() {
        let mut env = Env::new();
        let device = env.devices("thermostat")[0].clone();
        env.raise(&device, HIGH_TEMPERATURE, Major, NOW);
        let mut query = devices_query(AlarmDataPageLink::first(10));
        query.entity_fields = Some(vec![EntityKey::field("name"), EntityKey::field("label")]);
        query.latest_values = Some(vec![
            EntityKey::time_series("temperature"),
            EntityKey::time_series("noSuchKey"),
            EntityKey::new(EntityKeyType::ServerAttribute, "active"),
            EntityKey::alarm_field("severity"),
        ]);
        let (page, total) = env.page_as(&env.admin(), &query);
        assert_eq!(total, env.world.devices().count());
        let row = &page.data[0];
        assert_eq!(row.entity_id.as_ref(), Some(&device));
        let latest = row.latest.as_ref().unwrap();
        let record = env.record(&device);
        let fields = &latest[&EntityKeyType::EntityField];
        assert_eq!(fields["name"], TsValue::new(NOW, record.name.clone()));
        assert_eq!(fields["label"], TsValue::new(NOW, record.label.clone()));
        let series = &latest[&EntityKeyType::TimeSeries];
        assert_eq!(
            Some(&series["temperature"]),
            env.latest.get(&device, "temperature")
        );
        assert_eq!(series["noSuchKey"], TsValue::new(0, ""));
        let active = &env.world.attributes[&device].server["active"];
        let want = TsValue::new(active.last_update_ts, active.value.clone());
        assert_eq!(latest[&EntityKeyType::ServerAttribute]["active"], want);
        assert!(!latest.contains_key(&EntityKeyType::AlarmField));
        let keys = query
            .entity_fields
            .iter()
            .chain(&query.latest_values)
            .flatten();
        assert_eq!(&entity_latest(&env.admin(), record, keys), latest);
    }

    #[test]
    fn max_entities_keeps_the_oldest_entities_but_reports_every_match() {
        let mut env = Env::new();
        for d in env.devices_where(|_| true) {
            env.raise(&d, HIGH_CPU, Warning, NOW);
        }
        let limit = 5;
        let query = devices_query(AlarmDataPageLink::first(100));
        let (page, total) = env.store.find(&env.admin(), &query, limit, NOW).unwrap();
        assert_eq!(total, env.world.devices().count());
        let mut oldest: Vec<&EntityRecord> = env.world.devices().collect();
        oldest.sort_by_key(|d| d.created_time);
        let want: HashSet<&EntityId> = oldest.iter().take(limit).map(|d| &d.id).collect();
        let got: HashSet<&EntityId> = page.data.iter().map(|d| &d.originator).collect();
        assert_eq!(got, want);

        // No entity: an empty page and no entities.
        let filter = EntityFilter::by_name(EntityType::Device, "No such device");
        let query = AlarmDataQuery::new(filter, AlarmDataPageLink::first(10));
        let (page, total) = env.page_as(&env.admin(), &query);
        assert_eq!(
            (page.data.len(), page.total_pages, page.total_elements),
            (0, 0, 0)
        );
        assert_eq!((page.has_next, total), (false, 0));
    }

    #[test]
    fn an_unknown_alarm_sort_field_or_a_negative_page_is_refused() {
        let mut env = Env::new();
        env.four_statuses();
        let link = sort_by(EntityKey::alarm_field("noSuchField"), SortDirection::Asc);
        assert!(
            env.store
                .find(&env.admin(), &devices_query(link), 10_000, NOW)
                .is_err()
        );
        let link = link_with(|l| l.page = -1);
        assert!(
            env.store
                .find(&env.admin(), &devices_query(link), 10_000, NOW)
                .is_err()
        );
    }

    // ----- count, status -------------------------------------------------------------------

    #[test]
    fn count_covers_every_visible_alarm_or_one_row_per_matched_entity() {
        let mut env = Env::new();
        let devices = env.tenant_devices();
        let propagated = env.raise_propagated(&devices[0], LOW_PRESSURE, Major, NOW);
        let plain = env.raise(&devices[1], HIGH_CPU, Warning, NOW);
        env.store.acknowledge(plain, NOW).unwrap();

        assert_eq!(env.count(&AlarmCountQuery::default()), 2);
        assert_eq!(env.count(&AlarmCountQuery::active_unacknowledged()), 1);
        let assets = |propagated_too: bool| AlarmCountQuery {
            entity_filter: Some(EntityFilter::of_type(EntityType::Asset)),
            search_propagated_alarms: Some(propagated_too),
            ..AlarmCountQuery::default()
        };
        assert_eq!(env.count(&assets(false)), 0);
        // One row per asset the alarm propagated to (building and site).
        let rows = env.store.get(propagated).unwrap().propagated_to.len();
        assert_eq!(env.count(&assets(true)), len_i64(rows));
        let cpu_on_devices = AlarmCountQuery {
            entity_filter: Some(EntityFilter::of_type(EntityType::Device)),
            type_list: Some(vec![HIGH_CPU.to_owned()]),
            ..AlarmCountQuery::default()
        };
        assert_eq!(env.count(&cpu_on_devices), 1);
        let recent = AlarmCountQuery {
            time_window: Some(MIN),
            ..AlarmCountQuery::default()
        };
        assert_eq!(
            env.store
                .count(&env.admin(), &recent, NOW + 2 * MIN)
                .unwrap(),
            0
        );
        assert_eq!(
            env.store
                .count(&env.admin(), &recent, NOW + MIN / 2)
                .unwrap(),
            2
        );
    }

    #[test]
    fn has_active_looks_at_the_originators_own_active_alarms_only() {
        let mut env = Env::new();
        let devices = env.tenant_devices();
        let building = env.parent(&devices[0]);
        let id = env.raise_propagated(&devices[0], HIGH_TEMPERATURE, Major, NOW);
        let store = &env.store;
        let (types, other) = ([HIGH_TEMPERATURE.to_owned()], [LOW_BATTERY.to_owned()]);
        assert!(store.has_active(&devices[0], None, None));
        assert!(store.has_active(&devices[0], Some(&types), Some(&[Major])));
        assert!(store.has_active(&devices[0], Some(&[]), Some(&[])));
        assert!(!store.has_active(&devices[0], Some(&other), None));
        assert!(!store.has_active(&devices[0], None, Some(&[Critical])));
        assert!(
            !store.has_active(&building, None, None),
            "propagated alarms do not count"
        );
        assert!(!store.has_active(&devices[1], None, None));
        env.store.clear(id, NOW).unwrap();
        assert!(!env.store.has_active(&devices[0], None, None));
    }

    // ----- rules ---------------------------------------------------------------------------

    #[test]
    fn the_rules_reach_every_severity_escalate_and_clear_with_hysteresis() {
        let mut env = Env::new();
        let thermostat = env.devices("thermostat")[0].clone();
        let pump = env.devices("water-pump")[0].clone();
        let gateways = env.devices("gateway");
        let severity = |env: &Env, id: &EntityId, t: &str| {
            env.store.active_of(id, t).map(|a| a.severity.clone())
        };
        let mut reached = HashSet::new();

        let created = env.rules(&thermostat, "temperature", "29.5");
        assert!(matches!(created[..], [AlarmChange::Created(_)]));
        let id = created[0].id();
        reached.extend(severity(&env, &thermostat, HIGH_TEMPERATURE));
        assert_eq!(reached, HashSet::from([Major]));
        assert_eq!(
            env.rules(&thermostat, "temperature", "33"),
            vec![AlarmChange::Updated(id)]
        );
        assert_eq!(
            severity(&env, &thermostat, HIGH_TEMPERATURE),
            Some(Critical)
        );
        assert!(
            env.rules(&thermostat, "temperature", "27").is_empty(),
            "between the thresholds"
        );
        assert_eq!(
            env.rules(&thermostat, "temperature", "25.9"),
            vec![AlarmChange::Updated(id)]
        );
        assert!(env.store.get(id).unwrap().cleared);
        assert!(
            env.rules(&thermostat, "temperature", "20").is_empty(),
            "nothing to clear"
        );

        // (device, key, raising value, in-between value, clearing value, type, severity)
        let bands = [
            (
                &thermostat,
                "batteryLevel",
                "15",
                "22",
                "25",
                LOW_BATTERY,
                Minor,
            ),
            (&pump, "pressure", "1.2", "2.0", "2.6", LOW_PRESSURE, Major),
            (
                &pump,
                "vibration",
                "3.1",
                "2",
                "1.0",
                HIGH_VIBRATION,
                Warning,
            ),
            (&gateways[0], "cpuLoad", "85", "70", "50", HIGH_CPU, Warning),
        ];
        for (device, key, raise, keep, clear, alarm_type, want) in bands {
            assert_eq!(env.rules(device, key, raise).len(), 1, "{key}");
            assert_eq!(
                severity(&env, device, alarm_type),
                Some(want.clone()),
                "{key}"
            );
            reached.insert(want);
            assert!(env.rules(device, key, keep).is_empty(), "{key}");
            assert_eq!(env.rules(device, key, clear).len(), 1, "{key}");
            assert_eq!(severity(&env, device, alarm_type), None, "{key}");
        }
        for implausible in ["n/a", "140", "-3"] {
            env.rules(&gateways[1], "cpuLoad", implausible);
            assert_eq!(severity(&env, &gateways[1], HIGH_CPU), Some(Indeterminate));
        }
        reached.extend(env.store.alarms().map(|a| a.severity.clone()));
        assert_eq!(reached, AlarmSeverity::KNOWN.iter().cloned().collect());

        // Keys of other profiles, unknown keys, non-numbers and unknown entities do nothing.
        let before = env.store.len();
        assert!(env.rules(&pump, "temperature", "99").is_empty());
        assert!(env.rules(&thermostat, "humidity", "99").is_empty());
        assert!(env.rules(&thermostat, "temperature", "hot").is_empty());
        let ghost = EntityId::device(Uuid::from_u128(7));
        assert!(env.rules(&ghost, "temperature", "99").is_empty());
        assert_eq!(env.store.len(), before);
    }

    #[test]
    fn temperature_and_pressure_alarms_propagate_to_the_parents_and_the_others_do_not() {
        let mut env = Env::new();
        let thermostat = env.devices("thermostat")[0].clone();
        let pump = env.devices("water-pump")[0].clone();
        let cases = [
            (&thermostat, "temperature", "35", HIGH_TEMPERATURE, true),
            (&pump, "pressure", "0.4", LOW_PRESSURE, true),
            (&thermostat, "batteryLevel", "3", LOW_BATTERY, false),
            (&pump, "vibration", "9", HIGH_VIBRATION, false),
        ];
        for (id, key, value, alarm_type, propagated) in cases {
            env.rules(id, key, value);
            let building = env.parent(id);
            let ancestors = vec![building.clone(), env.parent(&building)];
            let alarm = env.store.active_of(id, alarm_type).unwrap();
            assert_eq!(alarm.propagate, propagated, "{alarm_type}");
            let want = if propagated { ancestors } else { Vec::new() };
            assert_eq!(alarm.propagated_to, want, "{alarm_type}");
        }
    }

    #[test]
    fn device_activity_raises_device_offline_once_and_clears_it_on_return() {
        let mut env = Env::new();
        let device = env.devices("gateway")[0].clone();
        let created = env.activity(&device, false, NOW).unwrap();
        assert!(matches!(created, AlarmChange::Created(_)));
        let alarm = env.store.get(created.id()).unwrap();
        assert_eq!(
            (alarm.alarm_type.as_str(), &alarm.severity),
            (DEVICE_OFFLINE, &Major)
        );
        assert_eq!(env.activity(&device, false, NOW + 1), None);
        assert_eq!(
            env.activity(&device, true, NOW + 2),
            Some(AlarmChange::Updated(created.id()))
        );
        assert_eq!(env.store.get(created.id()).unwrap().clear_ts, NOW + 2);
        assert_eq!(env.activity(&device, true, NOW + 3), None);
        assert_eq!(env.store.len(), 1);
    }

    #[test]
    fn seed_creates_deterministic_historic_alarms_in_every_status() {
        let env = Env::new();
        let seeded = || {
            let mut store = AlarmStore::new();
            seed(&mut store, &mut Rng::new(9), &env.world, NOW);
            store
        };
        let store = seeded();
        assert_eq!(
            store.alarms().collect::<Vec<_>>(),
            seeded().alarms().collect::<Vec<_>>()
        );
        let statuses: HashSet<AlarmStatus> = store.alarms().map(Alarm::status).collect();
        assert_eq!(statuses.len(), AlarmStatus::KNOWN.len(), "{statuses:?}");
        let admin = env.user(TENANT_EMAIL).id;
        assert!(store.alarms().any(|a| a.assignee == Some(admin)));
        assert!(store.alarms().all(|a| a.created_time < NOW));
        assert!(store.alarms().any(|a| !a.propagated_to.is_empty()));
        let customer = env.user(CUSTOMER_EMAIL);
        let visible = store
            .list_v2(&env.world, customer, &AlarmListParams::first(100))
            .unwrap();
        assert!(visible.data.iter().any(|a| !a.cleared));
    }

    // ----- REST v2 -------------------------------------------------------------------------

    #[test]
    fn list_v2_filters_searches_sorts_and_pages() {
        let mut env = Env::new();
        seed(&mut env.store, &mut env.rng, &env.world, NOW);
        let admin = env.user(TENANT_EMAIL);
        let list = |params: AlarmListParams| env.store.list_v2(&env.world, admin, &params).unwrap();
        let ids = |params: AlarmListParams| sorted(row_ids(&list(params)));
        let all = AlarmListParams::first(100);

        let newest_first: Vec<i64> = list(all.clone())
            .data
            .iter()
            .map(|a| a.created_time)
            .collect();
        let mut want: Vec<i64> = env.store.alarms().map(|a| a.created_time).collect();
        want.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(newest_first, want);

        let active = AlarmListParams {
            status_list: vec![AlarmSearchStatus::Active],
            ..all.clone()
        };
        assert_eq!(ids(active), env.expected(|a| !a.cleared));
        let critical = AlarmListParams {
            severity_list: vec![Critical],
            type_list: vec![HIGH_TEMPERATURE.to_owned()],
            ..all.clone()
        };
        let want = env.expected(|a| a.severity == Critical && a.alarm_type == HIGH_TEMPERATURE);
        assert_eq!(ids(critical), want);
        let mine = AlarmListParams {
            assignee_id: Some(admin.id),
            ..all.clone()
        };
        assert_eq!(ids(mine), env.expected(|a| a.assignee == Some(admin.id)));
        let search = AlarmListParams {
            text_search: Some("TAMPER".to_owned()),
            ..all.clone()
        };
        assert_eq!(
            ids(search),
            env.expected(|a| a.alarm_type.to_lowercase().contains("tamper"))
        );
        let recent = AlarmListParams {
            start_time: Some(NOW - 6 * HOUR),
            end_time: Some(NOW),
            ..all.clone()
        };
        assert_eq!(
            ids(recent),
            env.expected(|a| a.created_time >= NOW - 6 * HOUR)
        );
        let by_severity = AlarmListParams {
            sort_property: Some("severity".to_owned()),
            sort_order: Some(SortDirection::Asc),
            ..all.clone()
        };
        let ranks: Vec<u8> = list(by_severity)
            .data
            .iter()
            .map(|a| a.severity.rank())
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");

        let total = env.store.len();
        let second = list(AlarmListParams {
            page: 1,
            ..AlarmListParams::first(2)
        });
        assert_eq!(second.total_elements, len_i64(total));
        assert_eq!(
            second.total_pages,
            i32::try_from(total.div_ceil(2)).unwrap()
        );
        assert_eq!(second.data.len(), 2);
        assert!(
            second
                .data
                .iter()
                .all(|a| a.entity_id.is_none() && a.latest.is_none())
        );

        let refused = [
            AlarmListParams::first(0),
            AlarmListParams {
                page: -1,
                ..all.clone()
            },
            AlarmListParams {
                sort_property: Some("nope".to_owned()),
                ..all
            },
        ];
        for params in refused {
            assert!(
                env.store.list_v2(&env.world, admin, &params).is_err(),
                "{params:?}"
            );
        }
    }

    #[test]
    fn matches_query_applies_the_alarm_filters_for_live_updates() {
        let mut env = Env::new();
        env.four_statuses();
        let statuses = [AlarmSearchStatus::Active, AlarmSearchStatus::Unack];
        let query = devices_query(AlarmDataPageLink::first(10).with_statuses(statuses));
        let matching = env.expected(|a| AlarmStore::matches_query(a, &env.world, &query, NOW));
        assert_eq!(matching, env.expected(|a| !a.cleared && !a.acknowledged));
    }

    #[test]
    fn odd_input_never_panics() {
        let mut env = Env::new();
        let ghost = EntityId::new(EntityType::Unknown("WIDGET".to_owned()), Uuid::from_u128(1));
        let id = env.raise(
            &ghost,
            "",
            AlarmSeverity::Unknown("HUGE".to_owned()),
            i64::MIN,
        );
        let data = env.info(id);
        assert_eq!(
            (data.originator_name, data.customer_id),
            (None, Some(EntityId::customer(NULL_UUID)))
        );
        env.store.assign(id, Uuid::from_u128(99), i64::MAX).unwrap();
        assert_eq!(env.info(id).assignee.unwrap().email, None);
        let user_originator = EntityId::user(env.user(TENANT_EMAIL).id);
        env.raise(&user_originator, "x", Major, 0);
        env.four_statuses();
        let sizes = [
            (i32::MAX, i32::MAX),
            (i32::MIN, i32::MIN),
            (1, i32::MAX),
            (0, -5),
        ];
        for (page_size, page) in sizes {
            for key in [
                "severity",
                "assignee",
                "details",
                "originatorLabel",
                "status",
            ] {
                let mut link = sort_by(EntityKey::alarm_field(key), SortDirection::Desc);
                (link.page_size, link.page) = (page_size, page);
                (link.time_window, link.start_ts) = (i64::MAX, i64::MAX);
                link.text_search = Some(String::new());
                link.search_propagated_alarms = true;
                let query = devices_query(link);
                let _ = env.store.find(&env.admin(), &query, 0, NOW);
                let _ = env
                    .store
                    .find(&env.customer(), &query, usize::MAX, i64::MIN);
            }
        }
        let count = AlarmCountQuery {
            time_window: Some(i64::MAX),
            start_ts: Some(i64::MIN),
            end_ts: Some(i64::MIN),
            ..AlarmCountQuery::default()
        };
        let _ = env.store.count(&env.customer(), &count, i64::MIN);
        let params = AlarmListParams {
            page: i32::MAX,
            text_search: Some(" ".to_owned()),
            ..AlarmListParams::first(i32::MAX)
        };
        let _ = env
            .store
            .list_v2(&env.world, env.user(CUSTOMER_EMAIL), &params);
        assert!(env.rules(&ghost, "cpuLoad", "").is_empty());
        assert_eq!(env.activity(&ghost, false, 0), None);
        let _ = env.store.prune(usize::MAX);
        let _ = env.store.prune(0);
    }
}
