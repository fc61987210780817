//! Connection plumbing: accepting, serving HTTP/1.1, resets and cut bodies.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
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

/// Accepted connections held at most (served or waiting for their peer's turn), as a
/// multiple of `max_connections`; beyond, new ones wait in the kernel's accept queue.
const ACCEPTED_PER_SLOT: usize = 4;

/// Connections of one peer address: served ones take a permit; at most as many again may
/// wait for one, further ones are closed at once.
struct Peer {
    permits: Arc<Semaphore>,
    held: usize,
}

type Peers = Arc<std::sync::Mutex<HashMap<IpAddr, Peer>>>;

/// Release a peer's place when its connection ends, however it ends.
struct PeerPlace {
    peers: Peers,
    ip: IpAddr,
}

impl Drop for PeerPlace {
    fn drop(&mut self) {
        let mut peers = self
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(peer) = peers.get_mut(&self.ip) {
            peer.held -= 1;
            if peer.held == 0 {
                peers.remove(&self.ip);
            }
        }
    }
}

/// Accept and serve until `shutdown`. A connection is served once it holds a permit of its
/// peer (at most `max_connections_per_peer` each) and then one of the proxy's
/// (`max_connections`): a peer that opens many connections and stalls them waits for its
/// own permits and cannot shut out other peers.
pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let limits = &shared.limits;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let accepted_slots = Arc::new(Semaphore::new(
        limits.max_connections.saturating_mul(ACCEPTED_PER_SLOT),
    ));
    let per_peer = limits
        .max_connections_per_peer
        .clamp(1, limits.max_connections);
    let peers: Peers = Arc::default();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted_permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = Arc::clone(&accepted_slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let peer_permits = {
            let mut map = peers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let entry = map.entry(peer.ip()).or_insert_with(|| Peer {
                permits: Arc::new(Semaphore::new(per_peer)),
                held: 0,
            });
            if entry.held >= per_peer * 2 {
                // Already as many waiting as served: this one is closed at once.
                None
            } else {
                entry.held += 1;
                Some(Arc::clone(&entry.permits))
            }
        };
        let Some(peer_permits) = peer_permits else {
            drop(stream);
            continue;
        };
        let place = PeerPlace {
            peers: Arc::clone(&peers),
            ip: peer.ip(),
        };
        let shared = Arc::clone(&shared);
        let slots = Arc::clone(&slots);
        connections.spawn(async move {
            let _place = place;
            let _accepted = accepted_permit;
            let Ok(_peer_permit) = peer_permits.acquire_owned().await else {
                return;
            };
            let Ok(_slot) = slots.acquire_owned().await else {
                return;
            };
            connection(stream, peer, shared).await;
        });
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
