//! Printing: `--json` (one compact JSON object per command, stable
//! snake_case fields) or tidy, aligned text for people.
//!
//! Everything goes through `writeln!` on a locked stdout, so a closed pipe
//! is an `io::Error` that `main` treats as a quiet end, never a panic.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use curbside_protocol::Timestamp;
use curbside_protocol::tally::Breakdown;
use curbside_protocol::{Cell, Tally};
use serde::Serialize;

/// Set once a JSON answer has been printed, so that `main` does not print
/// a second JSON object for an error the command already reported.
static JSON_PRINTED: AtomicBool = AtomicBool::new(false);

/// Whether this process has printed a JSON answer.
pub(crate) fn json_printed() -> bool {
    JSON_PRINTED.load(Ordering::Relaxed)
}

/// Where a command's answer goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    /// `--json`.
    pub(crate) json: bool,
}

impl Out {
    /// Prints `value` with `--json`, else the text `human()` makes.
    pub(crate) fn emit(
        &self,
        value: &impl Serialize,
        human: impl FnOnce() -> String,
    ) -> std::io::Result<()> {
        if self.json { self.json_line(value) } else { self.text(&human()) }
    }

    /// One compact JSON line.
    pub(crate) fn json_line(&self, value: &impl Serialize) -> std::io::Result<()> {
        let text = serde_json::to_string(value).map_err(std::io::Error::other)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}")?;
        JSON_PRINTED.store(true, Ordering::Relaxed);
        out.flush()
    }

    /// Text, with exactly one newline at the end.
    pub(crate) fn text(&self, text: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", text.trim_end_matches('\n'))?;
        out.flush()
    }
}

/// Display width of a string in terminal columns: a CJK character takes
/// two, a combining mark none.
fn width(s: &str) -> usize {
    textwrap::core::display_width(s)
}

/// Columns for text: the terminal's width when standard output is one
/// (from 40 to 120: longer lines are hard to read), else 88, so that
/// what is piped or captured does not depend on a window's size.
pub(crate) fn text_width() -> usize {
    terminal_size::terminal_size().map_or(88, |(w, _)| usize::from(w.0).clamp(40, 120))
}

/// `s` padded with spaces to `w` characters (never cut).
fn pad(s: &str, w: usize) -> String {
    let mut out = s.to_owned();
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(s))));
    out
}

/// `s` cut to `w` columns, ending in `…` when cut.
pub(crate) fn truncate(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = width(c.encode_utf8(&mut [0; 4]));
        if used + cw > w.saturating_sub(1) {
            break;
        }
        used += cw;
        out.push(c);
    }
    out.push('…');
    out
}

/// Rows of `key  value`, keys padded to one width. Multi-line values are
/// indented under the first line.
pub(crate) fn kv(rows: &[(&str, String)]) -> String {
    let w = rows.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let mut lines = v.lines();
        let first = format!("{}  {}", pad(k, w), lines.next().unwrap_or(""));
        out.push_str(first.trim_end());
        out.push('\n');
        for line in lines {
            let more = format!("{}  {line}", " ".repeat(w));
            out.push_str(more.trim_end());
            out.push('\n');
        }
    }
    out
}

/// How long ago `t` was: `just now`, `5m ago`, `3h ago`, `2d ago`, or
/// the date (`2026-01-03`) after a week.
pub(crate) fn ago(now: Timestamp, t: Timestamp) -> String {
    let secs = now.as_millis().saturating_sub(t.as_millis()) / 1000;
    match secs {
        0..60 => "just now".to_owned(),
        60..3_600 => format!("{}m ago", secs / 60),
        3_600..86_400 => format!("{}h ago", secs / 3_600),
        86_400..604_800 => format!("{}d ago", secs / 86_400),
        _ => date(t),
    }
}

/// The date part of a timestamp: `2026-01-03`.
pub(crate) fn date(t: Timestamp) -> String {
    t.to_string().chars().take(10).collect()
}

/// A timestamp for people: `2026-01-03 14:05 UTC`.
pub(crate) fn datetime(t: Timestamp) -> String {
    let s = t.to_string();
    format!("{} {} UTC", &s[..10.min(s.len())], s.get(11..16).unwrap_or(""))
}

/// A span for people: `3d 4h`, `5h 10m`, `12m`, or `<1m`.
pub(crate) fn span(ms: u64) -> String {
    let mins = ms / 60_000;
    let (d, h, m) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    match (d, h, m) {
        (0, 0, 0) => "<1m".to_owned(),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// Word-wraps `text` to `w` columns (display width: wide and combining
/// characters counted as a terminal shows them), keeping its line breaks
/// and collapsing runs of spaces; words longer than a line are broken.
pub(crate) fn wrap(text: &str, w: usize) -> Vec<String> {
    let options = textwrap::Options::new(w.max(10)).break_words(true);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let words = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        if words.is_empty() {
            lines.push(String::new());
            continue;
        }
        lines.extend(textwrap::wrap(&words, &options).into_iter().map(|l| l.into_owned()));
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Width of the longest bar.
pub(crate) const BAR_WIDTH: usize = 30;

/// Percentage of `part` in `whole`, one decimal: `62.5%`.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0%".to_owned();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// One line per option: its number, text, a bar of `█` proportional to its
/// share of the voters, the count and the percentage.
pub(crate) fn bar_chart(options: &[String], counts: &[u64], voters: u64) -> String {
    let labels: Vec<String> = options.iter().map(|o| truncate(o, 32)).collect();
    let label_w = labels.iter().map(|l| width(l)).max().unwrap_or(0);
    let num_w = options.len().to_string().len();
    let count_w = counts.iter().map(|c| c.to_string().len()).max().unwrap_or(1);
    let mut out = String::new();
    for (i, label) in labels.iter().enumerate() {
        let count = counts.get(i).copied().unwrap_or(0);
        let bar_len = if voters == 0 {
            0
        } else {
            ((count as f64 / voters as f64) * BAR_WIDTH as f64).round() as usize
        };
        let bar = "█".repeat(bar_len.min(BAR_WIDTH));
        out.push_str(&format!(
            "{:>num_w$}  {}  {}  {:>count_w$}  {:>6}\n",
            i + 1,
            pad(label, label_w),
            pad(&bar, BAR_WIDTH),
            count,
            percent(count, voters),
        ));
    }
    out
}

/// What a breakdown's group shows as: a specialty's title, a
/// jurisdiction's name and code (`California, United States (US-CA)`), as
/// the network's lists give them; a group not listed, as it is.
pub(crate) fn group_name(heading: &str, group: &str) -> String {
    use curbside_protocol::registry;
    match heading {
        "specialty" => {
            registry::specialty_title(group).map_or_else(|| group.to_owned(), str::to_owned)
        }
        "jurisdiction" => registry::jurisdiction_name(group)
            .map_or_else(|| group.to_owned(), |name| format!("{name} ({group})")),
        _ => group.to_owned(),
    }
}

/// A breakdown as a table: one row per group, one column per option;
/// suppressed cells read `<k`.
pub(crate) fn breakdown_table(
    heading: &str,
    breakdown: &Breakdown,
    options: usize,
    k: u32,
) -> String {
    let mut out = String::new();
    if breakdown.rows.is_empty() {
        out.push_str(&format!("no {heading} group has {k} or more voters yet\n"));
    } else {
        let suppressed = format!("<{k}");
        let mut table: Vec<Vec<String>> = Vec::new();
        let mut header = vec![heading.to_owned(), "voters".to_owned()];
        header.extend((1..=options).map(|i| format!("#{i}")));
        table.push(header);
        for row in &breakdown.rows {
            let group = group_name(heading, &row.group);
            let mut line = vec![group, row.voters.to_string()];
            for i in 0..options {
                line.push(match row.cells.get(i) {
                    Some(Cell::Count(n)) => n.to_string(),
                    Some(Cell::Suppressed) => suppressed.clone(),
                    None => "-".to_owned(),
                });
            }
            table.push(line);
        }
        let cols = table.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|c| table.iter().filter_map(|r| r.get(c)).map(|s| width(s)).max().unwrap_or(0))
            .collect();
        for row in &table {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(
                    |(c, s)| {
                        if c == 0 { pad(s, widths[c]) } else { format!("{s:>w$}", w = widths[c]) }
                    },
                )
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
    }
    if breakdown.hidden_groups > 0 {
        out.push_str(&format!(
            "{} smaller group(s) not shown (fewer than {k} voters)\n",
            breakdown.hidden_groups
        ));
    }
    out
}

/// The whole tally for people: the chart, then the breakdown if asked.
pub(crate) fn tally_text(
    options: &[String],
    tally: &Tally,
    by: Option<(&str, &Breakdown)>,
) -> String {
    let mut out = bar_chart(options, &tally.counts, tally.voters);
    out.push_str(&format!(
        "{} voter(s){}\n",
        tally.voters,
        if tally.discarded > 0 {
            format!("; {} ballot(s) did not count or were replaced", tally.discarded)
        } else {
            String::new()
        }
    ));
    if let Some((heading, breakdown)) = by {
        out.push('\n');
        out.push_str(&breakdown_table(heading, breakdown, options.len(), tally.min_cell));
    }
    out
}

#[cfg(test)]
mod tests {
    use curbside_protocol::tally::Row;

    use super::*;

    #[test]
    fn bars_are_proportional_with_counts_and_percentages() {
        let options = vec!["Anticoagulate".to_owned(), "Wait".to_owned(), "Refer".to_owned()];
        let chart = bar_chart(&options, &[6, 3, 1], 10);
        let lines: Vec<&str> = chart.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].matches('█').count(), 18);
        assert_eq!(lines[1].matches('█').count(), 9);
        assert_eq!(lines[2].matches('█').count(), 3);
        assert!(lines[0].starts_with("1  Anticoagulate  ██"), "{chart}");
        assert!(lines[0].ends_with("6   60.0%"), "{chart}");
        assert!(lines[1].starts_with("2  Wait           ██"), "{chart}");
        assert!(lines[2].ends_with("1   10.0%"), "{chart}");
        // Columns line up: every line is as wide as the first.
        let w: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
        assert!(w.iter().all(|x| *x == w[0]), "{chart}");
    }

    #[test]
    fn no_votes_no_bars() {
        let chart = bar_chart(&["Yes".into(), "No".into()], &[0, 0], 0);
        assert!(!chart.contains('█'));
        assert!(chart.contains("0.0%"));
        let full = bar_chart(&["Yes".into(), "No".into()], &[4, 0], 4);
        assert_eq!(full.lines().next().unwrap().matches('█').count(), BAR_WIDTH);
    }

    #[test]
    fn suppressed_cells_show_as_less_than_k() {
        let breakdown = Breakdown {
            rows: vec![
                Row {
                    group: "cardiology".into(),
                    voters: 12,
                    cells: vec![Cell::Count(7), Cell::Count(5)],
                },
                Row {
                    group: "general-practice".into(),
                    voters: 6,
                    cells: vec![Cell::Count(6), Cell::Suppressed],
                },
            ],
            hidden_groups: 2,
        };
        let table = breakdown_table("specialty", &breakdown, 2, 5);
        let lines: Vec<&str> = table.lines().collect();
        // Specialties by the titles the network's list gives them.
        assert_eq!(lines[0], "specialty         voters  #1  #2");
        assert_eq!(lines[1], "Cardiology            12   7   5");
        assert_eq!(lines[2], "General practice       6   6  <5");
        assert_eq!(lines[3], "2 smaller group(s) not shown (fewer than 5 voters)");
        let k3 = breakdown_table("specialty", &breakdown, 2, 3);
        assert!(k3.contains("<3"), "{k3}");

        let empty = breakdown_table("jurisdiction", &Breakdown::default(), 2, 5);
        assert_eq!(empty, "no jurisdiction group has 5 or more voters yet\n");

        // Jurisdictions by the names the network's list gives them, with
        // the code; one it does not list, as it is.
        let places = Breakdown {
            rows: ["US-CA", "GB", "ZZ"]
                .iter()
                .map(|g| Row { group: (*g).into(), voters: 5, cells: vec![Cell::Count(5)] })
                .collect(),
            hidden_groups: 0,
        };
        let table = breakdown_table("jurisdiction", &places, 1, 5);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[1].starts_with("California, United States (US-CA)  "), "{table}");
        assert!(lines[2].starts_with("United Kingdom (GB)  "), "{table}");
        assert!(lines[3].starts_with("ZZ  "), "{table}");
    }

    #[test]
    fn times_read_as_ago_then_dates() {
        let now = Timestamp::from_millis(1_767_225_600_000); // 2026-01-01T00:00:00Z
        let before = |secs: u64| now.minus_millis(secs * 1000);
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now, now.plus_millis(5_000)), "just now");
        assert_eq!(ago(now, before(59)), "just now");
        assert_eq!(ago(now, before(60)), "1m ago");
        assert_eq!(ago(now, before(3 * 3600 + 5)), "3h ago");
        assert_eq!(ago(now, before(2 * 86_400)), "2d ago");
        assert_eq!(ago(now, before(30 * 86_400)), "2025-12-02");
        assert_eq!(datetime(now), "2026-01-01 00:00 UTC");
        assert_eq!(span(7 * 86_400_000), "7d 0h");
        assert_eq!(span(90 * 60_000), "1h 30m");
        assert_eq!(span(30_000), "<1m");
    }

    #[test]
    fn widths_are_the_columns_a_terminal_shows() {
        // Each of these takes two columns; a combining accent none.
        assert_eq!(width("心筋梗塞"), 8);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(truncate("心筋梗塞の疑い", 5), "心筋…");
        let lines = wrap("急性 心筋梗塞 の 疑い で 紹介 された 患者", 10);
        assert!(lines.iter().all(|l| width(l) <= 10), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), "急性心筋梗塞の疑いで紹介された患者");
        assert!((40..=120).contains(&text_width()) || text_width() == 88);
    }

    #[test]
    fn wrapping_keeps_paragraphs_and_breaks_long_words() {
        assert_eq!(wrap("one two three four five six", 13), ["one two three", "four five six"]);
        assert_eq!(wrap("first\nsecond line", 40), ["first", "second line"]);
        assert_eq!(wrap(&"x".repeat(25), 10), ["x".repeat(10), "x".repeat(10), "x".repeat(5)]);
        assert!(wrap("", 20).is_empty());
    }

    #[test]
    fn key_values_align() {
        let text =
            kv(&[("id", "abc".into()), ("status", "stored".into()), ("note", "a\nb".into())]);
        assert_eq!(text, "id      abc\nstatus  stored\nnote    a\n        b\n");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
