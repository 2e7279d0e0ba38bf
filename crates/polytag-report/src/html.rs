//! The report as one self-contained HTML file: the tables of the Markdown report plus the
//! learning curves as inline SVG. No scripts, no external fonts or styles, so it opens
//! offline and can be mailed or attached to an issue as it is.

use std::fmt::Write;

use crate::curve;
use crate::run::{Run, Status};
use crate::table::{self, Table};

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:3px 8px}th{background:#f3f3f3}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
table.config-diff td{max-width:20em;overflow-wrap:anywhere}\
table.config-diff td:first-child{white-space:nowrap;max-width:none}\
tr.running td{color:#a60}tr.failed td{color:#b00}\
.legend span{display:inline-block;margin-right:1.2em}\
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}";

/// Renders the comparison of `runs` as an HTML document.
pub fn html(runs: &[Run]) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>polytag report: {}</title><style>{STYLE}</style></head><body>\n",
        crate::table::count_runs(runs.len())
    );
    let _ = writeln!(
        out,
        "<h1>polytag report: {}</h1>",
        crate::table::count_runs(runs.len())
    );
    let running = runs.iter().filter(|r| r.status == Status::Running).count();
    if running > 0 {
        let _ = writeln!(out, "<p>{running} still running (scores so far).</p>");
    }
    let stopped = runs.iter().filter(|r| r.status == Status::Stopped).count();
    if stopped > 0 {
        let _ = writeln!(out, "<p>{stopped} stopped unfinished (scores so far).</p>");
    }
    let failed = runs.iter().filter(|r| r.status == Status::Failed).count();
    if failed > 0 {
        let _ = writeln!(out, "<p>{failed} failed (left out of the seed groups).</p>");
    }
    let _ = writeln!(
        out,
        "<p>Scores in %; best dev per task, test at that step.</p>"
    );
    let summary = table::summary(runs);
    // Rows of running and failed runs are tinted; the summary's status column says why.
    let tints: Vec<Option<&str>> = summary
        .rows
        .iter()
        .map(|r| match r.get(1) {
            // A stopped run's scores are partial, as a running one's.
            Some(s) if s.starts_with("running") || s.starts_with("stopped") => Some("running"),
            Some(s) if s.starts_with("failed") => Some("failed"),
            _ => None,
        })
        .collect();
    render(&mut out, &summary, "summary", &tints);
    if let Some((groups, tables)) = crate::group::grouped(runs) {
        for (task, t) in tables {
            let _ = writeln!(out, "<h2>{} — seeds grouped</h2>", escape(&task));
            render(&mut out, &t, "grouped", &[]);
        }
        if let Some((task, split, m)) = crate::group::overlap_matrix(runs, &groups) {
            let _ = writeln!(
                out,
                "<h2>{} — do the {split} intervals (mean ± std) overlap?</h2>",
                escape(&task)
            );
            render(&mut out, &m, "overlap", &[]);
        }
    }
    for (task, t) in table::per_type(runs) {
        let _ = writeln!(out, "<h2>{} — per type</h2>", escape(&task));
        render(&mut out, &t, "per-type", &[]);
    }
    if let Some(t) = table::config_diff(runs) {
        let _ = writeln!(out, "<h2>Config differences</h2>");
        render(&mut out, &t, "config-diff", &[]);
    }
    let curves: Vec<(String, String)> = table::task_names(runs)
        .into_iter()
        .filter_map(|task| curve::task_svg(&task, runs).map(|svg| (task, svg)))
        .collect();
    if !curves.is_empty() {
        let _ = writeln!(out, "<h2>Learning curves</h2>\n<p class=\"legend\">");
        for (i, run) in runs.iter().enumerate() {
            // A dashed run's swatch is a dashed bar, so the legend tells the line apart.
            let swatch = match curve::dash(i) {
                None => format!("background:{}", curve::color(i)),
                Some((_, style)) => format!("height:0;border-top:3px {style} {}", curve::color(i)),
            };
            let _ = write!(
                out,
                "<span><i style=\"{swatch}\"></i>{}</span>",
                escape(&run.label)
            );
        }
        let _ = writeln!(out, "</p>");
        for (task, svg) in curves {
            let _ = writeln!(out, "<h3>{}</h3>\n{svg}", escape(&task));
        }
    }
    out.push_str("</body></html>\n");
    out
}

fn render(out: &mut String, t: &Table, class: &str, tints: &[Option<&str>]) {
    let _ = write!(out, "<table class=\"{class}\"><thead><tr>");
    for h in &t.header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for (r, row) in t.rows.iter().enumerate() {
        match tints.get(r).copied().flatten() {
            Some(tint) => {
                let _ = write!(out, "<tr class=\"{tint}\">");
            }
            None => out.push_str("<tr>"),
        }
        for (c, cell) in row.iter().enumerate() {
            if t.numeric.get(c).copied().unwrap_or(false) {
                let _ = write!(out, "<td class=\"n\">{}</td>", escape(cell));
            } else {
                let _ = write!(out, "<td>{}</td>", escape(cell));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
