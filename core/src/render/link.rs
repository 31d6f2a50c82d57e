//! Title links from URL templates (`https://oitc/a/hosts/browser/{hostuuid}`)
//! and the http(s) check Mattermost applies to links and button URLs.
//!
//! Placeholder values come from the alert and are untrusted: they are
//! percent-encoded (everything but RFC 3986's unreserved characters), so a
//! value can neither leave its path segment nor turn the link into another
//! scheme. The scheme is taken from the template's literal prefix only.

use crate::json::{JsonWriter, Overflow};
use crate::limits::URL_MAX_LEN;
use crate::model::Notification;

/// Whether `url` is an absolute http(s) URL with no whitespace or control
/// characters: the only kind Mattermost follows for title links and button
/// integrations.
pub fn is_http_url(url: &str) -> bool {
    let rest = if starts_with_ignore_case(url, "https://") {
        url.get(8..)
    } else if starts_with_ignore_case(url, "http://") {
        url.get(7..)
    } else {
        None
    };
    match rest {
        Some(rest) => {
            !rest.is_empty()
                && !rest.starts_with('/')
                && url.chars().all(|c| !c.is_whitespace() && !c.is_control())
        }
        None => false,
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// Writes `value` percent-encoded: RFC 3986 unreserved characters as they
/// are, every other byte as `%XX`.
pub fn write_percent_encoded(w: &mut JsonWriter<'_>, value: &str) -> Result<(), Overflow> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut plain_start = 0;
    for (i, b) in value.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            continue;
        }
        w.raw(value.get(plain_start..i).unwrap_or_default())?;
        let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
        let lo = HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
        w.push(&[b'%', hi, lo])?;
        plain_start = i + 1;
    }
    w.raw(value.get(plain_start..).unwrap_or_default())
}

/// The placeholders a template may use, with the value each stands for.
fn placeholders<'a>(n: &Notification<'a>) -> [(&'static str, &'a str); 4] {
    [
        ("{hostuuid}", n.host_uuid),
        ("{hostname}", n.host_label()),
        ("{serviceuuid}", n.service_uuid),
        ("{servicename}", n.service_label()),
    ]
}

/// Writes `template` with its placeholders filled in, as JSON string content.
/// Unknown `{...}` text is kept literally.
pub fn write_link(
    w: &mut JsonWriter<'_>,
    template: &str,
    n: &Notification<'_>,
) -> Result<(), Overflow> {
    let values = placeholders(n);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        w.escaped(rest.get(..open).unwrap_or_default())?;
        let tail = rest.get(open..).unwrap_or_default();
        match values.iter().find(|(name, _)| tail.starts_with(name)) {
            Some((name, value)) => {
                write_percent_encoded(w, value)?;
                rest = tail.get(name.len()..).unwrap_or_default();
            }
            None => {
                w.raw("{")?;
                rest = tail.get(1..).unwrap_or_default();
            }
        }
    }
    w.escaped(rest)
}

/// Length of the link [`write_link`] writes, or `URL_MAX_LEN + 1` for any
/// longer link: writing stops there, so a megabyte host name costs no more
/// than a link of the largest size that is kept.
pub fn link_len(template: &str, n: &Notification<'_>) -> usize {
    let mut scratch = [0u8; URL_MAX_LEN + 1];
    let mut w = JsonWriter::new(&mut scratch);
    match write_link(&mut w, template, n) {
        Ok(()) => w.len(),
        Err(_) => URL_MAX_LEN + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, NotificationType, State};

    fn alert() -> Notification<'static> {
        Notification {
            kind: Kind::Service,
            notification_type: NotificationType::Problem,
            state: State::Critical,
            host_uuid: "c36b8048-93ce-4385-ac19-ab5c90574b77",
            host_name: "web 1/é",
            host_address: "",
            service_uuid: "74f14950-a58f-4f18-b6c3-5cfa9cffef4e",
            service_name: "",
            output: "",
            long_output: "",
            ack_author: "",
            ack_comment: "",
            event_time: 0,
        }
    }

    fn link(template: &str) -> String {
        let mut buf = [0u8; 512];
        let mut w = JsonWriter::new(&mut buf);
        write_link(&mut w, template, &alert()).unwrap();
        assert_eq!(w.len(), link_len(template, &alert()));
        String::from_utf8(w.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn link_len_stops_just_past_the_url_limit() {
        let long = "x".repeat(64 * 1024);
        let n = Notification {
            host_uuid: &long,
            ..alert()
        };
        assert_eq!(link_len("https://oitc/{hostuuid}", &n), URL_MAX_LEN + 1);
        let fits = "x".repeat(URL_MAX_LEN - "https://oitc/".len());
        let n = Notification {
            host_uuid: &fits,
            ..alert()
        };
        assert_eq!(link_len("https://oitc/{hostuuid}", &n), URL_MAX_LEN);
    }

    #[test]
    fn placeholders_are_filled_and_percent_encoded() {
        assert_eq!(
            link("https://oitc/a/hosts/browser/{hostuuid}"),
            "https://oitc/a/hosts/browser/c36b8048-93ce-4385-ac19-ab5c90574b77"
        );
        assert_eq!(
            link("https://m/h?n={hostname}&s={servicename}"),
            "https://m/h?n=web%201%2F%C3%A9&s=74f14950-a58f-4f18-b6c3-5cfa9cffef4e"
        );
        assert_eq!(
            link("https://x/{nope}/{serviceuuid"),
            "https://x/{nope}/{serviceuuid"
        );
    }

    #[test]
    fn only_plain_http_urls_pass() {
        for ok in ["http://a", "https://mm.example/hooks/x", "HTTPS://A/b?c=d"] {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in [
            "",
            "javascript:alert(1)",
            "ftp://a",
            "https://",
            "https:///path",
            "https://a b",
            "https://a\nb",
            "//a",
            "httpx://a",
        ] {
            assert!(!is_http_url(bad), "{bad:?}");
        }
    }
}
