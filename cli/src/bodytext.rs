//! Long text for `post` and `comment`: `--body TEXT`, `--body-file FILE`
//! (`-` for standard input), or, with neither and a terminal, the
//! physician's editor (`$VISUAL`, else `$EDITOR`, as git does).

use std::io::{IsTerminal as _, Read as _};
use std::path::Path;

use anyhow::{Context as _, bail};

/// The text: `--body` if given, else `--body-file`, else what the editor
/// leaves in a new file when standard input is a terminal.
pub(crate) fn resolve(body: &str, file: Option<&Path>) -> anyhow::Result<String> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| std::env::var("EDITOR").ok().filter(|e| !e.trim().is_empty()));
    resolve_with(body, file, std::io::stdin().is_terminal(), editor.as_deref())
}

fn resolve_with(
    body: &str,
    file: Option<&Path>,
    terminal: bool,
    editor: Option<&str>,
) -> anyhow::Result<String> {
    if !body.is_empty() {
        return Ok(body.to_owned());
    }
    if let Some(path) = file {
        let text = if path.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the body from standard input")?;
            s
        } else {
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the body from {}", path.display()))?
        };
        return Ok(text.trim_end().to_owned());
    }
    match (terminal, editor) {
        (true, Some(editor)) => edit(editor),
        (true, None) => bail!(
            "give the text with --body TEXT or --body-file FILE, or set $EDITOR to write it in your editor"
        ),
        (false, _) => {
            bail!("give the text with --body TEXT or --body-file FILE (- for standard input)")
        }
    }
}

/// What `editor` leaves in a new, private file, without the trailing
/// blank lines editors add; nothing written is an error (nothing is sent).
fn edit(editor: &str) -> anyhow::Result<String> {
    let file = tempfile::Builder::new()
        .prefix("curbside-")
        .suffix(".txt")
        .tempfile()
        .context("making a file for the editor")?;
    // Through the shell, as git runs it: $EDITOR may carry arguments ("code --wait").
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status()
        .with_context(|| format!("starting the editor {editor:?}"))?;
    if !status.success() {
        bail!("the editor {editor:?} failed ({status}); nothing was sent");
    }
    let text = std::fs::read_to_string(file.path()).context("reading what the editor wrote")?;
    let text = text.trim_end().to_owned();
    if text.trim().is_empty() {
        bail!("the text is empty; nothing was sent");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_comes_from_the_flag_the_file_or_the_editor() {
        assert_eq!(resolve_with("Given", None, true, Some("false")).unwrap(), "Given");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body.txt");
        std::fs::write(&path, "Two episodes.\n\nBP 118/76.\n\n").unwrap();
        let got = resolve_with("", Some(&path), true, Some("false")).unwrap();
        assert_eq!(got, "Two episodes.\n\nBP 118/76.");
        let missing = dir.path().join("missing.txt");
        assert!(resolve_with("", Some(&missing), false, None).is_err());

        // The editor writes the file it is given.
        let got = resolve_with("", None, true, Some("printf 'From the editor\\n\\n' >")).unwrap();
        assert_eq!(got, "From the editor");
        let e = resolve_with("", None, true, Some("true")).unwrap_err();
        assert!(e.to_string().contains("empty; nothing was sent"), "{e}");
        let e = resolve_with("", None, true, Some("false")).unwrap_err();
        assert!(e.to_string().contains("failed"), "{e}");
        // No terminal: never an editor.
        let e = resolve_with("", None, false, Some("printf x >")).unwrap_err();
        assert!(e.to_string().contains("--body-file"), "{e}");
    }
}
