//! `curbside hubs`: the network's hubs, and how lately each was written in;
//! `curbside specialties`: the specialties it names; `curbside
//! jurisdictions`: the jurisdictions it names.

use std::process::ExitCode;

use curbside_node::api::types::HubsAnswer;
use curbside_protocol::Timestamp;
use serde_json::json;

use super::Ctx;
use crate::output::ago;
use crate::session::Reader;

/// `curbside hubs`.
pub(crate) fn hubs(ctx: &Ctx, node: Option<&str>) -> anyhow::Result<ExitCode> {
    let client = ctx.client(node)?;
    let mut reader = Reader::new(&client, &ctx.home)?;
    let answer: HubsAnswer = reader.get("/v1/hubs")?;
    let now = curbside_node::now();
    ctx.out.emit(&json!({ "hubs": answer.hubs }), || text(&answer, now))?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside specialties`: the node's list (what it will accept).
pub(crate) fn specialties(ctx: &Ctx, node: Option<&str>) -> anyhow::Result<ExitCode> {
    let client = ctx.client(node)?;
    let answer: serde_json::Value = client.get("/v1/specialties", None)?;
    ctx.out.emit(&answer, || {
        let list = answer["specialties"].as_array().cloned().unwrap_or_default();
        let width = list.iter().filter_map(|s| s["id"].as_str()).map(str::len).max().unwrap_or(0);
        let mut out = String::new();
        for s in &list {
            let (id, title) = (s["id"].as_str().unwrap_or(""), s["title"].as_str().unwrap_or(""));
            out.push_str(&format!("{id:<width$}  {title}\n"));
        }
        out
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside jurisdictions`: the node's list (what it will accept).
pub(crate) fn jurisdictions(ctx: &Ctx, node: Option<&str>) -> anyhow::Result<ExitCode> {
    let client = ctx.client(node)?;
    let answer: serde_json::Value = client.get("/v1/jurisdictions", None)?;
    ctx.out.emit(&answer, || {
        let list = answer["jurisdictions"].as_array().cloned().unwrap_or_default();
        let width = list.iter().filter_map(|j| j["id"].as_str()).map(str::len).max().unwrap_or(0);
        let mut out = String::new();
        for j in &list {
            let (id, name) = (j["id"].as_str().unwrap_or(""), j["name"].as_str().unwrap_or(""));
            out.push_str(&format!("{id:<width$}  {name}\n"));
        }
        out
    })?;
    Ok(ExitCode::SUCCESS)
}

/// One line a hub, the most lately active first, then those never used.
fn text(answer: &HubsAnswer, now: Timestamp) -> String {
    let mut hubs: Vec<_> = answer.hubs.iter().collect();
    hubs.sort_by_key(|h| (std::cmp::Reverse(h.latest), h.id.to_string()));
    let id_w = hubs.iter().map(|h| h.id.as_str().chars().count()).max().unwrap_or(0);
    let title_w = hubs.iter().map(|h| h.title.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for h in hubs {
        let latest = match h.latest {
            Some(t) => format!("last post {}", ago(now, t)),
            None => "nothing yet".to_owned(),
        };
        let (id, title) = (h.id.as_str(), &h.title);
        out.push_str(&format!("{id:<id_w$}  {title:<title_w$}  {latest}\n"));
    }
    out.push_str("\nRead one with `curbside feed HUB`.\n");
    out
}

#[cfg(test)]
mod tests {
    use curbside_node::api::types::Hub;

    use super::*;

    #[test]
    fn hubs_are_listed_most_lately_active_first() {
        let now = Timestamp::from_millis(100_000_000);
        let hub = |id: &str, title: &str, latest: Option<u64>| Hub {
            id: id.parse().unwrap(),
            latest: latest.map(|h| Timestamp::from_millis(100_000_000 - h * 3_600_000)),
            title: title.into(),
        };
        let answer = HubsAnswer {
            hubs: vec![
                hub("cardiology", "Cardiology", Some(5)),
                hub("dermatology", "Dermatology", None),
                hub("general", "General", Some(2)),
            ],
        };
        let text = text(&answer, now);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "general      General      last post 2h ago");
        assert_eq!(lines[1], "cardiology   Cardiology   last post 5h ago");
        assert_eq!(lines[2], "dermatology  Dermatology  nothing yet");
    }
}
