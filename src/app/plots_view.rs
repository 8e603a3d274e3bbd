//! The Plots view: the layout being edited, one `ENTITY_DATA` subscription per plotted
//! entity, follow/pause, the shared time axis, export and the series picker.
//!
//! Rules:
//! * **Subscriptions follow the layout.** Each entity of the layout gets one subscription
//!   (`singleEntity` filter) with a `tsCmd` (realtime: fetched, then live) or a
//!   `historyCmd` (a fixed or calendar range: fetched once) for the keys plotted of it.
//!   When the window, the aggregation or the keys change, the old subscriptions end and
//!   new ones (new ids, so no stale point survives) start: the series refetch.
//! * **Aggregation** uses the interval the user picked, clamped to the server's
//!   700-interval limit, or window / 200. Live raw points of an aggregated realtime
//!   subscription are re-aggregated by the store on the same grid as the server's.
//! * **Follow or pause.** Following, the time axis is the window ending now; any zoom or
//!   pan pauses (the stream keeps buffering); "Follow live" or a double-click resumes.
//! * **Live or not, always said.** The toolbar shows live, paused, history, or
//!   reconnecting (with the disconnect intervals shaded on the plots).

use std::collections::BTreeMap;

use tokio::sync::mpsc;

use crate::net::rest::RestClient;
use crate::net::{NetCommand, SubId, SubSpec};
use crate::plot::aggregate::AggSpec;
use crate::plot::layout::Layout;
use crate::plot::window::{self, AggFn, TimeWindow, Zone};
use crate::protocol::{
    EntityDataCmd, EntityDataPageLink, EntityDataQuery, EntityFilter, EntityHistoryCmd, EntityId,
    EntityType, TimeSeriesCmd,
};
use crate::settings::Settings;
use crate::store::Store;
use crate::store::series::SeriesBuffer;
use crate::ui::plots::{LegendAction, PlotInput, PlotSeries, Readout, legend_ui, plot_ui};

use super::Effect;

/// The first subscription id of the Plots view (ids only grow, so a replaced
/// subscription's late messages never land in its successor).
pub const PLOT_SUB_BASE: SubId = 1_000;

/// Most entities offered by a picker search.
const SEARCH_RESULTS: i32 = 50;

/// "Plot around an alarm" shows this much before and after its start.
const AROUND_MS: i64 = 30 * 60_000;

/// A raw series breaks where two points are this many times their usual step apart.
const DROPOUT_STEPS: i64 = 5;

/// Points sampled to learn a raw series' usual step.
const STEP_SAMPLE: usize = 65;

/// The median step between a raw series' oldest points (`None` until it has a few).
fn typical_step(buffer: &SeriesBuffer) -> Option<i64> {
    if buffer.len() < 8 {
        return None;
    }
    let (first, _) = buffer.range()?;
    let ts: Vec<i64> = buffer
        .points_in(first, i64::MAX)
        .take(STEP_SAMPLE)
        .map(|(t, _)| t)
        .collect();
    let mut steps: Vec<i64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
    steps.sort_unstable();
    steps.get(steps.len() / 2).copied().filter(|&s| s > 0)
}

/// Points fetched per key for raw (not aggregated) series, at most.
/// (A reply of 500k points is about 17 MB of JSON; more would crowd the socket.)
const RAW_LIMIT_MAX: usize = 500_000;

/// What the subscriptions were made for: when it changes, they are made again.
#[derive(Debug, Clone, PartialEq)]
struct Fingerprint {
    window: TimeWindow,
    agg: AggFn,
    interval_ms: i64,
    keys: BTreeMap<EntityId, Vec<String>>,
    span: window::Span,
}

/// Answers of tasks run for the view (REST calls, file dialogs).
#[derive(Debug)]
enum Reply {
    Search(Result<Vec<(EntityId, String)>, String>),
    Keys(Result<Vec<String>, String>),
    Notice(String),
    Screenshot(std::sync::Arc<egui::ColorImage>),
    /// An entity's keys to plot around a moment (from the Alarms view).
    Around {
        entity: EntityId,
        name: String,
        at_ms: i64,
        keys: Result<Vec<String>, String>,
    },
}

/// The series picker ("Add series").
#[derive(Debug, Default)]
struct Picker {
    open: bool,
    entity_type: Option<EntityType>,
    search: String,
    searched: Option<String>,
    results: Vec<(EntityId, String)>,
    chosen: Vec<(EntityId, String)>,
    keys: Vec<String>,
    chosen_keys: Vec<String>,
    keys_for: Vec<EntityId>,
    target: Option<usize>,
    busy: bool,
}

/// The Plots view.
#[derive(Debug)]
pub struct PlotsView {
    layout: Layout,
    zone: Zone,
    subs: BTreeMap<EntityId, SubId>,
    next_sub: SubId,
    subscribed: Option<Fingerprint>,
    /// The layout the subscriptions were last checked against.
    synced_layout: Option<Layout>,
    /// Following live data (realtime windows only).
    follow: bool,
    /// Force the window's range on the next frame (new window, reset).
    reset: bool,
    /// The time range shown (last frame).
    shown: Option<(f64, f64)>,
    /// The time under the pointer in any plot (the shared crosshair's readout).
    hover_x: Option<f64>,
    picker: Picker,
    /// Text of the fixed-range editor.
    from_text: String,
    to_text: String,
    layout_name: String,
    tx: mpsc::Sender<Reply>,
    rx: mpsc::Receiver<Reply>,
    /// The plots' area on screen, for the PNG export.
    plots_rect: Option<egui::Rect>,
    png_pending: bool,
    screenshot: Option<std::sync::Arc<egui::ColorImage>>,
}

impl PlotsView {
    /// The view with the layout the settings kept (or an empty one over the default window).
    #[must_use]
    pub fn new(settings: &Settings) -> Self {
        let layout = settings.plot_layouts.current.clone().unwrap_or_else(|| {
            Layout::with_window(TimeWindow::Realtime {
                last_ms: settings.default_window.millis(),
            })
        });
        let (tx, rx) = mpsc::channel(16);
        Self {
            layout,
            zone: Zone::from_pref(settings.time_zone),
            subs: BTreeMap::new(),
            next_sub: PLOT_SUB_BASE,
            subscribed: None,
            synced_layout: None,
            follow: true,
            reset: true,
            shown: None,
            hover_x: None,
            picker: Picker::default(),
            from_text: String::new(),
            to_text: String::new(),
            layout_name: String::new(),
            tx,
            rx,
            plots_rect: None,
            png_pending: false,
            screenshot: None,
        }
    }

    /// The layout shown.
    #[must_use]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The subscription of each plotted entity.
    #[must_use]
    pub fn subscriptions(&self) -> &BTreeMap<EntityId, SubId> {
        &self.subs
    }

    /// Whether the view follows live data.
    #[must_use]
    pub fn following(&self) -> bool {
        self.follow && self.layout.window.is_realtime()
    }

    /// How often to redraw while following live data with nothing arriving: about when the
    /// time axis has moved by a pixel (between 50 ms and 1 s). `None` when not following.
    #[must_use]
    pub fn follow_tick(&self, now_ms: i64) -> Option<std::time::Duration> {
        if !self.following() || self.layout.plots.is_empty() {
            return None;
        }
        let span = self.layout.window.resolve(now_ms, &self.zone).len_ms();
        let ms = u64::try_from(span / 1_500).unwrap_or(0).clamp(50, 1_000);
        Some(std::time::Duration::from_millis(ms))
    }

    /// Applies the display settings (time zone).
    pub fn apply_settings(&mut self, settings: &Settings) {
        self.zone = Zone::from_pref(settings.time_zone);
    }

    /// Adds `keys` of `entity` as series of one new plot (from the table's row menu).
    pub fn add_series(&mut self, entity: &EntityId, name: &str, keys: &[String]) {
        let mut plot = None;
        for key in keys {
            if self.layout.add(plot, entity, name, key) && plot.is_none() {
                plot = Some(self.layout.plots.len() - 1);
            }
        }
        self.reset = true;
    }

    /// Plots every time series of `entity` half an hour either side of `at_ms` (an
    /// alarm's start): the keys are listed over REST first.
    pub fn plot_around(
        &self,
        entity: EntityId,
        name: String,
        at_ms: i64,
        rest: &RestClient,
        runtime: &tokio::runtime::Handle,
    ) {
        let rest = rest.clone();
        let tx = self.tx.clone();
        runtime.spawn(async move {
            let keys = rest
                .timeseries_keys(&entity)
                .await
                .map_err(|e| e.to_string());
            tx.send(Reply::Around {
                entity,
                name,
                at_ms,
                keys,
            })
            .await
            .ok();
        });
    }

    /// Replaces the layout (a saved one was opened).
    pub fn set_layout(&mut self, layout: Layout) {
        self.layout = layout;
        self.follow = true;
        self.reset = true;
    }

    /// Makes the subscriptions match the layout and feeds the store their aggregation;
    /// handles task answers. Call every frame (also when another view is shown, so the
    /// plots keep streaming).
    pub fn logic(&mut self, store: &mut Store, now_ms: i64) -> Vec<Effect> {
        let mut effects = Vec::new();
        while let Ok(reply) = self.rx.try_recv() {
            match reply {
                Reply::Search(Ok(found)) => {
                    self.picker.results = found;
                    self.picker.busy = false;
                }
                Reply::Keys(Ok(keys)) => {
                    self.picker.keys = keys;
                    self.picker.busy = false;
                }
                Reply::Search(Err(e)) | Reply::Keys(Err(e)) => {
                    self.picker.busy = false;
                    effects.push(Effect::Notice(e));
                }
                Reply::Notice(text) => effects.push(Effect::Notice(text)),
                Reply::Screenshot(image) => self.screenshot = Some(image),
                Reply::Around {
                    entity,
                    name,
                    at_ms,
                    keys,
                } => match keys {
                    Ok(keys) if !keys.is_empty() => {
                        self.layout.window = TimeWindow::Fixed {
                            start_ms: at_ms.saturating_sub(AROUND_MS),
                            end_ms: at_ms.saturating_add(AROUND_MS),
                        };
                        self.add_series(&entity, &name, &keys);
                    }
                    Ok(_) => effects.push(Effect::Notice(format!("{name} has no time series"))),
                    Err(e) => {
                        effects.push(Effect::Notice(format!("Cannot list {name}'s keys: {e}")));
                    }
                },
            }
        }
        effects.extend(self.sync_subscriptions(store, now_ms));
        self.set_dropout_breaks(store);
        effects
    }

    /// Gives each plotted series its maximum step once it has a few points, so a dropout
    /// (the device stopped sending) is drawn as a break: aggregated series break where an
    /// interval is missing, raw ones past [`DROPOUT_STEPS`] times their usual step.
    fn set_dropout_breaks(&self, store: &mut Store) {
        let Some(fingerprint) = &self.subscribed else {
            return;
        };
        let aggregated = !fingerprint.agg.is_none();
        for (_, spec) in self.layout.series() {
            let Some(sub) = self.subs.get(&spec.entity) else {
                continue;
            };
            let Some(buffer) = store
                .series
                .get_mut(&(*sub, spec.entity.clone(), spec.key.clone()))
            else {
                continue;
            };
            if buffer.max_step_ms().is_some() {
                continue;
            }
            let step = if aggregated {
                Some(fingerprint.interval_ms.saturating_mul(3) / 2)
            } else {
                typical_step(buffer).map(|s| s.saturating_mul(DROPOUT_STEPS).max(1_000))
            };
            if step.is_some() {
                buffer.set_max_step_ms(step);
            }
        }
    }

    fn interval(&self, span: window::Span) -> i64 {
        self.layout.interval_ms.map_or_else(
            || window::default_interval(span.len_ms()),
            |ms| window::clamp_interval(span.len_ms(), ms),
        )
    }

    fn sync_subscriptions(&mut self, store: &mut Store, now_ms: i64) -> Vec<Effect> {
        // Nothing to compare while the layout is what was subscribed and the window cannot
        // move on its own (only a calendar range does, at midnight): no per-frame work.
        let calendar = matches!(self.layout.window, TimeWindow::Relative(_));
        if !calendar && self.synced_layout.as_ref() == Some(&self.layout) {
            return Vec::new();
        }
        self.synced_layout = Some(self.layout.clone());
        let keys = self.layout.keys_by_entity();
        let wanted_span = self.layout.window.resolve(now_ms, &self.zone);
        let interval_ms = self.interval(wanted_span);
        let same = self.subscribed.as_ref().is_some_and(|f| {
            f.window == self.layout.window
                && f.agg == self.layout.agg
                && f.interval_ms == interval_ms
                && f.keys == keys
                // A calendar range moves at midnight ("today" becomes "yesterday").
                && (self.layout.window.is_realtime() || f.span == wanted_span)
        });
        if same {
            return Vec::new();
        }
        let mut effects = Vec::new();
        for (_, sub) in std::mem::take(&mut self.subs) {
            effects.push(Effect::Net(Box::new(NetCommand::Unsubscribe { sub })));
            effects.push(Effect::Retire(sub));
        }
        let limits = store.series_limits();
        for (entity, entity_keys) in &keys {
            let sub = self.next_sub;
            self.next_sub += 1;
            let spec = self.spec_for(
                entity,
                entity_keys,
                wanted_span,
                interval_ms,
                limits.max_points,
            );
            let agg = self.layout.agg;
            store.set_aggregation(
                sub,
                (!agg.is_none() && self.layout.window.is_realtime()).then(|| AggSpec {
                    agg: agg.to_wire(),
                    start_ms: wanted_span.start_ms,
                    interval_ms,
                }),
            );
            effects.push(Effect::Net(Box::new(NetCommand::Subscribe { sub, spec })));
            self.subs.insert(entity.clone(), sub);
        }
        self.subscribed = Some(Fingerprint {
            window: self.layout.window,
            agg: self.layout.agg,
            interval_ms,
            keys,
            span: wanted_span,
        });
        self.reset = true;
        effects
    }

    /// The subscription of one entity's keys over `span`.
    fn spec_for(
        &self,
        entity: &EntityId,
        keys: &[String],
        span: window::Span,
        interval_ms: i64,
        max_points: usize,
    ) -> SubSpec {
        let query = EntityDataQuery::new(
            EntityFilter::single(entity.clone()),
            EntityDataPageLink::first(1),
        )
        .with_fields(["name"]);
        let agg = self.layout.agg;
        let limit = if agg.is_none() {
            i32::try_from(max_points.min(RAW_LIMIT_MAX)).unwrap_or(i32::MAX)
        } else {
            // One point per interval (and the partial one at each end).
            i32::try_from(window::interval_count(span.len_ms(), interval_ms).saturating_add(2))
                .unwrap_or(i32::MAX)
        };
        let (interval, agg_wire) = if agg.is_none() {
            (0, None)
        } else {
            (interval_ms, Some(agg.to_wire()))
        };
        let cmd = EntityDataCmd::query(0, query);
        let cmd = if self.layout.window.is_realtime() {
            cmd.with_ts(TimeSeriesCmd {
                keys: keys.to_vec(),
                start_ts: span.start_ms,
                time_window: span.len_ms(),
                interval,
                limit,
                agg: agg_wire,
                ..TimeSeriesCmd::default()
            })
        } else {
            cmd.with_history(EntityHistoryCmd {
                keys: keys.to_vec(),
                start_ts: span.start_ms,
                end_ts: span.end_ms,
                interval,
                limit,
                agg: agg_wire,
                ..EntityHistoryCmd::default()
            })
        };
        SubSpec::EntityData(cmd)
    }

    /// Keeps the layout in the settings (restored on the next start).
    fn save_current(&self, settings: &mut Settings) {
        settings.plot_layouts.current = Some(self.layout.clone());
    }

    /// Draws the view.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        store: &mut Store,
        settings: &mut Settings,
        ctx: &ViewContext<'_>,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        egui::Panel::top("plots_toolbar").show(ui, |ui| {
            effects.extend(self.toolbar_ui(ui, store, settings, ctx));
        });
        if self.picker.open {
            egui::Panel::right("plots_picker")
                .resizable(true)
                .default_size(300.0)
                .show(ui, |ui| self.picker_ui(ui, store, ctx));
        }
        egui::CentralPanel::default().show(ui, |ui| {
            self.plots_ui(ui, store, ctx.now_ms);
        });
        self.png_step(ui, ctx, &mut effects);
        // Saved when it differs from what the settings hold (compared, not cloned, per frame).
        if settings.plot_layouts.current.as_ref() != Some(&self.layout) {
            self.save_current(settings);
            effects.push(Effect::SettingsChanged);
        }
        effects
    }

    /// The time range to force this frame, if any.
    fn forced_range(&mut self, now_ms: i64) -> Option<(i64, i64)> {
        let span = self.layout.window.resolve(now_ms, &self.zone);
        if self.following() {
            // Following forces the range anyway; a pending reset must not force it again
            // on the frame after the user zoomed or panned away.
            self.reset = false;
            return Some((span.start_ms, span.end_ms));
        }
        if std::mem::take(&mut self.reset) {
            return Some((span.start_ms, span.end_ms.max(span.start_ms + 1)));
        }
        None
    }

    fn plots_ui(&mut self, ui: &mut egui::Ui, store: &mut Store, now_ms: i64) {
        if self.layout.plots.is_empty() {
            ui.add_space(24.0);
            ui.vertical_centered(|ui| {
                ui.heading("No series yet");
                ui.label(
                    "Add series with \"Add series\" above, or from a row's menu in the \
                     Entities view (right-click a row, \"Plot …\").",
                );
            });
            return;
        }
        if let Some(limit) = self.truncated(store, now_ms) {
            ui.colored_label(
                crate::ui::theme::PENDING,
                format!(
                    "Only the newest {} points per series were fetched, so the start of the \
                     window may be empty: choose an aggregation to see all of it.",
                    crate::ui::thousands(i64::try_from(limit).unwrap_or(i64::MAX))
                ),
            );
        }
        let forced = self.forced_range(now_ms);
        let link = ui.scope_id().with("plots_link");
        let plots = self.layout.plots.len();
        let legend_height = ui.text_style_height(&egui::TextStyle::Body) + 8.0;
        #[allow(clippy::cast_precision_loss)]
        let height = ((ui.available_height() / plots as f32) - legend_height - 6.0).max(120.0);
        let gaps: Vec<(i64, i64)> = self
            .subs
            .values()
            .filter_map(|sub| store.gaps.get(sub))
            .flatten()
            .copied()
            .collect();
        let mut hover = None;
        let mut moved = false;
        let mut reset = false;
        let mut action: Option<(usize, LegendAction)> = None;
        let top = ui.cursor().min;
        egui::ScrollArea::vertical().show(ui, |ui| {
            for p in 0..plots {
                let readout = self.readout(p, store, now_ms);
                let zone = self.zone.clone();
                if let Some(specs) = self.layout.plots.get_mut(p).map(|plot| &mut plot.series)
                    && let Some(a) = legend_ui(ui, p, plots, specs, &readout, &zone, now_ms)
                {
                    action = Some((p, a));
                }
                let mut buffers = series_buffers(&self.layout, p, &self.subs, store);
                let input = PlotInput {
                    id: ui.scope_id().with(("plot", p)),
                    link,
                    x_range: forced,
                    gaps: &gaps,
                    zone: &self.zone,
                    height,
                };
                let out = plot_ui(ui, &input, &mut buffers);
                moved |= out.user_moved;
                reset |= out.reset;
                hover = hover.or(out.hover_x);
                self.shown = Some(out.x_range);
                ui.add_space(4.0);
            }
        });
        let bottom = ui.min_rect().max;
        self.plots_rect = Some(egui::Rect::from_min_max(top, bottom));
        self.hover_x = hover;
        if moved {
            self.follow = false;
        }
        if reset {
            self.follow = true;
            self.reset = true;
        }
        if let Some((plot, a)) = action {
            match a {
                LegendAction::Changed => {}
                LegendAction::Move { series, to } => self.layout.move_series(plot, series, to),
                LegendAction::Remove(series) => self.layout.remove(plot, series),
            }
        }
    }

    /// The point limit of the raw fetch, when some plotted series reached it (the server
    /// sent the newest points only).
    fn truncated(&self, store: &Store, now_ms: i64) -> Option<usize> {
        let fingerprint = self.subscribed.as_ref()?;
        if !fingerprint.agg.is_none() {
            return None;
        }
        let limit = store.series_limits().max_points.min(RAW_LIMIT_MAX);
        let start = self.layout.window.resolve(now_ms, &self.zone).start_ms;
        self.layout
            .series()
            .any(|(_, s)| {
                self.subs
                    .get(&s.entity)
                    .and_then(|sub| store.series.get(&(*sub, s.entity.clone(), s.key.clone())))
                    .is_some_and(|b| {
                        b.len() >= limit && b.range().is_some_and(|(first, _)| first > start)
                    })
            })
            .then_some(limit)
    }

    /// What each series' legend entry says: the point nearest to the hovered time, else
    /// the newest point and whether it is overdue.
    fn readout(&self, plot: usize, store: &Store, now_ms: i64) -> Vec<Readout> {
        #[allow(clippy::cast_possible_truncation)]
        let hover = self.hover_x.map(|x| x.round() as i64);
        let Some(p) = self.layout.plots.get(plot) else {
            return Vec::new();
        };
        p.series
            .iter()
            .map(|s| {
                let buffer = self
                    .subs
                    .get(&s.entity)
                    .and_then(|sub| store.series.get(&(*sub, s.entity.clone(), s.key.clone())));
                let Some(buffer) = buffer else {
                    return Readout::NoData;
                };
                if let Some(ts) = hover {
                    return buffer
                        .nearest(ts)
                        .map_or(Readout::NoData, |(t, v)| Readout::Hover(t, v));
                }
                let Some((ts, value)) = buffer.latest() else {
                    return Readout::NoData;
                };
                // Overdue: past the step at which the line would break, in a live window.
                let stale = self.layout.window.is_realtime()
                    && buffer
                        .max_step_ms()
                        .is_some_and(|step| now_ms.saturating_sub(ts) > step);
                Readout::Latest { ts, value, stale }
            })
            .collect()
    }
}

/// What the view needs from the session besides the store.
pub struct ViewContext<'a> {
    /// The REST client (picker search and keys).
    pub rest: &'a RestClient,
    /// Where tasks run.
    pub runtime: &'a tokio::runtime::Handle,
    /// Wall-clock now.
    pub now_ms: i64,
    /// Whether the socket is live.
    pub live: bool,
    /// Names of the entities on the table's page (the picker offers them first).
    pub table_entities: Vec<(EntityId, String)>,
}

/// The series of plot `plot` with their buffers (each buffer once, even when a plot draws
/// the same series twice).
fn series_buffers<'a>(
    layout: &'a Layout,
    plot: usize,
    subs: &BTreeMap<EntityId, SubId>,
    store: &'a mut Store,
) -> Vec<PlotSeries<'a>> {
    let Some(p) = layout.plots.get(plot) else {
        return Vec::new();
    };
    // One pass over the store's map hands out disjoint &mut buffers.
    let mut wanted: BTreeMap<(SubId, EntityId, String), usize> = BTreeMap::new();
    for (i, s) in p.series.iter().enumerate() {
        if let Some(sub) = subs.get(&s.entity) {
            wanted
                .entry((*sub, s.entity.clone(), s.key.clone()))
                .or_insert(i);
        }
    }
    let mut buffers: Vec<Option<&'a mut SeriesBuffer>> = p.series.iter().map(|_| None).collect();
    if let (Some(first), Some(last)) = (wanted.keys().next(), wanted.keys().next_back()) {
        let range = store.series.range_mut(first.clone()..=last.clone());
        for (key, buffer) in range {
            if let Some(&i) = wanted.get(key)
                && let Some(slot) = buffers.get_mut(i)
            {
                *slot = Some(buffer);
            }
        }
    }
    p.series
        .iter()
        .zip(buffers)
        .map(|(spec, buffer)| PlotSeries { spec, buffer })
        .collect()
}

/// Entities whose name starts with `text`, for the picker.
async fn search_entities(
    tx: mpsc::Sender<Reply>,
    rest: RestClient,
    entity_type: EntityType,
    text: String,
    ctx: egui::Context,
) {
    let found = super::search_entities_by_name(&rest, entity_type, text, SEARCH_RESULTS)
        .await
        .map_err(|e| format!("Search failed: {e}"));
    tx.send(Reply::Search(found)).await.ok();
    ctx.request_repaint();
}

/// The time-series keys of `entities`, for the picker.
async fn fetch_keys(
    tx: mpsc::Sender<Reply>,
    rest: RestClient,
    entities: Vec<EntityId>,
    ctx: egui::Context,
) {
    {
        let mut all: Vec<String> = Vec::new();
        let mut error = None;
        for entity in entities {
            let query =
                EntityDataQuery::new(EntityFilter::single(entity), EntityDataPageLink::first(1));
            match rest.find_entity_keys(&query).await {
                Ok(keys) => {
                    for k in keys.timeseries {
                        if !all.contains(&k) {
                            all.push(k);
                        }
                    }
                }
                Err(e) => error = Some(format!("Cannot list the keys: {e}")),
            }
        }
        all.sort();
        let reply = match error {
            Some(e) if all.is_empty() => Err(e),
            _ => Ok(all),
        };
        tx.send(Reply::Keys(reply)).await.ok();
        ctx.request_repaint();
    }
}

mod controls;
