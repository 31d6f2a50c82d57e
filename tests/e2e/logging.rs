//! Logging: every line also goes to syslog (RFC 3164 over a unix datagram
//! socket, facility daemon, tag `mattermost-notify[pid]`), and no line shows
//! the webhook secret.

use crate::support::{
    assert_exit, assert_no_secret, isolated, run, Behaviour, MattermostStandIn, TestPki,
    SERVICE_PROBLEM,
};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

#[test]
fn errors_reach_syslog_redacted_with_priority_and_tag() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    mm.script([Behaviour::invalid_hook()]);
    let (dir, mut cmd) = isolated();
    let sock_path = dir.join("log.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind syslog socket");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    cmd.args(SERVICE_PROBLEM)
        .env("MATTERMOST_WEBHOOK_URL", mm.url())
        .env("MATTERMOST_CA_FILE", &pki.ca_file)
        .env("MATTERMOST_SYSLOG", &sock_path);
    let out = run(&mut cmd);
    assert_exit(&out, 69);
    assert_no_secret(&out);

    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).expect("a syslog datagram");
    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
    // daemon (3) * 8 + error (3) = 27
    assert!(line.starts_with("<27>mattermost-notify["), "{line}");
    assert!(
        line.contains("web.incoming_webhook.invalid.app_error"),
        "{line}"
    );
    assert!(line.contains("/hooks/***"), "{line}");
    assert!(!line.contains(crate::support::HOOK_ID), "{line}");
}

#[test]
fn syslog_can_be_switched_off() {
    let (dir, mut cmd) = isolated();
    let sock_path = dir.join("log.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind syslog socket");
    sock.set_nonblocking(true).expect("nonblocking");
    // A config error is logged; with syslog off nothing reaches the socket.
    cmd.args(SERVICE_PROBLEM)
        .args(["--timeout", "never"])
        .env("MATTERMOST_SYSLOG", "0");
    let out = run(&mut cmd);
    assert_exit(&out, 78);
    let mut buf = [0u8; 64];
    assert!(sock.recv(&mut buf).is_err(), "nothing may be sent");
}
