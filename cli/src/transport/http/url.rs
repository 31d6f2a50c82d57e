//! The URLs the client reaches, parsed once when the settings are read:
//! `http://` and `https://`, a host name, an IPv4 address or a bracketed
//! IPv6 address, an optional port, a path and query (a fragment is
//! dropped). User info (`user:password@`) becomes HTTP basic auth, as it
//! did under ureq; its `%XX` escapes are decoded first.
//!
//! Errors never repeat the URL: a webhook URL's path is its secret.

use std::fmt;
use std::net::Ipv6Addr;

/// A parsed `http://` or `https://` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Url {
    tls: bool,
    /// Without brackets: `mm.example`, `192.0.2.1`, `::1`.
    host: String,
    port: u16,
    /// `host[:port]` as written (brackets kept), for `Host:`.
    authority: String,
    /// Path and query, `/` when the URL has none.
    target: String,
    /// `Basic …` from the URL's user info.
    basic_auth: Option<String>,
}

/// Why a URL cannot be used. Says what is wrong, never the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// Not `http://` or `https://` (a proxy: not `http://` or none).
    Scheme,
    /// No host, or one with characters a host cannot have.
    Host,
    /// A port that is not a number from 1 to 65535.
    Port,
    /// A blank, control or non-ASCII character in the path or query.
    Path,
    /// User info with a broken `%` escape or one that is not UTF-8.
    UserInfo,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::Scheme => "it does not start with http:// or https://",
            UrlError::Host => "it has no valid host",
            UrlError::Port => "its port is not a number from 1 to 65535",
            UrlError::Path => "its path holds a blank, a control or a non-ASCII character",
            UrlError::UserInfo => "its user:password@ part is not valid",
        })
    }
}

impl std::error::Error for UrlError {}

impl Url {
    /// Parses an `http://` or `https://` URL.
    pub fn parse(url: &str) -> Result<Url, UrlError> {
        if let Some(rest) = strip_scheme(url, "https://") {
            Url::from_parts(true, rest, 443)
        } else if let Some(rest) = strip_scheme(url, "http://") {
            Url::from_parts(false, rest, 80)
        } else {
            Err(UrlError::Scheme)
        }
    }

    /// Parses a proxy's URL: `http://host:port`, or `host:port` alone (as
    /// curl and ureq read it); the port defaults to 80 and any path is
    /// ignored. `https://` and SOCKS proxies are [`UrlError::Scheme`].
    pub fn parse_proxy(url: &str) -> Result<Url, UrlError> {
        let rest = match url.split_once("://") {
            None => url,
            Some(_) => strip_scheme(url, "http://").ok_or(UrlError::Scheme)?,
        };
        let mut proxy = Url::from_parts(false, rest, 80)?;
        proxy.target = String::from("/");
        Ok(proxy)
    }

    fn from_parts(tls: bool, rest: &str, default_port: u16) -> Result<Url, UrlError> {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let tail = tail.split('#').next().unwrap_or("");
        if !tail.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UrlError::Path);
        }
        let target = match tail.as_bytes().first() {
            None => String::from("/"),
            Some(b'?') => format!("/{tail}"),
            Some(_) => tail.to_string(),
        };
        let (user_info, host_port) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port, default_port)?;
        let basic_auth = match user_info {
            None => None,
            Some(info) => {
                let (user, password) = info.split_once(':').unwrap_or((info, ""));
                let user = percent_decode(user).ok_or(UrlError::UserInfo)?;
                let password = percent_decode(password).ok_or(UrlError::UserInfo)?;
                Some(basic_auth(&user, &password))
            }
        };
        Ok(Url {
            tls,
            host: host.to_string(),
            port,
            authority: host_port.to_string(),
            target,
            basic_auth,
        })
    }

    /// Whether this is an `https://` URL.
    pub fn is_https(&self) -> bool {
        self.tls
    }

    /// The host, IPv6 addresses without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, the scheme's default when the URL names none.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host[:port]` as written, for the `Host` header.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `host:port` with IPv6 in brackets, as a CONNECT request names it.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The path and query (the request target), `/` at least.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// `Basic …` credentials from the URL's user info, if it had any.
    pub fn basic_auth(&self) -> Option<&str> {
        self.basic_auth.as_deref()
    }
}

impl fmt::Debug for Url {
    /// Without the path (a webhook's secret) and the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}/…", self.authority)
    }
}

fn strip_scheme<'a>(url: &'a str, scheme: &str) -> Option<&'a str> {
    let head = url.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| url.get(scheme.len()..))
        .flatten()
}

fn split_host_port(host_port: &str, default_port: u16) -> Result<(&str, u16), UrlError> {
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or(UrlError::Host)?;
            addr.parse::<Ipv6Addr>().map_err(|_| UrlError::Host)?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(UrlError::Host)?),
            };
            (addr, port)
        }
        None => match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        },
    };
    let host_ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    if host.is_empty() || !host_ok {
        return Err(UrlError::Host);
    }
    let port = match port {
        // `host:` is the default port (RFC 3986 §3.2.3).
        None | Some("") => default_port,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(UrlError::Port),
            }
        }
        Some(_) => return Err(UrlError::Port),
    };
    Ok((host, port))
}

/// `%XX` escapes decoded; `None` for a broken escape or non-UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let mut v = [0u8; 1];
            if !mattermost_notify_core::hex::decode_exact(s.get(i + 1..i + 3)?, &mut v) {
                return None;
            }
            out.extend_from_slice(&v);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `Basic <base64(user:password)>` (RFC 7617).
pub fn basic_auth(user: &str, password: &str) -> String {
    let mut out = String::from("Basic ");
    base64_into(format!("{user}:{password}").as_bytes(), &mut out);
    out
}

/// Standard base64 with padding, appended to `out`.
fn base64_into(bytes: &[u8], out: &mut String) {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(B64.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> (bool, String, u16, String, String) {
        let u = Url::parse(url).expect(url);
        (
            u.is_https(),
            u.host().to_string(),
            u.port(),
            u.authority().to_string(),
            u.target().to_string(),
        )
    }

    #[test]
    fn urls_are_split_into_their_parts() {
        assert_eq!(
            parts("https://mm.example:8065/hooks/abc?x=1#frag"),
            (
                true,
                "mm.example".into(),
                8065,
                "mm.example:8065".into(),
                "/hooks/abc?x=1".into()
            )
        );
        assert_eq!(
            parts("http://192.0.2.7"),
            (
                false,
                "192.0.2.7".into(),
                80,
                "192.0.2.7".into(),
                "/".into()
            )
        );
        assert_eq!(
            parts("https://[::1]:8443/hooks/x"),
            (
                true,
                "::1".into(),
                8443,
                "[::1]:8443".into(),
                "/hooks/x".into()
            )
        );
        assert_eq!(parts("HTTPS://[2001:db8::1]").2, 443);
        assert_eq!(parts("https://mm.example?x").4, "/?x");
        assert_eq!(parts("https://mm.example:/x").2, 443);
        assert_eq!(parts("https://my_host.lan/x").1, "my_host.lan");
    }

    #[test]
    fn connect_names_bracket_ipv6() {
        let v6 = Url::parse("https://[::1]:8443/").expect("v6");
        assert_eq!(v6.host_port(), "[::1]:8443");
        let v4 = Url::parse("http://127.0.0.1/").expect("v4");
        assert_eq!(v4.host_port(), "127.0.0.1:80");
    }

    #[test]
    fn bad_urls_are_refused_without_repeating_them() {
        let bad = |u: &str| Url::parse(u).err();
        assert_eq!(bad("ftp://mm.example/"), Some(UrlError::Scheme));
        assert_eq!(bad("mm.example/hooks/x"), Some(UrlError::Scheme));
        assert_eq!(bad("https:///hooks/x"), Some(UrlError::Host));
        assert_eq!(bad("https://mm example/"), Some(UrlError::Host));
        assert_eq!(bad("https://mm.example\r\nX: y/"), Some(UrlError::Host));
        assert_eq!(bad("https://[::1/"), Some(UrlError::Host));
        assert_eq!(bad("https://[nope]/"), Some(UrlError::Host));
        assert_eq!(bad("https://[::1]x/"), Some(UrlError::Host));
        assert_eq!(bad("https://mm.example:99999/"), Some(UrlError::Port));
        assert_eq!(bad("https://mm.example:0/"), Some(UrlError::Port));
        assert_eq!(bad("https://mm.example:8x/"), Some(UrlError::Port));
        assert_eq!(bad("https://mm.example/a b"), Some(UrlError::Path));
        assert_eq!(
            bad("https://mm.example/a\r\nHost: evil"),
            Some(UrlError::Path)
        );
        assert_eq!(bad("https://mm.example/é"), Some(UrlError::Path));
        assert_eq!(bad("https://u:%zz@mm.example/"), Some(UrlError::UserInfo));
        let shown = UrlError::Path.to_string();
        assert!(!shown.contains("mm.example"), "{shown}");
    }

    #[test]
    fn user_info_becomes_basic_auth_and_is_never_shown() {
        let u = Url::parse("https://alice:s%40cret@mm.example/hooks/abcdefgh").expect("url");
        assert_eq!(u.authority(), "mm.example");
        assert_eq!(u.basic_auth(), Some(basic_auth("alice", "s@cret").as_str()));
        let shown = format!("{u:?}");
        assert_eq!(shown, "https://mm.example/…");
        assert!(Url::parse("https://mm.example/")
            .expect("url")
            .basic_auth()
            .is_none());
    }

    #[test]
    fn proxies_are_http_with_or_without_the_scheme() {
        let p = Url::parse_proxy("http://u:p@proxy.lan:3128/").expect("proxy");
        assert_eq!((p.host(), p.port()), ("proxy.lan", 3128));
        assert_eq!(p.basic_auth(), Some("Basic dTpw"));
        let bare = Url::parse_proxy("10.0.0.1:8080").expect("bare");
        assert_eq!((bare.host(), bare.port()), ("10.0.0.1", 8080));
        assert_eq!(Url::parse_proxy("proxy.lan").expect("no port").port(), 80);
        assert_eq!(
            Url::parse_proxy("https://proxy.lan:443").err(),
            Some(UrlError::Scheme)
        );
        assert_eq!(
            Url::parse_proxy("socks5://proxy.lan:1080").err(),
            Some(UrlError::Scheme)
        );
    }

    #[test]
    fn basic_auth_is_rfc7617() {
        assert_eq!(
            basic_auth("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic_auth("a", "b"), "Basic YTpi");
        let mut out = String::new();
        base64_into(b"", &mut out);
        assert_eq!(out, "");
        base64_into(b"ab", &mut out);
        assert_eq!(out, "YWI=");
    }

    proptest::proptest! {
        /// Any text: a URL or an error, never a panic; a parsed URL's
        /// target can go on a request line as it is.
        #[test]
        fn parsing_never_panics(s in "\\PC{0,60}", tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let text = format!("https://{s}{}", String::from_utf8_lossy(&tail));
            if let Ok(u) = Url::parse(&text) {
                proptest::prop_assert!(u.target().bytes().all(|b| b.is_ascii_graphic()));
                proptest::prop_assert!(u.authority().bytes().all(|b| b.is_ascii_graphic()));
            }
            let _ = Url::parse_proxy(&s);
        }
    }
}
