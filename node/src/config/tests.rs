use super::*;

#[test]
fn the_default_file_parses_to_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.toml"), DEFAULT_NODE_TOML).unwrap();
    let c = NodeConfig::load(dir.path(), &Overrides::default()).unwrap();
    assert_eq!(c.api, crate::default_api_addr());
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(c.session_ms, 12 * 3_600_000);
    assert_eq!(c.sessions_per_key, crate::api::DEFAULT_SESSIONS_PER_KEY);
    assert_eq!(c.store, StoreConfig::default());
    assert_eq!(c.http, crate::api::HttpLimits::default());
}

#[test]
fn the_api_connection_limits_come_from_the_file_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("node.toml"),
        "api_max_connections = 10\napi_connections_per_address = 2\n\
         api_proxies = [\"10.0.0.5\"]\napi_idle_timeout_secs = 5\n\
         api_request_timeout_secs = 3\n",
    )
    .unwrap();
    let http = NodeConfig::load(dir.path(), &Overrides::default()).unwrap().http;
    assert_eq!((http.max_connections, http.per_address), (10, 2));
    assert_eq!(http.proxies, vec!["10.0.0.5".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(http.idle_timeout, std::time::Duration::from_secs(5));
    assert_eq!(http.request_timeout, std::time::Duration::from_secs(3));
    std::fs::write(dir.path().join("node.toml"), "api_proxies = [\"proxy\"]\n").unwrap();
    let err = NodeConfig::load(dir.path(), &Overrides::default()).unwrap_err().to_string();
    assert!(err.contains("api_proxies") && err.contains("not an IP address"), "{err}");
    std::fs::write(dir.path().join("node.toml"), "api_idle_timeout_secs = 0\n").unwrap();
    let err = NodeConfig::load(dir.path(), &Overrides::default()).unwrap_err().to_string();
    assert!(err.contains("api_idle_timeout_secs") && err.contains("1 to 3600"), "{err}");
}

#[test]
fn the_store_cache_is_set_in_mib_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.toml"), "store_cache_mb = 64\n").unwrap();
    let c = NodeConfig::load(dir.path(), &Overrides::default()).unwrap();
    assert_eq!(c.store.cache_bytes, 64 << 20);
    std::fs::write(dir.path().join("node.toml"), "store_cache_mb = 1\n").unwrap();
    let err = NodeConfig::load(dir.path(), &Overrides::default()).unwrap_err().to_string();
    assert!(err.contains("store_cache_mb") && err.contains("16 to 65536"), "{err}");
}

#[test]
fn flags_override_the_file_and_public_apis_need_consent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.toml"), "api = \"127.0.0.1:9000\"\n").unwrap();
    let flags = Overrides { api: Some("127.0.0.1:9001".into()), ..Overrides::default() };
    assert_eq!(NodeConfig::load(dir.path(), &flags).unwrap().api.port(), 9001);
    let public = Overrides { api: Some("0.0.0.0:7420".into()), ..Overrides::default() };
    let err = NodeConfig::load(dir.path(), &public).unwrap_err().to_string();
    assert!(err.contains("--allow-public-api"), "{err}");
    let allowed = Overrides { allow_public_api: true, ..public };
    let config = NodeConfig::load(dir.path(), &allowed).unwrap();
    assert!(config.api_warning().is_some_and(|w| w.contains("0.0.0.0:7420")));
    assert_eq!(NodeConfig::load(dir.path(), &Overrides::default()).unwrap().api_warning(), None);
}

#[test]
fn the_environment_turns_switches_off_as_well_as_on() {
    let var = "CURBSIDE_MDNS";
    assert!(!decide_switch(false, var, Some("false".into()), Some(true)).unwrap());
    assert!(!decide_switch(false, var, Some("0".into()), Some(true)).unwrap());
    assert!(decide_switch(false, var, Some("Yes".into()), Some(false)).unwrap());
    assert!(decide_switch(false, var, None, Some(true)).unwrap());
    assert!(!decide_switch(false, var, None, None).unwrap());
    // A flag only ever turns it on.
    assert!(decide_switch(true, var, Some("false".into()), None).unwrap());
    let err = decide_switch(false, var, Some("maybe".into()), None).unwrap_err();
    assert!(err.to_string().contains("CURBSIDE_MDNS"), "{err}");
}

#[test]
fn the_listen_line_is_in_the_default_file() {
    assert!(DEFAULT_NODE_TOML.contains(DEFAULT_LISTEN_LINE));
}

#[test]
fn peer_to_peer_settings_come_from_the_file_or_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.toml"), DEFAULT_NODE_TOML).unwrap();
    let c = NodeConfig::load(dir.path(), &Overrides::default()).unwrap();
    let net = c.net.unwrap();
    assert_eq!(net.listen.len(), 2);
    assert!(net.bootstrap.is_empty());

    let flags = Overrides {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap: vec![
            "/ip4/127.0.0.1/tcp/9/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA".into(),
        ],
        ..Overrides::default()
    };
    let net = NodeConfig::load(dir.path(), &flags).unwrap().net.unwrap();
    assert_eq!(net.listen.len(), 1);
    assert_eq!(net.bootstrap.len(), 1);

    let bad = Overrides { listen: vec!["0.0.0.0:7421".into()], ..Overrides::default() };
    let err = NodeConfig::load(dir.path(), &bad).unwrap_err().to_string();
    assert!(err.contains("not a multiaddr"), "{err}");

    std::fs::write(dir.path().join("node.toml"), "listen = []\n").unwrap();
    assert!(NodeConfig::load(dir.path(), &Overrides::default()).unwrap().net.is_none());
}

#[test]
fn gossip_limits_come_from_the_file_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.toml"), DEFAULT_NODE_TOML).unwrap();
    let net = NodeConfig::load(dir.path(), &Overrides::default()).unwrap().net.unwrap();
    let defaults = NetConfig::default();
    assert_eq!(
        (net.gossip_per_second, net.gossip_burst),
        (defaults.gossip_per_second, defaults.gossip_burst)
    );
    assert_eq!(
        (net.gossip_author_per_minute, net.gossip_author_burst),
        (defaults.gossip_author_per_minute, defaults.gossip_author_burst)
    );
    std::fs::write(
        dir.path().join("node.toml"),
        "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n\
         peer_gossip_events_per_second = 20\npeer_gossip_burst = 40\n\
         gossip_author_events_per_minute = 30\ngossip_author_burst = 5\n",
    )
    .unwrap();
    let net = NodeConfig::load(dir.path(), &Overrides::default()).unwrap().net.unwrap();
    assert_eq!((net.gossip_per_second, net.gossip_burst), (20, 40));
    assert_eq!((net.gossip_author_per_minute, net.gossip_author_burst), (30, 5));
    std::fs::write(
        dir.path().join("node.toml"),
        "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n\
         peer_pending_per_address = 2\npeer_connections_per_address = 3\n",
    )
    .unwrap();
    let net = NodeConfig::load(dir.path(), &Overrides::default()).unwrap().net.unwrap();
    assert_eq!((net.pending_per_address, net.connections_per_address), (2, 3));
    std::fs::write(
        dir.path().join("node.toml"),
        "listen = [\"/ip4/127.0.0.1/tcp/0\"]\npeer_gossip_burst = 0\n",
    )
    .unwrap();
    let err = NodeConfig::load(dir.path(), &Overrides::default()).unwrap_err().to_string();
    assert!(err.contains("peer_gossip_burst") && err.contains("1 to 1000000"), "{err}");
}

#[test]
fn peer_bounds_come_from_the_file_and_max_peers_is_at_least_target_peers() {
    let dir = tempfile::tempdir().unwrap();
    let write = |extra: &str| {
        let text = format!("listen = [\"/ip4/127.0.0.1/tcp/0\"]\n{extra}");
        std::fs::write(dir.path().join("node.toml"), text).unwrap();
    };
    let load = || NodeConfig::load(dir.path(), &Overrides::default());
    write("");
    let net = load().unwrap().net.unwrap();
    let defaults = NetConfig::default();
    assert_eq!(
        (net.target_peers, net.max_peers, net.sync_peers),
        (defaults.target_peers, defaults.max_peers, defaults.sync_peers)
    );
    write("target_peers = 12\nmax_peers = 40\nsync_peers = 5\n");
    let net = load().unwrap().net.unwrap();
    assert_eq!((net.target_peers, net.max_peers, net.sync_peers), (12, 40, 5));
    write("target_peers = 12\nmax_peers = 10\n");
    let err = load().unwrap_err().to_string();
    assert!(err.contains("max_peers") && err.contains("at least target_peers (12)"), "{err}");
    write("sync_peers = 0\n");
    let err = load().unwrap_err().to_string();
    assert!(err.contains("sync_peers") && err.contains("1 to 64 peers"), "{err}");
    write("max_peers = 65\n");
    let err = load().unwrap_err().to_string();
    assert!(err.contains("max_peers") && err.contains("1 to 64 peers"), "{err}");
}

#[test]
fn typos_in_the_file_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.toml"), "apii = \"x\"\n").unwrap();
    let err = NodeConfig::load(dir.path(), &Overrides::default()).unwrap_err().to_string();
    assert!(err.contains("apii"), "{err}");
}

#[test]
fn settings_given_at_init_are_written_with_their_comments_and_read_back() {
    let settings = InitialSettings {
        api: Some("127.0.0.1:7430".into()),
        listen: vec!["/ip4/127.0.0.1/tcp/7431".into()],
        bootstrap: vec![
            "/ip4/127.0.0.1/tcp/7421/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
                .into(),
        ],
    };
    let text = settings.node_toml().unwrap();
    assert!(text.contains("api = \"127.0.0.1:7430\"   # CURBSIDE_API, --api"), "{text}");
    assert!(text.contains("# CURBSIDE_BOOTSTRAP"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.toml"), &text).unwrap();
    let config = NodeConfig::load(dir.path(), &Overrides::default()).unwrap();
    assert_eq!(config.api.to_string(), "127.0.0.1:7430");
    let net = config.net.unwrap();
    assert_eq!(net.listen.len(), 1);
    assert_eq!(net.bootstrap.len(), 1);
    // Nothing given: the documented defaults, byte for byte.
    assert_eq!(InitialSettings::default().node_toml().unwrap(), DEFAULT_NODE_TOML);
}

#[test]
fn a_bad_setting_at_init_is_refused_before_anything_is_written() {
    let bad_api = InitialSettings { api: Some("localhost".into()), ..InitialSettings::default() };
    assert!(bad_api.node_toml().is_err());
    let bad_listen =
        InitialSettings { listen: vec!["0.0.0.0:7421".into()], ..InitialSettings::default() };
    let err = bad_listen.node_toml().unwrap_err().to_string();
    assert!(err.contains("not a multiaddr"), "{err}");
}

/// The names of a struct's fields, as serde sees them: a deserializer
/// that asks for nothing but the struct's field list.
fn field_names<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor};
    struct Names(&'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for &mut Names {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(Self::Error::custom("only the names were wanted"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut names = Names(&[]);
    let _ = T::deserialize(&mut names);
    names.0
}

#[test]
fn every_key_the_parser_takes_is_documented_once() {
    let taken: std::collections::BTreeSet<&str> =
        field_names::<RawConfig>().iter().copied().collect();
    assert!(taken.len() > 30, "{taken:?}");
    let (_, sections) = reference::sections();
    let documented: Vec<String> =
        sections.iter().flat_map(|s| s.keys.iter().map(|k| k.name.clone())).collect();
    let unique: std::collections::BTreeSet<&str> = documented.iter().map(String::as_str).collect();
    assert_eq!(unique.len(), documented.len(), "a key is written twice: {documented:?}");
    assert_eq!(unique, taken, "node.toml's documented keys and RawConfig's fields differ");
    for section in &sections {
        assert!(!section.meaning.is_empty(), "no comment above {:?}", section.keys);
        for key in &section.keys {
            assert_ne!(key.kind, "?", "{key:?}");
            if let Some(env) = &key.env {
                assert_eq!(*env, format!("CURBSIDE_{}", key.name.to_uppercase()), "{key:?}");
            }
        }
    }
}

/// Every value the documented file writes is the default the code
/// applies when the key is left out: the same checked configuration
/// either way (the listen addresses aside, which `node init` writes so
/// that a new node joins the network, and which default to none).
#[test]
fn every_default_in_the_documented_file_is_the_code_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.toml"), DEFAULT_NODE_TOML).unwrap();
    let documented = NodeConfig::load(dir.path(), &Overrides::default()).unwrap();
    std::fs::write(dir.path().join("node.toml"), DEFAULT_LISTEN_LINE).unwrap();
    let left_out = NodeConfig::load(dir.path(), &Overrides::default()).unwrap();
    assert_eq!(format!("{documented:#?}"), format!("{left_out:#?}"));
}

/// `docs/CONFIG.md` is what the code renders now; with
/// `CURBSIDE_UPDATE_DOCS=1` it is rewritten instead.
#[test]
fn the_configuration_reference_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/CONFIG.md");
    let rendered = reference::reference_markdown();
    if std::env::var_os("CURBSIDE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == rendered,
        "docs/CONFIG.md differs from what node/src/config/example.rs documents; \
         regenerate it with:\n    {}",
        reference::REGENERATE
    );
}
