//! Getting a passphrase: from `CURBSIDE_PASSPHRASE` when it is set, else
//! asked on the terminal without echo. A passphrase for an existing key is
//! taken as given (the key decides whether it is right); one for a new key
//! is judged by [`super::strength`] first and asked twice, and only a
//! [`NewPassphrase`] can seal a key.

use std::fs::OpenOptions;

use zeroize::Zeroizing;

use super::strength::{self, Weakness};
use super::{KeystoreError, PASSPHRASE_ENV};

/// A passphrase that passed [`strength::judge`]: the only kind
/// [`super::Keystore::seal`] takes, so no path can seal a key under a weak
/// one.
pub(crate) struct NewPassphrase(Zeroizing<String>);

/// Never prints the passphrase.
impl std::fmt::Debug for NewPassphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassphrase(<redacted>)")
    }
}

impl NewPassphrase {
    /// `text` if it is strong enough for a new key whose owner is known by
    /// `known` (a handle, a network's name); `from_env` says where it came
    /// from, for the message.
    pub(crate) fn judged(
        text: Zeroizing<String>,
        known: &[&str],
        from_env: bool,
    ) -> Result<Self, KeystoreError> {
        match strength::judge(&text, known) {
            Ok(()) => Ok(Self(text)),
            Err(weakness) => Err(KeystoreError::WeakPassphrase { weakness, from_env }),
        }
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Opens an existing key with `open` and its passphrase: from
/// `CURBSIDE_PASSPHRASE`, once; on a terminal, a wrong one (a typo) is
/// said so and asked for again, up to three times in all.
pub(crate) fn open_with_passphrase<T>(
    prompt: &str,
    open: impl FnMut(&str) -> Result<T, KeystoreError>,
) -> Result<T, KeystoreError> {
    resolve_open(std::env::var(PASSPHRASE_ENV), prompt, read_from_terminal, open, |left| {
        eprintln!(
            "Wrong passphrase; try again ({left} more {}).",
            if left == 1 { "try" } else { "tries" }
        );
    })
}

/// How many passphrases [`open_with_passphrase`] lets a person type.
const OPEN_TRIES: usize = 3;

/// [`open_with_passphrase`] with the environment, the terminal and where
/// to say that a passphrase was wrong passed in.
fn resolve_open<T>(
    env: Result<String, std::env::VarError>,
    prompt: &str,
    mut ask: impl FnMut(&str) -> Result<Zeroizing<String>, KeystoreError>,
    mut open: impl FnMut(&str) -> Result<T, KeystoreError>,
    mut tell: impl FnMut(usize),
) -> Result<T, KeystoreError> {
    if let Some(value) = from_env(env)? {
        return open(&value);
    }
    let mut tries = 0;
    loop {
        let pass = resolve_passphrase(Err(std::env::VarError::NotPresent), prompt, &mut ask)?;
        tries += 1;
        match open(&pass) {
            Err(KeystoreError::WrongPassphrase { .. }) if tries < OPEN_TRIES => {
                tell(OPEN_TRIES - tries)
            }
            other => return other,
        }
    }
}

/// A passphrase for a new key whose owner is known by `known`: judged by
/// [`strength::judge`], then (on a terminal) typed again to confirm. On a
/// terminal a weak one is explained and asked for again, up to three
/// times; from `CURBSIDE_PASSPHRASE` it is refused at once.
pub(crate) fn new_passphrase(prompt: &str, known: &[&str]) -> Result<NewPassphrase, KeystoreError> {
    resolve_new_passphrase(std::env::var(PASSPHRASE_ENV), prompt, known, read_from_terminal, |w| {
        eprintln!("That passphrase is too weak: {w}. Try again: {}.", strength::ADVICE);
    })
}

/// How many weak passphrases [`new_passphrase`] lets a person type before
/// it gives up.
const NEW_PASSPHRASE_TRIES: usize = 3;

/// The passphrase of an existing key: from `CURBSIDE_PASSPHRASE` (`env`)
/// if set, else asked (`ask`, on the terminal without echo). Not judged: a
/// key sealed before the strength rule still opens with its old
/// passphrase. Refuses an empty passphrase; with no terminal and no
/// `CURBSIDE_PASSPHRASE`, fails with [`KeystoreError::NoTerminal`], which
/// tells the user to set it.
fn resolve_passphrase(
    env: Result<String, std::env::VarError>,
    prompt: &str,
    mut ask: impl FnMut(&str) -> Result<Zeroizing<String>, KeystoreError>,
) -> Result<Zeroizing<String>, KeystoreError> {
    if let Some(value) = from_env(env)? {
        return Ok(value);
    }
    let first = ask(prompt)?;
    if first.is_empty() {
        return Err(KeystoreError::EmptyPassphrase);
    }
    Ok(first)
}

/// [`new_passphrase`] with the environment, the terminal and where to say
/// why a passphrase was too weak passed in.
fn resolve_new_passphrase(
    env: Result<String, std::env::VarError>,
    prompt: &str,
    known: &[&str],
    mut ask: impl FnMut(&str) -> Result<Zeroizing<String>, KeystoreError>,
    mut tell: impl FnMut(&Weakness),
) -> Result<NewPassphrase, KeystoreError> {
    if let Some(value) = from_env(env)? {
        return NewPassphrase::judged(value, known, true);
    }
    let mut tries = 0;
    let chosen = loop {
        let first = ask(prompt)?;
        if first.is_empty() {
            return Err(KeystoreError::EmptyPassphrase);
        }
        tries += 1;
        match NewPassphrase::judged(first, known, false) {
            Ok(chosen) => break chosen,
            Err(KeystoreError::WeakPassphrase { weakness, .. }) if tries < NEW_PASSPHRASE_TRIES => {
                tell(&weakness)
            }
            Err(e) => return Err(e),
        }
    };
    let second = ask("Repeat the passphrase: ")?;
    if *chosen.0 != *second {
        return Err(KeystoreError::PassphraseMismatch);
    }
    Ok(chosen)
}

/// `CURBSIDE_PASSPHRASE`: `None` when unset; refused when empty or not UTF-8.
fn from_env(
    env: Result<String, std::env::VarError>,
) -> Result<Option<Zeroizing<String>>, KeystoreError> {
    match env {
        Ok(value) => {
            let value = Zeroizing::new(value);
            if value.is_empty() {
                return Err(KeystoreError::EmptyPassphrase);
            }
            Ok(Some(value))
        }
        Err(std::env::VarError::NotUnicode(_)) => Err(KeystoreError::PassphraseNotUnicode),
        Err(std::env::VarError::NotPresent) => Ok(None),
    }
}

/// Prompts on the controlling terminal (not stdin/stdout, which may be
/// pipes) and reads a line without echo.
fn read_from_terminal(prompt: &str) -> Result<Zeroizing<String>, KeystoreError> {
    if OpenOptions::new().read(true).write(true).open("/dev/tty").is_err() {
        return Err(KeystoreError::NoTerminal);
    }
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|source| KeystoreError::Prompt { source })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = "tulip anchor gravel mosaic";

    fn never(_: &str) -> Result<Zeroizing<String>, KeystoreError> {
        panic!("must not prompt when CURBSIDE_PASSPHRASE is set")
    }

    fn answers(
        list: &'static [&'static str],
    ) -> impl FnMut(&str) -> Result<Zeroizing<String>, KeystoreError> {
        let mut it = list.iter();
        move |_: &str| Ok(Zeroizing::new((*it.next().expect("asked too often")).to_owned()))
    }

    fn absent() -> Result<String, std::env::VarError> {
        Err(std::env::VarError::NotPresent)
    }

    #[test]
    fn passphrase_comes_from_env_or_prompt() {
        let got = resolve_passphrase(Ok("from env".to_owned()), "P: ", never).unwrap();
        assert_eq!(got.as_str(), "from env");
        assert!(matches!(
            resolve_passphrase(Ok(String::new()), "P: ", never),
            Err(KeystoreError::EmptyPassphrase)
        ));
        assert!(matches!(
            resolve_passphrase(
                Err(std::env::VarError::NotUnicode("\u{fffd}".into())),
                "P: ",
                never
            ),
            Err(KeystoreError::PassphraseNotUnicode)
        ));
        assert_eq!(resolve_passphrase(absent(), "P: ", answers(&["abc"])).unwrap().as_str(), "abc");
        assert!(matches!(
            resolve_passphrase(absent(), "P: ", answers(&[""])),
            Err(KeystoreError::EmptyPassphrase)
        ));

        let no_tty = |_: &str| Err(KeystoreError::NoTerminal);
        let err = resolve_passphrase(absent(), "P: ", no_tty).unwrap_err();
        assert!(err.to_string().contains("set CURBSIDE_PASSPHRASE"), "{err}");
    }

    #[test]
    fn a_wrong_passphrase_at_the_terminal_is_asked_again_up_to_three_times() {
        let open = |pass: &str| {
            if pass == "right" {
                Ok("opened")
            } else {
                Err(KeystoreError::WrongPassphrase { what: "id.key".into() })
            }
        };
        let mut told = Vec::new();
        let got = resolve_open(absent(), "P: ", answers(&["typo", "right"]), open, |left| {
            told.push(left)
        });
        assert_eq!(got.unwrap(), "opened");
        assert_eq!(told, [2]);

        let mut told = Vec::new();
        let three = answers(&["a", "b", "c"]);
        let got = resolve_open(absent(), "P: ", three, open, |left| told.push(left));
        assert!(matches!(got, Err(KeystoreError::WrongPassphrase { .. })));
        assert_eq!(told, [2, 1], "a fourth is not asked for");

        // From the environment a wrong passphrase is wrong at once.
        let got = resolve_open(Ok("typo".into()), "P: ", never, open, |_| panic!("told"));
        assert!(matches!(got, Err(KeystoreError::WrongPassphrase { .. })));
    }

    #[test]
    fn an_existing_keys_passphrase_is_not_judged() {
        // A key sealed before the rule opens with its old, weak passphrase.
        assert_eq!(resolve_passphrase(Ok("a".to_owned()), "P: ", never).unwrap().as_str(), "a");
        assert_eq!(resolve_passphrase(absent(), "P: ", answers(&["a"])).unwrap().as_str(), "a");
    }

    #[test]
    fn a_weak_new_passphrase_from_the_environment_is_refused_with_advice() {
        let quiet = |_: &Weakness| panic!("nothing to say to a script");
        let err = resolve_new_passphrase(Ok("a".to_owned()), "P: ", &[], never, quiet).unwrap_err();
        assert!(
            matches!(
                err,
                KeystoreError::WeakPassphrase {
                    weakness: Weakness::TooShort { chars: 1 },
                    from_env: true
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        for needle in
            ["too weak", "four or more random words", "CURBSIDE_PASSPHRASE", "weak_passphrase"]
        {
            assert!(message.contains(needle), "{needle:?} missing from {message}");
        }
        // The handle is known to the judge.
        let handle = "dr-zbigniew-kowalczyk";
        assert!(matches!(
            resolve_new_passphrase(Ok(handle.to_owned()), "P: ", &[handle], never, quiet),
            Err(KeystoreError::WeakPassphrase { weakness: Weakness::Guessable { .. }, .. })
        ));
        let strong = resolve_new_passphrase(Ok(STRONG.to_owned()), "P: ", &[handle], never, quiet);
        assert_eq!(strong.unwrap().as_str(), STRONG);
    }

    #[test]
    fn at_the_terminal_a_weak_new_passphrase_is_explained_and_asked_again() {
        let mut told = Vec::new();
        let chosen = resolve_new_passphrase(
            absent(),
            "P: ",
            &[],
            answers(&["a", "password1234", STRONG, STRONG]),
            |w| told.push(w.clone()),
        )
        .unwrap();
        assert_eq!(chosen.as_str(), STRONG);
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(matches!(told[0], Weakness::TooShort { chars: 1 }));
        assert!(matches!(told[1], Weakness::Guessable { .. }));

        // Three weak ones, and it gives up.
        let err = resolve_new_passphrase(absent(), "P: ", &[], answers(&["a", "b", "c"]), |_| {})
            .unwrap_err();
        assert!(matches!(err, KeystoreError::WeakPassphrase { from_env: false, .. }), "{err:?}");
        assert!(!err.to_string().contains("CURBSIDE_PASSPHRASE"), "{err}");

        // A strong one must be typed twice alike.
        assert!(matches!(
            resolve_new_passphrase(absent(), "P: ", &[], answers(&[STRONG, "tulip"]), |_| {}),
            Err(KeystoreError::PassphraseMismatch)
        ));
        assert!(matches!(
            resolve_new_passphrase(absent(), "P: ", &[], answers(&[""]), |_| {}),
            Err(KeystoreError::EmptyPassphrase)
        ));
    }

    #[test]
    fn a_new_passphrase_does_not_print() {
        let chosen = NewPassphrase::judged(Zeroizing::new(STRONG.to_owned()), &[], true).unwrap();
        assert!(!format!("{chosen:?}").contains("tulip"));
    }
}
