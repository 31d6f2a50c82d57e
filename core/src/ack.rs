//! The acknowledgement context an Acknowledge button carries, and the
//! canonical bytes its signature covers.
//!
//! Mattermost echoes a button's `context` back verbatim and adds no
//! authentication of its own (DESIGN §4), so the context authenticates
//! itself: the notify side signs [`AckContext::canonical_bytes`] with
//! HMAC-SHA256 and puts the hex tag in `sig`; the receiver rebuilds the same
//! bytes from what it got and verifies the tag. Every value is a string
//! because Mattermost turns JSON numbers into floats.
//!
//! The canonical encoding is a domain-separation line followed by every
//! field except `sig`, in a fixed order, each as `name=<byte length>:value\n`.
//! The length prefix makes it unambiguous whatever the values contain, and
//! the domain line keeps a tag made for anything else from verifying here.
//! Cryptography stays in the CLI (ring); this module only decides bytes.
//!
//! Version 2 signs the problem the button was posted for (`problem`: the
//! core's `$SERVICEPROBLEMID$`/`$HOSTPROBLEMID$`, or an id the notify side
//! keeps for cores without one), so the receiver can refuse a click whose
//! problem is no longer the current one. Version 1 buttons (already in
//! channels from older releases) carry no problem and are answered with
//! [`AckError::OldVersion`]: the receiver explains, and writes nothing.
//!
//! The `action` field says what the button does (`ack`, `comment`,
//! `downtime`, `recheck`, `unack`: [`crate::actions::Action`]); it is
//! signed like everything else, so a Recheck button cannot be turned into
//! an Acknowledge one. A dialog's `state` ([`crate::dialog`]) is this same
//! context extended by the post, the clicker and the button it came from,
//! signed under its own domain line.
//!
//! ```text
//! mattermost-notify ack context
//! v=1:2
//! action=3:ack
//! kind=7:service
//! host=4:web1
//! service=4:http
//! problem=4:4711
//! label=12:http on web1
//! text=0:
//! exp=10:1800000000
//! ```

use crate::actions::Action;
use crate::limits::{
    ACK_EXP_MAX, ACK_HOST_MAX, ACK_LABEL_MAX, ACK_PROBLEM_MAX, ACK_SERVICE_MAX, ACK_SHORT_MAX,
    ACK_SIG_HEX_LEN, ACK_TEXT_MAX,
};

/// The context format version this build writes and accepts.
pub const ACK_VERSION: &str = "2";

/// The version of buttons posted by releases before [`ACK_VERSION`] 2:
/// recognised only to explain why they no longer work.
pub const ACK_OLD_VERSION: &str = "1";

/// The action of a plain Acknowledge button.
pub const ACK_ACTION: &str = "ack";

/// The action of a digest's **Acknowledge all** button: every problem of
/// the digest's signed list ([`crate::digest_list`]).
pub const ACK_ACTION_ALL: &str = "ackall";

/// The action of a digest's **Acknowledge one…** menu: the problem of the
/// list the clicker selected (`selected_option`, an index; not signed, the
/// list is).
pub const ACK_ACTION_ONE: &str = "ackone";

/// `kind` of a digest's contexts: `host` and `service` are empty and
/// `problem` is the digest's id, the hash of its list.
pub const ACK_KIND_DIGEST: &str = "digest";

/// First bytes of every canonical encoding (domain separation).
pub const ACK_DOMAIN: &[u8] = b"mattermost-notify ack context\n";

/// Context keys, in the order the button carries them (`sig` last).
pub const ACK_KEYS: [&str; 10] = [
    "v", "action", "kind", "host", "service", "problem", "label", "text", "exp", "sig",
];

/// Host or service acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckKind {
    /// `kind = "host"`.
    Host,
    /// `kind = "service"`.
    Service,
}

impl AckKind {
    /// The context spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AckKind::Host => "host",
            AckKind::Service => "service",
        }
    }

    /// Parses the context spelling; exact match only.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "host" => Some(AckKind::Host),
            "service" => Some(AckKind::Service),
            _ => None,
        }
    }
}

/// Why a context is not acceptable. Every variant but [`AckError::OldVersion`]
/// means "forged, tampered with or not ours": the receiver answers 4xx and
/// writes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckError {
    /// `v` is [`ACK_OLD_VERSION`]: a button a previous release posted. Not
    /// an attack but a real, now unusable button; the receiver explains
    /// (HTTP 200, ephemeral) and writes nothing.
    OldVersion,
    /// `v` is neither [`ACK_VERSION`] nor [`ACK_OLD_VERSION`].
    WrongVersion,
    /// `action` is not an [`Action`]'s spelling.
    UnknownAction,
    /// `kind` is neither `host` nor `service`.
    UnknownKind,
    /// `host` is empty.
    MissingHost,
    /// `kind` is `service` but `service` is empty.
    MissingService,
    /// `kind` is `host` but `service` is not empty.
    UnexpectedService,
    /// `problem` is empty.
    MissingProblem,
    /// `problem` has a character outside `A-Z a-z 0-9 . _ : -`.
    BadProblem,
    /// `exp` is not a decimal unix time.
    BadExpiry,
    /// `sig` is not [`ACK_SIG_HEX_LEN`] hex digits.
    BadSignatureEncoding,
    /// A value is longer than its limit; names the key.
    FieldTooLong(&'static str),
    /// The caller's buffer is shorter than
    /// [`crate::limits::ACK_CANONICAL_BUF_LEN`] and the fields did not fit.
    BufferTooSmall,
}

impl core::fmt::Display for AckError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AckError::OldVersion => f.write_str("ack context is from an older version (v1)"),
            AckError::WrongVersion => f.write_str("ack context has an unknown version"),
            AckError::UnknownAction => f.write_str("ack context has an unknown action"),
            AckError::UnknownKind => f.write_str("ack context kind is neither host nor service"),
            AckError::MissingHost => f.write_str("ack context has no host"),
            AckError::MissingService => f.write_str("service ack context has no service"),
            AckError::UnexpectedService => f.write_str("host ack context names a service"),
            AckError::MissingProblem => f.write_str("ack context has no problem id"),
            AckError::BadProblem => f.write_str("ack context problem id has a bad character"),
            AckError::BadExpiry => f.write_str("ack context expiry is not a unix time"),
            AckError::BadSignatureEncoding => {
                f.write_str("ack context signature is not 64 hex digits")
            }
            AckError::FieldTooLong(k) => write!(f, "ack context field {k} is too long"),
            AckError::BufferTooSmall => f.write_str("buffer too small for the ack context"),
        }
    }
}

/// An ack context as strings, exactly as signed or as received.
///
/// Keeping the received strings (not parsed values) is deliberate: the
/// signature covers bytes, so the receiver must rebuild the very bytes the
/// notify side signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckContext<'a> {
    /// `v`: format version.
    pub version: &'a str,
    /// `action`: what the button does ([`Action::as_str`]).
    pub action: &'a str,
    /// `kind`: `host` or `service`.
    pub kind: &'a str,
    /// `host`: `$HOSTNAME$` as the core knows it.
    pub host: &'a str,
    /// `service`: `$SERVICEDESC$`; empty for host acks.
    pub service: &'a str,
    /// `problem`: the problem the button was posted for (see
    /// [`is_problem_id`]).
    pub problem: &'a str,
    /// `label`: display text for the updated post (`http on web1`); may be empty.
    pub label: &'a str,
    /// `text`: the post's top-level message, kept after the click; may be empty.
    pub text: &'a str,
    /// `exp`: expiry, decimal unix seconds.
    pub exp: &'a str,
}

/// A digest context that passed [`AckContext::validate_digest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidDigestAck<'a> {
    /// `ackall` (true) or `ackone`.
    pub all: bool,
    /// The digest id (`digest-<32 hex>`): the hash of its signed list.
    pub digest: &'a str,
    /// Display label, e.g. the headline.
    pub label: &'a str,
    /// The post's top-level message, kept after the click.
    pub text: &'a str,
    /// Expiry, unix seconds.
    pub exp: u64,
}

/// A context that passed [`AckContext::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidAck<'a> {
    /// What the button does.
    pub action: Action,
    /// Host or service.
    pub kind: AckKind,
    /// Host name.
    pub host: &'a str,
    /// Service description; empty for hosts.
    pub service: &'a str,
    /// The problem the button was posted for.
    pub problem: &'a str,
    /// Display label; empty means "use host/service".
    pub label: &'a str,
    /// Post message to keep.
    pub text: &'a str,
    /// Expiry, unix seconds.
    pub exp: u64,
}

impl<'a> AckContext<'a> {
    /// The fields covered by the signature, in canonical order.
    pub(crate) fn signed_fields(&self) -> [(&'static str, &'a str, usize); 9] {
        [
            ("v", self.version, ACK_SHORT_MAX),
            ("action", self.action, ACK_SHORT_MAX),
            ("kind", self.kind, ACK_SHORT_MAX),
            ("host", self.host, ACK_HOST_MAX),
            ("service", self.service, ACK_SERVICE_MAX),
            ("problem", self.problem, ACK_PROBLEM_MAX),
            ("label", self.label, ACK_LABEL_MAX),
            ("text", self.text, ACK_TEXT_MAX),
            ("exp", self.exp, ACK_EXP_MAX),
        ]
    }

    /// Checks lengths, version, action, kind, host/service, problem id and
    /// expiry syntax. Does not check the signature or whether `exp` has
    /// passed. A version 1 context is [`AckError::OldVersion`] before any
    /// other check: it has no problem id, so nothing else would pass.
    pub fn validate(&self) -> Result<ValidAck<'a>, AckError> {
        if self.version == ACK_OLD_VERSION {
            return Err(AckError::OldVersion);
        }
        for (name, value, max) in self.signed_fields() {
            if value.len() > max {
                return Err(AckError::FieldTooLong(name));
            }
        }
        if self.version != ACK_VERSION {
            return Err(AckError::WrongVersion);
        }
        let action = Action::parse(self.action).ok_or(AckError::UnknownAction)?;
        let kind = AckKind::parse(self.kind).ok_or(AckError::UnknownKind)?;
        if self.host.is_empty() {
            return Err(AckError::MissingHost);
        }
        match (kind, self.service.is_empty()) {
            (AckKind::Service, true) => return Err(AckError::MissingService),
            (AckKind::Host, false) => return Err(AckError::UnexpectedService),
            _ => {}
        }
        if self.problem.is_empty() {
            return Err(AckError::MissingProblem);
        }
        if !is_problem_id(self.problem) {
            return Err(AckError::BadProblem);
        }
        let exp = parse_unix_time(self.exp).ok_or(AckError::BadExpiry)?;
        Ok(ValidAck {
            action,
            kind,
            host: self.host,
            service: self.service,
            problem: self.problem,
            label: self.label,
            text: self.text,
            exp,
        })
    }

    /// Whether the context is a digest's (`ackall` or `ackone`): checked
    /// with [`AckContext::validate_digest`] instead of
    /// [`AckContext::validate`]. The signed bytes are the same encoding.
    pub fn is_digest(&self) -> bool {
        self.action == ACK_ACTION_ALL || self.action == ACK_ACTION_ONE
    }

    /// Checks a digest context: lengths, version, action, `kind` =
    /// [`ACK_KIND_DIGEST`] with no host or service, `problem` a digest id
    /// ([`crate::digest_list::is_digest_id`]), expiry syntax.
    pub fn validate_digest(&self) -> Result<ValidDigestAck<'a>, AckError> {
        if self.version == ACK_OLD_VERSION {
            return Err(AckError::OldVersion);
        }
        for (name, value, max) in self.signed_fields() {
            if value.len() > max {
                return Err(AckError::FieldTooLong(name));
            }
        }
        if self.version != ACK_VERSION {
            return Err(AckError::WrongVersion);
        }
        if !self.is_digest() {
            return Err(AckError::UnknownAction);
        }
        if self.kind != ACK_KIND_DIGEST {
            return Err(AckError::UnknownKind);
        }
        if !self.host.is_empty() || !self.service.is_empty() {
            return Err(AckError::UnexpectedService);
        }
        if self.problem.is_empty() {
            return Err(AckError::MissingProblem);
        }
        if !crate::digest_list::is_digest_id(self.problem) {
            return Err(AckError::BadProblem);
        }
        let exp = parse_unix_time(self.exp).ok_or(AckError::BadExpiry)?;
        Ok(ValidDigestAck {
            all: self.action == ACK_ACTION_ALL,
            digest: self.problem,
            label: self.label,
            text: self.text,
            exp,
        })
    }

    /// Writes the bytes the signature covers into `buf`; returns their
    /// length. Fails only when a value is over its limit or `buf` is shorter
    /// than needed ([`crate::limits::ACK_CANONICAL_BUF_LEN`] always suffices
    /// for values within their limits).
    pub fn canonical_bytes(&self, buf: &mut [u8]) -> Result<usize, AckError> {
        canonical_encoding(ACK_DOMAIN, &self.signed_fields(), &[], buf)
    }

    /// The button's context: every key of [`ACK_KEYS`] with its value,
    /// `sig` last.
    pub fn context_pairs(&self, sig_hex: &'a str) -> [(&'static str, &'a str); 10] {
        [
            ("v", self.version),
            ("action", self.action),
            ("kind", self.kind),
            ("host", self.host),
            ("service", self.service),
            ("problem", self.problem),
            ("label", self.label),
            ("text", self.text),
            ("exp", self.exp),
            ("sig", sig_hex),
        ]
    }
}

/// The canonical encoding: `domain`, then each field of `fields` and
/// `more` as `name=<byte length>:value\n`, refusing a value over its
/// limit. Shared by button contexts and dialog states.
pub(crate) fn canonical_encoding(
    domain: &[u8],
    fields: &[(&'static str, &str, usize)],
    more: &[(&'static str, &str, usize)],
    buf: &mut [u8],
) -> Result<usize, AckError> {
    let mut w = Cursor { buf, len: 0 };
    w.put(domain)?;
    for &(name, value, max) in fields.iter().chain(more) {
        if value.len() > max {
            return Err(AckError::FieldTooLong(name));
        }
        w.put(name.as_bytes())?;
        w.put(b"=")?;
        let mut digits = [0u8; 20];
        w.put(decimal(value.len() as u64, &mut digits))?;
        w.put(b":")?;
        w.put(value.as_bytes())?;
        w.put(b"\n")?;
    }
    Ok(w.len)
}

/// Whether `s` can be a context's `problem`: 1 to [`ACK_PROBLEM_MAX`] bytes
/// of `A-Z a-z 0-9 . _ : -`. Enough for a core's decimal problem id and for
/// ids a notify side makes up (`icinga:web1:1764284280`); nothing that could
/// break a file name or a log line on the receiver.
pub fn is_problem_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= ACK_PROBLEM_MAX
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Decodes a `sig` value: exactly [`ACK_SIG_HEX_LEN`] hex digits (either
/// case) into the 32-byte tag.
pub fn decode_sig_hex(sig: &str) -> Result<[u8; 32], AckError> {
    let mut out = [0u8; 32];
    if crate::hex::decode_exact(sig, &mut out) {
        Ok(out)
    } else {
        Err(AckError::BadSignatureEncoding)
    }
}

/// Encodes a 32-byte tag as lowercase hex into `out`; returns it as `&str`.
pub fn encode_sig_hex<'b>(tag: &[u8; 32], out: &'b mut [u8; ACK_SIG_HEX_LEN]) -> &'b str {
    crate::hex::encode_lower(tag, out).unwrap_or("")
}

/// Whether an ack that expires at `exp` is no longer valid at `now`.
pub fn is_expired(exp: u64, now: u64) -> bool {
    now >= exp
}

/// Strict decimal: 1 to 20 ASCII digits, no sign, no blanks, fits u64.
fn parse_unix_time(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > ACK_EXP_MAX || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Writes `n` in decimal into `digits`, returns the used tail.
pub(crate) fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(d) = digits.get_mut(start) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    digits.get(start..).unwrap_or(&[])
}

struct Cursor<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), AckError> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(AckError::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(AckError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::ACK_CANONICAL_BUF_LEN;

    fn service_ctx() -> AckContext<'static> {
        AckContext {
            version: "2",
            action: "ack",
            kind: "service",
            host: "web1",
            service: "http",
            problem: "4711",
            label: "http on web1",
            text: "",
            exp: "1800000000",
        }
    }

    fn canon(c: &AckContext<'_>) -> Vec<u8> {
        let mut buf = [0u8; ACK_CANONICAL_BUF_LEN];
        let n = c.canonical_bytes(&mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn digest_contexts_validate_on_their_own_rules() {
        let digest = AckContext {
            action: ACK_ACTION_ALL,
            kind: ACK_KIND_DIGEST,
            host: "",
            service: "",
            problem: "digest-0123456789abcdef0123456789abcdef",
            ..service_ctx()
        };
        let v = digest.validate_digest().unwrap();
        assert!(v.all && v.digest == digest.problem && v.exp == 1_800_000_000);
        // A digest context is never a single acknowledgement, and back.
        assert_eq!(digest.validate(), Err(AckError::UnknownAction));
        assert_eq!(
            service_ctx().validate_digest(),
            Err(AckError::UnknownAction)
        );
        let one = AckContext {
            action: ACK_ACTION_ONE,
            ..digest
        };
        assert!(!one.validate_digest().unwrap().all);
        for (bad, why) in [
            (
                AckContext {
                    kind: "service",
                    ..digest
                },
                AckError::UnknownKind,
            ),
            (
                AckContext {
                    host: "web1",
                    ..digest
                },
                AckError::UnexpectedService,
            ),
            (
                AckContext {
                    problem: "4711",
                    ..digest
                },
                AckError::BadProblem,
            ),
            (
                AckContext {
                    exp: "soon",
                    ..digest
                },
                AckError::BadExpiry,
            ),
        ] {
            assert_eq!(bad.validate_digest(), Err(why), "{bad:?}");
        }
        // Signed like any context: the action is in the bytes.
        assert_ne!(canon(&digest), canon(&one));
    }

    #[test]
    fn canonical_bytes_are_exactly_the_documented_encoding() {
        let got = canon(&service_ctx());
        let want = b"mattermost-notify ack context\n\
v=1:2\naction=3:ack\nkind=7:service\nhost=4:web1\nservice=4:http\n\
problem=4:4711\nlabel=12:http on web1\ntext=0:\nexp=10:1800000000\n";
        assert_eq!(got, want.to_vec(), "{}", String::from_utf8_lossy(&got));
    }

    #[test]
    fn moving_bytes_between_fields_changes_the_encoding() {
        let a = AckContext {
            host: "web1",
            service: "x;y",
            ..service_ctx()
        };
        let b = AckContext {
            host: "web1\nservice=3:x",
            service: "y",
            ..service_ctx()
        };
        assert_ne!(canon(&a), canon(&b));
        let c = AckContext {
            host: "ab",
            service: "c",
            ..service_ctx()
        };
        let d = AckContext {
            host: "a",
            service: "bc",
            ..service_ctx()
        };
        assert_ne!(canon(&c), canon(&d));
        // The problem id is signed: another problem, other bytes.
        let e = AckContext {
            problem: "4712",
            ..service_ctx()
        };
        assert_ne!(canon(&service_ctx()), canon(&e));
    }

    #[test]
    fn every_field_at_its_maximum_fits_the_documented_buffer() {
        let h = "h".repeat(ACK_HOST_MAX);
        let s = "s".repeat(ACK_SERVICE_MAX);
        let l = "l".repeat(ACK_LABEL_MAX);
        let t = "t".repeat(ACK_TEXT_MAX);
        let e = "9".repeat(ACK_EXP_MAX);
        let p = "p".repeat(ACK_PROBLEM_MAX);
        let short = "x".repeat(ACK_SHORT_MAX);
        let c = AckContext {
            version: &short,
            action: &short,
            kind: &short,
            host: &h,
            service: &s,
            problem: &p,
            label: &l,
            text: &t,
            exp: &e,
        };
        let mut buf = [0u8; ACK_CANONICAL_BUF_LEN];
        assert!(c.canonical_bytes(&mut buf).is_ok());
        let long = "h".repeat(ACK_HOST_MAX + 1);
        let c = AckContext { host: &long, ..c };
        assert_eq!(
            c.canonical_bytes(&mut buf),
            Err(AckError::FieldTooLong("host"))
        );
        let long = "p".repeat(ACK_PROBLEM_MAX + 1);
        let c = AckContext {
            problem: &long,
            ..service_ctx()
        };
        assert_eq!(c.validate(), Err(AckError::FieldTooLong("problem")));
    }

    #[test]
    fn small_buffer_is_an_error_not_a_panic() {
        let mut buf = [0u8; 40];
        assert_eq!(
            service_ctx().canonical_bytes(&mut buf),
            Err(AckError::BufferTooSmall)
        );
    }

    #[test]
    fn validate_accepts_host_and_service_contexts() {
        let v = service_ctx().validate().unwrap();
        assert_eq!(v.action, Action::Ack);
        assert_eq!(v.kind, AckKind::Service);
        for a in crate::actions::ALL_ACTIONS {
            let c = AckContext {
                action: a.as_str(),
                ..service_ctx()
            };
            assert_eq!(c.validate().unwrap().action, a);
        }
        assert_eq!(v.exp, 1_800_000_000);
        assert_eq!(v.problem, "4711");
        let made_up = AckContext {
            problem: "icinga:web1.example:1764284280-2",
            ..service_ctx()
        };
        assert!(made_up.validate().is_ok());
        let h = AckContext {
            kind: "host",
            service: "",
            ..service_ctx()
        };
        assert_eq!(h.validate().unwrap().kind, AckKind::Host);
    }

    #[test]
    fn validate_refuses_each_broken_field() {
        let base = service_ctx();
        let cases = [
            (
                AckContext {
                    version: "1",
                    ..base
                },
                AckError::OldVersion,
            ),
            // A v1 context has no problem: still the old-version answer.
            (
                AckContext {
                    version: "1",
                    problem: "",
                    ..base
                },
                AckError::OldVersion,
            ),
            (
                AckContext {
                    version: "3",
                    ..base
                },
                AckError::WrongVersion,
            ),
            (
                AckContext {
                    version: "",
                    ..base
                },
                AckError::WrongVersion,
            ),
            (
                AckContext {
                    problem: "",
                    ..base
                },
                AckError::MissingProblem,
            ),
            (
                AckContext {
                    problem: "47 11",
                    ..base
                },
                AckError::BadProblem,
            ),
            (
                AckContext {
                    problem: "../../etc",
                    ..base
                },
                AckError::BadProblem,
            ),
            (
                AckContext {
                    problem: "4711\n",
                    ..base
                },
                AckError::BadProblem,
            ),
            (
                AckContext {
                    action: "delete",
                    ..base
                },
                AckError::UnknownAction,
            ),
            (
                AckContext {
                    kind: "Host",
                    ..base
                },
                AckError::UnknownKind,
            ),
            (AckContext { host: "", ..base }, AckError::MissingHost),
            (
                AckContext {
                    service: "",
                    ..base
                },
                AckError::MissingService,
            ),
            (
                AckContext {
                    kind: "host",
                    ..base
                },
                AckError::UnexpectedService,
            ),
            (AckContext { exp: "", ..base }, AckError::BadExpiry),
            (AckContext { exp: "+5", ..base }, AckError::BadExpiry),
            (
                AckContext {
                    exp: "1.5e9",
                    ..base
                },
                AckError::BadExpiry,
            ),
            (
                AckContext {
                    exp: "99999999999999999999",
                    ..base
                },
                AckError::BadExpiry,
            ),
        ];
        for (ctx, want) in cases {
            assert_eq!(ctx.validate(), Err(want), "{ctx:?}");
        }
    }

    #[test]
    fn sig_hex_round_trips_and_rejects_bad_digits() {
        let tag: [u8; 32] = core::array::from_fn(|i| (i * 37) as u8);
        let mut out = [0u8; ACK_SIG_HEX_LEN];
        let hex = encode_sig_hex(&tag, &mut out);
        assert_eq!(hex.len(), 64);
        assert_eq!(decode_sig_hex(hex), Ok(tag));
        assert_eq!(decode_sig_hex(&hex.to_uppercase()), Ok(tag));
        assert_eq!(
            decode_sig_hex(&hex[..62]),
            Err(AckError::BadSignatureEncoding)
        );
        let bad = format!("{}zz", &hex[..62]);
        assert_eq!(decode_sig_hex(&bad), Err(AckError::BadSignatureEncoding));
        let multibyte = format!("{}é", &hex[..62]);
        assert_eq!(
            decode_sig_hex(&multibyte),
            Err(AckError::BadSignatureEncoding)
        );
    }

    #[test]
    fn expiry_is_inclusive() {
        assert!(!is_expired(100, 99));
        assert!(is_expired(100, 100));
        assert!(is_expired(100, 101));
    }

    #[test]
    fn context_pairs_follow_the_key_order() {
        let pairs = service_ctx().context_pairs("ab");
        let keys: Vec<&str> = pairs.iter().map(|p| p.0).collect();
        assert_eq!(keys, ACK_KEYS.to_vec());
        assert_eq!(pairs[5], ("problem", "4711"));
        assert_eq!(pairs[9].1, "ab");
    }

    proptest::proptest! {
        /// Different contexts never share canonical bytes (so one signature
        /// can never cover two meanings).
        #[test]
        fn canonical_bytes_are_injective(
            a in proptest::collection::vec("[a-z=:\\n0-9]{0,6}", 9),
            b in proptest::collection::vec("[a-z=:\\n0-9]{0,6}", 9),
        ) {
            fn ctx(f: &[String]) -> AckContext<'_> {
                AckContext {
                    version: &f[0], action: &f[1], kind: &f[2], host: &f[3],
                    service: &f[4], problem: &f[5], label: &f[6], text: &f[7],
                    exp: &f[8],
                }
            }
            let (ca, cb) = (ctx(&a), ctx(&b));
            if ca != cb {
                proptest::prop_assert_ne!(canon(&ca), canon(&cb));
            }
        }
    }
}
