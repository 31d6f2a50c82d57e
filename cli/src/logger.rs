//! A small logger of our own (after ripgrep's): stderr, plus syslog through
//! `/dev/log` when it exists, because a notification command runs
//! unattended and its stderr is usually lost. Every line passes through
//! [`redact`] and the registered secrets first: a webhook URL's path is the
//! secret that lets anyone post.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::{Mutex, OnceLock};

/// syslog facility `daemon` (3), shifted as RFC 3164 wants it.
const FACILITY_DAEMON: u8 = 3 << 3;

#[derive(Debug)]
struct Logger {
    syslog: Mutex<Option<UnixDatagram>>,
    secrets: Mutex<Vec<String>>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// The local syslog socket.
pub const DEV_LOG: &str = "/dev/log";

/// Installs the logger at `level`; also to the syslog datagram socket at
/// `syslog` (normally [`DEV_LOG`]) when given and it accepts us. Calling it
/// again replaces the level and the socket.
pub fn init(level: log::LevelFilter, syslog: Option<&str>) {
    let logger = LOGGER.get_or_init(|| Logger {
        syslog: Mutex::new(None),
        secrets: Mutex::new(Vec::new()),
    });
    let socket = syslog.and_then(connect_syslog);
    if let Ok(mut s) = logger.syslog.lock() {
        *s = socket;
    }
    let _ = log::set_logger(logger);
    log::set_max_level(level);
}

fn connect_syslog(path: &str) -> Option<UnixDatagram> {
    let sock = UnixDatagram::unbound().ok()?;
    sock.connect(path).ok()?;
    Some(sock)
}

/// Hides `secret` (an API key, a webhook URL) in every later log line.
pub fn add_secret(secret: &str) {
    if let (Some(l), false) = (LOGGER.get(), secret.trim().is_empty()) {
        if let Ok(mut s) = l.secrets.lock() {
            s.push(secret.trim().to_string());
        }
    }
}

/// Replaces the id in every `/hooks/<id>` with `***`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("/hooks/") {
        let (before, after) = rest.split_at(at + "/hooks/".len());
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || "\"'<>)]}".contains(c))
            .unwrap_or(after.len());
        if end > 0 {
            out.push_str("***");
        }
        rest = after.get(end..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

impl Logger {
    fn scrub(&self, line: &str) -> String {
        let mut line = redact(line);
        if let Ok(secrets) = self.secrets.lock() {
            for s in secrets.iter() {
                line = line.replace(s.as_str(), "***");
            }
        }
        line
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = self.scrub(&record.args().to_string());
        let level = record.level().as_str().to_ascii_lowercase();
        let _ = writeln!(
            std::io::stderr().lock(),
            "mattermost-notify: {level}: {line}"
        );
        if let Ok(guard) = self.syslog.lock() {
            if let Some(sock) = guard.as_ref() {
                let severity: u8 = match record.level() {
                    log::Level::Error => 3,
                    log::Level::Warn => 4,
                    log::Level::Info => 6,
                    log::Level::Debug | log::Level::Trace => 7,
                };
                // RFC 3164 without timestamp and host: the local syslog
                // daemon adds both when it receives over /dev/log.
                let msg = format!(
                    "<{}>mattermost-notify[{}]: {level}: {line}",
                    FACILITY_DAEMON | severity,
                    std::process::id()
                );
                let _ = sock.send(msg.as_bytes());
            }
        }
    }

    fn flush(&self) {}
}

/// Parses `MATTERMOST_LOG_LEVEL` / `--log-level`.
pub fn parse_level(v: &str) -> Option<log::LevelFilter> {
    v.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_ids_are_redacted_wherever_they_appear() {
        assert_eq!(
            redact("POST https://mm.example/hooks/abc123 failed: \"https://x/hooks/def\""),
            "POST https://mm.example/hooks/*** failed: \"https://x/hooks/***\""
        );
        assert_eq!(redact("no secret /hooks/"), "no secret /hooks/");
        assert_eq!(redact("plain"), "plain");
    }

    #[test]
    fn registered_secrets_are_scrubbed() {
        let l = Logger {
            syslog: Mutex::new(None),
            secrets: Mutex::new(vec!["k3y".into()]),
        };
        assert_eq!(l.scrub("apikey=k3y&x=/hooks/h"), "apikey=***&x=/hooks/***");
    }
}
