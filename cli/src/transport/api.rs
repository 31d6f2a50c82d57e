//! API mode: posts, replies and edits through Mattermost's REST API with a
//! bot account's token (DESIGN §9), over the same HTTP client as the
//! webhook ([`super::http`]).
//!
//! API mode is on when `MATTERMOST_URL` and `MATTERMOST_BOT_TOKEN_FILE`
//! are set, with either `MATTERMOST_CHANNEL_ID` or `MATTERMOST_TEAM` and
//! `MATTERMOST_CHANNEL` (names, looked up once per process). The token is
//! read from its file only, sent only as `Authorization: Bearer`, and
//! handed to the logger's redactor the moment it is read, so it is never
//! on a command line and never in a log line.
//!
//! Answers: 201 (create) and 200 (edit, lookups) are success; 401 (the
//! token), 403 (not in the channel, or a missing permission) and 404 (the
//! team or channel name, or a deleted root) are refusals for good, each
//! with a message naming the setting to fix; 429, 408 and 5xx are
//! retried as for the webhook ([`super::retry`]).
//!
//! [`ApiPoster`] sends the spool's [operations](crate::outbox::ops): it
//! resolves the channel and the root post when an operation is sent, and
//! notes a new root's id in the problem's record.

use crate::config::{key, Config};
use crate::error::Error;
use crate::notify::unix_now;
use crate::outbox::ops::{Op, OpKind};
use crate::state::{ProblemKey, StateDir};
use crate::transport::http::{Client, Request, Url};
use crate::transport::retry::Post;
use crate::transport::webhook::{
    answer_error, answer_fields, client, describe_transport_error, printable, rate_note, SendError,
};
use mattermost_notify_core::thread::{is_mattermost_id, write_post_body};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long `flush` waits for a problem's lock to note a root's id.
const ROOT_LOCK_WAIT: Duration = Duration::from_secs(2);

/// Which channel posts go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRef {
    /// `MATTERMOST_CHANNEL_ID`.
    Id(String),
    /// `MATTERMOST_TEAM` and `MATTERMOST_CHANNEL`, looked up when needed.
    Names {
        /// The team name.
        team: String,
        /// The channel name.
        channel: String,
    },
}

/// The API-mode settings, resolved.
#[derive(Clone)]
pub struct ApiSettings {
    /// `MATTERMOST_URL`, without a trailing `/`.
    pub base: String,
    token: String,
    /// Where posts go.
    pub channel: ChannelRef,
}

impl std::fmt::Debug for ApiSettings {
    // By hand: the token must never be printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSettings")
            .field("base", &self.base)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl ApiSettings {
    /// `None` when API mode is off (no `MATTERMOST_BOT_TOKEN_FILE`;
    /// `MATTERMOST_URL` alone serves other features). Each error names the
    /// setting to fix.
    pub fn from_config(cfg: &Config) -> Result<Option<ApiSettings>, Error> {
        let Some(token_file) = cfg.get(key::BOT_TOKEN_FILE) else {
            return Ok(None);
        };
        let base = cfg.url(key::URL)?.ok_or_else(|| {
            cfg.invalid(
                key::URL,
                "required with MATTERMOST_BOT_TOKEN_FILE: the Mattermost server's base URL",
            )
        })?;
        let token = read_token(cfg, token_file)?;
        crate::logger::add_secret(&token);
        let channel =
            match (
                cfg.get(key::CHANNEL_ID),
                cfg.get(key::TEAM),
                cfg.get(key::CHANNEL),
            ) {
                (Some(id), _, _) if is_mattermost_id(id) => ChannelRef::Id(id.to_string()),
                (Some(id), _, _) => {
                    return Err(cfg.invalid(
                        key::CHANNEL_ID,
                        format!("{id:?} is not a Mattermost id (letters and digits)"),
                    ))
                }
                (None, Some(team), Some(channel)) => ChannelRef::Names {
                    team: team.to_string(),
                    channel: channel.trim_start_matches('#').to_string(),
                },
                (None, None, Some(_)) => {
                    return Err(cfg.invalid(
                        key::TEAM,
                        "required in API mode with MATTERMOST_CHANNEL (the team the channel is in)",
                    ))
                }
                (None, _, None) => return Err(cfg.invalid(
                    key::CHANNEL_ID,
                    "API mode needs the channel: MATTERMOST_CHANNEL_ID (flag --channel-id), or \
                     MATTERMOST_TEAM and MATTERMOST_CHANNEL (flags --team, --channel)",
                )),
            };
        Ok(Some(ApiSettings {
            base: base.trim_end_matches('/').to_string(),
            token,
            channel,
        }))
    }
}

/// The token from its file: trimmed, one line, not empty.
fn read_token(cfg: &Config, path: &str) -> Result<String, Error> {
    // Read as the other secret files are (the ack key, the Icinga
    // password): a file the admin names.
    let bytes = std::fs::read(path)
        .map_err(|e| cfg.invalid(key::BOT_TOKEN_FILE, format!("cannot read {path}: {e}")))?;
    let token = String::from_utf8_lossy(&bytes).trim().to_string();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(cfg.invalid(
            key::BOT_TOKEN_FILE,
            format!("{path} must hold the bot's access token on one line"),
        ));
    }
    crate::config::warn_if_readable_by_all(std::path::Path::new(path), key::BOT_TOKEN_FILE);
    Ok(token)
}

/// What a request was for, so a refusal can name the setting to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `GET /api/v4/users/me`.
    Me,
    /// The channel lookup (by names or id).
    Channel,
    /// The bot's membership of the channel.
    Membership,
    /// A new post or reply.
    Create,
    /// An edit of a root post.
    Edit,
}

/// A client for one Mattermost server and bot token.
#[derive(Debug)]
pub struct ApiClient {
    client: Client,
    settings: ApiSettings,
    trust: String,
    route: String,
    /// Where what answers say of the rate limit is shared.
    rate_view: Option<StateDir>,
}

impl ApiClient {
    /// The client for `settings`, with the TLS, proxy and timeout settings.
    pub fn new(cfg: &Config, settings: ApiSettings) -> Result<ApiClient, Error> {
        let base = Url::parse(&settings.base)
            .map_err(|e| cfg.invalid(key::URL, format!("is not a valid URL: {e}")))?;
        let (client, trust, route) = client(cfg, &base)?;
        if !base.is_https() {
            log::warn!(
                "{} is plain http: the bot token travels unencrypted",
                settings.base
            );
        }
        Ok(ApiClient {
            client,
            settings,
            trust,
            route,
            rate_view: None,
        })
    }

    /// Shares what every answer says of the rate limit through `state`
    /// (DESIGN §12), as the webhook's client does.
    pub fn share_rate_limit(&mut self, state: Option<StateDir>) {
        self.rate_view = state;
    }

    /// The server's base URL (it carries no secret).
    pub fn base(&self) -> &str {
        &self.settings.base
    }

    /// Which certificates are trusted, in words.
    pub fn trust(&self) -> &str {
        &self.trust
    }

    /// Direct or through which proxy, in words.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// Where posts go.
    pub fn channel(&self) -> &ChannelRef {
        &self.settings.channel
    }

    /// One request (a GET without `body`, else a POST, or a PUT for an
    /// edit): the body of a 2xx answer, else the classified error, a
    /// refusal naming the setting to fix for `purpose`.
    pub fn call(
        &self,
        path: &str,
        body: Option<&[u8]>,
        purpose: Purpose,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, SendError> {
        let target = format!("{}{path}", self.settings.base);
        let url = Url::parse(&target).map_err(|e| SendError::Permanent {
            status: 0,
            id: String::new(),
            message: format!("{target} is not a valid URL: {e}; check MATTERMOST_URL"),
            body: String::new(),
        })?;
        let auth = format!("Bearer {}", self.settings.token);
        let headers = [
            ("Authorization", auth.as_str()),
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
        ];
        let method = match (body, purpose) {
            (None, _) => "GET",
            (Some(_), Purpose::Edit) => "PUT",
            (Some(_), _) => "POST",
        };
        let request = Request {
            method,
            url: &url,
            // A GET has no body to type.
            headers: headers
                .get(..if body.is_some() { 3 } else { 2 })
                .unwrap_or_default(),
            body: body.unwrap_or_default(),
            timeout,
        };
        let started = Instant::now();
        let resp = self
            .client
            .send(&request)
            .map_err(|e| SendError::Temporary(describe_transport_error(&e)))?;
        if let Some(view) = &self.rate_view {
            view.learn_rate(rate_note(resp.status, &resp.headers, unix_now()));
        }
        // The URL carries no secret: the token is in a header.
        log::info!(
            "{method} {target} answered {} in {} ms",
            resp.status,
            started.elapsed().as_millis()
        );
        if (200..300).contains(&resp.status) {
            return Ok(resp.body);
        }
        Err(answer_error(
            resp.status,
            &resp.headers,
            &resp.body,
            refusal_hint(resp.status, purpose),
        ))
    }

    /// The channel id: `MATTERMOST_CHANNEL_ID`, or looked up by names.
    pub fn lookup_channel(&self, timeout: Option<Duration>) -> Result<String, SendError> {
        let path = match &self.settings.channel {
            ChannelRef::Id(id) => format!("/api/v4/channels/{id}"),
            ChannelRef::Names { team, channel } => format!(
                "/api/v4/teams/name/{}/channels/name/{}",
                path_segment(team),
                path_segment(channel)
            ),
        };
        let body = self.call(&path, None, Purpose::Channel, timeout)?;
        id_of(&body).ok_or_else(|| not_mattermost(&body))
    }

    /// Creates a post (`body` complete with its ids); the new post's id.
    pub fn create(&self, body: &[u8], timeout: Option<Duration>) -> Result<String, SendError> {
        let answer = self.call("/api/v4/posts", Some(body), Purpose::Create, timeout)?;
        id_of(&answer).ok_or_else(|| not_mattermost(&answer))
    }

    /// Edits post `id` with `body` (the fields to replace).
    pub fn patch(&self, id: &str, body: &[u8], timeout: Option<Duration>) -> Result<(), SendError> {
        let path = format!("/api/v4/posts/{id}/patch");
        let answer = self.call(&path, Some(body), Purpose::Edit, timeout)?;
        id_of(&answer)
            .map(|_| ())
            .ok_or_else(|| not_mattermost(&answer))
    }
}

/// What to fix for a refusal, naming the setting.
fn refusal_hint(status: u16, purpose: Purpose) -> &'static str {
    match (status, purpose) {
        (401, _) => {
            "the bot token was refused (wrong, revoked, or the bot disabled): check \
             MATTERMOST_BOT_TOKEN_FILE"
        }
        (403, Purpose::Edit) => {
            "the bot may edit only its own posts (or needs edit_others_posts): check \
             MATTERMOST_BOT_TOKEN_FILE"
        }
        (403, _) | (404, Purpose::Membership) => {
            "the bot is not a member of the channel or may not post there: add it to the \
             channel of MATTERMOST_CHANNEL_ID (or MATTERMOST_TEAM + MATTERMOST_CHANNEL)"
        }
        (404, Purpose::Channel) => {
            "no such team or channel: check MATTERMOST_TEAM and MATTERMOST_CHANNEL (names, \
             not display names) or MATTERMOST_CHANNEL_ID"
        }
        (404, Purpose::Edit) => "the root post was deleted; later events start a new one",
        (404, _) => {
            "not found: check MATTERMOST_URL (the server's base URL, without /api/v4) and the \
             channel settings"
        }
        _ => "check MATTERMOST_URL, MATTERMOST_BOT_TOKEN_FILE and the channel settings",
    }
}

/// A 2xx without the JSON Mattermost sends: something else answered.
fn not_mattermost(body: &[u8]) -> SendError {
    SendError::NotMattermost {
        status: 200,
        answered: format!(
            "no post or channel id in the answer: {:?}",
            printable(body).chars().take(120).collect::<String>()
        ),
    }
}

/// The `id` of a post, channel or user object.
pub fn id_of(body: &[u8]) -> Option<String> {
    let (id, _) = answer_fields(body);
    is_mattermost_id(&id).then_some(id)
}

/// A team or channel name in a path: names are `[a-z0-9_-]`; anything
/// else is percent-encoded so it cannot change the path.
fn path_segment(name: &str) -> String {
    crate::ack_button::pct(name)
}

/// Sends [operations](crate::outbox::ops) (the transport of API mode).
#[derive(Debug)]
pub struct ApiPoster {
    client: ApiClient,
    channel_id: OnceLock<String>,
    state: Option<StateDir>,
    /// The problem whose lock each thread holds (its record may be written
    /// without taking the lock again): one thread in `notify`, one per
    /// click in `serve`.
    own_key: Mutex<Vec<(std::thread::ThreadId, String)>>,
    /// The post the last successful create made, and its channel.
    created: Mutex<Option<(String, String)>>,
    target: String,
}

impl ApiPoster {
    /// A poster over `client`, noting roots in `state`.
    pub fn new(client: ApiClient, state: Option<StateDir>) -> ApiPoster {
        let target = format!("{} (API)", client.base());
        ApiPoster {
            client,
            channel_id: OnceLock::new(),
            state,
            own_key: Mutex::new(Vec::new()),
            created: Mutex::new(None),
            target,
        }
    }

    /// Shares what answers say of the rate limit through `state`.
    pub fn share_rate_limit(&mut self, state: Option<StateDir>) {
        self.client.share_rate_limit(state);
    }

    /// Tells the poster that the calling thread holds the lock of
    /// `key_hex` (`None`: no longer).
    pub fn hold(&self, key_hex: Option<String>) {
        let me = std::thread::current().id();
        if let Ok(mut held) = self.own_key.lock() {
            held.retain(|(t, _)| *t != me);
            if let Some(k) = key_hex {
                held.push((me, k));
            }
        }
    }

    /// Whether the calling thread holds the lock of `key_hex`.
    fn holds(&self, key_hex: &str) -> bool {
        let me = std::thread::current().id();
        self.own_key
            .lock()
            .map(|held| held.iter().any(|(t, k)| *t == me && k == key_hex))
            .unwrap_or(false)
    }

    /// The channel posts go to: `MATTERMOST_CHANNEL_ID` as it is (a wrong
    /// one is refused by the post itself, naming the setting), or the
    /// names looked up once per process.
    fn channel_id(&self, timeout: Duration) -> Result<String, SendError> {
        if let Some(id) = self.channel_id.get() {
            return Ok(id.clone());
        }
        let id = match self.client.channel() {
            ChannelRef::Id(id) => id.clone(),
            ChannelRef::Names { .. } => self.client.lookup_channel(Some(timeout))?,
        };
        Ok(self.channel_id.get_or_init(|| id).clone())
    }

    fn key_of(op: &Op<'_>) -> Option<ProblemKey> {
        ProblemKey::from_hex(op.key)
    }

    fn root_of(&self, op: &Op<'_>) -> Option<(String, String)> {
        let state = self.state.as_ref()?;
        state.root_of(&Self::key_of(op)?, op.problem)
    }

    /// Notes a new root's id, under the problem's lock unless this process
    /// holds it already.
    fn remember_root(&self, op: &Op<'_>, post: &str, channel: &str) {
        let (Some(state), Some(key)) = (self.state.as_ref(), Self::key_of(op)) else {
            return;
        };
        let _lock = if self.holds(op.key) {
            None
        } else {
            state
                .lock_problem(&key, Instant::now() + ROOT_LOCK_WAIT)
                .ok()
                .flatten()
        };
        state.set_root(&key, op.problem, post, channel);
    }

    fn send_op(&self, op: &Op<'_>, timeout: Duration) -> Result<(), SendError> {
        if let Ok(mut c) = self.created.lock() {
            *c = None;
        }
        let known = match op.kind {
            OpKind::Reply | OpKind::Edit => self.root_of(op),
            OpKind::Root | OpKind::Post => None,
        };
        match (op.kind, &known) {
            (OpKind::Edit, Some((root, _))) => {
                return self.client.patch(root, op.json, Some(timeout))
            }
            (OpKind::Edit, None) => {
                log::warn!(
                    "the root post of problem {} is not known; its edit is left out",
                    op.problem
                );
                return Ok(());
            }
            // Degrade, don't drop: without its root the reply is posted on
            // its own.
            (OpKind::Reply, None) => log::warn!(
                "the root post of problem {} is not known (its record is missing, or its \
                 root was refused); the reply is posted on its own",
                op.problem
            ),
            _ => {}
        }
        let (root, channel) = match known {
            Some((root, channel)) => (Some(root), channel),
            None => (None, self.channel_id(timeout)?),
        };
        let mut body = vec![0u8; op.json.len() + 256];
        let n = write_post_body(&channel, root.as_deref(), op.json, &mut body).map_err(|e| {
            SendError::Permanent {
                status: 0,
                id: String::new(),
                message: format!("the operation cannot be sent: {e}"),
                body: String::new(),
            }
        })?;
        let id = self
            .client
            .create(body.get(..n).unwrap_or_default(), Some(timeout))?;
        if op.kind == OpKind::Root {
            self.remember_root(op, &id, &channel);
        }
        if let Ok(mut c) = self.created.lock() {
            *c = Some((id, channel));
        }
        Ok(())
    }
}

impl Post for ApiPoster {
    fn post(&self, body: &[u8], timeout: Duration) -> Result<(), SendError> {
        match Op::parse(body) {
            Some(op) => self.send_op(&op, timeout),
            None => Err(SendError::Permanent {
                status: 0,
                id: String::new(),
                message: "a webhook payload in the spool, but API mode is on: unset \
                          MATTERMOST_BOT_TOKEN_FILE to send it through the webhook, or remove it"
                    .into(),
                body: String::new(),
            }),
        }
    }

    fn target(&self) -> &str {
        &self.target
    }

    fn created(&self) -> Option<(String, String)> {
        self.created.lock().ok().and_then(|c| c.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_from_real_post_objects() {
        let post = br##"{"id":"8xq4w3k1ajgbmy5cuoxhw1by9r","create_at":1764284280123,"update_at":1764284280123,"edit_at":0,"delete_at":0,"user_id":"bot","channel_id":"ch","root_id":"","message":"a \"quoted\"\nline","type":"","props":{"attachments":[{"color":"#d9534f","fields":[{"title":"Host","value":"w","short":true}],"actions":[{"id":"ack","integration":{"context":{"v":"2"}}}]}]},"metadata":{"priority":{"priority":"urgent","requested_ack":true}}}"##;
        assert_eq!(id_of(post).as_deref(), Some("8xq4w3k1ajgbmy5cuoxhw1by9r"));
        // A thread reply as long as core writes one, every byte escaped.
        let long = format!(
            r#"{{"id":"8xq4w3k1ajgbmy5cuoxhw1by9r","message":"{}"}}"#,
            "\\\"".repeat(1000)
        );
        assert_eq!(
            id_of(long.as_bytes()).as_deref(),
            Some("8xq4w3k1ajgbmy5cuoxhw1by9r")
        );
        // A digest's answer: the post object with its table in props.
        let digest = format!(
            r#"{{"id":"8xq4w3k1ajgbmy5cuoxhw1by9r","message":"🚨 99 problems","props":{{"attachments":[{{"text":"{}"}}]}}}}"#,
            r#"| \\| a \\`b\\` |\n"#.repeat(3000)
        );
        assert!(digest.len() > 40_000);
        assert_eq!(
            id_of(digest.as_bytes()).as_deref(),
            Some("8xq4w3k1ajgbmy5cuoxhw1by9r")
        );
        assert_eq!(id_of(b"ok"), None);
        assert_eq!(id_of(br#"{"id":"a/b"}"#), None);
        assert_eq!(id_of(br#"{"message":"no id"}"#), None);
    }

    #[test]
    fn a_held_lock_is_the_holding_threads_alone() {
        let cfg = Config::default();
        let settings = ApiSettings {
            base: "http://127.0.0.1:9".into(),
            token: "t".into(),
            channel: ChannelRef::Id("c".into()),
        };
        let poster = ApiPoster::new(ApiClient::new(&cfg, settings).unwrap(), None);
        poster.hold(Some("a".repeat(32)));
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(!poster.holds(&"a".repeat(32)), "another thread's lock");
                poster.hold(Some("b".repeat(32)));
                // A second click's thread letting go of its own lock...
                poster.hold(None);
            });
        });
        // ... leaves the first thread's in place.
        assert!(poster.holds(&"a".repeat(32)));
        poster.hold(None);
        assert!(!poster.holds(&"a".repeat(32)));
    }

    #[test]
    fn names_cannot_change_the_path() {
        assert_eq!(path_segment("ops-alerts_1"), "ops-alerts_1");
        assert_eq!(path_segment("../x?y"), "..%2Fx%3Fy");
    }

    #[test]
    fn refusals_name_the_setting() {
        assert!(refusal_hint(401, Purpose::Create).contains("MATTERMOST_BOT_TOKEN_FILE"));
        assert!(refusal_hint(403, Purpose::Create).contains("member of the channel"));
        assert!(refusal_hint(404, Purpose::Channel).contains("MATTERMOST_TEAM"));
    }

    fn cfg(text: &str) -> Config {
        let mut c = Config::default();
        c.read_file(std::path::Path::new("t.conf"), text);
        c
    }

    #[test]
    fn api_mode_needs_url_token_and_channel() {
        let dir = crate::state::scratch("token");
        std::fs::create_dir_all(&dir).unwrap();
        let token = dir.join("token");
        std::fs::write(&token, "tok3n\n").unwrap();
        let t = token.display();
        assert!(
            ApiSettings::from_config(&cfg("MATTERMOST_URL=https://mm\n"))
                .unwrap()
                .is_none()
        );
        let e = ApiSettings::from_config(&cfg(&format!("MATTERMOST_BOT_TOKEN_FILE={t}\n")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("MATTERMOST_URL"), "{e}");
        let e = ApiSettings::from_config(&cfg(&format!(
            "MATTERMOST_URL=https://mm\nMATTERMOST_BOT_TOKEN_FILE={t}\n"
        )))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("MATTERMOST_CHANNEL_ID") && e.contains("--team"),
            "{e}"
        );
        let s = ApiSettings::from_config(&cfg(&format!(
            "MATTERMOST_URL=https://mm/\nMATTERMOST_BOT_TOKEN_FILE={t}\n\
             MATTERMOST_TEAM=acme\nMATTERMOST_CHANNEL=#ops\n"
        )))
        .unwrap()
        .unwrap();
        assert_eq!(s.base, "https://mm");
        assert_eq!(
            s.channel,
            ChannelRef::Names {
                team: "acme".into(),
                channel: "ops".into()
            }
        );
        assert!(!format!("{s:?}").contains("tok3n"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
