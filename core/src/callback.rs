//! Parsing of the JSON Mattermost posts to a button's `integration.url`
//! when someone clicks it (DESIGN §4), into fixed-size fields.
//!
//! The body is untrusted: anyone who can reach the receiver can send one.
//! Parsing is serde-json-core into capacity-bounded strings; a value over its
//! capacity is reported by name instead of being cut, a non-string where a
//! string belongs is refused, unknown fields are ignored, and nesting deeper
//! than a real callback needs is refused before the parser runs (it recurses
//! and has no depth limit of its own).

use crate::ack::AckContext;
use crate::limits::{
    ACK_EXP_MAX, ACK_HOST_MAX, ACK_LABEL_MAX, ACK_PROBLEM_MAX, ACK_SERVICE_MAX, ACK_SHORT_MAX,
    ACK_SIG_HEX_LEN, ACK_TEXT_MAX, CALLBACK_ID_MAX, CALLBACK_MAX_DEPTH, CALLBACK_NAME_MAX,
    CALLBACK_SHORT_MAX, CALLBACK_TRIGGER_ID_MAX, CALLBACK_UNESCAPE_BUF_LEN,
};
use heapless::String;
use serde::de::{Deserialize, Deserializer, Visitor};

/// Why a callback body was refused. Each means "malformed or not from
/// Mattermost": the receiver answers 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackError {
    /// Not valid JSON (or trailing garbage after it).
    Malformed,
    /// Objects or arrays nested deeper than [`CALLBACK_MAX_DEPTH`].
    TooDeep,
    /// A known field holds something other than a string (or the context
    /// something other than an object).
    WrongType,
    /// A field is longer than its limit; names it.
    FieldTooLong(&'static str),
    /// An escaped string is longer than
    /// [`crate::limits::CALLBACK_UNESCAPE_BUF_LEN`].
    EscapedStringTooLong,
    /// `user_name` is missing.
    MissingUserName,
    /// `user_name` is not a name Mattermost gives a user (see
    /// [`is_user_name`]).
    BadUserName,
    /// `user_name` is one of [`RESERVED_USER_NAMES`]: no real user has it.
    ReservedUserName,
    /// There is no `context` object.
    MissingContext,
}

impl core::fmt::Display for CallbackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CallbackError::Malformed => f.write_str("callback is not valid JSON"),
            CallbackError::TooDeep => f.write_str("callback JSON is nested too deeply"),
            CallbackError::WrongType => {
                f.write_str("callback field has the wrong type (context values must be strings)")
            }
            CallbackError::FieldTooLong(k) => write!(f, "callback field {k} is too long"),
            CallbackError::EscapedStringTooLong => {
                f.write_str("callback holds an escaped string that is too long")
            }
            CallbackError::MissingUserName => f.write_str("callback has no user_name"),
            CallbackError::BadUserName => f.write_str("callback user_name is not a user name"),
            CallbackError::ReservedUserName => {
                f.write_str("callback user_name is a reserved name no user can have")
            }
            CallbackError::MissingContext => f.write_str("callback has no context"),
        }
    }
}

/// A string of at most `N` bytes; remembers (instead of failing) when the
/// input was longer so the error can name the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Bounded<const N: usize> {
    pub(crate) value: String<N>,
    pub(crate) too_long: bool,
}

impl<'de, const N: usize> Deserialize<'de> for Bounded<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const N: usize>;
        impl<const N: usize> Visitor<'_> for V<N> {
            type Value = Bounded<N>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match String::try_from(v) {
                    Ok(value) => Ok(Bounded {
                        value,
                        too_long: false,
                    }),
                    Err(_) => Ok(Bounded {
                        value: String::new(),
                        too_long: true,
                    }),
                }
            }
        }
        d.deserialize_str(V::<N>)
    }
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawContext {
    v: Bounded<ACK_SHORT_MAX>,
    action: Bounded<ACK_SHORT_MAX>,
    kind: Bounded<ACK_SHORT_MAX>,
    host: Bounded<ACK_HOST_MAX>,
    service: Bounded<ACK_SERVICE_MAX>,
    problem: Bounded<ACK_PROBLEM_MAX>,
    label: Bounded<ACK_LABEL_MAX>,
    text: Bounded<ACK_TEXT_MAX>,
    exp: Bounded<ACK_EXP_MAX>,
    sig: Bounded<ACK_SIG_HEX_LEN>,
    selected_option: Bounded<ACK_SHORT_MAX>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawCallback {
    user_id: Bounded<CALLBACK_ID_MAX>,
    user_name: Bounded<CALLBACK_NAME_MAX>,
    channel_id: Bounded<CALLBACK_ID_MAX>,
    channel_name: Bounded<CALLBACK_NAME_MAX>,
    team_id: Bounded<CALLBACK_ID_MAX>,
    team_domain: Bounded<CALLBACK_NAME_MAX>,
    post_id: Bounded<CALLBACK_ID_MAX>,
    trigger_id: Bounded<CALLBACK_TRIGGER_ID_MAX>,
    #[serde(rename = "type")]
    kind: Bounded<CALLBACK_SHORT_MAX>,
    data_source: Bounded<CALLBACK_SHORT_MAX>,
    context: Option<RawContext>,
}

/// The button context as received; see [`crate::ack`] for the fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct CallbackContext {
    pub v: String<ACK_SHORT_MAX>,
    pub action: String<ACK_SHORT_MAX>,
    pub kind: String<ACK_SHORT_MAX>,
    pub host: String<ACK_HOST_MAX>,
    pub service: String<ACK_SERVICE_MAX>,
    pub problem: String<ACK_PROBLEM_MAX>,
    pub label: String<ACK_LABEL_MAX>,
    pub text: String<ACK_TEXT_MAX>,
    pub exp: String<ACK_EXP_MAX>,
    /// Hex HMAC tag (not part of [`AckContext`]).
    pub sig: String<ACK_SIG_HEX_LEN>,
    /// What the clicker chose in a menu (DESIGN §10): Mattermost adds it
    /// to the context; not signed (a digest's menu offers indexes into its
    /// signed list).
    pub selected_option: String<ACK_SHORT_MAX>,
}

impl CallbackContext {
    /// The signed fields, for [`AckContext::canonical_bytes`] and
    /// [`AckContext::validate`].
    pub fn ack_context(&self) -> AckContext<'_> {
        AckContext {
            version: &self.v,
            action: &self.action,
            kind: &self.kind,
            host: &self.host,
            service: &self.service,
            problem: &self.problem,
            label: &self.label,
            text: &self.text,
            exp: &self.exp,
        }
    }
}

/// A parsed button callback. Missing string fields are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Callback {
    pub user_id: String<CALLBACK_ID_MAX>,
    /// Always a well-formed user name (see [`is_user_name`]).
    pub user_name: String<CALLBACK_NAME_MAX>,
    pub channel_id: String<CALLBACK_ID_MAX>,
    pub channel_name: String<CALLBACK_NAME_MAX>,
    pub team_id: String<CALLBACK_ID_MAX>,
    pub team_domain: String<CALLBACK_NAME_MAX>,
    pub post_id: String<CALLBACK_ID_MAX>,
    pub trigger_id: String<CALLBACK_TRIGGER_ID_MAX>,
    /// The JSON `type` field.
    pub kind: String<CALLBACK_SHORT_MAX>,
    pub data_source: String<CALLBACK_SHORT_MAX>,
    /// The button's context; `None` when absent or `null`.
    pub context: Option<CallbackContext>,
}

impl Callback {
    /// The context, or [`CallbackError::MissingContext`].
    pub fn context(&self) -> Result<&CallbackContext, CallbackError> {
        self.context.as_ref().ok_or(CallbackError::MissingContext)
    }
}

/// Names Mattermost refuses to give a user: `all`, `channel`, `matterbot`
/// and `system` (its `restrictedUsernames`), and `here`, which Mattermost
/// does not reserve but which `@here` would turn into a channel mention in
/// "Acknowledged by @here". A callback naming one is forged.
pub const RESERVED_USER_NAMES: [&str; 5] = ["all", "channel", "here", "matterbot", "system"];

/// Whether `s` is a name Mattermost can give a user: Mattermost's own rule
/// (`IsValidUsernameAllowRemote`): 1 to [`CALLBACK_NAME_MAX`] bytes of
/// lowercase `a-z`, `0-9`, `.`, `_`, `-`, not one of
/// [`RESERVED_USER_NAMES`]; a shared-channel user is `name:remote`, with
/// one `:` between two such non-empty parts. The server does not demand a
/// leading letter (its sign-up form does), so neither does this: LDAP and
/// SAML accounts may start with a digit.
///
/// This keeps CR, LF, `;`, `@`, blanks and markup out of the command line's
/// author field and out of the "Acknowledged by @user" text.
pub fn is_user_name(s: &str) -> bool {
    user_name_error(s).is_none()
}

/// Why `s` is not a user name (see [`is_user_name`]), or `None`.
fn user_name_error(s: &str) -> Option<CallbackError> {
    if s.is_empty() {
        return Some(CallbackError::MissingUserName);
    }
    let part = |p: &str| {
        !p.is_empty()
            && p.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
    };
    let (local, remote) = match s.split_once(':') {
        Some((local, remote)) => (local, Some(remote)),
        None => (s, None),
    };
    if s.len() > CALLBACK_NAME_MAX || !part(local) || !remote.is_none_or(part) {
        return Some(CallbackError::BadUserName);
    }
    if RESERVED_USER_NAMES.contains(&local) {
        return Some(CallbackError::ReservedUserName);
    }
    None
}

/// Parses a callback body. Requires a `user_name` Mattermost could have
/// given a user ([`is_user_name`]); everything
/// else is checked by the caller (the context by [`crate::ack`]).
pub fn parse_callback(body: &[u8]) -> Result<Callback, CallbackError> {
    check_depth(body)?;
    let mut scratch = [0u8; CALLBACK_UNESCAPE_BUF_LEN];
    let (raw, _) = serde_json_core::from_slice_escaped::<RawCallback>(body, &mut scratch).map_err(
        |e| match e {
            serde_json_core::de::Error::EscapedStringIsTooLong => {
                CallbackError::EscapedStringTooLong
            }
            serde_json_core::de::Error::CustomError | serde_json_core::de::Error::InvalidType => {
                CallbackError::WrongType
            }
            _ => CallbackError::Malformed,
        },
    )?;
    let context = match raw.context {
        None => None,
        Some(c) => Some(CallbackContext {
            v: take("context.v", c.v)?,
            action: take("context.action", c.action)?,
            kind: take("context.kind", c.kind)?,
            host: take("context.host", c.host)?,
            service: take("context.service", c.service)?,
            problem: take("context.problem", c.problem)?,
            label: take("context.label", c.label)?,
            text: take("context.text", c.text)?,
            exp: take("context.exp", c.exp)?,
            sig: take("context.sig", c.sig)?,
            selected_option: take("context.selected_option", c.selected_option)?,
        }),
    };
    let cb = Callback {
        user_id: take("user_id", raw.user_id)?,
        user_name: take("user_name", raw.user_name)?,
        channel_id: take("channel_id", raw.channel_id)?,
        channel_name: take("channel_name", raw.channel_name)?,
        team_id: take("team_id", raw.team_id)?,
        team_domain: take("team_domain", raw.team_domain)?,
        post_id: take("post_id", raw.post_id)?,
        trigger_id: take("trigger_id", raw.trigger_id)?,
        kind: take("type", raw.kind)?,
        data_source: take("data_source", raw.data_source)?,
        context,
    };
    match user_name_error(&cb.user_name) {
        Some(e) => Err(e),
        None => Ok(cb),
    }
}

pub(crate) fn take<const N: usize>(
    name: &'static str,
    b: Bounded<N>,
) -> Result<String<N>, CallbackError> {
    if b.too_long {
        Err(CallbackError::FieldTooLong(name))
    } else {
        Ok(b.value)
    }
}

/// Refuses nesting deeper than [`CALLBACK_MAX_DEPTH`], skipping strings.
pub(crate) fn check_depth(body: &[u8]) -> Result<(), CallbackError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > CALLBACK_MAX_DEPTH {
                    return Err(CallbackError::TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = r#"{
        "user_id":"rgh4sbpaxbf7zm4fqnbbt1nhqa","user_name":"alice",
        "channel_id":"q5xmbctzqjgfxb5r9c1xqz5ytr","channel_name":"ops",
        "team_id":"d5p1cwsbkjnb8yk5f4x5c6n8ny","team_domain":"acme",
        "post_id":"ws6kqsd6rffx5bxfz4f8ydbtby",
        "trigger_id":"Y3BzZm91YnE0N2I0dWJoZHV0aTZ5ZWZ1ZXI6cmdoNHNicGF4YmY3em00ZnFuYmJ0MW5ocWE6MTcwMDAwMDAwMDAwMDpNRVVDSVFEQ2k=",
        "type":"","data_source":"",
        "context":{"v":"2","action":"ack","kind":"service","host":"web1",
                   "service":"HTTP","problem":"4711","label":"HTTP on web1","text":"",
                   "exp":"1800000000","sig":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
    }"#;

    #[test]
    fn parses_a_real_callback() {
        let cb = parse_callback(REAL.as_bytes()).unwrap();
        assert_eq!(cb.user_name.as_str(), "alice");
        assert_eq!(cb.team_id.as_str(), "d5p1cwsbkjnb8yk5f4x5c6n8ny");
        let c = cb.context().unwrap();
        assert_eq!(c.host.as_str(), "web1");
        assert_eq!(c.sig.len(), 64);
        let a = c.ack_context();
        assert_eq!(a.service, "HTTP");
        assert_eq!(a.problem, "4711");
        assert!(a.validate().is_ok());
    }

    #[test]
    fn unknown_fields_are_ignored_and_escapes_are_decoded() {
        let body = r#"{"user_name":"bob","extra":{"a":[1,2,{"b":null}]},"n":1.5,
            "context":{"host":"web\u0031","future":true}}"#;
        let cb = parse_callback(body.as_bytes()).unwrap();
        assert_eq!(cb.context().unwrap().host.as_str(), "web1");
    }

    #[test]
    fn escaped_line_breaks_reach_the_value_for_later_refusal() {
        let body = r#"{"user_name":"bob","context":{"host":"a\nb"}}"#;
        let cb = parse_callback(body.as_bytes()).unwrap();
        assert_eq!(cb.context().unwrap().host.as_str(), "a\nb");
    }

    #[test]
    fn refusals_are_specific() {
        let long_user = format!(r#"{{"user_name":"{}"}}"#, "a".repeat(65));
        let long_host = format!(
            r#"{{"user_name":"a","context":{{"host":"{}"}}}}"#,
            "h".repeat(ACK_HOST_MAX + 1)
        );
        let deep = format!(
            r#"{{"user_name":"a","x":{}{}}}"#,
            "[".repeat(50),
            "]".repeat(50)
        );
        let long_escaped = format!(
            r#"{{"user_name":"a","x":"{}"}}"#,
            "\\n".repeat(CALLBACK_UNESCAPE_BUF_LEN + 1)
        );
        let cases: Vec<(std::string::String, CallbackError)> = vec![
            ("".into(), CallbackError::Malformed),
            ("{".into(), CallbackError::Malformed),
            ("[]".into(), CallbackError::WrongType),
            (r#"{"user_name":"a"} x"#.into(), CallbackError::Malformed),
            (r#"{"user_name":5}"#.into(), CallbackError::WrongType),
            (
                r#"{"user_name":"a","context":{"exp":1800000000}}"#.into(),
                CallbackError::WrongType,
            ),
            (
                r#"{"user_name":"a","context":{"host":["web1"]}}"#.into(),
                CallbackError::WrongType,
            ),
            (
                r#"{"user_name":"a","context":"x"}"#.into(),
                CallbackError::WrongType,
            ),
            (long_user, CallbackError::FieldTooLong("user_name")),
            (long_host, CallbackError::FieldTooLong("context.host")),
            (deep, CallbackError::TooDeep),
            (long_escaped, CallbackError::EscapedStringTooLong),
            (r#"{"user_id":"x"}"#.into(), CallbackError::MissingUserName),
            (r#"{"user_name":"a;b"}"#.into(), CallbackError::BadUserName),
            (r#"{"user_name":"a\nb"}"#.into(), CallbackError::BadUserName),
            (r#"{"user_name":"a b"}"#.into(), CallbackError::BadUserName),
            (r#"{"user_name":"@all"}"#.into(), CallbackError::BadUserName),
            (r#"{"user_name":""}"#.into(), CallbackError::MissingUserName),
            (
                r#"{"user_name":"a","context":{"problem":"12345678901234567890123456789012345678901"}}"#.into(),
                CallbackError::FieldTooLong("context.problem"),
            ),
        ];
        for (body, want) in cases {
            let got = parse_callback(body.as_bytes()).map(|_| ());
            let short: String<80> = body.chars().take(80).collect();
            assert_eq!(got, Err(want), "{short}");
        }
    }

    #[test]
    fn user_names_follow_mattermosts_rule() {
        let good = [
            "alice",
            "bob.smith",
            "mm_carol-2",
            "1234",
            "a",
            "alice:remote1",
            "allison",
            "all.ops",
            "heretic",
            "channel-bot",
        ];
        for name in good {
            assert!(is_user_name(name), "{name}");
        }
        let bad = [
            "", "Alice", "ALL", "a b", "a@b", "é", ":remote", "alice:", "a:b:c", "a;b", "<!here>",
        ];
        for name in bad {
            assert!(!is_user_name(name), "{name}");
        }
        assert!(is_user_name(&"a".repeat(CALLBACK_NAME_MAX)));
        assert!(!is_user_name(&"a".repeat(CALLBACK_NAME_MAX + 1)));
        let long_remote = format!("a:{}", "r".repeat(CALLBACK_NAME_MAX - 2));
        assert!(is_user_name(&long_remote));
        assert!(!is_user_name(&format!("{long_remote}r")));
    }

    #[test]
    fn reserved_user_names_are_refused_by_name() {
        for name in
            RESERVED_USER_NAMES
                .iter()
                .copied()
                .chain(["all:remote", "here:x", "channel:remote"])
        {
            assert!(!is_user_name(name), "{name}");
            let body = format!(r#"{{"user_name":"{name}","context":{{}}}}"#);
            assert_eq!(
                parse_callback(body.as_bytes()).map(|_| ()),
                Err(CallbackError::ReservedUserName),
                "{name}"
            );
        }
    }

    #[test]
    fn missing_context_is_reported_by_accessor() {
        let cb = parse_callback(br#"{"user_name":"a"}"#).unwrap();
        assert_eq!(cb.context().err(), Some(CallbackError::MissingContext));
        let cb = parse_callback(br#"{"user_name":"a","context":null}"#).unwrap();
        assert_eq!(cb.context().err(), Some(CallbackError::MissingContext));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let body = br#"{"user_name":"a","context":{"host":"a","host":"b"}}"#;
        assert!(parse_callback(body).is_err());
    }

    #[test]
    fn depth_scan_ignores_brackets_inside_strings() {
        let body = br#"{"user_name":"a","x":"[[[[[[[[[[\"[[[[[["}"#;
        assert!(parse_callback(body).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_callback(&body);
        }

        #[test]
        fn never_panics_on_jsonish_text(body in r#"[{}\[\]":,a-z0-9\\ ]{0,200}"#) {
            let _ = parse_callback(body.as_bytes());
        }
    }
}
