//! Alarm actions — acknowledge, clear, assign to me, unassign — on one alarm or many, with an
//! undo window instead of a confirmation dialog and an outcome for every alarm.
//!
//! Rules:
//! * An action on a single alarm is due at once; an action on several waits
//!   [`ActionQueue::UNDO_MS`] and can be undone until [`ActionQueue::take_due`] takes it.
//!   Duplicate alarm ids in one action count once.
//! * A taken action's alarms are "running" until their outcome is [`ActionQueue::record`]ed;
//!   [`run`] answers every alarm it is given, so nothing is silently dropped.
//! * A failure stays on its alarm's row until dismissed or until a later action on that
//!   alarm succeeds. At most [`ActionQueue::MAX_FAILURES`] failures are kept (the oldest go).
//! * When every alarm of a bulk action has its outcome, the action's summary replaces the
//!   previous one: "Acknowledged 10 of 12 alarms; 2 failed".
//! * [`run`] sends at most [`MAX_IN_FLIGHT`] requests at a time and words the server's
//!   refusals for people: "Already acknowledged", "You may not change this alarm", …

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::StreamExt as _;
use uuid::Uuid;

use crate::net::NetError;
use crate::net::rest::RestClient;
use crate::protocol::AlarmData;

/// An action on alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmAction {
    /// Acknowledge (`POST /api/alarm/{id}/ack`).
    Acknowledge,
    /// Clear (`POST /api/alarm/{id}/clear`).
    Clear,
    /// Assign to the logged-in user (`POST /api/alarm/{id}/assign/{me}`).
    AssignToMe,
    /// Remove the assignee (`DELETE /api/alarm/{id}/assign`).
    Unassign,
}

impl AlarmAction {
    /// The button and menu label: "Acknowledge", "Clear", "Assign to me", "Unassign".
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            AlarmAction::Acknowledge => "Acknowledge",
            AlarmAction::Clear => "Clear",
            AlarmAction::AssignToMe => "Assign to me",
            AlarmAction::Unassign => "Unassign",
        }
    }

    /// What happened to the alarm: "acknowledged", "cleared", "assigned to you", "unassigned".
    #[must_use]
    pub fn past(self) -> &'static str {
        match self {
            AlarmAction::Acknowledge => "acknowledged",
            AlarmAction::Clear => "cleared",
            AlarmAction::AssignToMe => "assigned to you",
            AlarmAction::Unassign => "unassigned",
        }
    }

    /// The verb of a sentence about `n` alarms, in the given form: (verb, what follows "n alarms").
    fn verb(self, progressive: bool) -> (&'static str, &'static str) {
        let verb = match (self, progressive) {
            (AlarmAction::Acknowledge, false) => "Acknowledged",
            (AlarmAction::Acknowledge, true) => "Acknowledging",
            (AlarmAction::Clear, false) => "Cleared",
            (AlarmAction::Clear, true) => "Clearing",
            (AlarmAction::AssignToMe, false) => "Assigned",
            (AlarmAction::AssignToMe, true) => "Assigning",
            (AlarmAction::Unassign, false) => "Unassigned",
            (AlarmAction::Unassign, true) => "Unassigning",
        };
        let tail = if self == AlarmAction::AssignToMe {
            " to you"
        } else {
            ""
        };
        (verb, tail)
    }
}

/// The outcome of one alarm's action, in plain words.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The server did it.
    Done,
    /// The server (or the network) refused; the reason in plain words.
    Failed(String),
}

/// A bulk action waiting out its undo window.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Its id (for [`ActionQueue::undo`]).
    pub id: u64,
    /// The action.
    pub action: AlarmAction,
    /// The alarms it acts on, each once.
    pub alarms: Vec<Uuid>,
    /// When it runs (epoch ms).
    pub due_ms: i64,
}

impl Pending {
    /// The undo bar's text at `now_ms`: "Clearing 12 alarms in 4 s" (seconds rounded up).
    #[must_use]
    pub fn describe(&self, now_ms: i64) -> String {
        let (verb, tail) = self.action.verb(true);
        let left_s = self
            .due_ms
            .saturating_sub(now_ms)
            .max(0)
            .saturating_add(999)
            / 1000;
        format!("{verb} {}{tail} in {left_s} s", alarms(self.alarms.len()))
    }
}

/// "1 alarm", "12 alarms".
fn alarms(n: usize) -> String {
    if n == 1 {
        "1 alarm".to_owned()
    } else {
        format!("{n} alarms")
    }
}

/// A taken bulk action whose outcomes are still coming in.
#[derive(Debug)]
struct Batch {
    action: AlarmAction,
    total: usize,
    failed: usize,
    waiting: HashSet<Uuid>,
}

/// Actions waiting, running and done, per alarm.
#[derive(Debug, Default)]
pub struct ActionQueue {
    next_id: u64,
    /// Single-alarm actions, due at once (not undoable), in scheduling order.
    immediate: Vec<Pending>,
    /// Bulk actions in their undo window, in scheduling order.
    pending: Vec<Pending>,
    /// Alarms with actions in flight, and how many.
    running: HashMap<Uuid, u32>,
    /// Taken bulk actions, oldest first.
    batches: Vec<Batch>,
    /// Each failing alarm's message and its sequence number in `failure_order`.
    failures: HashMap<Uuid, (u64, String)>,
    /// Failing alarms, oldest first (for eviction).
    failure_order: BTreeMap<u64, Uuid>,
    next_failure: u64,
    summary: Option<String>,
}

impl ActionQueue {
    /// How long a bulk action can be undone (ms).
    pub const UNDO_MS: i64 = 5_000;
    /// The most alarm failures kept; recording more forgets the oldest.
    pub const MAX_FAILURES: usize = 4_096;

    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `action` on `alarms`: a single alarm runs at once (due now), several wait
    /// [`Self::UNDO_MS`] (undoable). Returns the action's id; an empty list schedules nothing.
    pub fn schedule(&mut self, action: AlarmAction, alarms: Vec<Uuid>, now_ms: i64) -> u64 {
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        let mut seen = HashSet::with_capacity(alarms.len());
        let alarms: Vec<Uuid> = alarms.into_iter().filter(|a| seen.insert(*a)).collect();
        match alarms.len() {
            0 => {}
            1 => self.immediate.push(Pending {
                id,
                action,
                alarms,
                due_ms: now_ms,
            }),
            _ => self.pending.push(Pending {
                id,
                action,
                alarms,
                due_ms: now_ms.saturating_add(Self::UNDO_MS),
            }),
        }
        id
    }

    /// Cancels a bulk action still in its undo window; `false` when it already ran (was
    /// taken), was undone, or never existed.
    pub fn undo(&mut self, id: u64) -> bool {
        let before = self.pending.len();
        self.pending.retain(|p| p.id != id);
        self.pending.len() != before
    }

    /// The pending bulk actions still undoable (for the "Undo" bar: "Clearing 12 alarms in
    /// 4 s — Undo", see [`Pending::describe`]), in scheduling order.
    #[must_use]
    pub fn pending(&self) -> &[Pending] {
        &self.pending
    }

    /// Takes the actions due at `now_ms` (to run them), earliest due first, then in
    /// scheduling order; their alarms become "running".
    pub fn take_due(&mut self, now_ms: i64) -> Vec<Pending> {
        let mut due = std::mem::take(&mut self.immediate);
        let (now, later): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.due_ms <= now_ms);
        self.pending = later;
        due.extend(now);
        due.sort_by_key(|p| (p.due_ms, p.id));
        for p in &due {
            for alarm in &p.alarms {
                let n = self.running.entry(*alarm).or_insert(0);
                *n = n.saturating_add(1);
            }
            if p.alarms.len() > 1 {
                self.batches.push(Batch {
                    action: p.action,
                    total: p.alarms.len(),
                    failed: 0,
                    waiting: p.alarms.iter().copied().collect(),
                });
            }
        }
        due
    }

    /// Records one alarm's outcome (from the task's answer): it stops running, a failure is
    /// kept for its row (a success forgets an earlier one), and a bulk action whose last
    /// outcome this is leaves its summary.
    pub fn record(&mut self, alarm: Uuid, action: AlarmAction, outcome: Outcome) {
        if let Some(n) = self.running.get_mut(&alarm) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.running.remove(&alarm);
            }
        }
        let failed = matches!(outcome, Outcome::Failed(_));
        match outcome {
            Outcome::Done => self.dismiss(&alarm),
            Outcome::Failed(message) => self.keep_failure(alarm, message),
        }
        let Some(i) = self
            .batches
            .iter()
            .position(|b| b.action == action && b.waiting.contains(&alarm))
        else {
            return;
        };
        let batch = &mut self.batches[i];
        batch.waiting.remove(&alarm);
        batch.failed += usize::from(failed);
        if batch.waiting.is_empty() {
            let batch = self.batches.remove(i);
            self.summary = Some(summary(batch.action, batch.total, batch.failed));
        }
    }

    fn keep_failure(&mut self, alarm: Uuid, message: String) {
        self.dismiss(&alarm);
        let seq = self.next_failure;
        self.next_failure = self.next_failure.wrapping_add(1);
        self.failures.insert(alarm, (seq, message));
        self.failure_order.insert(seq, alarm);
        while self.failures.len() > Self::MAX_FAILURES {
            let Some((_, oldest)) = self.failure_order.pop_first() else {
                break;
            };
            self.failures.remove(&oldest);
        }
    }

    /// The last failure of an alarm, to show on its row ("Already acknowledged"), until
    /// [`Self::dismiss`].
    #[must_use]
    pub fn failure(&self, alarm: &Uuid) -> Option<&str> {
        self.failures.get(alarm).map(|(_, m)| m.as_str())
    }

    /// Whether an action on the alarm is in flight (its row shows a spinner).
    #[must_use]
    pub fn running(&self, alarm: &Uuid) -> bool {
        self.running.contains_key(alarm)
    }

    /// Forgets the alarm's failure.
    pub fn dismiss(&mut self, alarm: &Uuid) {
        if let Some((seq, _)) = self.failures.remove(alarm) {
            self.failure_order.remove(&seq);
        }
    }

    /// A summary of the last finished bulk action: "Acknowledged 10 of 12 alarms; 2 failed"
    /// (`None` if none).
    #[must_use]
    pub fn last_summary(&self) -> Option<&str> {
        self.summary.as_deref()
    }
}

/// "Cleared 12 alarms", "Acknowledged 10 of 12 alarms; 2 failed", "Assigned 3 of 4 alarms to
/// you; 1 failed".
fn summary(action: AlarmAction, total: usize, failed: usize) -> String {
    let (verb, tail) = action.verb(false);
    if failed == 0 {
        format!("{verb} {}{tail}", alarms(total))
    } else {
        let done = total.saturating_sub(failed);
        format!("{verb} {done} of {}{tail}; {failed} failed", alarms(total))
    }
}

/// The most requests [`run`] has in flight at once.
pub const MAX_IN_FLIGHT: usize = 4;

/// Runs `action` on every alarm (at most [`MAX_IN_FLIGHT`] requests at a time), returning
/// each alarm's outcome in plain words, in the order of `alarms`: ThingsBoard's "Alarm was
/// already acknowledged!" → "Already acknowledged"; 403 → "You may not change this alarm";
/// 404 → "The alarm no longer exists"; network errors → their explanation. `me` is the user
/// id for [`AlarmAction::AssignToMe`] (see [`me`]).
pub async fn run(
    rest: &RestClient,
    action: AlarmAction,
    alarms: &[Uuid],
    me: Uuid,
) -> Vec<(Uuid, Outcome)> {
    run_with(alarms, |id| async move {
        match action {
            AlarmAction::Acknowledge => rest.ack_alarm(id).await,
            AlarmAction::Clear => rest.clear_alarm(id).await,
            AlarmAction::AssignToMe => rest.assign_alarm(id, me).await,
            AlarmAction::Unassign => rest.unassign_alarm(id).await,
        }
    })
    .await
}

/// [`run`] over any call: at most [`MAX_IN_FLIGHT`] at a time, outcomes in input order.
async fn run_with<F, Fut>(alarms: &[Uuid], call: F) -> Vec<(Uuid, Outcome)>
where
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = Result<AlarmData, NetError>>,
{
    futures_util::stream::iter(alarms.iter().copied())
        .map(|id| {
            let answer = call(id);
            async move {
                let outcome = match answer.await {
                    Ok(_) => Outcome::Done,
                    Err(e) => Outcome::Failed(plain_words(&e)),
                };
                (id, outcome)
            }
        })
        .buffered(MAX_IN_FLIGHT)
        .collect()
        .await
}

/// The logged-in user's id, for [`AlarmAction::AssignToMe`]: the access token's `userId`
/// claim, else `GET /api/auth/user`.
///
/// # Errors
/// Not logged in, or the user cannot be read (server, network, token failures).
pub async fn me(rest: &RestClient) -> Result<Uuid, NetError> {
    let claimed = rest.tokens().and_then(|t| t.claims().user_id);
    match claimed {
        Some(id) => Ok(id),
        None => Ok(rest.current_user().await?.id.id),
    }
}

/// Why an alarm action failed, for its row.
#[must_use]
pub fn plain_words(error: &NetError) -> String {
    if let NetError::Server {
        status, message, ..
    } = error
    {
        let lower = message.to_lowercase();
        if lower.contains("already acknowledged") {
            return "Already acknowledged".to_owned();
        }
        if lower.contains("already cleared") {
            return "Already cleared".to_owned();
        }
        match status {
            403 => return "You may not change this alarm".to_owned(),
            404 => return "The alarm no longer exists".to_owned(),
            _ => {}
        }
    }
    sentence_case(&error.to_string())
}

/// `text` with its first letter upper-case.
fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Failed".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::protocol::ThingsboardErrorCode;

    fn ids(n: u8) -> Vec<Uuid> {
        (1..=n).map(|i| Uuid::from_u128(u128::from(i))).collect()
    }

    fn failed(text: &str) -> Outcome {
        Outcome::Failed(text.to_owned())
    }

    fn server(status: u16, code: ThingsboardErrorCode, message: &str) -> NetError {
        NetError::Server {
            status,
            code,
            message: message.to_owned(),
        }
    }

    #[test]
    fn a_single_alarm_runs_at_once_and_is_never_undoable() {
        let mut q = ActionQueue::new();
        let id = q.schedule(AlarmAction::Acknowledge, ids(1), 1_000);
        assert!(q.pending().is_empty());
        assert!(!q.undo(id));
        let due = q.take_due(1_000);
        assert_eq!(
            due,
            vec![Pending {
                id,
                action: AlarmAction::Acknowledge,
                alarms: ids(1),
                due_ms: 1_000
            }]
        );
        assert!(q.running(&ids(1)[0]));
    }

    #[test]
    fn a_bulk_action_waits_out_the_undo_window() {
        let mut q = ActionQueue::new();
        let id = q.schedule(AlarmAction::Clear, ids(3), 1_000);
        assert_eq!(q.pending().len(), 1);
        assert_eq!(q.pending()[0].due_ms, 1_000 + ActionQueue::UNDO_MS);
        assert!(q.take_due(1_000 + ActionQueue::UNDO_MS - 1).is_empty());
        assert!(!q.running(&ids(3)[0]));
        let due = q.take_due(1_000 + ActionQueue::UNDO_MS);
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].id, &due[0].alarms), (id, &ids(3)));
        assert!(q.pending().is_empty());
        assert!(ids(3).iter().all(|a| q.running(a)));
    }

    #[test]
    fn undo_before_due_removes_the_action_so_it_never_runs() {
        let mut q = ActionQueue::new();
        let id = q.schedule(AlarmAction::Clear, ids(2), 0);
        assert!(q.undo(id));
        assert!(q.pending().is_empty());
        assert!(q.take_due(ActionQueue::UNDO_MS).is_empty());
        assert!(!q.undo(id), "a second undo finds nothing");
    }

    #[test]
    fn undo_after_the_action_was_taken_fails() {
        let mut q = ActionQueue::new();
        let id = q.schedule(AlarmAction::Clear, ids(2), 0);
        assert_eq!(q.take_due(ActionQueue::UNDO_MS).len(), 1);
        assert!(!q.undo(id));
        assert!(ids(2).iter().all(|a| q.running(a)));
    }

    #[test]
    fn take_due_answers_earliest_due_first_then_scheduling_order() {
        let mut q = ActionQueue::new();
        let bulk_early = q.schedule(AlarmAction::Clear, ids(2), 0);
        let bulk_later = q.schedule(AlarmAction::Acknowledge, ids(3), 100);
        let single = q.schedule(AlarmAction::Unassign, ids(1), 200);
        let single_same_time = q.schedule(AlarmAction::AssignToMe, ids(1), 200);
        let order: Vec<u64> = q.take_due(10_000).iter().map(|p| p.id).collect();
        assert_eq!(
            order,
            vec![single, single_same_time, bulk_early, bulk_later]
        );
    }

    #[test]
    fn duplicate_ids_count_once_and_an_empty_selection_schedules_nothing() {
        let mut q = ActionQueue::new();
        let a = Uuid::from_u128(7);
        q.schedule(AlarmAction::Acknowledge, vec![a, a], 0);
        let due = q.take_due(0);
        assert_eq!(due[0].alarms, vec![a], "one alarm: due at once");
        let empty = q.schedule(AlarmAction::Clear, Vec::new(), 0);
        assert!(q.pending().is_empty() && q.take_due(i64::MAX).is_empty());
        assert!(!q.undo(empty));
    }

    #[test]
    fn the_summary_counts_successes_and_failures_once_every_outcome_is_in() {
        let mut q = ActionQueue::new();
        let alarms = ids(12);
        q.schedule(AlarmAction::Acknowledge, alarms.clone(), 0);
        q.take_due(ActionQueue::UNDO_MS);
        for (i, a) in alarms.iter().enumerate() {
            assert_eq!(q.last_summary(), None, "no summary before the last outcome");
            let outcome = if i < 2 {
                failed("Already acknowledged")
            } else {
                Outcome::Done
            };
            q.record(*a, AlarmAction::Acknowledge, outcome);
        }
        assert_eq!(
            q.last_summary(),
            Some("Acknowledged 10 of 12 alarms; 2 failed")
        );
        assert!(alarms.iter().all(|a| !q.running(a)));
    }

    #[test]
    fn the_summary_words_each_action_and_a_full_success() {
        let cases = [
            (AlarmAction::Clear, 0, "Cleared 3 alarms"),
            (
                AlarmAction::AssignToMe,
                1,
                "Assigned 2 of 3 alarms to you; 1 failed",
            ),
            (
                AlarmAction::Unassign,
                3,
                "Unassigned 0 of 3 alarms; 3 failed",
            ),
        ];
        for (action, failures, expected) in cases {
            let mut q = ActionQueue::new();
            q.schedule(action, ids(3), 0);
            q.take_due(ActionQueue::UNDO_MS);
            for (i, a) in ids(3).into_iter().enumerate() {
                let outcome = if i < failures {
                    failed("no")
                } else {
                    Outcome::Done
                };
                q.record(a, action, outcome);
            }
            assert_eq!(q.last_summary(), Some(expected));
        }
    }

    #[test]
    fn a_single_alarm_action_leaves_no_summary() {
        let mut q = ActionQueue::new();
        q.schedule(AlarmAction::Clear, ids(1), 0);
        q.take_due(0);
        q.record(ids(1)[0], AlarmAction::Clear, Outcome::Done);
        assert_eq!(q.last_summary(), None);
    }

    #[test]
    fn the_undo_bar_text_rounds_the_seconds_up() {
        let mut q = ActionQueue::new();
        q.schedule(AlarmAction::Clear, ids(12), 0);
        q.schedule(AlarmAction::AssignToMe, ids(2), 0);
        assert_eq!(q.pending()[0].describe(1_000), "Clearing 12 alarms in 4 s");
        assert_eq!(q.pending()[0].describe(1_001), "Clearing 12 alarms in 4 s");
        assert_eq!(q.pending()[0].describe(4_001), "Clearing 12 alarms in 1 s");
        assert_eq!(q.pending()[0].describe(9_000), "Clearing 12 alarms in 0 s");
        assert_eq!(
            q.pending()[1].describe(0),
            "Assigning 2 alarms to you in 5 s"
        );
    }

    #[test]
    fn failures_stay_per_alarm_until_dismissed_or_a_later_success() {
        let mut q = ActionQueue::new();
        let [a, b, c] = [1, 2, 3].map(Uuid::from_u128);
        q.schedule(AlarmAction::Acknowledge, vec![a, b, c], 0);
        q.take_due(ActionQueue::UNDO_MS);
        q.record(a, AlarmAction::Acknowledge, failed("Already acknowledged"));
        q.record(b, AlarmAction::Acknowledge, Outcome::Done);
        q.record(
            c,
            AlarmAction::Acknowledge,
            failed("You may not change this alarm"),
        );
        assert_eq!(q.failure(&a), Some("Already acknowledged"));
        assert_eq!(q.failure(&b), None);
        assert_eq!(q.failure(&c), Some("You may not change this alarm"));

        q.dismiss(&a);
        assert_eq!(q.failure(&a), None);
        assert_eq!(q.failure(&c), Some("You may not change this alarm"));

        q.schedule(AlarmAction::Clear, vec![c], 0);
        q.take_due(0);
        assert!(q.running(&c));
        q.record(c, AlarmAction::Clear, Outcome::Done);
        assert!(!q.running(&c));
        assert_eq!(q.failure(&c), None, "a later success forgets the failure");
    }

    #[test]
    fn the_failure_map_keeps_the_newest_failures_when_full() {
        let mut q = ActionQueue::new();
        let extra = 10;
        let total = ActionQueue::MAX_FAILURES + extra;
        let uuid = |i: usize| Uuid::from_u128(u128::try_from(i).unwrap());
        for i in 0..total {
            let alarm = uuid(i);
            q.record(alarm, AlarmAction::Clear, failed(&format!("failure {i}")));
        }
        assert_eq!(q.failures.len(), ActionQueue::MAX_FAILURES);
        assert_eq!(q.failure_order.len(), ActionQueue::MAX_FAILURES);
        assert_eq!(q.failure(&uuid(extra - 1)), None);
        let newest = uuid(total - 1);
        assert_eq!(
            q.failure(&newest),
            Some(format!("failure {}", total - 1).as_str())
        );
    }

    #[test]
    fn an_outcome_for_an_alarm_nobody_ran_changes_nothing_but_its_failure() {
        let mut q = ActionQueue::new();
        let a = Uuid::from_u128(1);
        q.record(a, AlarmAction::Clear, Outcome::Done);
        assert!(!q.running(&a));
        assert_eq!(q.last_summary(), None);
    }

    #[test]
    fn server_refusals_read_as_plain_words() {
        let cases = [
            (
                server(
                    400,
                    ThingsboardErrorCode::BadRequestParams,
                    "Alarm was already acknowledged!",
                ),
                "Already acknowledged",
            ),
            (
                server(
                    400,
                    ThingsboardErrorCode::BadRequestParams,
                    "Alarm was already cleared!",
                ),
                "Already cleared",
            ),
            (
                server(
                    403,
                    ThingsboardErrorCode::PermissionDenied,
                    "You don't have permission to perform this operation!",
                ),
                "You may not change this alarm",
            ),
            (
                server(
                    404,
                    ThingsboardErrorCode::ItemNotFound,
                    "Requested item wasn't found!",
                ),
                "The alarm no longer exists",
            ),
            (
                server(500, ThingsboardErrorCode::General, "Something broke"),
                "Something broke",
            ),
            (
                NetError::Unreachable("connection refused".to_owned()),
                "Cannot reach the server: connection refused",
            ),
            (
                NetError::SessionExpired,
                "The session has expired: log in again",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(plain_words(&error), expected, "{error:?}");
        }
    }

    #[tokio::test]
    async fn run_keeps_at_most_four_requests_in_flight_and_answers_in_input_order() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let alarms = ids(10);
        let gone = alarms[6];
        let outcomes = run_with(&alarms, |id| {
            let (in_flight, most) = (Arc::clone(&in_flight), Arc::clone(&most));
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Err(if id == gone {
                    server(404, ThingsboardErrorCode::ItemNotFound, "gone")
                } else {
                    NetError::NotLoggedIn
                })
            }
        })
        .await;
        assert_eq!(most.load(Ordering::SeqCst), MAX_IN_FLIGHT);
        let order: Vec<Uuid> = outcomes.iter().map(|(id, _)| *id).collect();
        assert_eq!(order, alarms);
        assert_eq!(outcomes[6].1, failed("The alarm no longer exists"));
        assert_eq!(outcomes[0].1, failed("Not logged in"));
    }
}
