//! Usage errors: a core throws a command's stderr away, so a wrong command
//! line must reach syslog, and where the alert's own fields were understood
//! the alert still goes out (exit 64 afterwards, so the core's log shows the
//! command definition needs fixing). `--config`, `--log-level` and
//! `--syslog` work after the command too, and `--version` prints it.

use crate::support::{
    assert_exit, command, isolated, run, stderr, MattermostStandIn, SyslogSink, TempDir, TestPki,
    SERVICE_PROBLEM,
};

/// A config file for the stand-in; returns (dir, path).
fn conf_for(mm: &MattermostStandIn, pki: &TestPki) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new();
    let conf = dir.write(
        "mm.conf",
        format!(
            "MATTERMOST_WEBHOOK_URL={}\nMATTERMOST_CA_FILE={}\n",
            mm.url(),
            pki.ca_file.display()
        ),
    );
    (dir, conf)
}

#[test]
fn an_unknown_option_reaches_syslog_and_the_alert_is_still_delivered() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let (dir, conf) = conf_for(&mm, &pki);
    let syslog = SyslogSink::bind(dir.path());
    let out = run(command(&conf)
        .args(SERVICE_PROBLEM)
        .args(["--servicestate", "2"])
        .env("MATTERMOST_SYSLOG", syslog.path()));
    assert_exit(&out, 64);
    assert_eq!(mm.requests().len(), 1, "the alert is delivered");
    let post = mm.requests()[0].json();
    assert!(
        post["attachments"][0]["title"]
            .as_str()
            .is_some_and(|t| t.contains("http on web1 is Critical")),
        "{post}"
    );
    let errors = syslog.errors();
    assert!(
        errors
            .iter()
            .any(|l| l.contains("usage") && l.contains("--servicestate")),
        "syslog names the option: {errors:#?}"
    );
    assert!(stderr(&out).contains("--servicestate"), "{}", stderr(&out));
}

#[test]
fn a_bad_type_is_logged_and_the_alert_sent_as_its_fields_say() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let (dir, conf) = conf_for(&mm, &pki);
    let syslog = SyslogSink::bind(dir.path());
    let mut args = SERVICE_PROBLEM.to_vec();
    assert_eq!(args[1], "--type");
    args[2] = "Servcie";
    let out = run(command(&conf)
        .args(&args)
        .env("MATTERMOST_SYSLOG", syslog.path()));
    assert_exit(&out, 64);
    let reqs = mm.requests();
    assert_eq!(reqs.len(), 1, "the alert is delivered");
    let title = reqs[0].json()["attachments"][0]["title"].clone();
    assert!(
        title.as_str().is_some_and(|t| t.contains("http on web1")),
        "a service alert: {title}"
    );
    let errors = syslog.errors();
    assert!(
        errors
            .iter()
            .any(|l| l.contains("--type") && l.contains("Servcie")),
        "{errors:#?}"
    );
}

#[test]
fn a_command_line_with_no_alert_in_it_still_reaches_syslog() {
    let (dir, mut cmd) = isolated();
    let syslog = SyslogSink::bind(dir.path());
    let out = run(cmd
        .args(["notfy", "--type", "Host"])
        .env("MATTERMOST_SYSLOG", syslog.path()));
    assert_exit(&out, 64);
    let errors = syslog.errors();
    assert!(
        errors
            .iter()
            .any(|l| l.contains("usage") && l.contains("notfy")),
        "{errors:#?}"
    );
}

#[test]
fn global_options_work_after_the_command() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let (dir, conf) = conf_for(&mm, &pki);
    let syslog = SyslogSink::bind(dir.path());
    // MATTERMOST_CONFIG names an empty file: only --config finds the hook.
    let empty = dir.write("empty.conf", "");
    let out = run(command(&empty)
        .args(SERVICE_PROBLEM)
        .arg("--config")
        .arg(&conf)
        .args(["--log-level", "info", "--syslog"])
        .arg(syslog.path()));
    assert_exit(&out, 0);
    assert_eq!(mm.requests().len(), 1);
    let lines = syslog.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<30>") && l.contains("delivered")),
        "info reached the socket given after the command: {lines:#?}"
    );
}

#[test]
fn option_values_are_never_taken_for_options() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let (_dir, conf) = conf_for(&mm, &pki);
    let mut args = SERVICE_PROBLEM.to_vec();
    let output = args.len() - 1;
    args[output] = "--config";
    // The unknown option makes the command line be walked token by token.
    let out = run(command(&conf)
        .args(&args)
        .args(["--ackcomment", "--syslog", "--bogus"]));
    assert_exit(&out, 64);
    let reqs = mm.requests();
    assert_eq!(reqs.len(), 1, "{}", stderr(&out));
    let text = reqs[0].json()["attachments"][0]["text"].clone();
    assert!(
        text.as_str().is_some_and(|t| t.contains("--config")),
        "the output is the value: {text}"
    );
}

#[test]
fn version_prints_the_version() {
    let (_dir, mut cmd) = isolated();
    let out = run(cmd.arg("--version"));
    assert_exit(&out, 0);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("mattermost-notify {}\n", env!("CARGO_PKG_VERSION"))
    );
}
