//! A connection's socket with one total deadline per phase instead of a
//! timeout per read: a [`crate::deadline::DeadlineStream`] whose deadline
//! moves with the phase, which also tells the [registry](super::conns)
//! when a request starts and ends.
//!
//! | phase | ends at |
//! |---|---|
//! | a new connection's first request, handshake included | accept + [`REQUEST_DEADLINE`] |
//! | idle between keep-alive requests | the `until` the HTTP layer gives |
//! | a later request, from its first byte | first byte + [`REQUEST_DEADLINE`] |
//! | writing an answer | its start + [`WRITE_TIMEOUT`] |
//!
//! The stream tells the registry when a request's first byte arrives
//! (busy) and when the connection waits again (idle).

use super::conns::{Refused, Ticket};
use super::http::{REQUEST_DEADLINE, WRITE_TIMEOUT};
use crate::deadline::{after, DeadlineStream};
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// A connection's stream, its deadline set by the phase; see the module
/// documentation.
pub struct PhasedStream {
    sock: DeadlineStream,
    ticket: Ticket,
    /// Waiting for a request's first byte (the deadline is the `until`).
    idle: bool,
    /// Whether the registry counts this connection as mid-request.
    busy: bool,
    /// Set when the registry refused to let a request start.
    refused: Option<Refused>,
}

impl PhasedStream {
    /// A connection accepted at `accepted`: its first request (TLS
    /// handshake included) must be complete by accept +
    /// [`REQUEST_DEADLINE`].
    pub fn new(sock: TcpStream, ticket: Ticket, accepted: Instant) -> PhasedStream {
        let deadline = accepted.checked_add(REQUEST_DEADLINE).unwrap_or(accepted);
        PhasedStream {
            sock: DeadlineStream::new(sock, deadline),
            ticket,
            idle: false,
            busy: false,
            refused: None,
        }
    }

    /// The request whose head has arrived is being served: count it busy
    /// (when its bytes came buffered, without a read) and start its
    /// deadline if the connection was idle.
    pub fn begin_request(&mut self) -> Result<(), Refused> {
        self.mark_busy()?;
        if self.idle {
            self.idle = false;
            self.sock.set_deadline(after(REQUEST_DEADLINE));
        }
        Ok(())
    }

    /// An answer is about to be written: it gets [`WRITE_TIMEOUT`] in all,
    /// even when the request's deadline has just passed (a 408 still goes
    /// out).
    pub fn begin_answer(&mut self) {
        self.idle = false;
        self.sock.set_deadline(after(WRITE_TIMEOUT));
    }

    /// The answer is out and the connection stays open: wait for the next
    /// request's first byte until `until`, evictable meanwhile.
    pub fn await_next_request(&mut self, until: Instant) {
        self.idle = true;
        self.sock.set_deadline(until);
        if self.busy {
            self.busy = false;
            self.ticket.finish_request(Instant::now());
        }
    }

    /// The answer about to be written is the connection's last: the
    /// request stops counting as in flight for its address (see
    /// [`Ticket::finish_last_request`]).
    pub fn last_answer(&mut self) {
        if self.busy {
            self.busy = false;
            self.ticket.finish_last_request();
        }
    }

    /// Why the registry refused the current request, if it did.
    pub fn refused(&self) -> Option<Refused> {
        self.refused
    }

    /// The socket, for the closing steps.
    pub fn into_inner(self) -> TcpStream {
        self.sock.into_inner()
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
}

impl Read for PhasedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(why) = self.refused {
            return Err(io::Error::other(why.to_string()));
        }
        let n = self.sock.read(buf)?;
        if n > 0 && !self.busy {
            if let Err(why) = self.begin_request() {
                return Err(io::Error::other(why.to_string()));
            }
        }
        Ok(n)
    }
}

impl Write for PhasedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.sock.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}
