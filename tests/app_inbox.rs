//! The Notifications view in `egui_kittest` against the in-process demo server (no
//! simulation: every notification comes from the test through `DemoControl`; the server's
//! side is read over REST as the app's own user, or through `DemoControl`).
//!
//! Rules checked:
//! * It lists the unread notifications newest first, as the server pages them; "All" lists
//!   the read ones too.
//! * A search narrows the list to the notifications that match it.
//! * "Delete" hides the row at once and deletes on the server once the undo window is over;
//!   "Undo" within the window keeps the notification on the server.
//! * "Mark read" reaches the server and the badge falls.
//! * More notifications than the page size: "Next" shows the rest, "Previous" goes back.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

#[path = "common/inbox.rs"]
mod inbox;

use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable as _;
use inbox::{
    badge, center_app, click_on_row, ids, live, open_inbox, rows, send, server_page, server_unread,
    shows, tray_ids,
};
use tb_monitor::app::inbox_view::{PAGE_SIZES, UNDO_MS};
use tb_monitor::protocol::NotificationStatus;
use ui::{click, step_until, type_into};

fn row_ids(h: &egui_kittest::Harness<'_, tb_monitor::app::TbApp>) -> Vec<uuid::Uuid> {
    rows(h).into_iter().map(|(id, _)| id).collect()
}

#[test]
fn the_view_lists_unread_notifications_newest_first_and_all_lists_read_ones_too() {
    let rt = ui::runtime();
    let (mut h, control) = center_app(&rt, |_| {});
    let newest = send(&control, &h, "Fresh subject");
    open_inbox(&mut h);
    step_until(&mut h, "the new notification listed first", |h| {
        row_ids(h).first() == Some(&newest)
    });

    let unread = server_page(&rt, &h, true);
    assert_eq!(row_ids(&h), ids(&unread.data), "the server's unread ones");
    let shown = live(&h).inbox_view().rows();
    assert!(shown.iter().all(|n| n.is_unread()));
    assert!(
        shown
            .windows(2)
            .all(|w| w[0].created_time >= w[1].created_time),
        "newest first"
    );
    assert!(shows(
        &h,
        &format!("{} notifications", unread.total_elements)
    ));

    click(&mut h, "All");
    let all = server_page(&rt, &h, false);
    assert!(
        all.total_elements > unread.total_elements,
        "the demo seeds a read one"
    );
    step_until(&mut h, "every notification listed", |h| {
        row_ids(h) == ids(&all.data)
    });
    assert!(!live(&h).inbox_view().unread_only());
    assert!(
        live(&h)
            .inbox_view()
            .rows()
            .iter()
            .any(|n| n.status == Some(NotificationStatus::Read))
    );
    assert!(shows(&h, &format!("{} notifications", all.total_elements)));
}

#[test]
fn a_search_narrows_the_list_to_the_matching_subjects() {
    let rt = ui::runtime();
    let (mut h, control) = center_app(&rt, |_| {});
    let low = send(&control, &h, "Pump pressure low");
    let boiler = send(&control, &h, "Boiler check");
    let restarted = send(&control, &h, "Pump restarted");
    open_inbox(&mut h);
    step_until(&mut h, "the three new notifications", |h| {
        let shown = row_ids(h);
        [low, boiler, restarted].iter().all(|id| shown.contains(id))
    });

    type_into(&mut h, "Search", "pump");
    step_until(&mut h, "only the pump notifications", |h| {
        row_ids(h) == [restarted, low]
    });
    assert!(shows(&h, "2 notifications"));
    assert!(h.query_by_label("Boiler check").is_none());
}

#[test]
fn delete_hides_the_row_at_once_and_deletes_after_the_undo_window_unless_undone() {
    let rt = ui::runtime();
    let (mut h, control) = center_app(&rt, |_| {});
    let keep = send(&control, &h, "Keep this one");
    let gone = send(&control, &h, "Delete this one");
    open_inbox(&mut h);
    step_until(&mut h, "both new notifications", |h| {
        let shown = row_ids(h);
        shown.contains(&keep) && shown.contains(&gone)
    });
    let unread_before = server_unread(&control, &h);

    click_on_row(&mut h, "Keep this one", "Delete");
    assert!(!row_ids(&h).contains(&keep), "hidden at once");
    assert!(
        h.query_by_label_contains("Deleting \"Keep this one\" in ")
            .is_some()
    );
    click(&mut h, "Undo");
    assert!(row_ids(&h).contains(&keep), "back after Undo");
    assert!(h.query_by_label_contains("Deleting \"").is_none());

    let clicked = Instant::now();
    click_on_row(&mut h, "Delete this one", "Delete");
    assert!(!row_ids(&h).contains(&gone), "hidden at once");
    assert!(h.query_by_label("Delete this one").is_none());
    assert_eq!(
        server_unread(&control, &h),
        unread_before,
        "nothing deleted during the undo window"
    );
    step_until(&mut h, "the deletion on the server", |h| {
        server_unread(&control, h) < unread_before
    });
    let undo = Duration::from_millis(u64::try_from(UNDO_MS).unwrap());
    assert!(
        clicked.elapsed() + Duration::from_millis(100) >= undo,
        "deleted after {:?}, before the undo window of {undo:?} was over",
        clicked.elapsed()
    );

    let on_server = ids(&server_page(&rt, &h, false).data);
    assert!(!on_server.contains(&gone));
    assert!(
        on_server.contains(&keep),
        "the undone deletion never happened"
    );
    assert_eq!(server_unread(&control, &h), unread_before - 1);
    step_until(&mut h, "the undo bar gone", |h| {
        h.query_by_label_contains("Deleting \"").is_none()
    });
}

#[test]
fn mark_read_in_the_view_lowers_the_badge() {
    let rt = ui::runtime();
    let (mut h, control) = center_app(&rt, |_| {});
    let id = send(&control, &h, "Read me here");
    open_inbox(&mut h);
    step_until(&mut h, "the new notification", |h| row_ids(h).contains(&id));
    step_until(&mut h, "the badge counting it", |h| {
        tray_ids(h).contains(&id)
    });
    let before = badge(&h).unwrap();

    click_on_row(&mut h, "Read me here", "Mark read");
    step_until(&mut h, "the badge one lower", |h| {
        badge(h) == Some(before - 1)
    });
    assert_eq!(server_unread(&control, &h), before - 1);
    let read = server_page(&rt, &h, false)
        .data
        .into_iter()
        .find(|n| n.id.id == id)
        .unwrap();
    assert_eq!(read.status, Some(NotificationStatus::Read));
}

#[test]
fn next_shows_the_notifications_beyond_the_first_page() {
    let rt = ui::runtime();
    let (mut h, control) = center_app(&rt, |_| {});
    for n in 1..=25 {
        send(&control, &h, &format!("Paged notice {n:02}"));
    }
    let unread = server_page(&rt, &h, true);
    let page_size = usize::try_from(PAGE_SIZES[0]).unwrap();
    let total = usize::try_from(unread.total_elements).unwrap();
    assert!(total > page_size && total <= 2 * page_size, "{total}");
    let all = ids(&unread.data);

    open_inbox(&mut h);
    step_until(&mut h, "the first page of every unread one", |h| {
        shows(h, &format!("{total} notifications")) && shows(h, "Page 1 of 2")
    });
    assert_eq!(row_ids(&h), all[..page_size]);

    click(&mut h, "Next");
    step_until(&mut h, "the second page", |h| {
        shows(h, "Page 2 of 2") && row_ids(h) == all[page_size..]
    });
    assert_eq!(rows(&h).len(), total - page_size);

    click(&mut h, "Previous");
    step_until(&mut h, "the first page again", |h| {
        shows(h, "Page 1 of 2") && row_ids(h) == all[..page_size]
    });
}
