//! What the command line keeps under `--home` (default `$CURBSIDE_HOME`,
//! else `~/.curbside`):
//!
//! ```text
//! <home>/id.key         your physician key (encrypted keystore, mode 0600)
//! <home>/session.json   read sessions by node URL (mode 0600)
//! <home>/dev/           the development network `curbside node run` makes
//! <home>/dev/node/      its node's data directory (admin.token inside)
//! <home>/audit/         the auditor's pinned network and last heads (`audit verify`)
//! ```

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The home directory and the files in it.
#[derive(Debug, Clone)]
pub(crate) struct Home {
    dir: PathBuf,
}

impl Home {
    /// `--home` (or `$CURBSIDE_HOME`, which clap reads), else `~/.curbside`.
    pub(crate) fn resolve(flag: Option<PathBuf>) -> anyhow::Result<Self> {
        if let Some(dir) = flag.filter(|d| !d.as_os_str().is_empty()) {
            return Ok(Self { dir });
        }
        match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => Ok(Self { dir: PathBuf::from(home).join(".curbside") }),
            None => bail!("no home directory: pass --home DIR or set CURBSIDE_HOME"),
        }
    }

    /// A home at `dir` (tests).
    #[cfg(test)]
    pub(crate) fn at(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf() }
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The physician's keystore.
    pub(crate) fn id_key(&self) -> PathBuf {
        self.dir.join("id.key")
    }

    /// The session cache.
    pub(crate) fn session_file(&self) -> PathBuf {
        self.dir.join("session.json")
    }

    /// The development node's data directory.
    pub(crate) fn dev_data(&self) -> PathBuf {
        self.dir.join("dev").join("node")
    }

    /// Creates the directory (mode 0700) if it is missing.
    pub(crate) fn create(&self) -> anyhow::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))
    }
}

/// Where an admin token was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenSource {
    /// The file.
    pub(crate) path: PathBuf,
    /// Named by the user (`--token-file`, `--data`), rather than the
    /// development node's, found by looking.
    pub(crate) explicit: bool,
}

/// Where the institution admin's token is: `--token-file`, else
/// `<--data>/admin.token`, else the development node's
/// `<home>/dev/node/admin.token` if it exists.
pub(crate) fn find_admin_token(
    token_file: Option<&Path>,
    data: Option<&Path>,
    home: &Home,
) -> Option<TokenSource> {
    if let Some(path) = token_file {
        return Some(TokenSource { path: path.to_path_buf(), explicit: true });
    }
    if let Some(data) = data {
        return Some(TokenSource { path: data.join("admin.token"), explicit: true });
    }
    let dev = home.dev_data().join("admin.token");
    dev.is_file().then_some(TokenSource { path: dev, explicit: false })
}

/// Reads an admin token file.
pub(crate) fn read_token(source: &TokenSource) -> anyhow::Result<String> {
    let path = &source.path;
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the admin token {}: pass --token-file FILE, or --data DIR (the node's data directory)",
            path.display()
        )
    })?;
    let token = text.trim();
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("{} does not hold an admin token (one line of text)", path.display());
    }
    Ok(token.to_owned())
}

/// Writes `bytes` to `path` with mode 0600, atomically and durably
/// (temporary file, fsync, rename, fsync of the directory: the rename is
/// on the disk only once its directory is). Creates missing parent
/// directories with mode 0700.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn token_file_beats_data_beats_the_dev_node() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        // Nothing named, no dev node: nothing.
        assert_eq!(find_admin_token(None, None, &home), None);

        // The dev node's token, once it exists.
        let dev_token = home.dev_data().join("admin.token");
        std::fs::create_dir_all(home.dev_data()).unwrap();
        std::fs::write(&dev_token, "devtoken\n").unwrap();
        let found = find_admin_token(None, None, &home).unwrap();
        assert_eq!(found, TokenSource { path: dev_token.clone(), explicit: false });
        assert_eq!(read_token(&found).unwrap(), "devtoken");

        // --data beats it, even when its token is missing (that is an error to report).
        let data = dir.path().join("inst");
        let found = find_admin_token(None, Some(&data), &home).unwrap();
        assert_eq!(found, TokenSource { path: data.join("admin.token"), explicit: true });
        let err = read_token(&found).unwrap_err().to_string();
        assert!(err.contains("--token-file"), "{err}");

        // --token-file beats both.
        let file = dir.path().join("token.txt");
        std::fs::write(&file, "  abc123  \n").unwrap();
        let found = find_admin_token(Some(&file), Some(&data), &home).unwrap();
        assert_eq!(found.path, file);
        assert_eq!(read_token(&found).unwrap(), "abc123");

        std::fs::write(&file, "\n").unwrap();
        assert!(read_token(&found).is_err());
    }

    #[test]
    fn private_files_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("session.json");
        write_private(&path, b"{}").unwrap();
        write_private(&path, b"{\"a\":1}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary files are left");
    }

    #[test]
    fn home_defaults_to_dot_curbside() {
        let explicit = Home::resolve(Some(PathBuf::from("/x/y"))).unwrap();
        assert_eq!(explicit.dir(), Path::new("/x/y"));
        assert_eq!(explicit.id_key(), Path::new("/x/y/id.key"));
        if let Some(h) = std::env::var_os("HOME") {
            assert_eq!(Home::resolve(None).unwrap().dir(), Path::new(&h).join(".curbside"));
        }
    }
}
