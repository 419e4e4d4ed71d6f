use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use super::*;

const PASS: &str = "quartz lantern orbit meadow";

/// [`PASS`], judged.
fn pass() -> NewPassphrase {
    NewPassphrase::judged(Zeroizing::new(PASS.to_owned()), &[], false).unwrap()
}

fn sealed(kind: KeyKind, label: Option<&str>) -> (SecretKey, Keystore) {
    let key = SecretKey::from_seed(&[7; 32]);
    let store =
        Keystore::seal(&key, kind, label.map(str::to_owned), &pass(), KdfParams::fast()).unwrap();
    (key, store)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Loads `text` from a file and opens it with the right passphrase.
fn load_and_open(dir: &Path, text: &[u8]) -> Result<SecretKey, KeystoreError> {
    let path = dir.join("tampered.json");
    fs::write(&path, text).unwrap();
    Keystore::load(&path)?.open(PASS)
}

fn is_refusal(e: &KeystoreError) -> bool {
    matches!(
        e,
        KeystoreError::WrongPassphrase { .. }
            | KeystoreError::Corrupt { .. }
            | KeystoreError::Format { .. }
            | KeystoreError::UnsupportedVersion { .. }
    )
}

#[test]
fn seal_open_round_trip() {
    let (key, store) = sealed(KeyKind::Physician, Some("dr-house"));
    let opened = store.open(PASS).unwrap();
    assert_eq!(opened.public(), key.public());
    assert_eq!(*opened.to_seed(), *key.to_seed());
    assert_eq!(store.public_key(), key.public());
    assert_eq!(store.kind(), KeyKind::Physician);
    assert_eq!(store.label(), Some("dr-house"));

    // And through a file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("physician.json");
    store.save(&path).unwrap();
    let loaded = Keystore::load(&path).unwrap();
    assert_eq!(loaded.public_key(), key.public());
    assert_eq!(loaded.kind(), KeyKind::Physician);
    assert_eq!(loaded.label(), Some("dr-house"));
    assert_eq!(loaded.kdf_params(), KdfParams::fast());
    assert_eq!(loaded.open(PASS).unwrap().public(), key.public());
}

#[test]
fn file_is_the_documented_json() {
    let (key, store) = sealed(KeyKind::Root, None);
    let json: serde_json::Value = serde_json::from_str(&store.to_json().unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["kind"], "root");
    assert_eq!(json["public_key"], key.public().to_string());
    assert_eq!(json["kdf"]["algorithm"], "argon2id");
    assert_eq!(json["kdf"]["m_kib"], 256);
    assert_eq!(json["kdf"]["t"], 1);
    assert_eq!(json["kdf"]["p"], 1);
    assert_eq!(json["kdf"]["salt"].as_str().unwrap().len(), 32);
    assert_eq!(json["cipher"]["algorithm"], "xchacha20poly1305");
    assert_eq!(json["cipher"]["nonce"].as_str().unwrap().len(), 48);
    assert_eq!(json["cipher"]["ciphertext"].as_str().unwrap().len(), 96);
    assert!(json.get("label").is_none());
    // The seed is not in the file in any form.
    assert!(!store.to_json().unwrap().contains(&hex::encode(*key.to_seed())));
}

#[test]
fn each_seal_uses_fresh_salt_and_nonce() {
    let (_, a) = sealed(KeyKind::Node, None);
    let (_, b) = sealed(KeyKind::Node, None);
    assert_ne!(a.salt, b.salt);
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.sealed, b.sealed);
}

#[test]
fn wrong_passphrase_is_refused() {
    let (_, store) = sealed(KeyKind::Physician, None);
    let err = store.open("quartz lantern orbit").unwrap_err();
    assert!(matches!(err, KeystoreError::WrongPassphrase { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("CURBSIDE_PASSPHRASE"), "{message}");
    assert!(matches!(store.open(""), Err(KeystoreError::EmptyPassphrase)));

    // Loaded from a file, the message names the file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    store.save(&path).unwrap();
    let err = Keystore::load(&path).unwrap().open("nope").unwrap_err();
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn empty_passphrase_and_bad_params_are_refused_when_sealing() {
    let key = SecretKey::from_seed(&[1; 32]);
    let seal = |params| Keystore::seal(&key, KeyKind::Node, None, &pass(), params);
    let empty =
        |params| Keystore::seal_seed(&[1; 32], key.public(), KeyKind::Node, None, "", params);
    assert!(matches!(empty(KdfParams::fast()), Err(KeystoreError::EmptyPassphrase)));
    assert!(matches!(
        NewPassphrase::judged(Zeroizing::new(String::new()), &[], false),
        Err(KeystoreError::WeakPassphrase { .. })
    ));
    for params in [
        KdfParams { m_kib: 7, t: 1, p: 1 },
        KdfParams { m_kib: 256, t: 0, p: 1 },
        KdfParams { m_kib: 256, t: 1, p: 0 },
        KdfParams { m_kib: 256, t: 1, p: 64 },
        KdfParams { m_kib: u32::MAX, t: 1, p: 1 },
    ] {
        assert!(matches!(seal(params), Err(KeystoreError::InvalidParams { .. })), "{params:?}");
    }
    let label = |l: &str| {
        Keystore::seal(&key, KeyKind::Node, Some(l.to_owned()), &pass(), KdfParams::fast())
    };
    assert!(matches!(label("two\nlines"), Err(KeystoreError::InvalidLabel { .. })));
    assert!(matches!(label(&"x".repeat(201)), Err(KeystoreError::InvalidLabel { .. })));
    assert!(label("dr-ünïcode").is_ok());
}

#[test]
fn default_params_are_64_mib_3_passes_1_lane() {
    assert_eq!(KdfParams::default(), KdfParams { m_kib: 65536, t: 3, p: 1 });
    assert!(KdfParams::default().check().is_ok());
    assert!(KdfParams::fast().check().is_ok());
}

/// Every hex digit of the ciphertext, nonce, salt and public key, and
/// every KDF parameter, changed in the JSON: the file never opens.
#[test]
fn any_changed_field_fails_to_open() {
    let (_, store) = sealed(KeyKind::Physician, Some("dr-house"));
    let dir = tempfile::tempdir().unwrap();
    let original: serde_json::Value = serde_json::from_str(&store.to_json().unwrap()).unwrap();
    assert!(load_and_open(dir.path(), original.to_string().as_bytes()).is_ok());

    let hex_fields: [&[&str]; 4] =
        [&["cipher", "ciphertext"], &["cipher", "nonce"], &["kdf", "salt"], &["public_key"]];
    let mut tried = 0;
    for field in hex_fields {
        let text = field.iter().fold(&original, |v, k| &v[*k]).as_str().unwrap().to_owned();
        for i in 0..text.len() {
            let mut chars: Vec<char> = text.chars().collect();
            let digit = chars[i].to_digit(16).unwrap();
            chars[i] = char::from_digit(digit ^ 0x1, 16).unwrap();
            let mut json = original.clone();
            let slot = field.iter().fold(&mut json, |v, k| &mut v[*k]);
            *slot = serde_json::Value::String(chars.into_iter().collect());
            let err = load_and_open(dir.path(), json.to_string().as_bytes()).unwrap_err();
            assert!(is_refusal(&err), "{field:?}[{i}]: {err:?}");
            tried += 1;
        }
    }
    assert_eq!(tried, 96 + 48 + 32 + 64);

    let changes: Vec<(&str, &str, serde_json::Value)> = vec![
        ("kdf", "m_kib", 257.into()),
        ("kdf", "m_kib", 4_294_967_295u32.into()),
        ("kdf", "t", 2.into()),
        ("kdf", "t", 4_294_967_295u32.into()),
        ("kdf", "p", 2.into()),
        ("kdf", "algorithm", "argon2i".into()),
        ("cipher", "algorithm", "chacha20poly1305".into()),
        ("cipher", "nonce", "00".into()),
        ("cipher", "ciphertext", "not hex at all".into()),
    ];
    for (section, key, value) in changes {
        let mut json = original.clone();
        json[section][key] = value.clone();
        let err = load_and_open(dir.path(), json.to_string().as_bytes()).unwrap_err();
        assert!(is_refusal(&err), "{section}.{key} = {value}: {err:?}");
    }
    for (key, value) in [
        ("kind", serde_json::Value::from("root")),
        ("kind", "admin".into()),
        ("label", "dr-cuddy".into()),
        ("label", serde_json::Value::Null),
        ("version", 0.into()),
        ("extra", true.into()),
    ] {
        let mut json = original.clone();
        json[key] = value.clone();
        let err = load_and_open(dir.path(), json.to_string().as_bytes()).unwrap_err();
        assert!(is_refusal(&err), "{key} = {value}: {err:?}");
    }
    let mut json = original.clone();
    json.as_object_mut().unwrap().remove("label");
    let err = load_and_open(dir.path(), json.to_string().as_bytes()).unwrap_err();
    assert!(matches!(err, KeystoreError::WrongPassphrase { .. }), "{err:?}");
}

/// Every single byte of the file, with its low bit flipped: an error,
/// never a panic and never a key.
#[test]
fn any_flipped_byte_of_the_file_fails_cleanly() {
    let (_, store) = sealed(KeyKind::Physician, Some("dr-house"));
    let dir = tempfile::tempdir().unwrap();
    let text = store.to_json().unwrap().into_bytes();
    for i in 0..text.len() {
        let mut bytes = text.clone();
        bytes[i] ^= 0x01;
        match load_and_open(dir.path(), &bytes) {
            Ok(_) => panic!("byte {i} flipped, and the file still opened"),
            Err(e) => assert!(is_refusal(&e), "byte {i}: {e:?}"),
        }
    }
}

#[test]
fn a_key_that_does_not_match_its_public_key_is_corrupt() {
    let other = SecretKey::from_seed(&[8; 32]).public();
    let store =
        Keystore::seal_seed(&[7; 32], other, KeyKind::Physician, None, PASS, KdfParams::fast())
            .unwrap();
    let err = store.open(PASS).unwrap_err();
    assert!(matches!(err, KeystoreError::Corrupt { .. }), "{err:?}");
}

#[test]
fn saved_file_is_0600_and_new_directories_0700() {
    let (_, store) = sealed(KeyKind::Physician, None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("key.json");
    store.save(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&dir.path().join("a").join("b")), 0o700);
    assert_eq!(names_in(&dir.path().join("a").join("b")), ["key.json"]);
}

#[test]
fn save_refuses_to_overwrite() {
    let (_, first) = sealed(KeyKind::Physician, Some("first"));
    let (_, second) = sealed(KeyKind::Physician, Some("second"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    first.save(&path).unwrap();
    let before = fs::read(&path).unwrap();
    let err = second.save(&path).unwrap_err();
    assert!(matches!(err, KeystoreError::AlreadyExists { .. }), "{err:?}");
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(names_in(dir.path()), ["key.json"]);
}

#[test]
fn save_overwrite_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    let (_, first) = sealed(KeyKind::Node, None);
    first.save(&path).unwrap();
    let new_key = SecretKey::from_seed(&[42; 32]);
    let another = "umbrella saffron pilgrim thistle";
    let another_pass =
        NewPassphrase::judged(Zeroizing::new(another.to_owned()), &[], false).unwrap();
    let second =
        Keystore::seal(&new_key, KeyKind::Node, None, &another_pass, KdfParams::fast()).unwrap();
    second.save_overwrite(&path).unwrap();
    assert_eq!(names_in(dir.path()), ["key.json"]);
    assert_eq!(mode(&path), 0o600);
    let loaded = Keystore::load(&path).unwrap();
    assert_eq!(loaded.open(another).unwrap().public(), new_key.public());

    // Also onto a path where nothing is yet.
    let fresh = dir.path().join("fresh.json");
    second.save_overwrite(&fresh).unwrap();
    assert_eq!(names_in(dir.path()), ["fresh.json", "key.json"]);
}

#[test]
fn saving_into_an_unwritable_directory_fails_cleanly() {
    let (_, store) = sealed(KeyKind::Node, None);
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).unwrap();
    let result = store.save(&locked.join("key.json"));
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();
    // Root ignores permissions; then the save simply works.
    if let Err(err) = result {
        assert!(matches!(err, KeystoreError::Write { .. }), "{err:?}");
        assert!(names_in(&locked).is_empty());
    }
}

#[test]
fn debug_shows_no_secret_material() {
    let (key, store) = sealed(KeyKind::Physician, Some("dr-house"));
    let shown = format!("{store:?}");
    assert!(shown.contains(&key.public().to_string()), "{shown}");
    assert!(shown.contains("dr-house"), "{shown}");
    for secret in [
        hex::encode(*key.to_seed()),
        hex::encode(store.sealed),
        hex::encode(store.tag),
        hex::encode(store.salt),
        hex::encode(store.nonce),
        PASS.to_owned(),
    ] {
        assert!(!shown.contains(&secret), "{shown} contains {secret}");
    }
    // Nor in the errors.
    let err = store.open("wrong").unwrap_err();
    assert!(!format!("{err:?} {err}").contains(&hex::encode(*key.to_seed())));
}

#[test]
fn unsupported_version_is_reported() {
    let (_, store) = sealed(KeyKind::Physician, None);
    let mut json: serde_json::Value = serde_json::from_str(&store.to_json().unwrap()).unwrap();
    json["version"] = 2.into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.json");
    fs::write(&path, json.to_string()).unwrap();
    let err = Keystore::load(&path).unwrap_err();
    assert!(matches!(err, KeystoreError::UnsupportedVersion { found: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("upgrade curbside"), "{err}");
}

#[test]
fn load_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let err = Keystore::load(&missing).unwrap_err();
    assert!(matches!(err, KeystoreError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.json"), "{err}");

    let err = Keystore::load(dir.path()).unwrap_err();
    assert!(matches!(err, KeystoreError::Unreadable { .. }), "{err:?}");

    for (name, text) in [
        ("empty.json", String::new()),
        ("array.json", "[]".to_owned()),
        ("noversion.json", "{}".to_owned()),
        ("stringversion.json", "{\"version\":\"1\"}".to_owned()),
        ("partial.json", "{\"version\":1}".to_owned()),
        ("huge.json", " ".repeat(70_000)),
        ("binary.json", "\u{0}\u{1}".to_owned()),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        let err = Keystore::load(&path).unwrap_err();
        assert!(matches!(err, KeystoreError::Format { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn key_kinds_are_lowercase() {
    for (kind, name) in
        [(KeyKind::Physician, "physician"), (KeyKind::Root, "root"), (KeyKind::Node, "node")]
    {
        assert_eq!(serde_json::to_value(kind).unwrap(), name);
        assert_eq!(kind.to_string(), name);
        let back: KeyKind = serde_json::from_value(name.into()).unwrap();
        assert_eq!(back, kind);
    }
}
