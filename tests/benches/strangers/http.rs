//! A bare HTTP/1.1 client on one TCP connection from a chosen local
//! address (any of 127.0.0.0/8, so one program plays many machines):
//! keep-alive, bodies framed by `Content-Length`, as the node answers.

use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use curbside_tests::stranger::connect_from;
use serde_json::Value;

/// How long a request may wait for each read or write: the command line's
/// whole-request timeout.
const PATIENCE: Duration = Duration::from_secs(60);

/// An answer: its status and JSON body (a string if it was not JSON).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl Answer {
    /// `"<status> <code>"`, the code being the body's, else the first
    /// outcome's (`"503 pending_full"`), else the status alone.
    pub(crate) fn label(&self) -> String {
        let code = self.body["code"]
            .as_str()
            .or_else(|| self.body["outcomes"][0]["code"].as_str())
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        format!("{}{code}", self.status)
    }

    /// Each event's outcome: its code if refused, else its status
    /// (`stored`, `pending`, `duplicate`).
    pub(crate) fn outcomes(&self) -> Vec<&str> {
        let Some(outcomes) = self.body["outcomes"].as_array() else { return Vec::new() };
        outcomes.iter().map(|o| outcome(o).unwrap_or("?")).collect()
    }
}

fn outcome(o: &Value) -> Option<&str> {
    match o["status"].as_str() {
        Some("rejected") => o["code"].as_str(),
        status => status,
    }
}

/// One connection to a node's API.
#[derive(Debug)]
pub(crate) struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects to `to` from `from`.
    pub(crate) fn open(from: &str, to: SocketAddr) -> io::Result<Self> {
        let stream = connect_from(from, to)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        stream.set_write_timeout(Some(PATIENCE))?;
        stream.set_nodelay(true)?;
        Ok(Self { reader: BufReader::new(stream) })
    }

    /// `POST path` with a JSON body and, if given, a bearer token.
    pub(crate) fn post(
        &mut self,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> io::Result<Answer> {
        self.send("POST", path, token, body)?;
        self.answer()
    }

    /// `GET path`, with a bearer token if given.
    pub(crate) fn get(&mut self, path: &str, token: Option<&str>) -> io::Result<Answer> {
        self.send("GET", path, token, &[])?;
        self.answer()
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> io::Result<()> {
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: node\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()
    }

    fn answer(&mut self) -> io::Result<Answer> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed before an answer"));
        }
        let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, format!("not a status line: {line:?}"))
        })?;
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        let body = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        Ok(Answer { status, body })
    }
}
