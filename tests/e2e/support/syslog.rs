//! A stand-in for `/dev/log`: a unix datagram socket the binary is pointed
//! at with `MATTERMOST_SYSLOG=<path>`, read on a thread so that a process
//! logging many lines never blocks on a full queue.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The socket and what arrived on it.
pub struct SyslogSink {
    path: PathBuf,
    lines: Arc<Mutex<Vec<String>>>,
}

impl SyslogSink {
    /// Binds `dir/log.sock` and starts reading.
    pub fn bind(dir: &Path) -> SyslogSink {
        let path = dir.join("log.sock");
        let sock = UnixDatagram::bind(&path).expect("bind syslog socket");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            // Ends when the test drops the sink (the Arc is the only other
            // owner) or after a minute, whichever comes first.
            let deadline = Instant::now() + Duration::from_secs(60);
            while Arc::strong_count(&sink) > 1 && Instant::now() < deadline {
                if let Ok(n) = sock.recv(&mut buf) {
                    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
                    sink.lock().expect("lines").push(line);
                }
            }
        });
        SyslogSink { path, lines }
    }

    /// The value for `MATTERMOST_SYSLOG`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lines received so far, after a moment for the last datagrams
    /// of a process that has exited.
    pub fn lines(&self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(250));
        self.lines.lock().expect("lines").clone()
    }

    /// Lines at syslog priority error (facility daemon: `<27>`).
    pub fn errors(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.starts_with("<27>mattermost-notify["))
            .collect()
    }
}
