//! Drawing the Inspector: the entity bar (search by name), the tabs, and each tab.

use egui::Ui;

use super::{InspectorView, MAX_HISTORY_LIMIT, PLOT_WINDOWS, Tab};
use crate::app::Effect;
use crate::plot::layout::{PALETTE, SeriesSpec};
use crate::plot::window::AggFn;
use crate::protocol::{AttributeScope, EntityType};
use crate::store::{Store, SubData};
use crate::ui::inspector::{
    KeyAction, KeyRow, KeysTableOptions, NO_ATTRIBUTES, NO_TELEMETRY, keys_table_ui,
};
use crate::ui::theme;

/// Entities listed by one search.
const SEARCH_LIMIT: i32 = 20;

impl InspectorView {
    /// Draws the view.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        store: &mut Store,
        session: (&crate::net::rest::RestClient, &tokio::runtime::Handle),
        now_ms: i64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        egui::Panel::top("inspector_bar").show(ui, |ui| {
            effects.extend(self.entity_bar_ui(ui, store, session));
            if self.entity.is_some() {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.tab, Tab::Attributes, "Attributes");
                    ui.selectable_value(&mut self.tab, Tab::Telemetry, "Telemetry");
                    ui.selectable_value(&mut self.tab, Tab::History, "History");
                    ui.separator();
                    let label = ui.label("Filter keys");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.filter)
                            .hint_text("key or value")
                            .desired_width(160.0),
                    )
                    .labelled_by(label.id);
                });
            }
        });
        egui::CentralPanel::default().show(ui, |ui| {
            if self.entity.is_none() {
                ui.weak(
                    "Find an entity by name above, or open one from the Entities table, an \
                     alarm or a notification.",
                );
                return;
            }
            match self.tab {
                Tab::Attributes => effects.extend(self.attributes_ui(ui, store, now_ms)),
                Tab::Telemetry => effects.extend(self.telemetry_ui(ui, store, now_ms)),
                Tab::History => effects.extend(self.history_ui(ui, store, session, now_ms)),
            }
        });
        effects
    }

    fn entity_bar_ui(
        &mut self,
        ui: &mut Ui,
        store: &mut Store,
        (rest, runtime): (&crate::net::rest::RestClient, &tokio::runtime::Handle),
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.ask_name(rest, runtime, ui.ctx());
        ui.horizontal_wrapped(|ui| {
            ui.heading("Inspector");
            if let Some((entity, name)) = &self.entity {
                ui.strong(name);
                ui.weak(entity.entity_type.as_str());
                if ui
                    .small_button("Copy id")
                    .on_hover_text(entity.id.to_string())
                    .clicked()
                {
                    effects.push(Effect::Copy(entity.id.to_string()));
                }
            }
            ui.separator();
            let label = ui.label("Find entity");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.search)
                        .hint_text("name")
                        .desired_width(180.0),
                )
                .labelled_by(label.id);
            egui::ComboBox::from_id_salt("inspector_search_type")
                .selected_text(type_word(&self.search_type))
                .show_ui(ui, |ui| {
                    for t in [EntityType::Device, EntityType::Asset] {
                        let word = type_word(&t);
                        ui.selectable_value(&mut self.search_type, t, word);
                    }
                });
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Search").clicked() || enter) && !self.search.trim().is_empty() {
                self.start_search(rest, runtime, ui.ctx());
            }
            if self.searching {
                ui.spinner();
            }
        });
        if let Some(found) = &self.found {
            let mut chosen = None;
            let mut close = false;
            ui.horizontal_wrapped(|ui| match found {
                Ok(list) if list.is_empty() => {
                    ui.weak("No entity has that name");
                }
                Ok(list) => {
                    for (id, name) in list {
                        if ui.button(name).clicked() {
                            chosen = Some((id.clone(), name.clone()));
                        }
                    }
                    close = ui.small_button("Close results").clicked();
                }
                Err(e) => {
                    ui.colored_label(theme::DOWN, e);
                }
            });
            if let Some((id, name)) = chosen {
                self.found = None;
                effects.extend(self.open(id, name, store));
            } else if close {
                self.found = None;
            }
        }
        effects
    }

    /// An entity opened by id only (an alarm's originator off the table's page) gets its
    /// name from the server.
    fn ask_name(
        &mut self,
        rest: &crate::net::rest::RestClient,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
    ) {
        let Some((id, name)) = &self.entity else {
            return;
        };
        if self.name_asked || *name != id.id.to_string() {
            return;
        }
        self.name_asked = true;
        let (rest, tx, ctx, id) = (rest.clone(), self.tx.clone(), ctx.clone(), id.clone());
        runtime.spawn(async move {
            use crate::protocol::{EntityDataPageLink, EntityDataQuery, EntityFilter};
            let query = EntityDataQuery::new(
                EntityFilter::single(id.clone()),
                EntityDataPageLink::first(1),
            )
            .with_fields(["name"]);
            let Ok(page) = rest.find_entities(&query).await else {
                return;
            };
            let name = page.data.first().and_then(|row| {
                Some(
                    row.latest
                        .as_ref()?
                        .get(&crate::protocol::EntityKeyType::EntityField)?
                        .get("name")?
                        .value
                        .as_ref()?
                        .as_str()
                        .to_owned(),
                )
            });
            if let Some(name) = name {
                tx.send(super::Reply::Name(id, name)).await.ok();
                ctx.request_repaint();
            }
        });
    }

    fn start_search(
        &mut self,
        rest: &crate::net::rest::RestClient,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
    ) {
        let text = self.search.trim().to_owned();
        let (rest, tx, ctx) = (rest.clone(), self.tx.clone(), ctx.clone());
        let entity_type = self.search_type.clone();
        self.searching = true;
        runtime.spawn(async move {
            let found =
                crate::app::search_entities_by_name(&rest, entity_type, text.clone(), SEARCH_LIMIT)
                    .await;
            tx.send(super::Reply::Found(text, found)).await.ok();
            ctx.request_repaint();
        });
    }

    fn attributes_ui(&mut self, ui: &mut Ui, store: &Store, now_ms: i64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let scopes = self.subs.attributes.clone();
        for (_, sub) in &scopes {
            self.note_changes(store, *sub, now_ms);
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (scope, sub) in scopes {
                    ui.heading(scope_words(&scope));
                    if let Some(e) = store.errors.get(&sub) {
                        ui.colored_label(theme::DOWN, &e.message);
                    }
                    let rows = key_rows(store, sub);
                    let changed = changed_at(&self.changed, sub);
                    let mut options = KeysTableOptions::new(now_ms, NO_ATTRIBUTES);
                    options.filter = &self.filter;
                    options.zone = Some(&self.zone);
                    options.changed_at = Some(&changed);
                    if let Some(KeyAction::Copy(text)) =
                        keys_table_ui(ui, scope.as_str(), &rows, &options)
                    {
                        effects.push(Effect::Copy(text));
                    }
                    ui.add_space(8.0);
                }
            });
        effects
    }

    fn telemetry_ui(&mut self, ui: &mut Ui, store: &mut Store, now_ms: i64) -> Vec<Effect> {
        let mut effects = Vec::new();
        if !self.plotted.is_empty() {
            self.plot_ui(ui, store, now_ms);
        }
        let Some(sub) = self.subs.latest else {
            return effects;
        };
        self.note_changes(store, sub, now_ms);
        if let Some(e) = store.errors.get(&sub) {
            ui.colored_label(theme::DOWN, &e.message);
        }
        let rows = key_rows(store, sub);
        let changed = changed_at(&self.changed, sub);
        let mut options = KeysTableOptions::new(now_ms, NO_TELEMETRY);
        options.filter = &self.filter;
        options.zone = Some(&self.zone);
        options.ticks = Some(&self.plotted);
        options.changed_at = Some(&changed);
        let action = egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| keys_table_ui(ui, "telemetry", &rows, &options))
            .inner;
        match action {
            Some(KeyAction::Copy(text)) => effects.push(Effect::Copy(text)),
            Some(KeyAction::TogglePlot(key)) => {
                if !self.plotted.remove(&key) {
                    self.plotted.insert(key);
                }
            }
            Some(KeyAction::TogglePick(_)) | None => {}
        }
        effects
    }

    fn plot_ui(&mut self, ui: &mut Ui, store: &mut Store, now_ms: i64) {
        ui.horizontal(|ui| {
            ui.label("Plot the last");
            for (ms, word) in PLOT_WINDOWS {
                ui.selectable_value(&mut self.plot_window_ms, ms, word);
            }
        });
        let (Some((sub, _, window)), Some((entity, name))) = (&self.subs.plot, &self.entity) else {
            ui.weak("Loading…");
            return;
        };
        let (sub, window) = (*sub, *window);
        let specs: Vec<SeriesSpec> = self
            .plotted
            .iter()
            .enumerate()
            .map(|(i, key)| SeriesSpec::new(entity.clone(), name, key, PALETTE[i % PALETTE.len()]))
            .collect();
        ui.horizontal_wrapped(|ui| {
            for spec in &specs {
                theme::dot(ui, theme::series(spec.color));
                ui.label(&spec.key);
            }
        });
        // The buffers of the plotted keys, in the specs' order.
        let mut buffers: Vec<Option<crate::store::series::SeriesBuffer>> = specs
            .iter()
            .map(|spec| {
                store
                    .series
                    .remove(&(sub, spec.entity.clone(), spec.key.clone()))
            })
            .collect();
        let mut series: Vec<crate::ui::plots::PlotSeries<'_>> = specs
            .iter()
            .zip(buffers.iter_mut())
            .map(|(spec, buffer)| crate::ui::plots::PlotSeries {
                spec,
                buffer: buffer.as_mut(),
            })
            .collect();
        let input = crate::ui::plots::PlotInput {
            id: ui.scope_id().with("inspector_plot"),
            link: ui.scope_id().with("inspector_plot_link"),
            x_range: Some((now_ms.saturating_sub(window), now_ms)),
            gaps: &[],
            zone: &self.zone,
            height: 220.0,
        };
        crate::ui::plots::plot_ui(ui, &input, &mut series);
        drop(series);
        for (spec, buffer) in specs.iter().zip(buffers) {
            if let Some(buffer) = buffer {
                store
                    .series
                    .insert((sub, spec.entity.clone(), spec.key.clone()), buffer);
            }
        }
        // Following now: redraw as time passes.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
        ui.separator();
    }

    fn history_ui(
        &mut self,
        ui: &mut Ui,
        store: &mut Store,
        session: (&crate::net::rest::RestClient, &tokio::runtime::Handle),
        now_ms: i64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let keys: Vec<&str> = self
            .subs
            .latest
            .map(|sub| key_rows(store, sub).into_iter().map(|r| r.key).collect())
            .unwrap_or_default();
        if self.history.from.is_empty() {
            self.history.from = self.zone.format(now_ms.saturating_sub(3_600_000));
            self.history.to = self.zone.format(now_ms);
        }
        ui.horizontal_wrapped(|ui| {
            ui.label("Keys:");
            if keys.is_empty() {
                ui.weak("no telemetry keys");
            }
            for &key in &keys {
                let mut on = self.history.picked.contains(key);
                if ui.checkbox(&mut on, key).changed() {
                    if on {
                        self.history.picked.insert(key.to_owned());
                    } else {
                        self.history.picked.remove(key);
                    }
                }
            }
        });
        ui.horizontal(|ui| {
            ui.label("Range:");
            for (ms, word) in [
                (3_600_000, "Last hour"),
                (86_400_000, "Last 24 hours"),
                (7 * 86_400_000, "Last 7 days"),
            ] {
                if ui.small_button(word).clicked() {
                    self.history.from = self.zone.format(now_ms.saturating_sub(ms));
                    self.history.to = self.zone.format(now_ms);
                }
            }
        });
        let range = self.history_form_ui(ui);
        ui.horizontal(|ui| {
            let ready = !self.history.picked.is_empty() && range.is_ok();
            if ui.add_enabled(ready, egui::Button::new("Fetch")).clicked()
                && let Ok(range) = range
            {
                effects.extend(self.fetch_history(store, range));
            }
            if let Err(e) = &range {
                ui.colored_label(theme::DOWN, e);
            }
            self.refresh_table(store);
            if self.table.as_ref().is_some_and(|(_, t)| t.rows() > 0)
                && ui.button("Export CSV").clicked()
            {
                self.export_csv(store, session.1);
            }
        });
        if let Some(asked) = &self.history.asked {
            ui.weak(asked);
        }
        if let Some(sub) = self.subs.history
            && let Some(e) = store.errors.get(&sub)
        {
            ui.colored_label(theme::DOWN, &e.message);
        }
        match self
            .table
            .as_ref()
            .filter(|(s, _)| Some(*s) == self.subs.history)
        {
            Some((_, table)) => {
                ui.label(format!(
                    "{} rows",
                    crate::ui::thousands(i64::try_from(table.rows()).unwrap_or(i64::MAX))
                ));
                if let Some(key) = self.limit_reached(store) {
                    ui.colored_label(
                        theme::PENDING,
                        format!(
                            "{key} has as many points as the limit: older ones in the range \
                             were not fetched (raise the limit or aggregate)"
                        ),
                    );
                }
                table.ui(ui, &self.zone);
            }
            None if self.subs.history.is_some() => {
                ui.weak("Fetching…");
            }
            None => {}
        }
        effects
    }

    /// From, to, aggregation, interval and limit; the range when From and To read.
    fn history_form_ui(&mut self, ui: &mut Ui) -> Result<(i64, i64), String> {
        let form = &mut self.history;
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("From");
            ui.add(egui::TextEdit::singleline(&mut form.from).desired_width(170.0))
                .labelled_by(label.id);
            let label = ui.label("To");
            ui.add(egui::TextEdit::singleline(&mut form.to).desired_width(170.0))
                .labelled_by(label.id);
            egui::ComboBox::from_label("Aggregation")
                .selected_text(form.agg.label())
                .show_ui(ui, |ui| {
                    for agg in AggFn::ALL {
                        ui.selectable_value(&mut form.agg, agg, agg.label());
                    }
                });
            if form.agg == AggFn::None {
                let label = ui.label("Limit");
                ui.add(
                    egui::DragValue::new(&mut form.limit)
                        .range(1..=MAX_HISTORY_LIMIT)
                        .speed(10.0),
                )
                .labelled_by(label.id);
            } else {
                egui::ComboBox::from_label("Interval")
                    .selected_text(crate::plot::window::format_duration(form.interval_ms))
                    .show_ui(ui, |ui| {
                        for ms in crate::plot::window::INTERVAL_CHOICES {
                            ui.selectable_value(
                                &mut form.interval_ms,
                                ms,
                                crate::plot::window::format_duration(ms),
                            );
                        }
                    });
            }
        });
        let from = self
            .zone
            .parse(&self.history.from)
            .map_err(|e| format!("From: {e}"))?;
        let to = self
            .zone
            .parse(&self.history.to)
            .map_err(|e| format!("To: {e}"))?;
        if to <= from {
            return Err("To must be after From".to_owned());
        }
        if self.history.agg != AggFn::None {
            let intervals = (to - from) / self.history.interval_ms.max(1_000);
            if intervals > crate::plot::window::MAX_INTERVALS {
                return Err(format!(
                    "{intervals} intervals: the server allows {}; choose a longer interval",
                    crate::plot::window::MAX_INTERVALS
                ));
            }
        }
        Ok((from, to))
    }

    /// A key whose raw history filled the limit (the server returns the newest points).
    fn limit_reached(&self, store: &Store) -> Option<String> {
        let limit = usize::try_from(self.history.raw_limit?).ok()?;
        let sub = self.subs.history?;
        let Some(SubData::V1History(Some(data))) = store.subs.get(&sub) else {
            return None;
        };
        data.iter()
            .find(|(_, points)| points.len() >= limit)
            .map(|(key, _)| key.clone())
    }

    /// Builds the table of the last history reply, once per reply.
    fn refresh_table(&mut self, store: &Store) {
        let Some(sub) = self.subs.history else {
            return;
        };
        let Some(SubData::V1History(Some(data))) = store.subs.get(&sub) else {
            return;
        };
        // One reply per fetch (each fetch has its own subscription), unless a reconnect
        // asked again: then the reply is the same range again.
        if self.table.as_ref().is_none_or(|(s, _)| *s != sub) {
            let table = crate::ui::inspector::HistoryTable::new(data);
            self.table = Some((sub, table));
        }
    }

    fn export_csv(&mut self, store: &Store, runtime: &tokio::runtime::Handle) {
        let Some(sub) = self.subs.history else {
            return;
        };
        let Some(SubData::V1History(Some(data))) = store.subs.get(&sub) else {
            return;
        };
        let zone = self.zone.clone();
        let csv = history_csv(data, |ts| zone.format_iso(ts));
        let name = self
            .entity
            .as_ref()
            .map_or_else(|| "history".to_owned(), |(_, n)| n.clone());
        let request = crate::app::SaveRequest {
            file_name: format!("{}-history.csv", file_safe(&name)),
            filter: ("CSV", "csv"),
            bytes: csv.into_bytes(),
            what: "history",
        };
        let tx = self.tx.clone();
        runtime.spawn(async move {
            if let Some(notice) = crate::app::save_file_as(request).await {
                tx.send(super::Reply::Notice(notice)).await.ok();
            }
        });
    }
}

impl InspectorView {
    /// Remembers when each key's value last changed on this screen (for the highlight).
    /// A key is copied only the first time it is seen.
    fn note_changes(&mut self, store: &Store, sub: crate::net::SubId, now_ms: i64) {
        let Some(SubData::V1(map)) = store.subs.get(&sub) else {
            return;
        };
        let seen = self.changed.entry(sub).or_default();
        for (key, point) in map {
            match seen.get_mut(key.as_str()) {
                Some(held) if held.0 != point.ts() => *held = (point.ts(), now_ms),
                Some(_) => {}
                // First sight is not a change.
                None => {
                    seen.insert(key.clone(), (point.ts(), i64::MIN));
                }
            }
        }
    }
}

/// When each key of `sub` last changed (local ms), for the keys table's highlight.
fn changed_at(
    changed: &std::collections::HashMap<
        crate::net::SubId,
        std::collections::HashMap<String, (i64, i64)>,
    >,
    sub: crate::net::SubId,
) -> impl Fn(&str) -> Option<i64> + '_ {
    let seen = changed.get(&sub);
    move |key| seen?.get(key).map(|c| c.1)
}

/// The keys of a v1 latest-values subscription as the keys table takes them, borrowed from
/// the store (nothing copied per frame).
fn key_rows(store: &Store, sub: crate::net::SubId) -> Vec<KeyRow<'_>> {
    match store.subs.get(&sub) {
        Some(SubData::V1(map)) => map
            .iter()
            .filter_map(|(key, p)| {
                Some(KeyRow {
                    key,
                    ts: p.ts(),
                    value: p.value()?.as_str(),
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The history as CSV: `time,epoch_ms,<key>…`, one row per timestamp, oldest first, the
/// values as the server sent them (RFC 4180 quoting).
#[must_use]
pub fn history_csv(
    data: &std::collections::BTreeMap<String, Vec<crate::protocol::TsPoint>>,
    iso_time: impl Fn(i64) -> String,
) -> String {
    use std::fmt::Write as _;
    let keys: Vec<&String> = data.keys().collect();
    let mut rows: std::collections::BTreeMap<i64, Vec<Option<&str>>> =
        std::collections::BTreeMap::new();
    for (i, points) in data.values().enumerate() {
        for p in points {
            let row = rows.entry(p.ts()).or_insert_with(|| vec![None; keys.len()]);
            if let Some(slot) = row.get_mut(i) {
                *slot = p.value().map(crate::protocol::TbValue::as_str);
            }
        }
    }
    let mut out = String::from("time,epoch_ms");
    for k in &keys {
        out.push(',');
        out.push_str(&quote(k));
    }
    out.push('\n');
    for (ts, values) in rows {
        let _ = write!(out, "{},{ts}", quote(&iso_time(ts)));
        for v in values {
            out.push(',');
            if let Some(v) = v {
                out.push_str(&quote(v));
            }
        }
        out.push('\n');
    }
    out
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn type_word(t: &EntityType) -> &'static str {
    match t {
        EntityType::Asset => "Asset",
        _ => "Device",
    }
}

fn scope_words(scope: &AttributeScope) -> &'static str {
    match scope {
        AttributeScope::Client => "Client attributes",
        AttributeScope::Shared => "Shared attributes",
        AttributeScope::Server => "Server attributes",
        AttributeScope::Unknown(_) => "Attributes",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::history_csv;
    use crate::protocol::{TbValue, TsPoint};

    fn p(ts: i64, v: &str) -> TsPoint {
        TsPoint(ts, Some(TbValue::from(v)))
    }

    #[test]
    fn history_csv_has_one_row_per_timestamp_oldest_first_with_gaps_empty() {
        let data = BTreeMap::from([
            ("a".to_owned(), vec![p(1, "1.5"), p(3, "3.5")]),
            ("b".to_owned(), vec![p(2, "x"), p(3, "y")]),
        ]);
        let csv = history_csv(&data, |ts| format!("T{ts}"));
        assert_eq!(csv, "time,epoch_ms,a,b\nT1,1,1.5,\nT2,2,,x\nT3,3,3.5,y\n");
    }

    #[test]
    fn history_csv_quotes_commas_quotes_and_line_breaks() {
        let data = BTreeMap::from([(
            "odd,key".to_owned(),
            vec![p(5, r#"{"a":1,"b":"say ""hi"""}"#), p(6, "two\nlines")],
        )]);
        let csv = history_csv(&data, |ts| ts.to_string());
        assert_eq!(
            csv,
            "time,epoch_ms,\"odd,key\"\n5,5,\"{\"\"a\"\":1,\"\"b\"\":\"\"say \"\"\"\"hi\"\"\"\"\"\"}\"\n6,6,\"two\nlines\"\n"
        );
    }
}
