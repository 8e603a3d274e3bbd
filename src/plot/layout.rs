//! The plot layout: which series are drawn in which plot, how, and over which time window.
//!
//! The Plots view edits one [`Layout`]; the settings file keeps the current one (restored
//! on the next start) and any number of named ones ([`PlotLayouts`]). A layout names
//! entities by id and remembers their names for the legend, so it opens before the entity
//! table has loaded. Series are unique per plot (the same key of the same entity may be
//! drawn in two plots, for instance once raw and once beside other series).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::protocol::EntityId;

use super::window::{AggFn, TimeWindow};

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LineStyle {
    /// A line through the points.
    #[default]
    Line,
    /// Markers only.
    Points,
    /// A line with markers.
    LineAndPoints,
}

impl LineStyle {
    /// Every choice, in menu order.
    pub const ALL: [LineStyle; 3] = [LineStyle::Line, LineStyle::Points, LineStyle::LineAndPoints];

    /// The menu label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            LineStyle::Line => "Line",
            LineStyle::Points => "Points",
            LineStyle::LineAndPoints => "Line and points",
        }
    }
}

/// The names of the [`PALETTE`] colours (menus and screen readers).
pub const PALETTE_NAMES: [&str; 10] = [
    "blue", "orange", "green", "magenta", "violet", "mustard", "cyan", "brick", "slate", "brown",
];

/// Series colours, assigned in turn (distinguishable on dark and light backgrounds, and
/// for the common colour-vision deficiencies in their first six).
pub const PALETTE: [[u8; 3]; 10] = [
    [0x4e, 0x9a, 0xf0], // blue
    [0xf0, 0x8c, 0x28], // orange
    [0x3c, 0xb4, 0x78], // green
    [0xe0, 0x4b, 0x8c], // magenta
    [0xa0, 0x78, 0xf0], // violet
    [0xc8, 0xb4, 0x28], // mustard
    [0x28, 0xb4, 0xc8], // cyan
    [0xd2, 0x50, 0x3c], // brick
    [0x8c, 0xa0, 0xb4], // slate
    [0x96, 0x64, 0x32], // brown
];

/// One time series in a plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSpec {
    /// The entity.
    pub entity: EntityId,
    /// Its name when the series was added (for the legend).
    pub entity_name: String,
    /// The time-series key.
    pub key: String,
    /// Colour (RGB).
    pub color: [u8; 3],
    /// Line, points or both.
    #[serde(default)]
    pub style: LineStyle,
    /// Drawn against the plot's second (right) Y axis.
    #[serde(default)]
    pub right_axis: bool,
    /// Hidden from the plot (toggled in the legend).
    #[serde(default)]
    pub hidden: bool,
}

impl SeriesSpec {
    /// A visible line series in `color`.
    #[must_use]
    pub fn new(entity: EntityId, entity_name: &str, key: &str, color: [u8; 3]) -> Self {
        Self {
            entity,
            entity_name: entity_name.to_owned(),
            key: key.to_owned(),
            color,
            style: LineStyle::Line,
            right_axis: false,
            hidden: false,
        }
    }

    /// The legend and column name: "Boiler 3: temperature".
    #[must_use]
    pub fn label(&self) -> String {
        format!("{}: {}", self.entity_name, self.key)
    }

    /// Whether this is the same entity and key as `other`.
    #[must_use]
    pub fn same_source(&self, other: &SeriesSpec) -> bool {
        self.entity == other.entity && self.key == other.key
    }
}

/// One plot: its series share the time axis and one (or two) Y axes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PlotSpec {
    /// The series, in legend order.
    pub series: Vec<SeriesSpec>,
}

/// The Plots view's layout and time settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// The name it is saved under (empty for the unsaved current layout).
    #[serde(default)]
    pub name: String,
    /// The time window.
    #[serde(default)]
    pub window: TimeWindow,
    /// The aggregation function.
    #[serde(default)]
    pub agg: AggFn,
    /// The aggregation interval; `None` picks the default for the window.
    #[serde(default)]
    pub interval_ms: Option<i64>,
    /// The plots, top to bottom.
    #[serde(default)]
    pub plots: Vec<PlotSpec>,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            name: String::new(),
            window: TimeWindow::default(),
            agg: AggFn::None,
            interval_ms: None,
            plots: Vec::new(),
        }
    }
}

impl Layout {
    /// An empty layout over `window`.
    #[must_use]
    pub fn with_window(window: TimeWindow) -> Self {
        Self {
            window,
            ..Self::default()
        }
    }

    /// Every series, with its plot index.
    pub fn series(&self) -> impl Iterator<Item = (usize, &SeriesSpec)> + '_ {
        self.plots
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.series.iter().map(move |s| (i, s)))
    }

    /// How many series all plots hold.
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.plots.iter().map(|p| p.series.len()).sum()
    }

    /// The colour the next series gets: the first palette colour no series uses yet.
    #[must_use]
    pub fn next_color(&self) -> [u8; 3] {
        let used: Vec<[u8; 3]> = self.series().map(|(_, s)| s.color).collect();
        PALETTE
            .iter()
            .find(|c| !used.contains(c))
            .copied()
            .unwrap_or(PALETTE[self.series_count() % PALETTE.len()])
    }

    /// Adds a series of `entity`'s `key` to plot `plot` (a new plot at the bottom when
    /// `None` or out of range), with the next colour. Returns false when that plot already
    /// draws it.
    pub fn add(&mut self, plot: Option<usize>, entity: &EntityId, name: &str, key: &str) -> bool {
        let spec = SeriesSpec::new(entity.clone(), name, key, self.next_color());
        let index = match plot {
            Some(i) if i < self.plots.len() => i,
            _ => {
                self.plots.push(PlotSpec::default());
                self.plots.len() - 1
            }
        };
        let Some(target) = self.plots.get_mut(index) else {
            return false;
        };
        if target.series.iter().any(|s| s.same_source(&spec)) {
            return false;
        }
        target.series.push(spec);
        true
    }

    /// Removes series `series` of plot `plot`; an emptied plot goes too.
    pub fn remove(&mut self, plot: usize, series: usize) {
        if let Some(p) = self.plots.get_mut(plot) {
            if series < p.series.len() {
                p.series.remove(series);
            }
            if p.series.is_empty() {
                self.plots.remove(plot);
            }
        }
    }

    /// Moves series `series` of plot `from` to plot `to` (a new plot at the bottom when
    /// `None` or out of range). Nothing happens when the target already draws it.
    pub fn move_series(&mut self, from: usize, series: usize, to: Option<usize>) {
        let Some(spec) = self
            .plots
            .get(from)
            .and_then(|p| p.series.get(series))
            .cloned()
        else {
            return;
        };
        let target = to.filter(|&t| t < self.plots.len() && t != from);
        if let Some(t) = target
            && self
                .plots
                .get(t)
                .is_some_and(|p| p.series.iter().any(|s| s.same_source(&spec)))
        {
            return;
        }
        if target.is_none() && to == Some(from) {
            return;
        }
        match target {
            Some(t) => {
                if let Some(p) = self.plots.get_mut(t) {
                    p.series.push(spec);
                }
            }
            None => self.plots.push(PlotSpec { series: vec![spec] }),
        }
        self.remove(from, series);
    }

    /// Puts every series in one plot (overlaid), keeping their order.
    pub fn overlay_all(&mut self) {
        let mut all: Vec<SeriesSpec> = Vec::new();
        for spec in self.plots.drain(..).flat_map(|p| p.series) {
            if !all.iter().any(|s| s.same_source(&spec)) {
                all.push(spec);
            }
        }
        if !all.is_empty() {
            self.plots.push(PlotSpec { series: all });
        }
    }

    /// Gives every series a plot of its own (stacked), keeping their order.
    pub fn stack_all(&mut self) {
        let all: Vec<SeriesSpec> = self.plots.drain(..).flat_map(|p| p.series).collect();
        self.plots = all
            .into_iter()
            .map(|s| PlotSpec { series: vec![s] })
            .collect();
    }

    /// The keys to fetch per entity (each once, in first-use order).
    #[must_use]
    pub fn keys_by_entity(&self) -> BTreeMap<EntityId, Vec<String>> {
        let mut out: BTreeMap<EntityId, Vec<String>> = BTreeMap::new();
        for (_, s) in self.series() {
            let keys = out.entry(s.entity.clone()).or_default();
            if !keys.contains(&s.key) {
                keys.push(s.key.clone());
            }
        }
        out
    }
}

/// The layouts the settings file keeps.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PlotLayouts {
    /// The layout shown when the Plots view was last used.
    pub current: Option<Layout>,
    /// Named layouts, in the order they were saved.
    pub saved: Vec<Layout>,
}

impl PlotLayouts {
    /// Saves `layout` under `name`, replacing a saved layout of that name.
    pub fn save_as(&mut self, name: &str, layout: &Layout) {
        let mut layout = layout.clone();
        name.trim().clone_into(&mut layout.name);
        match self.saved.iter_mut().find(|l| l.name == layout.name) {
            Some(slot) => *slot = layout,
            None => self.saved.push(layout),
        }
    }

    /// Deletes the saved layout called `name`.
    pub fn delete(&mut self, name: &str) {
        self.saved.retain(|l| l.name != name);
    }

    /// The saved layout called `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Layout> {
        self.saved.iter().find(|l| l.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::EntityType;

    fn device(n: u128) -> EntityId {
        EntityId::new(EntityType::Device, uuid::Uuid::from_u128(n))
    }

    #[test]
    fn adding_a_series_twice_to_one_plot_is_refused_but_another_plot_may_draw_it() {
        let mut layout = Layout::default();
        assert!(layout.add(None, &device(1), "Boiler", "temperature"));
        assert!(!layout.add(Some(0), &device(1), "Boiler", "temperature"));
        assert!(layout.add(None, &device(1), "Boiler", "temperature"));
        assert_eq!(layout.plots.len(), 2);
        assert_eq!(layout.plots[0].series[0].label(), "Boiler: temperature");
    }

    #[test]
    fn each_new_series_gets_an_unused_palette_colour() {
        let mut layout = Layout::default();
        for k in 0..3 {
            layout.add(Some(0), &device(1), "B", &format!("k{k}"));
        }
        let colours: Vec<_> = layout.series().map(|(_, s)| s.color).collect();
        assert_eq!(colours, PALETTE[..3]);
        layout.remove(0, 0);
        assert_eq!(layout.next_color(), PALETTE[0], "a freed colour is reused");
        for k in 0..20 {
            layout.add(Some(0), &device(2), "C", &format!("k{k}"));
        }
        assert_eq!(
            layout.series_count(),
            22,
            "more series than colours still works"
        );
    }

    #[test]
    fn moving_stacking_and_overlaying_keep_every_series_once() {
        let mut layout = Layout::default();
        layout.add(None, &device(1), "A", "t");
        layout.add(Some(0), &device(2), "B", "t");
        layout.add(Some(0), &device(2), "B", "h");
        layout.move_series(0, 1, None);
        assert_eq!(layout.plots.len(), 2);
        assert_eq!(layout.plots[1].series[0].entity, device(2));
        layout.move_series(1, 0, Some(0));
        assert_eq!(layout.plots.len(), 1, "the emptied plot went");
        assert_eq!(layout.series_count(), 3);
        layout.stack_all();
        assert_eq!(layout.plots.len(), 3);
        layout.overlay_all();
        assert_eq!((layout.plots.len(), layout.series_count()), (1, 3));
        let keys = layout.keys_by_entity();
        assert_eq!(keys[&device(2)], ["h", "t"]);
        layout.remove(0, 0);
        layout.remove(0, 0);
        layout.remove(0, 0);
        assert!(layout.plots.is_empty());
    }

    #[test]
    fn layouts_round_trip_through_toml_and_save_as_replaces_by_name() {
        let mut layout = Layout::with_window(TimeWindow::Realtime { last_ms: 300_000 });
        layout.agg = AggFn::Avg;
        layout.interval_ms = Some(5_000);
        layout.add(None, &device(7), "Pump \"north\"", "flow");
        layout.plots[0].series[0].right_axis = true;
        let mut layouts = PlotLayouts {
            current: Some(layout.clone()),
            saved: Vec::new(),
        };
        layouts.save_as(" Site B ", &layout);
        layouts.save_as("Site B", &Layout::default());
        assert_eq!(layouts.saved.len(), 1);
        assert!(layouts.get("Site B").is_some_and(|l| l.plots.is_empty()));
        let text = toml::to_string(&layouts).unwrap();
        let back: PlotLayouts = toml::from_str(&text).unwrap();
        assert_eq!(back, layouts, "{text}");
        layouts.delete("Site B");
        assert!(layouts.saved.is_empty());
    }
}
