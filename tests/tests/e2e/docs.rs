//! The documents name tests as evidence; those tests must exist.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_sources(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_test_named_in_security_md_exists() {
    let root = workspace();
    let doc = std::fs::read_to_string(root.join("docs/SECURITY.md")).unwrap();
    let mut sources = String::new();
    rust_sources(&root, &mut sources);
    let mut checked = 0;
    for row in doc.lines().filter(|l| l.starts_with("| ") && l.contains("::")) {
        let last_cell = row.trim_end_matches('|').rsplit('|').next().unwrap();
        for name in last_cell.split('`').skip(1).step_by(2) {
            let test = name.rsplit("::").next().unwrap();
            assert!(
                sources.contains(&format!("fn {test}(")),
                "docs/SECURITY.md names `{name}`, but no test `{test}` exists"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} tests named in docs/SECURITY.md");
}
