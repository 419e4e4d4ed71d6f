//! How strong a new passphrase must be.
//!
//! A key file is only as strong as its passphrase: whoever copies the file
//! (a stolen laptop, a backup) can guess offline for as long as they like,
//! and a physician's key signs as that physician. Argon2id makes each
//! guess cost about 64 MiB and a fraction of a second, which turns a
//! passphrase of 10^10 likely guesses into years of work but does nothing
//! for `a` or `password1`. So a passphrase chosen for a new key must be at
//! least [`MIN_CHARS`] characters and must score [`MIN_SCORE`] (more than
//! 10^10 guesses) by zxcvbn's estimate, which knows common passwords,
//! words, names, keyboard patterns, dates and substitutions, and is told
//! what the user is known by (the handle, the network's name), so a
//! passphrase made of those counts for little.
//!
//! Only new passphrases are judged: a key sealed before this rule existed
//! still opens with its old one.

use zxcvbn::Score;

/// The fewest characters a new passphrase may have.
pub(crate) const MIN_CHARS: usize = 12;

/// The lowest zxcvbn score a new passphrase may have: 4, more than 10^10
/// guesses.
pub(crate) const MIN_SCORE: Score = Score::Four;

/// What to do instead, said with every refusal.
pub(crate) const ADVICE: &str = "use four or more random words (from a dice-word list or a password manager's generator), at least 12 characters in all, with nothing in it that is about you";

/// Words every Curbside passphrase is weaker for containing.
const KNOWN_WORDS: &[&str] = &["curbside", "physician", "doctor", "passphrase", "root"];

/// Why a new passphrase was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Weakness {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("it has {chars} character(s), and a new passphrase needs at least {MIN_CHARS}")]
    TooShort {
        /// Its length in characters.
        chars: usize,
    },
    /// zxcvbn scores it under [`MIN_SCORE`].
    #[error(
        "it could be guessed in fewer than 10^{under} tries (zxcvbn score {score} of 4; 4 is needed){}",
        feedback.as_deref().map(|f| format!(": {f}")).unwrap_or_default()
    )]
    Guessable {
        /// zxcvbn's score, 0 to 3.
        score: u8,
        /// It needs fewer than 10^`under` guesses.
        under: u32,
        /// zxcvbn's warning and suggestions, if it has any.
        feedback: Option<String>,
    },
}

/// Judges `passphrase` for a new key whose owner is known by `known` (a
/// handle, a network's name): `Ok` if it is long and unguessable enough.
pub(crate) fn judge(passphrase: &str, known: &[&str]) -> Result<(), Weakness> {
    let chars = passphrase.chars().count();
    if chars < MIN_CHARS {
        return Err(Weakness::TooShort { chars });
    }
    let inputs = user_inputs(known);
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(passphrase, &inputs);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    // Said inside a sentence: no final full stop.
    let feedback = estimate
        .feedback()
        .map(|f| f.to_string().trim().trim_end_matches('.').to_owned())
        .filter(|f| !f.is_empty());
    Err(Weakness::Guessable {
        score: u8::from(estimate.score()),
        // Finite and small (at most 10^10 below score 4); the cast floors it.
        under: estimate.guesses_log10().max(0.0).floor() as u32 + 1,
        feedback,
    })
}

/// What zxcvbn is told the user is known by: each of `known` whole and
/// each word of it (`dr-ada-lovelace`: also `dr`, `ada`, `lovelace`), and
/// Curbside's own words.
fn user_inputs(known: &[&str]) -> Vec<String> {
    let mut inputs: Vec<String> = KNOWN_WORDS.iter().map(|w| (*w).to_owned()).collect();
    for text in known {
        let text = text.trim().to_lowercase();
        let words = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty());
        inputs.extend(words.map(str::to_owned));
        inputs.push(text);
    }
    inputs.sort();
    inputs.dedup();
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passphrases_are_refused_by_length_first() {
        assert_eq!(judge("a", &[]), Err(Weakness::TooShort { chars: 1 }));
        // Eleven random characters are still too few; characters, not bytes.
        assert_eq!(judge("k7#Qp2!xLm9", &[]), Err(Weakness::TooShort { chars: 11 }));
        assert_eq!(judge("ééééééééééé", &[]), Err(Weakness::TooShort { chars: 11 }));
        let message = judge("a", &[]).unwrap_err().to_string();
        assert!(message.contains("1 character(s)") && message.contains("at least 12"), "{message}");
    }

    #[test]
    fn long_but_guessable_passphrases_are_refused_with_zxcvbns_reason() {
        for weak in ["password1234", "P@ssw0rd12345678", "abcdefghijklmnop", "qwertyuiopasdf"] {
            match judge(weak, &[]) {
                Err(Weakness::Guessable { score, .. }) => assert!(score < 4, "{weak}"),
                other => panic!("{weak}: {other:?}"),
            }
        }
        let message = judge("P@ssw0rd12345678", &[]).unwrap_err().to_string();
        assert!(message.contains("zxcvbn score") && message.contains("4 is needed"), "{message}");
        assert!(message.contains("similar to a commonly used password"), "{message}");
    }

    #[test]
    fn the_handle_and_curbsides_own_words_count_against_a_passphrase() {
        // Strong for a stranger, but it is the physician's own handle.
        let handle = "dr-zbigniew-kowalczyk";
        assert_eq!(judge(handle, &[]), Ok(()));
        assert!(matches!(judge(handle, &[handle]), Err(Weakness::Guessable { .. })));
        assert!(matches!(
            judge("dr-zbigniew-kowalczyk-1", &[handle]),
            Err(Weakness::Guessable { .. })
        ));
        let inputs = user_inputs(&["Dr-Ada Lovelace"]);
        for word in ["dr-ada lovelace", "dr", "ada", "lovelace", "curbside", "physician"] {
            assert!(inputs.iter().any(|i| i == word), "{word} missing from {inputs:?}");
        }
    }

    #[test]
    fn random_words_and_random_characters_pass() {
        for strong in [
            "tulip anchor gravel mosaic",
            "quartz-lantern-orbit-meadow",
            "k7#Qp2!xLm9z",
            "Umbrella saffron Pilgrim 42 thistle",
        ] {
            assert_eq!(judge(strong, &["dr-ada"]), Ok(()), "{strong}");
        }
    }
}
