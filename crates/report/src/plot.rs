//! SVG plots (via `plotters`' SVG backend), each returned as a self-contained `<svg>` string.
//!
//! Every plot draws its data as SVG primitives a test can count: scatter points are `<circle>`s, lines
//! `<polyline>`s, the dominated region a `<polygon>`; axis labels and titles are `<text>`.

use crate::ReportError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;

/// Plot size in pixels.
pub const SIZE: (u32, u32) = (560, 380);
/// Per-choice plots are smaller (one per dimension).
pub const SMALL: (u32, u32) = (500, 300);

const FRONT: RGBColor = RGBColor(31, 119, 180);
const OTHER: RGBColor = RGBColor(150, 150, 150);
const REF: RGBColor = RGBColor(214, 39, 40);
const SERIES: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

fn err(plot: &str) -> impl Fn(String) -> ReportError + '_ {
    move |msg| ReportError::Plot {
        plot: plot.to_owned(),
        msg,
    }
}

/// A padded axis range covering `values` (and ±1 around a single value).
pub fn range(values: impl IntoIterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad)..(hi + pad)
}

fn render(
    size: (u32, u32),
    name: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<String, ReportError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(name)(e.to_string()))?;
        draw(&root).map_err(err(name))?;
        root.present().map_err(|e| err(name)(e.to_string()))?;
    }
    Ok(buf)
}

/// A two-objective scatter: every candidate trial in grey, the non-dominated ones in blue joined by their
/// attainment staircase (when `staircase` is given, points in the order to join), the region they dominate up to
/// the reference point shaded, and the reference point as a red cross.
pub struct FrontPlot<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub others: &'a [(f64, f64)],
    pub front: &'a [(f64, f64)],
    /// Whether larger is better on each axis (for the staircase and the shading).
    pub maximise: (bool, bool),
    pub staircase: bool,
    pub reference: Option<(f64, f64)>,
    /// Axis ranges to show (points outside are left out and counted in the legend); default: everything.
    pub view: Option<(Range<f64>, Range<f64>)>,
}

impl FrontPlot<'_> {
    pub fn svg(&self) -> Result<String, ReportError> {
        let name = self.title;
        render(SIZE, name, |root| {
            let refs = self.reference.into_iter();
            let (xr, yr) = match &self.view {
                Some((x, y)) => (x.clone(), y.clone()),
                None => (
                    range(
                        self.others
                            .iter()
                            .chain(self.front)
                            .map(|p| p.0)
                            .chain(refs.clone().map(|r| r.0)),
                    ),
                    range(
                        self.others
                            .iter()
                            .chain(self.front)
                            .map(|p| p.1)
                            .chain(refs.map(|r| r.1)),
                    ),
                ),
            };
            let shown = |p: &&(f64, f64)| xr.contains(&p.0) && yr.contains(&p.1);
            let hidden = self
                .others
                .iter()
                .chain(self.front)
                .filter(|p| !shown(p))
                .count();
            let mut chart = ChartBuilder::on(root)
                .caption(self.title, ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(42)
                .y_label_area_size(62)
                .build_cartesian_2d(xr.clone(), yr.clone())
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc(self.x_label)
                .y_desc(self.y_label)
                .light_line_style(WHITE.mix(0.0))
                .label_style(("sans-serif", 14))
                .axis_desc_style(("sans-serif", 15))
                .draw()
                .map_err(|e| e.to_string())?;
            let front: Vec<(f64, f64)> = self.front.to_vec();
            if self.staircase && !front.is_empty() {
                // In oriented coordinates (larger is better on both axes; the map is its own inverse) the front sorted
                // by u has v falling; the attainment staircase steps down at (u_i, v_{i+1}).
                let (mx, my) = self.maximise;
                let o = |p: (f64, f64)| (if mx { p.0 } else { -p.0 }, if my { p.1 } else { -p.1 });
                let mut f: Vec<(f64, f64)> = front.iter().map(|&p| o(p)).collect();
                f.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
                let steps = |f: &[(f64, f64)]| {
                    let mut s = Vec::with_capacity(2 * f.len());
                    for (i, &p) in f.iter().enumerate() {
                        if i > 0 {
                            s.push((f[i - 1].0, p.1));
                        }
                        s.push(p);
                    }
                    s
                };
                if let Some(r) = self.reference {
                    let r = o(r);
                    let inside: Vec<(f64, f64)> = f
                        .iter()
                        .copied()
                        .filter(|p| p.0 > r.0 && p.1 > r.1)
                        .collect();
                    if let (Some(first), Some(last)) = (inside.first(), inside.last()) {
                        let mut poly = vec![r, (r.0, first.1)];
                        poly.extend(steps(&inside));
                        poly.push((last.0, r.1));
                        let poly: Vec<(f64, f64)> = poly.into_iter().map(o).collect();
                        chart
                            .draw_series(std::iter::once(Polygon::new(poly, FRONT.mix(0.12))))
                            .map_err(|e| e.to_string())?;
                    }
                }
                let clamp =
                    |p: (f64, f64)| (p.0.clamp(xr.start, xr.end), p.1.clamp(yr.start, yr.end));
                let line: Vec<(f64, f64)> = steps(&f).into_iter().map(o).map(clamp).collect();
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        line,
                        FRONT.stroke_width(2),
                    )))
                    .map_err(|e| e.to_string())?;
            }
            chart
                .draw_series(
                    self.others
                        .iter()
                        .filter(shown)
                        .map(|&p| Circle::new(p, 3, OTHER.mix(0.55).filled())),
                )
                .map_err(|e| e.to_string())?
                .label(if hidden > 0 {
                    format!(
                        "trials ({}; {hidden} outside the view)",
                        self.others.len() + self.front.len()
                    )
                } else {
                    format!("trials ({})", self.others.len() + self.front.len())
                })
                .legend(|(x, y)| Circle::new((x + 10, y), 4, OTHER.filled()));
            chart
                .draw_series(
                    front
                        .iter()
                        .filter(shown)
                        .map(|&p| Circle::new(p, 4, FRONT.filled())),
                )
                .map_err(|e| e.to_string())?
                .label(format!("non-dominated ({})", front.len()))
                .legend(|(x, y)| Circle::new((x + 10, y), 4, FRONT.filled()));
            if let Some(r) = self.reference {
                chart
                    .draw_series(std::iter::once(Cross::new(r, 6, REF.stroke_width(2))))
                    .map_err(|e| e.to_string())?
                    .label("reference point")
                    .legend(|(x, y)| Cross::new((x + 10, y), 5, REF.stroke_width(2)));
            }
            // The legend goes in the corner opposite the ideal one, where dominated trials are sparse.
            let corner = match self.maximise {
                (true, true) => SeriesLabelPosition::LowerLeft,
                (true, false) => SeriesLabelPosition::UpperLeft,
                (false, true) => SeriesLabelPosition::LowerRight,
                (false, false) => SeriesLabelPosition::UpperRight,
            };
            chart
                .configure_series_labels()
                .position(corner)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()
                .map_err(|e| e.to_string())?;
            Ok(())
        })
    }
}

/// Lines over a common x axis (anytime curves). Each series is drawn as a step function when `step` is set.
pub fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
    step: bool,
) -> Result<String, ReportError> {
    render(SIZE, title, |root| {
        let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
        let xr = range(
            series
                .iter()
                .flat_map(|(_, s)| s.iter().filter(finite).map(|p| p.0)),
        );
        let yr = range(
            series
                .iter()
                .flat_map(|(_, s)| s.iter().filter(finite).map(|p| p.1)),
        );
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(62)
            .build_cartesian_2d(xr, yr)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .light_line_style(WHITE.mix(0.0))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(|e| e.to_string())?;
        for (k, (name, s)) in series.iter().enumerate() {
            let color = SERIES[k % SERIES.len()];
            let pts: Vec<(f64, f64)> = s.iter().filter(finite).copied().collect();
            let pts = if step {
                let mut out = Vec::with_capacity(2 * pts.len());
                for (i, &p) in pts.iter().enumerate() {
                    if i > 0 {
                        out.push((p.0, pts[i - 1].1));
                    }
                    out.push(p);
                }
                out
            } else {
                pts
            };
            chart
                .draw_series(std::iter::once(PathElement::new(
                    pts,
                    color.stroke_width(2),
                )))
                .map_err(|e| e.to_string())?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// The distribution of a metric per choice of one dimension: every trial a jittered dot over its choice (front
/// members in blue), each choice's mean a short black bar.
pub fn per_choice(
    title: &str,
    choices: &[String],
    metric: &str,
    values: &[(usize, f64, bool)],
) -> Result<String, ReportError> {
    render(SMALL, title, |root| {
        let k = choices.len().max(1);
        let yr = range(values.iter().map(|v| v.1));
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(38)
            .y_label_area_size(58)
            .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), yr)
            .map_err(|e| e.to_string())?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                choices.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_labels(k + 1)
            .x_label_formatter(&label)
            .y_desc(metric)
            .light_line_style(WHITE.mix(0.0))
            .label_style(("sans-serif", 14))
            .x_label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 15))
            .disable_x_mesh()
            .draw()
            .map_err(|e| e.to_string())?;
        // Deterministic jitter: a low-discrepancy sequence over each choice's dots.
        let mut count = vec![0usize; k];
        let dots: Vec<(f64, f64, bool)> = values
            .iter()
            .map(|&(c, v, f)| {
                let n = count[c.min(k - 1)];
                count[c.min(k - 1)] += 1;
                let jitter = ((n as f64 * 0.618_033_988_75).fract() - 0.5) * 0.5;
                (c as f64 + jitter, v, f)
            })
            .collect();
        chart
            .draw_series(
                dots.iter()
                    .filter(|d| !d.2)
                    .map(|&(x, y, _)| Circle::new((x, y), 2, OTHER.mix(0.6).filled())),
            )
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                dots.iter()
                    .filter(|d| d.2)
                    .map(|&(x, y, _)| Circle::new((x, y), 3, FRONT.filled())),
            )
            .map_err(|e| e.to_string())?;
        for c in 0..k {
            let vs: Vec<f64> = values.iter().filter(|v| v.0 == c).map(|v| v.1).collect();
            if !vs.is_empty() {
                let m = vs.iter().sum::<f64>() / vs.len() as f64;
                let x = c as f64;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x - 0.3, m), (x + 0.3, m)],
                        BLACK.stroke_width(3),
                    )))
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_svg_with_the_expected_elements() {
        let others = [(1.0, 5.0), (2.0, 2.0), (0.5, 1.0)];
        let front = [(3.0, 4.0), (1.5, 6.0), (4.0, 1.0)];
        let svg = FrontPlot {
            title: "front",
            x_label: "accuracy",
            y_label: "latency",
            others: &others,
            front: &front,
            maximise: (true, false),
            staircase: true,
            reference: Some((0.0, 8.0)),
            view: None,
        }
        .svg()
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        assert!(
            svg.matches("<circle").count() >= 6 + 2,
            "one circle per trial (+ legend)"
        );
        assert!(svg.contains("<polygon"), "dominated region");
        assert!(
            svg.contains(">\naccuracy\n<") && svg.contains(">\nlatency\n<"),
            "axis labels"
        );
        let l = lines(
            "hv",
            "trial",
            "hypervolume",
            &[("a", vec![(1.0, 0.0), (2.0, 3.0), (3.0, 3.0)])],
            true,
        )
        .unwrap();
        assert!(l.contains("<polyline"));
        let c = per_choice(
            "edge",
            &["a".into(), "b".into()],
            "acc",
            &[(0, 1.0, false), (1, 2.0, true), (1, 3.0, false)],
        )
        .unwrap();
        assert_eq!(c.matches("<circle").count(), 3);
        assert!(
            c.contains(">\na\n<") && c.contains(">\nb\n<"),
            "choice labels"
        );
    }
}
