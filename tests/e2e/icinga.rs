//! Proof with a real Icinga 2: the daemon from [`crate::support::icinga2`]
//! and `serve` acting on it through its REST API.

use crate::support::icinga2::{Icinga2, API_USER};

/// The harness itself: a daemon comes up from the given objects, its
/// dummy-DOWN host is a problem within seconds, and the product's API user
/// acknowledges with the password file and the README's permissions; a
/// wrong password is 401.
#[test]
fn the_harness_runs_a_daemon_with_a_problem_and_the_readme_api_user() {
    let Some(icinga) = Icinga2::start(
        r#"object Host "db1" { import "fast"; vars.dummy_state = 2; vars.dummy_text = "no route" }"#,
    ) else {
        return;
    };
    icinga.wait_for("db1 DOWN", |i| i.host("db1")["state"] == 1.0);
    let password = std::fs::read_to_string(&icinga.password_file).unwrap();
    let ack = serde_json::json!({
        "type": "Host", "filter": "host.name==h", "filter_vars": {"h": "db1"},
        "author": "harness", "comment": "self-test",
    });
    let (status, body) = icinga
        .post_as(
            Some((API_USER, &password)),
            "/v1/actions/acknowledge-problem",
            &ack,
        )
        .unwrap();
    assert_eq!(status, 200, "{body}");
    icinga.wait_for("db1 acknowledged", |i| {
        i.host("db1")["acknowledgement"] == 1.0
    });
    let (status, _) = icinga
        .post_as(
            Some((API_USER, "wrong")),
            "/v1/actions/acknowledge-problem",
            &ack,
        )
        .unwrap();
    assert_eq!(status, 401);
    assert!(icinga.command_pipe.exists());
}
