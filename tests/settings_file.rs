//! `settings.toml`: round trip, tolerance of old and partial files, corruption kept aside,
//! clamping, atomic saves, and the profile helpers the login screen uses.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use tb_monitor::plot::layout::{Layout, LineStyle, PlotLayouts};
use tb_monitor::plot::window::{AggFn, Relative, TimeWindow};
use tb_monitor::protocol::EntityId;
use tb_monitor::protocol::NotificationType;
use tb_monitor::protocol::{
    AlarmSeverity, EntityDataPageLink, EntityDataQuery, EntityFilter, EntityKey, KeyFilter,
    NumericOperation, SortDirection, StringOperation,
};
use tb_monitor::settings::{
    DataLimits, InboxPrefs, NotificationPrefs, Profile, SavedQuery, Settings, SettingsFile,
    ThemePref, TimeWindowPref, TimeZonePref,
};
use tb_monitor::store::series::SeriesLimits;

const FINGERPRINT: &str = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

fn profile(name: &str) -> Profile {
    Profile {
        name: name.to_owned(),
        url: "https://tb.example.com".to_owned(),
        username: "tenant@example.com".to_owned(),
        ..Profile::default()
    }
}

fn file_in(dir: &Path) -> SettingsFile {
    SettingsFile::new(dir.join("settings.toml"))
}

/// A settings file holding `contents` in a fresh folder (kept while the `TempDir` lives).
fn file_holding(contents: impl AsRef<[u8]>) -> (tempfile::TempDir, SettingsFile) {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    std::fs::write(file.path(), contents).unwrap();
    (dir, file)
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Settings with every field away from its default.
fn everything_set() -> Settings {
    Settings {
        last_profile: Some("plant".to_owned()),
        auto_login: false,
        theme: ThemePref::Light,
        max_frame_rate: 30,
        time_zone: TimeZonePref::Utc,
        default_window: TimeWindowPref::Hour6,
        notifications: NotificationPrefs {
            desktop: false,
            min_severity: AlarmSeverity::Warning,
            sound: true,
        },
        inbox: InboxPrefs {
            tray_limit: 7,
            desktop: false,
            muted_types: vec![
                NotificationType::DeviceActivity,
                NotificationType::Unknown("FUTURE_TYPE".to_owned()),
            ],
            tray_icon: false,
            close_to_tray: true,
        },
        limits: DataLimits {
            points_per_series: 123_456,
        },
        profiles: vec![
            Profile {
                remember_password: true,
                ca_file: Some(PathBuf::from("/etc/ssl/plant-ca.pem")),
                ..profile("plant")
            },
            Profile {
                url: "http://10.0.0.7:8080".to_owned(),
                pinned_sha256: Some(FINGERPRINT.to_owned()),
                ..profile("lab")
            },
        ],
        saved_queries: vec![
            SavedQuery::new("Hot thermostats", &hot_thermostats()).unwrap(),
            SavedQuery::new("Pumps \"A\" 'north' ünïcode", &pumps()).unwrap(),
        ],
        plot_layouts: plot_layouts(),
    }
}

/// A current plot layout and a saved one, with every field away from its default.
fn plot_layouts() -> PlotLayouts {
    let mut layout = Layout::with_window(TimeWindow::Fixed {
        start_ms: 1_700_000_000_000,
        end_ms: 1_700_003_600_000,
    });
    layout.agg = AggFn::Max;
    layout.interval_ms = Some(60_000);
    let pump = EntityId::new(
        tb_monitor::protocol::EntityType::Device,
        uuid::Uuid::from_u128(7),
    );
    layout.add(None, &pump, "Pump \"A\"", "pressure");
    layout.add(Some(0), &pump, "Pump \"A\"", "flow");
    layout.plots[0].series[1].right_axis = true;
    layout.plots[0].series[1].style = LineStyle::Points;
    let mut layouts = PlotLayouts {
        current: Some(layout.clone()),
        saved: Vec::new(),
    };
    layout.window = TimeWindow::Relative(Relative::Yesterday);
    layouts.save_as("Pumps yesterday", &layout);
    layouts
}

/// A query with a nested shape: a device-type filter, a numeric key filter, sort, columns.
fn hot_thermostats() -> EntityDataQuery {
    EntityDataQuery::new(
        EntityFilter::devices_of_types(["thermostat"]),
        EntityDataPageLink::first(50)
            .sorted_by(EntityKey::field("name"), SortDirection::Asc)
            .dynamic(true),
    )
    .with_fields(["name", "label"])
    .with_time_series(["temperature"])
    .with_key_filter(KeyFilter::numeric(
        EntityKey::time_series("temperature"),
        NumericOperation::Greater,
        20.5,
    ))
}

/// A query with quotes and a text filter.
fn pumps() -> EntityDataQuery {
    EntityDataQuery::new(
        EntityFilter::by_name(tb_monitor::protocol::EntityType::Asset, "Pump \"A\""),
        EntityDataPageLink::first(10),
    )
    .with_key_filter(KeyFilter::string(
        EntityKey::attribute("zone"),
        StringOperation::In,
        "north,'south'",
        true,
    ))
}

#[test]
fn every_field_survives_a_save_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    let settings = everything_set();
    assert_ne!(settings, Settings::default());

    file.save(&settings).unwrap();
    let loaded = file.load();

    assert_eq!(loaded.settings, settings);
    assert_eq!(loaded.notice, None);
}

#[test]
fn defaults_are_the_documented_ones() {
    let s = Settings::default();
    assert!(s.auto_login);
    assert_eq!(s.theme, ThemePref::System);
    assert_eq!(s.time_zone, TimeZonePref::Local);
    assert_eq!(s.default_window, TimeWindowPref::Min15);
    assert_eq!(s.default_window.minutes(), 15);
    assert!(s.notifications.desktop);
    assert_eq!(s.inbox.tray_limit, 20);
    assert_eq!(s.max_frame_rate, 10);
    assert!(s.inbox.desktop && s.inbox.tray_icon && !s.inbox.close_to_tray);
    assert!(s.inbox.muted_types.is_empty());
    assert_eq!(s.limits.points_per_series, SeriesLimits::DEFAULT_MAX_POINTS);
    assert!(s.profiles.is_empty());
    assert!(s.saved_queries.is_empty());
    assert_eq!(s.last_profile, None);
}

#[test]
fn a_missing_file_gives_defaults_without_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = file_in(dir.path()).load();
    assert_eq!(loaded.settings, Settings::default());
    assert_eq!(loaded.notice, None);
    assert!(names_in(dir.path()).is_empty(), "loading creates nothing");
}

#[test]
fn a_corrupt_file_is_kept_aside_with_a_notice_naming_the_backup_and_defaults_are_used() {
    let corrupt = "theme = \"dark\"\n[[profiles]\nname = ";
    let (dir, file) = file_holding(corrupt);

    let loaded = file.load();

    assert_eq!(loaded.settings, Settings::default());
    let names = names_in(dir.path());
    assert_eq!(names.len(), 1, "only the backup is left: {names:?}");
    let backup = &names[0];
    let seconds = backup.strip_prefix("settings.toml.bak-").unwrap();
    assert!(
        !seconds.is_empty() && seconds.bytes().all(|b| b.is_ascii_digit()),
        "{backup}"
    );
    let backup_path = dir.path().join(backup);
    assert_eq!(std::fs::read_to_string(&backup_path).unwrap(), corrupt);
    let notice = loaded.notice.expect("a notice");
    assert!(
        notice.contains(&backup_path.display().to_string()),
        "{notice}"
    );
    assert!(notice.contains("line 2"), "says where: {notice}");
    assert!(notice.contains("Default settings are used"), "{notice}");
}

#[test]
fn a_file_with_a_wrong_value_type_is_kept_aside_too() {
    // A text where the profiles' list of tables belongs: the file has another shape.
    let wrong = "theme = \"dark\"\nprofiles = \"plant\"\n";
    let (dir, file) = file_holding(wrong);

    let loaded = file.load();

    assert_eq!(loaded.settings, Settings::default());
    let notice = loaded.notice.unwrap();
    assert!(notice.contains("line 2: invalid type"), "{notice}");
    assert!(notice.contains("settings.toml.bak-"), "{notice}");
    assert!(!file.path().exists());
    let names = names_in(dir.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(&names[0])).unwrap(),
        wrong
    );
}

#[test]
fn a_list_where_a_choice_belongs_is_a_wrong_shape_and_the_file_is_kept_aside() {
    let (_dir, file) = file_holding("[[profiles]]\nname = \"plant\"\n[theme]\nname = \"dark\"\n");

    let loaded = file.load();

    assert_eq!(loaded.settings, Settings::default());
    assert!(loaded.notice.unwrap().contains("settings.toml.bak-"));
    assert!(!file.path().exists());
}

#[test]
fn an_unknown_choice_falls_back_to_its_default_and_keeps_the_rest_of_the_file_in_place() {
    let written = "theme = \"purple\"\ntime_zone = \"utc\"\ndefault_window = \"2w\"\n\
                   auto_login = false\n\
                   [[profiles]]\nname = \"plant\"\nurl = \"https://tb.example.com\"\n\
                   [[profiles]]\nname = \"lab\"\nurl = \"http://localhost:8080\"\n";
    let (dir, file) = file_holding(written);

    let loaded = file.load();

    let s = &loaded.settings;
    assert_eq!(s.theme, ThemePref::default());
    assert_eq!(s.default_window, TimeWindowPref::default());
    assert_eq!(s.time_zone, TimeZonePref::Utc);
    assert!(!s.auto_login);
    let names: Vec<&str> = s.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["plant", "lab"]);
    let notice = loaded.notice.expect("a notice");
    assert!(
        notice.starts_with("Some settings were adjusted: "),
        "{notice}"
    );
    assert!(
        notice.contains("`theme` on line 1: unknown variant `purple`"),
        "{notice}"
    );
    assert!(notice.contains("`default_window` on line 3"), "{notice}");
    assert!(
        notice.contains("the default \"system\" is used"),
        "{notice}"
    );
    assert!(!notice.contains(".bak-"), "{notice}");
    assert_eq!(
        names_in(dir.path()),
        ["settings.toml"],
        "nothing is set aside"
    );
    assert_eq!(std::fs::read_to_string(file.path()).unwrap(), written);

    // The next save writes the defaults in place of the unknown choices, and loads quietly.
    file.save(&loaded.settings).unwrap();
    let again = file.load();
    assert_eq!(again.notice, None);
    assert_eq!(again.settings, loaded.settings);
}

#[test]
fn a_file_that_is_not_text_is_kept_aside() {
    let (dir, file) = file_holding([0xff, 0xfe, 0x00, 0x80]);

    let loaded = file.load();

    assert_eq!(loaded.settings, Settings::default());
    assert!(loaded.notice.unwrap().contains("not a text file"));
    assert_eq!(names_in(dir.path()).len(), 1);
}

#[test]
fn two_corrupt_files_in_the_same_second_get_two_backups() {
    let (dir, file) = file_holding("= first");
    let first = file.load().notice.unwrap();
    std::fs::write(file.path(), "= second").unwrap();
    let second = file.load().notice.unwrap();

    assert_ne!(first, second);
    let names = names_in(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    let mut contents: Vec<String> = names
        .iter()
        .map(|n| std::fs::read_to_string(dir.path().join(n)).unwrap())
        .collect();
    contents.sort();
    assert_eq!(contents, ["= first", "= second"]);
}

#[test]
fn a_file_with_unknown_keys_and_missing_fields_loads() {
    let (_dir, file) = file_holding(
        r#"
        theme = "dark"
        from_a_future_version = 42

        [notifications]
        sound = true
        colour = "blue"

        [future_section]
        x = 1

        [[profiles]]
        name = "old"
        url = "https://old.example.com"
        password = "never read"
        "#,
    );

    let loaded = file.load();

    assert_eq!(loaded.notice, None);
    let s = loaded.settings;
    assert_eq!(s.theme, ThemePref::Dark);
    assert!(s.notifications.sound);
    assert!(s.notifications.desktop, "missing keys take their default");
    assert_eq!(
        s.notifications.min_severity,
        NotificationPrefs::DEFAULT_MIN_SEVERITY
    );
    assert!(s.auto_login);
    assert_eq!(s.profiles.len(), 1);
    assert_eq!(s.profiles[0].name, "old");
    assert_eq!(s.profiles[0].username, "");
    assert!(file.path().exists(), "a good file is not moved");
}

#[test]
fn an_empty_file_gives_defaults() {
    let (_dir, file) = file_holding("");
    let loaded = file.load();
    assert_eq!(loaded.settings, Settings::default());
    assert_eq!(loaded.notice, None);
}

#[test]
fn the_default_window_reads_names_and_minutes() {
    let (_dir, file) = file_holding("default_window = 60\n");
    assert_eq!(file.load().settings.default_window, TimeWindowPref::Hour1);
    std::fs::write(file.path(), "default_window = \"7d\"\n").unwrap();
    assert_eq!(file.load().settings.default_window, TimeWindowPref::Day7);
    for window in TimeWindowPref::ALL {
        assert_eq!(TimeWindowPref::from_minutes(window.minutes()), Some(window));
        assert_eq!(window.millis(), i64::from(window.minutes()) * 60_000);
    }
}

#[test]
fn points_per_series_out_of_range_are_clamped_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    for (written, expected) in [
        ("0", DataLimits::MIN_POINTS_PER_SERIES),
        ("-5", DataLimits::MIN_POINTS_PER_SERIES),
        ("999999999999", DataLimits::MAX_POINTS_PER_SERIES),
        ("9223372036854775807", DataLimits::MAX_POINTS_PER_SERIES),
    ] {
        std::fs::write(
            file.path(),
            format!("theme = \"light\"\n[limits]\npoints_per_series = {written}\n"),
        )
        .unwrap();

        let loaded = file.load();

        assert_eq!(
            loaded.settings.limits.points_per_series, expected,
            "{written}"
        );
        assert_eq!(loaded.settings.theme, ThemePref::Light, "the rest is kept");
        let notice = loaded.notice.expect("a notice");
        assert!(notice.contains("Points kept per series"), "{notice}");
        assert!(file.path().exists(), "a clamped file is not moved aside");
    }
}

#[test]
fn an_unknown_notification_severity_falls_back_to_the_default() {
    let (_dir, file) = file_holding("[notifications]\nmin_severity = \"BLOCKER\"\n");
    let loaded = file.load();
    assert_eq!(
        loaded.settings.notifications.min_severity,
        NotificationPrefs::DEFAULT_MIN_SEVERITY
    );
    assert!(loaded.notice.unwrap().contains("BLOCKER"));
}

#[test]
fn duplicate_profile_names_and_a_dangling_last_profile_are_cleaned_up() {
    let mut s = Settings {
        profiles: vec![profile("a"), profile("b"), profile("a")],
        last_profile: Some("gone".to_owned()),
        ..Settings::default()
    };
    let notes = s.normalize();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        s.profiles
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(s.last_profile, None);
}

#[test]
fn a_save_replaces_the_file_and_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    file.save(&Settings::default()).unwrap();
    let settings = everything_set();

    file.save(&settings).unwrap();

    assert_eq!(names_in(dir.path()), ["settings.toml"]);
    assert_eq!(file.load().settings, settings);
}

#[test]
fn a_saved_file_has_no_secrets_and_says_where_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    let settings = Settings {
        profiles: vec![Profile {
            url: "https://user:hunter2@tb.example.com/".to_owned(),
            ..profile("p")
        }],
        ..Settings::default()
    };

    file.save(&settings).unwrap();

    let text = std::fs::read_to_string(file.path()).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("keychain"), "{text}");
    assert!(
        file.load().settings.profiles[0]
            .url
            .contains("tb.example.com")
    );
}

#[test]
fn a_save_into_a_missing_folder_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("config").join("tb-monitor");
    let file = file_in(&nested);

    file.save(&everything_set()).unwrap();

    assert_eq!(names_in(&nested), ["settings.toml"]);
    assert_eq!(file.load().settings, everything_set());
}

#[test]
fn a_save_into_an_unwritable_place_gives_a_plain_error_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the folder should be: fails for every user, root included.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let file = file_in(&blocker.join("sub"));

    let err = file.save(&Settings::default()).unwrap_err();

    assert!(err.starts_with("Could not save settings"), "{err}");
    assert!(err.contains("folder"), "{err}");
    assert!(
        err.ends_with(&blocker.join("sub").display().to_string()),
        "{err}"
    );
}

#[test]
fn a_folder_in_the_way_of_a_save_is_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    std::fs::create_dir(file.path()).unwrap();
    std::fs::write(file.path().join("keep"), "x").unwrap();
    // Moved aside like any unreadable file: the save succeeds and the folder survives.
    file.save(&Settings::default()).unwrap();
    let names = names_in(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    let backup = names.iter().find(|n| n.contains(".bak-")).unwrap();
    assert!(dir.path().join(backup).join("keep").exists());
}

#[test]
fn a_save_keeps_a_corrupt_file_aside_before_writing() {
    let (dir, file) = file_holding("hand edited = = broken");

    file.save(&everything_set()).unwrap();

    let names = names_in(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    let backup = names.iter().find(|n| n.contains(".bak-")).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join(backup)).unwrap(),
        "hand edited = = broken"
    );
    assert_eq!(file.load().settings, everything_set());
}

#[test]
fn the_default_location_is_settings_toml_in_a_tb_monitor_folder() {
    // Only the path is computed; nothing is read or written.
    if let Some(file) = SettingsFile::default_location() {
        assert!(file.path().ends_with("settings.toml"));
        assert!(
            file.path().to_string_lossy().contains("tb-monitor"),
            "{}",
            file.path().display()
        );
    }
}

#[test]
fn a_complete_profile_is_valid() {
    assert_eq!(profile("plant").validate(), Ok(()));
    let pinned = Profile {
        url: "http://10.0.0.7:8080/".to_owned(),
        pinned_sha256: Some(FINGERPRINT.replace(':', "").to_lowercase()),
        ..profile("lab")
    };
    assert_eq!(pinned.validate(), Ok(()));
}

#[test]
fn profile_validation_explains_each_problem() {
    let cases = [
        (
            Profile {
                name: "  ".to_owned(),
                ..profile("x")
            },
            "name",
        ),
        (
            Profile {
                url: String::new(),
                ..profile("x")
            },
            "Enter the server URL",
        ),
        (
            Profile {
                url: "tb.example.com".to_owned(),
                ..profile("x")
            },
            "https://",
        ),
        (
            Profile {
                url: "ftp://tb.example.com".to_owned(),
                ..profile("x")
            },
            "https://",
        ),
        (
            Profile {
                url: "https://".to_owned(),
                ..profile("x")
            },
            "not valid",
        ),
        (
            Profile {
                url: "https://u:pw@tb.example.com".to_owned(),
                ..profile("x")
            },
            "password",
        ),
        (
            Profile {
                username: String::new(),
                ..profile("x")
            },
            "user name",
        ),
        (
            Profile {
                pinned_sha256: Some("AB:CD".to_owned()),
                ..profile("x")
            },
            "fingerprint",
        ),
        (
            Profile {
                pinned_sha256: Some("zz".repeat(32)),
                ..profile("x")
            },
            "fingerprint",
        ),
        (
            Profile {
                ca_file: Some(PathBuf::new()),
                ..profile("x")
            },
            "CA",
        ),
    ];
    for (profile, expected) in cases {
        let err = profile
            .validate()
            .expect_err(&format!("{profile:?} is invalid"));
        assert!(err.contains(expected), "{profile:?}: {err}");
        assert!(!err.ends_with('.'), "no trailing period: {err}");
    }
}

#[test]
fn upsert_replaces_a_profile_in_place_and_adds_new_ones_at_the_end() {
    let mut s = Settings::default();
    s.upsert_profile(profile("a"));
    s.upsert_profile(profile("b"));
    s.upsert_profile(Profile {
        username: "new@example.com".to_owned(),
        ..profile("a")
    });
    s.upsert_profile(profile("c"));

    let names: Vec<&str> = s.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(s.profile("a").unwrap().username, "new@example.com");
    assert_eq!(s.profile("zz"), None);
}

#[test]
fn removing_the_last_used_profile_forgets_it_as_last() {
    let mut s = Settings::default();
    s.upsert_profile(profile("a"));
    s.upsert_profile(profile("b"));
    s.last_profile = Some("b".to_owned());

    assert_eq!(s.remove_profile("a").map(|p| p.name), Some("a".to_owned()));
    assert_eq!(
        s.last_profile.as_deref(),
        Some("b"),
        "another profile stays last"
    );
    assert_eq!(s.last().map(|p| p.name.as_str()), Some("b"));

    assert!(s.remove_profile("b").is_some());
    assert_eq!(s.last_profile, None);
    assert!(s.profiles.is_empty());
    assert_eq!(s.remove_profile("b"), None);
}

#[test]
fn notifications_follow_the_minimum_severity() {
    let prefs = NotificationPrefs {
        min_severity: AlarmSeverity::Major,
        ..NotificationPrefs::default()
    };
    assert!(prefs.notifies(&AlarmSeverity::Critical));
    assert!(prefs.notifies(&AlarmSeverity::Major));
    assert!(!prefs.notifies(&AlarmSeverity::Minor));
    let off = NotificationPrefs {
        desktop: false,
        ..prefs
    };
    assert!(!off.notifies(&AlarmSeverity::Critical));
}

#[test]
fn saved_queries_survive_a_save_and_load_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    let settings = everything_set();

    file.save(&settings).unwrap();
    let loaded = file.load();

    assert_eq!(loaded.notice, None);
    assert_eq!(loaded.settings.saved_queries, settings.saved_queries);
    assert_eq!(
        loaded.settings.saved_queries[0].query().unwrap(),
        hot_thermostats()
    );
    assert_eq!(loaded.settings.saved_queries[1].query().unwrap(), pumps());
    let text = std::fs::read_to_string(file.path()).unwrap();
    assert!(text.contains("[[saved_queries]]"), "{text}");
}

#[test]
fn a_corrupt_saved_query_entry_is_dropped_without_losing_the_rest_of_the_file() {
    let good = SavedQuery::new("good", &hot_thermostats()).unwrap();
    let (_dir, file) = file_holding(format!(
        "theme = \"light\"\n\
             [[profiles]]\nname = \"plant\"\nurl = \"https://tb.example.com\"\n\
             [[saved_queries]]\nname = 5\nquery = \"{{}}\"\n\
             [[saved_queries]]\nquery = \"{{}}\"\n\
             [[saved_queries]]\nname = \"good\"\nquery = '{}'\n\
             [[saved_queries]]\nname = \"good\"\nquery = \"a second entry of the same name\"\n\
             [[saved_queries]]\nname = \"from a newer version\"\n\
             query = '{{\"entityFilter\":{{\"type\":\"futureFilter\"}}}}'\n",
        good.query
    ));

    let loaded = file.load();

    assert_eq!(loaded.notice, None);
    assert!(file.path().exists(), "the file is not moved aside");
    let s = loaded.settings;
    assert_eq!(s.theme, ThemePref::Light);
    assert_eq!(s.profiles.len(), 1);
    let names: Vec<&str> = s.saved_queries.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["good", "from a newer version"]);
    assert_eq!(s.saved_queries[0].query().unwrap(), hot_thermostats());
    let err = s.saved_queries[1].query().unwrap_err();
    assert!(
        err.starts_with("The saved query \"from a newer version\" cannot be read"),
        "{err}"
    );
}

#[test]
fn saved_queries_that_are_not_a_list_are_ignored() {
    let (_dir, file) = file_holding("saved_queries = \"oops\"\ntheme = \"dark\"\n");

    let loaded = file.load();

    assert_eq!(loaded.notice, None);
    assert!(loaded.settings.saved_queries.is_empty());
    assert_eq!(loaded.settings.theme, ThemePref::Dark);
}

#[test]
fn an_unreadable_plot_layout_is_dropped_without_losing_the_rest_of_the_file() {
    let mut layouts = toml::Value::try_from(plot_layouts()).unwrap();
    let broken: toml::Value = toml::from_str("name = \"broken\"\nwindow = 5").unwrap();
    layouts["saved"].as_array_mut().unwrap().push(broken);
    let mut doc = toml::Table::new();
    doc.insert("theme".to_owned(), toml::Value::from("light"));
    doc.insert("plot_layouts".to_owned(), layouts);
    let (_dir, file) = file_holding(toml::to_string(&doc).unwrap());

    let loaded = file.load();

    assert_eq!(loaded.notice, None);
    let s = loaded.settings;
    assert_eq!(s.theme, ThemePref::Light);
    assert_eq!(
        s.plot_layouts,
        plot_layouts(),
        "the readable layouts are all kept"
    );

    let (_dir, file) = file_holding("plot_layouts = 3\ntheme = \"dark\"\n");
    let loaded = file.load();
    assert_eq!(loaded.notice, None);
    assert_eq!(loaded.settings.plot_layouts, PlotLayouts::default());
    assert_eq!(loaded.settings.theme, ThemePref::Dark);
}

#[test]
fn a_tray_length_out_of_range_is_clamped_with_a_notice() {
    for (written, expected) in [("0", 1), ("-3", 1), ("5000", 100), ("12", 12)] {
        let (_dir, file) = file_holding(format!("[inbox]\ntray_limit = {written}\n"));
        let loaded = file.load();
        assert_eq!(loaded.settings.inbox.tray_limit, expected, "{written}");
        assert_eq!(
            loaded.notice.is_some(),
            expected.to_string() != written,
            "{written}"
        );
    }
}

#[test]
fn muted_notification_types_keep_unknown_names_and_drop_entries_that_are_not_text() {
    let (_dir, file) = file_holding(
        "theme = \"dark\"\n[inbox]\nmuted_types = [\"GENERAL\", 3, \"NEXT_BIG_THING\", \"GENERAL\"]\n",
    );
    let loaded = file.load();
    let prefs = &loaded.settings.inbox;
    assert_eq!(
        prefs.muted_types,
        vec![
            NotificationType::General,
            NotificationType::Unknown("NEXT_BIG_THING".to_owned())
        ]
    );
    assert_eq!(loaded.settings.theme, ThemePref::Dark, "the rest is kept");
    assert!(!prefs.pops_up(&NotificationType::General));
    assert!(prefs.pops_up(&NotificationType::Alarm));
}

#[test]
fn muting_a_type_twice_lists_it_once_and_unmuting_removes_it() {
    let mut prefs = InboxPrefs::default();
    prefs.set_muted(&NotificationType::Alarm, true);
    prefs.set_muted(&NotificationType::Alarm, true);
    assert_eq!(prefs.muted_types, vec![NotificationType::Alarm]);
    prefs.set_muted(&NotificationType::Alarm, false);
    assert!(prefs.muted_types.is_empty());
    prefs.desktop = false;
    assert!(
        !prefs.pops_up(&NotificationType::Alarm),
        "desktop off mutes all"
    );
}

#[test]
fn a_frame_rate_cap_out_of_range_is_clamped_with_a_notice() {
    for (written, expected) in [("0", 1), ("1000", 120), ("24", 24)] {
        let (_dir, file) = file_holding(format!("max_frame_rate = {written}\n"));
        let loaded = file.load();
        assert_eq!(loaded.settings.max_frame_rate, expected, "{written}");
        assert_eq!(
            loaded.notice.is_some(),
            expected.to_string() != written,
            "{written}"
        );
    }
}
