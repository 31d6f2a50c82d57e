//! A real HTTP proxy for the proxy tests: Debian's tinyproxy, started in the
//! foreground with its own configuration and log in a temp directory.
//!
//! tinyproxy cannot listen on port 0, so a free port is found by binding
//! 127.0.0.1:0 and releasing it; if another process takes it in between,
//! tinyproxy exits and we try again with a new one.

use super::{require_tool, TempDir};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs it (1.11 in bookworm: `/usr/bin`).
pub const TINYPROXY: &[&str] = &["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"];

/// A running tinyproxy; killed when dropped.
#[derive(Debug)]
pub struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl Tinyproxy {
    /// Starts tinyproxy on 127.0.0.1, allowing CONNECT to `connect_ports`.
    /// `None` (after a printed reason) when tinyproxy is not installed and
    /// `CI` is unset; see [`require_tool`].
    pub fn start(connect_ports: &[u16]) -> Option<Tinyproxy> {
        let exe = require_tool(TINYPROXY)?;
        let dir = TempDir::new();
        let log = dir.join("tinyproxy.log");
        for _attempt in 0..10 {
            let port = free_port();
            let mut conf = format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\n\
                 MaxClients 20\nLogLevel Info\nLogFile \"{}\"\n",
                log.display()
            );
            for p in connect_ports {
                conf.push_str(&format!("ConnectPort {p}\n"));
            }
            let conf_path = dir.write("tinyproxy.conf", conf);
            let mut child = Command::new(&exe)
                .arg("-d")
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn tinyproxy");
            if wait_listening(&mut child, port) {
                return Some(Tinyproxy {
                    child,
                    port,
                    log,
                    _dir: dir,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("tinyproxy did not start on a free port after 10 attempts");
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// tinyproxy's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `CONNECT host:port` requests tinyproxy has logged so far.
    pub fn connects(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("): CONNECT ").map(|(_, rest)| rest))
            .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
            .collect()
    }

    /// Waits (up to `timeout`) until tinyproxy has logged a CONNECT to
    /// `target` (`host:port`); tinyproxy writes its log asynchronously.
    pub fn saw_connect(&self, target: &str, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            if self.connects().iter().any(|c| c == target) {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

fn wait_listening(child: &mut Child, port: u16) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return false; // exited: most likely the port was taken
        }
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
