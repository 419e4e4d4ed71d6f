//! `@handle` mentions of physicians in free text: where they are, read one
//! way for everyone who reads them.
//!
//! The node's inbox indexes a mention under the handle it names, and from
//! rules 4 validation lets a mention of a physician's handle through the
//! content guard, which otherwise refuses an `@handle` as a patient's
//! social-media handle (`social_handle`). Both read mentions with
//! [`mentions`], so what the guard lets through as a mention is what the
//! inbox shows as one.
//!
//! ```
//! use curbside_protocol::mention::mentions;
//!
//! let found: Vec<String> = mentions("Asked @Dr-Okafor and @b.lee.")
//!     .into_iter()
//!     .map(|m| m.handle.to_string())
//!     .collect();
//! assert_eq!(found, ["dr-okafor", "b.lee"]);
//! assert!(mentions("write to name@example.org").is_empty());
//! ```

use crate::Handle;

/// One `@handle` in a text: the handle it names and the byte range of the
/// `@` and the handle as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The handle named (letters folded to lower case).
    pub handle: Handle,
    /// Byte offset of the `@`.
    pub start: usize,
    /// Byte offset just past the handle.
    pub end: usize,
}

/// The bytes a handle is written with, in either case: a handle's own
/// alphabet ([`Handle`]) with capitals, which a mention may use.
fn is_handle_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.".contains(&b)
}

/// Every mention in `text`, in order (repeats included): an `@` not
/// preceded by a letter, digit or handle character (so not an e-mail
/// address), then a valid [`Handle`] (letters folded to lower case; a
/// final `.` ends the sentence, not the handle). A run that is no valid
/// handle (too short, too long, not starting with a letter) is no mention.
pub fn mentions(text: &str) -> Vec<Mention> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'@' || (i > 0 && is_handle_byte(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < bytes.len() && is_handle_byte(bytes[end]) {
            end += 1;
        }
        // Handle bytes are ASCII, so `start..end` lies on char boundaries.
        let word = text[start..end].trim_end_matches('.');
        if let Ok(handle) = Handle::new(word.to_ascii_lowercase()) {
            out.push(Mention { handle, start: i, end: start + word.len() });
        }
        i = end.max(start);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mentions;

    fn names(text: &str) -> Vec<String> {
        mentions(text).into_iter().map(|m| m.handle.to_string()).collect()
    }

    #[test]
    fn mentions_are_found_where_people_write_them() {
        assert_eq!(names("@dr-okafor what do you think?"), ["dr-okafor"]);
        assert_eq!(names("Asked @Dr-Okafor and @b.lee."), ["dr-okafor", "b.lee"]);
        assert_eq!(names("(cc @dr_a, @dr-b)"), ["dr_a", "dr-b"]);
        // Not a handle: too short, starts with a digit, inside a word.
        assert!(names("@ab @1abc name@example.org @").is_empty());
        assert_eq!(names("@@dr-x"), ["dr-x"]);
        assert_eq!(names(&format!("@{}", "a".repeat(33))), Vec::<String>::new());
    }

    #[test]
    fn a_mention_covers_the_at_sign_and_the_handle_but_not_a_full_stop() {
        let text = "Thanks, @dr-okafor.";
        let m = &mentions(text)[0];
        assert_eq!(&text[m.start..m.end], "@dr-okafor");
    }
}
