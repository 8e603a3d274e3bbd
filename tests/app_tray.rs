//! The notification tray in `egui_kittest` against the in-process demo server (no
//! simulation: every notification comes from the test through `DemoControl`).
//!
//! Rules checked:
//! * The unread badge opens the tray; "Mark read" and "Mark all as read" reach the server
//!   and the badge follows.
//! * A new notification is a partial update: prepended to the tray's list, the badge one up.
//! * Reading a notification the tray does not list is a count-only update: the badge falls,
//!   the list stays, the sequence number rises.
//! * A new tray length in the Settings view subscribes again: the tray lists that many.
//! * After the server drops the connection, the new socket's sequence numbers (from 1 again)
//!   are applied: the badge keeps following new notifications.
//! * An alarm notification's action button opens the Alarms view on that alarm.
//! * New notifications become grouped notices; those unread at login become none.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

#[path = "common/inbox.rs"]
mod inbox;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use inbox::{badge, center_app, ids, live, send, server_page, tray, tray_ids, within};
use tb_monitor::app::TbApp;
use tb_monitor::protocol::{AlarmSeverity, EntityId, EntityType};
use tb_monitor::store::SubData;
use tb_monitor::ui::View;
use ui::{click, step_until};

fn unread(h: &Harness<'_, TbApp>) -> Option<i64> {
    match h
        .state()
        .live()?
        .store()
        .subs
        .get(&tb_monitor::app::UNREAD_SUB)?
    {
        SubData::Unread(c) => c.count(),
        _ => None,
    }
}

fn listed(h: &Harness<'_, TbApp>) -> usize {
    match h
        .state()
        .live()
        .and_then(|l| l.store().subs.get(&tb_monitor::app::tray::INBOX_SUB))
    {
        Some(SubData::Inbox(inbox)) if inbox.has_list() => inbox.notifications().len(),
        _ => 0,
    }
}

#[test]
fn the_bell_opens_the_tray_and_marking_read_lowers_the_unread_badge() {
    let rt = ui::runtime();
    let mut h = ui::demo_app(&rt, 4, egui::vec2(1400.0, 900.0));
    step_until(&mut h, "an unread count above one", |h| {
        unread(h).is_some_and(|n| n > 1)
    });
    step_until(&mut h, "the tray's notifications", |h| listed(h) > 1);
    let before = unread(&h).unwrap();

    let bell = format!("Unread {before}");
    h.get_by_label(&bell).click();
    h.run_steps(2);
    assert!(
        h.query_by_label("Mark all as read").is_some(),
        "the tray is open"
    );

    h.get_all_by_label("Mark read")
        .next()
        .expect("an unread one")
        .click();
    h.run_steps(2);
    step_until(&mut h, "the badge one lower", |h| {
        unread(h) == Some(before - 1)
    });

    click(&mut h, "Mark all as read");
    step_until(&mut h, "no unread notification", |h| unread(h) == Some(0));
    click(&mut h, "Close");
    assert!(
        h.query_by_label("Mark all as read").is_none(),
        "the tray closed"
    );
}

#[test]
fn a_new_notification_is_prepended_to_the_tray_and_raises_the_badge_by_one() {
    let rt = ui::runtime();
    let (mut h, control) = center_app(&rt, |_| {});
    let before = badge(&h).unwrap();
    let listed = tray_ids(&h);
    assert!(!listed.is_empty(), "the demo seeds unread notifications");

    let id = send(&control, &h, "Filter change due");
    step_until(&mut h, "the new notification at the top of the tray", |h| {
        tray_ids(h).first() == Some(&id)
    });
    let mut expected = vec![id];
    expected.extend(&listed);
    assert_eq!(
        tray_ids(&h),
        expected,
        "the rest of the list stays as it was"
    );
    step_until(&mut h, "the badge one higher", |h| {
        badge(h) == Some(before + 1)
    });
    assert_eq!(tray(&h).unwrap().total_unread_count(), Some(before + 1));

    // On screen too: the bell names the new count and the tray shows the subject.
    h.get_by_label(&format!("Unread {}", before + 1)).click();
    h.run_steps(2);
    assert!(h.query_by_label("Filter change due").is_some());
}

#[test]
fn reading_a_notification_the_tray_does_not_list_changes_only_the_count() {
    let rt = ui::runtime();
    let (mut h, _control) = center_app(&rt, |s| s.inbox.tray_limit = 2);
    step_until(&mut h, "a tray of two", |h| tray_ids(h).len() == 2);
    let listed = tray_ids(&h);
    let before = badge(&h).unwrap();
    let sequence = tray(&h).unwrap().last_sequence_number().unwrap();
    let unlisted = ids(&server_page(&rt, &h, true).data)
        .into_iter()
        .find(|id| !listed.contains(id))
        .expect("an unread notification beyond the tray's two");

    let rest = live(&h).session().rest.clone();
    within(&rt, rest.mark_notification_read(unlisted)).unwrap();
    step_until(&mut h, "the badge one lower", |h| {
        badge(h) == Some(before - 1)
    });
    step_until(&mut h, "the tray's count-only update", |h| {
        tray(h).unwrap().last_sequence_number() > Some(sequence)
    });
    let inbox = tray(&h).unwrap();
    assert_eq!(tray_ids(&h), listed, "the listed notifications stay");
    assert_eq!(inbox.total_unread_count(), Some(before - 1));
    assert_eq!(inbox.stale_dropped(), 0);
}

#[test]
fn a_new_tray_length_in_the_settings_subscribes_again_for_that_many() {
    let rt = ui::runtime();
    let (mut h, _control) = center_app(&rt, |_| {});
    let first_sub = live(&h).inbox_sub();
    let unread = usize::try_from(badge(&h).unwrap()).unwrap();
    assert!(unread > 3, "more unread than the new length");
    assert_eq!(
        tray_ids(&h).len(),
        unread,
        "the default tray lists them all"
    );

    // Typed into the drag value as a user would: a click enters text editing with the
    // number selected, Enter commits it.
    click(&mut h, "Settings");
    h.get_by_label("Notifications in the tray").click();
    h.run_steps(2);
    h.get_by_label("Notifications in the tray").type_text("3");
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert_eq!(h.state().settings().inbox.tray_limit, 3);

    assert_ne!(live(&h).inbox_sub(), first_sub, "a fresh subscription id");
    step_until(&mut h, "a tray of three", |h| {
        tray(h).is_some_and(|i| i.has_list() && i.limit() == 3) && tray_ids(h).len() == 3
    });
    assert!(
        !live(&h).store().subs.contains_key(&first_sub),
        "the old subscription is retired"
    );
}

#[test]
fn after_the_server_drops_the_connection_the_badge_still_follows_new_notifications() {
    let rt = ui::runtime();
    let (mut h, control) = center_app(&rt, |_| {});
    // Numbers above 1 on the first socket, so the second socket's 1, 2, … are "older".
    for subject in ["Before the drop 1", "Before the drop 2"] {
        let id = send(&control, &h, subject);
        step_until(&mut h, "the notification in the tray", |h| {
            tray_ids(h).contains(&id)
        });
    }
    step_until(&mut h, "the badge's sequence number above 2", |h| {
        unread_sequence(h) > Some(2)
    });
    let reconnected = reconnects(&h);
    let before = badge(&h).unwrap();

    control.drop_connections(false);
    step_until(&mut h, "a reconnect", |h| reconnects(h) > reconnected);
    step_until(&mut h, "the new socket's first messages applied", |h| {
        unread_sequence(h) == Some(1) && tray(h).unwrap().last_sequence_number() == Some(1)
    });

    let id = send(&control, &h, "After the drop");
    step_until(&mut h, "the badge one higher", |h| {
        badge(h) == Some(before + 1)
    });
    step_until(&mut h, "the new notification at the top of the tray", |h| {
        tray_ids(h).first() == Some(&id)
    });
    assert_eq!(tray(&h).unwrap().total_unread_count(), Some(before + 1));
}

/// The badge subscription's last applied sequence number.
fn unread_sequence(h: &Harness<'_, TbApp>) -> Option<i64> {
    match h
        .state()
        .live()?
        .store()
        .subs
        .get(&tb_monitor::app::UNREAD_SUB)?
    {
        SubData::Unread(c) => c.last_sequence_number(),
        _ => None,
    }
}

/// How often the session reconnected.
fn reconnects(h: &Harness<'_, TbApp>) -> u32 {
    live(h)
        .store()
        .health
        .as_ref()
        .map_or(0, tb_monitor::store::health::Health::reconnects)
}

#[test]
fn an_alarm_notifications_button_opens_the_alarms_view_on_that_alarm() {
    let rt = ui::runtime();
    let (mut h, control) = center_app(&rt, |_| {});
    let device = control.devices()[1].clone();
    let alarm = control.raise_alarm(&device.id, "Pump Seal Leak", AlarmSeverity::Major, false);
    step_until(
        &mut h,
        "the alarm's notification at the top of the tray",
        |h| {
            tray(h)
                .and_then(|i| i.notifications().first())
                .and_then(|n| n.info.as_ref())
                .and_then(|info| info.alarm_id)
                == Some(alarm)
        },
    );

    let bell = format!("Unread {}", badge(&h).unwrap());
    h.get_by_label(&bell).click();
    h.run_steps(2);
    assert!(h.query_by_label("New alarm 'Pump Seal Leak'").is_some());
    // The top row's button: the list is newest first.
    h.get_all_by_role_and_label(Role::Button, "Open alarm")
        .min_by(|a, b| a.rect().top().total_cmp(&b.rect().top()))
        .expect("the alarm notification's button")
        .click();
    h.run_steps(2);

    assert_eq!(live(&h).view(), View::Alarms);
    assert_eq!(
        live(&h).alarms().cursor(),
        Some(&EntityId::new(EntityType::Alarm, alarm))
    );
    assert!(
        h.query_by_label("Mark all as read").is_none(),
        "the tray closed"
    );
    step_until(&mut h, "the alarm's details", |h| {
        h.query_by_label(&alarm.to_string()).is_some()
    });
}

#[test]
fn new_notifications_become_grouped_notices_and_those_unread_at_login_none() {
    let rt = ui::runtime();
    let (mut h, control) = center_app(&rt, |_| {});
    assert!(badge(&h).unwrap() > 0, "unread at login");

    let mut five: Vec<_> = (1..=5)
        .map(|n| send(&control, &h, &format!("Batch item {n}")))
        .collect();
    step_until(&mut h, "a notice", |h| {
        !live(h).notification_notices().is_empty()
    });
    let notices = live(&h).notification_notices();
    assert_eq!(
        notices.len(),
        1,
        "one notice for the five, none for those unread at login: {notices:?}"
    );
    let group = notices[0];
    assert_eq!(group.title, "5 new general notifications");
    five.reverse();
    assert_eq!(group.ids, five, "newest first");
    assert_eq!(group.focus, None);
    assert!(!group.desktop, "desktop notifications are off");
    assert_eq!(
        group.body,
        "Batch item 5\nBatch item 4\nBatch item 3\nand 2 more"
    );

    let late = send(&control, &h, "Late arrival");
    step_until(&mut h, "a second notice", |h| {
        live(h).notification_notices().len() == 2
    });
    let single = live(&h).notification_notices()[1];
    assert_eq!(single.title, "Late arrival");
    assert_eq!(single.body, "About Late arrival");
    assert_eq!((single.ids.clone(), single.focus), (vec![late], Some(late)));
}

#[test]
fn a_device_activity_notifications_button_opens_that_device_in_the_inspector() {
    let rt = ui::runtime();
    let (mut h, _control) = center_app(&rt, |_| {});
    // The demo seeds one unread "became inactive" notification per user.
    step_until(&mut h, "the seeded device activity notification", |h| {
        tray(h).is_some_and(|i| {
            i.notifications().iter().any(|n| {
                n.notification_type == tb_monitor::protocol::NotificationType::DeviceActivity
            })
        })
    });
    let (subject, device) = {
        let inbox = tray(&h).unwrap();
        let n = inbox
            .notifications()
            .iter()
            .find(|n| n.notification_type == tb_monitor::protocol::NotificationType::DeviceActivity)
            .unwrap();
        let id = n.info.as_ref().unwrap().other["deviceId"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .unwrap();
        (
            n.subject.clone().unwrap(),
            EntityId::new(EntityType::Device, id),
        )
    };

    let bell = format!("Unread {}", badge(&h).unwrap());
    h.get_by_label(&bell).click();
    h.run_steps(2);
    assert!(h.query_by_label(&subject).is_some());
    h.get_by_role_and_label(Role::Button, "Open device").click();
    h.run_steps(2);

    assert_eq!(live(&h).view(), View::Inspector);
    step_until(&mut h, "the device in the Inspector, with its name", |h| {
        live(h)
            .inspector()
            .entity()
            .is_some_and(|(id, name)| *id == device && subject.contains(name.as_str()))
    });
}
