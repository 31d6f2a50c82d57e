//! Configuration: one name per setting in the file, the environment and a
//! flag; flags win over the environment, the environment over the file.

use crate::support::{
    assert_exit, command, run, set_mode, stderr, MattermostStandIn, TempDir, TestPki,
    SERVICE_PROBLEM,
};

#[test]
fn flag_beats_environment_beats_file() {
    let pki = TestPki::new();
    let (in_file, in_env, in_flag) = (
        MattermostStandIn::https(&pki),
        MattermostStandIn::https(&pki),
        MattermostStandIn::https(&pki),
    );
    let dir = TempDir::new();
    let conf = dir.write(
        "mm.conf",
        format!(
            "# as an EnvironmentFile\nMATTERMOST_WEBHOOK_URL=\"{}\"\nMATTERMOST_CA_FILE={}\n",
            in_file.url(),
            pki.ca_file.display()
        ),
    );
    let counts = || {
        [&in_file, &in_env, &in_flag]
            .map(|mm| mm.requests().len())
            .to_vec()
    };

    let out = run(command(&conf).args(SERVICE_PROBLEM));
    assert_exit(&out, 0);
    assert_eq!(counts(), [1, 0, 0], "file alone");

    let out = run(command(&conf)
        .args(SERVICE_PROBLEM)
        .env("MATTERMOST_WEBHOOK_URL", in_env.url()));
    assert_exit(&out, 0);
    assert_eq!(counts(), [1, 1, 0], "environment over file");

    let out = run(command(&conf)
        .args(SERVICE_PROBLEM)
        .args(["--webhook-url", &in_flag.url()])
        .env("MATTERMOST_WEBHOOK_URL", in_env.url()));
    assert_exit(&out, 0);
    assert_eq!(counts(), [1, 1, 1], "flag over environment");
}

#[test]
fn config_flag_names_the_file_and_the_default_is_not_read() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let dir = TempDir::new();
    let conf = dir.write(
        "other.conf",
        format!(
            "MATTERMOST_WEBHOOK_URL={}\nMATTERMOST_CA_FILE={}\n",
            mm.url(),
            pki.ca_file.display()
        ),
    );
    let empty = dir.write("empty.conf", "");
    // MATTERMOST_CONFIG points at the empty file; --config wins.
    let out = run(command(&empty)
        .arg("--config")
        .arg(&conf)
        .args(SERVICE_PROBLEM));
    assert_exit(&out, 0);
    assert_eq!(mm.requests().len(), 1);
}

#[test]
fn a_missing_config_file_that_was_asked_for_is_a_config_error() {
    let dir = TempDir::new();
    let missing = dir.join("nope.conf");
    let out = run(command(&missing).args(SERVICE_PROBLEM));
    assert_exit(&out, 78);
    let err = stderr(&out);
    assert!(
        err.contains("nope.conf") && err.contains("--config"),
        "{err}"
    );
}

#[test]
fn invalid_values_exit_78_naming_key_flag_and_line() {
    let dir = TempDir::new();
    let conf = dir.write(
        "mm.conf",
        "MATTERMOST_WEBHOOK_URL=https://127.0.0.1:9/hooks/x\n\nMATTERMOST_TIMEOUT=soon\n",
    );
    let out = run(command(&conf).args(SERVICE_PROBLEM));
    assert_exit(&out, 78);
    let err = stderr(&out);
    assert!(err.contains("MATTERMOST_TIMEOUT"), "{err}");
    assert!(err.contains("--timeout"), "{err}");
    assert!(err.contains("mm.conf line 3"), "{err}");

    // A decoration setting does not stop the alert (see degrade.rs): with
    // --dry-run the payload is printed and the error still names it.
    let out = run(command(&conf).args(SERVICE_PROBLEM).args([
        "--timeout",
        "2",
        "--mention-states",
        "DOWN,SIDEWAYS",
        "--dry-run",
    ]));
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("MATTERMOST_MENTION_STATES") && err.contains("SIDEWAYS"),
        "{err}"
    );
    assert!(!out.stdout.is_empty(), "the payload is printed");
}

#[test]
fn unknown_keys_are_warned_about_by_line() {
    let dir = TempDir::new();
    let conf = dir.write("mm.conf", "# hi\nMATTERMOST_CHANEL=ops\n");
    let out = run(command(&conf).args(SERVICE_PROBLEM).arg("--dry-run"));
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("mm.conf line 2") && err.contains("MATTERMOST_CHANEL"),
        "{err}"
    );
}

#[test]
fn a_secret_in_a_world_readable_file_is_warned_about() {
    let dir = TempDir::new();
    let conf = dir.write(
        "mm.conf",
        format!(
            "MATTERMOST_WEBHOOK_URL=https://127.0.0.1:9/hooks/{}\n",
            crate::support::HOOK_ID
        ),
    );
    let out = run(command(&conf).args(SERVICE_PROBLEM).arg("--dry-run"));
    assert!(!stderr(&out).contains("readable"), "{}", stderr(&out));
    // 0640, as the README recommends: the core's group must read it.
    set_mode(&conf, 0o640);
    let out = run(command(&conf).args(SERVICE_PROBLEM).arg("--dry-run"));
    assert_exit(&out, 0);
    assert!(!stderr(&out).contains("readable"), "{}", stderr(&out));
    set_mode(&conf, 0o644);
    let out = run(command(&conf).args(SERVICE_PROBLEM).arg("--dry-run"));
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("readable by every user") && err.contains("MATTERMOST_WEBHOOK_URL"),
        "{err}"
    );
    crate::support::assert_no_secret(&out);
}

#[test]
fn a_webhook_url_that_is_not_a_url_is_a_config_error() {
    let (_dir, mut cmd) = crate::support::isolated();
    cmd.args(SERVICE_PROBLEM)
        .args(["--webhook-url", "https://mm.example/hooks/has space"]);
    let out = run(&mut cmd);
    assert_exit(&out, 78);
    let err = stderr(&out);
    assert!(
        err.contains("MATTERMOST_WEBHOOK_URL") && err.contains("--webhook-url"),
        "{err}"
    );
    assert!(!err.contains("space"), "the hook id is secret: {err}");
}
