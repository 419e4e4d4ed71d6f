//! Steps 1 and 2: the nodes start, are chartered and admit each other;
//! and what other steps share about waiting on the federation.

use std::time::Duration;

use anyhow::{bail, ensure};
use curbside_protocol::{Body, Charter, EventId, Jurisdiction};
use serde_json::{Value, json};

use super::Demo;
use super::cast::{RELAY, SITES, ST_JAMES, ST_MARYS};
use super::nodes::DemoNode;
use super::reads::expect_stored;
use super::report::Log;

/// The longest any one condition is waited for. Loopback answers in
/// milliseconds; this is for a debug build on a busy machine.
pub(crate) const LIMIT: Duration = Duration::from_secs(30);

/// Step 1.
pub(crate) fn start(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    log.say(
        "The council that runs the network (its root) has made a genesis: the network's name, \
         the root's public key and the specialty hubs. Each institution makes a data directory \
         holding its node key, which is also its identity on the peer-to-peer network, and \
         starts its node: an HTTP API and a libp2p port on 127.0.0.1, on ports the OS chose. \
         The nodes know nothing of each other yet.",
    );
    for site in SITES {
        let mut node = DemoNode::init(demo.dir(), site, &demo.genesis)?;
        node.start(&demo.interrupt)?;
        demo.nodes.push(node);
    }
    introduce_nodes(demo, log);
    each_answers_as_itself(demo, log)?;
    listen_on_loopback(&demo.nodes, log)
}

/// The table of who runs what where, for the reader, and the same as
/// facts for the machine-readable report.
fn introduce_nodes(demo: &Demo, log: &mut Log) {
    let w = SITES.iter().map(|s| s.institution.chars().count()).max().unwrap_or(0);
    let mut table = String::new();
    for node in &demo.nodes {
        let role = match node.site.verifies {
            Some(j) => format!("verifies {j}"),
            None => "relays only".into(),
        };
        table.push_str(&format!(
            "{:<w$}  {role:<11}  API {}  peer {}\n",
            node.site.institution,
            node.url(),
            short_peer(&node.peer_id)
        ));
    }
    log.show(&table);
    log.fact(
        "nodes",
        demo.nodes
            .iter()
            .map(|n| {
                json!({
                    "institution": n.site.institution,
                    "verifies": n.site.verifies,
                    "api": n.url(),
                    "node_key": n.key,
                    "peer_id": n.peer_id,
                })
            })
            .collect::<Vec<_>>(),
    );
}

/// Each node answers with the key its operator made and in the genesis's
/// network: three distinct identities on one network.
fn each_answers_as_itself(demo: &Demo, log: &mut Log) -> anyhow::Result<()> {
    let network = demo.genesis.network_id();
    let answers: anyhow::Result<()> = demo.nodes.iter().try_for_each(|n| {
        let status = n.status()?;
        ensure!(
            status["network"] == json!(network),
            "{} is in network {}",
            n.site.short,
            status["network"]
        );
        ensure!(status["node_key"] == json!(n.key), "{} answers with another key", n.site.short);
        Ok(())
    });
    log.check(
        format!(
            "three nodes answer, each with its own key, all in network \"{}\" ({})",
            demo.genesis.name,
            network.short()
        ),
        answers.map(|()| String::new()).map_err(|e| format!("{e:#}")),
    )
}

/// The demo runs on one machine and must not be reachable from any other:
/// every node listens for peers on the loopback address alone.
fn listen_on_loopback(nodes: &[DemoNode], log: &mut Log) -> anyhow::Result<()> {
    log.wait("each listens for peers on 127.0.0.1 only", LIMIT, || {
        for n in nodes {
            let net = n.network()?;
            let listening: Vec<&str> = net["listening"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            ensure!(!listening.is_empty(), "{} is not listening yet", n.site.short);
            if let Some(other) = listening.iter().find(|a| !a.starts_with("/ip4/127.0.0.1/")) {
                bail!("{} listens on {other}", n.site.short);
            }
        }
        Ok(())
    })
}

/// `12D3KooWAbCd…wxyz`.
fn short_peer(peer: &str) -> String {
    let n = peer.chars().count();
    if n <= 20 {
        return peer.to_owned();
    }
    let head: String = peer.chars().take(12).collect();
    let tail: String = peer.chars().skip(n - 4).collect();
    format!("{head}…{tail}")
}

/// Step 2.
pub(crate) fn charter(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    log.say(
        "The root signs a charter for each node's key: St Mary's may attest physicians licensed \
         in GB, St James's those licensed in IE, and the relay may only relay. Each operator \
         hands its node its charter.",
    );
    let valid_until = curbside_node::now().plus_days(365);
    let mut charters = Vec::new();
    for node in &demo.nodes {
        let verify = node.site.verifies.map(Jurisdiction::new).transpose()?.into_iter().collect();
        let body = Body::Charter(Charter {
            node: node.key,
            institution: node.site.institution.into(),
            verify,
            valid_until,
        });
        let event = demo.sign(&demo.root, body)?;
        expect_stored(node, &event, "its charter")?;
        charters.push(event.id());
    }
    demo.made.extend(&charters);
    demo.charters.clone_from(&charters);
    log.check("each node stored the charter the root signed for it", Ok(String::new()))?;

    log.say(
        "St James's and the relay dial St Mary's, and the relay dials St James's. On \
         connecting, each node asks the other for its charter and checks it against the \
         genesis root before it serves or meshes that peer: a key no charter names is \
         disconnected.",
    );
    let st_marys = demo.node(ST_MARYS)?.p2p_addr()?;
    let st_james = demo.node(ST_JAMES)?.p2p_addr()?;
    demo.node(ST_JAMES)?.dial(&st_marys)?;
    demo.node(RELAY)?.dial(&st_marys)?;
    demo.node(RELAY)?.dial(&st_james)?;
    let nodes = &demo.nodes;
    log.wait("every node admitted the other two, by their charters", LIMIT, || {
        for n in nodes {
            let admitted = n.admitted()?;
            for other in nodes.iter().filter(|o| o.key != n.key) {
                ensure!(
                    admitted.contains(&other.key.to_string()),
                    "{} has not admitted {} yet",
                    n.site.short,
                    other.site.short
                );
            }
        }
        Ok(())
    })?;
    log.wait("every node holds all three charters", LIMIT, || all_hold(nodes, &charters))
}

/// `Ok` when every running node in `nodes` holds every event in `ids`.
pub(crate) fn all_hold(nodes: &[DemoNode], ids: &[EventId]) -> anyhow::Result<()> {
    for n in nodes.iter().filter(|n| n.is_running()) {
        let (missing, first) = n.missing(ids)?;
        if let Some(id) = first {
            bail!("{} lacks {missing} of {} (such as {})", n.site.short, ids.len(), id.short());
        }
    }
    Ok(())
}
