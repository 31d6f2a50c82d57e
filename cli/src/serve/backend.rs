//! Where an action goes: the monitoring core's external command file (a
//! named pipe), openITCOCKPIT's HTTP API, or Icinga 2's REST API
//! ([`icinga`]). Every backend carries every action.
//!
//! A backend failure is an expected condition (core restarting, pipe full,
//! API down): the clicker gets an explanation and the post stays as it is.

use crate::config::{key, Config};
use crate::error::Error;
use crate::transport::http::{Client, Request, Url};
use mattermost_notify_core::command::{write_core_lines, write_oitc_request, CoreCommand};
use mattermost_notify_core::limits::{COMMAND_LINE_MAX, OITC_BODY_BUF_LEN};

pub mod icinga;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a full command pipe is retried before giving up. Mattermost
/// waits 30 s for the answer; a core that has not read its pipe in this
/// long is stuck, and the clicker should hear so.
pub const COMMAND_PIPE_TIMEOUT: Duration = Duration::from_secs(3);

/// Timeout of one openITCOCKPIT API call, connect to last byte.
pub const OITC_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an action did not happen.
#[derive(Debug)]
pub struct BackendError {
    /// For the clicker (no paths, no keys).
    pub user: String,
    /// For the log (may name the path; never a key).
    pub log: String,
}

/// Carries an action to the monitoring core.
pub trait Backend: Send + Sync {
    /// Carries `cmd` out; it is already validated.
    fn carry(&self, cmd: &CoreCommand<'_>) -> Result<(), BackendError>;
    /// A short name for logs, e.g. `command file /var/lib/naemon/naemon.cmd`.
    fn describe(&self) -> String;
}

/// `--command-file`: one `write()` of the command's line(s) to the core's
/// command pipe (at most `PIPE_BUF` bytes, so it is atomic).
#[derive(Debug)]
pub struct CommandFile {
    path: PathBuf,
}

impl CommandFile {
    /// A backend writing to `path` (opened per acknowledgement, so a core
    /// restart that recreates the pipe is picked up).
    pub fn new(path: PathBuf) -> CommandFile {
        CommandFile { path }
    }
}

impl Backend for CommandFile {
    fn carry(&self, cmd: &CoreCommand<'_>) -> Result<(), BackendError> {
        let mut buf = [0u8; COMMAND_LINE_MAX];
        let n = write_core_lines(cmd, &mut buf).map_err(|e| BackendError {
            user: "the request was refused.".into(),
            log: format!("command refused: {e}"),
        })?;
        let line = buf.get(..n).unwrap_or_default();
        let path = self.path.display();
        // O_NONBLOCK: opening a FIFO nobody reads fails with ENXIO at once
        // instead of blocking; a full pipe gives EAGAIN instead of hanging.
        // No O_CREAT: a missing pipe must not become a regular file.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&self.path)
            .map_err(|e| match (e.raw_os_error(), e.kind()) {
                (Some(libc::ENXIO), _) => BackendError {
                    user: "the monitoring core is not reading its command pipe (is it running?)."
                        .into(),
                    log: format!("no reader on command pipe {path}"),
                },
                (_, ErrorKind::NotFound) => BackendError {
                    user: "the monitoring core's command pipe does not exist (is it running \
                           with external commands enabled?)."
                        .into(),
                    log: format!("command file {path} does not exist"),
                },
                _ => BackendError {
                    user: "the monitoring core's command pipe cannot be opened.".into(),
                    log: format!("opening command file {path}: {e}"),
                },
            })?;
        let start = Instant::now();
        loop {
            match file.write(line) {
                Ok(w) if w == line.len() => return Ok(()),
                // Only a regular file can take part of a write; a FIFO takes
                // all of at most PIPE_BUF bytes or nothing.
                Ok(w) => {
                    return Err(BackendError {
                        user: "the command was only partly written.".into(),
                        log: format!("short write to {path}: {w} of {} bytes", line.len()),
                    })
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if start.elapsed() >= COMMAND_PIPE_TIMEOUT {
                        return Err(BackendError {
                            user: format!(
                                "the monitoring core's command pipe stayed full for {} s; \
                                 the core is not keeping up. Try again later.",
                                COMMAND_PIPE_TIMEOUT.as_secs()
                            ),
                            log: format!(
                                "command pipe {path} full for {} s",
                                COMMAND_PIPE_TIMEOUT.as_secs()
                            ),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(BackendError {
                        user: "writing to the monitoring core's command pipe failed.".into(),
                        log: format!("writing to {path}: {e}"),
                    })
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!("command file {}", self.path.display())
    }
}

/// `--oitc-url`: `POST <base>/nagios_module/cmd/submit.json` with
/// `Authorization: X-OITC-API <key>`.
pub struct Oitc {
    endpoint: String,
    url: Url,
    authorization: String,
    client: Client,
}

impl std::fmt::Debug for Oitc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oitc")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Oitc {
    /// A backend for the openITCOCKPIT at `base` (http or https). TLS
    /// trust follows the delivery settings (`MATTERMOST_CA_FILE`,
    /// `MATTERMOST_INSECURE`); no proxy: the API is on the local network.
    pub fn new(cfg: &Config, base: &str, api_key: &str) -> Result<Oitc, Error> {
        if api_key.chars().any(|c| c.is_control()) {
            return Err(cfg.invalid(key::OITC_API_KEY, "contains control characters"));
        }
        let (tls, _) = crate::transport::webhook::tls_config(cfg)?;
        let endpoint = format!(
            "{}/nagios_module/cmd/submit.json",
            base.trim_end_matches('/')
        );
        let url = Url::parse(&endpoint)
            .map_err(|e| cfg.invalid(key::OITC_URL, format!("is not a valid URL: {e}")))?;
        Ok(Oitc {
            endpoint,
            url,
            authorization: format!("X-OITC-API {api_key}"),
            client: Client::new(tls, OITC_TIMEOUT, OITC_TIMEOUT),
        })
    }
}

impl Backend for Oitc {
    fn carry(&self, cmd: &CoreCommand<'_>) -> Result<(), BackendError> {
        // A host downtime with its services is two API calls.
        for part in 0..2 {
            let mut buf = [0u8; OITC_BODY_BUF_LEN];
            let n = match write_oitc_request(cmd, part, &mut buf) {
                Ok(Some(n)) => n,
                Ok(None) => return Ok(()),
                Err(e) => {
                    return Err(BackendError {
                        user: "the request was refused.".into(),
                        log: format!("command refused: {e}"),
                    })
                }
            };
            self.submit(buf.get(..n).unwrap_or_default())?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("openITCOCKPIT {}", self.endpoint)
    }
}

impl Oitc {
    fn submit(&self, body: &[u8]) -> Result<(), BackendError> {
        let headers = [
            ("Authorization", self.authorization.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ];
        let resp = self
            .client
            .send(&Request::post(&self.url, &headers, body))
            .map_err(|e| BackendError {
                user: "openITCOCKPIT could not be reached.".into(),
                log: format!("openITCOCKPIT {}: {e}", self.endpoint),
            })?;
        let status = resp.status;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(BackendError {
                user: format!("openITCOCKPIT refused the command (HTTP {status})."),
                log: format!("openITCOCKPIT {} answered HTTP {status}", self.endpoint),
            })
        }
    }
}
