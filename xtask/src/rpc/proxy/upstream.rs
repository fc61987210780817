//! Forwarding to the upstream.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Request, StatusCode};

use super::wire::{Reply, JSON};
use super::{lock, Shared};

impl Shared {
    /// POST `body` to the upstream within the time and size limits.
    pub(super) async fn forward(&self, body: Bytes) -> Result<Reply, Reply> {
        let mut request =
            Request::post(self.upstream_uri.clone()).header(CONTENT_TYPE, "application/json");
        if let Some(auth) = self.upstream.basic_auth() {
            request = request.header(AUTHORIZATION, auth);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|_| Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "cannot build request"))?;
        let limit = self.limits.max_body_bytes;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|err| {
                format!(
                    "upstream unreachable: {}",
                    crate::rpc::client::error_chain(&err)
                )
            })?;
            let status = response.status();
            let retry_after = response.headers().get(RETRY_AFTER).cloned();
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .cloned()
                .unwrap_or_else(|| HeaderValue::from_static(JSON));
            let body = Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|err| {
                    if err.is::<http_body_util::LengthLimitError>() {
                        format!("upstream answer larger than {} MiB", limit >> 20)
                    } else {
                        format!("upstream answer cut short: {err}")
                    }
                })?
                .to_bytes();
            Ok::<_, String>(Reply {
                status,
                content_type,
                retry_after,
                body,
            })
        };
        let failure = match tokio::time::timeout(self.limits.upstream_timeout, exchange).await {
            Ok(Ok(reply)) => return Ok(reply),
            Ok(Err(message)) => {
                Reply::text(StatusCode::BAD_GATEWAY, &self.upstream.scrub(&message))
            }
            Err(_) => Reply::text(
                StatusCode::GATEWAY_TIMEOUT,
                &format!(
                    "upstream gave no answer within {}",
                    crate::rpc::client::show_duration(self.limits.upstream_timeout)
                ),
            ),
        };
        lock(&self.stats).upstream_errors += 1;
        Err(failure)
    }
}
