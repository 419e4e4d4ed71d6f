//! `curbside node backup` and `curbside node restore` (node/src/backup.rs
//! says what a backup holds and why it is consistent).
//!
//! A running node holds sled's lock on its store, so it makes the copy
//! itself (`POST /v1/admin/backup`); a stopped node's store is copied here,
//! with the lock held so that the node cannot start meanwhile.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use curbside_node::backup::{self, BackupError, Manifest, Taken};
use curbside_node::datadir::DataDir;
use curbside_node::store::{Stopped, StoreError};
use serde_json::json;

use super::{Ctx, shell_word};
use crate::args::{AdminTokenArgs, NodeUrl};
use crate::error::Refusal;
use crate::output::{datetime, kv};

/// Longest a running node is given to write a backup (a million events
/// take tens of seconds; the node finishes it even if this runs out).
const PATIENCE: Duration = Duration::from_secs(3600);

/// `curbside node backup --data DIR --out BACKUP_DIR [--node URL]`.
pub(crate) fn backup(
    ctx: &Ctx,
    data: &Path,
    out: &Path,
    node: &NodeUrl,
) -> anyhow::Result<ExitCode> {
    let dir = DataDir::open(data)?;
    // The node may run elsewhere in the file system's eyes: send it an
    // absolute path, as this shell means it.
    let out = std::path::absolute(out).with_context(|| format!("{}", out.display()))?;
    let key = dir.key().public();
    let manifest = match Stopped::open(&dir.store_dir()) {
        Ok(stopped) => {
            backup::take(dir.root(), &out, &key, Taken::Stopped, backup::FREE_RESERVE, |w| {
                stopped.export(&key, w)
            })
            .map_err(refusal)?
        }
        Err(StoreError::Busy(_)) => {
            let admin = AdminTokenArgs { data: Some(data.to_path_buf()), token_file: None };
            let (client, token) = super::admin::admin_client(ctx, &admin, node)?;
            client.with_timeout(PATIENCE).post(
                "/v1/admin/backup",
                &json!({ "out": out }),
                Some(&token),
            )?
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("opening the store in {}", dir.store_dir().display()));
        }
    };
    ctx.out.emit(&json!({ "out": out, "manifest": manifest }), || backup_text(&out, &manifest))?;
    Ok(ExitCode::SUCCESS)
}

fn backup_text(out: &Path, m: &Manifest) -> String {
    let taken = match m.taken {
        Taken::Running => "running (copied between two of its writes)",
        Taken::Stopped => "stopped (copied with its store locked)",
    };
    let bytes: u64 = m.files.iter().map(|f| f.bytes).sum();
    let mut text = format!("backup written to {} (durable)\n", out.display());
    text.push_str(&kv(&[
        ("node", m.node_key.to_string()),
        ("network", m.network.to_string()),
        ("taken", format!("{} UTC, the node {taken}", datetime(m.created_at))),
        ("audit log", format!("{}, root {}", entries(m.own_log.size), m.own_log.root)),
        ("store", format!("{} records, schema {}", m.records, m.schema)),
        ("size", format!("{:.1} MiB in {} files", bytes as f64 / 1048576.0, m.files.len() + 1)),
    ]));
    text.push_str(
        "\nKeep it as secret as the node itself: it holds the node's key, its admin token and \
         the licence openings of every physician it attested. The search index is not in it \
         (a node rebuilds it at start).\n",
    );
    text
}

/// `curbside node restore --from BACKUP_DIR --data DIR`.
pub(crate) fn restore(ctx: &Ctx, from: &Path, data: &Path) -> anyhow::Result<ExitCode> {
    let restored = backup::restore(from, data).map_err(refusal)?;
    let m = &restored.manifest;
    let warning = format!(
        "This node is now as it was at {} UTC. If it attested or revoked anyone after that, its \
         audit log has moved on since the backup: those entries are not in it, and their licence \
         openings are lost unless a later backup holds them. When it starts, the node catches up \
         with its own log from its peers before it issues anything. Never run it beside the node \
         the backup was taken from (the same key): stop that one for good first.",
        datetime(m.created_at)
    );
    ctx.out.emit(&json!({ "data": data, "manifest": m, "warning": warning }), || {
        let mut text =
            format!("restored the backup in {} into {}\n", from.display(), data.display());
        text.push_str(&kv(&[
            ("node", m.node_key.to_string()),
            ("taken", format!("{} UTC", datetime(m.created_at))),
            ("audit log", format!("{}, root {}", entries(m.own_log.size), m.own_log.root)),
            ("store", format!("{} records, schema {}", m.records, m.schema)),
        ]));
        text.push_str(&format!(
            "\nwarning: {warning}\n\nstart it with: curbside node run --data {}\n",
            shell_word(&data.display().to_string())
        ));
        text
    })?;
    Ok(ExitCode::SUCCESS)
}

fn entries(n: u64) -> String {
    if n == 1 { "1 entry".into() } else { format!("{n} entries") }
}

/// A backup's refusal (exit 1, with its code); a failure of the disk or
/// the store stays an error (exit 2).
fn refusal(e: BackupError) -> anyhow::Error {
    match e.code() {
        curbside_node::codes::Code::Storage => anyhow::Error::new(e),
        code => anyhow::Error::new(Refusal::Coded {
            code: code.as_str().into(),
            message: e.to_string(),
        }),
    }
}
