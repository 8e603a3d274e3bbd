//! The system tray icon: a disc drawn in code that shows the worst active alarm and whether
//! notifications are unread, a tooltip that says the same in words, and a menu ("Show
//! tb-monitor", "Quit").
//!
//! Rules the code follows:
//! - The icon is created on the UI thread, in eframe's app-creation closure or later. That is
//!   where macOS wants it (main thread, event loop running) and where Windows has a message
//!   loop (winit's). On Linux the `ksni` backend talks D-Bus from its own thread.
//! - A platform without a tray (no session bus, no `StatusNotifier` host, a sandbox) gives `None`
//!   from [`SystemTray::new`], logged once at info. No tray error ever panics or shows a dialog;
//!   later errors are logged once.
//! - tray-icon delivers clicks and menu choices through process-wide handlers that can be set
//!   only once. They are installed once and forward to the current [`SystemTray`] through a
//!   bounded queue, waking egui with `request_repaint` so the commands are handled even while
//!   the window is hidden and the app idle. Only the newest `SystemTray` receives commands.
//! - A left click (and on Windows a double click) on the icon means [`TrayCommand::Show`]; the
//!   menu opens on a right click (on Linux the `StatusNotifier` host decides).
//! - [`SystemTray::update`] touches the tray only when its inputs changed: the icon only when
//!   the severity or the unread flag changed, the tooltip when the text did.
//! - Shape carries the meaning as well as colour: a hollow ring while no alarm is active, a
//!   filled disc in the severity's colour while one is, and a white dot with a dark rim in the
//!   top-right corner while notifications are unread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use egui::Color32;
use tray_icon::menu::{Menu, MenuEvent, MenuId, MenuItem};
use tray_icon::{Icon, MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};

use crate::protocol::AlarmSeverity;
use crate::ui::alarms::severity_color;
use crate::ui::theme;

/// The icon's edge in pixels.
pub const ICON_SIZE: u32 = 32;

/// Menu item ids (fixed, so the process-wide handler needs no per-tray state).
const SHOW_ID: &str = "tb-monitor.tray.show";
const QUIT_ID: &str = "tb-monitor.tray.quit";

/// Commands queued between two [`SystemTray::poll`] calls; more are dropped (the UI is woken
/// anyway and the queued ones say the same).
const QUEUE: usize = 16;

/// The longest tooltip (Windows keeps 127 UTF-16 units).
const TOOLTIP_MAX_CHARS: usize = 100;

/// What the user asked for through the tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayCommand {
    /// Show, un-minimize and focus the window.
    Show,
    /// Quit the application.
    Quit,
}

/// The tray icon of a running app. Not `Send`: it lives on the UI thread.
pub struct SystemTray {
    icon: TrayIcon,
    rx: Receiver<TrayCommand>,
    generation: u64,
    /// The inputs the tray shows now.
    shown: (Option<i64>, Option<AlarmSeverity>),
    /// An update error was logged already.
    warned: bool,
}

impl std::fmt::Debug for SystemTray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTray")
            .field("generation", &self.generation)
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}

impl SystemTray {
    /// Creates the icon (no alarm, nothing unread); `None`, logged once at info, where the
    /// platform has no tray.
    #[must_use]
    pub fn new(ctx: &egui::Context) -> Option<Self> {
        match build() {
            Ok(icon) => {
                let (rx, generation) = ROUTER.connect(ctx);
                Some(Self {
                    icon,
                    rx,
                    generation,
                    shown: (None, None),
                    warned: false,
                })
            }
            Err(e) => {
                static LOGGED: AtomicBool = AtomicBool::new(false);
                if !LOGGED.swap(true, Ordering::Relaxed) {
                    tracing::info!("no system tray icon: {e}");
                }
                None
            }
        }
    }

    /// Shows the unread count and the worst active alarm in the icon and the tooltip; does
    /// nothing when both are what the tray shows already.
    pub fn update(&mut self, unread: Option<i64>, worst: Option<&AlarmSeverity>) {
        if self.shown.0 == unread && self.shown.1.as_ref() == worst {
            return;
        }
        let icon_changed =
            has_unread(self.shown.0) != has_unread(unread) || self.shown.1.as_ref() != worst;
        self.shown = (unread, worst.cloned());
        if icon_changed {
            let result = make_icon(worst, has_unread(unread))
                .map_err(|e| e.to_string())
                .and_then(|icon| self.icon.set_icon(Some(icon)).map_err(|e| e.to_string()));
            if let Err(e) = result {
                self.warn_once(&e);
            }
        }
        if let Err(e) = self.icon.set_tooltip(Some(tray_tooltip(unread, worst))) {
            self.warn_once(&e.to_string());
        }
    }

    /// The commands from the menu and icon clicks since the last call (never blocks).
    pub fn poll(&mut self) -> Vec<TrayCommand> {
        self.rx.try_iter().collect()
    }

    fn warn_once(&mut self, error: &str) {
        if !std::mem::replace(&mut self.warned, true) {
            tracing::warn!("cannot update the system tray icon: {error}");
        }
    }
}

impl Drop for SystemTray {
    fn drop(&mut self) {
        ROUTER.disconnect(self.generation);
    }
}

/// Whether the window can be hidden to the tray and shown again. Not on Wayland, where winit
/// 0.30 ignores `Visible(false)`, `Minimized(false)` and `Focus`, so a hidden or minimized
/// window could not be brought back from the tray; offer "keep running in the tray" only
/// where this is true.
#[must_use]
pub fn can_hide_window(frame: &eframe::Frame) -> bool {
    use winit::raw_window_handle::{HasWindowHandle, RawWindowHandle};
    frame
        .winit_window()
        .and_then(|w| w.window_handle().ok())
        .is_none_or(|h| !matches!(h.as_raw(), RawWindowHandle::Wayland(_)))
}

/// Builds the tray icon with its menu.
fn build() -> Result<TrayIcon, String> {
    install_handlers();
    let menu = Menu::new();
    let show = MenuItem::with_id(SHOW_ID, "Show tb-monitor", true, None);
    let quit = MenuItem::with_id(QUIT_ID, "Quit", true, None);
    menu.append_items(&[&show, &quit])
        .map_err(|e| e.to_string())?;
    let builder = TrayIconBuilder::new()
        .with_id("tb-monitor")
        .with_menu(Box::new(menu))
        .with_icon(make_icon(None, false).map_err(|e| e.to_string())?)
        .with_tooltip(tray_tooltip(None, None))
        .with_menu_on_left_click(false);
    // The StatusNotifier tooltip shows the title above the text. Elsewhere a title is drawn
    // next to the icon (macOS) or unused (Windows).
    #[cfg(target_os = "linux")]
    let builder = builder.with_title("tb-monitor");
    builder.build().map_err(|e| e.to_string())
}

fn make_icon(worst: Option<&AlarmSeverity>, unread: bool) -> Result<Icon, tray_icon::BadIcon> {
    Icon::from_rgba(tray_rgba(worst, unread, ICON_SIZE), ICON_SIZE, ICON_SIZE)
}

fn has_unread(unread: Option<i64>) -> bool {
    unread.is_some_and(|n| n > 0)
}

/// The tooltip: "tb-monitor — 3 unread notifications · CRITICAL alarm active", or
/// "tb-monitor — no active alarms". An unknown or zero unread count is left out.
#[must_use]
pub fn tooltip(unread: Option<i64>, worst: Option<&AlarmSeverity>) -> String {
    let unread = match unread {
        Some(1) => Some("1 unread notification".to_owned()),
        Some(n) if n > 1 => Some(format!("{n} unread notifications")),
        _ => None,
    };
    let alarm = worst.map_or_else(
        || "no active alarms".to_owned(),
        |s| format!("{} alarm active", s.as_str()),
    );
    let text = match unread {
        Some(unread) => format!("tb-monitor — {unread} · {alarm}"),
        None => format!("tb-monitor — {alarm}"),
    };
    if text.chars().count() > TOOLTIP_MAX_CHARS {
        let mut cut: String = text.chars().take(TOOLTIP_MAX_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

/// The tooltip as the platform shows it: on Linux the title ("tb-monitor") is shown above
/// it, so it is only the state.
fn tray_tooltip(unread: Option<i64>, worst: Option<&AlarmSeverity>) -> String {
    let text = tooltip(unread, worst);
    if cfg!(target_os = "linux") {
        text.strip_prefix("tb-monitor — ")
            .map_or(text.clone(), str::to_owned)
    } else {
        text
    }
}

// ----------------------------------------------------------------------------------------
// Routing the process-wide tray events to the current tray

/// Where the handlers deliver: the current tray's queue and the context to wake.
struct Route {
    tx: SyncSender<TrayCommand>,
    ctx: egui::Context,
    generation: u64,
}

struct RouterState {
    route: Option<Route>,
    next_generation: u64,
}

/// Forwards tray commands to the newest connected [`SystemTray`].
struct Router(Mutex<RouterState>);

impl Router {
    const fn new() -> Self {
        Self(Mutex::new(RouterState {
            route: None,
            next_generation: 0,
        }))
    }

    fn state(&self) -> MutexGuard<'_, RouterState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes a new queue the destination; returns its receiver and generation.
    fn connect(&self, ctx: &egui::Context) -> (Receiver<TrayCommand>, u64) {
        let (tx, rx) = sync_channel(QUEUE);
        let mut state = self.state();
        state.next_generation += 1;
        let generation = state.next_generation;
        state.route = Some(Route {
            tx,
            ctx: ctx.clone(),
            generation,
        });
        (rx, generation)
    }

    /// Stops delivering to `generation` (if it is still the destination).
    fn disconnect(&self, generation: u64) {
        let mut state = self.state();
        if state
            .route
            .as_ref()
            .is_some_and(|r| r.generation == generation)
        {
            state.route = None;
        }
    }

    /// Queues `command` (dropped when the queue is full or nobody listens) and wakes the UI.
    fn deliver(&self, command: TrayCommand) {
        let Some((tx, ctx)) = self
            .state()
            .route
            .as_ref()
            .map(|r| (r.tx.clone(), r.ctx.clone()))
        else {
            return;
        };
        match tx.try_send(command) {
            Ok(()) | Err(TrySendError::Full(_)) => ctx.request_repaint(),
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

static ROUTER: Router = Router::new();

/// Installs the process-wide tray and menu handlers (tray-icon accepts them once; they must
/// be in place before the first event, or it falls back to its unbounded channels for good).
fn install_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        TrayIconEvent::set_event_handler(Some(|event: TrayIconEvent| {
            if let Some(command) = click_command(&event) {
                ROUTER.deliver(command);
            }
        }));
        MenuEvent::set_event_handler(Some(|event: MenuEvent| {
            if let Some(command) = menu_command(&event.id) {
                ROUTER.deliver(command);
            }
        }));
    });
}

/// A left click (released) or a double click shows the window; other events mean nothing.
fn click_command(event: &TrayIconEvent) -> Option<TrayCommand> {
    match event {
        TrayIconEvent::Click {
            button: MouseButton::Left,
            button_state: MouseButtonState::Up,
            ..
        }
        | TrayIconEvent::DoubleClick {
            button: MouseButton::Left,
            ..
        } => Some(TrayCommand::Show),
        _ => None,
    }
}

fn menu_command(id: &MenuId) -> Option<TrayCommand> {
    match id.as_ref() {
        SHOW_ID => Some(TrayCommand::Show),
        QUIT_ID => Some(TrayCommand::Quit),
        _ => None,
    }
}

// ----------------------------------------------------------------------------------------
// The icon

/// The icon as straight-alpha RGBA rows, `size`×`size`: a hollow ring (no alarm, grey-blue)
/// or a filled disc (the worst active alarm's colour), with a white dot in the top-right
/// corner when notifications are unread. Edges are anti-aliased by pixel coverage and the
/// outermost pixels are transparent.
#[must_use]
pub fn tray_rgba(worst: Option<&AlarmSeverity>, unread: bool, size: u32) -> Vec<u8> {
    let s = f64::from(size);
    let centre = s / 2.0;
    let radius = 0.42 * s;
    let ring_half_width = 0.065 * s;
    let (dot_x, dot_y) = (0.72 * s, 0.28 * s);
    let body = worst.map_or_else(idle_color, |w| rgb(severity_color(w)));
    let mut out = Vec::new();
    for y in 0..size {
        for x in 0..size {
            let (px, py) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
            let d = (px - centre).hypot(py - centre);
            let body_cover = if worst.is_some() {
                disc_coverage(d, radius)
            } else {
                ring_coverage(d, radius - ring_half_width, ring_half_width)
            };
            let mut pixel = Pixel::default().over(body, body_cover);
            if unread {
                let d = (px - dot_x).hypot(py - dot_y);
                pixel = pixel
                    .over(rgb(Color32::BLACK), 0.8 * disc_coverage(d, 0.20 * s))
                    .over(rgb(theme::ON_ACCENT), disc_coverage(d, 0.15 * s));
            }
            out.extend(pixel.to_rgba());
        }
    }
    out
}

fn rgb(c: Color32) -> [u8; 3] {
    [c.r(), c.g(), c.b()]
}

/// No alarm: halfway between the accent blue and the stale grey.
fn idle_color() -> [u8; 3] {
    let [a, b] = [rgb(theme::ACCENT), rgb(theme::STALE)];
    std::array::from_fn(|i| a[i] / 2 + b[i] / 2 + (a[i] & b[i] & 1))
}

/// How much of a pixel whose centre is `d` from a disc's centre the disc covers.
fn disc_coverage(d: f64, radius: f64) -> f64 {
    (radius - d + 0.5).clamp(0.0, 1.0)
}

/// The same for a ring around `mid` radius, `half_width` to each side.
fn ring_coverage(d: f64, mid: f64, half_width: f64) -> f64 {
    (half_width - (d - mid).abs() + 0.5).clamp(0.0, 1.0)
}

/// A premultiplied-alpha pixel, 0..=1 per channel.
#[derive(Debug, Clone, Copy, Default)]
struct Pixel([f64; 4]);

impl Pixel {
    /// Paints `color` with `alpha` over this pixel.
    fn over(self, color: [u8; 3], alpha: f64) -> Self {
        let [r, g, b, a] = self.0;
        let src = color.map(|c| f64::from(c) / 255.0 * alpha);
        let keep = 1.0 - alpha;
        Self([
            src[0] + r * keep,
            src[1] + g * keep,
            src[2] + b * keep,
            alpha + a * keep,
        ])
    }

    /// Straight-alpha RGBA bytes.
    fn to_rgba(self) -> [u8; 4] {
        let [r, g, b, a] = self.0;
        if a <= 0.0 {
            return [0; 4];
        }
        [to_byte(r / a), to_byte(g / a), to_byte(b / a), to_byte(a)]
    }
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to 0..=255 and rounded first"
)]
fn to_byte(v: f64) -> u8 {
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    const SEVERITIES: [AlarmSeverity; 5] = [
        AlarmSeverity::Critical,
        AlarmSeverity::Major,
        AlarmSeverity::Minor,
        AlarmSeverity::Warning,
        AlarmSeverity::Indeterminate,
    ];

    fn pixel(img: &[u8], size: u32, x: u32, y: u32) -> [u8; 4] {
        let i = usize::try_from((y * size + x) * 4).unwrap();
        img[i..i + 4].try_into().unwrap()
    }

    #[test]
    fn the_icon_is_size_by_size_rgba() {
        for size in [1, 16, 32, 64] {
            let img = tray_rgba(Some(&AlarmSeverity::Major), true, size);
            assert_eq!(img.len(), usize::try_from(size * size * 4).unwrap());
        }
        assert!(tray_rgba(None, false, 0).is_empty());
        assert!(make_icon(Some(&AlarmSeverity::Critical), true).is_ok());
    }

    #[test]
    fn an_active_alarm_fills_the_disc_with_its_severity_colour() {
        for severity in SEVERITIES {
            let img = tray_rgba(Some(&severity), false, ICON_SIZE);
            let [r, g, b] = rgb(severity_color(&severity));
            assert_eq!(pixel(&img, ICON_SIZE, 16, 16), [r, g, b, 255], "{severity}");
        }
        let odd = AlarmSeverity::Unknown("SEVERE".to_owned());
        let [r, g, b] = rgb(theme::STALE);
        assert_eq!(
            pixel(&tray_rgba(Some(&odd), false, ICON_SIZE), ICON_SIZE, 16, 16),
            [r, g, b, 255]
        );
    }

    #[test]
    fn no_alarm_draws_a_hollow_grey_blue_ring() {
        let img = tray_rgba(None, false, ICON_SIZE);
        assert_eq!(pixel(&img, ICON_SIZE, 16, 16)[3], 0, "hollow centre");
        let [r, g, b] = idle_color();
        assert_eq!(
            pixel(&img, ICON_SIZE, 27, 15),
            [r, g, b, 255],
            "on the ring"
        );
        assert_eq!(idle_color(), [0x54, 0x7c, 0x9e]);
    }

    #[test]
    fn the_white_dot_appears_only_with_unread_notifications() {
        let white = [255, 255, 255, 255];
        for worst in [None, Some(&AlarmSeverity::Critical)] {
            let with = tray_rgba(worst, true, ICON_SIZE);
            let without = tray_rgba(worst, false, ICON_SIZE);
            assert_eq!(pixel(&with, ICON_SIZE, 23, 8), white);
            assert_ne!(pixel(&without, ICON_SIZE, 23, 8), white);
            // The disc's far side is untouched by the dot.
            assert_eq!(
                pixel(&with, ICON_SIZE, 6, 26),
                pixel(&without, ICON_SIZE, 6, 26)
            );
        }
    }

    #[test]
    fn the_outermost_pixels_are_transparent_and_the_edge_is_smooth() {
        for size in [16, 32, 64] {
            for worst in [None, Some(&AlarmSeverity::Warning)] {
                for unread in [false, true] {
                    let img = tray_rgba(worst, unread, size);
                    for i in 0..size {
                        for (x, y) in [(i, 0), (0, i), (i, size - 1), (size - 1, i)] {
                            assert_eq!(pixel(&img, size, x, y)[3], 0, "{size} {x},{y}");
                        }
                    }
                }
            }
        }
        let img = tray_rgba(Some(&AlarmSeverity::Critical), false, ICON_SIZE);
        let partial = (0..ICON_SIZE)
            .filter(|&x| (1..255).contains(&pixel(&img, ICON_SIZE, x, 16)[3]))
            .count();
        assert!(partial >= 2, "anti-aliased at both ends of the row");
    }

    #[test]
    fn the_tooltip_names_the_unread_count_and_the_worst_alarm() {
        let critical = AlarmSeverity::Critical;
        assert_eq!(tooltip(None, None), "tb-monitor — no active alarms");
        assert_eq!(tooltip(Some(0), None), "tb-monitor — no active alarms");
        assert_eq!(tooltip(Some(-2), None), "tb-monitor — no active alarms");
        assert_eq!(
            tooltip(Some(1), None),
            "tb-monitor — 1 unread notification · no active alarms"
        );
        assert_eq!(
            tooltip(Some(3), Some(&critical)),
            "tb-monitor — 3 unread notifications · CRITICAL alarm active"
        );
        assert_eq!(
            tooltip(None, Some(&AlarmSeverity::Warning)),
            "tb-monitor — WARNING alarm active"
        );
        let long = AlarmSeverity::Unknown("X".repeat(300));
        let text = tooltip(Some(5), Some(&long));
        assert_eq!(text.chars().count(), TOOLTIP_MAX_CHARS);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn the_linux_tooltip_leaves_the_title_to_the_host() {
        let text = tray_tooltip(Some(2), None);
        if cfg!(target_os = "linux") {
            assert_eq!(text, "2 unread notifications · no active alarms");
        } else {
            assert_eq!(text, tooltip(Some(2), None));
        }
    }

    fn click(button: MouseButton, button_state: MouseButtonState) -> TrayIconEvent {
        TrayIconEvent::Click {
            id: "t".into(),
            position: tray_icon::dpi::PhysicalPosition::default(),
            rect: tray_icon::Rect::default(),
            button,
            button_state,
        }
    }

    #[test]
    fn a_released_left_click_or_a_double_click_shows_the_window() {
        let show = Some(TrayCommand::Show);
        assert_eq!(
            click_command(&click(MouseButton::Left, MouseButtonState::Up)),
            show
        );
        assert_eq!(
            click_command(&click(MouseButton::Left, MouseButtonState::Down)),
            None
        );
        assert_eq!(
            click_command(&click(MouseButton::Right, MouseButtonState::Up)),
            None
        );
        let double = TrayIconEvent::DoubleClick {
            id: "t".into(),
            position: tray_icon::dpi::PhysicalPosition::default(),
            rect: tray_icon::Rect::default(),
            button: MouseButton::Left,
        };
        assert_eq!(click_command(&double), show);
        let enter = TrayIconEvent::Enter {
            id: "t".into(),
            position: tray_icon::dpi::PhysicalPosition::default(),
            rect: tray_icon::Rect::default(),
        };
        assert_eq!(click_command(&enter), None);
    }

    #[test]
    fn the_menu_items_map_to_show_and_quit() {
        assert_eq!(menu_command(&MenuId::new(SHOW_ID)), Some(TrayCommand::Show));
        assert_eq!(menu_command(&MenuId::new(QUIT_ID)), Some(TrayCommand::Quit));
        assert_eq!(menu_command(&MenuId::new("other")), None);
    }

    /// A context that counts its repaint requests.
    fn counting_context() -> (egui::Context, Arc<AtomicUsize>) {
        let ctx = egui::Context::default();
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&wakes);
        ctx.set_repaint_observer(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        (ctx, wakes)
    }

    #[test]
    fn a_delivered_command_is_queued_and_wakes_the_ui() {
        let router = Router::new();
        let (ctx, wakes) = counting_context();
        let (rx, _) = router.connect(&ctx);
        router.deliver(TrayCommand::Show);
        router.deliver(TrayCommand::Quit);
        assert_eq!(
            rx.try_iter().collect::<Vec<_>>(),
            [TrayCommand::Show, TrayCommand::Quit]
        );
        assert_eq!(wakes.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_full_queue_drops_commands_without_blocking() {
        let router = Router::new();
        let (ctx, _) = counting_context();
        let (rx, _) = router.connect(&ctx);
        for _ in 0..QUEUE * 4 {
            router.deliver(TrayCommand::Show);
        }
        assert_eq!(rx.try_iter().count(), QUEUE);
    }

    #[test]
    fn only_the_newest_tray_receives_and_an_old_one_cannot_disconnect_it() {
        let router = Router::new();
        let (ctx, _) = counting_context();
        let (old_rx, old) = router.connect(&ctx);
        let (new_rx, new) = router.connect(&ctx);
        router.disconnect(old);
        router.deliver(TrayCommand::Quit);
        assert_eq!(old_rx.try_iter().count(), 0);
        assert_eq!(new_rx.try_iter().collect::<Vec<_>>(), [TrayCommand::Quit]);
        router.disconnect(new);
        let (ctx, wakes) = counting_context();
        drop(ctx);
        router.deliver(TrayCommand::Show);
        assert_eq!(new_rx.try_iter().count(), 0);
        assert_eq!(wakes.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn creating_the_tray_on_a_headless_box_returns_promptly_without_panicking() {
        let (tx, rx) = sync_channel(1);
        std::thread::spawn(move || {
            let ctx = egui::Context::default();
            let outcome = SystemTray::new(&ctx).map(|mut tray| {
                tray.update(Some(2), Some(&AlarmSeverity::Major));
                tray.update(Some(2), Some(&AlarmSeverity::Major));
                (tray.poll(), tray.shown.clone())
            });
            tx.send(outcome).unwrap();
        });
        let outcome = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("SystemTray::new hung");
        if let Some((commands, shown)) = outcome {
            assert!(commands.is_empty(), "no click happened");
            assert_eq!(shown, (Some(2), Some(AlarmSeverity::Major)));
        }
    }

    /// The D-Bus name of this process's `StatusNotifierItem`.
    fn sni_name() -> String {
        let out = std::process::Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.ListNames",
            ])
            .output()
            .expect("dbus-send");
        let prefix = format!("org.kde.StatusNotifierItem-{}-", std::process::id());
        String::from_utf8_lossy(&out.stdout)
            .split('"')
            .find(|n| n.starts_with(&prefix))
            .expect("our StatusNotifierItem on the bus")
            .to_owned()
    }

    fn dbus_call(dest: &str, path: &str, method: &str, args: &[&str]) -> String {
        let out = std::process::Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                &format!("--dest={dest}"),
                path,
                method,
            ])
            .args(args)
            .output()
            .expect("dbus-send");
        assert!(out.status.success(), "{method}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Drives the real icon the way a `StatusNotifier` host does. Run it with a session bus:
    /// `dbus-run-session -- cargo test --lib app::system_tray -- --ignored`
    #[test]
    #[ignore = "needs a D-Bus session bus (dbus-run-session) and dbus-send"]
    fn a_host_click_and_the_menu_items_arrive_as_commands() {
        let deadline = Duration::from_secs(5);
        let (ctx, wakes) = counting_context();
        let mut tray = SystemTray::new(&ctx).expect("a tray on the session bus");
        let name = sni_name();
        let sni = "org.kde.StatusNotifierItem";
        dbus_call(
            &name,
            "/StatusNotifierItem",
            &format!("{sni}.Activate"),
            &["int32:5", "int32:5"],
        );
        assert_eq!(tray.rx.recv_timeout(deadline), Ok(TrayCommand::Show));
        let layout = dbus_call(
            &name,
            "/MenuBar",
            "com.canonical.dbusmenu.GetLayout",
            &["int32:0", "int32:-1", "array:string:"],
        );
        assert!(layout.contains("Show tb-monitor") && layout.contains("Quit"));
        for (item, expected) in [
            ("int32:1", TrayCommand::Show),
            ("int32:2", TrayCommand::Quit),
        ] {
            dbus_call(
                &name,
                "/MenuBar",
                "com.canonical.dbusmenu.Event",
                &[item, "string:clicked", "variant:int32:0", "uint32:0"],
            );
            assert_eq!(tray.rx.recv_timeout(deadline), Ok(expected));
        }
        assert!(wakes.load(Ordering::Relaxed) >= 3);

        let started = std::time::Instant::now();
        tray.update(Some(3), Some(&AlarmSeverity::Critical));
        let changed = started.elapsed();
        let started = std::time::Instant::now();
        for _ in 0..1000 {
            tray.update(Some(3), Some(&AlarmSeverity::Critical));
        }
        let unchanged = started.elapsed() / 1000;
        eprintln!("update: {changed:?} when changed, {unchanged:?} when unchanged");
        let props = "org.freedesktop.DBus.Properties.Get";
        let tip = dbus_call(
            &name,
            "/StatusNotifierItem",
            props,
            &[&format!("string:{sni}"), "string:ToolTip"],
        );
        assert!(
            tip.contains("3 unread notifications · CRITICAL alarm active"),
            "{tip}"
        );
        assert!(tray.poll().is_empty());
    }
}
