//! Connection plumbing: accepting, serving HTTP/1.1, resets and cut bodies.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use hyper::header::{HeaderValue, CONTENT_LENGTH};
use hyper::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify, Semaphore};

use super::wire::Reply;
use super::{handle, ProxyBody, Shared};

/// Per connection: asks the connection task to drop the connection, with a TCP reset or not.
#[derive(Default)]
pub(super) struct ConnControl {
    pub(super) reset: AtomicBool,
    pub(super) kill: Notify,
}

/// The client socket; sends a TCP reset instead of a FIN when dropped after a `reset` fault.
pub(super) struct ClientStream {
    pub(super) inner: TcpStream,
    pub(super) control: Arc<ConnControl>,
}

impl Drop for ClientStream {
    fn drop(&mut self) {
        if self.control.reset.load(Ordering::SeqCst) {
            // SO_LINGER 0: close() sends RST and discards anything unsent.
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A body that sends its first part, waits for it to leave, then breaks the connection.
/// The response declares the full length, so the client sees a body cut short.
pub(super) struct CutBody {
    pub(super) part: Option<Bytes>,
    pub(super) linger: Pin<Box<tokio::time::Sleep>>,
    pub(super) control: Arc<ConnControl>,
}

impl Body for CutBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(part) = this.part.take() {
            return Poll::Ready(Some(Ok(Frame::data(part))));
        }
        if this.linger.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        this.control.kill.notify_one();
        Poll::Ready(Some(Err(io::Error::other("body truncated by a fault"))))
    }
}

pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    connection(stream, peer, shared).await;
                    drop(permit);
                });
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}

pub(super) async fn connection(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let header_timeout = shared.limits.header_timeout;
    let control = Arc::new(ConnControl::default());
    let io = TokioIo::new(ClientStream {
        inner: stream,
        control: Arc::clone(&control),
    });
    let service_control = Arc::clone(&control);
    let service = hyper::service::service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let control = Arc::clone(&service_control);
        async move { Ok::<_, Infallible>(handle(request, peer, &shared, &control).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Some(header_timeout));
    let conn = builder.serve_connection(io, service);
    tokio::select! {
        _ = conn => {}
        _ = control.kill.notified() => {}
    }
}

/// The answer with `keep` of its body, declaring the whole length.
pub(super) fn truncated(
    reply: Reply,
    keep: f64,
    control: &Arc<ConnControl>,
) -> Response<ProxyBody> {
    let full_length = reply.body.len();
    // At least one byte goes out and at least one is missing, whatever the fraction.
    let cut = ((full_length as f64 * keep) as usize)
        .clamp(1, full_length.saturating_sub(1).max(1))
        .min(full_length);
    let part = reply.body.slice(..cut);
    let mut response = reply.into_response();
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(full_length));
    let control = Arc::clone(control);
    response.map(move |_| {
        CutBody {
            part: Some(part),
            linger: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
            control,
        }
        .boxed()
    })
}
