//! Degrade, don't drop: a setting that only decorates a post never costs
//! the alert. The post goes out without it, an error line names the key and
//! its flag on stderr and in syslog, and `test` reports the same problem.

use crate::support::{
    assert_exit, assert_no_secret, command, run, stderr, MattermostStandIn, SyslogSink, TempDir,
    TestPki, SERVICE_PROBLEM,
};

/// Every decoration wrong at once, each in its own way; the webhook right.
fn broken_decorations(dir: &TempDir, mm: &MattermostStandIn, pki: &TestPki) -> std::path::PathBuf {
    dir.write(
        "mm.conf",
        format!(
            "MATTERMOST_WEBHOOK_URL={}\nMATTERMOST_CA_FILE={}\n\
             MATTERMOST_PRIORITY=loud\n\
             MATTERMOST_ICON_URL=ftp://icons.example/a.png\n\
             MATTERMOST_SERVICE_URL=not-a-url/{{serviceuuid}}\n\
             MATTERMOST_IMAGE_URL=/pnp4nagios/index.php/image?host={{hostname}}\n\
             MATTERMOST_MENTION=@oncall\nMATTERMOST_MENTION_STATES=CRITICAL,SIDEWAYS\n\
             MATTERMOST_USERNAME={}\n\
             MATTERMOST_TWO_WAY=1\nMATTERMOST_ACK_URL=https://mon.example/ack\n\
             MATTERMOST_ACK_SECRET_FILE={}\nMATTERMOST_ACK_TTL=forever\n",
            mm.url(),
            pki.ca_file.display(),
            "n".repeat(81),
            dir.join("no-such.secret").display(),
        ),
    )
}

/// Key, flag: what each error line must name.
const BROKEN: [(&str, &str); 8] = [
    ("MATTERMOST_PRIORITY", "--priority"),
    ("MATTERMOST_ICON_URL", "--icon-url"),
    ("MATTERMOST_SERVICE_URL", "--service-url"),
    ("MATTERMOST_IMAGE_URL", "--image-url"),
    ("MATTERMOST_MENTION_STATES", "--mention-states"),
    ("MATTERMOST_USERNAME", "--username"),
    ("MATTERMOST_ACK_SECRET_FILE", "--ack-secret-file"),
    ("MATTERMOST_ACK_TTL", "--ack-ttl"),
];

#[test]
fn invalid_decorations_are_left_out_logged_to_syslog_and_the_alert_delivered() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let dir = TempDir::new();
    let conf = broken_decorations(&dir, &mm, &pki);
    let syslog = SyslogSink::bind(dir.path());
    let out = run(command(&conf)
        .args(SERVICE_PROBLEM)
        .env("MATTERMOST_SYSLOG", syslog.path()));
    assert_exit(&out, 0);
    assert_no_secret(&out);

    let reqs = mm.requests();
    assert_eq!(reqs.len(), 1, "the alert is delivered");
    let post = reqs[0].json();
    let attachment = &post["attachments"][0];
    assert!(
        attachment["title"]
            .as_str()
            .is_some_and(|t| t.contains("http on web1")),
        "{post}"
    );
    for left_out in ["priority", "icon_url", "username", "text"] {
        assert!(post.get(left_out).is_none(), "{left_out}: {post}");
    }
    assert!(attachment.get("title_link").is_none(), "{post}");
    assert!(attachment.get("image_url").is_none(), "{post}");
    assert!(attachment.get("actions").is_none(), "no button: {post}");

    let err = stderr(&out);
    let errors = syslog.errors();
    for (key, flag) in BROKEN {
        assert!(
            err.lines()
                .any(|l| l.contains("error") && l.contains(key) && l.contains(flag)),
            "stderr names {key} and {flag}:\n{err}"
        );
        assert!(
            errors.iter().any(|l| l.contains(key) && l.contains(flag)),
            "syslog names {key} and {flag}:\n{errors:#?}"
        );
    }
}

#[test]
fn an_unreadable_ack_secret_costs_only_the_button() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let dir = TempDir::new();
    // A directory where the secret file should be: unreadable even for root.
    let secret = dir.join("ack.secret");
    std::fs::create_dir(&secret).expect("dir in the way");
    let conf = dir.write(
        "mm.conf",
        format!(
            "MATTERMOST_WEBHOOK_URL={}\nMATTERMOST_CA_FILE={}\nMATTERMOST_TWO_WAY=1\n\
             MATTERMOST_ACK_URL=https://mon.example/ack\nMATTERMOST_ACK_SECRET_FILE={}\n",
            mm.url(),
            pki.ca_file.display(),
            secret.display()
        ),
    );
    let out = run(command(&conf).args(SERVICE_PROBLEM));
    assert_exit(&out, 0);
    let reqs = mm.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].json()["attachments"][0].get("actions").is_none());
    let err = stderr(&out);
    assert!(
        err.contains("MATTERMOST_ACK_SECRET_FILE")
            && err.contains("--ack-secret-file")
            && err.contains("mm.conf line 5")
            && err.contains("without the action buttons"),
        "{err}"
    );
}

#[test]
fn test_reports_the_same_problems_and_exits_78() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let dir = TempDir::new();
    let conf = broken_decorations(&dir, &mm, &pki);
    let out = run(command(&conf).arg("test"));
    assert_exit(&out, 78);
    assert_no_secret(&out);
    assert_eq!(mm.requests().len(), 1, "the test post is still sent");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("delivered"), "{stdout}");
    for (key, flag) in BROKEN {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("problem:") && l.contains(key) && l.contains(flag)),
            "the report names {key} and {flag}:\n{stdout}"
        );
    }
}

#[test]
fn settings_the_post_needs_still_stop_it_and_keep_it() {
    // The contrast: a delivery setting is not a decoration.
    let dir = TempDir::new();
    let conf = dir.write(
        "mm.conf",
        "MATTERMOST_WEBHOOK_URL=https://127.0.0.1:9/hooks/x\nMATTERMOST_CONNECT_TIMEOUT=soon\n\
         MATTERMOST_PRIORITY=loud\n",
    );
    let out = run(command(&conf).args(SERVICE_PROBLEM));
    assert_exit(&out, 78);
    let err = stderr(&out);
    assert!(
        err.contains("MATTERMOST_CONNECT_TIMEOUT") && err.contains("kept in the spool"),
        "{err}"
    );
    assert!(err.contains("MATTERMOST_PRIORITY"), "{err}");
}
