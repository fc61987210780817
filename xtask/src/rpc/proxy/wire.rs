//! JSON-RPC requests as received and HTTP answers before they are sent.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};
use serde_json::Value;

use super::ProxyBody;

/// One JSON-RPC call as received.
#[derive(Debug, Clone)]
pub(super) struct Call {
    pub(super) method: Option<String>,
    pub(super) params: Value,
    pub(super) raw: Value,
}

impl Call {
    pub(super) fn new(raw: Value) -> Self {
        Self {
            method: raw.get("method").and_then(Value::as_str).map(str::to_owned),
            params: raw.get("params").cloned().unwrap_or(Value::Null),
            raw,
        }
    }

    pub(super) fn id(&self) -> Value {
        self.raw.get("id").cloned().unwrap_or(Value::Null)
    }
}

pub(super) enum RpcRequest {
    Single(Call),
    Batch(Vec<Call>),
    /// Not JSON-RPC as far as the proxy can tell: forwarded as is.
    Opaque,
}

impl RpcRequest {
    pub(super) fn parse(body: &[u8]) -> Self {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) if !items.is_empty() => {
                RpcRequest::Batch(items.into_iter().map(Call::new).collect())
            }
            Ok(value @ Value::Object(_)) => RpcRequest::Single(Call::new(value)),
            _ => RpcRequest::Opaque,
        }
    }

    pub(super) fn calls(&self) -> &[Call] {
        match self {
            RpcRequest::Single(call) => std::slice::from_ref(call),
            RpcRequest::Batch(calls) => calls,
            RpcRequest::Opaque => &[],
        }
    }
}

pub(super) const JSON: &str = "application/json";

/// An HTTP answer, before it is sent.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) content_type: HeaderValue,
    pub(super) retry_after: Option<HeaderValue>,
    pub(super) body: Bytes,
}

impl Reply {
    /// The proxy's own answer (admin, errors, injected statuses): plain text.
    pub(super) fn text(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            content_type: HeaderValue::from_static("text/plain; charset=utf-8"),
            retry_after: None,
            body: Bytes::from(format!("{message}\n")),
        }
    }

    pub(super) fn json(value: &Value) -> Self {
        Self {
            status: StatusCode::OK,
            content_type: HeaderValue::from_static(JSON),
            retry_after: None,
            body: Bytes::from(value.to_string()),
        }
    }

    pub(super) fn into_response(self) -> Response<ProxyBody> {
        let mut response = Response::new(full(self.body));
        *response.status_mut() = self.status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, self.content_type);
        if let Some(retry_after) = self.retry_after {
            response.headers_mut().insert(RETRY_AFTER, retry_after);
        }
        response
    }
}

pub(super) fn full(body: Bytes) -> ProxyBody {
    Full::new(body).map_err(|never| match never {}).boxed()
}
