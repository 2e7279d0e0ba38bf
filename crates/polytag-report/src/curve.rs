//! Learning curves as inline SVG: per task, dev score (%) and training loss over steps, one
//! line per run. Plain SVG elements only, so the HTML needs neither network nor JavaScript;
//! each line carries a `<title>` naming its run (shown on hover).

use std::fmt::Write;

use crate::html::escape;
use crate::run::Run;

/// Line colours (matplotlib's tab10), cycled by run index; the HTML legend uses the same.
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// The colour of run `i`.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Dash patterns that keep runs apart once the palette repeats: runs 0–9 solid, 10–19
/// dashed, 20–29 dotted, then again.
const DASHES: [Option<(&str, &str)>; 3] =
    [None, Some(("6 3", "dashed")), Some(("1.5 2.5", "dotted"))];

/// The dash pattern of run `i` as SVG `stroke-dasharray` and CSS border style (`None`: solid).
pub fn dash(i: usize) -> Option<(&'static str, &'static str)> {
    DASHES[(i / PALETTE.len()) % DASHES.len()]
}

const PANEL_W: f64 = 440.0;
const PANEL_H: f64 = 240.0;
const LEFT: f64 = 55.0;
const TOP: f64 = 25.0;
const BOTTOM: f64 = 40.0;
const GAP: f64 = 40.0;
/// Room right of the second panel for its last step label.
const RIGHT: f64 = 25.0;
/// Markers are drawn while a line has at most this many points (beyond, they hide the line).
const MAX_MARKERS: usize = 60;

/// One series: run index (for the colour), run label, points.
type Series = (usize, String, Vec<(f64, f64)>);

/// The two-panel SVG of `task`, or `None` when no run has a dev score or loss for it.
pub fn task_svg(task: &str, runs: &[Run]) -> Option<String> {
    let mut dev: Vec<Series> = Vec::new();
    let mut loss: Vec<Series> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let Some(t) = run.tasks.iter().find(|t| t.name == task) else {
            continue;
        };
        let d: Vec<(f64, f64)> = t
            .curve
            .iter()
            .filter_map(|p| p.dev.map(|v| (p.step as f64, 100.0 * v)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        let l: Vec<(f64, f64)> = t
            .curve
            .iter()
            .filter_map(|p| p.loss.map(|v| (p.step as f64, v)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        if !d.is_empty() {
            dev.push((i, run.label.clone(), d));
        }
        if !l.is_empty() {
            loss.push((i, run.label.clone(), l));
        }
    }
    if dev.is_empty() && loss.is_empty() {
        return None;
    }
    let width = 2.0 * (LEFT + PANEL_W) + GAP + RIGHT;
    let height = TOP + PANEL_H + BOTTOM;
    let mut svg = String::new();
    // Writing into a String cannot fail.
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" role="img" aria-label="{} learning curves">"#,
        escape(task)
    );
    panel(&mut svg, 0.0, "dev score (%)", &dev);
    panel(&mut svg, LEFT + PANEL_W + GAP, "training loss", &loss);
    svg.push_str("</svg>");
    Some(svg)
}

/// `lo..hi` of `values`, padded by 5 % (not below 0 when no value is: scores and losses),
/// never empty.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        return (lo - 1.0, hi + 1.0);
    }
    let pad = 0.05 * (hi - lo);
    let padded_lo = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    (padded_lo, hi + pad)
}

/// Tick label: integers plain, small ranges with decimals.
fn tick(v: f64, span: f64) -> String {
    if span >= 20.0 {
        format!("{v:.0}")
    } else if span >= 2.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn panel(svg: &mut String, x0: f64, title: &str, series: &[Series]) {
    let px = x0 + LEFT;
    let _ = write!(
        svg,
        r##"<text x="{}" y="15" text-anchor="middle" font-weight="bold">{title}</text><rect x="{px}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#888"/>"##,
        px + PANEL_W / 2.0
    );
    if series.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#888">no data</text>"##,
            px + PANEL_W / 2.0,
            TOP + PANEL_H / 2.0
        );
        return;
    }
    let all = || series.iter().flat_map(|s| s.2.iter());
    let (x_lo, x_hi) = {
        let hi = all().map(|p| p.0).fold(0.0, f64::max);
        (0.0, if hi > 0.0 { hi } else { 1.0 })
    };
    let (y_lo, y_hi) = range(all().map(|p| p.1));
    let sx = |x: f64| px + (x - x_lo) / (x_hi - x_lo) * PANEL_W;
    let sy = |y: f64| TOP + PANEL_H - (y - y_lo) / (y_hi - y_lo) * PANEL_H;
    for k in 0..=4 {
        let f = f64::from(k) / 4.0;
        let xv = x_lo + f * (x_hi - x_lo);
        let yv = y_lo + f * (y_hi - y_lo);
        let (gx, gy) = (sx(xv), sy(yv));
        let _ = write!(
            svg,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{}" stroke="#eee"/><text x="{gx:.1}" y="{}" text-anchor="middle">{xv:.0}</text><line x1="{px}" y1="{gy:.1}" x2="{}" y2="{gy:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            TOP + PANEL_H,
            TOP + PANEL_H + 15.0,
            px + PANEL_W,
            px - 5.0,
            gy + 4.0,
            tick(yv, y_hi - y_lo)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">step</text>"#,
        px + PANEL_W / 2.0,
        TOP + PANEL_H + 32.0
    );
    for (i, label, points) in series {
        let c = color(*i);
        let dashed = dash(*i)
            .map(|(d, _)| format!(r#" stroke-dasharray="{d}""#))
            .unwrap_or_default();
        let pts: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{c}" stroke-width="1.5"{dashed} points="{}"><title>{}</title></polyline>"#,
            pts.join(" "),
            escape(label)
        );
        if points.len() <= MAX_MARKERS {
            for &(x, y) in points {
                let _ = write!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{c}"/>"#,
                    sx(x),
                    sy(y)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_pads_and_never_collapses() {
        let (lo, hi) = range([10.0, 20.0].into_iter());
        assert!((lo - 9.5).abs() < 1e-12 && (hi - 20.5).abs() < 1e-12);
        assert_eq!(range([0.0, 10.0].into_iter()), (0.0, 10.5));
        assert_eq!(range([-10.0, 10.0].into_iter()), (-11.0, 11.0));
        assert_eq!(range([3.0].into_iter()), (2.0, 4.0));
        assert_eq!(range(std::iter::empty()), (0.0, 1.0));
    }
}
