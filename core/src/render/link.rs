//! Title links and graph images from URL templates
//! (`https://oitc/a/hosts/browser/{hostuuid}`)
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
        if is_unreserved(b) {
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

/// RFC 3986 unreserved: written as it is.
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encoded length of each byte, so counting is one lookup a byte.
// Evaluated at compile time only: an index out of bounds here would fail
// the build, it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
const fn encoded_len_table() -> [u8; 256] {
    let mut table = [3u8; 256];
    let mut b = 0;
    while b < 256 {
        if is_unreserved(b as u8) {
            table[b] = 1;
        }
        b += 1;
    }
    table
}

static ENCODED_LEN: [u8; 256] = encoded_len_table();

/// The placeholders a template may use, with the value each stands for.
fn placeholders<'a>(n: &Notification<'a>) -> [(&'static str, &'a str); 4] {
    [
        ("{hostuuid}", n.host_uuid),
        ("{hostname}", n.host_label()),
        ("{serviceuuid}", n.service_uuid),
        ("{servicename}", n.service_label()),
    ]
}

/// One piece of a filled-in template.
enum Part<'t, 'v> {
    /// Literal template text, written JSON-escaped.
    Literal(&'t str),
    /// A placeholder's value, written percent-encoded.
    Value(&'v str),
}

/// Calls `each` with the pieces of `template` filled in from `n`, in
/// order. Unknown `{...}` text is literal.
fn for_each_part<'t, 'v>(
    template: &'t str,
    n: &Notification<'v>,
    mut each: impl FnMut(Part<'t, 'v>) -> Result<(), Overflow>,
) -> Result<(), Overflow> {
    let values = placeholders(n);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        each(Part::Literal(rest.get(..open).unwrap_or_default()))?;
        let tail = rest.get(open..).unwrap_or_default();
        match values.iter().find(|(name, _)| tail.starts_with(name)) {
            Some((name, value)) => {
                each(Part::Value(value))?;
                rest = tail.get(name.len()..).unwrap_or_default();
            }
            None => {
                each(Part::Literal("{"))?;
                rest = tail.get(1..).unwrap_or_default();
            }
        }
    }
    each(Part::Literal(rest))
}

/// Writes `template` with its placeholders filled in, as JSON string content.
/// Unknown `{...}` text is kept literally.
pub fn write_link(
    w: &mut JsonWriter<'_>,
    template: &str,
    n: &Notification<'_>,
) -> Result<(), Overflow> {
    for_each_part(template, n, |part| match part {
        Part::Literal(text) => w.escaped(text),
        Part::Value(value) => write_percent_encoded(w, value),
    })
}

/// Length of the link [`write_link`] writes, or `URL_MAX_LEN + 1` for any
/// longer link. Values are measured by counting, not encoding, and only
/// up to the limit, so a megabyte host name costs no more than a link of
/// the largest size that is kept.
pub fn link_len(template: &str, n: &Notification<'_>) -> usize {
    let over = URL_MAX_LEN + 1;
    let mut len = 0;
    let measured = for_each_part(template, n, |part| {
        len += match part {
            Part::Literal(text) => {
                let mut counter = JsonWriter::counting();
                counter.escaped(text)?;
                counter.len()
            }
            Part::Value(value) => percent_encoded_len(value, over - len.min(over)),
        };
        if len > URL_MAX_LEN {
            return Err(Overflow);
        }
        Ok(())
    });
    match measured {
        Ok(()) => len,
        Err(_) => over,
    }
}

/// Length of `value` percent-encoded, counted until it passes `limit`.
fn percent_encoded_len(value: &str, limit: usize) -> usize {
    let mut len = 0;
    for b in value.bytes() {
        len += usize::from(ENCODED_LEN.get(usize::from(b)).copied().unwrap_or(3));
        if len > limit {
            break;
        }
    }
    len
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
        // Encoded values count three bytes per reserved byte, to the byte.
        let prefix = "https://oitc/\"".len() + 1;
        for extra in 0..3 {
            let value = "/".repeat((URL_MAX_LEN - prefix) / 3) + &"a".repeat(extra);
            let n = Notification {
                host_uuid: &value,
                ..alert()
            };
            let mut buf = vec![0u8; 4 * URL_MAX_LEN];
            let mut w = JsonWriter::new(&mut buf);
            write_link(&mut w, "https://oitc/\"{hostuuid}", &n).unwrap();
            assert_eq!(
                link_len("https://oitc/\"{hostuuid}", &n),
                w.len().min(URL_MAX_LEN + 1)
            );
        }
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
