//! PNG charts drawn with plotters' bitmap backend and an embedded font, so text renders the same
//! on every machine without system fonts.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::rosenbrock::{self, MINIMUM, START};

/// DejaVu Sans (see `assets/LICENSE-DejaVuSans`).
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
const SIZE: (u32, u32) = (1400, 740);
/// Width of the chart; the legend takes the rest.
const CHART_WIDTH: u32 = 1040;
/// Tableau's ten colours and seven more: distinct, and readable on the pale heat map.
const PALETTE: [RGBColor; 17] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(230, 180, 0),
    RGBColor(0, 0, 0),
    RGBColor(128, 0, 64),
    RGBColor(0, 128, 96),
    RGBColor(255, 0, 255),
    RGBColor(96, 64, 0),
];
/// The part of the plane the Rosenbrock chart shows.
const X_RANGE: std::ops::Range<f64> = -2.0..2.0;
const Y_RANGE: std::ops::Range<f64> = -1.0..3.0;
const HEATMAP_CELLS: usize = 160;
/// Steps between the dots on a Rosenbrock path, so the dots' spacing shows each one's speed.
pub const MARK_EVERY: usize = 100;

/// A chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {message}")]
pub struct PlotError {
    path: String,
    message: String,
}

/// One named line on a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series<'a, P> {
    /// The legend entry.
    pub label: String,
    /// The points, in drawing order.
    pub points: &'a [P],
}

/// Draws every optimizer's training-loss curve on one chart with a logarithmic loss axis.
pub fn loss_curves(path: &Path, series: &[Series<'_, (f64, f32)>]) -> Result<(), PlotError> {
    draw(path, "MLP on 8x8 handwritten digits: training loss", series, |area| {
        let points = || series.iter().flat_map(|s| s.points.iter());
        let epochs = points().map(|p| p.0).fold(1.0, f64::max);
        let low = points().map(|p| p.1 as f64).fold(f64::INFINITY, f64::min).max(1e-6);
        let high = points().map(|p| p.1 as f64).fold(low * 10.0, f64::max);
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..epochs, (low * 0.8..high * 1.2).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("mean minibatch cross-entropy (log scale)")
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 18))
            .draw()?;
        for (s, color) in series.iter().zip(PALETTE.iter().cycle()) {
            let line = s.points.iter().map(|&(epoch, loss)| (epoch, loss as f64));
            chart.draw_series(LineSeries::new(line, color.stroke_width(2)))?;
        }
        Ok(())
    })
}

/// Draws the optimizers' paths from [`START`] over a heat map of the Rosenbrock function.
///
/// Dots mark every [`MARK_EVERY`] steps and a larger one the end; a path is cut where it first
/// leaves the visible square.
pub fn rosenbrock_paths(path: &Path, series: &[Series<'_, [f64; 2]>]) -> Result<(), PlotError> {
    let title = format!("Rosenbrock (1 - x)² + 100 (y - x²)² from (-1.5, 2) toward ×; a dot every {MARK_EVERY} steps");
    draw(path, &title, series, |area| {
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(X_RANGE, Y_RANGE)?;
        chart.configure_mesh().disable_mesh().x_desc("x").y_desc("y").label_style((FAMILY, 16)).draw()?;
        chart.draw_series(heatmap_cells())?;
        let visible = |s: &Series<'_, [f64; 2]>| {
            let inside = |p: &&[f64; 2]| X_RANGE.contains(&p[0]) && Y_RANGE.contains(&p[1]);
            s.points.iter().take_while(inside).map(|p| (p[0], p[1])).collect::<Vec<_>>()
        };
        for (s, color) in series.iter().zip(PALETTE.iter().cycle()) {
            chart.draw_series(LineSeries::new(visible(s), color.stroke_width(2)))?;
        }
        // Markers go on top of every line, so paths that share the valley stay distinguishable.
        for (s, color) in series.iter().zip(PALETTE.iter().cycle()) {
            let points = visible(s);
            let dots = points.iter().step_by(MARK_EVERY).skip(1).map(|&p| Circle::new(p, 3, color.filled()));
            chart.draw_series(dots)?;
            if points.len() == s.points.len()
                && let Some(&end) = points.last()
            {
                chart.draw_series([Circle::new(end, 7, color.filled()), Circle::new(end, 7, BLACK.stroke_width(1))])?;
            }
        }
        chart.draw_series([Circle::new((START[0], START[1]), 7, BLACK.filled())])?;
        chart.draw_series([Cross::new((MINIMUM[0], MINIMUM[1]), 9, BLACK.stroke_width(3))])?;
        Ok(())
    })
}

/// Cells shaded in bands of `ln(1 + f)`, pale in the valley and grey up its walls, so the bands'
/// edges read as contour lines and the coloured paths stand out.
fn heatmap_cells() -> impl Iterator<Item = Rectangle<(f64, f64)>> {
    const BANDS: f64 = 16.0;
    let (dx, dy) =
        ((X_RANGE.end - X_RANGE.start) / HEATMAP_CELLS as f64, (Y_RANGE.end - Y_RANGE.start) / HEATMAP_CELLS as f64);
    let corners = [[X_RANGE.start, Y_RANGE.start], [X_RANGE.end, Y_RANGE.start], [X_RANGE.start, Y_RANGE.end]];
    let top = corners.map(|corner| rosenbrock::value(corner).ln_1p()).into_iter().fold(0.0, f64::max);
    (0..HEATMAP_CELLS * HEATMAP_CELLS).map(move |cell| {
        let (x, y) =
            (X_RANGE.start + (cell % HEATMAP_CELLS) as f64 * dx, Y_RANGE.start + (cell / HEATMAP_CELLS) as f64 * dy);
        let height = rosenbrock::value([x + dx / 2.0, y + dy / 2.0]).ln_1p() / top;
        let shade = (height * BANDS).floor() / BANDS;
        let mix = |low: f64, high: f64| (low + (high - low) * shade.clamp(0.0, 1.0)) as u8;
        Rectangle::new(
            [(x, y), (x + dx, y + dy)],
            RGBColor(mix(255.0, 140.0), mix(255.0, 144.0), mix(250.0, 155.0)).filled(),
        )
    })
}

type Root<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>>;

/// Draws a titled PNG: `paint` fills the chart area, and the legend, beside it rather than on
/// top of the data, names `series` in palette order.
fn draw<P>(
    path: &Path,
    title: &str,
    series: &[Series<'_, P>],
    paint: impl FnOnce(&Root<'_>) -> DrawResult,
) -> Result<(), PlotError> {
    static FONT_REGISTERED: OnceLock<bool> = OnceLock::new();
    let fail = |message: String| PlotError { path: path.display().to_string(), message };
    if !FONT_REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok()) {
        return Err(fail("the embedded font does not parse".into()));
    }
    let mut pixels = vec![0; SIZE.0 as usize * SIZE.1 as usize * 3];
    let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
    let drawn = (|| {
        root.fill(&WHITE)?;
        let body = root.margin(14, 6, 6, 6).titled(title, (FAMILY, 26))?;
        let (chart, legend) = body.split_horizontally(CHART_WIDTH);
        paint(&chart)?;
        for (row, (s, color)) in series.iter().zip(PALETTE.iter().cycle()).enumerate() {
            let y = 40 + 28 * row as i32;
            legend.draw(&PathElement::new([(0, y), (28, y)], color.stroke_width(4)))?;
            legend.draw(&Text::new(s.label.as_str(), (36, y - 10), (FAMILY, 17)))?;
        }
        root.present()
    })();
    drawn.map_err(|e| fail(e.to_string()))?;
    drop(root);
    write_png(path, &pixels).map_err(|e| fail(e.to_string()))
}

/// Encodes 8-bit RGB `pixels` of [`SIZE`] as a PNG file (the `png` crate alone, rather than
/// plotters' encoder, which pulls in a whole image library).
fn write_png(path: &Path, pixels: &[u8]) -> Result<(), png::EncodingError> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, SIZE.0, SIZE.1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()
}
