//! The Plots view's toolbar (window, aggregation, follow/pause, layouts, export) and its
//! series picker.

use egui::{RichText, Ui};

use super::{PlotsView, Reply, ViewContext, fetch_keys, search_entities};
use crate::app::Effect;
use crate::plot::export::{ExportSeries, crop_rgba, csv_string, encode_png, suggested_file_name};
use crate::plot::layout::Layout;
use crate::plot::window::{self, AggFn, Relative, TimeWindow};
use crate::protocol::EntityType;
use crate::settings::Settings;
use crate::store::Store;
use crate::ui::theme;

impl PlotsView {
    pub(super) fn toolbar_ui(
        &mut self,
        ui: &mut Ui,
        store: &Store,
        settings: &mut Settings,
        ctx: &ViewContext<'_>,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        ui.horizontal_wrapped(|ui| {
            self.status_ui(ui, ctx);
            ui.separator();
            self.window_ui(ui, ctx.now_ms);
            ui.separator();
            self.aggregation_ui(ui, ctx.now_ms);
            ui.separator();
            if self.layout.window.is_realtime() {
                if self.following() {
                    if ui
                        .button("Pause")
                        .on_hover_text("Stop moving the time axis; data keeps arriving")
                        .clicked()
                    {
                        self.follow = false;
                    }
                } else if ui
                    .add(theme::primary_button("Follow live"))
                    .on_hover_text("Show the newest data as it arrives")
                    .clicked()
                {
                    self.follow = true;
                }
            } else {
                self.history_steps_ui(ui, ctx.now_ms);
            }
            ui.separator();
            if ui
                .selectable_label(self.picker.open, "Add series")
                .clicked()
            {
                self.picker.open = !self.picker.open;
            }
            effects.extend(self.layouts_ui(ui, settings));
            ui.menu_button("Export", |ui| {
                if ui
                    .button("CSV of the visible series…")
                    .on_hover_text("Time in ISO 8601 and epoch ms, one column per series")
                    .clicked()
                {
                    effects.extend(self.export_csv(store, ctx));
                    ui.close();
                }
                if ui.button("PNG image of the plots…").clicked() {
                    self.png_pending = true;
                    let tx = self.tx.clone();
                    let repaint = ui.ctx().clone();
                    ui.ctx().request_screenshot(move |image| {
                        tx.try_send(Reply::Screenshot(image)).ok();
                        repaint.request_repaint();
                    });
                    ui.close();
                }
            });
        });
        ui.weak(
            "Drag to pan · right-drag to zoom to a box · scroll to zoom the time axis · \
             double-click to reset",
        );
        effects
    }

    fn status_ui(&self, ui: &mut Ui, ctx: &ViewContext<'_>) {
        let (color, text, hint) = if !ctx.live {
            (
                theme::PENDING,
                "Reconnecting",
                "The link is down: the plots resume and the missed interval is backfilled \
                 when it returns (shaded meanwhile)",
            )
        } else if !self.layout.window.is_realtime() {
            (theme::STALE, "History", "A fixed time range: fetched once")
        } else if self.following() {
            (theme::LIVE, "Live", "Following the newest data")
        } else {
            (
                theme::PENDING,
                "Paused",
                "The time axis stands still; new data keeps arriving. Click \"Follow live\"",
            )
        };
        ui.horizontal(|ui| {
            theme::dot(ui, color);
            ui.label(RichText::new(text).strong()).on_hover_text(hint);
        });
    }

    fn window_ui(&mut self, ui: &mut Ui, now_ms: i64) {
        let current = self.layout.window.label(&self.zone);
        let mut chosen = None;
        let label = ui.label("Time window");
        egui::ComboBox::from_id_salt("plots_window")
            .selected_text(current)
            .width(220.0)
            .show_ui(ui, |ui| {
                ui.label(RichText::new("Realtime").strong());
                for last_ms in window::REALTIME_CHOICES {
                    let w = TimeWindow::Realtime { last_ms };
                    if ui
                        .selectable_label(self.layout.window == w, w.label(&self.zone))
                        .clicked()
                    {
                        chosen = Some(w);
                    }
                }
                ui.separator();
                ui.label(RichText::new("History").strong());
                for r in Relative::ALL {
                    let w = TimeWindow::Relative(r);
                    if ui
                        .selectable_label(self.layout.window == w, r.label())
                        .clicked()
                    {
                        chosen = Some(w);
                    }
                }
            })
            .response
            .labelled_by(label.id);
        if let Some(w) = chosen {
            self.layout.window = w;
            self.follow = true;
            self.reset = true;
        }
        // The fixed range: from/to in the display zone, prefilled with the current span.
        form_menu(ui, "Range…", |ui| {
            if self.from_text.is_empty() || self.to_text.is_empty() {
                let span = self.layout.window.resolve(now_ms, &self.zone);
                self.from_text = self.zone.format(span.start_ms);
                self.to_text = self.zone.format(span.end_ms);
            }
            ui.label(format!("A fixed range, in {}", self.zone.label()));
            let from = ui.horizontal(|ui| {
                let label = ui.label("From");
                ui.text_edit_singleline(&mut self.from_text)
                    .labelled_by(label.id)
            });
            let to = ui.horizontal(|ui| {
                let label = ui.label("To");
                ui.text_edit_singleline(&mut self.to_text)
                    .labelled_by(label.id)
            });
            let _ = (from, to);
            let parsed = (
                self.zone.parse(&self.from_text),
                self.zone.parse(&self.to_text),
            );
            match parsed {
                (Ok(start_ms), Ok(end_ms)) if start_ms < end_ms => {
                    if ui.button("Show this range").clicked() {
                        self.layout.window = TimeWindow::Fixed { start_ms, end_ms };
                        self.reset = true;
                        ui.close();
                    }
                }
                (Ok(_), Ok(_)) => {
                    ui.colored_label(theme::DOWN, "The start must come before the end");
                }
                (Err(e), _) | (_, Err(e)) => {
                    ui.colored_label(theme::DOWN, e);
                }
            }
            if let Some(x) = self.shown
                && ui.button("Use the visible range").clicked()
            {
                #[allow(clippy::cast_possible_truncation)]
                {
                    self.from_text = self.zone.format(x.0.round() as i64);
                    self.to_text = self.zone.format(x.1.round() as i64);
                }
            }
        });
    }

    /// "Earlier" and "Later" move a history window by its own length; "Reset zoom" shows
    /// the whole window again.
    fn history_steps_ui(&mut self, ui: &mut Ui, now_ms: i64) {
        let span = self.layout.window.resolve(now_ms, &self.zone);
        let len = span.len_ms().max(1);
        let step = |by: i64| TimeWindow::Fixed {
            start_ms: span.start_ms.saturating_add(by),
            end_ms: span.end_ms.saturating_add(by),
        };
        if ui
            .button("Earlier")
            .on_hover_text(format!("{} back", window::format_duration(len)))
            .clicked()
        {
            self.layout.window = step(-len);
            self.reset = true;
        }
        let later_possible = span.end_ms < now_ms;
        if ui
            .add_enabled(later_possible, egui::Button::new("Later"))
            .on_hover_text(format!("{} forward", window::format_duration(len)))
            .clicked()
        {
            self.layout.window = step(len);
            self.reset = true;
        }
        if ui.button("Reset zoom").clicked() {
            self.reset = true;
        }
    }

    fn aggregation_ui(&mut self, ui: &mut Ui, now_ms: i64) {
        let span = self.layout.window.resolve(now_ms, &self.zone);
        let label = ui.label("Aggregation");
        egui::ComboBox::from_id_salt("plots_agg")
            .selected_text(self.layout.agg.label())
            .show_ui(ui, |ui| {
                for agg in AggFn::ALL {
                    ui.selectable_value(&mut self.layout.agg, agg, agg.label());
                }
            })
            .response
            .labelled_by(label.id);
        if self.layout.agg.is_none() {
            return;
        }
        let interval = self.interval(span);
        let text = match self.layout.interval_ms {
            None => format!("auto ({})", window::format_duration(interval)),
            Some(_) => window::format_duration(interval),
        };
        let label = ui.label("every");
        egui::ComboBox::from_id_salt("plots_interval")
            .selected_text(text)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut self.layout.interval_ms, None, "auto");
                for ms in window::interval_choices(span.len_ms()) {
                    ui.selectable_value(
                        &mut self.layout.interval_ms,
                        Some(ms),
                        window::format_duration(ms),
                    );
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text(format!(
                "At most {} intervals per request (the server's limit)",
                window::MAX_INTERVALS
            ));
    }

    fn layouts_ui(&mut self, ui: &mut Ui, settings: &mut Settings) -> Vec<Effect> {
        let mut effects = Vec::new();
        form_menu(ui, "Layouts", |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("Name");
                ui.text_edit_singleline(&mut self.layout_name)
                    .labelled_by(label.id);
                let name = self.layout_name.trim().to_owned();
                if ui
                    .add_enabled(!name.is_empty(), egui::Button::new("Save"))
                    .clicked()
                {
                    settings.plot_layouts.save_as(&name, &self.layout);
                    effects.push(Effect::SettingsChanged);
                    effects.push(Effect::Notice(format!("Saved the plot layout \"{name}\"")));
                    ui.close();
                }
            });
            if settings.plot_layouts.saved.is_empty() {
                ui.weak("No saved layouts yet");
            }
            let mut open: Option<Layout> = None;
            let mut delete: Option<String> = None;
            for saved in &settings.plot_layouts.saved {
                ui.horizontal(|ui| {
                    if ui
                        .button(&saved.name)
                        .on_hover_text(format!("{} series", saved.series_count()))
                        .clicked()
                    {
                        open = Some(saved.clone());
                    }
                    if ui.small_button("Delete").clicked() {
                        delete = Some(saved.name.clone());
                    }
                });
            }
            if let Some(layout) = open {
                self.layout_name.clone_from(&layout.name);
                self.set_layout(layout);
                ui.close();
            }
            if let Some(name) = delete {
                settings.plot_layouts.delete(&name);
                effects.push(Effect::SettingsChanged);
            }
            ui.separator();
            if self.layout.series_count() > 1 {
                if ui.button("Stack: one plot per series").clicked() {
                    self.layout.stack_all();
                    ui.close();
                }
                if ui.button("Overlay: all series in one plot").clicked() {
                    self.layout.overlay_all();
                    ui.close();
                }
            }
            if ui.button("Clear all plots").clicked() {
                self.layout.plots.clear();
                ui.close();
            }
        });
        effects
    }

    /// The visible series over the visible range as CSV, saved where the user picks.
    fn export_csv(&self, store: &Store, ctx: &ViewContext<'_>) -> Vec<Effect> {
        let Some((lo, hi)) = self.shown else {
            return vec![Effect::Notice("Nothing to export yet".to_owned())];
        };
        #[allow(clippy::cast_possible_truncation)]
        let (lo, hi) = (lo.floor() as i64, hi.ceil() as i64);
        let mut columns: Vec<(String, Vec<(i64, f64)>)> = Vec::new();
        for (_, spec) in self.layout.series() {
            if spec.hidden || columns.iter().any(|(name, _)| *name == spec.label()) {
                continue;
            }
            let points = self
                .subs
                .get(&spec.entity)
                .and_then(|sub| {
                    store
                        .series
                        .get(&(*sub, spec.entity.clone(), spec.key.clone()))
                })
                .map(|b| b.points_in(lo, hi).collect())
                .unwrap_or_default();
            columns.push((spec.label(), points));
        }
        let series: Vec<ExportSeries<'_>> = columns
            .iter()
            .map(|(name, points)| ExportSeries { name, points })
            .collect();
        let zone = self.zone.clone();
        let text = csv_string(&series, |ts| zone.format_iso(ts));
        let name = suggested_file_name("csv", &self.zone.format(ctx.now_ms));
        save_as(
            self.tx.clone(),
            ctx,
            name,
            ("CSV", "csv"),
            text.into_bytes(),
            "the series",
        );
        Vec::new()
    }

    /// Finishes a PNG export once the screenshot arrived.
    pub(super) fn png_step(&mut self, ui: &Ui, ctx: &ViewContext<'_>, effects: &mut Vec<Effect>) {
        let Some(image) = self.screenshot.take() else {
            return;
        };
        self.png_pending = false;
        let ppp = ui.ctx().pixels_per_point();
        let rect = self.plots_rect.unwrap_or_else(|| ui.ctx().content_rect());
        let [w, h] = image.size;
        let rgba: Vec<u8> = image
            .pixels
            .iter()
            .flat_map(egui::Color32::to_array)
            .collect();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let region = (
            (rect.min.x * ppp).max(0.0) as usize,
            (rect.min.y * ppp).max(0.0) as usize,
            (rect.width() * ppp).max(1.0) as usize,
            (rect.height() * ppp).max(1.0) as usize,
        );
        let png = crop_rgba(w, h, &rgba, region.0, region.1, region.2, region.3)
            .and_then(|(cw, ch, pixels)| encode_png(cw, ch, &pixels));
        match png {
            Ok(bytes) => {
                let name = suggested_file_name("png", &self.zone.format(ctx.now_ms));
                save_as(
                    self.tx.clone(),
                    ctx,
                    name,
                    ("PNG", "png"),
                    bytes,
                    "the image",
                );
            }
            Err(e) => effects.push(Effect::Notice(format!("Cannot export the image: {e}"))),
        }
    }

    pub(super) fn picker_ui(&mut self, ui: &mut Ui, _store: &Store, ctx: &ViewContext<'_>) {
        ui.heading("Add series");
        ui.horizontal(|ui| {
            let label = ui.label("Type");
            let mut chosen = self
                .picker
                .entity_type
                .clone()
                .unwrap_or(EntityType::Device);
            egui::ComboBox::from_id_salt("picker_type")
                .selected_text(chosen.as_str())
                .show_ui(ui, |ui| {
                    for t in [
                        EntityType::Device,
                        EntityType::Asset,
                        EntityType::EntityView,
                    ] {
                        let text = t.as_str().to_owned();
                        ui.selectable_value(&mut chosen, t, text);
                    }
                })
                .response
                .labelled_by(label.id);
            self.picker.entity_type = Some(chosen);
        });
        let search = ui.horizontal(|ui| {
            let label = ui.label("Name starts with");
            ui.text_edit_singleline(&mut self.picker.search)
                .labelled_by(label.id)
        });
        let text = self.picker.search.trim().to_owned();
        if (search.inner.changed() || search.inner.lost_focus())
            && self.picker.searched.as_deref() != Some(text.as_str())
        {
            self.picker.searched = Some(text.clone());
            if text.is_empty() {
                self.picker.results.clear();
            } else {
                self.picker.busy = true;
                ctx.runtime.spawn(search_entities(
                    self.tx.clone(),
                    ctx.rest.clone(),
                    self.picker
                        .entity_type
                        .clone()
                        .unwrap_or(EntityType::Device),
                    text.clone(),
                    ui.ctx().clone(),
                ));
            }
        }
        self.picker_entities_ui(ui, &text, ctx);
        self.picker_keys_ui(ui, ctx);
        ui.separator();
        self.picker_add_ui(ui);
    }

    /// The entities the picker offers (the table's page, or a name search) with checkboxes.
    fn picker_entities_ui(&mut self, ui: &mut Ui, text: &str, ctx: &ViewContext<'_>) {
        ui.label(RichText::new("Entities").strong());
        let offered: Vec<_> = if text.is_empty() {
            ctx.table_entities.clone()
        } else {
            self.picker.results.clone()
        };
        if offered.is_empty() {
            ui.weak(if text.is_empty() {
                "Type a name, or load entities in the Entities view"
            } else if self.picker.busy {
                "Searching…"
            } else {
                "No entity matches"
            });
        }
        egui::ScrollArea::vertical()
            .id_salt("picker_entities")
            .max_height(220.0)
            .show(ui, |ui| {
                for (entity, name) in offered {
                    let mut on = self.picker.chosen.iter().any(|(e, _)| *e == entity);
                    if ui.checkbox(&mut on, &name).changed() {
                        if on {
                            self.picker.chosen.push((entity, name));
                        } else {
                            self.picker.chosen.retain(|(e, _)| *e != entity);
                        }
                    }
                }
            });
    }

    /// The chosen entities' time-series keys with checkboxes (listed by a REST task).
    fn picker_keys_ui(&mut self, ui: &mut Ui, ctx: &ViewContext<'_>) {
        let chosen_ids: Vec<_> = self.picker.chosen.iter().map(|(e, _)| e.clone()).collect();
        if chosen_ids != self.picker.keys_for {
            self.picker.keys_for.clone_from(&chosen_ids);
            self.picker.keys.clear();
            if !chosen_ids.is_empty() {
                self.picker.busy = true;
                ctx.runtime.spawn(fetch_keys(
                    self.tx.clone(),
                    ctx.rest.clone(),
                    chosen_ids,
                    ui.ctx().clone(),
                ));
            }
        }
        ui.separator();
        ui.label(RichText::new("Time-series keys").strong());
        if self.picker.chosen.is_empty() {
            ui.weak("Choose one or more entities");
        } else if self.picker.keys.is_empty() {
            ui.weak(if self.picker.busy {
                "Loading…"
            } else {
                "No time series"
            });
        }
        egui::ScrollArea::vertical()
            .id_salt("picker_keys")
            .max_height(200.0)
            .show(ui, |ui| {
                for key in &self.picker.keys {
                    let mut on = self.picker.chosen_keys.contains(key);
                    if ui.checkbox(&mut on, key).changed() {
                        if on {
                            self.picker.chosen_keys.push(key.clone());
                        } else {
                            self.picker.chosen_keys.retain(|k| k != key);
                        }
                    }
                }
            });
        self.picker
            .chosen_keys
            .retain(|k| self.picker.keys.contains(k));
    }

    /// The picker's target plot and its "Add" button.
    fn picker_add_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let label = ui.label("Into");
            let plots = self.layout.plots.len();
            let text = self
                .picker
                .target
                .filter(|&t| t < plots)
                .map_or_else(|| "a new plot".to_owned(), |t| format!("plot {}", t + 1));
            egui::ComboBox::from_id_salt("picker_target")
                .selected_text(text)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.picker.target, None, "a new plot");
                    for t in 0..plots {
                        ui.selectable_value(
                            &mut self.picker.target,
                            Some(t),
                            format!("plot {}", t + 1),
                        );
                    }
                })
                .response
                .labelled_by(label.id);
        });
        let count = self.picker.chosen.len() * self.picker.chosen_keys.len();
        let text = match count {
            1 => "Add 1 series".to_owned(),
            n => format!("Add {n} series"),
        };
        if ui
            .add_enabled(count > 0, theme::primary_button(&text))
            .clicked()
        {
            let mut target = self.picker.target.filter(|&t| t < self.layout.plots.len());
            for (entity, name) in self.picker.chosen.clone() {
                for key in self.picker.chosen_keys.clone() {
                    if self.layout.add(target, &entity, &name, &key) && target.is_none() {
                        target = Some(self.layout.plots.len() - 1);
                    }
                }
            }
            self.picker.target = target;
            self.reset = true;
        }
    }
}

/// Writes `bytes` where the user picks (a system dialog), as a task; the outcome comes
/// back as a notice.
fn save_as(
    tx: tokio::sync::mpsc::Sender<Reply>,
    ctx: &ViewContext<'_>,
    file_name: String,
    filter: (&'static str, &'static str),
    bytes: Vec<u8>,
    what: &'static str,
) {
    let request = crate::app::SaveRequest {
        file_name,
        filter,
        bytes,
        what,
    };
    ctx.runtime.spawn(async move {
        if let Some(notice) = crate::app::save_file_as(request).await {
            tx.send(Reply::Notice(notice)).await.ok();
        }
    });
}

/// A menu holding text fields: it stays open while the user clicks into them, and closes
/// on a click outside, Escape, or an action that calls `ui.close()`.
fn form_menu(ui: &mut Ui, title: &str, content: impl FnOnce(&mut Ui)) {
    egui::containers::menu::MenuButton::new(title)
        .config(
            egui::containers::menu::MenuConfig::new()
                .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside),
        )
        .ui(ui, content);
}
