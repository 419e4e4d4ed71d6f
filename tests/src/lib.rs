//! End-to-end tests for Curbside: real nodes and the real `curbside` binary
//! on 127.0.0.1, with ports chosen by the operating system.
//!
//! The tests live in `tests/tests/`; this library holds what they share.

use std::path::PathBuf;

/// Path to the `curbside` binary of this build.
///
/// `cargo test --workspace` builds every binary before it runs any test;
/// test executables live in `target/<profile>/deps/`, the binary one level up.
pub fn curbside_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let profile_dir =
        exe.parent().and_then(|deps| deps.parent()).map(PathBuf::from).unwrap_or_default();
    let bin = profile_dir.join(format!("curbside{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        bin.display()
    );
    bin
}
