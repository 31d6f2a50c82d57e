//! The action buttons on problem posts (`MATTERMOST_TWO_WAY=1`).
//!
//! `MATTERMOST_ACK_MODE=receiver` (default): the buttons of
//! `MATTERMOST_ACTIONS` (default `ack,downtime,recheck`; those that open a
//! dialog only with `MATTERMOST_URL`), each posting to
//! `MATTERMOST_ACK_URL` (our `serve`) with a context signed by HMAC-SHA256
//! over the core's canonical bytes, keyed by the secret in
//! `MATTERMOST_ACK_SECRET_FILE`, valid for `MATTERMOST_ACK_TTL`.
//! `MATTERMOST_ACK_MODE=openitcockpit`: one Acknowledge button whose URL is exactly the
//! original module's, so an openITCOCKPIT master's handler takes the click
//! (that URL carries the API key, as the original's does; prefer `receiver`).
//!
//! The secret itself is never in a URL, a post or on a command line: only
//! the file name is configured, and only the tag leaves this process.

use crate::config::{key, Config};
use crate::error::Error;
use mattermost_notify_core::ack::{
    encode_sig_hex, is_problem_id, AckContext, AckKind, ACK_ACTION_ALL, ACK_ACTION_ONE,
    ACK_KIND_DIGEST, ACK_VERSION,
};
use mattermost_notify_core::actions::{Action, ActionList, Phase, DEFAULT_ACTIONS};
use mattermost_notify_core::command::{AckCommand, AckTarget};
use mattermost_notify_core::limits::{
    ACK_CANONICAL_BUF_LEN, ACK_LABEL_MAX, ACK_SECRET_MIN, ACK_SIG_HEX_LEN, ACK_TEXT_MAX,
    MENTION_MAX_LEN,
};
use mattermost_notify_core::render::{ActionButton, RenderOptions};
use mattermost_notify_core::{Kind, Notification, NotificationType};
use ring::hmac;
use std::path::Path;
use std::time::Duration;

/// A button stays valid this long unless `MATTERMOST_ACK_TTL` says otherwise.
pub const DEFAULT_ACK_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where buttons point.
pub enum AckMode {
    /// Our `serve`, with a signed context.
    Receiver {
        /// `MATTERMOST_ACK_URL`.
        url: String,
        /// Key from `MATTERMOST_ACK_SECRET_FILE`.
        key: hmac::Key,
        /// `MATTERMOST_ACK_TTL`.
        ttl: Duration,
        /// `MATTERMOST_ACTIONS`.
        actions: ActionList,
        /// `MATTERMOST_URL` is set: actions that open a dialog are offered.
        dialogs: bool,
    },
    /// An openITCOCKPIT master's MattermostModule handler.
    OpenItcockpit {
        /// `MATTERMOST_OITC_URL`, without a trailing `/`.
        base: String,
        /// `MATTERMOST_OITC_API_KEY`.
        api_key: String,
    },
}

impl std::fmt::Debug for AckMode {
    // By hand: neither the key nor the API key may be printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AckMode::Receiver {
                url,
                ttl,
                actions,
                dialogs,
                ..
            } => f
                .debug_struct("Receiver")
                .field("url", url)
                .field("ttl", ttl)
                .field("actions", actions)
                .field("dialogs", dialogs)
                .finish_non_exhaustive(),
            AckMode::OpenItcockpit { base, .. } => f
                .debug_struct("OpenItcockpit")
                .field("base", base)
                .finish_non_exhaustive(),
        }
    }
}

/// A button ready for [`mattermost_notify_core::render::ActionButton`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// What it does.
    pub action: Action,
    /// `integration.url`.
    pub url: String,
    /// `integration.context`, in order (empty in openITCOCKPIT mode).
    pub context: Vec<(&'static str, String)>,
}

impl Button {
    /// The context as borrowed pairs, for [`Button::render`].
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.context.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    /// The renderer's view of this button; `pairs` is [`Button::pairs`].
    pub fn render<'a>(&'a self, pairs: &'a [(&'a str, &'a str)]) -> ActionButton<'a> {
        ActionButton {
            action: self.action,
            url: &self.url,
            context: pairs,
        }
    }
}

/// Each button's context pairs, for [`render_all`].
pub fn pairs_of(buttons: &[Button]) -> Vec<Vec<(&str, &str)>> {
    buttons.iter().map(Button::pairs).collect()
}

/// The renderer's view of `buttons`; `pairs` is [`pairs_of`] them. (One
/// copy for `notify`, a click's update and a root edit.)
pub fn render_all<'a>(
    buttons: &'a [Button],
    pairs: &'a [Vec<(&'a str, &'a str)>],
) -> Vec<ActionButton<'a>> {
    buttons
        .iter()
        .zip(pairs)
        .map(|(b, p)| b.render(p))
        .collect()
}

/// The buttons for the alert `notify` is sending, none when it is not a
/// problem or in an OK state; `mode` is from [`settings`], `phase` where
/// the problem stands (API mode edits a root that may be acknowledged).
/// `opts` are the post's render options: the button's context carries the
/// post's top-level message (the configured mention, when the renderer puts
/// it there) so the update after the click keeps it.
pub fn for_notify(
    mode: &AckMode,
    n: &Notification<'_>,
    opts: &RenderOptions<'_>,
    problem: Option<&str>,
    phase: Phase,
) -> Vec<Button> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // The renderer's rule for `text`: the mention, when set, not blank, not
    // over its limit, and the state is one of the mention states.
    let text = opts
        .mention
        .filter(|m| !m.trim().is_empty() && m.len() <= MENTION_MAX_LEN)
        .filter(|_| opts.mention_states.contains(n.state))
        .unwrap_or("");
    // The state directory's id (notify passes it); a made-up one when
    // there is none, so the button is still single-use and signed.
    let problem = match problem {
        Some(p) => p.to_string(),
        None => crate::state::problems::made_up_problem_id(now),
    };
    button(mode, n, text, &problem, now, phase)
}

/// Reads the two-way settings; `None` when two-way is off
/// (`MATTERMOST_TWO_WAY`, flag `--two-way`). Every unusable setting of the
/// group is reported, not just the first, so one round of fixes is enough.
pub fn settings(cfg: &Config) -> Result<Option<AckMode>, Vec<Error>> {
    if !cfg.bool(key::TWO_WAY).map_err(|e| vec![e])? {
        return Ok(None);
    }
    let mode = cfg
        .get(key::ACK_MODE)
        .unwrap_or("receiver")
        .to_ascii_lowercase();
    match mode.as_str() {
        "receiver" => {
            let url = cfg.url(key::ACK_URL).and_then(|url| {
                url.map(str::to_string).ok_or_else(|| {
                    cfg.invalid(
                        key::ACK_URL,
                        "required with two-way on: the public URL of `mattermost-notify serve`",
                    )
                })
            });
            let key = match cfg.get(key::ACK_SECRET_FILE) {
                // Re-made by `invalid`: the message gains the flag and origin.
                Some(file) => load_key(Path::new(file)).map_err(|e| match e {
                    Error::Config { message, .. } => cfg.invalid(key::ACK_SECRET_FILE, message),
                    other => other,
                }),
                None => Err(cfg.invalid(
                    key::ACK_SECRET_FILE,
                    "required with two-way on: a file with at least 32 random bytes",
                )),
            };
            let ttl = match cfg.get(key::ACK_TTL) {
                None => Ok(DEFAULT_ACK_TTL),
                Some(v) => parse_ttl(v).ok_or_else(|| {
                    cfg.invalid(
                        key::ACK_TTL,
                        format!("{v:?} is not seconds or a number with s, m, h or d"),
                    )
                }),
            };
            let actions = action_list(cfg);
            let dialogs = cfg.url(key::URL).map(|u| u.is_some());
            match (url, key, ttl, actions, dialogs) {
                (Ok(url), Ok(key), Ok(ttl), Ok(actions), Ok(dialogs)) => {
                    Ok(Some(AckMode::Receiver {
                        url,
                        key,
                        ttl,
                        actions,
                        dialogs,
                    }))
                }
                (url, key, ttl, actions, dialogs) => Err([
                    url.err(),
                    key.err(),
                    ttl.err(),
                    actions.err(),
                    dialogs.err(),
                ]
                .into_iter()
                .flatten()
                .collect()),
            }
        }
        "openitcockpit" => {
            let base = cfg.url(key::OITC_URL).and_then(|base| {
                base.ok_or_else(|| {
                    cfg.invalid(
                        key::OITC_URL,
                        "required with MATTERMOST_ACK_MODE=openitcockpit",
                    )
                })
            });
            match (base, cfg.require(key::OITC_API_KEY)) {
                (Ok(base), Ok(api_key)) => Ok(Some(AckMode::OpenItcockpit {
                    base: base.trim_end_matches('/').to_string(),
                    api_key: api_key.to_string(),
                })),
                (base, api_key) => Err([base.err(), api_key.err()].into_iter().flatten().collect()),
            }
        }
        other => Err(vec![cfg.invalid(
            key::ACK_MODE,
            format!("{other:?} is not receiver or openitcockpit"),
        )]),
    }
}

/// `MATTERMOST_ACTIONS` (flag `--actions`), or the default
/// `ack,downtime,recheck`.
pub fn action_list(cfg: &Config) -> Result<ActionList, Error> {
    match cfg.get(key::ACTIONS) {
        None => Ok(DEFAULT_ACTIONS),
        Some(v) => ActionList::parse(v).map_err(|e| cfg.invalid(key::ACTIONS, e.to_string())),
    }
}

/// The buttons for `n`, none when it gets none: only PROBLEM posts in a
/// non-OK state do, and only when host and service could be acted on (a
/// name the command line would refuse gets no button, with a warning).
/// `problem` is the id of the problem the post is about; `serve` refuses
/// the click once it is no longer the current one; `phase` picks the
/// buttons ([`ActionList::offered`]).
pub fn button(
    mode: &AckMode,
    n: &Notification<'_>,
    text: &str,
    problem: &str,
    now: u64,
    phase: Phase,
) -> Vec<Button> {
    if n.notification_type != NotificationType::Problem || n.state.is_ok() {
        return Vec::new();
    }
    let target = match n.kind {
        Kind::Host => AckTarget::Host { host: n.host_uuid },
        Kind::Service => AckTarget::Service {
            host: n.host_uuid,
            service: n.service_uuid,
        },
    };
    let probe = AckCommand {
        target,
        sticky: true,
        notify: false,
        author: "x",
        comment: "",
        time: now,
    };
    if let Err(e) = probe.validate() {
        log::warn!("no action buttons: the monitoring core could not take this ack ({e})");
        return Vec::new();
    }
    match mode {
        AckMode::Receiver {
            url,
            key,
            ttl,
            actions,
            dialogs,
        } => actions
            .offered(phase, *dialogs)
            .into_iter()
            .flatten()
            .filter_map(|action| signed_button(action, url, key, *ttl, n, text, problem, now))
            .collect(),
        AckMode::OpenItcockpit { base, api_key } => vec![Button {
            action: Action::Ack,
            url: oitc_url(base, api_key, n),
            context: Vec::new(),
        }],
    }
}

/// Signs `ctx` with `key`: the hex tag for its `sig`.
pub fn sign(key: &hmac::Key, ctx: &AckContext<'_>) -> Option<String> {
    let mut buf = [0u8; ACK_CANONICAL_BUF_LEN];
    let signed = match ctx.canonical_bytes(&mut buf) {
        Ok(len) => buf.get(..len).unwrap_or_default(),
        Err(e) => {
            log::warn!("no {} button: {e}", ctx.action);
            return None;
        }
    };
    let tag = hmac::sign(key, signed);
    let tag: [u8; 32] = tag.as_ref().try_into().ok()?;
    let mut hex = [0u8; ACK_SIG_HEX_LEN];
    Some(encode_sig_hex(&tag, &mut hex).to_string())
}

/// The button doing `action` with the context `ctx` (signed here).
pub fn signed(action: Action, url: &str, key: &hmac::Key, ctx: &AckContext<'_>) -> Option<Button> {
    let sig = sign(key, ctx)?;
    let context = ctx
        .context_pairs(&sig)
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect();
    Some(Button {
        action,
        url: url.to_string(),
        context,
    })
}

#[allow(clippy::too_many_arguments)] // each is one field of the context
fn signed_button(
    action: Action,
    url: &str,
    key: &hmac::Key,
    ttl: Duration,
    n: &Notification<'_>,
    text: &str,
    problem: &str,
    now: u64,
) -> Option<Button> {
    // `serve` refuses a context with any other problem id: better no
    // button than one that can only fail.
    if !is_problem_id(problem) {
        log::warn!(
            "no action buttons: problem id {problem:?} is not 1 to 40 of A-Z a-z 0-9 . _ : -"
        );
        return None;
    }
    let (kind, service) = match n.kind {
        Kind::Host => (AckKind::Host, ""),
        Kind::Service => (AckKind::Service, n.service_uuid),
    };
    let label = match n.kind {
        Kind::Host => n.host_label().to_string(),
        Kind::Service => format!("{} on {}", n.service_label(), n.host_label()),
    };
    let label = cut(&label, ACK_LABEL_MAX);
    let exp = now.saturating_add(ttl.as_secs()).to_string();
    let ctx = AckContext {
        version: ACK_VERSION,
        action: action.as_str(),
        kind: kind.as_str(),
        host: n.host_uuid,
        service,
        problem,
        label,
        text: cut(text, ACK_TEXT_MAX),
        exp: &exp,
    };
    signed(action, url, key, &ctx)
}

/// A digest's **Acknowledge all** button and **Acknowledge one…** menu,
/// signed over digest `id` (the hash of its list) with the post's
/// `headline` as the message it keeps; `None` outside receiver mode (an
/// openITCOCKPIT master acknowledges one problem per URL).
pub fn for_digest(mode: &AckMode, headline: &str, id: &str, now: u64) -> Option<(Button, Button)> {
    let AckMode::Receiver { url, key, ttl, .. } = mode else {
        return None;
    };
    let exp = now.saturating_add(ttl.as_secs()).to_string();
    let ctx = |action| AckContext {
        version: ACK_VERSION,
        action,
        kind: ACK_KIND_DIGEST,
        host: "",
        service: "",
        problem: id,
        label: cut(headline, ACK_LABEL_MAX),
        text: cut(headline, ACK_TEXT_MAX),
        exp: &exp,
    };
    let button = |action| signed(Action::Ack, url, key, &ctx(action));
    Some((button(ACK_ACTION_ALL)?, button(ACK_ACTION_ONE)?))
}

/// The original module's URL (DESIGN §6), query values percent-encoded.
fn oitc_url(base: &str, api_key: &str, n: &Notification<'_>) -> String {
    match n.kind {
        Kind::Host => format!(
            "{base}/mattermost_module/acknowledge/host.json?uuid={}&apikey={}",
            pct(n.host_uuid),
            pct(api_key)
        ),
        Kind::Service => format!(
            "{base}/mattermost_module/acknowledge/service.json?hostuuid={}&serviceuuid={}&apikey={}",
            pct(n.host_uuid),
            pct(n.service_uuid),
            pct(api_key)
        ),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, by
/// core's one encoder (the renderer's links use it too).
pub(crate) fn pct(s: &str) -> String {
    let mut buf = vec![0u8; s.len().saturating_mul(3)];
    let mut w = mattermost_notify_core::json::JsonWriter::new(&mut buf);
    // Cannot overflow: a byte is at most three written.
    let _ = mattermost_notify_core::render::write_percent_encoded(&mut w, s);
    String::from_utf8_lossy(w.as_bytes()).into_owned()
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// `600`, `600s`, `10m`, `12h`, `7d`; zero is refused.
pub(crate) fn parse_ttl(v: &str) -> Option<Duration> {
    let v = v.trim();
    let (digits, unit) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (v.get(..i)?, c),
        _ => (v, 's'),
    };
    let n: u64 = digits.parse().ok().filter(|n| *n > 0)?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(mult)?))
}

/// Reads the ack secret from `path`: at least [`ACK_SECRET_MIN`] bytes
/// after one trailing newline is dropped (so `openssl rand -hex 32 > f`
/// and `head -c 32 /dev/urandom > f` both work, the same on both sides).
pub fn load_key(path: &Path) -> Result<hmac::Key, Error> {
    let key_name = key::ACK_SECRET_FILE;
    let bytes = std::fs::read(path)
        .map_err(|e| Error::config(key_name, format!("cannot read {}: {e}", path.display())))?;
    let secret = bytes
        .strip_suffix(b"\n")
        .map(|s| s.strip_suffix(b"\r").unwrap_or(s))
        .unwrap_or(&bytes);
    if secret.len() < ACK_SECRET_MIN {
        return Err(Error::config(
            key_name,
            format!(
                "{} holds {} bytes; at least {ACK_SECRET_MIN} are needed \
                 (e.g. `openssl rand -hex 32 > {}`)",
                path.display(),
                secret.len(),
                path.display()
            ),
        ));
    }
    crate::config::warn_if_readable_by_all(path, key_name);
    Ok(hmac::Key::new(hmac::HMAC_SHA256, secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mattermost_notify_core::State;

    fn problem(kind: Kind, state: State) -> Notification<'static> {
        Notification {
            kind,
            notification_type: NotificationType::Problem,
            state,
            host_uuid: "web 1",
            host_name: "Web One",
            host_address: "",
            service_uuid: "HTTP/s",
            service_name: "",
            output: "",
            long_output: "",
            ack_author: "",
            ack_comment: "",
            event_time: 0,
        }
    }

    fn receiver() -> AckMode {
        AckMode::Receiver {
            url: "https://mon.example/ack".into(),
            key: hmac::Key::new(hmac::HMAC_SHA256, &[7u8; 32]),
            ttl: Duration::from_secs(100),
            actions: ActionList::parse("ack").unwrap(),
            dialogs: false,
        }
    }

    #[test]
    fn signed_context_verifies_with_the_same_key() {
        let b = button(
            &receiver(),
            &problem(Kind::Service, State::Critical),
            "",
            "4711",
            1000,
            Phase::Open,
        )
        .remove(0);
        let keys: Vec<&str> = b.context.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, mattermost_notify_core::ack::ACK_KEYS.to_vec());
        let get = |k: &str| {
            b.context
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.as_str())
                .unwrap()
        };
        assert_eq!(get("exp"), "1100");
        assert_eq!(get("label"), "HTTP/s on Web One");
        assert_eq!(get("v"), "2");
        assert_eq!(get("problem"), "4711");
        let ctx = AckContext {
            version: get("v"),
            action: get("action"),
            kind: get("kind"),
            host: get("host"),
            service: get("service"),
            problem: get("problem"),
            label: get("label"),
            text: get("text"),
            exp: get("exp"),
        };
        let mut buf = [0u8; ACK_CANONICAL_BUF_LEN];
        let n = ctx.canonical_bytes(&mut buf).unwrap();
        let tag = mattermost_notify_core::ack::decode_sig_hex(get("sig")).unwrap();
        let key = hmac::Key::new(hmac::HMAC_SHA256, &[7u8; 32]);
        assert!(hmac::verify(&key, &buf[..n], &tag).is_ok());
        let other = hmac::Key::new(hmac::HMAC_SHA256, &[8u8; 32]);
        assert!(hmac::verify(&other, &buf[..n], &tag).is_err());
        // The problem id is covered: another id, another tag.
        let moved = AckContext {
            problem: "4712",
            ..ctx
        };
        let n = moved.canonical_bytes(&mut buf).unwrap();
        assert!(hmac::verify(&key, &buf[..n], &tag).is_err());
    }

    #[test]
    fn a_problem_id_serve_would_refuse_gets_no_button() {
        let n = problem(Kind::Host, State::Down);
        for bad in ["", "47 11", "a/b", &"9".repeat(41)] {
            assert!(
                button(&receiver(), &n, "", bad, 0, Phase::Open).is_empty(),
                "{bad:?}"
            );
        }
        assert!(!button(
            &receiver(),
            &n,
            "",
            "icinga:web1:1764284280",
            0,
            Phase::Open
        )
        .is_empty());
    }

    #[test]
    fn only_problems_in_bad_states_get_a_button() {
        let m = receiver();
        assert!(!button(
            &m,
            &problem(Kind::Host, State::Down),
            "",
            "1",
            0,
            Phase::Open
        )
        .is_empty());
        assert!(button(&m, &problem(Kind::Host, State::Up), "", "1", 0, Phase::Open).is_empty());
        assert!(button(
            &m,
            &problem(Kind::Service, State::Ok),
            "",
            "1",
            0,
            Phase::Open
        )
        .is_empty());
        let mut r = problem(Kind::Service, State::Critical);
        r.notification_type = NotificationType::Recovery;
        assert!(button(&m, &r, "", "1", 0, Phase::Open).is_empty());
        let mut bad = problem(Kind::Service, State::Critical);
        bad.service_uuid = "a;b";
        assert!(button(&m, &bad, "", "1", 0, Phase::Open).is_empty());
    }

    #[test]
    fn the_action_list_gives_the_buttons_each_signed_for_its_action() {
        let all = ActionList::parse("ack,comment,downtime,recheck").unwrap();
        let n = problem(Kind::Service, State::Critical);
        for (dialogs, want) in [
            (false, vec![Action::Ack, Action::Recheck]),
            (true, vec![Action::Ack, Action::Comment, Action::Downtime]),
        ] {
            let m = AckMode::Receiver {
                url: "https://mon.example/ack".into(),
                key: hmac::Key::new(hmac::HMAC_SHA256, &[7u8; 32]),
                ttl: Duration::from_secs(100),
                actions: all,
                dialogs,
            };
            let buttons = button(&m, &n, "", "1", 0, Phase::Open);
            let got: Vec<Action> = buttons.iter().map(|b| b.action).collect();
            assert_eq!(got, want);
            for b in &buttons {
                let action = b.context.iter().find(|(k, _)| *k == "action").unwrap();
                assert_eq!(action.1, b.action.as_str());
            }
            // Each button has its own signature.
            let sigs: std::collections::HashSet<&str> = buttons
                .iter()
                .map(|b| b.context.last().unwrap().1.as_str())
                .collect();
            assert_eq!(sigs.len(), buttons.len());
        }
    }

    #[test]
    fn openitcockpit_url_is_the_originals_with_encoded_values() {
        let m = AckMode::OpenItcockpit {
            base: "https://oitc.example".into(),
            api_key: "k&y=1".into(),
        };
        let b = button(
            &m,
            &problem(Kind::Service, State::Warning),
            "",
            "1",
            0,
            Phase::Open,
        )
        .remove(0);
        assert_eq!(
            b.url,
            "https://oitc.example/mattermost_module/acknowledge/service.json\
             ?hostuuid=web%201&serviceuuid=HTTP%2Fs&apikey=k%26y%3D1"
        );
        assert!(b.context.is_empty());
        let b = button(
            &m,
            &problem(Kind::Host, State::Down),
            "",
            "1",
            0,
            Phase::Open,
        )
        .remove(0);
        assert_eq!(
            b.url,
            "https://oitc.example/mattermost_module/acknowledge/host.json\
             ?uuid=web%201&apikey=k%26y%3D1"
        );
    }

    #[test]
    fn ttl_forms() {
        assert_eq!(parse_ttl("600"), Some(Duration::from_secs(600)));
        assert_eq!(parse_ttl("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_ttl("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_ttl("0"), None);
        assert_eq!(parse_ttl("1w"), None);
        assert_eq!(parse_ttl("-5"), None);
        assert_eq!(parse_ttl("99999999999999999999d"), None);
    }

    #[test]
    fn label_cut_respects_characters() {
        assert_eq!(cut("aé", 2), "a");
        assert_eq!(cut("abc", 5), "abc");
    }
}
