//! One plot of the Plots view: decimated series, disconnect shading, a time axis in the
//! display zone, a second Y axis, and the legend that doubles as the hover readout.
//!
//! Drawing never scans every point: each series hands `egui_plot` its cached min/max
//! decimation for the visible range (at most a few points per pixel column), split into
//! segments at breaks so a dropout is drawn as a hole, not a line across it. Everything
//! here reads the layout and the store and returns what the user did; the Plots view
//! (`app::plots_view`) owns the state and the subscriptions.

use std::fmt::Write as _;

use egui::{Color32, Id, RichText, Ui, Vec2b};
use egui_plot::{
    AxisHints, GridInput, GridMark, HPlacement, Line, MarkerShape, Plot, PlotPoints, Points, Span,
};

use crate::plot::layout::{LineStyle, PALETTE, PALETTE_NAMES, SeriesSpec};
use crate::plot::window::Zone;
use crate::store::series::SeriesBuffer;
use crate::ui::theme;

/// One series to draw: its spec and its buffer (missing until data arrives).
pub struct PlotSeries<'a> {
    /// How to draw it.
    pub spec: &'a SeriesSpec,
    /// The data.
    pub buffer: Option<&'a mut SeriesBuffer>,
}

/// What one plot shows this frame.
pub struct PlotInput<'a> {
    /// The plot's id (stable across frames).
    pub id: Id,
    /// The group whose plots share the time axis and the cursor.
    pub link: Id,
    /// Force this time range (following live data, a reset or a new window); `None` keeps
    /// what the user zoomed or panned to.
    pub x_range: Option<(i64, i64)>,
    /// Intervals in which the client was not listening (shaded).
    pub gaps: &'a [(i64, i64)],
    /// The display time zone.
    pub zone: &'a Zone,
    /// Height in points.
    pub height: f32,
}

/// What happened in one plot this frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotOutput {
    /// The time range shown after this frame's interaction.
    pub x_range: (f64, f64),
    /// The user zoomed or panned (the range differs from the forced one).
    pub user_moved: bool,
    /// Double-click: back to the window (and to following live data).
    pub reset: bool,
    /// The time under the pointer, when it is over the plot.
    pub hover_x: Option<f64>,
    /// Where the plot was drawn (screen points), for the PNG export.
    pub rect: egui::Rect,
}

/// The smallest time ranges `egui_plot` may zoom to (1 ms) and the widest (about 50 years).
const MIN_SPAN_MS: f64 = 1.0;
const MAX_SPAN_MS: f64 = 50.0 * 365.25 * 86_400_000.0;

/// Draws one plot.
#[allow(clippy::too_many_lines)]
pub fn plot_ui(ui: &mut Ui, input: &PlotInput<'_>, series: &mut [PlotSeries<'_>]) -> PlotOutput {
    let zone = input.zone;
    let width_px = (ui.available_width() * ui.ctx().pixels_per_point()).max(1.0);
    // The range the data is decimated for: the forced one, else last frame's.
    let last_range = ui
        .ctx()
        .data(|d| d.get_temp::<(f64, f64)>(input.id.with("x")));
    #[allow(clippy::cast_possible_truncation)]
    let (x_min, x_max) = match (input.x_range, last_range) {
        (Some(r), _) => r,
        (None, Some((a, b))) => (a.floor() as i64, b.ceil() as i64),
        (None, None) => (0, 0),
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let buckets = width_px as usize;

    // Decimate every visible series once; collect the y ranges per axis.
    let mut lines: Vec<(usize, Vec<Vec<[f64; 2]>>)> = Vec::with_capacity(series.len());
    let (mut left, mut right) = (YRange::default(), YRange::default());
    for (i, s) in series.iter_mut().enumerate() {
        if s.spec.hidden {
            continue;
        }
        let Some(buffer) = s.buffer.as_deref_mut() else {
            continue;
        };
        let decimated = if x_min < x_max {
            // Buckets on absolute time: while following, the range slides but the grid
            // stays, so each frame only re-reads the newest bucket.
            let span = i128::from(x_max) - i128::from(x_min);
            let width = i128::try_from(buckets.max(1)).unwrap_or(i128::MAX);
            let bucket_ms = i64::try_from((span + width - 1) / width).unwrap_or(i64::MAX);
            buffer.decimate_grid(x_min, x_max, bucket_ms.max(1))
        } else {
            buffer.decimate(i64::MIN, i64::MAX, buckets)
        };
        let range = if s.spec.right_axis {
            &mut right
        } else {
            &mut left
        };
        for p in decimated.points() {
            range.add(p[1]);
        }
        lines.push((i, decimated.segments().map(<[[f64; 2]]>::to_vec).collect()));
    }
    // Right-axis values are drawn mapped onto the left axis' range; the right axis'
    // labels map them back.
    let map = AxisMap::new(left, right);

    let link = input.link;
    let zone_for_ticks = zone.clone();
    // Grid lines sit on local hours and midnights (the offset in the middle of the range).
    let offset_ms = zone.offset_ms(x_min / 2 + x_max / 2);
    let mut plot = Plot::new(input.id)
        .height(input.height)
        .link_axis(link, Vec2b::new(true, false))
        .link_cursor(link, Vec2b::new(true, false))
        .show_x(false)
        .show_y(false)
        .allow_scroll(false)
        .allow_zoom(Vec2b::new(true, true))
        .allow_double_click_reset(false)
        .x_grid_spacer(move |g| time_marks(&g, offset_ms))
        .x_axis_formatter(move |mark, _| {
            #[allow(clippy::cast_possible_truncation)]
            zone_for_ticks.format_tick(mark.value.round() as i64, mark.step_size.round() as i64)
        });
    if let Some(map) = map {
        plot = plot.custom_y_axes(vec![
            AxisHints::new_y(),
            AxisHints::new_y()
                .placement(HPlacement::Right)
                .formatter(move |mark, _| format_value(map.to_right(mark.value))),
        ]);
    }
    let gaps = input.gaps;
    let forced = input.x_range;
    let response = plot.show(ui, |plot_ui| {
        if let Some((a, b)) = forced {
            #[allow(clippy::cast_precision_loss)]
            plot_ui.set_plot_bounds_x(a as f64..=b as f64);
            plot_ui.set_auto_bounds(Vec2b::new(false, true));
        }
        // Scrolling zooms the time axis around the pointer.
        let scroll = plot_ui.ctx().input(|i| i.smooth_scroll_delta.y);
        if plot_ui.response().hovered() && scroll.abs() > 0.0 {
            let factor = (scroll / 200.0).exp();
            plot_ui.zoom_bounds_around_hovered(egui::vec2(factor, 1.0));
        }
        let bounds = plot_ui.plot_bounds();
        for &(from, to) in gaps {
            #[allow(clippy::cast_precision_loss)]
            let (from, to) = (from as f64, to as f64);
            if to >= bounds.min()[0] && from <= bounds.max()[0] {
                plot_ui.span(
                    Span::new("", from..=to)
                        .fill(theme::GAP_FILL)
                        .border_width(0.0),
                );
            }
        }
        for (i, segments) in lines {
            let Some(s) = series.get(i) else { continue };
            draw_series(
                plot_ui,
                s.spec,
                i,
                segments,
                map.filter(|_| s.spec.right_axis),
            );
        }
        // (`pointer_coordinate` answers wherever the pointer is: only a hover counts.)
        plot_ui
            .response()
            .hovered()
            .then(|| plot_ui.pointer_coordinate().map(|p| p.x))
            .flatten()
    });
    let bounds = response.transform.bounds();
    let x_range = clamp_span(bounds.min()[0], bounds.max()[0]);
    ui.ctx()
        .data_mut(|d| d.insert_temp(input.id.with("x"), x_range));
    #[allow(clippy::cast_precision_loss)]
    let user_moved = forced.is_some_and(|(a, b)| {
        let tolerance = ((b - a) as f64 * 1e-6).max(1.0);
        (x_range.0 - a as f64).abs() > tolerance || (x_range.1 - b as f64).abs() > tolerance
    });
    PlotOutput {
        x_range,
        user_moved,
        reset: response.response.double_clicked(),
        hover_x: response.inner,
        rect: response.response.rect,
    }
}

fn draw_series(
    plot_ui: &mut egui_plot::PlotUi<'_>,
    spec: &SeriesSpec,
    index: usize,
    segments: Vec<Vec<[f64; 2]>>,
    map: Option<AxisMap>,
) {
    let color = theme::series(spec.color);
    let name = spec.label();
    for (k, mut points) in segments.into_iter().enumerate() {
        if let Some(map) = map {
            for p in &mut points {
                p[1] = map.to_left(p[1]);
            }
        }
        let id = ("series", index, k);
        // A lone point cannot be a line: it is a marker whatever the style.
        let markers = spec.style != LineStyle::Line || points.len() == 1;
        if spec.style != LineStyle::Points && points.len() > 1 {
            let line_points = if markers {
                PlotPoints::from(points.clone())
            } else {
                PlotPoints::from(std::mem::take(&mut points))
            };
            plot_ui.line(
                Line::new(name.clone(), line_points)
                    .id(id)
                    .color(color)
                    .width(1.5),
            );
        }
        if markers && !points.is_empty() {
            plot_ui.points(
                Points::new(name.clone(), PlotPoints::from(points))
                    .id(("markers", index, k))
                    .color(color)
                    .shape(MarkerShape::Circle)
                    .filled(true)
                    .radius(2.5),
            );
        }
    }
}

/// A time range `egui_plot` can show: ordered and not narrower than [`MIN_SPAN_MS`].
fn clamp_span(a: f64, b: f64) -> (f64, f64) {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    if !(a.is_finite() && b.is_finite()) {
        return (0.0, 1.0);
    }
    if b - a < MIN_SPAN_MS {
        return (a, a + MIN_SPAN_MS);
    }
    if b - a > MAX_SPAN_MS {
        return (b - MAX_SPAN_MS, b);
    }
    (a, b)
}

/// Min and max of the values on one axis.
#[derive(Debug, Clone, Copy, Default)]
struct YRange {
    min: f64,
    max: f64,
    any: bool,
}

impl YRange {
    fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if self.any {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        } else {
            (self.min, self.max, self.any) = (v, v, true);
        }
    }

    /// The range, widened when it is a single value.
    fn span(self) -> Option<(f64, f64)> {
        if !self.any {
            return None;
        }
        if self.max > self.min {
            Some((self.min, self.max))
        } else {
            let pad = (self.min.abs() * 0.05).max(0.5);
            Some((self.min - pad, self.max + pad))
        }
    }
}

/// The linear map between the right axis' values and the left axis' coordinates.
#[derive(Debug, Clone, Copy)]
struct AxisMap {
    scale: f64,
    offset: f64,
}

impl AxisMap {
    /// A map when both axes have data; right-only plots use the left axis as is.
    fn new(left: YRange, right: YRange) -> Option<Self> {
        let (l0, l1) = left.span()?;
        let (r0, r1) = right.span()?;
        let scale = (l1 - l0) / (r1 - r0);
        Some(Self {
            scale,
            offset: l0 - r0 * scale,
        })
    }

    fn to_left(self, right: f64) -> f64 {
        right * self.scale + self.offset
    }

    fn to_right(self, left: f64) -> f64 {
        (left - self.offset) / self.scale
    }
}

/// A value for a label: at most four decimals, no trailing zeros, scientific notation for
/// the tiny ones ("23.5", "-71", "0.0042", "1.5e-7").
fn format_value(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        return format!("{v:.2e}");
    }
    let text = format!("{v:.4}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// Grid steps of a time axis, in milliseconds: units people read.
const TIME_STEPS: [i64; 26] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000,
    120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000,
    86_400_000,
];

/// Time-axis grid marks: three line weights on steps people read (1 s, 15 s, 1 min, 1 h,
/// 1 day, ...), on local time: a mark sits where `value + offset_ms` is a multiple of its
/// step, so hours and midnights are the zone's (in India too). Steps of a day or more are
/// whole days (multiples of 7 or 30 past a month).
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn time_marks(input: &GridInput, offset_ms: i64) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || input.base_step_size <= 0.0 {
        return Vec::new();
    }
    let step_at_least = |min: f64| -> i64 {
        TIME_STEPS
            .iter()
            .copied()
            .find(|&s| s as f64 >= min)
            .unwrap_or_else(|| {
                // Whole days past the table: 7, 30, 90, 365 days and multiples of a year.
                let days = (min / 86_400_000.0).ceil() as i64;
                let nice = [2, 7, 14, 30, 90, 180, 365]
                    .into_iter()
                    .find(|&d| d >= days)
                    .unwrap_or_else(|| days.div_euclid(365).saturating_add(1).saturating_mul(365));
                nice.saturating_mul(86_400_000)
            })
    };
    let small = step_at_least(input.base_step_size);
    let medium = step_at_least(small as f64 * 4.0);
    let large = step_at_least(medium as f64 * 4.0);
    let mut marks = Vec::new();
    // Each mark once, with the largest step it sits on.
    let count = ((hi - lo) / small as f64).ceil();
    if count > 10_000.0 {
        return marks;
    }
    let offset = offset_ms as f64;
    let first = ((lo + offset) / small as f64).ceil() as i64;
    let last = ((hi + offset) / small as f64).floor() as i64;
    for k in first..=last {
        let local = k.saturating_mul(small);
        let step = if local % large == 0 {
            large
        } else if local % medium == 0 {
            medium
        } else {
            small
        };
        marks.push(GridMark {
            value: local.saturating_sub(offset_ms) as f64,
            step_size: step as f64,
        });
    }
    marks
}

/// What the user did in a plot's legend.
#[derive(Debug, Clone, PartialEq)]
pub enum LegendAction {
    /// Something about a series' looks changed (hidden, colour, style, axis): save it.
    Changed,
    /// Move series `series` to another plot (`None`: a new plot).
    Move {
        /// The series index in the plot.
        series: usize,
        /// The target plot.
        to: Option<usize>,
    },
    /// Remove series `series`.
    Remove(usize),
}

/// What the legend says of each series next to its name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Readout {
    /// Nothing received yet.
    NoData,
    /// The point nearest to the hovered time.
    Hover(i64, f64),
    /// The newest point; `stale` when it is older than the series' usual pace allows
    /// (the device went quiet: said in words, not only by colour).
    Latest {
        /// Its time.
        ts: i64,
        /// Its value.
        value: f64,
        /// Older than expected.
        stale: bool,
    },
}

/// The legend of one plot, which is also the readout: each series' colour, name and its
/// newest value with its age, or under the pointer its nearest value and time. Click
/// toggles a series; the menu changes colour, style and axis, moves or removes it.
pub fn legend_ui(
    ui: &mut Ui,
    plot: usize,
    plots: usize,
    specs: &mut [SeriesSpec],
    readout: &[Readout],
    zone: &Zone,
    now_ms: i64,
) -> Option<LegendAction> {
    let mut action = None;
    ui.horizontal_wrapped(|ui| {
        for (i, spec) in specs.iter_mut().enumerate() {
            let color = theme::series(spec.color);
            let mut text_color = if spec.hidden {
                ui.visuals().weak_text_color()
            } else {
                ui.visuals().text_color()
            };
            let mut text = spec.label();
            match readout.get(i) {
                Some(Readout::Hover(ts, v)) => {
                    let _ = write!(text, " = {} at {}", format_value(*v), zone.format(*ts));
                }
                Some(Readout::Latest { ts, value, stale }) => {
                    let age = crate::plot::window::format_duration(
                        (now_ms.saturating_sub(*ts) / 1_000).saturating_mul(1_000),
                    );
                    let _ = write!(text, " = {} ({age} ago", format_value(*value));
                    if *stale {
                        text.push_str(", no new data");
                        text_color = theme::STALE;
                    }
                    text.push(')');
                }
                Some(Readout::NoData) => text.push_str(" (no data)"),
                None => {}
            }
            let chip = ui.horizontal(|ui| {
                swatch(ui, if spec.hidden { Color32::GRAY } else { color });
                ui.add(
                    egui::Button::new(RichText::new(text).color(text_color))
                        .frame(false)
                        .sense(egui::Sense::click()),
                )
            });
            let response = chip.inner.on_hover_text(if spec.hidden {
                "Hidden: click to show. Right-click for colour, style, axis."
            } else {
                "Click to hide. Right-click for colour, style, axis."
            });
            if response.clicked() {
                spec.hidden = !spec.hidden;
                action = Some(LegendAction::Changed);
            }
            response.context_menu(|ui| {
                if let Some(a) = series_menu(ui, spec, i, plot, plots) {
                    action = Some(a);
                    ui.close();
                }
            });
            ui.add_space(8.0);
        }
    });
    action
}

fn series_menu(
    ui: &mut Ui,
    spec: &mut SeriesSpec,
    index: usize,
    plot: usize,
    plots: usize,
) -> Option<LegendAction> {
    let mut action = None;
    ui.label(RichText::new(spec.label()).strong());
    ui.horizontal(|ui| {
        ui.label("Colour");
        for (c, name) in PALETTE.into_iter().zip(PALETTE_NAMES) {
            let selected = spec.color == c;
            let (rect, response) =
                ui.allocate_exact_size(egui::vec2(16.0, 16.0), egui::Sense::click());
            response.widget_info(|| {
                egui::WidgetInfo::selected(egui::Role::RadioButton, true, selected, name)
            });
            let response = response.on_hover_text(name);
            ui.painter().rect_filled(rect, 3.0, theme::series(c));
            if selected {
                ui.painter().rect_stroke(
                    rect,
                    3.0,
                    egui::Stroke::new(2.0, ui.visuals().strong_text_color()),
                    egui::StrokeKind::Outside,
                );
            }
            if response.clicked() {
                spec.color = c;
                action = Some(LegendAction::Changed);
            }
        }
    });
    for style in LineStyle::ALL {
        if ui.radio(spec.style == style, style.label()).clicked() {
            spec.style = style;
            action = Some(LegendAction::Changed);
        }
    }
    if ui.checkbox(&mut spec.right_axis, "Right Y axis").changed() {
        action = Some(LegendAction::Changed);
    }
    if ui.checkbox(&mut spec.hidden, "Hidden").changed() {
        action = Some(LegendAction::Changed);
    }
    ui.separator();
    ui.menu_button("Move to", |ui| {
        for p in (0..plots).filter(|&p| p != plot) {
            if ui.button(format!("Plot {}", p + 1)).clicked() {
                action = Some(LegendAction::Move {
                    series: index,
                    to: Some(p),
                });
            }
        }
        if ui.button("A new plot").clicked() {
            action = Some(LegendAction::Move {
                series: index,
                to: None,
            });
        }
    });
    if ui.button("Remove from the plot").clicked() {
        action = Some(LegendAction::Remove(index));
    }
    action
}

/// A small filled square of a series' colour.
fn swatch(ui: &mut Ui, color: Color32) {
    let size = ui.text_style_height(&egui::TextStyle::Body) * 0.7;
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    ui.painter().rect_filled(rect, 2.0, color);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(lo: f64, hi: f64, base: f64) -> Vec<GridMark> {
        time_marks(
            &GridInput {
                bounds: (lo, hi),
                base_step_size: base,
            },
            0,
        )
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)]
    fn grid_hours_are_local_hours_in_a_half_hour_zone() {
        let offset = 5 * 3_600_000 + 1_800_000; // India, +05:30
        let m = time_marks(
            &GridInput {
                bounds: (0.0, 6.0 * 3_600_000.0),
                base_step_size: 3_000_000.0,
            },
            offset,
        );
        assert!(!m.is_empty());
        for g in &m {
            assert_eq!((g.value as i64 + offset) % 3_600_000, 0, "{g:?}");
        }
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)]
    fn time_grid_marks_sit_on_readable_steps_with_three_weights() {
        let m = marks(0.0, 3_600_000.0, 40_000.0);
        assert!(!m.is_empty());
        // The smallest step at least 40 s is 60 s; every mark is a whole minute.
        assert!(m.iter().all(|g| g.value % 60_000.0 == 0.0), "{m:?}");
        let steps: std::collections::BTreeSet<i64> = m.iter().map(|g| g.step_size as i64).collect();
        assert_eq!(
            steps.into_iter().collect::<Vec<_>>(),
            [60_000, 300_000, 1_800_000]
        );
        assert!(marks(0.0, 1.0, 0.0).is_empty());
        assert!(marks(f64::NAN, 1.0, 1.0).is_empty());
        let days = marks(0.0, 400.0 * 86_400_000.0, 20.0 * 86_400_000.0);
        assert!(days.iter().all(|g| g.value % 86_400_000.0 == 0.0));
    }

    #[test]
    fn the_right_axis_maps_onto_the_left_and_back() {
        let mut left = YRange::default();
        left.add(0.0);
        left.add(10.0);
        let mut right = YRange::default();
        right.add(1000.0);
        right.add(2000.0);
        let map = AxisMap::new(left, right).unwrap();
        assert!((map.to_left(1500.0) - 5.0).abs() < 1e-9);
        assert!((map.to_right(map.to_left(1234.5)) - 1234.5).abs() < 1e-9);
        assert!(AxisMap::new(YRange::default(), right).is_none());
        let mut flat = YRange::default();
        flat.add(3.0);
        assert!(flat.span().is_some_and(|(a, b)| a < 3.0 && b > 3.0));
    }

    #[test]
    fn values_are_labelled_without_float_noise_or_trailing_zeros() {
        assert_eq!(format_value(23.5), "23.5");
        assert_eq!(format_value(-71.0), "-71");
        assert_eq!(format_value(0.1 + 0.2), "0.3");
        assert_eq!(format_value(0.0042), "0.0042");
        assert_eq!(format_value(1.5e-7), "1.50e-7");
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(1e16), "10000000000000000");
    }

    #[test]
    fn spans_are_ordered_finite_and_not_degenerate() {
        assert_eq!(clamp_span(5.0, 1.0), (1.0, 5.0));
        assert_eq!(clamp_span(2.0, 2.0), (2.0, 3.0));
        assert_eq!(clamp_span(f64::NAN, 1.0), (0.0, 1.0));
    }
}
