//! What a notification looks like and where its action button leads.
//!
//! The look comes from the notification's free-form `additionalConfig`, which ThingsBoard's
//! web templates fill as
//! `{"icon":{"enabled","icon","color"},"actionButtonConfig":{"enabled","text","linkType",…}}`.
//! Nothing in it is trusted; any field of the wrong shape just drops the part it belongs to.
//!
//! Rules:
//! * **Icon**: shown only when `icon.enabled` is `true` and `icon.icon` (a Material icon
//!   name, kept verbatim) is non-blank. `color` is `#RRGGBB` or `#RGB`; anything else gives
//!   no colour, not no icon.
//! * **Alarm rule**: a notification about an alarm (alarm, alarm comment, alarm assignment
//!   info with an `alarmId`) always gets a button opening that alarm in the app, whatever
//!   the config links to. Its text is the config's button text when the button is enabled,
//!   else "Open alarm".
//! * Otherwise a button needs `enabled: true`, a non-blank `text` and a known `linkType`:
//!   - `LINK`: `link` is resolved the way ThingsBoard's web UI opens it. A link without a
//!     scheme is a path of the web app and is resolved below the server's base URL, whose
//!     own path is kept (`/alarms/x` on `https://h/tb` → `https://h/tb/alarms/x`). Absolute
//!     `http`/`https` links are kept; every other scheme (`javascript:`, `file:`, …) and
//!     unparsable links give no button. A result below the base URL that names something
//!     the app shows itself becomes an in-app target: `alarms/{uuid}`, `devices/{uuid}` or
//!     `entities/devices/{uuid}`, `assets/{uuid}` or `entities/assets/{uuid}`.
//!   - `DASHBOARD`: `{base}/dashboards/{dashboardId}` (the id must be a UUID). When
//!     `dashboardState` is set or `setEntityIdInState` is `true`, ThingsBoard's UI appends
//!     `?state=` + the URI-encoded standard base64 of the UTF-8 JSON
//!     `[{"params":{"entityId":<info.stateEntityId or null>},"id":<dashboardState>}]`
//!     (`params` is `{}` without `setEntityIdInState`; `id` is left out without a state).
//!     The same string is built here. An alarm info without `stateEntityId` uses its
//!     originator, which is what the server's getter returns.

use base64::Engine as _;
use reqwest::Url;
use serde_json::Value;
use uuid::Uuid;

use crate::protocol::{EntityId, Notification, NotificationInfo, NotificationType};

/// How a notification is shown: its icon and its action button.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Look {
    /// The icon, if the notification's config enables one.
    pub icon: Option<Icon>,
    /// The action button, if any.
    pub button: Option<ActionButton>,
}

/// A notification's icon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icon {
    /// Material icon name as ThingsBoard stores it (`warning`, `mdi:file-cog`, …).
    pub name: String,
    /// Its colour, when the config has a valid `#RRGGBB`/`#RGB` one.
    pub color: Option<[u8; 3]>,
}

/// A notification's action button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionButton {
    /// The button's label.
    pub text: String,
    /// What pressing it opens.
    pub target: Target,
}

/// Where an action button leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An alarm, shown in the app.
    Alarm(Uuid),
    /// A device or asset, shown in the app.
    Entity(EntityId),
    /// A web page (an `http`/`https` URL) for the browser.
    Url(String),
}

/// Works out the icon and action button of `n`; `base_url` is the server's web address
/// (it may carry a path, e.g. `https://tb.example.com/tb`).
#[must_use]
pub fn look(n: &Notification, base_url: &str) -> Look {
    let config = n.additional_config.as_ref();
    Look {
        icon: config.and_then(|c| c.get("icon")).and_then(icon),
        button: button(
            config.and_then(|c| c.get("actionButtonConfig")),
            n.info.as_deref(),
            base_url,
        ),
    }
}

/// A few words naming the notification type ("Alarm", "Device activity", …).
#[must_use]
pub fn type_words(t: &NotificationType) -> &'static str {
    match t {
        NotificationType::General => "General",
        NotificationType::Alarm => "Alarm",
        NotificationType::DeviceActivity => "Device activity",
        NotificationType::EntityAction => "Entity action",
        NotificationType::AlarmComment => "Alarm comment",
        NotificationType::RuleEngineComponentLifecycleEvent => "Rule engine lifecycle event",
        NotificationType::AlarmAssignment => "Alarm assignment",
        NotificationType::NewPlatformVersion => "New platform version",
        NotificationType::EntitiesLimit => "Entities limit",
        NotificationType::EntitiesLimitIncreaseRequest => "Entities limit increase request",
        NotificationType::ApiUsageLimit => "API usage limit",
        NotificationType::RuleNode => "Rule node",
        NotificationType::RateLimits => "Rate limits",
        NotificationType::EdgeConnection => "Edge connection",
        NotificationType::EdgeCommunicationFailure => "Edge communication failure",
        NotificationType::TaskProcessingFailure => "Task processing failure",
        NotificationType::ResourcesShortage => "Resources shortage",
        NotificationType::Unknown(_) => "Notification",
    }
}

/// A one-letter mark for the painted type icon; distinct for every known type, `?` for
/// unknown ones.
#[must_use]
pub fn type_letter(t: &NotificationType) -> char {
    match t {
        NotificationType::General => 'G',
        NotificationType::Alarm => 'A',
        NotificationType::DeviceActivity => 'D',
        NotificationType::EntityAction => 'E',
        NotificationType::AlarmComment => 'C',
        NotificationType::RuleEngineComponentLifecycleEvent => 'R',
        NotificationType::AlarmAssignment => 'S',
        NotificationType::NewPlatformVersion => 'V',
        NotificationType::EntitiesLimit => 'L',
        NotificationType::EntitiesLimitIncreaseRequest => 'I',
        NotificationType::ApiUsageLimit => 'U',
        NotificationType::RuleNode => 'N',
        NotificationType::RateLimits => 'T',
        NotificationType::EdgeConnection => 'B',
        NotificationType::EdgeCommunicationFailure => 'F',
        NotificationType::TaskProcessingFailure => 'P',
        NotificationType::ResourcesShortage => 'M',
        NotificationType::Unknown(_) => '?',
    }
}

fn icon(config: &Value) -> Option<Icon> {
    if config.get("enabled").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let name = non_blank(config.get("icon"))?;
    Some(Icon {
        name: name.to_owned(),
        color: config.get("color").and_then(Value::as_str).and_then(color),
    })
}

/// `#RRGGBB` or `#RGB` (any case, surrounding blanks ignored).
fn color(s: &str) -> Option<[u8; 3]> {
    let hex = s.trim().strip_prefix('#')?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |digits: &str| u8::from_str_radix(digits, 16).ok();
    match hex.len() {
        3 => {
            let mut rgb = [0; 3];
            for (out, i) in rgb.iter_mut().zip(0..) {
                *out = byte(hex.get(i..=i)?)? * 17;
            }
            Some(rgb)
        }
        6 => Some([byte(&hex[0..2])?, byte(&hex[2..4])?, byte(&hex[4..6])?]),
        _ => None,
    }
}

fn non_blank(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

fn button(
    config: Option<&Value>,
    info: Option<&NotificationInfo>,
    base_url: &str,
) -> Option<ActionButton> {
    let config = config.filter(|c| c.get("enabled").and_then(Value::as_bool) == Some(true));
    let text = config.and_then(|c| non_blank(c.get("text")));
    if let Some(alarm) = info.filter(|i| i.is_alarm()).and_then(|i| i.alarm_id) {
        return Some(ActionButton {
            text: text.unwrap_or("Open alarm").to_owned(),
            target: Target::Alarm(alarm),
        });
    }
    let (config, text) = (config?, text?);
    let target = match config.get("linkType").and_then(Value::as_str)? {
        "LINK" => link_target(non_blank(config.get("link"))?.trim(), base_url)?,
        "DASHBOARD" => Target::Url(dashboard_url(config, info, base_url)?),
        _ => return None,
    };
    Some(ActionButton {
        text: text.to_owned(),
        target,
    })
}

/// The base URL as a directory: its path ends with `/`, no query or fragment.
fn base(base_url: &str) -> Option<Url> {
    let mut base = Url::parse(base_url.trim()).ok()?;
    if base.cannot_be_a_base() {
        return None;
    }
    base.set_query(None);
    base.set_fragment(None);
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Some(base)
}

fn link_target(link: &str, base_url: &str) -> Option<Target> {
    // The URL parser drops tabs and newlines anywhere, so `java\tscript:` is `javascript:`.
    let link: String = link
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let base = base(base_url);
    let url = if has_scheme(&link) {
        Url::parse(&link)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))?
    } else {
        // A path of the web app: keep it below the base, whatever slashes it starts with.
        let base = base.as_ref()?;
        let url = base
            .join(&format!("./{}", link.trim_start_matches(['/', '\\'])))
            .ok()?;
        if url.origin() != base.origin() {
            return None;
        }
        url
    };
    Some(
        base.and_then(|b| in_app(&url, &b))
            .unwrap_or_else(|| Target::Url(url.into())),
    )
}

/// Whether `link` starts with a URL scheme (`ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") ":"`).
fn has_scheme(link: &str) -> bool {
    link.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// The in-app target of a URL below `base`, if the app shows that page itself.
fn in_app(url: &Url, base: &Url) -> Option<Target> {
    if url.origin() != base.origin() {
        return None;
    }
    let rest = url.path().strip_prefix(base.path())?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (kind, id) = match segments.as_slice() {
        [kind, id] | ["entities", kind, id] => (*kind, Uuid::parse_str(id).ok()?),
        _ => return None,
    };
    match (kind, segments.len()) {
        ("alarms", 2) => Some(Target::Alarm(id)),
        ("devices", _) => Some(Target::Entity(EntityId::device(id))),
        ("assets", _) => Some(Target::Entity(EntityId::asset(id))),
        _ => None,
    }
}

fn dashboard_url(
    config: &Value,
    info: Option<&NotificationInfo>,
    base_url: &str,
) -> Option<String> {
    let id = Uuid::parse_str(non_blank(config.get("dashboardId"))?.trim()).ok()?;
    let mut url = base(base_url)?.join(&format!("dashboards/{id}")).ok()?;
    let state = config
        .get("dashboardState")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let with_entity = config.get("setEntityIdInState").and_then(Value::as_bool) == Some(true);
    if state.is_some() || with_entity {
        let params = if with_entity {
            format!("{{\"entityId\":{}}}", state_entity_id(info))
        } else {
            "{}".to_owned()
        };
        let id = state.map_or_else(String::new, |s| format!(",\"id\":{}", Value::from(s)));
        let json = format!("[{{\"params\":{params}{id}}}]");
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        // What `encodeURIComponent` does to base64's alphabet.
        let encoded = b64
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        url.set_query(Some(&format!("state={encoded}")));
    }
    Some(url.into())
}

/// `info.stateEntityId` as JSON text; an alarm info without one falls back to its originator.
fn state_entity_id(info: Option<&NotificationInfo>) -> String {
    let Some(info) = info else {
        return "null".to_owned();
    };
    match info.other.get("stateEntityId") {
        Some(v) if !v.is_null() => v.to_string(),
        _ => info
            .alarm_originator
            .as_ref()
            .filter(|_| info.is_alarm())
            .and_then(|o| serde_json::to_string(o).ok())
            .unwrap_or_else(|| "null".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::NotificationInfoKind;
    use serde_json::json;

    const BASE: &str = "https://tb.example.com";
    const ALARM: &str = "6f2a3c1e-8b4d-4e5f-9a0b-1c2d3e4f5a6b";
    const DEVICE: &str = "11111111-2222-4333-8444-555555555555";

    fn uuid(s: &str) -> Uuid {
        Uuid::parse_str(s).unwrap()
    }

    fn notification(t: &str, config: Option<Value>, info: Option<Value>) -> Notification {
        let mut n = json!({
            "type": t,
            "id": {"entityType": "NOTIFICATION", "id": "00000000-0000-4000-8000-000000000001"},
            "createdTime": 1,
        });
        if let Some(c) = config {
            n["additionalConfig"] = c;
        }
        if let Some(i) = info {
            n["info"] = i;
        }
        serde_json::from_value(n).unwrap()
    }

    fn general_info() -> Value {
        json!({"type": "org.thingsboard.server.common.data.notification.info.GeneralNotificationInfo"})
    }

    fn with_button(button: &Value) -> Notification {
        notification(
            "GENERAL",
            Some(json!({"actionButtonConfig": button})),
            Some(general_info()),
        )
    }

    fn link(link: &str) -> Value {
        json!({"enabled": true, "text": "Go", "linkType": "LINK", "link": link})
    }

    fn target(n: &Notification, base: &str) -> Option<Target> {
        look(n, base).button.map(|b| b.target)
    }

    fn link_target_on(l: &str, base: &str) -> Option<Target> {
        target(&with_button(&link(l)), base)
    }

    #[expect(
        clippy::unnecessary_wraps,
        reason = "compared with `Option<Target>` results"
    )]
    fn url(s: &str) -> Option<Target> {
        Some(Target::Url(s.to_owned()))
    }

    fn alarm_info(stateful: bool) -> Value {
        let mut info = json!({
            "type": "org.thingsboard.server.common.data.notification.info.AlarmNotificationInfo",
            "alarmId": ALARM,
            "alarmType": "High temperature",
            "alarmOriginator": {"entityType": "DEVICE", "id": DEVICE},
        });
        if stateful {
            info["stateEntityId"] = json!({"entityType": "DEVICE", "id": DEVICE});
        }
        info
    }

    fn decoded_state(target: Option<Target>) -> Value {
        let Some(Target::Url(u)) = target else {
            panic!("not a URL: {target:?}")
        };
        let state = u.split_once("?state=").unwrap().1;
        let b64 = state
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "=");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    // ---- icon

    #[test]
    fn an_enabled_icon_has_its_name_and_colour() {
        let n = notification(
            "GENERAL",
            Some(json!({"icon": {"enabled": true, "icon": "warning", "color": "#D12730"}})),
            None,
        );
        assert_eq!(
            look(&n, BASE).icon,
            Some(Icon {
                name: "warning".into(),
                color: Some([0xD1, 0x27, 0x30])
            })
        );
    }

    #[test]
    fn a_three_digit_colour_doubles_each_digit() {
        assert_eq!(color("#f0A"), Some([0xFF, 0x00, 0xAA]));
    }

    #[test]
    fn bad_colours_give_no_colour_but_keep_the_icon() {
        for bad in [
            "D12730",
            "#D1273",
            "#GG0000",
            "#+f0000",
            "#+ff",
            "rgb(1,2,3)",
            "#",
            "",
        ] {
            assert_eq!(color(bad), None, "{bad}");
        }
        let n = notification(
            "GENERAL",
            Some(json!({"icon": {"enabled": true, "icon": "info", "color": 42}})),
            None,
        );
        assert_eq!(
            look(&n, BASE).icon,
            Some(Icon {
                name: "info".into(),
                color: None
            })
        );
    }

    #[test]
    fn a_disabled_or_nameless_icon_is_not_shown() {
        for icon in [
            json!({"enabled": false, "icon": "warning", "color": "#D12730"}),
            json!({"icon": "warning"}),
            json!({"enabled": "true", "icon": "warning"}),
            json!({"enabled": true, "icon": " "}),
            json!({"enabled": true}),
            json!("warning"),
        ] {
            let n = notification("GENERAL", Some(json!({ "icon": icon })), None);
            assert_eq!(look(&n, BASE).icon, None, "{icon}");
        }
    }

    #[test]
    fn a_notification_without_config_has_neither_icon_nor_button() {
        let n = notification("GENERAL", None, Some(general_info()));
        assert_eq!(look(&n, BASE), Look::default());
        let n = notification("GENERAL", Some(json!("junk")), None);
        assert_eq!(look(&n, BASE), Look::default());
    }

    // ---- alarm rule

    #[test]
    fn an_alarm_notification_opens_its_alarm_with_the_configured_text() {
        let n = notification(
            "ALARM",
            Some(json!({"actionButtonConfig": link("https://elsewhere.example/")})),
            Some(alarm_info(true)),
        );
        assert_eq!(
            look(&n, BASE).button,
            Some(ActionButton {
                text: "Go".into(),
                target: Target::Alarm(uuid(ALARM))
            })
        );
    }

    #[test]
    fn an_alarm_notification_without_an_enabled_button_still_opens_its_alarm() {
        for config in [
            None,
            Some(json!({"actionButtonConfig": {"enabled": false, "text": "Hidden"}})),
            Some(json!({"actionButtonConfig": {"enabled": true, "linkType": "LINK"}})),
        ] {
            let n = notification("ALARM", config, Some(alarm_info(false)));
            assert_eq!(
                look(&n, BASE).button,
                Some(ActionButton {
                    text: "Open alarm".into(),
                    target: Target::Alarm(uuid(ALARM))
                })
            );
        }
    }

    #[test]
    fn alarm_comments_and_assignments_open_their_alarm_too() {
        for kind in [
            "AlarmCommentNotificationInfo",
            "AlarmAssignmentNotificationInfo",
        ] {
            let info = json!({
                "type": format!("org.thingsboard.server.common.data.notification.info.{kind}"),
                "alarmId": ALARM,
            });
            let n = notification("ALARM_COMMENT", None, Some(info));
            assert_eq!(target(&n, BASE), Some(Target::Alarm(uuid(ALARM))), "{kind}");
        }
    }

    #[test]
    fn an_alarm_info_without_an_alarm_id_follows_the_config() {
        let mut info = alarm_info(false);
        info.as_object_mut().unwrap().remove("alarmId");
        let n = notification("ALARM", None, Some(info.clone()));
        assert_eq!(look(&n, BASE).button, None);
        let n = notification(
            "ALARM",
            Some(json!({"actionButtonConfig": link("https://x.example/")})),
            Some(info),
        );
        assert_eq!(target(&n, BASE), url("https://x.example/"));
    }

    // ---- LINK

    #[test]
    fn a_relative_link_to_an_alarm_opens_it_in_the_app() {
        assert_eq!(
            link_target_on(&format!("/alarms/{ALARM}"), BASE),
            Some(Target::Alarm(uuid(ALARM)))
        );
    }

    #[test]
    fn device_and_asset_links_open_the_entity_in_the_app() {
        let device = Some(Target::Entity(EntityId::device(uuid(DEVICE))));
        let asset = Some(Target::Entity(EntityId::asset(uuid(DEVICE))));
        assert_eq!(
            link_target_on(&format!("/entities/devices/{DEVICE}"), BASE),
            device
        );
        assert_eq!(link_target_on(&format!("/devices/{DEVICE}"), BASE), device);
        assert_eq!(
            link_target_on(&format!("/entities/assets/{DEVICE}"), BASE),
            asset
        );
        assert_eq!(link_target_on(&format!("/assets/{DEVICE}/"), BASE), asset);
    }

    #[test]
    fn other_app_paths_become_urls_below_the_base() {
        assert_eq!(
            link_target_on("/ruleChains/abc", BASE),
            url("https://tb.example.com/ruleChains/abc")
        );
        assert_eq!(
            link_target_on("/alarms/not-a-uuid", BASE),
            url("https://tb.example.com/alarms/not-a-uuid")
        );
        assert_eq!(
            link_target_on(&format!("/entities/alarms/{ALARM}"), BASE),
            url(&format!("https://tb.example.com/entities/alarms/{ALARM}"))
        );
        assert_eq!(
            link_target_on(&format!("/customers/{DEVICE}"), BASE),
            url(&format!("https://tb.example.com/customers/{DEVICE}"))
        );
    }

    #[test]
    fn a_base_with_a_path_keeps_it_with_or_without_a_trailing_slash() {
        for base in ["https://h/tb", "https://h/tb/", "https://h/tb?x=1#y"] {
            assert_eq!(
                link_target_on("/tenants/t1?page=2", base),
                url("https://h/tb/tenants/t1?page=2"),
                "{base}"
            );
            assert_eq!(
                link_target_on(&format!("/alarms/{ALARM}"), base),
                Some(Target::Alarm(uuid(ALARM))),
                "{base}"
            );
        }
    }

    #[test]
    fn a_link_without_a_leading_slash_is_also_an_app_path() {
        assert_eq!(
            link_target_on("usage", "https://h/tb"),
            url("https://h/tb/usage")
        );
    }

    #[test]
    fn protocol_relative_and_backslash_links_stay_on_the_server() {
        assert_eq!(
            link_target_on("//evil.example/x", "https://h/tb"),
            url("https://h/tb/evil.example/x")
        );
        assert_eq!(
            link_target_on("\\\\evil.example/x", "https://h/tb"),
            url("https://h/tb/evil.example/x")
        );
    }

    #[test]
    fn absolute_web_links_are_kept() {
        assert_eq!(
            link_target_on("https://github.com/thingsboard/releases", BASE),
            url("https://github.com/thingsboard/releases")
        );
        assert_eq!(
            link_target_on("http://other.example:8080/a?b=c", BASE),
            url("http://other.example:8080/a?b=c")
        );
    }

    #[test]
    fn an_absolute_link_into_the_same_server_opens_in_the_app() {
        assert_eq!(
            link_target_on(&format!("https://h/tb/alarms/{ALARM}"), "https://h/tb"),
            Some(Target::Alarm(uuid(ALARM)))
        );
        assert_eq!(
            link_target_on(&format!("https://h/alarms/{ALARM}"), "https://h/tb"),
            url(&format!("https://h/alarms/{ALARM}"))
        );
    }

    #[test]
    fn hostile_schemes_and_unparsable_links_give_no_button() {
        for hostile in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<script>",
            "mailto:a@b.c",
            "ftp://x.example/",
            "http://[::1",
            "https://exa mple.com/",
            "java\tscript:alert(1)",
            "localhost:8080/x",
        ] {
            assert_eq!(link_target_on(hostile, BASE), None, "{hostile}");
        }
    }

    #[test]
    fn a_relative_link_without_a_usable_base_gives_no_button() {
        assert_eq!(link_target_on("/usage", "not a url"), None);
        assert_eq!(link_target_on("/usage", "mailto:x@y.z"), None);
        assert_eq!(
            link_target_on("https://x.example/", "not a url"),
            url("https://x.example/")
        );
    }

    #[test]
    fn a_missing_or_blank_link_gives_no_button() {
        let mut config = link("");
        assert_eq!(target(&with_button(&config), BASE), None);
        config.as_object_mut().unwrap().remove("link");
        assert_eq!(target(&with_button(&config), BASE), None);
    }

    // ---- button config

    #[test]
    fn a_disabled_textless_or_unknown_button_is_not_shown() {
        let mut configs = Vec::new();
        for (key, value) in [
            ("enabled", json!(false)),
            ("enabled", Value::Null),
            ("text", json!("  ")),
            ("text", Value::Null),
            ("linkType", json!("WIDGET")),
            ("linkType", Value::Null),
        ] {
            let mut c = link("https://x.example/");
            c[key] = value;
            configs.push(c);
        }
        for c in configs {
            assert_eq!(look(&with_button(&c), BASE).button, None, "{c}");
        }
    }

    #[test]
    fn the_button_text_is_the_configured_text() {
        let b = look(&with_button(&link("https://x.example/")), BASE).button;
        assert_eq!(b.map(|b| b.text), Some("Go".into()));
    }

    // ---- DASHBOARD

    fn dashboard(extra: &Value) -> Value {
        let mut c = json!({"enabled": true, "text": "Open dashboard", "linkType": "DASHBOARD",
            "dashboardId": DEVICE});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    #[test]
    fn a_dashboard_button_without_state_opens_the_plain_dashboard() {
        assert_eq!(
            target(&with_button(&dashboard(&json!({}))), "https://h/tb"),
            url(&format!("https://h/tb/dashboards/{DEVICE}"))
        );
        let unset = json!({"dashboardState": "", "setEntityIdInState": false});
        assert_eq!(
            target(&with_button(&dashboard(&unset)), BASE),
            url(&format!("https://tb.example.com/dashboards/{DEVICE}"))
        );
    }

    #[test]
    fn a_dashboard_state_is_encoded_as_thingsboards_ui_does() {
        let n = with_button(&dashboard(&json!({"dashboardState": "details"})));
        // btoa(JSON.stringify([{params: {}, id: "details"}])), URI-encoded.
        assert_eq!(
            target(&n, BASE),
            url(&format!(
                "https://tb.example.com/dashboards/{DEVICE}?state=W3sicGFyYW1zIjp7fSwiaWQiOiJkZXRhaWxzIn1d"
            ))
        );
    }

    #[test]
    fn base64_signs_in_the_state_are_uri_encoded() {
        for (state, encoded) in [
            ("a?b>c~", "W3sicGFyYW1zIjp7fSwiaWQiOiJhP2I%2BY34ifV0%3D"),
            ("??>>", "W3sicGFyYW1zIjp7fSwiaWQiOiI%2FPz4%2BIn1d"),
        ] {
            let n = with_button(&dashboard(&json!({ "dashboardState": state })));
            assert_eq!(
                target(&n, BASE),
                url(&format!(
                    "https://tb.example.com/dashboards/{DEVICE}?state={encoded}"
                )),
                "{state}"
            );
        }
    }

    #[test]
    fn the_state_puts_the_notifications_state_entity_in_its_params() {
        let config = dashboard(&json!({"dashboardState": "dé/tail", "setEntityIdInState": true}));
        let info = json!({
            "type": "org.thingsboard.server.common.data.notification.info.DeviceActivityNotificationInfo",
            "stateEntityId": {"entityType": "DEVICE", "id": DEVICE},
        });
        let n = notification(
            "DEVICE_ACTIVITY",
            Some(json!({"actionButtonConfig": config})),
            Some(info),
        );
        assert_eq!(
            decoded_state(target(&n, BASE)),
            json!([{"params": {"entityId": {"entityType": "DEVICE", "id": DEVICE}}, "id": "dé/tail"}])
        );
    }

    #[test]
    fn a_state_without_a_state_entity_has_a_null_entity_id() {
        let n = with_button(&dashboard(&json!({"setEntityIdInState": true})));
        assert_eq!(
            decoded_state(target(&n, BASE)),
            json!([{"params": {"entityId": null}}])
        );
    }

    #[test]
    fn an_alarm_infos_state_entity_falls_back_to_the_originator() {
        let mut info: NotificationInfo = serde_json::from_value(alarm_info(false)).unwrap();
        assert_eq!(
            state_entity_id(Some(&info)),
            format!("{{\"entityType\":\"DEVICE\",\"id\":\"{DEVICE}\"}}")
        );
        info.kind = NotificationInfoKind::General;
        assert_eq!(state_entity_id(Some(&info)), "null");
    }

    #[test]
    fn a_dashboard_without_a_uuid_id_or_base_gives_no_button() {
        for id in [json!("../../admin"), json!(""), Value::Null, json!(7)] {
            let c = dashboard(&json!({ "dashboardId": id }));
            assert_eq!(target(&with_button(&c), BASE), None, "{id}");
        }
        assert_eq!(
            target(&with_button(&dashboard(&json!({}))), "no base"),
            None
        );
    }

    // ---- types

    #[test]
    fn every_known_type_has_words_and_a_letter_of_its_own() {
        let mut letters = std::collections::HashSet::new();
        for t in NotificationType::KNOWN {
            assert_ne!(type_words(t), "Notification", "{t}");
            assert!(type_letter(t).is_ascii_uppercase(), "{t}");
            assert!(letters.insert(type_letter(t)), "{t} shares its letter");
        }
    }

    #[test]
    fn unknown_types_are_a_plain_notification() {
        let t = NotificationType::from_wire("QUANTUM_EVENT");
        assert_eq!(type_words(&t), "Notification");
        assert_eq!(type_letter(&t), '?');
        let n = notification("QUANTUM_EVENT", None, None);
        assert_eq!(type_words(&n.notification_type), "Notification");
    }

    #[test]
    fn the_usual_types_read_naturally() {
        assert_eq!(type_words(&NotificationType::Alarm), "Alarm");
        assert_eq!(type_words(&NotificationType::AlarmComment), "Alarm comment");
        assert_eq!(
            type_words(&NotificationType::DeviceActivity),
            "Device activity"
        );
        assert_eq!(type_letter(&NotificationType::Alarm), 'A');
        assert_eq!(type_letter(&NotificationType::General), 'G');
    }
}
