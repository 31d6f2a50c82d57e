//! A TCP socket whose reads and writes end at one deadline, not after a
//! timeout per read: the HTTP client ([`crate::transport::http`]) bounds
//! a whole request with it, and `serve` each phase of a connection
//! ([`crate::serve::deadline`]).
//!
//! A per-read timeout lets a peer that sends one byte just before each
//! timeout hold a connection forever, and a TLS handshake (which rustls
//! runs inside reads and writes) is bounded by nothing else. So before
//! every read and write this stream sets the socket's timeout to what is
//! left until the deadline, and fails with `TimedOut` once it has passed.

use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A TCP stream whose reads and writes fail with `TimedOut` from its
/// deadline on; see the module documentation.
#[derive(Debug)]
pub struct DeadlineStream {
    sock: TcpStream,
    deadline: Instant,
}

impl DeadlineStream {
    /// `sock`, its reads and writes ending at `deadline`.
    pub fn new(sock: TcpStream, deadline: Instant) -> DeadlineStream {
        DeadlineStream { sock, deadline }
    }

    /// Moves the deadline (a new phase of the connection).
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    /// The socket, for the closing steps.
    pub fn into_inner(self) -> TcpStream {
        self.sock
    }

    /// What is left until the deadline; `TimedOut` once nothing is.
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(ErrorKind::TimedOut, "deadline passed"))
        } else {
            Ok(left)
        }
    }
}

/// `now + d`, or a deadline already passed if that cannot be represented.
pub fn after(d: Duration) -> Instant {
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
        // std rounds a sub-microsecond timeout up, never to "no timeout".
        self.sock.set_read_timeout(Some(self.left()?))?;
        self.sock.read(buf).map_err(timed_out)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.set_write_timeout(Some(self.left()?))?;
        self.sock.write(buf).map_err(timed_out)
    }

    /// rustls writes its queued records as one vector: one system call,
    /// one segment, where the default would write them one by one.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.sock.set_write_timeout(Some(self.left()?))?;
        self.sock.write_vectored(bufs).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        (client, server)
    }

    #[test]
    fn a_trickling_peer_cannot_outlast_the_deadline() {
        let (client, mut server) = pair();
        let feeder = std::thread::spawn(move || {
            // One byte every 50 ms: each read alone would be quick.
            for _ in 0..40 {
                if server.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let started = Instant::now();
        let mut s = DeadlineStream::new(client, after(Duration::from_millis(300)));
        let mut sink = [0u8; 16];
        let err = loop {
            match s.read(&mut sink) {
                Ok(0) => panic!("the peer closed first"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_millis(1500));
        drop(s);
        feeder.join().expect("feeder");
    }

    #[test]
    fn a_passed_deadline_fails_at_once_and_can_be_moved() {
        let (client, mut server) = pair();
        let mut s = DeadlineStream::new(client, Instant::now());
        assert_eq!(
            s.write(b"x").map_err(|e| e.kind()),
            Err(ErrorKind::TimedOut)
        );
        s.set_deadline(after(Duration::from_secs(5)));
        s.write_all(b"hello").expect("write");
        let mut got = [0u8; 5];
        server.read_exact(&mut got).expect("read");
        assert_eq!(&got, b"hello");
    }
}
