//! A live js-noise peer: `node tests/jsnoise-peer/peer.mjs`, spoken to in newline-delimited JSON.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

/// Why the peer could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// Node or the installed npm packages are missing (`npm ci --prefix tests/jsnoise-peer`).
    #[error("js-noise peer unavailable: {0}")]
    Unavailable(String),
    /// The process died or wrote something that is not a response.
    #[error("js-noise peer I/O: {0}")]
    Io(String),
}

/// The directory of the Node program.
pub fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("jsnoise-peer")
}

/// A running js-noise peer process.
pub struct JsPeer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl JsPeer {
    /// Starts the peer; `Unavailable` when Node or its packages are missing.
    pub fn start() -> Result<Self, PeerError> {
        Self::start_program(&peer_dir(), "@waku/noise")
    }

    /// Starts `dir/peer.mjs` (a program speaking this line protocol), which needs the npm
    /// package `package` installed in `dir`.
    pub fn start_program(dir: &std::path::Path, package: &str) -> Result<Self, PeerError> {
        if !dir.join("node_modules").join(package).exists() {
            let hint = format!("run `npm ci --prefix {}`", dir.display());
            return Err(PeerError::Unavailable(hint));
        }
        let mut child = Command::new("node")
            .arg(dir.join("peer.mjs"))
            .env("JSNOISE_PEER_QUIET", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| PeerError::Unavailable(format!("cannot start node: {e}")))?;
        let stdin = child.stdin.take().ok_or_else(|| PeerError::Io("no stdin".into()))?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(|| PeerError::Io("no stdout".into()))?);
        Ok(Self { child, stdin, stdout, next_id: 1 })
    }

    /// Sends `request` (an object without `id`) and returns the response object.
    pub fn call(&mut self, mut request: Value) -> Result<Value, PeerError> {
        let id = self.next_id;
        self.next_id += 1;
        request["id"] = json!(id);
        let line = format!("{request}\n");
        self.stdin.write_all(line.as_bytes()).map_err(|e| PeerError::Io(e.to_string()))?;
        self.stdin.flush().map_err(|e| PeerError::Io(e.to_string()))?;
        let mut response = String::new();
        self.stdout.read_line(&mut response).map_err(|e| PeerError::Io(e.to_string()))?;
        let value: Value = serde_json::from_str(&response).map_err(|e| PeerError::Io(format!("{e}: {response:?}")))?;
        if value["id"] != json!(id) {
            return Err(PeerError::Io(format!("response to another request: {value}")));
        }
        Ok(value)
    }

    /// Like [`Self::call`] but an `ok: false` response is an error carrying its message.
    pub fn ok(&mut self, request: Value) -> Result<Value, PeerError> {
        let response = self.call(request)?;
        if response["ok"] == json!(true) {
            Ok(response)
        } else {
            Err(PeerError::Io(format!("peer refused: {response}")))
        }
    }
}

impl Drop for JsPeer {
    fn drop(&mut self) {
        let _ = self.stdin.write_all(b"{\"id\":0,\"op\":\"exit\"}\n");
        let _ = self.child.wait();
    }
}

/// Starts a peer for a test: in CI (`CI` set) a missing peer is an error; locally the test is
/// skipped with a message saying why.
pub fn peer_for_test() -> Option<JsPeer> {
    program_for_test(JsPeer::start())
}

/// [`peer_for_test`] for another program ([`JsPeer::start_program`]).
#[allow(clippy::panic)] // test support: failing loudly in CI is the point
pub fn program_for_test(started: Result<JsPeer, PeerError>) -> Option<JsPeer> {
    match started {
        Ok(peer) => Some(peer),
        Err(e) if std::env::var_os("CI").is_some() => panic!("{e} (CI must run the js-noise interop tests)"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

/// Hex of bytes.
pub fn hx(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

/// Bytes of a hex field of a response.
pub fn unhex(v: &Value) -> Vec<u8> {
    v.as_str().and_then(|s| hex::decode(s).ok()).unwrap_or_default()
}
