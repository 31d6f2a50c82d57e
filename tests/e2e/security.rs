//! Hostile requests to `serve`: forged, tampered, expired, malformed,
//! oversized, injecting, not allowed. Each gets the documented answer, the
//! command pipe receives nothing, and `serve` keeps answering.
//!
//! "Nothing was written" is proven without timing: after the hostile
//! requests a valid click is sent, and the first line the pipe's reader
//! sees must be that click's.

use crate::serve::kit::{self, callback, host_context, resign, service_context, Fifo, SECRET};
use serde_json::{json, Map, Value};

type Ctx = Map<String, Value>;

/// What a hostile request must get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// This 4xx status.
    Status(u16),
    /// 200 with `ephemeral_text` containing this, and no `update`.
    Ephemeral(&'static str),
}

fn with(mut c: Ctx, key: &str, value: Value) -> Ctx {
    c.insert(key.into(), value);
    c
}

fn signed(c: Ctx) -> Ctx {
    let mut c = c;
    resign(&mut c);
    c
}

fn body(user: &str, c: Ctx) -> Vec<u8> {
    serde_json::to_vec(&callback(user, c)).unwrap()
}

fn svc() -> Ctx {
    service_context("web1", "HTTP")
}

/// A button exactly as the previous release (context v1, no problem id)
/// posted it, signed its way: real, but no longer usable.
fn v1_context() -> Ctx {
    let mut c = svc();
    c.remove("problem");
    c.insert("v".into(), "1".into());
    let mut canonical = b"mattermost-notify ack context\n".to_vec();
    for k in [
        "v", "action", "kind", "host", "service", "label", "text", "exp",
    ] {
        let v = c[k].as_str().unwrap();
        canonical.extend_from_slice(format!("{k}={}:{v}\n", v.len()).as_bytes());
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    let tag = ring::hmac::sign(&key, &canonical);
    let sig: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    c.insert("sig".into(), sig.into());
    c
}

/// Every callback-level hostile case: (name, body, answer).
fn hostile_bodies() -> Vec<(&'static str, Vec<u8>, Want)> {
    let forged = "0".repeat(64);
    let mut other_key = svc();
    let tag = kit::sign(b"another secret that is long enough!!", &other_key);
    other_key.insert("sig".into(), tag.into());
    let mut no_context = callback("alice", svc());
    no_context.as_object_mut().unwrap().remove("context");
    let mut null_context = callback("alice", svc());
    null_context["context"] = Value::Null;
    let mut no_user = callback("alice", svc());
    no_user.as_object_mut().unwrap().remove("user_name");
    let mut no_sig = svc();
    no_sig.remove("sig");
    let mut no_host = svc();
    no_host.remove("host");
    let no_host = signed(no_host);
    let mut no_problem = svc();
    no_problem.remove("problem");
    let no_problem = signed(no_problem);
    let mut long_trigger = callback("alice", svc());
    long_trigger["trigger_id"] = "t".repeat(600).into();
    let valid = serde_json::to_string(&callback("alice", svc())).unwrap();
    let dup_host = valid.replacen(r#""host":"web1""#, r#""host":"web1","host":"db9""#, 1);
    assert_ne!(dup_host, valid);

    let mut cases: Vec<(&'static str, Vec<u8>, Want)> = vec![
        // Signature.
        (
            "forged signature",
            body("alice", with(svc(), "sig", forged.into())),
            Want::Status(403),
        ),
        (
            "signature by another key",
            body("alice", other_key),
            Want::Status(403),
        ),
        (
            "tampered host",
            body("alice", with(svc(), "host", "db9".into())),
            Want::Status(403),
        ),
        (
            "tampered service",
            body("alice", with(svc(), "service", "SSH".into())),
            Want::Status(403),
        ),
        (
            "tampered label",
            body("alice", with(svc(), "label", "x".into())),
            Want::Status(403),
        ),
        (
            "tampered text",
            body("alice", with(svc(), "text", "@all".into())),
            Want::Status(403),
        ),
        (
            "extended expiry",
            body("alice", with(svc(), "exp", "9999999999".into())),
            Want::Status(403),
        ),
        (
            "service context turned into host",
            body(
                "alice",
                with(with(svc(), "kind", "host".into()), "service", "".into()),
            ),
            Want::Status(403),
        ),
        (
            "missing signature",
            body("alice", no_sig),
            Want::Status(403),
        ),
        (
            "short signature",
            body("alice", with(svc(), "sig", "abcd".into())),
            Want::Status(403),
        ),
        (
            "non-hex signature",
            body("alice", with(svc(), "sig", "zz".repeat(32).into())),
            Want::Status(403),
        ),
        // Structure.
        (
            "missing context",
            serde_json::to_vec(&no_context).unwrap(),
            Want::Status(400),
        ),
        (
            "null context",
            serde_json::to_vec(&null_context).unwrap(),
            Want::Status(400),
        ),
        (
            "context is an array",
            serde_json::to_vec(&json!({"user_name":"alice","context":[1]})).unwrap(),
            Want::Status(400),
        ),
        (
            "missing host (signed)",
            body("alice", no_host),
            Want::Status(400),
        ),
        (
            "wrong version (signed)",
            body("alice", signed(with(svc(), "v", "3".into()))),
            Want::Status(400),
        ),
        // The problem id is signed and required.
        (
            "tampered problem id",
            body("alice", with(svc(), "problem", "4712".into())),
            Want::Status(403),
        ),
        (
            "missing problem id (signed)",
            body("alice", no_problem),
            Want::Status(400),
        ),
        (
            "problem id with a path (signed)",
            body("alice", signed(with(svc(), "problem", "../../x".into()))),
            Want::Status(400),
        ),
        (
            "unknown action (signed)",
            body("alice", signed(with(svc(), "action", "delete".into()))),
            Want::Status(400),
        ),
        (
            "unknown kind (signed)",
            body("alice", signed(with(svc(), "kind", "HOST".into()))),
            Want::Status(400),
        ),
        (
            "expiry as a number",
            body("alice", with(svc(), "exp", json!(4000000000u64))),
            Want::Status(400),
        ),
        (
            "host as a number",
            body("alice", with(svc(), "host", json!(5))),
            Want::Status(400),
        ),
        (
            "missing user_name",
            serde_json::to_vec(&no_user).unwrap(),
            Want::Status(400),
        ),
        (
            "user_name too long",
            body(&"a".repeat(65), svc()),
            Want::Status(400),
        ),
        (
            "trigger_id too long",
            serde_json::to_vec(&long_trigger).unwrap(),
            Want::Status(400),
        ),
        (
            "duplicate host key",
            dup_host.into_bytes(),
            Want::Status(400),
        ),
        (
            "truncated JSON",
            br#"{"user_name":"alice","context":{"#.to_vec(),
            Want::Status(400),
        ),
        ("not JSON", b"user_name=alice".to_vec(), Want::Status(400)),
        ("empty body", Vec::new(), Want::Status(400)),
        (
            "invalid UTF-8",
            b"{\"user_name\":\"al\xffce\"}".to_vec(),
            Want::Status(400),
        ),
        (
            "deep nesting",
            format!(
                r#"{{"user_name":"a","x":{}{}}}"#,
                "[".repeat(5000),
                "]".repeat(5000)
            )
            .into_bytes(),
            Want::Status(400),
        ),
        // Expected refusals: 200, explanation, post unchanged.
        (
            "expired context",
            body("alice", signed(with(svc(), "exp", "1000".into()))),
            Want::Ephemeral("expired"),
        ),
        (
            "button from the previous release (v1)",
            body("alice", v1_context()),
            Want::Ephemeral("older version"),
        ),
    ];
    // Names Mattermost reserves or could not have given a user.
    for user in [
        "all",
        "channel",
        "here",
        "matterbot",
        "system",
        "all:remote",
        "Alice",
        "alice:",
        ":alice",
    ] {
        let name: &'static str = Box::leak(format!("user_name {user:?}").into_boxed_str());
        cases.push((name, body(user, svc()), Want::Status(400)));
    }
    // Injection: CR, LF, CRLF + a second command, ';' and other controls,
    // in the user name (raw or JSON-escaped), host and service — both
    // unsigned (forged: 403) and validly signed (caught by the command
    // checks: 400).
    let injections: [(&'static str, &'static str); 6] = [
        ("LF", "x\n[1] ACKNOWLEDGE_HOST_PROBLEM;db9;2;0;1;evil;pwned"),
        ("CR", "x\r"),
        ("CRLF", "x\r\n[1] DISABLE_NOTIFICATIONS"),
        ("semicolon", "x;2;0;1;evil"),
        ("NUL", "x\u{0}y"),
        ("line separator", "x\u{2028}y"),
    ];
    for (what, evil) in injections {
        let user_case: &'static str = Box::leak(format!("{what} in user_name").into_boxed_str());
        cases.push((user_case, body(evil, svc()), Want::Status(400)));
        for field in ["host", "service"] {
            let forged: &'static str =
                Box::leak(format!("{what} in {field} (forged)").into_boxed_str());
            cases.push((
                forged,
                body("alice", with(svc(), field, evil.into())),
                Want::Status(403),
            ));
            let signed_case: &'static str =
                Box::leak(format!("{what} in {field} (signed)").into_boxed_str());
            cases.push((
                signed_case,
                body("alice", signed(with(svc(), field, evil.into()))),
                Want::Status(400),
            ));
        }
    }
    let escaped = br#"{"user_name":"alice\u000a[1] X","context":{}}"#.to_vec();
    cases.push(("JSON-escaped LF in user_name", escaped, Want::Status(400)));
    let host_ctx = signed(with(host_context("db1"), "host", "db1\nx".into()));
    cases.push((
        "LF in host of a host ack (signed)",
        body("alice", host_ctx),
        Want::Status(400),
    ));
    cases
}

fn check(name: &str, got: (u16, String), want: Want) {
    let (status, reply) = got;
    match want {
        Want::Status(s) => assert_eq!(status, s, "{name}: got {status} {reply}"),
        Want::Ephemeral(needle) => {
            assert_eq!(status, 200, "{name}: {reply}");
            let v: Value =
                serde_json::from_str(&reply).unwrap_or_else(|_| panic!("{name}: {reply}"));
            assert!(
                v.get("update").is_none(),
                "{name}: post must stay unchanged: {reply}"
            );
            let text = v["ephemeral_text"].as_str().unwrap_or("");
            assert!(text.contains(needle), "{name}: {text}");
        }
    }
    println!("{name}: {status}");
}

/// After hostile input: `serve` is alive, and a valid click is the first
/// (and only) line the pipe ever received.
fn assert_nothing_written_and_still_serving(serve: &mut kit::Serve, fifo: &Fifo) {
    assert!(serve.alive(), "serve died:\n{}", serve.stderr());
    let (status, reply) = serve.post(&kit::click_body("sentinel", "check"));
    assert_eq!(status, 200, "{reply}");
    let first = fifo.next_line();
    assert!(
        first.contains("ACKNOWLEDGE_SVC_PROBLEM;sentinel;check;2;0;1;alice;"),
        "the pipe received something before the sentinel: {first:?}"
    );
    assert!(!fifo.has_more());
    assert!(!serve.stderr().contains(SECRET), "the secret was logged");
}

#[test]
fn hostile_callbacks_are_refused_and_nothing_is_written() {
    let fifo = Fifo::with_reader();
    let mut serve = kit::serve_on(&fifo.path, vec![]);
    let cases = hostile_bodies();
    assert!(cases.len() > 50);
    for (name, b, want) in cases {
        check(name, serve.post(&b), want);
    }
    assert_nothing_written_and_still_serving(&mut serve, &fifo);
    // One log line per request, naming the refusal.
    let log = serve.wait_stderr("sentinel");
    assert!(log.contains("-> 403 user=\"alice\""), "{log}");
    assert!(
        log.contains("refused: ack context signature does not verify"),
        "{log}"
    );
    assert!(log.contains("refused: button expired"), "{log}");
    assert!(
        log.contains("refused: callback user_name is a reserved name"),
        "{log}"
    );
    assert!(
        log.contains("refused: button from an older version"),
        "{log}"
    );
    assert!(
        !log.contains('\u{0}'),
        "raw control characters reached the log"
    );
}

#[test]
fn malformed_and_oversized_http_is_refused_and_serve_keeps_answering() {
    let fifo = Fifo::with_reader();
    let mut serve = kit::serve_on(&fifo.path, vec![]);
    let p = kit::ACK_PATH;
    let big = vec![b'{'; 70 * 1024];
    let mut oversized =
        format!("POST {p} HTTP/1.1\r\nContent-Length: {}\r\n\r\n", big.len()).into_bytes();
    oversized.extend_from_slice(&big);
    let many_headers: String = (0..40).map(|i| format!("X-H{i}: v\r\n")).collect();
    let huge_header = format!("X-Big: {}\r\n", "a".repeat(9000));
    let raw_cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("body over 64 KiB", oversized, 413),
        (
            "Content-Length over 64 KiB, no body",
            format!("POST {p} HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n").into_bytes(),
            413,
        ),
        (
            "chunked body",
            format!(
                "POST {p} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            )
            .into_bytes(),
            411,
        ),
        (
            "POST without Content-Length",
            format!("POST {p} HTTP/1.1\r\nConnection: close\r\n\r\n{{}}").into_bytes(),
            411,
        ),
        (
            "negative Content-Length",
            format!("POST {p} HTTP/1.1\r\nContent-Length: -5\r\n\r\n").into_bytes(),
            400,
        ),
        (
            "conflicting Content-Length",
            format!("POST {p} HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}")
                .into_bytes(),
            400,
        ),
        (
            "garbage request line",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\r\n\r\n".to_vec(),
            400,
        ),
        (
            "40 headers",
            format!("GET {p} HTTP/1.1\r\n{many_headers}\r\n").into_bytes(),
            431,
        ),
        (
            "9 KiB header",
            format!("GET {p} HTTP/1.1\r\n{huge_header}\r\n").into_bytes(),
            431,
        ),
        (
            "CR/LF smuggled into the request line",
            format!("POST {p}\r\n[1] X HTTP/1.1\r\nContent-Length: 2\r\n\r\n{{}}").into_bytes(),
            400,
        ),
    ];
    for (name, raw, want) in raw_cases {
        let (status, reply) = serve.raw(&raw);
        assert_eq!(status, want, "{name}: {reply}");
        println!("{name}: {status}");
    }
    assert_nothing_written_and_still_serving(&mut serve, &fifo);
}

#[test]
fn stalled_request_gets_408_and_serve_keeps_answering() {
    let fifo = Fifo::with_reader();
    let mut serve = kit::serve_on(&fifo.path, vec![]);
    // Half a head, then silence: answered 408 once the read timeout passes.
    let (status, _) =
        serve.raw(format!("POST {} HTTP/1.1\r\nContent-Le", kit::ACK_PATH).as_bytes());
    assert_eq!(status, 408);
    // A head promising a body that never comes.
    let (status, _) = serve.raw(
        format!(
            "POST {} HTTP/1.1\r\nContent-Length: 100\r\n\r\n{{",
            kit::ACK_PATH
        )
        .as_bytes(),
    );
    assert_eq!(status, 408);
    assert_nothing_written_and_still_serving(&mut serve, &fifo);
}

#[test]
fn connection_flood_gives_way_to_a_new_connection() {
    use std::io::Read;
    use std::net::TcpStream;
    let fifo = Fifo::with_reader();
    let mut serve = kit::serve_on(&fifo.path, vec![]);
    // Fill every slot with a connection that sends nothing.
    let mut idle: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect(("127.0.0.1", serve.port)).unwrap())
        .collect();
    // A 65th is accepted after them and served: the longest-idle one, the
    // first, is closed to make room (it reads end-of-file), the others stay.
    let (status, _) = serve.raw(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 404, "a 65th connection was not served");
    idle[0]
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(idle[0].read(&mut byte).ok(), Some(0), "oldest idle kept");
    idle[1].set_nonblocking(true).unwrap();
    assert!(
        matches!(idle[1].read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "more than one idle connection was closed"
    );
    let log = serve.wait_stderr("closed the longest-idle one");
    assert!(log.contains("64 connections open"), "{log}");
    idle.clear();
    assert_nothing_written_and_still_serving(&mut serve, &fifo);
}

#[test]
fn allowlists_refuse_with_an_explanation_and_admit_the_listed() {
    let fifo = Fifo::with_reader();
    let mut serve = kit::serve_on(
        &fifo.path,
        vec![
            ("MATTERMOST_ALLOWED_USERS", "carol, alice".into()),
            (
                "MATTERMOST_ALLOWED_TEAMS",
                "d5p1cwsbkjnb8yk5f4x5c6n8ny".into(),
            ),
            (
                "MATTERMOST_ALLOWED_CHANNELS",
                "q5xmbctzqjgfxb5r9c1xqz5ytr".into(),
            ),
        ],
    );
    let cb = |user: &str, field: Option<(&str, &str)>| {
        let mut v = callback(user, svc());
        if let Some((k, val)) = field {
            v[k] = val.into();
        }
        serde_json::to_vec(&v).unwrap()
    };
    check(
        "user not allowed",
        serve.post(&cb("mallory", None)),
        Want::Ephemeral("allowed users"),
    );
    check(
        "team not allowed",
        serve.post(&cb(
            "carol",
            Some(("team_id", "otherteam00000000000000000")),
        )),
        Want::Ephemeral("allowed teams"),
    );
    check(
        "channel not allowed",
        serve.post(&cb(
            "carol",
            Some(("channel_id", "otherchan00000000000000000")),
        )),
        Want::Ephemeral("allowed channels"),
    );
    // Nothing written so far; alice (listed) is the sentinel and gets through.
    assert_nothing_written_and_still_serving(&mut serve, &fifo);
}

#[test]
fn allowed_user_ids_refuse_a_listed_name_with_another_id() {
    let fifo = Fifo::with_reader();
    let mut serve = kit::serve_on(
        &fifo.path,
        vec![
            ("MATTERMOST_ALLOWED_USERS", "alice".into()),
            (
                "MATTERMOST_ALLOWED_USER_IDS",
                "rgh4sbpaxbf7zm4fqnbbt1nhqa, 8xq1cwsbkjnb8yk5f4x5c6n8ny".into(),
            ),
        ],
    );
    // Someone renamed themselves to "alice": the name passes, the id not.
    let mut v = callback("alice", svc());
    v["user_id"] = "impostor000000000000000000".into();
    check(
        "listed name, unlisted id",
        serve.post(&serde_json::to_vec(&v).unwrap()),
        Want::Ephemeral("allowed user ids"),
    );
    let mut v = callback("alice", svc());
    v.as_object_mut().unwrap().remove("user_id");
    check(
        "no user id",
        serve.post(&serde_json::to_vec(&v).unwrap()),
        Want::Ephemeral("allowed user ids"),
    );
    // alice with her listed id is the sentinel and gets through.
    assert_nothing_written_and_still_serving(&mut serve, &fifo);
}

#[test]
fn mentions_and_sequences_in_names_are_defused_in_every_reply() {
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let hostile = "@all <!channel> @here <@U1>";
    let defused = "@\u{2060}all <\u{2060}!channel> @\u{2060}here <\u{2060}@\u{2060}U1>";
    let raw_mentions = |text: &str| {
        ["@all", "<!channel>", "@here", "<@U1>"]
            .into_iter()
            .any(|m| text.contains(m))
    };
    // Names in the service (label empty: the reply composes "service on host").
    let ctx = signed(with(
        with(svc(), "service", hostile.into()),
        "label",
        "".into(),
    ));
    let (status, reply) = serve.post(&body("alice", ctx));
    assert_eq!(status, 200, "{reply}");
    let v: Value = serde_json::from_str(&reply).unwrap();
    let att = &v["update"]["props"]["attachments"][0];
    for text in [
        att["title"].as_str().unwrap(),
        att["fallback"].as_str().unwrap(),
        v["ephemeral_text"].as_str().unwrap(),
    ] {
        assert!(text.contains(&format!("{defused} on web1")), "{text:?}");
        assert!(!raw_mentions(text), "{text:?}");
    }
    // The core gets the real name: defusing is for Mattermost only.
    assert!(
        fifo.next_line()
            .contains(&format!(";web1;{hostile};2;0;1;alice;")),
        "the pipe must get the name as the core knows it"
    );
    // A signed label wins over the names.
    let ctx = signed(with(svc(), "label", hostile.into()));
    let (_, reply) = serve.post(&body("alice", ctx));
    let v: Value = serde_json::from_str(&reply).unwrap();
    let title = v["update"]["props"]["attachments"][0]["title"]
        .as_str()
        .unwrap();
    assert_eq!(title, format!("Acknowledged: {defused}"));
    let _ = fifo.next_line();
    // An ephemeral-only reply (no reader on the pipe) names it defused too.
    let fifo_gone = Fifo::without_reader();
    let serve = kit::serve_on(&fifo_gone.path, vec![]);
    let ctx = signed(with(svc(), "label", hostile.into()));
    let (_, reply) = serve.post(&body("alice", ctx));
    let v: Value = serde_json::from_str(&reply).unwrap();
    assert!(v.get("update").is_none(), "{reply}");
    let text = v["ephemeral_text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("Could not acknowledge {defused}: ")),
        "{text:?}"
    );
    assert!(!raw_mentions(text), "{text:?}");
}

#[test]
fn line_breaks_in_fields_that_never_reach_the_pipe_still_yield_one_clean_line() {
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    // Signed label/text with line breaks (display-only) and callback fields
    // the receiver does not use: the one line written stays one line.
    let ctx = signed(with(
        with(svc(), "label", "a\nb;c".into()),
        "text",
        "x\r\n[1] DISABLE_NOTIFICATIONS".into(),
    ));
    let mut v = callback("alice", ctx);
    for k in [
        "channel_name",
        "team_domain",
        "post_id",
        "trigger_id",
        "user_id",
    ] {
        v[k] = "z\n[1] DISABLE_NOTIFICATIONS;".into();
    }
    let (status, reply) = serve.post(&serde_json::to_vec(&v).unwrap());
    assert_eq!(status, 200, "{reply}");
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["update"]["message"], "x\r\n[1] DISABLE_NOTIFICATIONS");
    let line = fifo.next_line();
    assert!(line.starts_with('['), "{line:?}");
    assert!(
        line.contains("ACKNOWLEDGE_SVC_PROBLEM;web1;HTTP;2;0;1;alice;"),
        "{line:?}"
    );
    assert!(!fifo.has_more());
    let (status, _) = serve.post(&kit::click_body("next", "one"));
    assert_eq!(status, 200);
    assert!(
        fifo.next_line().contains(";next;one;"),
        "no stray line in between"
    );
}

/// A 64 KiB comment through the dialog path, and the largest comments a
/// 64 KiB body can carry: none reaches the pipe, the button is not used up,
/// and a fair submission of the same dialog then acknowledges once.
#[test]
fn oversized_dialog_comments_are_refused_and_nothing_is_written() {
    use crate::support::{MattermostStandIn, TestPki};
    let pki = TestPki::new();
    let standin = MattermostStandIn::https(&pki);
    let fifo = Fifo::with_reader();
    let mut serve = kit::serve_on(
        &fifo.path,
        vec![
            ("MATTERMOST_ACTIONS", "ack,comment,downtime".into()),
            ("MATTERMOST_URL", standin.base_url()),
            ("MATTERMOST_CA_FILE", pki.ca_file.display().to_string()),
        ],
    );
    let comment_state = kit::open_dialog(&serve, &standin, kit::with_action(svc(), "comment"));
    let downtime_state = kit::open_dialog(&serve, &standin, kit::with_action(svc(), "downtime"));
    let comment_body = |comment: &str| {
        kit::submission(
            &comment_state,
            json!({"comment": comment, "sticky": true, "notify": false}),
        )
    };
    let downtime_body = |comment: &str| {
        kit::submission(&downtime_state, json!({"preset": "1h", "comment": comment}))
    };
    // The comment that makes the whole body exactly the 64 KiB cap.
    let cap = 64 * 1024;
    let fill = |body: &dyn Fn(&str) -> Vec<u8>| "x".repeat(cap - body("").len());
    let (at_cap, at_cap_downtime) = (fill(&comment_body), fill(&downtime_body));
    assert_eq!(comment_body(&at_cap).len(), cap);
    assert_eq!(downtime_body(&at_cap_downtime).len(), cap);
    let kib64 = "x".repeat(cap);
    // Comments of escapes (`\u0000`, six bytes each on the wire): one that
    // unescapes within the parser's buffer, one that does not.
    let escaped_nuls = "\u{0}".repeat(cap / 18);
    let escaped_nuls_past_scratch = "\u{0}".repeat(9000);
    assert!(comment_body(&escaped_nuls_past_scratch).len() < cap);
    let cases: Vec<(&str, Vec<u8>, Result<u16, &str>)> = vec![
        (
            "comment dialog, 64 KiB comment",
            comment_body(&kib64),
            Ok(413),
        ),
        (
            "downtime dialog, 64 KiB comment",
            downtime_body(&kib64),
            Ok(413),
        ),
        (
            "comment dialog, body one byte over the cap",
            comment_body(&format!("{at_cap}x")),
            Ok(413),
        ),
        (
            "comment dialog, body at the cap",
            comment_body(&at_cap),
            Err("250"),
        ),
        (
            "downtime dialog, body at the cap",
            downtime_body(&at_cap_downtime),
            Err("250"),
        ),
        (
            "comment dialog, 3640 escaped NULs",
            comment_body(&escaped_nuls),
            Err("250"),
        ),
        // Past the submission's unescape buffer (8 KiB): the JSON is refused.
        (
            "comment dialog, 9000 escaped NULs",
            comment_body(&escaped_nuls_past_scratch),
            Ok(400),
        ),
    ];
    for (name, body, want) in cases {
        let (status, reply) = serve.submit(&body);
        match want {
            Ok(code) => assert_eq!(status, code, "{name}: {reply}"),
            Err(needle) => {
                assert_eq!(status, 200, "{name}: {reply}");
                let v: Value =
                    serde_json::from_str(&reply).unwrap_or_else(|_| panic!("{name}: {reply}"));
                let why = v["errors"]["comment"].as_str().unwrap_or("");
                assert!(why.contains(needle), "{name}: {reply}");
            }
        }
        println!("{name}: {status} {reply}");
    }
    assert!(serve.alive(), "serve died:\n{}", serve.stderr());
    // The dialog is still good: its fair submission is the pipe's first line.
    let (status, reply) = serve.submit(&comment_body("disk swapped"));
    assert_eq!((status, reply.as_str()), (200, "{}"), "{}", serve.stderr());
    let first = fifo.next_line();
    assert!(
        first.ends_with("ACKNOWLEDGE_SVC_PROBLEM;web1;HTTP;2;0;1;alice;disk swapped"),
        "the pipe received something before the fair submission: {first:?}"
    );
    assert!(!fifo.has_more());
    let log = serve.stderr();
    assert_eq!(
        log.matches("refused: HTTP 413 body larger than 64 KiB")
            .count(),
        3,
        "{log}"
    );
    assert_eq!(log.matches("refused: comment too long").count(), 3, "{log}");
    assert!(log.contains("escaped string that is too long"), "{log}");
}
