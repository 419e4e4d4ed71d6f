//! The store's submodules depend on each other one way (the order drawn
//! at the top of `store/mod.rs`): a path from one submodule to another
//! (`use super::x`, `super::x::…`, `crate::store::x`) that closes a cycle
//! fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each submodule of the store (a file, or a directory's files together,
/// tests left out) and its source.
fn submodules() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "mod" || name == "tests" {
            continue;
        }
        let source = if path.is_dir() {
            let mut all = String::new();
            for file in std::fs::read_dir(&path).unwrap() {
                all += &std::fs::read_to_string(file.unwrap().path()).unwrap();
            }
            all
        } else {
            std::fs::read_to_string(&path).unwrap()
        };
        // A file's own unit tests may reach anywhere.
        let source = source.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        out.insert(name, source.to_string());
    }
    out
}

/// The submodules `source` names by path.
fn uses(source: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let words = |s: &str| {
        s.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for word in words(source) {
        for prefix in ["super::", "crate::store::"] {
            if let Some(rest) = word.strip_prefix(prefix) {
                let name = rest.split("::").next().unwrap_or_default();
                if names.contains(name) {
                    found.insert(name.to_string());
                }
            }
        }
    }
    for group in source.split("use super::{").skip(1) {
        let inside = group.split('}').next().unwrap_or_default();
        for item in inside.split([',', ' ', '\n']) {
            if names.contains(item) {
                found.insert(item.to_string());
            }
        }
    }
    found
}

#[test]
fn the_store_submodules_depend_on_each_other_one_way() {
    let modules = submodules();
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    assert!(names.contains("keys") && names.contains("write"), "{names:?}");
    let graph: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .map(|(name, source)| {
            let mut deps = uses(source, &names);
            deps.remove(name);
            (name.as_str(), deps)
        })
        .collect();
    // Depth first from each module; a module met again on the path is a cycle.
    fn visit<'a>(
        at: &'a str,
        graph: &'a BTreeMap<&str, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(start) = path.iter().position(|m| *m == at) {
            panic!("store submodules import each other in a cycle: {:?}", &path[start..]);
        }
        if !done.insert(at) {
            return;
        }
        path.push(at);
        for next in &graph[at] {
            visit(next, graph, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for name in graph.keys() {
        visit(name, &graph, &mut Vec::new(), &mut done);
    }
}
