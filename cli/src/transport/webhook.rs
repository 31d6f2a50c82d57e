//! Delivery: one POST of a rendered payload to the incoming webhook, over
//! our [`http`](super::http) client (rustls, ring), and the classification
//! of what came back.
//!
//! Trust is explicit: the bundled webpki roots by default, or only the
//! certificates of `MATTERMOST_CA_FILE` (the bundled store is then never
//! built — start-up time matters when a core forks us for every alert), or
//! no verification at all with `MATTERMOST_INSECURE`, logged loudly on every
//! run. Proxies are off unless `MATTERMOST_USE_PROXY` is on, and the
//! proxy variables are read only then. Timeouts are always set: a
//! monitoring core kills a notification command after 30 s.

use super::http::tls::{ca_file, client_config, Roots};
use super::http::{Client, Headers, HttpError, Request, Url, UrlError};
use crate::config::{env_value, key, Config};
use crate::error::Error;
use crate::logger::redact;
use crate::notify::unix_now;
use crate::state::ratelimit::RateNote;
use mattermost_notify_core::retry_after::{rate_limit_reset_secs, retry_after_secs};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Connect timeout when `MATTERMOST_CONNECT_TIMEOUT` is unset.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout when `MATTERMOST_TIMEOUT` is unset.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Most characters of a wrong answer's title or text shown in a message.
const EXCERPT_LEN: usize = 120;

/// Why a post was not accepted. Messages never name the URL (the caller
/// adds [`Deliverer::redacted_url`] where it helps).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// 429: Mattermost's rate limit; try again after `retry_after` (from
    /// `Retry-After` or `X-RateLimit-Reset`).
    RateLimited {
        /// How long the server asked us to wait, if it said.
        retry_after: Option<Duration>,
        /// What happened, for the log.
        message: String,
    },
    /// May pass: connect errors, timeouts, 5xx, 408, and TLS failures (a
    /// certificate may be fixed or renewed; a spool keeps the alert).
    Temporary(String),
    /// A 2xx whose body is not Mattermost's `ok`: a login portal, a proxy,
    /// another service on the host. Not a delivery; the alert is kept.
    NotMattermost {
        /// HTTP status (2xx).
        status: u16,
        /// What answered, for the log: content type, server, the page's
        /// title or the start of the body (webhook URL and hook id hidden).
        answered: String,
    },
    /// Refused for good: any other 4xx (and 3xx, which a webhook never sends).
    Permanent {
        /// HTTP status.
        status: u16,
        /// Mattermost's error id (`web.incoming_webhook.invalid.app_error`), or empty.
        id: String,
        /// Mattermost's error message, or empty.
        message: String,
        /// The response body (capped, control characters removed).
        body: String,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::RateLimited {
                retry_after,
                message,
            } => match retry_after {
                Some(d) => write!(f, "{message} (retry after {} s)", d.as_secs()),
                None => f.write_str(message),
            },
            SendError::Temporary(m) => f.write_str(m),
            SendError::NotMattermost { status, answered } => write!(
                f,
                "HTTP {status} from something that is not Mattermost ({answered}): \
                 not a delivery; check MATTERMOST_WEBHOOK_URL (or MATTERMOST_URL) and any \
                 proxy or login portal on the way"
            ),
            SendError::Permanent {
                status,
                id,
                message,
                body,
            } => {
                if id.is_empty() {
                    write!(f, "HTTP {status}: {body}")
                } else {
                    write!(f, "HTTP {status} {id}: {message}")
                }
            }
        }
    }
}

impl std::error::Error for SendError {}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        match e {
            SendError::RateLimited { .. }
            | SendError::Temporary(_)
            | SendError::NotMattermost { .. } => Error::Temporary(e.to_string()),
            SendError::Permanent { .. } => Error::Unavailable(e.to_string()),
        }
    }
}

/// A configured webhook client.
#[derive(Debug)]
pub struct Deliverer {
    client: Client,
    url: Url,
    /// The URL as configured, to hide it where an answer echoes it.
    url_text: String,
    redacted: String,
    trust: String,
    route: String,
    /// Where what answers say of the rate limit is shared.
    rate_view: Option<crate::state::StateDir>,
}

impl Deliverer {
    /// Shares what every answer says of the rate limit through `state`
    /// (DESIGN §12): the other processes of a storm read it before sending.
    pub fn share_rate_limit(&mut self, state: Option<crate::state::StateDir>) {
        self.rate_view = state;
    }

    /// Builds the client from the webhook, TLS, proxy and timeout settings.
    pub fn from_config(cfg: &Config) -> Result<Self, Error> {
        cfg.require(key::WEBHOOK_URL)?;
        let url_text = cfg.url(key::WEBHOOK_URL)?.unwrap_or_default().to_string();
        let redacted = redact_url(&url_text);
        let url = Url::parse(&url_text).map_err(|e| {
            cfg.invalid(
                key::WEBHOOK_URL,
                format!("{redacted:?} is not a valid URL: {e}"),
            )
        })?;
        let (client, trust, route) = client(cfg, &url)?;
        if !url.is_https() {
            log::warn!("{redacted} is plain http: the webhook secret travels unencrypted");
        }
        Ok(Deliverer {
            client,
            url,
            url_text,
            redacted,
            trust,
            route,
            rate_view: None,
        })
    }

    /// Which certificates are trusted, in words.
    pub fn trust(&self) -> &str {
        &self.trust
    }

    /// Direct or through which proxy, in words.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// The webhook URL with its secret path hidden: `https://host/hooks/***`.
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// POSTs `body` (JSON) to the webhook; the 2xx status when Mattermost
    /// answered `ok`.
    pub fn post_with_status(&self, body: &[u8]) -> Result<u16, SendError> {
        self.post_within(body, None)
    }

    /// [`Deliverer::post_with_status`] with the whole request bounded by
    /// `timeout` instead of `MATTERMOST_TIMEOUT` when given: the retry loop
    /// gives each attempt at most what is left of its budget.
    pub fn post_within(&self, body: &[u8], timeout: Option<Duration>) -> Result<u16, SendError> {
        let started = std::time::Instant::now();
        let request = Request {
            timeout,
            ..Request::post(&self.url, &[("Content-Type", "application/json")], body)
        };
        // A body over the cap is read that far (a long login page still
        // shows its title), and one cut short keeps what arrived.
        let resp = self
            .client
            .send(&request)
            .map_err(|e| SendError::Temporary(describe_transport_error(&e)))?;
        let status = resp.status;
        let headers = &resp.headers;
        if let Some(view) = &self.rate_view {
            view.learn_rate(rate_note(status, headers, unix_now()));
        }
        let raw = &resp.body;
        log::info!(
            "{} answered {status} in {} ms",
            self.redacted,
            started.elapsed().as_millis()
        );
        if (200..300).contains(&status) {
            // Mattermost's one success answer (DESIGN §3). Anything else
            // came from something else, and nothing says the post exists.
            if raw.trim_ascii() == b"ok" {
                return Ok(status);
            }
            return Err(SendError::NotMattermost {
                status,
                answered: self.hide_secret(&describe_answer(headers, raw)),
            });
        }
        Err(answer_error(status, headers, raw, ""))
    }
}

/// What a non-2xx answer means, for the webhook and the REST API alike:
/// 429 rate limited (with the server's wait), 408 and 5xx temporary,
/// anything else refused for good, with Mattermost's error id and
/// message; `hint` (what to fix) follows the message of a refusal.
pub(crate) fn answer_error(status: u16, headers: &Headers, body: &[u8], hint: &str) -> SendError {
    let text = printable(body);
    let (id, message) = answer_fields(body);
    let (id, message) = (printable(id.as_bytes()), printable(message.as_bytes()));
    match status {
        429 => SendError::RateLimited {
            retry_after: server_wait(headers, unix_now()),
            message: format!("HTTP 429: rate limited ({})", text.trim()),
        },
        408 | 500..=599 if id.is_empty() => {
            SendError::Temporary(format!("HTTP {status}: {}", text.trim()))
        }
        408 | 500..=599 => SendError::Temporary(format!("HTTP {status} {id}: {message}")),
        _ => SendError::Permanent {
            status,
            message: if hint.is_empty() {
                message
            } else {
                format!("{message} — {hint}")
            },
            id,
            body: text,
        },
    }
}

impl Deliverer {
    /// `text` with this webhook's URL and hook id hidden (a portal may echo
    /// the address it was asked for).
    fn hide_secret(&self, text: &str) -> String {
        let mut text = text.replace(&self.url_text, &self.redacted);
        let id = self.url_text.rsplit('/').next().unwrap_or("");
        if id.len() >= 8 {
            text = text.replace(id, "***");
        }
        redact(&text)
    }
}

/// How long a 429 asks us to wait, at unix time `now`: `Retry-After`, else
/// `X-RateLimit-Reset`, read by core's rules (huge values saturate, dates
/// and unix times count from `now`, garbage is no answer: `None`).
pub fn server_wait(headers: &Headers, now: u64) -> Option<Duration> {
    let secs = |name: &str, read: fn(&[u8], u64) -> Option<u64>| {
        headers.get(name).and_then(|v| read(v, now))
    };
    secs("retry-after", retry_after_secs)
        .or_else(|| secs("x-ratelimit-reset", rate_limit_reset_secs))
        .map(Duration::from_secs)
}

/// What an answer says of the rate limit: a 429 leaves nothing until its
/// wait is over; any other answer its `X-RateLimit-Remaining` and `-Reset`.
pub fn rate_note(status: u16, headers: &Headers, now: u64) -> RateNote {
    if status == 429 {
        return RateNote {
            remaining: Some(0),
            reset: Some(server_wait(headers, now).unwrap_or(Duration::from_secs(1))),
        };
    }
    let value = |name: &str| headers.get(name);
    RateNote {
        remaining: value("x-ratelimit-remaining")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse().ok()),
        // `-Reset` is when the bucket is full again; a 2xx that took the
        // last token says nothing of the next one, which comes far sooner
        // (a tenth of a second under the default 10/s): wait at most 1 s.
        reset: value("x-ratelimit-reset")
            .and_then(|v| rate_limit_reset_secs(v, now))
            .map(|s| Duration::from_secs(s).min(Duration::from_secs(1))),
    }
}

/// What sent a 2xx that is not Mattermost's `ok`, in a few words: the
/// content type, the `Server` header, and the HTML `<title>` or the start
/// of the body.
fn describe_answer(headers: &Headers, body: &[u8]) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| excerpt(&printable(v)))
            .filter(|v| !v.is_empty())
    };
    let mut parts = vec![header("content-type").unwrap_or_else(|| "no content type".into())];
    if let Some(server) = header("server") {
        parts.push(format!("server {server}"));
    }
    // The title is looked for in the whole body read, not only in the
    // part `printable` keeps: a portal's <head> can be long.
    let whole = String::from_utf8_lossy(body);
    parts.push(match html_title(&whole) {
        Some(title) => format!("title {:?}", excerpt(&printable(title.as_bytes()))),
        None if whole.trim().is_empty() => "empty body".into(),
        None => format!("body {:?}", excerpt(&printable(body))),
    });
    parts.join(", ")
}

/// The text of the first `<title>` element, if the body has one.
fn html_title(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower.get(open..)?.find('>')? + 1;
    let len = lower
        .get(start..)?
        .find("</")
        .unwrap_or(lower.len() - start);
    text.get(start..start + len)
}

/// Whitespace collapsed, at most [`EXCERPT_LEN`] characters, `…` when cut.
fn excerpt(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() <= EXCERPT_LEN {
        return joined;
    }
    let mut cut: String = joined.chars().take(EXCERPT_LEN).collect();
    cut.push('…');
    cut
}

/// `https://user@host:8065/hooks/abc?x` → `https://host:8065/hooks/***`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let hidden = if path.starts_with("/hooks/") {
        "/hooks/***"
    } else if path.is_empty() || path == "/" {
        ""
    } else {
        "/***"
    };
    format!("{scheme}://{host}{hidden}")
}

/// The client for `url` from the TLS, proxy and timeout settings, with
/// what it trusts and its route, in words.
pub(crate) fn client(cfg: &Config, url: &Url) -> Result<(Client, String, String), Error> {
    let connect = cfg.seconds(key::CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT)?;
    let total = cfg.seconds(key::TIMEOUT, DEFAULT_TIMEOUT)?;
    let (tls, trust) = tls_config(cfg)?;
    let proxy = proxy(cfg, url)?;
    let route = match &proxy {
        Some((p, source)) => format!("through proxy {} (from {source})", p.host_port()),
        None => "direct".to_string(),
    };
    let client = Client::new(tls, connect, total).with_proxy(proxy.map(|(p, _)| p));
    Ok((client, trust, route))
}

/// The TLS settings and a description of what is trusted.
pub(crate) fn tls_config(cfg: &Config) -> Result<(Arc<rustls::ClientConfig>, String), Error> {
    let (roots, trust) = if cfg.bool(key::INSECURE)? {
        log::warn!(
            "MATTERMOST_INSECURE is on: the server's certificate is NOT verified; \
             anyone on the network path can read the webhook secret and fake answers"
        );
        let trust = "NOTHING: certificate verification is off (MATTERMOST_INSECURE)";
        (Roots::AnyCertificate, trust.to_string())
    } else if let Some(path) = cfg.get(key::CA_FILE) {
        let certs = ca_file(path).map_err(|why| cfg.invalid(key::CA_FILE, why))?;
        let trust = format!("only the {} certificate(s) in {path}", certs.len());
        (Roots::Only(certs), trust)
    } else {
        (
            Roots::Bundled,
            "the bundled webpki (Mozilla) roots".to_string(),
        )
    };
    let tls = client_config(roots).map_err(|e| cfg.invalid(key::CA_FILE, e.to_string()))?;
    Ok((tls, trust))
}

/// The proxy to use for `url` and where it was set, or `None` for a
/// direct connection.
fn proxy(cfg: &Config, url: &Url) -> Result<Option<(Url, &'static str)>, Error> {
    if !cfg.bool(key::USE_PROXY)? {
        if cfg.get(key::PROXY).is_some() {
            log::info!(
                "MATTERMOST_PROXY is set but MATTERMOST_USE_PROXY is off: connecting directly"
            );
        }
        return Ok(None);
    }
    let host = url.host();
    if let Some(no_proxy) = env_value("NO_PROXY").or_else(|| env_value("no_proxy")) {
        if no_proxy_matches(&no_proxy, host) {
            log::info!("{host} is in NO_PROXY: connecting directly");
            return Ok(None);
        }
    }
    let (value, source) = match cfg.get(key::PROXY) {
        Some(p) => (p.to_string(), key::PROXY),
        None => {
            let names: &[&'static str] = if url.is_https() {
                &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
            } else {
                &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
            };
            let found = names.iter().find_map(|n| {
                env_value(n)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (v, *n))
            });
            match found {
                Some(f) => f,
                None => {
                    log::warn!(
                        "MATTERMOST_USE_PROXY is on but neither MATTERMOST_PROXY nor \
                         HTTPS_PROXY/ALL_PROXY/HTTP_PROXY is set: connecting directly"
                    );
                    return Ok(None);
                }
            }
        }
    };
    let proxy = Url::parse_proxy(value.trim()).map_err(|e| {
        let why = match e {
            UrlError::Scheme => "only http:// proxies (HTTP CONNECT) are supported".to_string(),
            other => other.to_string(),
        };
        cfg.invalid(
            key::PROXY,
            format!("proxy from {source} is not a proxy URL: {why}"),
        )
    })?;
    log::info!(
        "connecting through proxy {} (from {source})",
        proxy.host_port()
    );
    Ok(Some((proxy, source)))
}

/// curl's NO_PROXY rules: `*` matches all; an entry matches the host and
/// its subdomains; a leading `.` or `*.` is ignored; ports are ignored.
fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    list.split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.trim_start_matches('*').trim_start_matches('.');
            let entry = match entry.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or(v6),
                None if entry.matches(':').count() == 1 => entry.split(':').next().unwrap_or(entry),
                None => entry,
            };
            let entry = entry.to_ascii_lowercase();
            host == entry || host.ends_with(&format!(".{entry}"))
        })
}

/// A transport failure, said so that the fix is clear.
pub(crate) fn describe_transport_error(e: &HttpError) -> String {
    let text = match e {
        HttpError::Tls(rustls::Error::InvalidCertificate(_)) => format!(
            "{e}; set MATTERMOST_CA_FILE to the PEM of the CA that signed it \
             (or, at your own risk, MATTERMOST_INSECURE=1)"
        ),
        HttpError::Timeout(_) => {
            format!("{e}; see MATTERMOST_TIMEOUT and MATTERMOST_CONNECT_TIMEOUT")
        }
        other => other.to_string(),
    };
    redact(&text)
}

/// The `id` and `message` of a Mattermost answer: an error's
/// (`{"id":"api.post…app_error","message":…}`), or a post's, channel's or
/// user's object (its id; a post's text). Empty strings when the body is
/// no such JSON. The one reader of answers, for every request.
pub(crate) fn answer_fields(body: &[u8]) -> (String, String) {
    #[derive(serde::Deserialize)]
    struct Fields {
        #[serde(default)]
        id: String,
        #[serde(default)]
        message: String,
    }
    // Strings with escapes are unescaped here, the fields skipped too (a
    // post object's props: a digest's table is tens of KiB of escapes);
    // unescaped text is never longer than its JSON.
    let mut scratch = vec![0u8; body.len()];
    match serde_json_core::from_slice_escaped::<Fields>(body, &mut scratch) {
        Ok((f, _)) => (f.id, f.message),
        Err(_) => (String::new(), String::new()),
    }
}

/// Text safe to print: lossy UTF-8, control characters replaced, capped.
pub(crate) fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_secret() {
        assert_eq!(
            redact_url("https://mm.example:8065/hooks/1nmqus1wsfr988e81sr8whqrte"),
            "https://mm.example:8065/hooks/***"
        );
        assert_eq!(
            redact_url("http://u:p@192.168.122.1/other/x"),
            "http://192.168.122.1/***"
        );
    }

    #[test]
    fn no_proxy_follows_curl() {
        assert!(no_proxy_matches("localhost, 127.0.0.1", "127.0.0.1"));
        assert!(no_proxy_matches(".example.com", "mm.example.com"));
        assert!(no_proxy_matches("example.com:443", "example.com"));
        assert!(no_proxy_matches("*", "anything"));
        assert!(!no_proxy_matches("example.com", "badexample.com"));
        assert!(!no_proxy_matches("", "example.com"));
        assert!(no_proxy_matches("[::1]", "::1"));
    }

    #[test]
    fn answers_map_to_sysexits() {
        let temporary = SendError::Temporary("HTTP 502".into());
        let limited = SendError::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
            message: "HTTP 429".into(),
        };
        let permanent = SendError::Permanent {
            status: 403,
            id: "web.incoming_webhook.channel_locked.app_error".into(),
            message: "locked".into(),
            body: String::new(),
        };
        assert_eq!(Error::from(temporary).exit_code(), 75);
        assert_eq!(Error::from(limited).exit_code(), 75);
        let e = Error::from(permanent);
        assert_eq!(e.exit_code(), 69);
        assert!(e
            .to_string()
            .contains("HTTP 403 web.incoming_webhook.channel_locked.app_error"));
    }

    fn headers(pairs: &[(&'static str, &[u8])]) -> Headers {
        let mut map = Headers::default();
        for (name, value) in pairs {
            map.push(name, value);
        }
        map
    }

    #[test]
    fn server_wait_prefers_retry_after_and_reads_every_form() {
        let now = 784_111_770; // Sun, 06 Nov 1994 08:49:30 GMT
        let wait = |pairs: &[(&'static str, &[u8])]| server_wait(&headers(pairs), now);
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(wait(&[("retry-after", b"0")]), secs(0));
        assert_eq!(
            wait(&[("retry-after", b"2"), ("x-ratelimit-reset", b"9")]),
            secs(2)
        );
        assert_eq!(
            wait(&[("retry-after", b"soon"), ("x-ratelimit-reset", b"9")]),
            secs(9),
            "garbage Retry-After falls back to X-RateLimit-Reset"
        );
        assert_eq!(
            wait(&[("retry-after", b"Sun, 06 Nov 1994 08:49:37 GMT")]),
            secs(7)
        );
        // (Unix times before 2001 are read as seconds; see core's rule.)
        assert_eq!(
            server_wait(
                &headers(&[("x-ratelimit-reset", b"1764284285")]),
                1_764_284_280
            ),
            secs(5)
        );
        assert_eq!(
            wait(&[("retry-after", b"18446744073709551615")]),
            secs(u64::MAX)
        );
        assert_eq!(wait(&[("retry-after", b"-3")]), None);
        assert_eq!(wait(&[]), None);
    }

    #[test]
    fn wrong_answers_are_described_briefly() {
        let html = headers(&[
            ("content-type", b"text/html; charset=utf-8"),
            ("server", b"nginx"),
        ]);
        let mut page = b"<html><head>".to_vec();
        page.extend(std::iter::repeat_n(b' ', 10_000));
        page.extend_from_slice(b"<Title data-x=1>  Sign\n in </title></head><body>x</body>");
        assert_eq!(
            describe_answer(&html, &page),
            "text/html; charset=utf-8, server nginx, title \"Sign in\""
        );
        let json = headers(&[("content-type", b"application/json")]);
        assert_eq!(
            describe_answer(&json, b"{}"),
            "application/json, body \"{}\""
        );
        assert_eq!(
            describe_answer(&headers(&[]), b" \n"),
            "no content type, empty body"
        );
        let long = "a".repeat(1000);
        let d = describe_answer(&json, long.as_bytes());
        assert!(d.ends_with("a…\""), "{d}");
        assert!(d.chars().count() < 200, "{d}");
        // An unclosed title still shows what there is.
        assert_eq!(html_title("<title>half"), Some("half"));
        assert_eq!(html_title("no title here"), None);
    }

    proptest::proptest! {
        /// Any header bytes, any wall-clock reading: an answer or `None`.
        #[test]
        fn server_wait_never_panics(
            retry_after in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            reset in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            now in proptest::prelude::any::<u64>(),
        ) {
            let mut map = Headers::default();
            for (name, value) in [("retry-after", &retry_after), ("x-ratelimit-reset", &reset)] {
                map.push(name, value);
            }
            let _ = server_wait(&map, now);
            let _ = describe_answer(&map, &retry_after);
        }
    }

    #[test]
    fn mattermost_errors_are_read() {
        let body = br#"{"id":"web.incoming_webhook.invalid.app_error","message":"Invalid \"webhook\"","detailed_error":"","request_id":"x","status_code":400}"#;
        assert_eq!(
            answer_fields(body),
            (
                "web.incoming_webhook.invalid.app_error".to_string(),
                "Invalid \"webhook\"".to_string()
            )
        );
        assert_eq!(
            answer_fields(b"limit exceeded"),
            (String::new(), String::new())
        );
    }
}
