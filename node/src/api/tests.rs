//! The API served in this process over a store whose faults the tests set
//! (`store::Faults`): what an acknowledgement promises, and what a failed
//! store looks like from outside; and the error contract of every route
//! (`contract`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use curbside_protocol::testkit::key;
use curbside_protocol::{
    AttestationRequest, Body, Charter, Event, Genesis, Handle, Post, SecretKey, SignedEvent,
};
use serde_json::{Value, json};

use super::{ApiParts, AppState, Shared, router};
use crate::store::Store;

const TOKEN: &str = "the-admin-token-of-these-tests";

/// A node's API on 127.0.0.1 (an OS-chosen port), in this process.
struct Api {
    url: String,
    store: Arc<Store>,
    genesis: Genesis,
    root: SecretKey,
    node: SecretKey,
    agent: ureq::Agent,
    rt: tokio::runtime::Runtime,
    state: AppState,
    _dir: tempfile::TempDir,
}

impl Api {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = key("api-tests-root");
        let node = key("api-tests-node");
        let genesis = Genesis::new("API tests", vec![root.public()], crate::now());
        // A data directory as a node has: the store in `store/` beneath it.
        let store = Arc::new(Store::open(&dir.path().join("store"), genesis.clone()).unwrap());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let (ingester, _thread) = crate::ingest::Ingester::builder(
            store.clone(),
            crate::ingest::IngestConfig::default(),
            crate::now,
        )
        .counts(metrics.clone())
        .start()
        .unwrap();
        let issuer = Arc::new(crate::verifier::Issuer::new(
            store.clone(),
            ingester.clone(),
            node.clone(),
            Arc::new(tokio::sync::Notify::new()),
        ));
        let state = Shared::new(ApiParts {
            store: store.clone(),
            ingester,
            issuer,
            key: node.clone(),
            admin_token: TOKEN.into(),
            metrics,
            session_ms: 60_000,
            sessions_per_key: super::DEFAULT_SESSIONS_PER_KEY,
            net: None,
            audit_quorum: 1,
            author_limit: super::AuthorLimit::default(),
            submit_limits: super::SubmitLimits::default(),
            pending_max_age_ms: 15 * 60 * 1000,
            search: None,
        });
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = state.clone();
        rt.spawn(async move { axum::serve(listener, router(served)).await });
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self { url, store, genesis, root, node, agent, rt, state, _dir: dir }
    }

    fn sign(&self, author: &SecretKey, body: Body) -> SignedEvent {
        Event::new(self.genesis.network_id(), author.public(), crate::now(), body)
            .sign(author)
            .unwrap()
    }

    /// A charter for `node` by the root, verifying in GB.
    fn charter(&self, node: &SecretKey) -> SignedEvent {
        self.sign(
            &self.root,
            Body::Charter(Charter {
                node: node.public(),
                institution: "API Test Hospital".into(),
                verify: vec!["GB".parse().unwrap()],
                valid_until: crate::now().plus_days(365),
            }),
        )
    }

    fn post_by(&self, author: &SecretKey, title: &str) -> SignedEvent {
        self.sign(
            author,
            Body::Post(Post {
                hub: "general".parse().unwrap(),
                title: title.into(),
                body: "Thoughts?".into(),
            }),
        )
    }

    fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
        let mut response = result.unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn get(&self, path: &str) -> (u16, Value) {
        Self::answer(self.agent.get(format!("{}{path}", self.url)).call())
    }

    fn post(&self, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        Self::answer(req.send(body.to_string()))
    }

    fn submit(&self, event: &SignedEvent) -> (u16, Value) {
        let wire = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(event.to_bytes());
        self.post("/v1/events", &json!({ "events": [wire] }), None)
    }

    /// Attests `physician` through the admin API.
    fn attest(&self, physician: &SecretKey, handle: &str) -> (u16, Value) {
        self.attest_as(physician, handle, TOKEN)
    }

    /// Attests `physician` through the admin API, as the operator `token` is.
    fn attest_as(&self, physician: &SecretKey, handle: &str, token: &str) -> (u16, Value) {
        let request = AttestationRequest::new(
            self.genesis.network_id(),
            physician,
            Handle::new(handle).unwrap(),
            crate::now(),
        );
        let body = json!({
            "request": request.to_text(),
            "specialties": ["cardiology"],
            "jurisdiction": "GB",
            "licence": format!("LIC-{handle}"),
            "valid_days": 365,
        });
        self.post("/v1/admin/attest", &body, Some(token))
    }

    fn get_as(&self, path: &str, token: &str) -> (u16, Value) {
        Self::answer(
            self.agent
                .get(format!("{}{path}", self.url))
                .header("Authorization", format!("Bearer {token}"))
                .call(),
        )
    }

    /// The value of one metric at `/metrics`.
    fn metric(&self, name: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics");
        let text = text.as_str()?.to_owned();
        text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }
}

fn stored(answer: &(u16, Value)) -> bool {
    answer.0 == 200 && answer.1["outcomes"][0]["status"] == "stored"
}

/// Every answer of `stored` (and every attestation issued) comes after a
/// completed sync of the store's files that covered the event: with each
/// sync made 100 ms slow, an answer sent before its sync would find the
/// durable count behind what was acknowledged.
#[test]
fn no_event_is_acknowledged_before_the_store_is_synced() {
    let api = Api::start();
    api.store.faults.slow_sync_ms.store(100, Ordering::SeqCst);
    let durable = || api.store.faults.durable_events.load(Ordering::SeqCst);
    let mut acknowledged = 0;

    let answer = api.submit(&api.charter(&api.node));
    assert!(stored(&answer), "{answer:?}");
    acknowledged += 1;
    assert!(durable() >= acknowledged, "charter answered before its sync: {}", durable());

    // Logged and synced, then published through ingest with its tree head.
    let physician = key("api-tests-dr");
    let (status, body) = api.attest(&physician, "dr-durable");
    assert_eq!(status, 200, "{body}");
    acknowledged += 2;
    assert!(durable() >= acknowledged, "attestation answered before its sync: {}", durable());

    for i in 0..6 {
        let answer = api.submit(&api.post_by(&physician, &format!("post {i}")));
        assert!(stored(&answer), "{answer:?}");
        acknowledged += 1;
        assert!(durable() >= acknowledged, "post {i} answered before its sync: {}", durable());
    }
    assert_eq!(api.store.counts().unwrap().events, acknowledged);
}

/// `/metrics` says how much room the data directory's disk has left, as
/// the system says it for the disk the store is on, and no peer on a node
/// that runs alone.
#[test]
fn the_data_disk_and_the_peers_show_in_metrics() {
    let api = Api::start();
    let free = api.metric("curbside_data_free_bytes").unwrap();
    let size = api.metric("curbside_data_size_bytes").unwrap();
    assert!(free > 0.0 && size >= free, "free {free} of {size}");
    assert_eq!(api.metric("curbside_peers_admitted"), Some(0.0));
    assert_eq!(api.metric("curbside_sync_last_ok_timestamp_seconds"), Some(0.0));
}

/// A storage failure latches: `/v1/status` answers 503 with `store:
/// failed` and the first error, `/metrics` has `curbside_store_failed 1`,
/// writes are refused, reads still answer, and the node's stop signal
/// fires.
#[test]
fn a_failed_store_shows_in_status_and_metrics() {
    let api = Api::start();
    assert!(stored(&api.submit(&api.charter(&api.node))));
    let (status, body) = api.get("/v1/status");
    assert_eq!((status, &body["store"]), (200, &json!("ok")), "{body}");
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let documented =
        ["charter", "events", "network", "network_name", "node_key", "pending", "store", "version"];
    assert_eq!(keys, documented, "docs/API.md's keys, no code or message while healthy");
    assert_eq!(body["charter"]["institution"], "API Test Hospital", "{body}");
    assert_eq!(api.metric("curbside_store_failed"), Some(0.0));

    api.store.faults.flush.store(true, Ordering::SeqCst);
    let (status, body) = api.submit(&api.charter(&key("api-tests-other-node")));
    assert_eq!((status, &body["code"]), (500, &json!("storage")), "{body}");

    let (status, body) = api.get("/v1/status");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["store"], "failed", "{body}");
    assert_eq!(body["code"], "store_failed", "{body}");
    assert!(body["message"].as_str().unwrap().contains("injected"), "{body}");
    assert_eq!(api.metric("curbside_store_failed"), Some(1.0));

    // No write is taken, though the disk might take it now.
    let (status, body) = api.submit(&api.charter(&key("api-tests-third-node")));
    assert_eq!((status, &body["code"]), (500, &json!("storage")), "{body}");
    assert_eq!(api.get("/v1/genesis").0, 200, "reads still answer");
    let stop = crate::shutdown::stop_signal(api.store.clone(), std::future::pending());
    api.rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), stop).await }).unwrap();
}

/// Every error is JSON with a code, whatever the route and even a panic.
mod contract {
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::super::*;

    /// The answer of `routes` (under the API's layers) to `method path`:
    /// status, content type and body as JSON.
    async fn answer(
        routes: Router,
        method: Method,
        path: &str,
    ) -> (StatusCode, String, serde_json::Value) {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        let response = guarded(routes).oneshot(request).await.unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_BODY).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, kind, body)
    }

    #[derive(serde::Deserialize)]
    struct Limit {
        #[allow(dead_code)]
        limit: Option<usize>,
    }

    async fn panics() -> &'static str {
        panic!("a handler's bug")
    }

    fn routes() -> Router {
        Router::new()
            .route("/limit", get(|ApiQuery(_): ApiQuery<Limit>| async { "ok" }))
            .route("/named/{name}", get(|ApiPath(name): ApiPath<String>| async move { name }))
            .route("/panics", get(panics))
    }

    #[tokio::test]
    async fn every_error_is_json_with_a_code_even_a_panic() {
        for (method, path, status, code) in [
            (Method::GET, "/limit?limit=-1", StatusCode::BAD_REQUEST, "bad_request"),
            (Method::GET, "/named/%ff", StatusCode::BAD_REQUEST, "bad_request"),
            (Method::POST, "/limit", StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            (Method::GET, "/no/such/route", StatusCode::NOT_FOUND, "not_found"),
            (Method::GET, "/panics", StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        ] {
            let (got, kind, body) = answer(routes(), method.clone(), path).await;
            assert_eq!(got, status, "{method} {path}: {body}");
            assert_eq!(kind, "application/json", "{method} {path}");
            assert_eq!(body["code"], code, "{method} {path}: {body}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        }
        // What works still works under the same layers.
        assert_eq!(answer(routes(), Method::GET, "/named/ok").await.0, StatusCode::OK);
        assert_eq!(answer(routes(), Method::GET, "/limit?limit=5").await.0, StatusCode::OK);
    }
}

/// An admin command that read another node's token (its `--data` named one
/// node, its URL reached another) is told so, naming both nodes; a token
/// that is simply wrong stays `unauthenticated`.
#[test]
fn an_admin_token_of_another_node_is_refused_as_that() {
    let api = Api::start();
    let other = key("api-tests-another-node");
    let theirs = super::admin_token_for(&other.public());
    let body = json!({ "attestation": "00".repeat(32), "reason": "test" });
    let (status, answer) = api.post("/v1/admin/revoke", &body, Some(&theirs));
    assert_eq!((status, answer["code"].as_str()), (401, Some("wrong_node")), "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains(&other.public().short()), "{message}");
    assert!(message.contains(&api.node.public().short()), "{message}");

    let (status, answer) = api.post("/v1/admin/revoke", &body, Some("not-a-token-at-all"));
    assert_eq!((status, answer["code"].as_str()), (401, Some("unauthenticated")), "{answer}");
    // This node's own kind of token, with a wrong secret: wrong, not another node's.
    let forged = super::admin_token_for(&api.node.public());
    let (status, answer) = api.post("/v1/admin/revoke", &body, Some(&forged));
    assert_eq!((status, answer["code"].as_str()), (401, Some("unauthenticated")), "{answer}");
}

/// Two attestations of one licence asked for at the same instant: the
/// operator's turn makes the check for duplicates and the issue one step,
/// so exactly one is issued and the other is refused as `licence_in_use`.
#[test]
fn one_licence_asked_for_twice_at_once_is_attested_once() {
    let api = Api::start();
    assert!(stored(&api.submit(&api.charter(&api.node))));
    let body = |who: &str| {
        let request = AttestationRequest::new(
            api.genesis.network_id(),
            &key(who),
            Handle::new(who).unwrap(),
            crate::now(),
        );
        json!({
            "request": request.to_text(),
            "specialties": ["cardiology"],
            "jurisdiction": "GB",
            "licence": "GMC 7654321",
            "valid_days": 30,
        })
    };
    let (one, two) = (body("dr-first"), body("dr-second"));
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let a = s.spawn(|| api.post("/v1/admin/attest", &one, Some(TOKEN)));
        let b = s.spawn(|| api.post("/v1/admin/attest", &two, Some(TOKEN)));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{answers:?}");
    let refused = answers.iter().find(|(s, _)| *s == 409).unwrap();
    assert_eq!(refused.1["code"], "licence_in_use", "{refused:?}");
}

/// `GET /v1/admin/openings` pages through every attestation this node
/// issued with its opening (each one opens its attestation's commitment),
/// says which was revoked and why, and answers only the admin.
#[test]
fn every_opening_is_paged_out_to_the_admin_only() {
    let api = Api::start();
    assert!(stored(&api.submit(&api.charter(&api.node))));
    let mut ids = Vec::new();
    for who in ["dr-open-a", "dr-open-b", "dr-open-c"] {
        let (status, answer) = api.attest(&key(who), who);
        assert_eq!(status, 200, "{answer}");
        ids.push(answer["id"].as_str().unwrap().to_owned());
    }
    let body = json!({ "target": ids[1], "reason": "licence suspended" });
    assert_eq!(api.post("/v1/admin/revoke", &body, Some(TOKEN)).0, 200);

    let get = |path: &str, token: Option<&str>| {
        let mut req = api.agent.get(format!("{}{path}", api.url));
        if let Some(token) = token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        Api::answer(req.call())
    };
    let (status, answer) = get("/v1/admin/openings", None);
    assert_eq!((status, answer["code"].as_str()), (401, Some("unauthenticated")), "{answer}");

    let mut seen: Vec<Value> = Vec::new();
    let mut path = "/v1/admin/openings?limit=2".to_owned();
    loop {
        let (status, page) = get(&path, Some(TOKEN));
        assert_eq!(status, 200, "{page}");
        assert!(page["openings"].as_array().unwrap().len() <= 2, "{page}");
        seen.extend(page["openings"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => path = format!("/v1/admin/openings?limit=2&after={next}"),
            None => break,
        }
    }
    let mut listed: Vec<String> =
        seen.iter().map(|o| o["attestation"].as_str().unwrap().to_owned()).collect();
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected);
    for opening in &seen {
        let id: curbside_protocol::EventId =
            opening["attestation"].as_str().unwrap().parse().unwrap();
        let event = api.store.events().get(&id).unwrap().unwrap();
        let Body::Attestation(attestation) = event.body() else { panic!("not an attestation") };
        let revealed = curbside_protocol::LicenceOpening {
            salt: opening["salt"].as_str().unwrap().parse().unwrap(),
            jurisdiction: opening["jurisdiction"].as_str().unwrap().parse().unwrap(),
            licence: opening["licence"].as_str().unwrap().to_owned(),
        };
        assert!(revealed.opens(attestation), "{opening}");
        let revoked = opening["attestation"] == ids[1].as_str();
        assert_eq!(opening["standing"], if revoked { "revoked" } else { "active" }, "{opening}");
        assert_eq!(opening["revoked_at"].is_null(), !revoked, "{opening}");
        if revoked {
            assert_eq!(opening["revocation_reason"], "licence suspended", "{opening}");
        }
    }
}

/// A named operator's credential works for admin calls, which the log
/// records under their name (refusals with their code); once revoked it
/// is refused at once as `operator_revoked`; the list of operators holds
/// no secret; a caller without a credential adds nothing to the log.
#[test]
fn named_operators_are_recorded_by_name_and_a_revoked_one_is_refused() {
    let api = Api::start();
    assert!(stored(&api.submit(&api.charter(&api.node))));
    let (status, made) = api.post("/v1/admin/operators", &json!({ "name": "ada" }), Some(TOKEN));
    assert_eq!(status, 201, "{made}");
    let ada = made["credential"].as_str().unwrap().to_owned();
    assert!(ada.starts_with(&format!("curbside-admin-{}-", api.node.public().short())), "{ada}");
    let (status, again) = api.post("/v1/admin/operators", &json!({ "name": "ada" }), Some(&ada));
    assert_eq!((status, again["code"].as_str()), (409, Some("operator_exists")), "{again}");

    let (status, attested) = api.attest_as(&key("dr-named"), "dr-named", &ada);
    assert_eq!(status, 200, "{attested}");
    let (status, twice) = api.attest_as(&key("dr-named"), "dr-named", &ada);
    assert_eq!((status, twice["code"].as_str()), (409, Some("already_attested")), "{twice}");
    // Wrong tokens are refused and not recorded.
    let forged = super::admin_token_for(&api.node.public());
    assert_eq!(api.attest_as(&key("dr-x"), "dr-x", &forged).0, 401);

    let (status, revoked) = api.post("/v1/admin/operators/ada/revoke", &json!({}), Some(TOKEN));
    assert_eq!((status, revoked["revoked_by"].as_str()), (200, Some("owner")), "{revoked}");
    let (status, refused) = api.attest_as(&key("dr-late"), "dr-late", &ada);
    assert_eq!((status, refused["code"].as_str()), (401, Some("operator_revoked")), "{refused}");
    let (status, refused) = api.get_as("/v1/admin/attestations", &ada);
    assert_eq!((status, refused["code"].as_str()), (401, Some("operator_revoked")), "{refused}");

    let (status, listed) = api.get_as("/v1/admin/operators", TOKEN);
    assert_eq!(status, 200, "{listed}");
    let text = listed.to_string();
    assert!(!text.contains(&ada[ada.len() - 64..]) && !text.contains(TOKEN), "{text}");
    let names: Vec<&str> =
        listed["operators"].as_array().unwrap().iter().filter_map(|o| o["name"].as_str()).collect();
    assert_eq!(names, ["owner", "ada"]);
    assert!(listed["operators"][1]["revoked_at"].is_u64(), "{listed}");
    assert!(listed["operators"][1]["last_used"].is_u64(), "{listed}");

    let (status, log) = api.get_as("/v1/admin/log", TOKEN);
    assert_eq!(status, 200, "{log}");
    let rows: Vec<(String, String, u64, Value)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (s(&e["operator"]), s(&e["action"]), e["status"].as_u64().unwrap(), e["code"].clone())
        })
        .collect();
    let row = |who: &str, what: &str, status: u64, code: Value| {
        (who.to_owned(), what.to_owned(), status, code)
    };
    assert_eq!(
        rows,
        [
            row("owner", "add-operator", 201, Value::Null),
            row("ada", "add-operator", 409, json!("operator_exists")),
            row("ada", "attest", 200, Value::Null),
            row("ada", "attest", 409, json!("already_attested")),
            row("owner", "revoke-operator", 200, Value::Null),
            row("owner", "list-operators", 200, Value::Null),
        ],
        "{log}"
    );
    let attest = &log["entries"][2]["target"];
    assert_eq!(attest["attestation"], attested["id"], "{attest}");
    assert_eq!(attest["key"], json!(key("dr-named").public()), "{attest}");
    assert!(attest["licence_commitment"].is_string(), "{attest}");
    assert!(!log.to_string().contains("LIC-dr-named"), "a licence in the log: {log}");
    let (_, ada_only) = api.get_as("/v1/admin/log?operator=ada&limit=1", TOKEN);
    assert_eq!(ada_only["entries"].as_array().unwrap().len(), 1, "{ada_only}");
    let next = ada_only["next"].as_str().unwrap();
    let (_, rest) = api.get_as(&format!("/v1/admin/log?operator=ada&after={next}"), TOKEN);
    assert_eq!(rest["entries"].as_array().unwrap().len(), 2, "{rest}");
}

/// One backup at a time: while one is being written another is refused as
/// `backup_running` (the flag set here as the first backup sets it), and
/// the flag is let go when a backup fails (the same guard lets it go
/// after a backup is written, as e2e `backup::` writes one).
#[test]
fn a_second_backup_while_one_runs_is_refused_and_the_flag_is_let_go() {
    let api = Api::start();
    let backups = tempfile::tempdir().unwrap();
    let out = backups.path();
    let first = json!({ "out": out.join("first") });

    api.state.backup_running.store(true, Ordering::SeqCst);
    let (status, answer) = api.post("/v1/admin/backup", &first, Some(TOKEN));
    assert_eq!((status, answer["code"].as_str()), (409, Some("backup_running")), "{answer}");
    assert!(!out.join("first").exists(), "a refused backup wrote something");
    api.state.backup_running.store(false, Ordering::SeqCst);

    let relative = json!({ "out": "not/absolute" });
    let (status, answer) = api.post("/v1/admin/backup", &relative, Some(TOKEN));
    assert_eq!(answer["code"].as_str(), Some("backup_out_invalid"), "{status} {answer}");
    assert!(!api.state.backup_running.load(Ordering::SeqCst), "a failed backup kept the flag");

    let inside = json!({ "out": api._dir.path().join("backup") });
    let (status, answer) = api.post("/v1/admin/backup", &inside, Some(TOKEN));
    assert_eq!(answer["code"].as_str(), Some("backup_out_invalid"), "{status} {answer}");
    assert!(!api.state.backup_running.load(Ordering::SeqCst), "a failed backup kept the flag");
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}
