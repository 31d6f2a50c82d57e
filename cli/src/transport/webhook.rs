//! The incoming webhook: one POST of a rendered payload, and the only
//! answer that is a delivery, Mattermost's `ok` (DESIGN §3); anything
//! else that says 2xx is described so the admin sees what answered.

use super::http::{agent, exchange, printable, SendError, OUTPUT_BUFFER_LEN};
use crate::config::{key, Config};
use crate::error::Error;
use crate::logger::redact;
use std::time::Duration;

/// Most characters of a wrong answer's title or text shown in a message.
const EXCERPT_LEN: usize = 120;

/// A configured webhook client.
#[derive(Debug)]
pub struct Deliverer {
    agent: ureq::Agent,
    url: String,
    redacted: String,
    trust: String,
    route: String,
    /// `MATTERMOST_TIMEOUT`.
    timeout: Duration,
}

impl Deliverer {
    /// Builds the client from the webhook, TLS, proxy and timeout settings.
    pub fn from_config(cfg: &Config) -> Result<Self, Error> {
        cfg.require(key::WEBHOOK_URL)?;
        let url = cfg.url(key::WEBHOOK_URL)?.unwrap_or_default().to_string();
        let redacted = redact_url(&url);
        if url.parse::<ureq::http::Uri>().is_err() {
            return Err(cfg.invalid(key::WEBHOOK_URL, format!("{redacted:?} is not a valid URL")));
        }
        let (agent, trust, route, timeout) = agent(cfg, &url, OUTPUT_BUFFER_LEN)?;
        if url.starts_with("http://") {
            log::warn!("{redacted} is plain http: the webhook secret travels unencrypted");
        }
        Ok(Deliverer {
            agent,
            url,
            redacted,
            trust,
            route,
            timeout,
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
        let timeout = timeout.unwrap_or(self.timeout);
        let answer = exchange(
            &self.agent,
            &self.url,
            None,
            Some(body),
            false,
            timeout,
            &self.redacted,
        )?;
        if !answer.is_success() {
            return Err(answer.error(""));
        }
        // Mattermost's one success answer (DESIGN §3). Anything else came
        // from something else, and nothing says the post exists.
        if answer.body.trim_ascii() == b"ok" {
            return Ok(answer.status);
        }
        Err(SendError::NotMattermost {
            status: answer.status,
            answered: self.hide_secret(&describe_answer(&answer.headers, &answer.body)),
        })
    }
}

impl Deliverer {
    /// `text` with this webhook's URL and hook id hidden (a portal may echo
    /// the address it was asked for).
    fn hide_secret(&self, text: &str) -> String {
        let mut text = text.replace(&self.url, &self.redacted);
        let id = self.url.rsplit('/').next().unwrap_or("");
        if id.len() >= 8 {
            text = text.replace(id, "***");
        }
        redact(&text)
    }
}

/// What sent a 2xx that is not Mattermost's `ok`, in a few words: the
/// content type, the `Server` header, and the HTML `<title>` or the start
/// of the body.
fn describe_answer(headers: &ureq::http::HeaderMap, body: &[u8]) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| excerpt(&printable(v.as_bytes())))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::http::server_wait;

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

    fn headers(pairs: &[(&'static str, &[u8])]) -> ureq::http::HeaderMap {
        let mut map = ureq::http::HeaderMap::new();
        for (name, value) in pairs {
            let value = ureq::http::HeaderValue::from_bytes(value).expect("header value");
            map.append(*name, value);
        }
        map
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
            let mut map = ureq::http::HeaderMap::new();
            for (name, value) in [("retry-after", &retry_after), ("x-ratelimit-reset", &reset)] {
                if let Ok(v) = ureq::http::HeaderValue::from_bytes(value) {
                    map.insert(name, v);
                }
            }
            let _ = server_wait(&map, now);
            let _ = describe_answer(&map, &retry_after);
        }
    }
}
