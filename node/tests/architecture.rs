//! The node's modules depend one way, and this test keeps them so.
//!
//! It reads `node/src` as text (no compiler), takes every path a file
//! names through `crate::X`, `super::X` or `use crate::{X, …}`, resolves it
//! against the file's own module, and draws an edge between the two
//! children of a directory that the file and the path fall in. Test code
//! (files declared `#[cfg(test)] mod …;`, `tests.rs`, and every
//! `#[cfg(test)]` item) is left out: a test may drive a module through the
//! ones above it without making the library depend upward.
//!
//! Each directory checked has a table of the edges it allows, which is the
//! graph docs/ARCHITECTURE.md ("Dependencies") draws; an edge outside it
//! fails, and so does a cycle, and so does a table that allows one.
//!
//! What it cannot see: an item reached through a re-export of the parent
//! (`use super::Held` where `mod.rs` says `pub use pending::Held`) counts
//! as an edge to the parent, not to `pending`. Name the defining module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top level of `node/src`: what each module may import. Read a row as
/// "`from` may name `to`"; everything not listed is forbidden.
///
/// wire ← store ← ingest ← {sync, audit} ← net ← api ← config ← datadir ←
/// dev, with `metrics` between ingest and the API, `source` and
/// `ratelimit` below everything that counts peers, and `shutdown` above
/// the API it stops.
const NODE_ALLOWED: &[(&str, &[&str])] = &[
    ("codes", &[]),
    ("wire", &["codes"]),
    ("source", &[]),
    ("ratelimit", &[]),
    ("outcome", &["codes", "store"]),
    ("store", &["wire"]),
    ("ingest", &["wire", "store", "codes", "outcome"]),
    ("metrics", &["ingest", "store", "codes", "outcome"]),
    ("sync", &["wire", "store", "ingest", "codes", "outcome"]),
    ("search", &["store", "ingest", "codes"]),
    ("verifier", &["wire", "store", "ingest", "codes", "outcome"]),
    (
        "net",
        &[
            "wire",
            "store",
            "ingest",
            "metrics",
            "sync",
            "verifier",
            "source",
            "ratelimit",
            "codes",
            "outcome",
        ],
    ),
    (
        "api",
        &[
            "wire",
            "store",
            "ingest",
            "sync",
            "verifier",
            "metrics",
            "net",
            "source",
            "ratelimit",
            "codes",
            "outcome",
            "search",
            "backup",
        ],
    ),
    ("config", &["store", "ingest", "net", "api"]),
    ("datadir", &["config", "api"]),
    ("dev", &["store", "ingest", "config", "datadir"]),
    ("backup", &["codes", "store"]),
    ("shutdown", &["store", "api", "codes"]),
    (
        "lifecycle",
        &[
            "store", "ingest", "metrics", "sync", "verifier", "net", "api", "config", "datadir",
            "shutdown", "search",
        ],
    ),
];

/// Edges of `node/src` that still close a cycle: none.
const NODE_STILL_CYCLIC: &[(&str, &str)] = &[];

/// The store's submodules, from the key layout (`keys`) and what is kept
/// in memory up to `check`, which rebuilds everything from the events and
/// so may read every other part. Held events (`pending`) sit below the
/// audit logs that release them, and both below `write`, which commits
/// them.
const STORE_ALLOWED: &[(&str, &[&str])] = &[
    ("keys", &[]),
    ("batch", &[]),
    ("memory", &[]),
    ("durable", &[]),
    ("reads", &["keys", "memory"]),
    ("pending", &["keys", "batch", "memory", "durable", "reads"]),
    ("audit", &["keys", "batch", "memory", "durable", "reads", "pending"]),
    ("authored", &["keys"]),
    ("index", &["keys", "memory", "reads", "audit", "authored"]),
    ("write", &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index"]),
    ("check", &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index"]),
    ("view", &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index"]),
    ("thread", &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index"]),
    ("authors", &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index"]),
    ("ids", &["keys", "reads"]),
    ("commits", &["keys", "reads"]),
    ("peers", &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index"]),
    (
        "migrate",
        &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index", "authored"],
    ),
    ("marks", &["keys", "reads", "authored"]),
    ("operators", &["keys"]),
    ("inbox", &["keys", "reads", "authored", "marks"]),
    ("tombstones", &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index"]),
    ("afterwords", &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index"]),
    ("moderation", &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index"]),
    (
        "open",
        &[
            "keys",
            "batch",
            "memory",
            "durable",
            "reads",
            "pending",
            "audit",
            "index",
            "migrate",
            "moderation",
        ],
    ),
    (
        "export",
        &["keys", "batch", "memory", "durable", "reads", "pending", "audit", "index", "open"],
    ),
];

/// Store edges that still close a cycle: none.
const STORE_STILL_CYCLIC: &[(&str, &str)] = &[];

#[test]
fn node_modules_depend_one_way() {
    check(&src().join(""), &[], NODE_ALLOWED, NODE_STILL_CYCLIC);
}

#[test]
fn store_submodules_depend_one_way() {
    check(&src().join("store"), &["store"], STORE_ALLOWED, STORE_STILL_CYCLIC);
}

/// The tables themselves allow no cycle: each is a layering.
#[test]
fn the_allowed_edges_form_no_cycle() {
    for table in [NODE_ALLOWED, STORE_ALLOWED] {
        let graph: Graph = table
            .iter()
            .map(|(from, to)| (from.to_string(), to.iter().map(|t| t.to_string()).collect()))
            .collect();
        assert_eq!(find_cycle(&graph), None);
    }
}

/// The reader sees what it must, so the checks above can fail.
#[test]
fn the_reader_finds_edges_and_cycles() {
    let text = "use crate::{a::X, b};\nuse super::super::c::Y;\nfn f() { crate::d::g(); }\n\
                #[cfg(test)]\nmod tests { use crate::e; }\n// crate::f\nconst S: &str = \"crate::g\";";
    let paths = named_paths(text, &["top".into(), "here".into()]);
    let firsts: BTreeSet<_> = paths.iter().map(|p| p[0].as_str()).collect();
    assert_eq!(firsts, BTreeSet::from(["a", "b", "c", "d"]));
    let graph: Graph = [
        ("x".to_string(), BTreeSet::from(["y".to_string()])),
        ("y".to_string(), BTreeSet::from(["x".to_string()])),
    ]
    .into();
    assert!(find_cycle(&graph).is_some());
}

type Graph = BTreeMap<String, BTreeSet<String>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Checks the children of `dir` (whose module path is `at`) against
/// `allowed`, with `still_cyclic` edges tolerated until they are removed.
fn check(dir: &Path, at: &[&str], allowed: &[(&str, &[&str])], still_cyclic: &[(&str, &str)]) {
    let at: Vec<String> = at.iter().map(|s| s.to_string()).collect();
    let graph = module_graph(dir, &at);
    let allowed: BTreeMap<&str, BTreeSet<&str>> =
        allowed.iter().map(|(from, to)| (*from, to.iter().copied().collect())).collect();
    for module in graph.keys() {
        assert!(
            allowed.contains_key(module.as_str()),
            "{}: module `{module}` has no row in the table of allowed edges",
            dir.display()
        );
    }
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            let ok = allowed.get(from.as_str()).is_some_and(|a| a.contains(to.as_str()));
            let tolerated = still_cyclic.contains(&(from.as_str(), to.as_str()));
            if !ok && !tolerated {
                wrong.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}: edges the architecture forbids: {wrong:?}", dir.display());
    for (from, to) in still_cyclic {
        assert!(
            graph.get(*from).is_some_and(|t| t.contains(*to)),
            "{}: `{from} → {to}` is gone: remove it from the still-cyclic list",
            dir.display()
        );
    }
    let mut acyclic = graph.clone();
    for (from, to) in still_cyclic {
        if let Some(targets) = acyclic.get_mut(*from) {
            targets.remove(*to);
        }
    }
    assert_eq!(find_cycle(&acyclic), None, "{}: a cycle between modules", dir.display());
}

/// The children of `dir` (module path `at`) and which of them each names.
fn module_graph(dir: &Path, at: &[String]) -> Graph {
    let mut graph = Graph::new();
    let children = children(dir);
    for child in &children {
        graph.entry(child.clone()).or_default();
    }
    for (file, module) in rust_files(dir, at) {
        let Some(from) = module.get(at.len()) else { continue };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for path in named_paths(&text, &module) {
            let Some(rest) = path.strip_prefix(at) else { continue };
            if let Some(to) = rest.first()
                && to != from
                && children.contains(to)
            {
                graph.entry(from.clone()).or_default().insert(to.clone());
            }
        }
    }
    graph
}

/// The modules `dir` holds: `x.rs` and `x/`, less `lib.rs`, `main.rs` and
/// `mod.rs` (the directory's own root).
fn children(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if path.is_dir() || path.extension().is_some_and(|e| e == "rs") {
            out.insert(name);
        }
    }
    for root in ["lib", "main", "mod", "tests"] {
        out.remove(root);
    }
    out
}

/// Every non-test `.rs` file under `dir`, with its module path.
fn rust_files(dir: &Path, at: &[String]) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), at.to_vec())];
    while let Some((dir, module)) = stack.pop() {
        let test_mods = test_modules(&dir);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if name == "tests" || test_mods.contains(&name) {
                continue;
            }
            let mut inner = module.clone();
            if path.is_dir() {
                inner.push(name);
                stack.push((path, inner));
            } else if path.extension().is_some_and(|e| e == "rs") {
                if !["lib", "main", "mod"].contains(&name.as_str()) {
                    inner.push(name);
                }
                out.push((path, inner));
            }
        }
    }
    out
}

/// The modules that `dir`'s root file (`mod.rs` or `lib.rs`) declares only
/// for tests (`#[cfg(test)] mod x;`).
fn test_modules(dir: &Path) -> BTreeSet<String> {
    let root = ["mod.rs", "lib.rs"].iter().map(|f| dir.join(f)).find(|p| p.exists());
    let text = root.and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    let clean = strip(&text);
    let mut out = BTreeSet::new();
    let mut rest = clean.as_str();
    while let Some(i) = rest.find("#[cfg(test)]") {
        rest = &rest[i + "#[cfg(test)]".len()..];
        let item = rest.trim_start();
        let item = item.strip_prefix("pub(crate) ").or(item.strip_prefix("pub ")).unwrap_or(item);
        if let Some(decl) = item.strip_prefix("mod ") {
            let name: String = decl.chars().take_while(|c| is_ident(*c)).collect();
            if decl[name.len()..].trim_start().starts_with(';') {
                out.insert(name);
            }
        }
    }
    out
}

/// The absolute module paths `text` (a file of module `module`) names
/// through `crate::` and `super::`, test items left out.
fn named_paths(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let code = without_test_items(&strip(text));
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let before_ok = i == 0 || !is_ident(bytes[i - 1] as char) && bytes[i - 1] != b':';
        let (base, after) = if before_ok && bytes[i..].starts_with(b"crate::") {
            (Vec::new(), i + "crate::".len())
        } else if before_ok && bytes[i..].starts_with(b"super::") {
            let mut base = module.to_vec();
            let mut j = i;
            while bytes[j..].starts_with(b"super::") {
                base.pop();
                j += "super::".len();
            }
            (base, j)
        } else {
            i += 1;
            continue;
        };
        for tail in path_tails(&code[after..]) {
            let mut path = base.clone();
            path.extend(tail);
            out.push(path);
        }
        i = after;
    }
    out
}

/// The paths at the start of `s` (what follows `crate::`): one path, or
/// each first member of a `{…}` group.
fn path_tails(s: &str) -> Vec<Vec<String>> {
    let mut segments = Vec::new();
    let mut rest = s;
    loop {
        let ident: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        if ident.is_empty() {
            break;
        }
        rest = &rest[ident.len()..];
        segments.push(ident);
        match rest.strip_prefix("::") {
            Some(more) => rest = more,
            None => return vec![segments],
        }
    }
    let Some(group) = rest.strip_prefix('{') else { return vec![segments] };
    let mut depth = 0;
    let mut members = vec![String::new()];
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => members.push(String::new()),
            _ => {}
        }
        if let Some(last) = members.last_mut() {
            last.push(c);
        }
    }
    members
        .iter()
        .map(|m| m.trim_start_matches(',').trim())
        .filter(|m| !m.is_empty() && *m != "self" && *m != "*")
        .flat_map(path_tails)
        .map(|tail| segments.iter().cloned().chain(tail).collect())
        .collect()
}

/// `code` without the items marked `#[cfg(test)]`.
fn without_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        rest = &rest[i + "#[cfg(test)]".len()..];
        let end = item_end(rest);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Where the item at the start of `s` ends: after its `;` or its
/// balanced `{…}`, whichever comes first.
fn item_end(s: &str) -> usize {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            ';' if depth == 0 => return i + 1,
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// `text` with comments removed and the insides of string and character
/// literals blanked, so neither braces nor paths in them count.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !prev_is_ident(&chars, i) {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += hashes + 2;
            let close: Vec<char> = std::iter::once('"').chain("#".repeat(hashes).chars()).collect();
            while i < chars.len() && !chars[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && is_ident(chars[i - 1])
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A cycle of `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph.keys().find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}
