//! The list a digest's buttons are signed over, as canonical bytes.
//!
//! A digest post offers **Acknowledge all** and a menu to acknowledge one
//! problem at a time. Its buttons cannot carry dozens of problems in their
//! context, so the notify side writes the list of acknowledgeable items to
//! the node's state directory as these bytes, and the digest's id is the
//! first 16 bytes of their SHA-256 in hex (`digest-<32 hex>`). The id is
//! the signed context's `problem`: a signature over the id is a signature
//! over the list, and the receiver acts only on a list whose bytes hash to
//! it. Cryptography stays in the CLI; this module only decides bytes.
//!
//! ```text
//! mattermost-notify digest list
//! kind=7:service
//! host=4:web1
//! service=4:http
//! problem=4:4711
//! (... the next item ...)
//! ```

use crate::ack::{decimal, is_problem_id, AckKind};
use crate::limits::{ACK_HOST_MAX, ACK_SERVICE_MAX};

/// What a digest id starts with; 32 lowercase hex digits follow.
pub const DIGEST_ID_PREFIX: &str = "digest-";

/// First bytes of every list (domain separation).
pub const DIGEST_LIST_DOMAIN: &[u8] = b"mattermost-notify digest list\n";

/// One acknowledgeable problem of a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListItem<'a> {
    /// Host or service.
    pub kind: AckKind,
    /// `$HOSTNAME$`.
    pub host: &'a str,
    /// `$SERVICEDESC$`; empty for hosts.
    pub service: &'a str,
    /// The problem id the item was announced with.
    pub problem: &'a str,
}

impl ListItem<'_> {
    /// Whether the item can be in a list: fields within the ack context's
    /// limits, a problem id, a service exactly for service items.
    pub fn is_valid(&self) -> bool {
        !self.host.is_empty()
            && self.host.len() <= ACK_HOST_MAX
            && self.service.len() <= ACK_SERVICE_MAX
            && is_problem_id(self.problem)
            && (self.kind == AckKind::Service) != self.service.is_empty()
    }
}

/// Why a list could not be written or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListError {
    /// The buffer is too small for the list.
    BufferTooSmall,
    /// An item is not [`ListItem::is_valid`] (writing), or the bytes are
    /// not a list (reading).
    Invalid,
}

impl core::fmt::Display for ListError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ListError::BufferTooSmall => f.write_str("buffer too small for the digest list"),
            ListError::Invalid => f.write_str("not a valid digest list"),
        }
    }
}

/// Bytes one item takes in a list.
pub fn item_len(item: &ListItem<'_>) -> usize {
    let field = |name: &str, v: &str| {
        let mut d = [0u8; 20];
        name.len() + 2 + decimal(v.len() as u64, &mut d).len() + v.len() + 1
    };
    field("kind", item.kind.as_str())
        + field("host", item.host)
        + field("service", item.service)
        + field("problem", item.problem)
}

/// Writes the list of `items` into `buf`; returns its length.
pub fn write_list(items: &[ListItem<'_>], buf: &mut [u8]) -> Result<usize, ListError> {
    let mut len = 0;
    let mut put = |bytes: &[u8]| -> Result<(), ListError> {
        let end = len + bytes.len();
        buf.get_mut(len..end)
            .ok_or(ListError::BufferTooSmall)?
            .copy_from_slice(bytes);
        len = end;
        Ok(())
    };
    put(DIGEST_LIST_DOMAIN)?;
    for item in items {
        if !item.is_valid() {
            return Err(ListError::Invalid);
        }
        for (name, value) in [
            ("kind", item.kind.as_str()),
            ("host", item.host),
            ("service", item.service),
            ("problem", item.problem),
        ] {
            let mut d = [0u8; 20];
            put(name.as_bytes())?;
            put(b"=")?;
            put(decimal(value.len() as u64, &mut d))?;
            put(b":")?;
            put(value.as_bytes())?;
            put(b"\n")?;
        }
    }
    Ok(len)
}

/// The items of a list, in order; [`ListError::Invalid`] for bytes that
/// are not exactly a list [`write_list`] writes.
#[derive(Debug, Clone)]
pub struct ListReader<'a> {
    rest: &'a [u8],
    failed: bool,
}

/// Reads the list in `bytes`.
pub fn read_list(bytes: &[u8]) -> Result<ListReader<'_>, ListError> {
    let rest = bytes
        .strip_prefix(DIGEST_LIST_DOMAIN)
        .ok_or(ListError::Invalid)?;
    Ok(ListReader {
        rest,
        failed: false,
    })
}

impl<'a> ListReader<'a> {
    fn field(&mut self, name: &str) -> Option<&'a str> {
        let rest = self
            .rest
            .strip_prefix(name.as_bytes())?
            .strip_prefix(b"=")?;
        let colon = rest.iter().position(|&b| b == b':')?;
        let digits = rest.get(..colon)?;
        if digits.is_empty() || digits.len() > 6 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = digits
            .iter()
            .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
        let value = rest.get(colon + 1..colon + 1 + n)?;
        self.rest = rest.get(colon + 1 + n..)?.strip_prefix(b"\n")?;
        core::str::from_utf8(value).ok()
    }
}

impl<'a> Iterator for ListReader<'a> {
    type Item = Result<ListItem<'a>, ListError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let item = (|| {
            let kind = AckKind::parse(self.field("kind")?)?;
            let item = ListItem {
                kind,
                host: self.field("host")?,
                service: self.field("service")?,
                problem: self.field("problem")?,
            };
            item.is_valid().then_some(item)
        })();
        match item {
            Some(i) => Some(Ok(i)),
            None => {
                self.failed = true;
                Some(Err(ListError::Invalid))
            }
        }
    }
}

/// Whether `s` is a digest id as the context's `problem` carries it:
/// [`DIGEST_ID_PREFIX`] and 32 lowercase hex digits.
pub fn is_digest_id(s: &str) -> bool {
    s.strip_prefix(DIGEST_ID_PREFIX)
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEMS: [ListItem<'static>; 2] = [
        ListItem {
            kind: AckKind::Service,
            host: "web1",
            service: "http",
            problem: "4711",
        },
        ListItem {
            kind: AckKind::Host,
            host: "db1",
            service: "",
            problem: "12",
        },
    ];

    #[test]
    fn the_list_is_the_documented_encoding_and_reads_back() {
        let mut buf = [0u8; 512];
        let n = write_list(&ITEMS, &mut buf).unwrap();
        let want = b"mattermost-notify digest list\nkind=7:service\nhost=4:web1\n\
service=4:http\nproblem=4:4711\nkind=4:host\nhost=3:db1\nservice=0:\nproblem=2:12\n";
        assert_eq!(&buf[..n], &want[..]);
        assert_eq!(
            n,
            DIGEST_LIST_DOMAIN.len() + ITEMS.iter().map(item_len).sum::<usize>()
        );
        let back: Vec<_> = read_list(&buf[..n]).unwrap().map(Result::unwrap).collect();
        assert_eq!(back, ITEMS);
    }

    #[test]
    fn anything_else_is_refused() {
        let mut buf = [0u8; 512];
        let n = write_list(&ITEMS, &mut buf).unwrap();
        for cut in 1..n - DIGEST_LIST_DOMAIN.len() {
            if cut == item_len(&ITEMS[1]) {
                continue; // exactly the first item: a list of one
            }
            let r: Result<Vec<_>, _> = match read_list(&buf[..n - cut]) {
                Ok(r) => r.collect(),
                Err(e) => Err(e),
            };
            assert!(r.is_err(), "cut {cut}");
        }
        assert!(read_list(b"other\n").is_err());
        let bad = ListItem {
            problem: "1;2",
            ..ITEMS[0]
        };
        assert_eq!(write_list(&[bad], &mut buf), Err(ListError::Invalid));
        assert_eq!(
            write_list(&ITEMS, &mut buf[..40]),
            Err(ListError::BufferTooSmall)
        );
        assert!(is_digest_id("digest-0123456789abcdef0123456789abcdef"));
        assert!(!is_digest_id("digest-0123456789ABCDEF0123456789abcdef"));
        assert!(!is_digest_id("4711"));
    }
}
