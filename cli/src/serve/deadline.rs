//! A connection's socket with one total deadline per phase instead of a
//! timeout per read.
//!
//! A per-read timeout lets a peer that sends one byte just before each
//! timeout hold a connection forever, and the TLS handshake (which rustls
//! runs inside the first read) was bounded by nothing else. So before every
//! read and write this stream sets the socket's timeout to what is left of
//! the current phase, and fails with `TimedOut` once it has passed:
//!
//! | phase | ends at |
//! |---|---|
//! | a new connection's first request, handshake included | accept + [`REQUEST_DEADLINE`] |
//! | idle between keep-alive requests | the `until` the HTTP layer gives |
//! | a later request, from its first byte | first byte + [`REQUEST_DEADLINE`] |
//! | writing an answer | its start + [`WRITE_TIMEOUT`] |
//!
//! The stream also tells the [registry](super::conns) when a request's
//! first byte arrives (busy) and when the connection waits again (idle).

use super::conns::{Refused, Ticket};
use super::http::{REQUEST_DEADLINE, WRITE_TIMEOUT};
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request's first byte, until then.
    Idle { until: Instant },
    /// Reading (and, over TLS, handshaking) a request.
    Request { deadline: Instant },
    /// Writing an answer.
    Answer { deadline: Instant },
}

/// A TCP stream whose reads and writes end at the current phase's
/// deadline; see the module documentation.
pub struct DeadlineStream {
    sock: TcpStream,
    ticket: Ticket,
    phase: Phase,
    /// Whether the registry counts this connection as mid-request.
    busy: bool,
    /// Set when the registry refused to let a request start.
    refused: Option<Refused>,
}

impl DeadlineStream {
    /// A connection accepted at `accepted`: its first request (TLS
    /// handshake included) must be complete by accept +
    /// [`REQUEST_DEADLINE`].
    pub fn new(sock: TcpStream, ticket: Ticket, accepted: Instant) -> DeadlineStream {
        DeadlineStream {
            sock,
            ticket,
            phase: Phase::Request {
                deadline: accepted.checked_add(REQUEST_DEADLINE).unwrap_or(accepted),
            },
            busy: false,
            refused: None,
        }
    }

    /// The request whose head has arrived is being served: count it busy
    /// (when its bytes came buffered, without a read) and start its
    /// deadline if the connection was idle.
    pub fn begin_request(&mut self) -> Result<(), Refused> {
        self.mark_busy()?;
        if let Phase::Idle { .. } = self.phase {
            self.phase = Phase::Request {
                deadline: after(REQUEST_DEADLINE),
            };
        }
        Ok(())
    }

    /// An answer is about to be written: it gets [`WRITE_TIMEOUT`] in all,
    /// even when the request's deadline has just passed (a 408 still goes
    /// out).
    pub fn begin_answer(&mut self) {
        self.phase = Phase::Answer {
            deadline: after(WRITE_TIMEOUT),
        };
    }

    /// The answer is out and the connection stays open: wait for the next
    /// request's first byte until `until`, evictable meanwhile.
    pub fn await_next_request(&mut self, until: Instant) {
        self.phase = Phase::Idle { until };
        if self.busy {
            self.busy = false;
            self.ticket.finish_request(Instant::now());
        }
    }

    /// Why the registry refused the current request, if it did.
    pub fn refused(&self) -> Option<Refused> {
        self.refused
    }

    /// The socket, for the closing steps.
    pub fn into_inner(self) -> TcpStream {
        self.sock
    }

    fn mark_busy(&mut self) -> Result<(), Refused> {
        if self.busy {
            return Ok(());
        }
        match self.ticket.start_request() {
            Ok(()) => {
                self.busy = true;
                Ok(())
            }
            Err(why) => {
                self.refused = Some(why);
                Err(why)
            }
        }
    }

    /// What is left of the current phase; `TimedOut` once nothing is.
    fn left(&self) -> io::Result<std::time::Duration> {
        let end = match self.phase {
            Phase::Idle { until } => until,
            Phase::Request { deadline } | Phase::Answer { deadline } => deadline,
        };
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(ErrorKind::TimedOut, "deadline passed"))
        } else {
            Ok(left)
        }
    }
}

/// `now + d`, or a deadline already passed if that cannot be represented.
fn after(d: std::time::Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d).unwrap_or(now)
}

/// A socket timeout shows as `WouldBlock` on unix; callers see `TimedOut`.
fn timed_out(e: io::Error) -> io::Error {
    if e.kind() == ErrorKind::WouldBlock {
        io::Error::new(ErrorKind::TimedOut, "deadline passed")
    } else {
        e
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(why) = self.refused {
            return Err(io::Error::other(why.to_string()));
        }
        // std rounds a sub-microsecond timeout up, never to "no timeout".
        self.sock.set_read_timeout(Some(self.left()?))?;
        let n = self.sock.read(buf).map_err(timed_out)?;
        if n > 0 && !self.busy {
            if let Err(why) = self.begin_request() {
                return Err(io::Error::other(why.to_string()));
            }
        }
        Ok(n)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.set_write_timeout(Some(self.left()?))?;
        self.sock.write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}
