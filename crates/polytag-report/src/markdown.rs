//! The report as Markdown (GitHub tables), for pasting into papers and issues. Curves are
//! only in the HTML report.

use std::fmt::Write;

use crate::run::Run;
use crate::table::{self, Table};

/// Renders the comparison of `runs` as Markdown.
pub fn markdown(runs: &[Run]) -> String {
    let mut out = String::new();
    let running = runs
        .iter()
        .filter(|r| r.status == crate::Status::Running)
        .count();
    // Writing into a String cannot fail; `let _` keeps that explicit.
    let _ = writeln!(
        out,
        "# polytag report: {}\n",
        crate::table::count_runs(runs.len())
    );
    if running > 0 {
        let _ = writeln!(out, "{running} still running (scores so far).\n");
    }
    let stopped = runs
        .iter()
        .filter(|r| r.status == crate::Status::Stopped)
        .count();
    if stopped > 0 {
        let _ = writeln!(
            out,
            "{stopped} stopped unfinished (scores so far; `train --resume` continues).\n"
        );
    }
    let failed = runs
        .iter()
        .filter(|r| r.status == crate::Status::Failed)
        .count();
    if failed > 0 {
        let _ = writeln!(out, "{failed} failed (left out of the seed groups).\n");
    }
    let _ = writeln!(out, "Scores in %; best dev per task, test at that step.\n");
    out.push_str(&render(&table::summary(runs)));
    if let Some((groups, tables)) = crate::group::grouped(runs) {
        for (task, t) in tables {
            let _ = writeln!(out, "\n## {} — seeds grouped\n", escape(&task));
            out.push_str(&render(&t));
        }
        if let Some((task, split, m)) = crate::group::overlap_matrix(runs, &groups) {
            let _ = writeln!(
                out,
                "\n## {} — do the {split} intervals (mean ± std) overlap?\n",
                escape(&task)
            );
            out.push_str(&render(&m));
        }
    }
    for (task, t) in table::per_type(runs) {
        let _ = writeln!(out, "\n## {} — per type\n", escape(&task));
        out.push_str(&render(&t));
    }
    if let Some(t) = table::config_diff(runs) {
        let _ = writeln!(out, "\n## Config differences\n");
        out.push_str(&render(&t));
    }
    out
}

/// One table; `|` in cells escaped.
fn render(t: &Table) -> String {
    let mut out = String::new();
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let cells: Vec<String> = cells.collect();
        format!("| {} |\n", cells.join(" | "))
    };
    out.push_str(&line(&mut t.header.iter().map(|h| escape(h))));
    out.push_str(&line(
        &mut t
            .numeric
            .iter()
            .map(|&n| if n { "---:" } else { "---" }.to_string()),
    ));
    for row in &t.rows {
        out.push_str(&line(&mut row.iter().map(|c| escape(c))));
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
