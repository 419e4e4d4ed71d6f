//! `docs/CONFIG.md`, rendered from the one place every key is documented:
//! the `node.toml` that `curbside node init` writes ([`DEFAULT_NODE_TOML`]).
//!
//! Nothing is written twice. Each block of comment lines in that file,
//! with the key lines under it, becomes a section: the comment is the
//! meaning, each key line gives its default (the value), its type (the
//! value's TOML type) and its environment variable and flag (the comment
//! at the end of the line). The tests beside this module hold the file to
//! the parser: every key [`RawConfig`](super::RawConfig) takes is in it,
//! nothing else is, every default it writes is the one the code applies,
//! and `docs/CONFIG.md` is what [`reference_markdown`] renders now.

use super::DEFAULT_NODE_TOML;

/// The command that rewrites `docs/CONFIG.md` from the code.
pub const REGENERATE: &str = "CURBSIDE_UPDATE_DOCS=1 cargo test -p curbside-node --lib \
                              config::tests::the_configuration_reference_is_current";

/// One key of `node.toml`, as the documented file writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Its name.
    pub name: String,
    /// Its TOML type, for people (`integer`, `string`, `list of strings`…).
    pub kind: &'static str,
    /// Its default, as TOML.
    pub default: String,
    /// The `CURBSIDE_*` variable that overrides it, if any.
    pub env: Option<String>,
    /// The command-line flags of `curbside node run` that override it.
    pub flags: Vec<String>,
    /// Anything else the line's comment says.
    pub note: Option<String>,
    /// The values allowed, as the parser says when given one out of range
    /// (for a number; `None` for the rest).
    pub allowed: Option<String>,
}

/// A block of the documented file: what it says, and the keys it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The comment above the keys, as one paragraph of prose.
    pub meaning: String,
    /// The keys.
    pub keys: Vec<Key>,
}

/// The documented file's opening words (before the first key block), and
/// its sections in order.
pub fn sections() -> (String, Vec<Section>) {
    let mut preamble = String::new();
    let mut sections: Vec<Section> = Vec::new();
    let mut comment: Vec<&str> = Vec::new();
    let mut in_keys = false;
    for line in DEFAULT_NODE_TOML.lines() {
        let line = line.trim();
        if let Some(text) = line.strip_prefix('#') {
            in_keys = false;
            comment.push(text.trim());
        } else if line.is_empty() {
            if !in_keys && !comment.is_empty() && sections.is_empty() && preamble.is_empty() {
                preamble = comment.join(" ");
                comment.clear();
            }
            in_keys = false;
        } else {
            if !in_keys {
                sections.push(Section { meaning: comment.join(" "), keys: Vec::new() });
                comment.clear();
                in_keys = true;
            }
            if let Some(section) = sections.last_mut() {
                section.keys.push(key(line));
            }
        }
    }
    (preamble, sections)
}

/// One `key = value   # CURBSIDE_KEY, --flag (note)` line.
fn key(line: &str) -> Key {
    let (setting, comment) = match line.find(" #") {
        Some(at) => (line[..at].trim(), line[at + 2..].trim()),
        None => (line, ""),
    };
    let (name, default) = setting.split_once('=').unwrap_or((setting, ""));
    let (name, default) = (name.trim().to_owned(), default.trim().to_owned());
    let kind = match toml::from_str::<toml::Table>(setting).ok().and_then(|t| t.get(&name).cloned())
    {
        Some(toml::Value::String(_)) => "string",
        Some(toml::Value::Integer(_)) => "integer",
        Some(toml::Value::Boolean(_)) => "boolean",
        Some(toml::Value::Float(_)) => "number",
        Some(toml::Value::Array(items)) if items.iter().all(toml::Value::is_str) => {
            "list of strings"
        }
        Some(toml::Value::Array(_)) => "list",
        _ => "?",
    };
    let mut env = None;
    let mut flags = Vec::new();
    let mut note = Vec::new();
    // "CURBSIDE_X, --x (comma-separated in the variable)": names first,
    // then whatever is said in brackets.
    let (names, bracket) = match comment.split_once('(') {
        Some((names, rest)) => (names, Some(rest.trim_end_matches(')').trim())),
        None => (comment, None),
    };
    for word in names.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if word.starts_with("CURBSIDE_") {
            env = Some(word.to_owned());
        } else if word.starts_with("--") {
            flags.push(word.to_owned());
        } else {
            note.push(word.to_owned());
        }
    }
    note.extend(bracket.map(str::to_owned));
    let note = (!note.is_empty()).then(|| note.join("; "));
    let allowed = (kind == "integer").then(|| allowed(&name)).flatten();
    Key { name, kind, default, env, flags, note, allowed }
}

/// What the parser answers for `name` set far out of range (with the
/// default listen addresses, so the peer-to-peer settings are read too):
/// the range it allows, in its own words.
fn allowed(name: &str) -> Option<String> {
    let text = format!("{}\n{name} = {}\n", super::DEFAULT_LISTEN_LINE, i32::MAX);
    let raw: super::RawConfig = toml::from_str(&text).ok()?;
    let flags = super::Overrides::default();
    match super::NodeConfig::from_raw(std::path::Path::new("."), &raw, &flags) {
        Err(super::ConfigError::Value { problem, .. }) => {
            Some(problem.strip_prefix("use ").unwrap_or(&problem).to_owned())
        }
        _ => None,
    }
}

/// `docs/CONFIG.md`: every key of `node.toml`, its type, default,
/// environment variable, flag and meaning.
pub fn reference_markdown() -> String {
    let (preamble, sections) = sections();
    let mut out = String::new();
    out.push_str("# Configuration reference: `node.toml`\n\n");
    out.push_str(&format!(
        "<!-- Generated from node/src/config/example.rs (the node.toml that \
         `curbside node init` writes) by node/src/config/reference.rs. Do not edit: \
         change the example and run\n     {REGENERATE}\n-->\n\n"
    ));
    out.push_str(&format!("{preamble}\n\n"));
    out.push_str(
        "A node reads `<data>/node.toml` (`curbside node init` writes it with every key \
         below at its default: the value the node takes when the key is left out, but for \
         `listen`, which defaults to none and which `node init` sets so that a new node \
         takes part in the network), then the `CURBSIDE_*` variables, then the flags of \
         `curbside node run`; the later wins. A missing file or key means the default; an \
         unknown key, or a value out of its range, stops the node at start with a message \
         that names the key and the range. With no `listen` address and no `bootstrap` \
         peer (and no `mdns`) the node runs alone. `RUST_LOG` filters the logs.\n\n",
    );
    out.push_str("## Every key\n\n");
    out.push_str(
        "| key | type | default | allowed | environment | flag |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for key in sections.iter().flat_map(|s| &s.keys) {
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | `{}` | {} | {} | {} |\n",
            key.name,
            anchor(&key.name),
            key.kind,
            key.default.replace('|', "\\|"),
            key.allowed.as_deref().unwrap_or("—"),
            key.env.as_deref().map_or("—".to_owned(), |v| format!("`{v}`")),
            if key.flags.is_empty() {
                "—".to_owned()
            } else {
                key.flags.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
            },
        ));
    }
    for section in &sections {
        let names: Vec<&str> = section.keys.iter().map(|k| k.name.as_str()).collect();
        out.push_str(&format!("\n## {}\n\n", names.join(", ")));
        out.push_str(&format!("{}\n\n", section.meaning));
        for key in &section.keys {
            out.push_str(&format!(
                "- <a id=\"{}\"></a>`{} = {}` ({})",
                anchor(&key.name),
                key.name,
                key.default,
                key.kind
            ));
            if let Some(allowed) = &key.allowed {
                out.push_str(&format!("; allowed: {allowed}"));
            }
            if let Some(env) = &key.env {
                out.push_str(&format!("; environment `{env}`"));
            }
            if !key.flags.is_empty() {
                let flags: Vec<String> = key.flags.iter().map(|f| format!("`{f}`")).collect();
                out.push_str(&format!("; flag {}", flags.join(", ")));
            }
            if let Some(note) = &key.note {
                out.push_str(&format!("; {note}"));
            }
            out.push('\n');
        }
    }
    out
}

/// The link target of a key's entry.
fn anchor(name: &str) -> String {
    format!("key-{}", name.replace('_', "-"))
}
