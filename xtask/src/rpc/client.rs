//! A JSON-RPC client over raw HTTP/1.1 that turns every way a call can go wrong into one
//! [`Class`]. One connection per call, a hard deadline on the whole call (connect, send,
//! headers, body), bodies capped at [`MAX_BODY_BYTES`].
//!
//! A raw hyper connection is used rather than a pooled client because it tells apart what
//! the probe must tell apart: refused (`unreachable`), reset or closed before an answer
//! (`reset`), and a body shorter than its `Content-Length` (`partial_read`).
//!
//! `https://` goes through rustls (ring, Mozilla roots from webpki-roots); a failed TLS
//! handshake is `unreachable`: no usable connection could be made.

use std::error::Error as StdError;
use std::io;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, RETRY_AFTER};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;

use super::{Class, Redacted, MAX_BODY_BYTES};

/// A call that did not give a usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub class: Class,
    pub detail: String,
}

impl Failure {
    pub fn new(class: Class, detail: impl Into<String>) -> Self {
        Self {
            class,
            detail: detail.into(),
        }
    }
}

/// An HTTP answer read to its end.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: StatusCode,
    pub retry_after: Option<String>,
    pub body: Bytes,
}

/// A JSON-RPC endpoint.
#[derive(Debug, Clone)]
pub struct RpcClient {
    endpoint: Redacted,
}

impl RpcClient {
    pub fn new(endpoint: Redacted) -> Self {
        Self { endpoint }
    }

    pub fn endpoint(&self) -> &Redacted {
        &self.endpoint
    }

    /// POST `body`; the whole exchange ends by `deadline` or fails with `timeout`.
    pub async fn post(&self, body: Bytes, deadline: Duration) -> Result<HttpReply, Failure> {
        match tokio::time::timeout(deadline, self.post_unbounded(body)).await {
            Ok(result) => result.map_err(|f| Failure::new(f.class, self.endpoint.scrub(&f.detail))),
            Err(_) => Err(Failure::new(
                Class::Timeout,
                format!("no complete answer within {}", show_duration(deadline)),
            )),
        }
    }

    async fn post_unbounded(&self, body: Bytes) -> Result<HttpReply, Failure> {
        let authority = self.endpoint.authority();
        let stream = TcpStream::connect(&authority)
            .await
            .map_err(|err| Failure::new(Class::Unreachable, format!("cannot connect: {err}")))?;
        let _ = stream.set_nodelay(true);
        if !self.endpoint.is_https() {
            return self.exchange(stream, &authority, body).await;
        }
        let server_name = match self.endpoint.host() {
            Some(url::Host::Domain(name)) => ServerName::try_from(name.to_owned()).ok(),
            Some(url::Host::Ipv4(ip)) => {
                Some(ServerName::IpAddress(std::net::IpAddr::V4(ip).into()))
            }
            Some(url::Host::Ipv6(ip)) => {
                Some(ServerName::IpAddress(std::net::IpAddr::V6(ip).into()))
            }
            None => None,
        }
        .ok_or_else(|| {
            Failure::new(
                Class::Unreachable,
                "the host is not a valid TLS server name",
            )
        })?;
        let config = tls_config().map_err(|err| Failure::new(Class::Unreachable, err))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(server_name, stream)
            .await
            .map_err(|err| {
                Failure::new(
                    Class::Unreachable,
                    format!("TLS handshake failed: {}", error_chain(&err)),
                )
            })?;
        self.exchange(tls, &authority, body).await
    }

    /// One HTTP/1.1 request on a fresh connection.
    async fn exchange<Io>(&self, io: Io, authority: &str, body: Bytes) -> Result<HttpReply, Failure>
    where
        Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|err| classify_hyper(&err, false))?;
        let connection = AbortOnDrop(tokio::spawn(connection));
        let mut request = Request::post(self.endpoint.path_and_query())
            .header(HOST, authority)
            .header(CONTENT_TYPE, "application/json");
        if let Some(auth) = self.endpoint.basic_auth() {
            request = request.header(AUTHORIZATION, auth);
        }
        let request = request.body(Full::new(body)).map_err(|err| {
            Failure::new(Class::Malformed, format!("cannot build request: {err}"))
        })?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|err| classify_hyper(&err, false))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|err| {
                if err.is::<http_body_util::LengthLimitError>() {
                    Failure::new(
                        Class::Malformed,
                        format!("answer larger than {} MiB", MAX_BODY_BYTES >> 20),
                    )
                } else {
                    match err.downcast::<hyper::Error>() {
                        Ok(err) => classify_hyper(&err, true),
                        Err(err) => Failure::new(Class::PartialRead, err.to_string()),
                    }
                }
            })?
            .to_bytes();
        drop(connection);
        Ok(HttpReply {
            status,
            retry_after,
            body,
        })
    }

    /// One JSON-RPC call: the `result`, or the class of what went wrong.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        deadline: Duration,
    ) -> Result<Value, Failure> {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let reply = self
            .post(Bytes::from(request.to_string()), deadline)
            .await?;
        let value = parse_reply(&reply)?;
        rpc_result(&value, &json!(1))
            .map_err(|f| Failure::new(f.class, self.endpoint.scrub(&f.detail)))
    }

    /// A batch of calls: the raw JSON answer (an array for an endpoint that supports
    /// batches), after the HTTP-level checks.
    pub async fn batch(
        &self,
        calls: &[(&str, Value)],
        deadline: Duration,
    ) -> Result<Value, Failure> {
        let batch: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(i, (method, params))| {
                json!({"jsonrpc": "2.0", "id": i + 1, "method": method, "params": params})
            })
            .collect();
        let reply = self
            .post(Bytes::from(Value::Array(batch).to_string()), deadline)
            .await?;
        parse_reply(&reply)
    }
}

/// HTTP status and JSON checks shared by single calls and batches.
pub fn parse_reply(reply: &HttpReply) -> Result<Value, Failure> {
    if reply.status == StatusCode::TOO_MANY_REQUESTS {
        let retry = reply
            .retry_after
            .as_deref()
            .map(|r| format!(", Retry-After: {r}"))
            .unwrap_or_default();
        return Err(Failure::new(
            Class::RateLimited,
            format!("HTTP {}{retry}", reply.status),
        ));
    }
    if !reply.status.is_success() {
        return Err(Failure::new(
            Class::HttpError,
            format!("HTTP {}", reply.status),
        ));
    }
    serde_json::from_slice::<Value>(&reply.body).map_err(|err| {
        Failure::new(
            Class::Malformed,
            format!("answer is not JSON ({} bytes: {err})", reply.body.len()),
        )
    })
}

/// The `result` of one JSON-RPC response object with the given `id`.
pub fn rpc_result(response: &Value, id: &Value) -> Result<Value, Failure> {
    let Some(object) = response.as_object() else {
        return Err(Failure::new(
            Class::Malformed,
            "answer is not a JSON-RPC object",
        ));
    };
    if let Some(error) = object.get("error") {
        let code = error.get("code").and_then(Value::as_i64);
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(classify_rpc_error(code, message));
    }
    if object.get("id") != Some(id) {
        return Err(Failure::new(
            Class::Malformed,
            "answer's id does not match the request",
        ));
    }
    object
        .get("result")
        .cloned()
        .ok_or_else(|| Failure::new(Class::Malformed, "answer has neither result nor error"))
}

/// Node messages that mean "this node does not keep state that old".
const NOT_ARCHIVE_MESSAGES: [&str; 5] = [
    "missing trie node",
    "state is not available",
    "state not available",
    "historical state",
    "pruned",
];

/// JSON-RPC errors by code and message: rate limits, missing history, anything else.
pub fn classify_rpc_error(code: Option<i64>, message: &str) -> Failure {
    let lower = message.to_ascii_lowercase();
    let code_text = code.map_or_else(|| "?".to_owned(), |c| c.to_string());
    let detail = format!(
        "JSON-RPC error {code_text}: {}",
        truncate_text(message, 120)
    );
    let class = if code == Some(-32005)
        || lower.contains("rate limit")
        || lower.contains("too many requests")
        || lower.contains("limit exceeded")
    {
        Class::RateLimited
    } else if NOT_ARCHIVE_MESSAGES.iter().any(|m| lower.contains(m)) {
        Class::NotArchive
    } else {
        Class::RpcError
    };
    Failure::new(class, detail)
}

/// Classify a hyper error. `in_body`: the headers had arrived, so a cut is a partial read.
pub(crate) fn classify_hyper(err: &hyper::Error, in_body: bool) -> Failure {
    let io_kind = io_error_kind(err);
    let detail = error_chain(err);
    if in_body && (err.is_incomplete_message() || io_kind.is_some() || err.is_body_write_aborted())
    {
        return Failure::new(Class::PartialRead, format!("answer cut short: {detail}"));
    }
    if err.is_parse() || err.is_parse_status() {
        return Failure::new(Class::Malformed, format!("not an HTTP answer: {detail}"));
    }
    if err.is_timeout() {
        return Failure::new(Class::Timeout, detail);
    }
    match io_kind {
        Some(io::ErrorKind::ConnectionRefused) => Failure::new(Class::Unreachable, detail),
        Some(_) => Failure::new(Class::Reset, detail),
        None if err.is_incomplete_message() || err.is_closed() || err.is_canceled() => {
            Failure::new(
                Class::Reset,
                format!("connection closed before an answer: {detail}"),
            )
        }
        None => Failure::new(Class::Malformed, detail),
    }
}

fn io_error_kind(err: &(dyn StdError + 'static)) -> Option<io::ErrorKind> {
    let mut source: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

/// `outer: inner: innermost`, like anyhow's `{:#}`.
pub fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

fn truncate_text(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}...")
    }
}

/// `250ms`, `5s`, `1.5s`.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// TLS for https endpoints: rustls on ring with the Mozilla roots (webpki-roots), HTTP/1.1
/// only. Built once.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|err| format!("TLS set-up failed: {err}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
}

/// Aborts a spawned task when dropped, so a connection never outlives its call.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_errors_are_classified() {
        assert_eq!(
            classify_rpc_error(Some(-32005), "x").class,
            Class::RateLimited
        );
        assert_eq!(
            classify_rpc_error(Some(-32000), "Too Many Requests").class,
            Class::RateLimited
        );
        assert_eq!(
            classify_rpc_error(Some(-32000), "missing trie node 1234 (path )").class,
            Class::NotArchive
        );
        assert_eq!(
            classify_rpc_error(Some(-32601), "method not found").class,
            Class::RpcError
        );
    }

    #[test]
    fn responses_are_checked() {
        let ok = json!({"jsonrpc": "2.0", "id": 1, "result": "0x1"});
        assert_eq!(rpc_result(&ok, &json!(1)), Ok(json!("0x1")));
        assert_eq!(
            rpc_result(&ok, &json!(2)).unwrap_err().class,
            Class::Malformed
        );
        assert_eq!(
            rpc_result(&json!([1]), &json!(1)).unwrap_err().class,
            Class::Malformed
        );
        assert_eq!(
            rpc_result(&json!({"jsonrpc": "2.0", "id": 1}), &json!(1))
                .unwrap_err()
                .class,
            Class::Malformed
        );
    }

    #[test]
    fn durations_show_compactly() {
        assert_eq!(show_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(show_duration(Duration::from_secs(5)), "5s");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1.5s");
    }
}
