//! One headless egui frame for the UI benches (`table.rs`, `plots.rs`): `Context::run_ui`
//! with the bench's content inside a `CentralPanel` on a 1280×800 screen, then
//! `Context::tessellate` (no GPU, no window). Frame `n` of frames `frame_time` apart runs at
//! `n × frame_time` on the context's clock, so animations move as in the app.
//!
//! [`Medians`] sums up several frames for the printed breakdowns: each part's own median
//! (so the parts need not add up to the median total), in milliseconds ([`ms`]).

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The screen every frame is drawn on, in points (1.0 pixels per point).
pub const SCREEN: egui::Vec2 = egui::vec2(1280.0, 800.0);

/// What one frame drew and where its time went.
#[derive(Debug, Default, Clone, Copy)]
pub struct FrameStats {
    /// Shapes the frame drew.
    pub shapes: usize,
    /// Vertices they tessellated to.
    pub vertices: usize,
    /// The bench's own work before drawing (applying or streaming data); [`draw`] leaves it
    /// zero for the caller to fill in.
    pub data: Duration,
    /// `run_ui`: laying out and drawing the content.
    pub ui: Duration,
    /// `tessellate`: turning the shapes into meshes.
    pub tessellate: Duration,
}

impl FrameStats {
    /// The whole frame.
    pub fn total(&self) -> Duration {
        self.data + self.ui + self.tessellate
    }
}

/// Draws frame `frame` (frames `frame_time` apart) with `content` inside a `CentralPanel`
/// and tessellates its shapes.
pub fn draw(
    ctx: &egui::Context,
    frame: u64,
    frame_time: Duration,
    mut content: impl FnMut(&mut egui::Ui),
) -> FrameStats {
    // Frame numbers stay far below f64's exact range.
    #[allow(clippy::cast_precision_loss)]
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, SCREEN)),
        time: Some(frame as f64 * frame_time.as_secs_f64()),
        predicted_dt: frame_time.as_secs_f32(),
        ..Default::default()
    };
    let start = Instant::now();
    let output = ctx.run_ui(input, |ui| {
        egui::CentralPanel::default().show(ui, &mut content);
    });
    let drawn = Instant::now();
    let shapes = output.shapes.len();
    let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
    let tessellated = Instant::now();
    let vertices = primitives
        .iter()
        .map(|p| match &p.primitive {
            egui::epaint::Primitive::Mesh(mesh) => mesh.vertices.len(),
            egui::epaint::Primitive::Callback(_) => 0,
        })
        .sum();
    black_box(primitives);
    FrameStats {
        shapes,
        vertices,
        data: Duration::ZERO,
        ui: drawn - start,
        tessellate: tessellated - drawn,
    }
}

/// The median of `durations` (the upper one of an even count); zero for none.
pub fn median(mut durations: Vec<Duration>) -> Duration {
    durations.sort_unstable();
    durations
        .get(durations.len() / 2)
        .copied()
        .unwrap_or_default()
}

/// `d` in milliseconds, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Each part's median over several frames.
#[derive(Debug, Default, Clone, Copy)]
pub struct Medians {
    /// The whole frame ([`FrameStats::total`]).
    pub total: Duration,
    /// The bench's own work ([`FrameStats::data`]).
    pub data: Duration,
    /// `run_ui`.
    pub ui: Duration,
    /// `tessellate`.
    pub tessellate: Duration,
}

impl Medians {
    /// The medians of `frames`.
    pub fn of<'a>(frames: impl IntoIterator<Item = &'a FrameStats>) -> Self {
        let frames: Vec<&FrameStats> = frames.into_iter().collect();
        let pick = |f: fn(&FrameStats) -> Duration| median(frames.iter().map(|s| f(s)).collect());
        Self {
            total: pick(FrameStats::total),
            data: pick(|s| s.data),
            ui: pick(|s| s.ui),
            tessellate: pick(|s| s.tessellate),
        }
    }

    /// The medians in milliseconds, e.g. `1.234 ms: apply 0.100, run_ui 0.900, tessellate
    /// 0.234` with `data_name` "apply" naming the bench's own work.
    pub fn split(&self, data_name: &str) -> String {
        format!(
            "{:.3} ms: {data_name} {:.3}, run_ui {:.3}, tessellate {:.3}",
            ms(self.total),
            ms(self.data),
            ms(self.ui),
            ms(self.tessellate),
        )
    }
}
