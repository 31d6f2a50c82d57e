//! Fuzzes the button-callback parser with raw bytes and with well-formed
//! callbacks built from arbitrary fields. It must never panic, and:
//! - a raw body it accepts is valid JSON (serde_json agrees) with a
//!   well-formed `user_name`;
//! - a built callback it accepts comes back field for field; one it
//!   refuses as too long really has that field over its limit; one it
//!   refuses for the user name really has a bad or reserved one.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mattermost_notify_core::callback::{is_user_name, parse_callback, CallbackError};
use mattermost_notify_core::limits::{
    ACK_EXP_MAX, ACK_HOST_MAX, ACK_LABEL_MAX, ACK_PROBLEM_MAX, ACK_SERVICE_MAX, ACK_SHORT_MAX,
    ACK_SIG_HEX_LEN, ACK_TEXT_MAX, CALLBACK_ID_MAX, CALLBACK_NAME_MAX,
};
use serde_json::{json, Map, Value};

#[derive(Debug, Arbitrary)]
struct Context {
    v: String,
    action: String,
    kind: String,
    host: String,
    service: String,
    problem: String,
    label: String,
    text: String,
    exp: String,
    sig: String,
}

#[derive(Debug, Arbitrary)]
struct Fields {
    user_name: String,
    user_id: String,
    channel_id: String,
    post_id: String,
    context: Option<Context>,
    /// An unknown field Mattermost might add; must be ignored.
    extra: Option<(String, String)>,
}

#[derive(Debug, Arbitrary)]
enum Input {
    Raw(Vec<u8>),
    Built(Fields),
}

/// Known top-level keys: an "extra" field with one of these names would
/// replace the real one, so it is skipped.
const KNOWN: &[&str] = &[
    "user_id",
    "user_name",
    "channel_id",
    "channel_name",
    "team_id",
    "team_domain",
    "post_id",
    "trigger_id",
    "type",
    "data_source",
    "context",
];

fn built(f: &Fields) -> Vec<u8> {
    let mut obj = Map::new();
    obj.insert("user_name".into(), json!(f.user_name));
    obj.insert("user_id".into(), json!(f.user_id));
    obj.insert("channel_id".into(), json!(f.channel_id));
    obj.insert("post_id".into(), json!(f.post_id));
    if let Some(c) = &f.context {
        obj.insert(
            "context".into(),
            json!({
                "v": c.v, "action": c.action, "kind": c.kind, "host": c.host,
                "service": c.service, "problem": c.problem, "label": c.label, "text": c.text,
                "exp": c.exp, "sig": c.sig,
            }),
        );
    }
    if let Some((k, v)) = &f.extra {
        if !KNOWN.contains(&k.as_str()) {
            obj.insert(k.clone(), json!(v));
        }
    }
    serde_json::to_vec(&Value::Object(obj)).unwrap_or_default()
}

/// The length limit of a field as the parser names it in `FieldTooLong`.
fn limit_and_value<'a>(f: &'a Fields, name: &str) -> Option<(usize, &'a str)> {
    let c = f.context.as_ref();
    Some(match name {
        "user_name" => (CALLBACK_NAME_MAX, &f.user_name),
        "user_id" => (CALLBACK_ID_MAX, &f.user_id),
        "channel_id" => (CALLBACK_ID_MAX, &f.channel_id),
        "post_id" => (CALLBACK_ID_MAX, &f.post_id),
        "context.v" => (ACK_SHORT_MAX, &c?.v),
        "context.action" => (ACK_SHORT_MAX, &c?.action),
        "context.kind" => (ACK_SHORT_MAX, &c?.kind),
        "context.host" => (ACK_HOST_MAX, &c?.host),
        "context.service" => (ACK_SERVICE_MAX, &c?.service),
        "context.problem" => (ACK_PROBLEM_MAX, &c?.problem),
        "context.label" => (ACK_LABEL_MAX, &c?.label),
        "context.text" => (ACK_TEXT_MAX, &c?.text),
        "context.exp" => (ACK_EXP_MAX, &c?.exp),
        "context.sig" => (ACK_SIG_HEX_LEN, &c?.sig),
        _ => return None,
    })
}

fuzz_target!(|input: Input| {
    match input {
        Input::Raw(body) => {
            if let Ok(cb) = parse_callback(&body) {
                assert!(is_user_name(&cb.user_name), "accepted {:?}", cb.user_name);
                if let Err(e) = serde_json::from_slice::<Value>(&body) {
                    panic!(
                        "accepted a body serde_json rejects ({e}): {:?}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
        }
        Input::Built(f) => {
            let body = built(&f);
            match parse_callback(&body) {
                Ok(cb) => {
                    assert_eq!(cb.user_name.as_str(), f.user_name);
                    assert_eq!(cb.user_id.as_str(), f.user_id);
                    assert_eq!(cb.channel_id.as_str(), f.channel_id);
                    assert_eq!(cb.post_id.as_str(), f.post_id);
                    assert_eq!(cb.context.is_some(), f.context.is_some());
                    if let (Some(got), Some(want)) = (&cb.context, &f.context) {
                        assert_eq!(got.v.as_str(), want.v);
                        assert_eq!(got.action.as_str(), want.action);
                        assert_eq!(got.kind.as_str(), want.kind);
                        assert_eq!(got.host.as_str(), want.host);
                        assert_eq!(got.service.as_str(), want.service);
                        assert_eq!(got.problem.as_str(), want.problem);
                        assert_eq!(got.label.as_str(), want.label);
                        assert_eq!(got.text.as_str(), want.text);
                        assert_eq!(got.exp.as_str(), want.exp);
                        assert_eq!(got.sig.as_str(), want.sig);
                    }
                }
                Err(CallbackError::FieldTooLong(name)) => {
                    let (max, value) = limit_and_value(&f, name)
                        .unwrap_or_else(|| panic!("FieldTooLong names unknown field {name}"));
                    assert!(value.len() > max, "{name} is {} ≤ {max} bytes", value.len());
                }
                Err(
                    CallbackError::BadUserName
                    | CallbackError::MissingUserName
                    | CallbackError::ReservedUserName,
                ) => {
                    assert!(!is_user_name(&f.user_name), "refused {:?}", f.user_name);
                }
                // Escapes longer than the unescape buffer, and nothing else
                // a well-formed callback can trigger.
                Err(CallbackError::EscapedStringTooLong) => {}
                Err(e) => panic!("refused a well-formed callback: {e:?}: {f:?}"),
            }
        }
    }
});
