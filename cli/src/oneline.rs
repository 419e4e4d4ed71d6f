//! Titles are one line: a post's or case's title and a poll's question are
//! what feeds list, one line each. Refused here before anything is signed,
//! with the code a node's API refuses them with (`title_not_one_line`,
//! `node/src/api/policy.rs`).

use curbside_node::api::policy::is_one_line;

use crate::error::Refusal;

/// Refuses `text`, given as `what`, unless it is one line.
pub(crate) fn title(what: &str, text: &str) -> anyhow::Result<()> {
    match text.chars().position(|c| !is_one_line(c)) {
        None => Ok(()),
        Some(at) => Err(Refusal::Coded {
            code: "title_not_one_line".into(),
            message: format!(
                "{what} must be one line, but character {} is a line break or another control \
                 character; put the detail in the body",
                at + 1
            ),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_must_be_one_line() {
        assert!(title("--title", "Syncope in a young athlete — MRI first?").is_ok());
        let e = title("--title", "Syncope\nin a young athlete").unwrap_err();
        assert_eq!(crate::error::code(&e), "title_not_one_line");
        assert_eq!(crate::error::exit_code(&e), 1);
        assert!(e.to_string().contains("character 8"), "{e}");
        assert!(title("--question", "Tab\there").is_err());
    }
}
