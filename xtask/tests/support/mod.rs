//! Helpers shared by the integration tests: the real binary started the one way every test
//! starts it ([`xtask`]), a real anvil, a raw HTTP/1.1 client that shows exactly what came
//! over the wire, and an endpoint that accepts connections and never answers.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use xtask::foundry::anvil::{Anvil, AnvilBuilder};
use xtask::project::Project;
use xtask::rpc::client::{Failure, RpcClient};
use xtask::rpc::Redacted;
use xtask::toolchain::Toolchain;

/// The real binary with the environment every test starts it in: no colour, and none of the
/// variables that would point a run somewhere else (a real endpoint, a pinned block, a CI step
/// summary, the pause hook of the interrupt tests). A test adds what it needs on top. The
/// first call builds the contracts ([`contracts_built`]), so that runs started by tests of
/// different modules never compile into `out/` side by side.
pub fn xtask() -> std::process::Command {
    contracts_built();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.env("NO_COLOR", "1")
        .env_remove("BSC_RPC_URL")
        .env_remove("BSC_FORK_BLOCK")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("XTASK_TEST_PAUSE_AT");
    cmd
}

/// Compile the contracts (the registry replicas first, then `forge build`) once for the whole
/// test binary, before a test runs forge: the tests of every module run in parallel, and two
/// first builds must not write `out/` at the same time.
pub fn contracts_built() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        xtask::foundry::forge::build(toolchain()).expect("the contracts build");
    });
}

pub fn toolchain() -> &'static Toolchain {
    static TOOLCHAIN: OnceLock<Toolchain> = OnceLock::new();
    TOOLCHAIN.get_or_init(|| Toolchain::ensure(&Project::locate()).expect("the pinned anvil"))
}

/// A fresh anvil with chain id 56.
pub fn anvil() -> Anvil {
    anvil_with(Anvil::builder())
}

pub fn anvil_with(builder: AnvilBuilder) -> Anvil {
    builder
        .chain_id(56)
        .spawn(toolchain())
        .expect("anvil starts")
}

pub fn redacted(url: &str) -> Redacted {
    Redacted::parse(url, "test URL").expect("valid URL")
}

/// One JSON-RPC call through the xtask's client, blocking.
pub fn call(url: &str, method: &str, params: Value) -> Result<Value, Failure> {
    let client = RpcClient::new(redacted(url));
    runtime().block_on(client.call(method, params, Duration::from_secs(5)))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn rpc_body(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string()
}

/// How the server ended what it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The declared Content-Length arrived; the connection is still open.
    Complete,
    /// The server closed the connection (FIN).
    Closed,
    /// The server reset the connection (RST).
    Reset,
    /// Nothing more came before the client's deadline.
    Deadline,
}

/// Everything a raw client saw for one request.
#[derive(Debug)]
pub struct Raw {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub end: End,
    pub elapsed: Duration,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length").and_then(|v| v.parse().ok())
    }

    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// POST `body` on `stream` and read the answer byte by byte until Content-Length, close,
/// reset or `deadline`.
pub fn raw_exchange(stream: &mut TcpStream, path: &str, body: &str, deadline: Duration) -> Raw {
    let started = Instant::now();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("request sent");
    read_answer(stream, started, deadline)
}

pub fn raw_get(addr: SocketAddr, path: &str) -> Raw {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let started = Instant::now();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("request sent");
    read_answer(&mut stream, started, Duration::from_secs(5))
}

pub fn raw_post(addr: SocketAddr, body: &str, deadline: Duration) -> Raw {
    let mut stream = TcpStream::connect(addr).expect("connect");
    raw_exchange(&mut stream, "/", body, deadline)
}

fn read_answer(stream: &mut TcpStream, started: Instant, deadline: Duration) -> Raw {
    let mut received = Vec::new();
    let mut head_end = None;
    let mut end = End::Deadline;
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut buf) {
            Ok(0) => {
                end = End::Closed;
                break;
            }
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {
                end = End::Reset;
                break;
            }
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            Err(err) => panic!("read failed: {err}"),
        }
        if head_end.is_none() {
            head_end = received
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| p + 4);
        }
        if let Some(at) = head_end {
            let head = String::from_utf8_lossy(&received[..at]).to_ascii_lowercase();
            let declared = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if declared.is_some_and(|len| received.len() - at >= len) {
                end = End::Complete;
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    let Some(at) = head_end else {
        return Raw {
            status: None,
            headers: Vec::new(),
            body: received,
            end,
            elapsed,
        };
    };
    let head = String::from_utf8_lossy(&received[..at]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok());
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Raw {
        status,
        headers,
        body: received[at..].to_vec(),
        end,
        elapsed,
    }
}

/// A TCP endpoint that accepts every connection, reads nothing, answers nothing.
pub struct NeverAnswers {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NeverAnswers {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (stop2, held2) = (Arc::clone(&stop), Arc::clone(&held));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    held2.lock().unwrap().push(stream);
                }
            }
        });
        Self {
            addr,
            stop,
            held,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.held.lock().unwrap().len()
    }
}

impl Drop for NeverAnswers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A scripted JSON-RPC endpoint: `answer` gets each call and returns (HTTP status, body).
/// One request per connection, answered with `Connection: close`.
pub struct Scripted {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scripted {
    pub fn start(answer: impl Fn(&Value) -> (u16, String) + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let Some(request) = read_request(&mut stream) else {
                    continue;
                };
                let (status, body) = answer(&request);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Value> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        received.extend_from_slice(&buf[..n]);
        let at = received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&received[..at]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())?;
        if received.len() - at >= length {
            return serde_json::from_slice(&received[at..at + length]).ok();
        }
    }
}

/// A plausible answer to `call` from a chain at `head` with chain id 56; blocks get `hash`.
pub fn chain_answer(call: &Value, head: u64, hash: &str) -> Value {
    let id = call["id"].clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let result = match call["method"].as_str().unwrap_or_default() {
        "eth_blockNumber" => json!(format!("{head:#x}")),
        "eth_chainId" => json!("0x38"),
        "eth_getBlockByNumber" => {
            let number = match call["params"][0].as_str() {
                Some("latest") | None => format!("{head:#x}"),
                Some(n) => n.to_owned(),
            };
            json!({"number": number, "hash": hash, "timestamp": format!("{now:#x}")})
        }
        _ => json!("0x0"),
    };
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}
