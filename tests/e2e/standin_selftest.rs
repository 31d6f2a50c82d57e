//! The test support itself: the stand-in answers as DESIGN §3 says and the
//! tinyproxy helper sees CONNECTs. Uses ureq directly as the client so a
//! fault here is told apart from a fault in the binary.

use crate::support::{Behaviour, MattermostStandIn, TestPki, Tinyproxy};
use std::time::Duration;

fn agent(pki: &TestPki, proxy: Option<&str>) -> ureq::Agent {
    let pem = std::fs::read(&pki.ca_file).expect("read CA");
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .proxy(proxy.map(|p| ureq::Proxy::new(p).expect("proxy url")))
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent()
}

fn post(agent: &ureq::Agent, url: &str, ctype: &str, body: &[u8]) -> (u16, String) {
    let mut resp = agent
        .post(url)
        .header("Content-Type", ctype)
        .send(body)
        .expect("request");
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    (status, body)
}

#[test]
fn standin_accepts_valid_posts_and_rejects_like_mattermost() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let a = agent(&pki, None);
    let url = mm.url();
    assert_eq!(
        post(&a, &url, "application/json", br#"{"text":"hi"}"#),
        (200, "ok".to_string())
    );
    let (status, body) = post(&a, &url, "application/json", br#"{"username":"x"}"#);
    assert_eq!(status, 400);
    assert!(body.contains("No text specified"), "{body}");
    let (status, body) = post(&a, &url, "application/json", b"{\"text\":\"a\x01b\"}");
    assert_eq!(status, 400);
    assert!(body.contains("Unable to parse incoming data"), "{body}");
    let (status, _) = post(&a, &url, "text/plain", br#"{"text":"hi"}"#);
    assert_eq!(status, 400);

    let reqs = mm.requests();
    assert_eq!(reqs.len(), 4);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, format!("/hooks/{}", crate::support::HOOK_ID));
    assert_eq!(reqs[0].json()["text"], "hi");
    assert_eq!(reqs[0].answered, 200);
}

#[test]
fn standin_follows_its_script_then_the_default() {
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::channel_locked(), Behaviour::ServerError])
        .set_default(Behaviour::RateLimited {
            retry_after_secs: 7,
        });
    let a = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent();
    let body = br#"{"text":"x"}"#;
    let (s, b) = post(&a, &mm.url(), "application/json", body);
    assert_eq!(s, 403);
    let v: serde_json::Value = serde_json::from_str(&b).expect("error JSON");
    assert_eq!(v["id"], "web.incoming_webhook.channel_locked.app_error");
    assert_eq!(v["status_code"], 403);
    assert_eq!(post(&a, &mm.url(), "application/json", body).0, 500);
    let resp = a
        .post(&mm.url())
        .header("Content-Type", "application/json")
        .send(&body[..])
        .expect("request");
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert!(resp.headers().contains_key("x-ratelimit-reset"));
}

#[test]
fn standin_rate_limit_and_failure_share_apply_on_the_default_path() {
    let mm = MattermostStandIn::http();
    let a = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent();
    mm.rate_limit(0.001, 2.0);
    let statuses: Vec<u16> = (0..4)
        .map(|_| post(&a, &mm.url(), "application/json", br#"{"text":"x"}"#).0)
        .collect();
    assert_eq!(statuses, [200, 200, 429, 429]);

    let mm = MattermostStandIn::http();
    mm.failure_share(0.5);
    let statuses: Vec<u16> = (0..4)
        .map(|_| post(&a, &mm.url(), "application/json", br#"{"text":"x"}"#).0)
        .collect();
    assert_eq!(statuses, [200, 500, 200, 500]);
}

#[test]
fn standin_faults_break_the_connection() {
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::CloseImmediately, Behaviour::ResetMidResponse]);
    let a = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .new_agent();
    let send = || {
        a.post(&mm.url())
            .header("Content-Type", "application/json")
            .send(&br#"{"text":"x"}"#[..])
    };
    assert!(send().is_err(), "closed at accept");
    assert!(send().is_err(), "reset mid-response");
    assert!(send().is_ok(), "then the default answers");
    assert!(mm.connections() >= 3);
}

#[test]
fn tinyproxy_helper_logs_connects_to_the_standin() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let Some(proxy) = Tinyproxy::start(&[mm.port()]) else {
        return;
    };
    let a = agent(&pki, Some(&proxy.url()));
    assert_eq!(
        post(&a, &mm.url(), "application/json", br#"{"text":"hi"}"#).0,
        200
    );
    let target = format!("127.0.0.1:{}", mm.port());
    assert!(
        proxy.saw_connect(&target, Duration::from_secs(5)),
        "log: {}",
        proxy.log()
    );
}

#[test]
fn standin_opens_a_dialog_once_per_fresh_trigger_id() {
    let pki = TestPki::new();
    let standin = MattermostStandIn::https(&pki);
    let agent = agent(&pki, None);
    let url = format!(
        "{}{}",
        standin.base_url(),
        crate::support::standin::DIALOG_OPEN_PATH
    );
    let dialog = |trigger: &str, title: &str| {
        serde_json::to_vec(&serde_json::json!({
            "trigger_id": trigger, "url": "https://mon.example/ack/dialog",
            "dialog": {"callback_id": "cb", "title": title, "state": "s",
                "elements": [{"display_name": "Comment", "name": "comment",
                    "type": "textarea", "max_length": 250}]},
        }))
        .unwrap()
    };
    let trigger = standin.issue_trigger_id();
    let (status, body) = post(
        &agent,
        &url,
        "application/json",
        &dialog(&trigger, "Acknowledge"),
    );
    assert_eq!((status, body.as_str()), (200, r#"{"status":"OK"}"#));
    assert_eq!(standin.dialogs().len(), 1);
    assert_eq!(standin.dialogs()[0]["dialog"]["state"], "s");
    // Once only.
    let (status, body) = post(
        &agent,
        &url,
        "application/json",
        &dialog(&trigger, "Acknowledge"),
    );
    assert_eq!(status, 400);
    assert!(body.contains("decode_trigger_id.expired"), "{body}");
    // Unknown.
    let (status, body) = post(
        &agent,
        &url,
        "application/json",
        &dialog("made-up", "Acknowledge"),
    );
    assert_eq!(status, 400);
    assert!(body.contains("verify_signature_failed"), "{body}");
    // A title Mattermost refuses does not use up the trigger.
    let fresh = standin.issue_trigger_id();
    let (status, _) = post(
        &agent,
        &url,
        "application/json",
        &dialog(&fresh, &"t".repeat(25)),
    );
    assert_eq!(status, 400);
    let (status, _) = post(
        &agent,
        &url,
        "application/json",
        &dialog(&fresh, "Acknowledge"),
    );
    assert_eq!(status, 200);
    // Briefly: a stale trigger is refused.
    standin.set_trigger_ttl(Duration::from_millis(50));
    let stale = standin.issue_trigger_id();
    std::thread::sleep(Duration::from_millis(200));
    let (status, body) = post(
        &agent,
        &url,
        "application/json",
        &dialog(&stale, "Acknowledge"),
    );
    assert_eq!(status, 400);
    assert!(body.contains("expired"), "{body}");
    assert_eq!(standin.dialogs().len(), 2);
}
