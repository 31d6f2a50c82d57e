//! HTTP for every transport: the ureq client built from the settings
//! (TLS trust, proxy, timeouts, small buffers), one request and its
//! answer ([`exchange`]), and what a failed answer means ([`SendError`]),
//! the same for the webhook and the REST API.
//!
//! Trust is explicit: the bundled webpki roots by default, or only the
//! certificates of `MATTERMOST_CA_FILE` (the bundled store is then never
//! built — start-up time matters when a core forks us for every alert), or
//! no verification at all with `MATTERMOST_INSECURE`, logged loudly on every
//! run. Proxies are off unless `MATTERMOST_USE_PROXY` is on; ureq is never
//! allowed to read proxy variables by itself. Timeouts are always set: a
//! monitoring core kills a notification command after 30 s.

use crate::config::{env_value, key, Config};
use crate::error::Error;
use crate::logger::redact;
use crate::notify::unix_now;
use mattermost_notify_core::retry_after::{rate_limit_reset_secs, retry_after_secs};
use std::fmt;
use std::io::Read;
use std::time::{Duration, Instant};
use ureq::tls::{PemItem, RootCerts, TlsConfig};

/// Connect timeout when `MATTERMOST_CONNECT_TIMEOUT` is unset.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout when `MATTERMOST_TIMEOUT` is unset.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Most bytes of a response body read (Mattermost answers `ok` or a small
/// error JSON); a longer body is read this far and the rest left unread.
pub(crate) const MAX_RESPONSE_BODY: u64 = 64 * 1024;
/// Most characters of a wrong answer's title or text shown in a message.
/// ureq's input buffer, and so the largest response head accepted. ureq's
/// default is 128 KiB, and it zero-fills an input and an output buffer for
/// the TCP and again for the TLS layer before the first byte: 512 KiB, half
/// of all instructions of a run and a tenth of its wall time (see
/// tests/bench/PERFORMANCE.md). Mattermost's answer heads are under 1 KiB.
const INPUT_BUFFER_LEN: usize = 16 * 1024;
/// ureq's output buffer: request head plus a whole payload, so a post goes
/// out in one write.
pub(crate) const OUTPUT_BUFFER_LEN: usize = mattermost_notify_core::limits::PAYLOAD_BUF_LEN + 1024;

/// Why a post was not accepted. Messages never name the URL (the caller
/// adds [`super::webhook::Deliverer::redacted_url`] where it helps).
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

/// What came back for one request.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The answer's headers.
    pub headers: ureq::http::HeaderMap,
    /// The body, read up to [`MAX_RESPONSE_BODY`].
    pub body: Vec<u8>,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// What a non-2xx answer means: 429 rate limited (with the server's
    /// wait), 408 and 5xx temporary, anything else refused for good, with
    /// Mattermost's error id and message; `hint` (what to fix) follows the
    /// message of a refusal.
    pub fn error(&self, hint: &str) -> SendError {
        let status = self.status;
        let text = printable(&self.body);
        let (id, message) = answer_fields(&self.body);
        let (id, message) = (printable(id.as_bytes()), printable(message.as_bytes()));
        match status {
            429 => SendError::RateLimited {
                retry_after: server_wait(&self.headers, unix_now()),
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
}

/// One request with `agent`: `body` is POSTed as JSON (PUT when `put`;
/// the answer asked for as JSON), none is a GET; `auth` is the
/// `Authorization` value; the whole request
/// is bounded by `timeout`. Logged as `log_as` (never a secret URL) with
/// its status and time. Every transport sends through this one path.
pub(crate) fn exchange(
    agent: &ureq::Agent,
    url: &str,
    auth: Option<&str>,
    body: Option<&[u8]>,
    put: bool,
    timeout: Duration,
    log_as: &str,
) -> Result<Answer, SendError> {
    let started = Instant::now();
    let result = match body {
        None => {
            let mut r = agent.get(url);
            if let Some(a) = auth {
                r = r.header("Authorization", a);
            }
            r.config().timeout_global(Some(timeout)).build().call()
        }
        Some(body) => {
            let mut r = if put { agent.put(url) } else { agent.post(url) }
                .header("Content-Type", "application/json")
                .header("Accept", "application/json");
            if let Some(a) = auth {
                r = r.header("Authorization", a);
            }
            r.config().timeout_global(Some(timeout)).build().send(body)
        }
    };
    let resp = result.map_err(|e| SendError::Temporary(describe_transport_error(&e)))?;
    let status = resp.status().as_u16();
    let (parts, mut body) = resp.into_parts();
    // A body over the cap is read that far: a long login page still shows
    // its title, and a read error keeps what arrived.
    let mut raw = Vec::new();
    let _ = body
        .as_reader()
        .take(MAX_RESPONSE_BODY)
        .read_to_end(&mut raw);
    log::info!(
        "{log_as} answered {status} in {} ms",
        started.elapsed().as_millis()
    );
    Ok(Answer {
        status,
        headers: parts.headers,
        body: raw,
    })
}

/// The HTTP client for `url`: TLS trust, proxy and timeouts from the
/// settings, no redirects, small buffers; with the trust and the route in
/// words, and the whole-request timeout. Shared by the webhook and the
/// REST API transport.
pub(crate) fn agent(
    cfg: &Config,
    url: &str,
    output_buffer: usize,
) -> Result<(ureq::Agent, String, String, Duration), Error> {
    let connect = cfg.seconds(key::CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT)?;
    let total = cfg.seconds(key::TIMEOUT, DEFAULT_TIMEOUT)?;
    let (tls, trust) = tls_config(cfg)?;
    let proxy = proxy(cfg, url)?;
    let route = match &proxy {
        Some((p, source)) => format!("through proxy {}:{} (from {source})", p.host(), p.port()),
        None => "direct".to_string(),
    };
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        // Always explicit: `None` stops ureq from reading proxy variables.
        .proxy(proxy.map(|(p, _)| p))
        .timeout_connect(Some(connect))
        .timeout_global(Some(total))
        .http_status_as_error(false)
        // Mattermost never redirects these requests; a 3xx says the URL is
        // wrong, and following it could carry the post somewhere else.
        .max_redirects(0)
        .max_redirects_will_error(false)
        .input_buffer_size(INPUT_BUFFER_LEN)
        .max_response_header_size(INPUT_BUFFER_LEN)
        .output_buffer_size(output_buffer)
        .user_agent(concat!("mattermost-notify/", env!("CARGO_PKG_VERSION")))
        .build();
    Ok((config.new_agent(), trust, route, total))
}

/// How long a 429 asks us to wait, at unix time `now`: `Retry-After`, else
/// `X-RateLimit-Reset`, read by core's rules (huge values saturate, dates
/// and unix times count from `now`, garbage is no answer: `None`).
pub fn server_wait(headers: &ureq::http::HeaderMap, now: u64) -> Option<Duration> {
    let secs = |name: &str, read: fn(&[u8], u64) -> Option<u64>| {
        headers.get(name).and_then(|v| read(v.as_bytes(), now))
    };
    secs("retry-after", retry_after_secs)
        .or_else(|| secs("x-ratelimit-reset", rate_limit_reset_secs))
        .map(Duration::from_secs)
}

/// The TLS settings and a description of what is trusted.
pub(crate) fn tls_config(cfg: &Config) -> Result<(TlsConfig, String), Error> {
    let tls = TlsConfig::builder().unversioned_rustls_crypto_provider(super::crypto::provider());
    if cfg.bool(key::INSECURE)? {
        log::warn!(
            "MATTERMOST_INSECURE is on: the server's certificate is NOT verified; \
             anyone on the network path can read the webhook secret and fake answers"
        );
        let trust = "NOTHING: certificate verification is off (MATTERMOST_INSECURE)";
        return Ok((tls.disable_verification(true).build(), trust.to_string()));
    }
    if let Some(path) = cfg.get(key::CA_FILE) {
        let certs = pem_certificates(cfg, key::CA_FILE, path)?;
        let trust = format!("only the {} certificate(s) in {path}", certs.len());
        return Ok((
            tls.root_certs(RootCerts::new_with_certs(&certs)).build(),
            trust,
        ));
    }
    Ok((
        tls.build(),
        "the bundled webpki (Mozilla) roots".to_string(),
    ))
}

/// The certificates in the PEM file `path` that setting `key` names; an
/// unreadable file, bad PEM or no certificate is that setting's error.
pub(crate) fn pem_certificates(
    cfg: &Config,
    key: &'static str,
    path: &str,
) -> Result<Vec<ureq::tls::Certificate<'static>>, Error> {
    let pem =
        std::fs::read(path).map_err(|e| cfg.invalid(key, format!("cannot read {path}: {e}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(cfg.invalid(key, format!("{path} is not valid PEM: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(cfg.invalid(key, format!("{path} holds no certificate")));
    }
    Ok(certs)
}

/// A client for a server `serve` talks to directly (a backend's API,
/// Mattermost's dialog endpoint): trust as `tls` says, no proxy, no
/// redirects, `timeout` for each whole request.
pub(crate) fn direct_agent(tls: TlsConfig, timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .tls_config(tls)
        .proxy(None)
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("mattermost-notify/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// The proxy to use for `url` and where it was set, or `None` for a
/// direct connection.
fn proxy(cfg: &Config, url: &str) -> Result<Option<(ureq::Proxy, &'static str)>, Error> {
    if !cfg.bool(key::USE_PROXY)? {
        if cfg.get(key::PROXY).is_some() {
            log::info!(
                "MATTERMOST_PROXY is set but MATTERMOST_USE_PROXY is off: connecting directly"
            );
        }
        return Ok(None);
    }
    let host = url_host(url);
    if let Some(no_proxy) = env_value("NO_PROXY").or_else(|| env_value("no_proxy")) {
        if no_proxy_matches(&no_proxy, host) {
            log::info!("{host} is in NO_PROXY: connecting directly");
            return Ok(None);
        }
    }
    let (value, source) = match cfg.get(key::PROXY) {
        Some(p) => (p.to_string(), key::PROXY),
        None => {
            let names: &[&'static str] = if url.starts_with("https://") {
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
    let proxy = ureq::Proxy::new(value.trim()).map_err(|e| {
        cfg.invalid(
            key::PROXY,
            format!("proxy from {source} is not a proxy URL: {e}"),
        )
    })?;
    log::info!(
        "connecting through proxy {}:{} (from {source})",
        proxy.host(),
        proxy.port()
    );
    Ok(Some((proxy, source)))
}

/// The host of an http(s) URL, without brackets, user info or port.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    host_port.split(':').next().unwrap_or(host_port)
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
pub(crate) fn describe_transport_error(e: &ureq::Error) -> String {
    let rustls_error = match e {
        ureq::Error::Rustls(r) => Some(r.clone()),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .cloned(),
        _ => None,
    };
    let text = match rustls_error {
        Some(rustls::Error::InvalidCertificate(why)) => format!(
            "TLS: the server's certificate is not trusted ({why:?}); set MATTERMOST_CA_FILE \
             to the PEM of the CA that signed it (or, at your own risk, MATTERMOST_INSECURE=1)"
        ),
        Some(other) => format!("TLS: {other}"),
        None => match e {
            ureq::Error::Timeout(t) => {
                format!("timed out ({t}); see MATTERMOST_TIMEOUT and MATTERMOST_CONNECT_TIMEOUT")
            }
            ureq::Error::HostNotFound => "host not found (DNS)".to_string(),
            ureq::Error::ConnectProxyFailed(m) => format!("proxy refused CONNECT: {m}"),
            other => other.to_string(),
        },
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
    // Strings with escapes are unescaped here; our own posts' messages
    // (thread replies) are at most REPLY_BUF_LEN bytes.
    let mut scratch = [0u8; 4096];
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
    fn hosts_are_taken_from_urls() {
        assert_eq!(url_host("https://u@Mm.Example:8065/hooks/x"), "Mm.Example");
        assert_eq!(url_host("https://[::1]:8065/hooks/x"), "::1");
        assert_eq!(url_host("http://127.0.0.1/hooks/x"), "127.0.0.1");
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

    fn headers(pairs: &[(&'static str, &[u8])]) -> ureq::http::HeaderMap {
        let mut map = ureq::http::HeaderMap::new();
        for (name, value) in pairs {
            let value = ureq::http::HeaderValue::from_bytes(value).expect("header value");
            map.append(*name, value);
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
