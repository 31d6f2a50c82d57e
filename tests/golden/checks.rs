//! What every payload must satisfy: Mattermost's acceptance rules
//! (DESIGN §3) and "no mention outside code" (DESIGN §5).

use serde_json::Value;

/// Parses a rendered payload, failing with the raw text on invalid JSON.
pub fn parse(raw: &[u8]) -> Value {
    let text = std::str::from_utf8(raw).expect("payload is UTF-8");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"))
}

fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s.bytes().skip(1).all(|b| b.is_ascii_hexdigit())
}

/// DESIGN §3: what the server needs to accept the post.
pub fn check_design(raw: &[u8], v: &Value) {
    assert!(
        raw.iter().all(|&b| b >= 0x20 && b != 0x7f),
        "raw control byte in payload"
    );
    assert!(!has_nul(v), "NUL in a string (PostgreSQL cannot store it)");
    let obj = v.as_object().expect("payload is an object");
    let attachments = obj.get("attachments").and_then(Value::as_array);
    let has_text = obj
        .get("text")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    assert!(
        has_text || attachments.is_some_and(|a| !a.is_empty()),
        "needs text or attachments: {v}"
    );
    if let Some(p) = obj.get("priority") {
        let level = p.get("priority").and_then(Value::as_str);
        assert!(
            matches!(level, Some("urgent" | "important")),
            "priority {p}"
        );
        assert!(p.get("requested_ack").is_some_and(Value::is_boolean));
    }
    for a in attachments.into_iter().flatten() {
        let color = a["color"].as_str().expect("color");
        assert!(is_hex_color(color), "color {color}");
        assert!(
            a["fallback"].as_str().is_some_and(|f| !f.is_empty()),
            "fallback"
        );
        assert!(a.get("ts").is_none());
        if let Some(footer) = a.get("footer") {
            let footer = footer.as_str().expect("footer string");
            assert!(footer.chars().count() <= 300, "footer over 300 chars");
        }
        if let Some(link) = a.get("title_link") {
            assert!(is_http(link.as_str().expect("title_link string")));
        }
        if let Some(image) = a.get("image_url") {
            assert!(is_http(image.as_str().expect("image_url string")));
        }
        for f in a
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert!(f["title"].is_string() && f["value"].is_string() && f["short"].is_boolean());
        }
        for action in a
            .get("actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = action["id"].as_str().expect("action id");
            assert!(
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()),
                "action id {id:?}"
            );
            assert_eq!(action["type"], "button");
            let style = action["style"].as_str().expect("style");
            assert!(
                matches!(
                    style,
                    "default" | "primary" | "success" | "good" | "warning" | "danger"
                ) || is_hex_color(style)
            );
            let url = action["integration"]["url"].as_str().expect("url");
            assert!(is_http(url), "integration url {url}");
            let context = action["integration"]["context"]
                .as_object()
                .expect("context");
            assert!(
                context.values().all(Value::is_string),
                "context values are strings"
            );
        }
    }
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn is_http(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// Removes fenced code blocks the way CommonMark reads them: an opening
/// line of at least three backticks (up to three spaces of indent) runs to
/// a closing line of at least as many backticks and nothing else, or to
/// the end. Inline code spans are kept, which makes the check stricter.
pub fn strip_fenced_code(text: &str) -> String {
    let mut out = String::new();
    let mut open: Option<usize> = None;
    for line in text.split(['\n', '\r']) {
        let trimmed = line.trim_start_matches(' ');
        let indent_ok = line.len() - trimmed.len() <= 3;
        let ticks = trimmed.bytes().take_while(|&b| b == b'`').count();
        match open {
            Some(len) => {
                if indent_ok && ticks >= len && trimmed[ticks..].trim().is_empty() {
                    open = None;
                }
            }
            None if indent_ok && ticks >= 3 && !trimmed[ticks..].contains('`') => {
                open = Some(ticks);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Where in `text` a mention or special sequence would fire, if anywhere.
pub fn find_mention(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for (i, pair) in chars.windows(2).enumerate() {
        let fires = (pair[0] == '@' && (pair[1].is_alphanumeric() || "._-".contains(pair[1])))
            || (pair[0] == '<' && (pair[1] == '!' || pair[1] == '@'));
        if fires {
            let context: String = chars[i.saturating_sub(10)..(i + 12).min(chars.len())]
                .iter()
                .collect();
            return Some(context);
        }
    }
    None
}

/// DESIGN §5: outside code no untrusted text can mention anyone; the
/// top-level `text` is either absent or exactly the configured mention.
pub fn check_no_mentions(v: &Value, configured: Option<&str>) {
    if let Some(text) = v.get("text") {
        assert_eq!(text.as_str(), configured, "top-level text");
    }
    for a in v["attachments"].as_array().into_iter().flatten() {
        // Only the attachment text holds a code block by design; every
        // other string is checked whole.
        let mut plain = vec![strip_fenced_code(a["text"].as_str().unwrap_or(""))];
        for key in ["fallback", "title", "pretext", "footer", "author_name"] {
            plain.push(a[key].as_str().unwrap_or("").to_owned());
        }
        for f in a["fields"].as_array().into_iter().flatten() {
            plain.push(f["value"].as_str().unwrap_or("").to_owned());
        }
        for s in plain {
            if let Some(at) = find_mention(&s) {
                panic!("mention outside code near {at:?} in {s:?}");
            }
        }
    }
}

#[test]
fn the_fence_stripper_reads_fences_like_commonmark() {
    let text = "a @x\n````\n@all\n```\n@still code\n````\nafter";
    assert_eq!(strip_fenced_code(text), "a @x\nafter\n");
    assert_eq!(strip_fenced_code("```\nunclosed @all"), "");
    assert!(find_mention("hi @all").is_some());
    assert!(find_mention("<!channel>").is_some());
    assert!(find_mention("hi @\u{2060}all <\u{2060}!here> a @ b").is_none());
}
