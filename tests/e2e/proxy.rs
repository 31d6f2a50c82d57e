//! Proxies, against a real tinyproxy: used only when MATTERMOST_USE_PROXY
//! is on, from MATTERMOST_PROXY or the standard variables, HTTPS through
//! CONNECT, NO_PROXY honoured; never used when the switch is off.

use crate::support::{
    assert_exit, isolated, run, stderr, MattermostStandIn, TestPki, Tinyproxy, SERVICE_PROBLEM,
};
use std::time::Duration;

fn base(mm: &MattermostStandIn, pki: &TestPki) -> (crate::support::TempDir, std::process::Command) {
    let (dir, mut cmd) = isolated();
    cmd.args(SERVICE_PROBLEM)
        .env("MATTERMOST_WEBHOOK_URL", mm.url())
        .env("MATTERMOST_CA_FILE", &pki.ca_file);
    (dir, cmd)
}

fn target(mm: &MattermostStandIn) -> String {
    format!("127.0.0.1:{}", mm.port())
}

#[test]
fn use_proxy_with_explicit_proxy_url_goes_through_connect() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let Some(proxy) = Tinyproxy::start(&[mm.port()]) else {
        return;
    };
    let (_dir, mut cmd) = base(&mm, &pki);
    cmd.env("MATTERMOST_USE_PROXY", "1")
        .env("MATTERMOST_PROXY", proxy.url());
    let out = run(&mut cmd);
    assert_exit(&out, 0);
    assert_eq!(mm.requests().len(), 1);
    assert!(
        proxy.saw_connect(&target(&mm), Duration::from_secs(5)),
        "tinyproxy log:\n{}",
        proxy.log()
    );
}

#[test]
fn use_proxy_falls_back_to_https_proxy_variable() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let Some(proxy) = Tinyproxy::start(&[mm.port()]) else {
        return;
    };
    let (_dir, mut cmd) = base(&mm, &pki);
    cmd.args(["--use-proxy"]).env("HTTPS_PROXY", proxy.url());
    let out = run(&mut cmd);
    assert_exit(&out, 0);
    assert!(
        proxy.saw_connect(&target(&mm), Duration::from_secs(5)),
        "tinyproxy log:\n{}",
        proxy.log()
    );
}

#[test]
fn proxy_variables_are_ignored_when_the_switch_is_off() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let Some(proxy) = Tinyproxy::start(&[mm.port()]) else {
        return;
    };
    let (_dir, mut cmd) = base(&mm, &pki);
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
    ] {
        cmd.env(var, proxy.url());
    }
    let out = run(&mut cmd);
    assert_exit(&out, 0);
    assert_eq!(mm.requests().len(), 1);
    // Had the proxy been used, tinyproxy would have logged the CONNECT
    // before it forwarded a single byte of the (completed) request.
    assert!(proxy.connects().is_empty(), "log:\n{}", proxy.log());
}

#[test]
fn no_proxy_sends_matching_hosts_directly() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let Some(proxy) = Tinyproxy::start(&[mm.port()]) else {
        return;
    };
    let (_dir, mut cmd) = base(&mm, &pki);
    cmd.env("MATTERMOST_USE_PROXY", "yes")
        .env("MATTERMOST_PROXY", proxy.url())
        .env("NO_PROXY", "example.com,127.0.0.1");
    let out = run(&mut cmd);
    assert_exit(&out, 0);
    assert_eq!(mm.requests().len(), 1);
    assert!(proxy.connects().is_empty(), "log:\n{}", proxy.log());
}

#[test]
fn a_proxy_refusing_connect_is_temporary() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    // tinyproxy allows CONNECT only to another port.
    let Some(proxy) = Tinyproxy::start(&[1]) else {
        return;
    };
    let (_dir, mut cmd) = base(&mm, &pki);
    cmd.env("MATTERMOST_USE_PROXY", "1")
        .env("MATTERMOST_PROXY", proxy.url());
    let out = run(&mut cmd);
    assert_exit(&out, 75);
    assert!(mm.requests().is_empty());
    assert!(stderr(&out).contains("proxy"), "{}", stderr(&out));
    crate::support::assert_no_secret(&out);
}

#[test]
fn tls_through_the_proxy_is_still_verified_end_to_end() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let Some(proxy) = Tinyproxy::start(&[mm.port()]) else {
        return;
    };
    let (_dir, mut cmd) = base(&mm, &pki);
    cmd.env("MATTERMOST_CA_FILE", &pki.other_ca_file)
        .env("MATTERMOST_USE_PROXY", "1")
        .env("MATTERMOST_PROXY", proxy.url());
    let out = run(&mut cmd);
    assert_exit(&out, 75);
    assert!(stderr(&out).contains("not trusted"), "{}", stderr(&out));
    assert!(proxy.saw_connect(&target(&mm), Duration::from_secs(5)));
    assert!(mm.requests().is_empty());
}
