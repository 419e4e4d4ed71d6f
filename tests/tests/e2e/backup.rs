//! `curbside node backup` and `node restore` on real nodes: a backup of a
//! node taken while it serves, brought back into a fresh directory, holds
//! every event acknowledged before it, the node's audit log and every
//! licence opening; a damaged backup and a directory in use are refused.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use curbside_protocol::EventId;
use curbside_protocol::testkit::key;
use curbside_tests::{Network, TestNode};
use serde_json::{Value, json};

use crate::cli_kit::{fails, ok, run, s, text};

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `curbside reveal ID` against `node` with the admin token in `token`.
fn reveal(home: &Path, token: &Path, node: &TestNode, id: &EventId) -> Value {
    ok(home, &["reveal", &id.to_string(), "--token-file", path(token), "--node", &node.url])
}

#[test]
fn a_backup_of_a_serving_node_restores_its_events_audit_log_and_openings() {
    let net = Network::new();
    // Physicians post as fast as the node takes them while it backs up.
    let node = TestNode::start_tweaked(&net, |c| {
        c.author_limit = curbside_node::config::AuthorLimit { per_minute: 100_000, burst: 100_000 };
    });
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let token = tmp.path().join("admin.token");
    std::fs::write(&token, &node.admin_token).unwrap();
    let data = node.data_dir().to_path_buf();

    let handles = ["dr-ada", "dr-bea", "dr-cy"];
    let attested: Vec<EventId> =
        handles.iter().map(|h| node.attest(&net, &key(h), h, &["cardiology"], "GB")).collect();
    let mut acked: BTreeSet<EventId> = attested.iter().copied().collect();
    for (i, h) in handles.iter().enumerate() {
        let post = net.post(&key(h), &format!("Before the backup {i}"));
        assert_eq!(node.submit(std::slice::from_ref(&post)).0, 200);
        acked.insert(post.id());
    }
    let openings: Vec<Value> = attested.iter().map(|id| reveal(&home, &token, &node, id)).collect();

    // The node keeps taking posts while it writes the backup.
    let stop = AtomicBool::new(false);
    let api = (*node).clone();
    let out = tmp.path().join("backups").join("monday");
    std::fs::create_dir(out.parent().unwrap()).unwrap();
    let (backup, during) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut stored = Vec::new();
            for i in 0.. {
                if stop.load(Ordering::SeqCst) && i >= 20 {
                    break;
                }
                let post = net.post(&key(handles[i % 3]), &format!("While backing up {i}"));
                let (status, body) = api.submit(std::slice::from_ref(&post));
                assert_eq!(status, 200, "the node kept serving: {body}");
                stored.push(post.id());
            }
            stored
        });
        let backup = ok(
            &home,
            &["node", "backup", "--data", path(&data), "--out", path(&out), "--node", &node.url],
        );
        stop.store(true, Ordering::SeqCst);
        (backup, writer.join().unwrap())
    });
    let manifest = &backup["manifest"];
    assert_eq!(manifest["taken"], "running", "{backup:#}");
    assert_eq!(manifest["own_log"]["size"], 3, "{backup:#}");
    assert_eq!(manifest["node_key"], json!(node.key.to_string()));
    let log_before = node.audit_log(&node.key).unwrap();
    assert_eq!(manifest["own_log"]["root"], log_before["latest"]["root"], "{log_before:#}");

    let stopped = node.stop();
    let all = stopped.event_ids();

    // Restore into a directory that does not exist yet, and start it.
    let restored_dir = tmp.path().join("restored");
    let out_text =
        run(&home, &["node", "restore", "--from", path(&out), "--data", path(&restored_dir)], None);
    let printed = text(&out_text.stdout);
    assert!(out_text.status.success(), "{printed}{}", text(&out_text.stderr));
    assert!(printed.contains("3 entries"), "the backup's audit log size: {printed}");
    assert!(printed.contains("has moved on since the backup"), "{printed}");
    assert!(printed.contains("catches up"), "{printed}");
    let restored = TestNode::run(&restored_dir);
    assert_eq!(restored.key, stopped_key(&stopped));
    let log_after = restored.audit_log(&restored.key).unwrap();
    assert_eq!(log_after["latest"], log_before["latest"], "the same latest head: {log_after:#}");
    let restored_token = tmp.path().join("restored.token");
    std::fs::write(&restored_token, &restored.admin_token).unwrap();
    for (id, opening) in attested.iter().zip(&openings) {
        assert_eq!(&reveal(&home, &restored_token, &restored, id), opening, "opening of {id}");
    }
    let came_back = restored.stop().event_ids();
    let missing: Vec<_> = acked.difference(&came_back).collect();
    assert!(missing.is_empty(), "acknowledged before the backup, not in it: {missing:?}");
    assert!(came_back.is_subset(&all), "the backup holds nothing the node did not");
    let taken_during = during.iter().filter(|id| came_back.contains(id)).count();
    eprintln!("{taken_during} of {} posts written during the backup are in it", during.len());
    let (_, sound) = restored_check(&restored_dir, &attested[0]);
    assert!(sound, "the restored store passes its check");
}

/// The stopped node's key, from its data directory.
fn stopped_key(stopped: &curbside_tests::Stopped) -> curbside_protocol::PublicKey {
    curbside_node::datadir::DataDir::open(stopped.data_dir()).unwrap().key().public()
}

/// Whether the store in `data` holds `id`, and passes its check.
fn restored_check(data: &Path, id: &EventId) -> (bool, bool) {
    let dir = curbside_node::datadir::DataDir::open(data).unwrap();
    let store = curbside_node::store::Store::open(&dir.store_dir(), dir.genesis().clone()).unwrap();
    let held = store.events().get(id).unwrap().is_some();
    (held, store.check().unwrap().is_sound())
}

#[test]
fn restore_refuses_a_damaged_backup_and_a_directory_in_use() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let attested = node.attest(&net, &key("dr-dee"), "dr-dee", &["cardiology"], "GB");
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");

    // Over the API: only a new directory outside the data directory, and
    // only for the admin.
    let data = node.data_dir().to_path_buf();
    let inside = data.join("backup");
    let (status, body) =
        node.post("/v1/admin/backup", &json!({ "out": path(&inside) }), Some(&node.admin_token));
    assert_eq!((status, s(&body["code"])), (400, "backup_out_invalid".into()), "{body}");
    let (status, _) = node.post("/v1/admin/backup", &json!({ "out": "/tmp/x" }), None);
    assert_eq!(status, 401);
    assert!(!inside.exists());

    // A stopped node is copied directly, its store locked meanwhile.
    let stopped = node.stop();
    let data = stopped.data_dir().to_path_buf();
    let good = tmp.path().join("good");
    let backup = ok(&home, &["node", "backup", "--data", path(&data), "--out", path(&good)]);
    assert_eq!(backup["manifest"]["taken"], "stopped", "{backup:#}");
    assert_eq!(backup["manifest"]["own_log"]["size"], 1);
    let (_, stderr) =
        fails(&home, &["node", "backup", "--data", path(&data), "--out", path(&good)], 1);
    assert!(stderr.contains("(backup_exists)"), "{stderr}");

    // One flipped bit in the store's copy: refused with its code, nothing made.
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    for entry in std::fs::read_dir(&good).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), bad.join(entry.file_name())).unwrap();
    }
    let records = bad.join("store.records");
    let mut bytes = std::fs::read(&records).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&records, &bytes).unwrap();
    let target = tmp.path().join("target");
    let (_, stderr) =
        fails(&home, &["node", "restore", "--from", path(&bad), "--data", path(&target)], 1);
    assert!(stderr.contains("(backup_damaged)"), "{stderr}");
    assert!(stderr.contains("store.records does not match its checksum"), "{stderr}");
    assert!(!target.exists(), "a refused restore leaves nothing");

    // Into the node's own (non-empty) directory: refused, saying what to do.
    let (_, stderr) =
        fails(&home, &["node", "restore", "--from", path(&good), "--data", path(&data)], 1);
    assert!(stderr.contains("(restore_not_empty)") && stderr.contains("Stop the node"), "{stderr}");

    // The good one restores, and holds the attestation.
    let restored = ok(&home, &["node", "restore", "--from", path(&good), "--data", path(&target)]);
    assert_eq!(restored["manifest"]["own_log"]["size"], 1);
    assert_eq!(restored_check(&target, &attested), (true, true));
}

/// The README's backup walk-through, pasted after the operator's (both run
/// by `bash -e` in one empty directory, as operator.rs runs the first):
/// every command succeeds, the backup names the audit log it holds, and
/// the restored node lists the attestation from its restored openings.
/// The walk-throughs' ports move up by 100 so this can run beside
/// operator.rs's test.
#[test]
fn the_readme_backup_walk_through_runs_as_written() {
    use std::time::Duration;

    use crate::operator::{readme_block, run_walk_through};

    let script = format!(
        "{}\n{}",
        readme_block("<!-- walk-through: operator"),
        readme_block("<!-- walk-through: backup")
    );
    let script = ["7520", "7521", "7530", "7531"]
        .iter()
        .fold(script, |s, port| s.replace(port, &(port.parse::<u16>().unwrap() + 100).to_string()));
    let dir = tempfile::tempdir().unwrap();
    let output = run_walk_through(dir.path(), &script, Duration::from_secs(300));
    let stdout = text(&output.stdout);
    let log = std::fs::read_to_string(dir.path().join("stjames.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}\nstjames.log:\n{log}",
        text(&output.stderr)
    );
    assert!(stdout.contains("backup written to"), "{stdout}");
    assert!(stdout.contains("1 entry, root"), "the backup holds the attestation: {stdout}");
    assert!(stdout.contains("has moved on since the backup"), "{stdout}");
    assert!(stdout.contains("dr-okafor"), "the restored node lists the attestation: {stdout}");
}
