//! The swarm task's invariant, kept by reading its own source.

/// The runner's files, as compiled into this crate.
const FILES: [(&str, &str); 8] = [
    ("mod.rs", include_str!("mod.rs")),
    ("admission.rs", include_str!("admission.rs")),
    ("catchup.rs", include_str!("catchup.rs")),
    ("events.rs", include_str!("events.rs")),
    ("gossip.rs", include_str!("gossip.rs")),
    ("policy.rs", include_str!("policy.rs")),
    ("policy_tests.rs", include_str!("policy_tests.rs")),
    ("serve.rs", include_str!("serve.rs")),
];

/// Whether `line` names the store: its module (`store::…`), its types
/// (`Store`, `StoreView`, `StoreError`…: `Store` ending an identifier or
/// followed by another capitalised word, so `Outcome::Stored` is not one)
/// or sled.
fn names_store(line: &str) -> Option<&str> {
    if line.contains("store::") {
        return Some("store::");
    }
    line.split(|c: char| !(c.is_alphanumeric() || c == '_')).find(|ident| {
        *ident == "sled"
            || ident
                .strip_prefix("Store")
                .is_some_and(|rest| rest.chars().next().is_none_or(|c| c.is_uppercase()))
    })
}

#[test]
fn the_store_is_recognised_however_it_is_named() {
    for line in ["use crate::store::Holder;", "fn f(s: &Store)", "StoreView::new(s)", "sled::Db"] {
        assert!(names_store(line).is_some(), "{line}");
    }
    for line in ["Ok(Outcome::Stored { id })", "// stored, not forwarded", "self.restore()"] {
        assert_eq!(names_store(line), None, "{line}");
    }
}

/// The task that owns the swarm must never wait on the disk: what it needs
/// from the store is handed to it (an announced event's topic) or read on
/// the network's blocking pool (`net/offload.rs`) and comes back as a
/// completion. A runner file that names the store breaks that.
#[test]
fn the_swarm_task_does_not_name_the_store() {
    for (file, text) in FILES {
        for (n, line) in text.lines().enumerate() {
            if let Some(word) = names_store(line) {
                panic!(
                    "net/runner/{file}:{}: names `{word}`; the swarm task must not touch \
                     the store (hand it what it needs, or read it on the Offload pool)",
                    n + 1,
                );
            }
        }
    }
}

/// Every file of the runner is read by the test above (a new file must be
/// added to [`FILES`]).
#[test]
fn every_runner_file_is_checked() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/net/runner");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs") && name != "tests.rs")
        .collect();
    on_disk.sort();
    let mut checked: Vec<String> = FILES.iter().map(|(name, _)| name.to_string()).collect();
    checked.sort();
    assert_eq!(on_disk, checked);
}
