//! What a caller with no credentials can make a node's HTTP API spend:
//! every error is JSON with a code, sessions are bounded per physician,
//! and idle, slow or too many connections are closed or refused while
//! physicians' requests go on being answered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use curbside_protocol::testkit::key;
use curbside_tests::{Network, TestNode};
use serde_json::Value;

/// `method path` with the admin token: (status, content type, JSON body).
fn call(node: &TestNode, method: &str, path: &str) -> (u16, String, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", node.url))
        .header("Authorization", format!("Bearer {}", node.admin_token))
        .body(())
        .unwrap();
    let mut response = agent.run(request).unwrap();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (response.status().as_u16(), kind, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Malformed queries and paths, a wrong method and an unknown route are
/// answered as JSON with a stable code, not axum's plain text or an empty
/// body. (A panicking handler's `500 internal` is
/// `api::tests::every_error_is_json_with_a_code_even_a_panic`.)
#[test]
fn every_error_over_http_is_json_with_a_code() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let key = node.key;
    for (method, path, status, code) in [
        ("GET", "/v1/hubs/general/feed?limit=-1".to_string(), 400, "bad_request"),
        ("GET", format!("/v1/audit/logs/{key}/leaves?start=x"), 400, "bad_request"),
        ("GET", "/v1/events/%ff".to_string(), 400, "bad_request"),
        ("GET", "/v1/audit/logs/%ff%fe/heads".to_string(), 400, "bad_request"),
        ("DELETE", "/v1/status".to_string(), 405, "method_not_allowed"),
        ("GET", "/v1/events".to_string(), 405, "method_not_allowed"),
        ("GET", "/v2/nothing".to_string(), 404, "not_found"),
    ] {
        let (got, kind, body) = call(&node, method, &path);
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{method} {path}: {body}");
        assert_eq!(kind, "application/json", "{method} {path}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
    assert_eq!(call(&node, "GET", "/v1/hubs/general/feed?limit=5").0, 200);
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

/// A physician's key holds at most `sessions_per_physician` sessions, and
/// opening more within a challenge's lifetime is refused `rate_limited`
/// (before, one physician opened 182,000 in 80 s); other physicians are
/// not affected.
#[test]
fn a_physician_opens_a_bounded_number_of_sessions() {
    let net = Network::new();
    let node = TestNode::start_tweaked(&net, |c| c.sessions_per_key = 3);
    let dr = key("dr-many-sessions");
    let other = key("dr-one-session");
    node.attest(&net, &dr, "dr-many", &["oncology"], "GB");
    node.attest(&net, &other, "dr-one", &["oncology"], "GB");
    let tokens: Vec<String> = (0..3).map(|_| node.session(&net, &dr).unwrap()).collect();
    let (status, body) = node.session(&net, &dr).unwrap_err();
    assert_eq!((status, code(&body)), (429, "rate_limited"), "{body}");
    for token in &tokens {
        assert_eq!(node.get("/v1/hubs", Some(token)).0, 200);
    }
    let token = node.session(&net, &other).unwrap();
    assert_eq!(node.get("/v1/hubs", Some(&token)).0, 200);
}

/// Challenges cost the node no memory: a stranger asking for more than
/// the old table held (10,000) for random keys does not push out the
/// challenge a physician is answering, and a challenge opens one session.
#[test]
fn a_flood_of_challenges_does_not_push_out_a_physicians_challenge() {
    let net = Network::new();
    let node = TestNode::start(&net);
    let dr = key("dr-challenged");
    node.attest(&net, &dr, "dr-challenged", &["oncology"], "GB");
    let (status, body) =
        node.post("/v1/session/challenge", &serde_json::json!({ "key": dr.public() }), None);
    assert_eq!(status, 200, "{body}");
    let challenge_hex = body["challenge"].as_str().unwrap().to_string();

    std::thread::scope(|s| {
        for t in 0..4 {
            let node = &node;
            s.spawn(move || {
                for i in 0..2_550 {
                    let stranger = key(&format!("stranger-{t}-{i}")).public();
                    let (status, _) = node.post(
                        "/v1/session/challenge",
                        &serde_json::json!({ "key": stranger }),
                        None,
                    );
                    assert_eq!(status, 200);
                }
            });
        }
    });

    let mut challenge = [0u8; 32];
    for (i, byte) in challenge.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&challenge_hex[2 * i..2 * i + 2], 16).unwrap();
    }
    let signature = dr.sign(&curbside_node::api::session_message(&net.id(), &challenge));
    let answer = serde_json::json!({
        "key": dr.public(), "challenge": challenge_hex, "signature": signature,
    });
    let (status, body) = node.post("/v1/session", &answer, None);
    assert_eq!(status, 200, "the physician's challenge was pushed out: {body}");
    let (status, body) = node.post("/v1/session", &answer, None);
    assert_eq!((status, code(&body)), (401, "bad_challenge"), "a challenge opens one session");
}

/// The node's API address.
fn api_addr(node: &TestNode) -> SocketAddr {
    node.url.trim_start_matches("http://").parse().unwrap()
}

/// A TCP connection to `to` from the local address `source` (any of
/// 127.0.0.0/8 on Linux), so one test can play several machines.
fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        let stream = socket.connect(to).await.unwrap().into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream
    })
}

/// Sends a GET from `source` and reads the whole answer: (status, body).
fn get_from(source: &str, to: SocketAddr, path: &str) -> (u16, Value) {
    let mut stream = connect_from(source, to);
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n").unwrap();
    read_answer(&mut stream)
}

fn read_answer(stream: &mut TcpStream) -> (u16, Value) {
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::String(text.clone())))
}

/// How long until the server closes `stream` (a read sees its end), or
/// `None` if it is still open after `limit`.
fn closed_within(stream: &TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut stream = stream.try_clone().unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut buf = [0u8; 1024];
    while start.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

/// Whether the server has closed `stream` (without waiting).
fn closed_now(stream: &TcpStream) -> bool {
    let mut stream = stream.try_clone().unwrap();
    stream.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1024];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != ErrorKind::WouldBlock,
    }
}

/// Sends `first`, then `drip` one byte at a time every 300 ms until the
/// server closes the connection (or `drip` runs out).
fn slow_client(to: SocketAddr, first: &'static str, drip: &'static str) -> TcpStream {
    let mut stream = TcpStream::connect(to).unwrap();
    stream.write_all(first.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        for byte in drip.bytes() {
            std::thread::sleep(Duration::from_millis(300));
            if writer.write_all(&[byte]).is_err() {
                return;
            }
        }
    });
    stream
}

/// An idle socket, headers sent a byte at a time and a body sent a byte at
/// a time are each closed once their timeout runs out, while a
/// physician's requests are answered at once meanwhile. (Before, all
/// three stayed open for as long as their client liked.)
#[test]
fn idle_and_slow_connections_are_closed_while_physicians_are_answered() {
    let net = Network::new();
    let node = TestNode::start_tweaked(&net, |c| {
        c.http.idle_timeout = Duration::from_secs(2);
        c.http.request_timeout = Duration::from_secs(2);
    });
    let dr = key("dr-patient");
    node.attest(&net, &dr, "dr-patient", &["oncology"], "GB");
    let addr = api_addr(&node);
    let started = Instant::now();
    let idle = TcpStream::connect(addr).unwrap();
    let headers = slow_client(
        addr,
        "GET /v1/status HTTP/1.1\r\n",
        "Host: node\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
    );
    let body = slow_client(
        addr,
        "POST /v1/events HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"events\": [",
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
    );
    // Meanwhile physicians are answered promptly.
    let token = node.session(&net, &dr).unwrap();
    for _ in 0..5 {
        let asked = Instant::now();
        assert_eq!(node.get("/v1/hubs", Some(&token)).0, 200);
        assert!(asked.elapsed() < Duration::from_secs(1), "{:?}", asked.elapsed());
    }
    for (what, stream) in [("idle", &idle), ("slow headers", &headers), ("slow body", &body)] {
        let left = Duration::from_secs(5).saturating_sub(started.elapsed());
        let closed = closed_within(stream, left);
        assert!(closed.is_some(), "the {what} connection is still open after 5 s");
        assert!(
            started.elapsed() >= Duration::from_millis(1_900),
            "{what} closed before its timeout"
        );
    }
    assert_eq!(node.get("/v1/hubs", Some(&token)).0, 200);
}

/// One address holding `api_connections_per_address` connections has its
/// next one answered `429 too_many_connections`; another address is
/// served, and the first is again once it closes one.
#[test]
fn an_address_over_its_connection_cap_is_refused_with_a_code() {
    let net = Network::new();
    let node = TestNode::start_tweaked(&net, |c| {
        c.http.per_address = 4;
        c.http.proxies = Vec::new();
    });
    let addr = api_addr(&node);
    // 127.0.0.3 and .4 play two machines (the test's own client keeps a
    // connection from 127.0.0.1).
    let mut held: Vec<TcpStream> = (0..4).map(|_| connect_from("127.0.0.3", addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let (status, body) = get_from("127.0.0.3", addr, "/v1/status");
    assert_eq!((status, code(&body)), (429, "too_many_connections"), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains('4')), "{body}");
    let (status, body) = get_from("127.0.0.4", addr, "/v1/status");
    assert_eq!(status, 200, "another address: {body}");
    drop(held.pop());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get_from("127.0.0.3", addr, "/v1/status").0, 200);
}

/// With every slot taken by idle sockets, the one idle longest gives way
/// to a new connection: a physician's request is answered, not refused.
#[test]
fn when_the_api_is_full_the_longest_idle_connection_gives_way() {
    let net = Network::new();
    let node = TestNode::start_tweaked(&net, |c| c.http.max_connections = 8);
    let addr = api_addr(&node);
    let idle: Vec<TcpStream> = (0..8)
        .map(|_| {
            let s = TcpStream::connect(addr).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (status, body) = get_from("127.0.0.1", addr, "/v1/status");
    assert_eq!(status, 200, "{body}");
    assert!(closed_within(&idle[0], Duration::from_secs(2)).is_some(), "the oldest gave way");
    assert!(closed_within(&idle[7], Duration::from_millis(300)).is_none(), "not the newest");
}

/// The attack of issue 13 against the real binary with 1,024 descriptors:
/// 1,100 idle sockets. Before, `accept` failed with EMFILE and physicians'
/// requests timed out; now the node holds at most half its descriptors in
/// API connections, the idle ones give way, and a request is answered.
#[test]
fn eleven_hundred_idle_sockets_do_not_keep_a_request_out() {
    curbside_node::api::raise_open_file_limit();
    let net = Network::new();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    curbside_node::datadir::DataDir::init(&data, &net.genesis).unwrap();
    std::fs::write(data.join("node.toml"), "listen = []\n").unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 1024 && exec \"$0\" --json node run --data \"$1\" --api 127.0.0.1:0")
        .arg(curbside_tests::curbside_bin())
        .arg(&data)
        .env("RUST_LOG", std::env::var("CURBSIDE_TEST_LOG").unwrap_or("error".into()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("node.log")).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let printed: Value = serde_json::from_str(&line).unwrap();
    let addr: SocketAddr =
        printed["api"].as_str().unwrap().trim_start_matches("http://").parse().unwrap();
    curbside_tests::wait_until(Duration::from_secs(20), "the node to answer", || {
        get_from("127.0.0.1", addr, "/v1/status").0 == 200
    });

    let idle: Vec<TcpStream> = (0..1_100).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let asked = Instant::now();
    let answer = std::thread::spawn(move || get_from("127.0.0.1", addr, "/v1/status"));
    let (status, body) = answer.join().unwrap();
    let log = std::fs::read_to_string(dir.path().join("node.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    assert_eq!(status, 200, "{body}; the node's log ends:\n{tail}");
    assert!(asked.elapsed() < Duration::from_secs(5), "answered after {:?}", asked.elapsed());
    std::thread::sleep(Duration::from_millis(500));
    let closed = idle.iter().filter(|s| closed_now(s)).count();
    assert!(closed >= 1_100 - 512, "only {closed} of the idle sockets were closed");
    assert!(child.try_wait().unwrap().is_none(), "the node is still running");
    let _ = child.kill();
    let _ = child.wait();
}
