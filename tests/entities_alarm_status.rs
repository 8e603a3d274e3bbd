//! The entity table watches the alarm status of the rows in view with `ALARM_STATUS`
//! subscriptions: an alarm raised on a row's entity shows on the row, clearing it goes
//! back, and rows that leave the view stop being watched.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/alarms.rs"]
mod alarms;
#[path = "common/ui.rs"]
mod ui;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tb_monitor::app::TbApp;
use tb_monitor::app::entities_view::STATUS_SUB_BASE;
use tb_monitor::net::SubId;
use tb_monitor::protocol::{AlarmSeverity, EntityId};
use tb_monitor::store::SubData;
use ui::step_until;

/// The `ALARM_STATUS` subscription watching `entity`, if any.
fn status_sub(h: &Harness<'_, TbApp>, entity: &EntityId) -> Option<SubId> {
    h.state()
        .live()?
        .entities()
        .status_subscriptions()
        .get(entity)
        .copied()
}

/// What that subscription last said.
fn active(h: &Harness<'_, TbApp>, entity: &EntityId) -> Option<bool> {
    let sub = status_sub(h, entity)?;
    match h.state().live()?.store().subs.get(&sub)? {
        SubData::AlarmStatus(flag) => flag.active(),
        _ => None,
    }
}

/// Whether some alarm badge is drawn in the table (the severity's, or "active alarm").
fn badges(h: &Harness<'_, TbApp>) -> usize {
    h.get_all_by_role(Role::Image)
        .filter(|n| {
            n.accesskit_node()
                .label()
                .is_some_and(|l| l.ends_with(" alarm"))
        })
        .count()
}

#[test]
fn an_alarm_raised_on_a_row_in_view_is_reported_by_its_status_subscription_and_cleared_again() {
    let rt = ui::runtime();
    let (mut h, control, devices) = alarms::quiet_app(&rt);
    let device = devices.first().expect("a device").clone();
    step_until(&mut h, "a status subscription for every row in view", |h| {
        devices.iter().all(|d| status_sub(h, &d.id).is_some())
    });
    let sub = status_sub(&h, &device.id).unwrap();
    assert!(sub >= STATUS_SUB_BASE);
    step_until(&mut h, "the first status answer", |h| {
        active(h, &device.id).is_some()
    });
    let before = badges(&h);

    let alarm = alarms::raise(&control, &device, "Door Open", AlarmSeverity::Major);
    step_until(&mut h, "the row's status turning active", |h| {
        active(h, &device.id) == Some(true)
    });
    step_until(&mut h, "one more badge in the table", |h| {
        badges(h) > before
    });
    assert_eq!(
        status_sub(&h, &device.id),
        Some(sub),
        "the same subscription"
    );

    assert!(control.clear_alarm(alarm));
    step_until(&mut h, "the row's status turning inactive", |h| {
        active(h, &device.id) == Some(false)
    });
}
