//! Delivery to the HTTPS stand-in: what is sent, and how every kind of
//! answer maps to an exit code and a message that never shows the secret.

use crate::support::{
    assert_exit, assert_no_secret, isolated, run, stderr, Behaviour, MattermostStandIn, TestPki,
    SERVICE_PROBLEM,
};
use std::process::Output;

/// Sends `SERVICE_PROBLEM` to `mm`, trusting `ca`.
fn send(mm: &MattermostStandIn, ca: &std::path::Path, extra: &[&str]) -> Output {
    let (_dir, mut cmd) = isolated();
    cmd.args(SERVICE_PROBLEM)
        .args(extra)
        .env("MATTERMOST_WEBHOOK_URL", mm.url())
        .env("MATTERMOST_CA_FILE", ca);
    run(&mut cmd)
}

#[test]
fn delivers_json_over_tls_trusting_only_the_ca_file() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let out = send(&mm, &pki.ca_file, &[]);
    assert_exit(&out, 0);
    let reqs = mm.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, format!("/hooks/{}", crate::support::HOOK_ID));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.json().is_object());
    assert_eq!(r.answered, 200);
    assert_no_secret(&out);
}

#[test]
fn bad_request_is_permanent_and_names_the_error_id() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    mm.script([Behaviour::invalid_hook()]);
    let out = send(&mm, &pki.ca_file, &[]);
    assert_exit(&out, 69);
    let err = stderr(&out);
    assert!(
        err.contains("web.incoming_webhook.invalid.app_error"),
        "{err}"
    );
    assert!(err.contains("400"), "{err}");
    assert_no_secret(&out);
}

#[test]
fn channel_locked_403_is_permanent_and_names_the_error_id() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    mm.script([Behaviour::channel_locked()]);
    let out = send(&mm, &pki.ca_file, &["--channel", "elsewhere"]);
    assert_exit(&out, 69);
    let err = stderr(&out);
    assert!(
        err.contains("web.incoming_webhook.channel_locked.app_error"),
        "{err}"
    );
    assert!(err.contains("403"), "{err}");
    assert_no_secret(&out);
}

#[test]
fn a_redirect_is_not_followed_and_is_permanent() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    mm.script([Behaviour::Status {
        status: 301,
        body: "moved".into(),
    }]);
    let out = send(&mm, &pki.ca_file, &[]);
    assert_exit(&out, 69);
    assert!(stderr(&out).contains("HTTP 301"), "{}", stderr(&out));
    assert_eq!(mm.requests().len(), 1);
    assert_no_secret(&out);
}

#[test]
fn server_error_is_temporary() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    mm.set_default(Behaviour::ServerError);
    let out = send(&mm, &pki.ca_file, &[]);
    assert_exit(&out, 75);
    assert!(stderr(&out).contains("500"), "{}", stderr(&out));
    assert_no_secret(&out);
}

#[test]
fn rate_limit_is_temporary_and_says_when_to_retry() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    mm.set_default(Behaviour::RateLimited {
        retry_after_secs: 9,
    });
    let out = send(&mm, &pki.ca_file, &[]);
    assert_exit(&out, 75);
    let err = stderr(&out);
    assert!(
        err.contains("429") && err.contains("retry after 9 s"),
        "{err}"
    );
    assert_no_secret(&out);
}

#[test]
fn wrong_ca_fails_verification_with_a_clear_message() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let out = send(&mm, &pki.other_ca_file, &[]);
    assert_exit(&out, 75);
    let err = stderr(&out);
    assert!(err.contains("certificate is not trusted"), "{err}");
    assert!(err.contains("MATTERMOST_CA_FILE"), "{err}");
    assert!(mm.requests().is_empty(), "nothing may be sent unverified");
    assert_no_secret(&out);
}

#[test]
fn bundled_roots_do_not_trust_a_private_ca() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let (_dir, mut cmd) = isolated();
    cmd.args(SERVICE_PROBLEM)
        .env("MATTERMOST_WEBHOOK_URL", mm.url());
    let out = run(&mut cmd);
    assert_exit(&out, 75);
    assert!(stderr(&out).contains("not trusted"), "{}", stderr(&out));
    assert!(mm.requests().is_empty());
}

#[test]
fn insecure_switch_skips_verification_and_warns() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let out = send(&mm, &pki.other_ca_file, &["--insecure"]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("warn") && err.contains("MATTERMOST_INSECURE"),
        "{err}"
    );
    assert_eq!(mm.requests().len(), 1);
}

#[test]
fn a_silent_server_times_out_as_temporary() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    mm.set_default(Behaviour::HangAfterRequest);
    let out = send(&mm, &pki.ca_file, &["--timeout", "1"]);
    assert_exit(&out, 75);
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    assert_no_secret(&out);
}

#[test]
fn a_reset_connection_is_temporary() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    mm.set_default(Behaviour::ResetMidResponse);
    let out = send(&mm, &pki.ca_file, &[]);
    assert_exit(&out, 75);
    assert_no_secret(&out);
}

#[test]
fn nothing_listening_is_temporary() {
    let port = crate::support::tinyproxy::free_port();
    let (_dir, mut cmd) = isolated();
    cmd.args(SERVICE_PROBLEM).env(
        "MATTERMOST_WEBHOOK_URL",
        format!("https://127.0.0.1:{port}/hooks/{}", crate::support::HOOK_ID),
    );
    let out = run(&mut cmd);
    assert_exit(&out, 75);
    assert_no_secret(&out);
}

#[test]
fn missing_webhook_url_is_a_config_error_naming_it() {
    let (_dir, mut cmd) = isolated();
    cmd.args(SERVICE_PROBLEM);
    let out = run(&mut cmd);
    assert_exit(&out, 78);
    let err = stderr(&out);
    assert!(err.contains("MATTERMOST_WEBHOOK_URL"), "{err}");
    assert!(err.contains("--webhook-url"), "{err}");
}

#[test]
fn test_subcommand_reports_a_delivered_test_post() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let (_dir, mut cmd) = isolated();
    cmd.arg("test")
        .env("MATTERMOST_WEBHOOK_URL", mm.url())
        .env("MATTERMOST_CA_FILE", &pki.ca_file);
    let out = run(&mut cmd);
    assert_exit(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("delivered"), "{stdout}");
    assert!(stdout.contains("HTTP 200"), "{stdout}");
    assert!(stdout.contains(&format!("https://127.0.0.1:{}/hooks/***", mm.port())));
    let reqs = mm.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].json().is_object());
    assert_no_secret(&out);
}

#[test]
fn test_subcommand_explains_a_channel_locked_hook() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    mm.script([Behaviour::channel_locked()]);
    let (_dir, mut cmd) = isolated();
    cmd.args(["test", "--channel", "town-square"])
        .env("MATTERMOST_WEBHOOK_URL", mm.url())
        .env("MATTERMOST_CA_FILE", &pki.ca_file);
    let out = run(&mut cmd);
    assert_exit(&out, 69);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("HTTP 403"), "{stdout}");
    assert!(stdout.contains("channel_locked"), "{stdout}");
    assert!(stdout.contains("remove MATTERMOST_CHANNEL"), "{stdout}");
    assert_no_secret(&out);
}
