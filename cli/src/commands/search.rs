//! `curbside search` (ask a node) and `curbside node reindex` (rebuild a
//! stopped node's search index from its store).

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use curbside_node::api::search::{SearchAnswer, SearchResult};
use curbside_node::datadir::DataDir;
use curbside_node::search::SearchIndex;
use serde_json::json;

use super::Ctx;
use crate::args::SearchArgs;
use crate::client::encode_query as encode;
use crate::output::{ago, kv, text_width, truncate, wrap};
use crate::session::Reader;

/// The request path of `args`.
fn path(args: &SearchArgs) -> String {
    let mut path = format!("/v1/search?q={}&limit={}", encode(&args.query.join(" ")), args.limit);
    let params = [
        ("hub", &args.hub),
        ("kind", &args.kind),
        ("tag", &args.tag),
        ("age_band", &args.age_band),
        ("sex", &args.sex),
        ("specialty", &args.specialty),
        ("since", &args.since),
        ("cursor", &args.cursor),
    ];
    for (name, value) in params {
        if let Some(v) = value {
            path.push_str(&format!("&{name}={}", encode(v)));
        }
    }
    if args.solved {
        path.push_str("&solved=true");
    }
    path
}

/// `curbside search QUERY`.
pub(crate) fn search(ctx: &Ctx, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let client = ctx.client(args.node.node.as_deref())?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let answer: SearchAnswer = reader.get(&path(args))?;
    let bold = std::io::stdout().is_terminal();
    ctx.out
        .emit(&json!({ "results": answer.results, "next_cursor": answer.next_cursor }), || {
            text(args, &answer, bold)
        })?;
    Ok(ExitCode::SUCCESS)
}

/// The snippet with its matches marked: bold on a terminal, else as is.
fn highlighted(r: &SearchResult, bold: bool) -> String {
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    if !bold {
        return one_line(&r.snippet);
    }
    let mut out = String::new();
    let mut at = 0;
    for [from, to] in &r.highlights {
        let (Some(before), Some(word)) = (r.snippet.get(at..*from), r.snippet.get(*from..*to))
        else {
            continue;
        };
        out.push_str(&one_line_keep_edges(before));
        out.push_str(&format!("\x1b[1;33m{word}\x1b[0m"));
        at = *to;
    }
    out.push_str(&one_line_keep_edges(r.snippet.get(at..).unwrap_or("")));
    out.trim().to_string()
}

/// Whitespace runs as one space, keeping a space at either end.
fn one_line_keep_edges(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

fn text(args: &SearchArgs, answer: &SearchAnswer, bold: bool) -> String {
    if answer.results.is_empty() {
        return format!("nothing found for {:?}", args.query.join(" "));
    }
    let now = curbside_node::now();
    let width = text_width();
    let mut out = String::new();
    for r in &answer.results {
        let mut head = format!("{}  {}", r.id.short(), r.kind);
        if let Some(hub) = &r.hub {
            head.push_str(&format!("  {hub}"));
        }
        head.push_str(&format!("  {}", ago(now, r.created_at)));
        if let Some(author) = &r.author {
            head.push_str(&format!("  by {author}"));
            if !r.specialties.is_empty() {
                head.push_str(&format!(" ({})", r.specialties.join(", ")));
            }
        }
        out.push_str(&head);
        out.push('\n');
        if !r.title.is_empty() {
            out.push_str(&format!("  {}\n", truncate(&r.title, width.saturating_sub(2).max(20))));
        }
        let snippet = highlighted(r, bold);
        if bold {
            // Escape codes have no width; wrapping would count them.
            out.push_str(&format!("  {snippet}\n"));
        } else {
            for line in wrap(&snippet, width.saturating_sub(4).max(20)) {
                out.push_str(&format!("    {line}\n"));
            }
        }
        out.push('\n');
    }
    if let Some(next) = &answer.next_cursor {
        out.push_str(&format!("more: add --cursor {next}\n"));
    }
    out
}

/// `curbside node reindex --data DIR`.
pub(crate) fn reindex(ctx: &Ctx, data: &Path) -> anyhow::Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let started = std::time::Instant::now();
    let store = curbside_node::store::Store::open(&dir.store_dir(), dir.genesis().clone())
        .with_context(|| format!("opening the store in {}", dir.store_dir().display()))?;
    let bar = (!ctx.out.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template(
            "indexing [{bar:30}] {pos}/{len} events ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar
    });
    let path = SearchIndex::dir_in(dir.root());
    let index = SearchIndex::rebuild(&path, &store, &mut |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    })
    .context("rebuilding the search index")?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let documents = index.documents();
    index.finish().context("finishing the search index")?;
    let bytes = curbside_node::search::dir_size(&path);
    let store_bytes = store.counts().map(|c| c.bytes_on_disk).unwrap_or(0);
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    ctx.out.emit(
        &json!({ "documents": documents, "index_bytes": bytes, "store_bytes": store_bytes, "millis": millis }),
        || {
            kv(&[
                ("documents", documents.to_string()),
                ("index size", format!("{:.1} MiB", bytes as f64 / 1048576.0)),
                ("store size", format!("{:.1} MiB", store_bytes as f64 / 1048576.0)),
                ("took", format!("{millis} ms")),
            ])
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_percent_encoded() {
        assert_eq!(encode("post-op I21.4"), "post-op%20I21.4");
        assert_eq!(encode("a&b=c"), "a%26b%3Dc");
    }
}
