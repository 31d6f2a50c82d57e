//! What one request to the receiver means, and the answer.
//!
//! Order of checks, each stopping at the first failure:
//! path (404) → method (405) → callback JSON (400) → context fields and
//! version (400) → signature, constant time (403) → expiry (200, ephemeral
//! only) → allowlists (200, ephemeral only) → command fields (400) →
//! backend (200; ephemeral only on failure). Forged or malformed requests
//! get a 4xx, which Mattermost shows as a generic error; expected refusals
//! get 200 with an explanation for the clicker and leave the post as it is.
//! Nothing reaches the backend unless every check passed.

use super::backend::Backend;
use mattermost_notify_core::ack::{decode_sig_hex, is_expired, AckKind};
use mattermost_notify_core::ack_reply::{write_acked_reply, write_ephemeral_reply, AckedPost};
use mattermost_notify_core::callback::parse_callback;
use mattermost_notify_core::command::{AckCommand, AckTarget};
use mattermost_notify_core::limits::{ACK_CANONICAL_BUF_LEN, ACK_REPLY_BUF_LEN};
use ring::hmac;

/// Everything the handler needs, resolved from flags and settings.
pub struct Receiver {
    /// The path of `MATTERMOST_ACK_URL`; the only one answered.
    pub ack_path: String,
    /// HMAC-SHA256 key from `MATTERMOST_ACK_SECRET_FILE`.
    pub key: hmac::Key,
    /// `MATTERMOST_ALLOWED_USERS`; `None` allows everyone.
    pub allowed_users: Option<Vec<String>>,
    /// `MATTERMOST_ALLOWED_TEAMS` (team ids).
    pub allowed_teams: Option<Vec<String>>,
    /// `MATTERMOST_ALLOWED_CHANNELS` (channel ids).
    pub allowed_channels: Option<Vec<String>>,
    /// `MATTERMOST_ACK_NOTIFY`: the acknowledgement's notify flag.
    pub notify: bool,
    /// Where acknowledgements go.
    pub backend: Box<dyn Backend>,
}

impl std::fmt::Debug for Receiver {
    // By hand: the key must never be printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("ack_path", &self.ack_path)
            .field("allowed_users", &self.allowed_users)
            .field("allowed_teams", &self.allowed_teams)
            .field("allowed_channels", &self.allowed_channels)
            .field("notify", &self.notify)
            .field("backend", &self.backend.describe())
            .finish_non_exhaustive()
    }
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `application/json` or `text/plain; charset=utf-8`.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// Extra header (name, value), e.g. `Allow` for 405.
    pub extra_header: Option<(&'static str, &'static str)>,
}

impl Response {
    /// A plain-text answer.
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{body}\n").into_bytes(),
            extra_header: None,
        }
    }

    fn json(body: &[u8]) -> Response {
        Response {
            status: 200,
            content_type: "application/json",
            body: body.to_vec(),
            extra_header: None,
        }
    }
}

/// What happened, for the one log line per request.
#[derive(Debug)]
pub struct Outcome {
    /// `user_name` when the callback parsed.
    pub who: String,
    /// `service on host` / `host` when the context validated.
    pub what: String,
    /// The decision, e.g. `acknowledged` or `refused: bad signature`.
    pub result: String,
}

impl Receiver {
    /// Answers one request. `now` is unix seconds.
    pub fn handle(&self, method: &str, target: &str, body: &[u8], now: u64) -> (Response, Outcome) {
        let mut outcome = Outcome {
            who: "-".into(),
            what: "-".into(),
            result: String::new(),
        };
        let path = target.split('?').next().unwrap_or("");
        if path != self.ack_path {
            outcome.result = "not found".into();
            return (Response::text(404, "not found"), outcome);
        }
        if method != "POST" {
            outcome.result = format!("method {method} not allowed");
            let mut r = Response::text(405, "only POST is answered here");
            r.extra_header = Some(("Allow", "POST"));
            return (r, outcome);
        }
        let refuse = |outcome: &mut Outcome, status: u16, why: String| {
            outcome.result = format!("refused: {why}");
            Response::text(status, &why)
        };
        let cb = match parse_callback(body) {
            Ok(cb) => cb,
            Err(e) => return (refuse(&mut outcome, 400, e.to_string()), outcome),
        };
        outcome.who = cb.user_name.to_string();
        let ctx = match cb.context() {
            Ok(c) => c,
            Err(e) => return (refuse(&mut outcome, 400, e.to_string()), outcome),
        };
        let fields = ctx.ack_context();
        let ack = match fields.validate() {
            Ok(a) => a,
            Err(e) => return (refuse(&mut outcome, 400, e.to_string()), outcome),
        };
        outcome.what = match ack.kind {
            AckKind::Host => ack.host.to_string(),
            AckKind::Service => format!("{} on {}", ack.service, ack.host),
        };
        let tag = match decode_sig_hex(&ctx.sig) {
            Ok(t) => t,
            Err(e) => return (refuse(&mut outcome, 403, e.to_string()), outcome),
        };
        let mut canonical = [0u8; ACK_CANONICAL_BUF_LEN];
        let signed = match fields.canonical_bytes(&mut canonical) {
            Ok(n) => canonical.get(..n).unwrap_or_default(),
            Err(e) => return (refuse(&mut outcome, 400, e.to_string()), outcome),
        };
        // ring compares in constant time.
        if hmac::verify(&self.key, signed, &tag).is_err() {
            let why = "ack context signature does not verify".to_string();
            return (refuse(&mut outcome, 403, why), outcome);
        }
        if is_expired(ack.exp, now) {
            outcome.result = "refused: button expired".into();
            return (
                ephemeral(
                    "This Acknowledge button has expired. Acknowledge the problem in the \
                     monitoring interface instead.",
                ),
                outcome,
            );
        }
        if let Some(why) = self.not_allowed(&cb.user_name, &cb.team_id, &cb.channel_id) {
            outcome.result = format!("refused: {why}");
            return (
                ephemeral(&format!(
                    "You cannot acknowledge problems from Mattermost here: {why}."
                )),
                outcome,
            );
        }
        let comment = format!("Acknowledged via Mattermost by @{}", cb.user_name);
        let cmd = AckCommand {
            target: match ack.kind {
                AckKind::Host => AckTarget::Host { host: ack.host },
                AckKind::Service => AckTarget::Service {
                    host: ack.host,
                    service: ack.service,
                },
            },
            notify: self.notify,
            author: &cb.user_name,
            comment: &comment,
            time: now,
        };
        if let Err(e) = cmd.validate() {
            return (refuse(&mut outcome, 400, e.to_string()), outcome);
        }
        if let Err(e) = self.backend.acknowledge(&cmd) {
            outcome.result = format!("failed: {}", e.log);
            return (
                ephemeral(&format!("Could not acknowledge: {}", e.user)),
                outcome,
            );
        }
        outcome.result = format!("acknowledged via {}", self.backend.describe());
        let mut buf = [0u8; ACK_REPLY_BUF_LEN];
        let reply = AckedPost {
            ack,
            user_name: &cb.user_name,
            acked_at: now,
        };
        match write_acked_reply(&reply, &mut buf) {
            Ok(n) => (Response::json(buf.get(..n).unwrap_or_default()), outcome),
            // Cannot happen with the documented buffer; the ack is done, so
            // say so rather than fail the click.
            Err(_) => (ephemeral("Acknowledged."), outcome),
        }
    }

    fn not_allowed(&self, user: &str, team: &str, channel: &str) -> Option<&'static str> {
        let denies = |list: &Option<Vec<String>>, v: &str| {
            list.as_ref().is_some_and(|l| !l.iter().any(|x| x == v))
        };
        if denies(&self.allowed_users, user) {
            Some("your user name is not on the list of allowed users")
        } else if denies(&self.allowed_teams, team) {
            Some("this team is not on the list of allowed teams")
        } else if denies(&self.allowed_channels, channel) {
            Some("this channel is not on the list of allowed channels")
        } else {
            None
        }
    }
}

fn ephemeral(text: &str) -> Response {
    let mut buf = [0u8; ACK_REPLY_BUF_LEN];
    match write_ephemeral_reply(text, &mut buf) {
        Ok(n) => Response::json(buf.get(..n).unwrap_or_default()),
        Err(_) => Response::text(200, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::backend::BackendError;
    use mattermost_notify_core::ack::{encode_sig_hex, AckContext};
    use std::sync::Mutex;

    /// Records the lines it was asked to write; fails when told to.
    #[derive(Default)]
    struct Recorder {
        lines: Mutex<Vec<String>>,
        fail: bool,
    }

    impl Backend for std::sync::Arc<Recorder> {
        fn acknowledge(&self, cmd: &AckCommand<'_>) -> Result<(), BackendError> {
            if self.fail {
                return Err(BackendError {
                    user: "core down.".into(),
                    log: "core down".into(),
                });
            }
            let mut buf = [0u8; 4096];
            let n = mattermost_notify_core::command::write_command_line(cmd, &mut buf).unwrap();
            self.lines
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            Ok(())
        }
        fn describe(&self) -> String {
            "recorder".into()
        }
    }

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn receiver(fail: bool) -> (Receiver, std::sync::Arc<Recorder>) {
        let rec = std::sync::Arc::new(Recorder {
            lines: Mutex::new(Vec::new()),
            fail,
        });
        let r = Receiver {
            ack_path: "/ack".into(),
            key: hmac::Key::new(hmac::HMAC_SHA256, KEY),
            allowed_users: None,
            allowed_teams: None,
            allowed_channels: None,
            notify: false,
            backend: Box::new(rec.clone()),
        };
        (r, rec)
    }

    fn body(host: &str, exp: &str, tamper: bool) -> Vec<u8> {
        let ctx = AckContext {
            version: "1",
            action: "ack",
            kind: "host",
            host,
            service: "",
            label: "",
            text: "",
            exp,
        };
        let mut buf = [0u8; ACK_CANONICAL_BUF_LEN];
        let n = ctx.canonical_bytes(&mut buf).unwrap();
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, KEY), &buf[..n]);
        let mut hex = [0u8; 64];
        let sig = encode_sig_hex(tag.as_ref().try_into().unwrap(), &mut hex).to_string();
        let host = if tamper { "other" } else { host };
        format!(
            r#"{{"user_name":"alice","team_id":"t","channel_id":"c","context":{{"v":"1",
            "action":"ack","kind":"host","host":"{host}","service":"","label":"","text":"",
            "exp":"{exp}","sig":"{sig}"}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn valid_click_reaches_the_backend_once() {
        let (r, rec) = receiver(false);
        let (resp, out) = r.handle("POST", "/ack?x=1", &body("db1", "2000", false), 1000);
        assert_eq!(resp.status, 200);
        assert!(String::from_utf8_lossy(&resp.body).contains("\"update\""));
        assert_eq!(out.who, "alice");
        assert_eq!(
            rec.lines.lock().unwrap().as_slice(),
            ["[1000] ACKNOWLEDGE_HOST_PROBLEM;db1;2;0;1;alice;Acknowledged via Mattermost by @alice\n"]
        );
    }

    #[test]
    fn refusals_never_reach_the_backend() {
        let (mut r, rec) = receiver(false);
        let cases: [(&str, &str, Vec<u8>, u64, u16); 5] = [
            ("POST", "/other", body("db1", "2000", false), 1000, 404),
            ("GET", "/ack", Vec::new(), 1000, 405),
            ("POST", "/ack", body("db1", "2000", true), 1000, 403),
            ("POST", "/ack", body("db1", "2000", false), 2000, 200),
            ("POST", "/ack", body("db;1", "2000", false), 1000, 400),
        ];
        for (method, path, b, now, status) in cases {
            let (resp, _) = r.handle(method, path, &b, now);
            assert_eq!(resp.status, status, "{method} {path}");
            assert!(!String::from_utf8_lossy(&resp.body).contains("\"update\""));
        }
        r.allowed_users = Some(vec!["bob".into()]);
        let (resp, out) = r.handle("POST", "/ack", &body("db1", "2000", false), 1000);
        assert_eq!(resp.status, 200);
        assert!(out.result.contains("allowed users"));
        assert!(rec.lines.lock().unwrap().is_empty());
    }

    #[test]
    fn backend_failure_is_ephemeral_only() {
        let (r, _) = receiver(true);
        let (resp, out) = r.handle("POST", "/ack", &body("db1", "2000", false), 1000);
        assert_eq!(resp.status, 200);
        let v = String::from_utf8_lossy(&resp.body).into_owned();
        assert!(v.contains("Could not acknowledge: core down."), "{v}");
        assert!(!v.contains("update"));
        assert!(out.result.starts_with("failed"));
    }
}
