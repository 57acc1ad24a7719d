//! A served connection's wrapper: it holds the connection's place in the
//! listener's limit and puts a deadline on writes that make no progress.
//! The listener (`serve`) makes it; the WebSocket task names it to reach the
//! TCP socket under it, so it lives apart from both.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Sleep;

/// A connection that holds its place in [`ServeConfig::max_connections`](crate::ServeConfig::max_connections) for
/// as long as it lives, through a WebSocket upgrade too (the upgraded stream
/// keeps this one inside), and fails a write that makes no progress for
/// [`ServeConfig::write_timeout`](crate::ServeConfig::write_timeout).
pub(crate) struct Counted<IO> {
    io: IO,
    _permit: OwnedSemaphorePermit,
    stall: WriteStall,
}

impl<IO> Counted<IO> {
    pub(crate) fn new(io: IO, permit: OwnedSemaphorePermit, write_timeout: Duration) -> Self {
        Self {
            io,
            _permit: permit,
            stall: WriteStall::new(write_timeout),
        }
    }
}

/// The clock of a write that waits: started when a write first returns
/// `Pending`, stopped by any write that completes. The timer is allocated on
/// the first stall only, so an idle connection holds none. Every connection
/// carries one, so the timeout is kept in 4 bytes of milliseconds (a longer
/// one than 49 days is as good as none).
struct WriteStall {
    timer: Option<Pin<Box<Sleep>>>,
    timeout_ms: u32,
    armed: bool,
}

impl WriteStall {
    fn new(timeout: Duration) -> Self {
        Self {
            timer: None,
            timeout_ms: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX),
            armed: false,
        }
    }

    /// Passes a write's result through; a `Pending` one becomes an error
    /// once the write has waited `timeout` without progress.
    fn check<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.armed = false;
            return poll;
        }
        let deadline = tokio::time::Instant::now()
            .checked_add(Duration::from_millis(self.timeout_ms.into()))
            .unwrap_or_else(far_future);
        let timer = match &mut self.timer {
            Some(timer) => {
                if !self.armed {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        self.armed = true;
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "write made no progress within the write timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// About thirty years from now: "never" for a timer.
fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

impl<IO> Counted<IO> {
    /// The connection inside.
    pub(crate) fn get_ref(&self) -> &IO {
        &self.io
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Counted<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Counted<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.stall.check(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.stall.check(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.stall.check(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::Semaphore;

    fn counted<IO>(io: IO, timeout: Duration) -> Counted<IO> {
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        Counted::new(io, permit, timeout)
    }

    /// Every served connection carries one, through its WebSocket's life.
    #[test]
    fn the_write_clock_stays_small() {
        assert!(std::mem::size_of::<WriteStall>() <= 16);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_makes_no_progress_fails_after_the_write_timeout() {
        let (ours, _peer) = tokio::io::duplex(1024);
        let mut conn = counted(ours, Duration::from_secs(30));
        let started = tokio::time::Instant::now();
        let err = tokio::time::timeout(Duration::from_secs(3600), conn.write_all(&[0; 4096]))
            .await
            .expect("the write failed within an hour")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_reading_is_never_cut() {
        let (ours, mut peer) = tokio::io::duplex(1024);
        let mut conn = counted(ours, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            let mut buf = [0; 512];
            let mut total = 0;
            while total < 64 * 1024 {
                tokio::time::sleep(Duration::from_secs(20)).await;
                total += peer.read(&mut buf).await.unwrap();
            }
            total
        });
        // 128 reads 20 s apart: far longer than the timeout in all.
        conn.write_all(&[0; 64 * 1024]).await.unwrap();
        assert_eq!(reader.await.unwrap(), 64 * 1024);
    }
}
