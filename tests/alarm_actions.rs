//! Alarm actions against the demo server over real sockets: bulk outcomes per alarm, the
//! queue's summary, state changes seen through `alarm_info`, and refusals in plain words.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::wire::{CUSTOMER, DEADLINE, TENANT, quiet_config, start, user_id_of};
use tb_monitor::alarm::actions::{self, ActionQueue, AlarmAction, Outcome};
use tb_monitor::demo::{DemoControl, DemoServer};
use tb_monitor::net::rest::{LoginOutcome, RestClient};
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::protocol::{AlarmData, AlarmSeverity};
use uuid::Uuid;

async fn logged_in(server: &DemoServer, (user, password): (&str, &str)) -> RestClient {
    let client = RestClient::new(&server.base_url(), TlsTrust::System).unwrap();
    match within(client.login(user, password)).await.unwrap() {
        LoginOutcome::LoggedIn(_) => client,
        LoginOutcome::SecondFactor(_) => panic!("{user} has no 2FA"),
    }
}

async fn within<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, work).await.expect("in time")
}

/// `n` fresh alarms, one per tenant device.
fn raise(control: &DemoControl, n: usize) -> Vec<Uuid> {
    control
        .devices()
        .iter()
        .filter(|d| !d.customer_owned)
        .take(n)
        .map(|d| control.raise_alarm(&d.id, "Door Open", AlarmSeverity::Major, false))
        .collect()
}

async fn info(client: &RestClient, id: Uuid) -> AlarmData {
    within(client.alarm_info(id)).await.unwrap()
}

async fn run(client: &RestClient, action: AlarmAction, alarms: &[Uuid]) -> Vec<(Uuid, Outcome)> {
    let me = within(actions::me(client)).await.unwrap();
    within(actions::run(client, action, alarms, me)).await
}

fn failed(text: &str) -> Outcome {
    Outcome::Failed(text.to_owned())
}

#[tokio::test]
async fn a_bulk_acknowledge_fails_only_for_the_alarm_already_acknowledged() {
    let (server, control) = start(quiet_config()).await;
    let client = logged_in(&server, TENANT).await;
    let alarms = raise(&control, 5);
    assert_eq!(alarms.len(), 5);
    within(client.ack_alarm(alarms[2])).await.unwrap();

    let mut queue = ActionQueue::new();
    queue.schedule(AlarmAction::Acknowledge, alarms.clone(), 0);
    let due = queue.take_due(ActionQueue::UNDO_MS);
    assert_eq!(due.len(), 1);
    let outcomes = run(&client, due[0].action, &due[0].alarms).await;
    for (alarm, outcome) in &outcomes {
        queue.record(*alarm, AlarmAction::Acknowledge, outcome.clone());
    }

    let expected: Vec<(Uuid, Outcome)> = alarms
        .iter()
        .map(|a| {
            let outcome = if *a == alarms[2] {
                failed("Already acknowledged")
            } else {
                Outcome::Done
            };
            (*a, outcome)
        })
        .collect();
    assert_eq!(outcomes, expected);
    assert_eq!(queue.failure(&alarms[2]), Some("Already acknowledged"));
    assert_eq!(queue.failure(&alarms[0]), None);
    assert_eq!(
        queue.last_summary(),
        Some("Acknowledged 4 of 5 alarms; 1 failed")
    );
    assert!(alarms.iter().all(|a| !queue.running(a)));
    for alarm in &alarms {
        assert!(info(&client, *alarm).await.acknowledged, "{alarm}");
    }
}

#[tokio::test]
async fn clearing_assigning_to_me_and_unassigning_change_the_alarms_state() {
    let (server, control) = start(quiet_config()).await;
    let client = logged_in(&server, TENANT).await;
    let alarms = raise(&control, 2);
    let me = within(actions::me(&client)).await.unwrap();
    assert_eq!(me, user_id_of(client.tokens().unwrap().access()));
    let user = within(client.current_user()).await.unwrap();
    assert_eq!(me, user.id.id, "the token's user is the logged-in user");

    let done: Vec<(Uuid, Outcome)> = alarms.iter().map(|a| (*a, Outcome::Done)).collect();
    assert_eq!(run(&client, AlarmAction::AssignToMe, &alarms).await, done);
    for alarm in &alarms {
        let assignee = info(&client, *alarm).await.assignee_id.map(|a| a.id);
        assert_eq!(assignee, Some(me));
    }

    assert_eq!(run(&client, AlarmAction::Unassign, &alarms).await, done);
    for alarm in &alarms {
        assert_eq!(info(&client, *alarm).await.assignee_id, None);
    }

    assert_eq!(run(&client, AlarmAction::Clear, &alarms).await, done);
    for alarm in &alarms {
        assert!(info(&client, *alarm).await.cleared);
    }
    assert_eq!(
        run(&client, AlarmAction::Clear, &alarms[..1]).await,
        vec![(alarms[0], failed("Already cleared"))]
    );
}

#[tokio::test]
async fn an_unknown_alarm_fails_with_its_own_message_while_the_others_succeed() {
    let (server, control) = start(quiet_config()).await;
    let client = logged_in(&server, TENANT).await;
    let alarm = raise(&control, 1)[0];
    let unknown = Uuid::from_u128(0x5eed);
    assert_eq!(
        run(&client, AlarmAction::Acknowledge, &[unknown, alarm]).await,
        vec![
            (unknown, failed("The alarm no longer exists")),
            (alarm, Outcome::Done)
        ]
    );
    assert!(info(&client, alarm).await.acknowledged);
}

#[tokio::test]
async fn an_assignment_the_server_forbids_reads_you_may_not_change_this_alarm() {
    let (server, control) = start(quiet_config()).await;
    let client = logged_in(&server, TENANT).await;
    let alarm = raise(&control, 1)[0];
    // The customer user cannot see a tenant device's alarm, so it may not be its assignee.
    let customer = logged_in(&server, CUSTOMER).await;
    let outsider = within(actions::me(&customer)).await.unwrap();
    let outcomes = within(actions::run(
        &client,
        AlarmAction::AssignToMe,
        &[alarm],
        outsider,
    ))
    .await;
    assert_eq!(
        outcomes,
        vec![(alarm, failed("You may not change this alarm"))]
    );
    assert_eq!(info(&client, alarm).await.assignee_id, None);
}

#[tokio::test]
async fn a_server_that_is_gone_gives_every_alarm_the_network_explanation() {
    let (server, control) = start(quiet_config()).await;
    let client = logged_in(&server, TENANT).await;
    let alarms = raise(&control, 3);
    let me = within(actions::me(&client)).await.unwrap();
    within(server.shutdown()).await;
    let outcomes = within(actions::run(&client, AlarmAction::Clear, &alarms, me)).await;
    assert_eq!(outcomes.len(), alarms.len());
    for ((alarm, outcome), expected) in outcomes.iter().zip(&alarms) {
        assert_eq!(alarm, expected);
        assert!(
            matches!(outcome, Outcome::Failed(m) if m.starts_with("Cannot reach the server")),
            "{outcome:?}"
        );
    }
}
