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

use crate::serve::kit::{
    self, click, ephemeral, host_context, open_dialog, service_context, submission, with_action,
    Serve,
};
use crate::support::{MattermostStandIn, TestPki};
use std::time::{SystemTime, UNIX_EPOCH};

const OBJECTS: &str = r#"
object Host "web1" { import "fast"; vars.dummy_state = 2; vars.dummy_text = "no route" }
object Service "http" { import "fast"; host_name = "web1"; vars.dummy_state = 2 }
object Service "disk" { import "fast"; host_name = "web1"; vars.dummy_state = 2 }
object Service "fine" { import "fast"; host_name = "web1"; vars.dummy_state = 0 }
object Service "cron" {
  host_name = "web1"
  check_command = "dummy"
  vars.dummy_state = 2
  check_interval = 1h
  retry_interval = 1h
}
object Host "db1" { import "fast"; vars.dummy_state = 2 }
object Service "pg" { import "fast"; host_name = "db1"; vars.dummy_state = 2 }
"#;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `serve` on the Icinga 2 API of `icinga`, opening dialogs at `standin`.
fn serve(
    icinga: &Icinga2,
    standin: &MattermostStandIn,
    pki: &TestPki,
    password_file: &std::path::Path,
) -> Serve {
    Serve::start(kit::Options {
        command_file: None,
        oitc_url: None,
        env: vec![
            ("MATTERMOST_ICINGA_URL", icinga.url()),
            ("MATTERMOST_ICINGA_USER", API_USER.into()),
            (
                "MATTERMOST_ICINGA_PASSWORD_FILE",
                password_file.display().to_string(),
            ),
            (
                "MATTERMOST_ICINGA_CA_FILE",
                icinga.ca_file.display().to_string(),
            ),
            ("MATTERMOST_ACTIONS", "ack,comment,downtime,recheck".into()),
            ("MATTERMOST_URL", standin.base_url()),
            ("MATTERMOST_CA_FILE", pki.ca_file.display().to_string()),
        ],
        tls: None,
        listen: None,
    })
}

/// Every action through Icinga 2's API, each seen in Icinga's own objects:
/// ack, a second ack (Icinga's 409), unack, ack with a comment through a
/// dialog (CR/LF in it replaced, a replay refused), a service downtime of
/// one hour, a host downtime with its services until a given time, a
/// recheck, and the 404 and "OK now" answers.
#[test]
fn every_action_reaches_icinga2_through_its_api() {
    let Some(icinga) = Icinga2::start(OBJECTS) else {
        return;
    };
    icinga.wait_for("web1!http CRITICAL", |i| {
        i.service("web1", "http")["state"] == 2.0
    });
    icinga.wait_for("db1 DOWN", |i| i.host("db1")["state"] == 1.0);
    let pki = TestPki::new();
    let standin = MattermostStandIn::https(&pki);
    let serve = serve(&icinga, &standin, &pki, &icinga.password_file);

    // Ack: one click, sticky, by alice.
    let body = click(&serve, &standin, service_context("web1", "http"));
    assert_eq!(ephemeral(&body), "You acknowledged http on web1.", "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["update"]["props"]["attachments"][0]["actions"][0]["id"],
        "unack"
    );
    let http = icinga.service("web1", "http");
    assert_eq!(http["acknowledgement"], 2.0, "sticky: {http}");
    let comments = icinga.objects("comments");
    assert!(
        comments.iter().any(|c| c["author"] == "alice"
            && c["text"] == "Acknowledged via Mattermost by @alice"
            && c["service_name"] == "http"),
        "{comments:?}"
    );
    // Another Ack button for the same problem: Icinga answers 409.
    let mut again = service_context("web1", "http");
    again.insert("exp".into(), (kit::FAR - 1).to_string().into());
    kit::resign(&mut again);
    let body = click(&serve, &standin, again);
    assert_eq!(
        ephemeral(&body),
        "Could not acknowledge http on web1: Icinga 2 says it is already acknowledged."
    );

    // Unack.
    let body = click(
        &serve,
        &standin,
        with_action(service_context("web1", "http"), "unack"),
    );
    assert_eq!(
        ephemeral(&body),
        "You removed the acknowledgement of http on web1."
    );
    icinga.wait_for("web1!http unacknowledged", |i| {
        i.service("web1", "http")["acknowledgement"] == 0.0
    });

    // Comment: the dialog, then its submission; the comment's line breaks
    // cannot form a second command, and the core keeps the ack.
    let state = open_dialog(
        &serve,
        &standin,
        with_action(service_context("web1", "http"), "comment"),
    );
    let sub = submission(
        &state,
        serde_json::json!({"comment": "disk swapped\r\n[1] REMOVE_SVC_ACKNOWLEDGEMENT;web1;http\u{0}; see INC-7", "sticky": false, "notify": false}),
    );
    let (status, body) = serve.submit(&sub);
    assert_eq!((status, body.as_str()), (200, "{}"), "{}", serve.stderr());
    let http = icinga.service("web1", "http");
    assert_eq!(http["acknowledgement"], 1.0, "not sticky: {http}");
    let comments = icinga.objects("comments");
    let text = "disk swapped  [1] REMOVE_SVC_ACKNOWLEDGEMENT;web1;http ; see INC-7";
    assert!(
        comments
            .iter()
            .any(|c| c["author"] == "alice" && c["text"] == text),
        "{comments:?}"
    );
    // Replayed: refused in the dialog, Icinga unchanged.
    let (status, body) = serve.submit(&sub);
    assert_eq!(status, 200);
    assert!(body.contains("cannot be used again"), "{body}");
    let n_comments = icinga.objects("comments").len();

    // Downtime for a service: one hour.
    let state = open_dialog(
        &serve,
        &standin,
        with_action(service_context("web1", "disk"), "downtime"),
    );
    let t0 = now();
    let (status, body) = serve.submit(&submission(
        &state,
        serde_json::json!({"preset": "1h", "comment": "patching"}),
    ));
    assert_eq!((status, body.as_str()), (200, "{}"), "{}", serve.stderr());
    let downtimes = icinga.objects("downtimes");
    let d = downtimes
        .iter()
        .find(|d| d["service_name"] == "disk")
        .unwrap_or_else(|| panic!("no downtime: {downtimes:?}"));
    assert_eq!(d["author"], "alice");
    assert_eq!(d["comment"], "patching");
    assert_eq!(d["fixed"], true);
    let len = d["end_time"].as_f64().unwrap() - d["start_time"].as_f64().unwrap();
    assert!((len - 3600.0).abs() < 2.0, "{d}");
    assert!((d["start_time"].as_f64().unwrap() - t0).abs() < 5.0, "{d}");
    icinga.wait_for("web1!disk in downtime", |i| {
        i.service("web1", "disk")["downtime_depth"]
            .as_f64()
            .unwrap_or(0.0)
            >= 1.0
    });

    // Downtime for a host with its services, until a given time (UTC).
    let end = (now() as u64 / 60 + 120) * 60; // two hours ahead, on the minute
    let t = end % 86_400;
    let until = format!("{:02}:{:02}", t / 3600, t / 60 % 60);
    let state = open_dialog(
        &serve,
        &standin,
        with_action(host_context("db1"), "downtime"),
    );
    let (status, body) = serve.submit(&submission(
        &state,
        serde_json::json!({"preset": "until", "until": until, "comment": "", "services": true}),
    ));
    assert_eq!((status, body.as_str()), (200, "{}"), "{}", serve.stderr());
    icinga.wait_for("db1 and db1!pg in downtime", |i| {
        i.host("db1")["downtime_depth"].as_f64().unwrap_or(0.0) >= 1.0
            && i.service("db1", "pg")["downtime_depth"]
                .as_f64()
                .unwrap_or(0.0)
                >= 1.0
    });
    let downtimes = icinga.objects("downtimes");
    let d = downtimes
        .iter()
        .find(|d| d["host_name"] == "db1" && d["service_name"] == "")
        .unwrap_or_else(|| panic!("no host downtime: {downtimes:?}"));
    assert_eq!(d["end_time"].as_f64().unwrap() as u64, end, "{d}");
    assert_eq!(d["comment"], "Downtime via Mattermost by @alice");

    // Recheck: a service checked hourly is checked now.
    let before = icinga.service("web1", "cron")["last_check"]
        .as_f64()
        .unwrap_or(0.0);
    let t0 = now();
    let body = click(
        &serve,
        &standin,
        with_action(service_context("web1", "cron"), "recheck"),
    );
    assert!(
        ephemeral(&body).starts_with("You asked for a recheck of cron on web1"),
        "{body}"
    );
    icinga.wait_for("web1!cron checked after the click", |i| {
        let last = i.service("web1", "cron")["last_check"]
            .as_f64()
            .unwrap_or(0.0);
        last > before && last >= t0 - 1.0
    });

    // Icinga's refusals, explained: no such object, and an OK service.
    let body = click(&serve, &standin, service_context("ghost", "http"));
    assert!(
        ephemeral(&body).contains("knows no such host or service"),
        "{body}"
    );
    let body = click(&serve, &standin, service_context("web1", "fine"));
    assert!(
        ephemeral(&body).contains("OK now"),
        "{body}\n{}",
        icinga.log()
    );
    assert_eq!(
        icinga.objects("comments").len(),
        n_comments,
        "nothing else acknowledged"
    );
}

/// A wrong password is Icinga's 401, explained to the clicker; nothing is
/// acknowledged.
#[test]
fn a_wrong_icinga2_password_is_explained() {
    let Some(icinga) = Icinga2::start(OBJECTS) else {
        return;
    };
    icinga.wait_for("web1!http CRITICAL", |i| {
        i.service("web1", "http")["state"] == 2.0
    });
    let pki = TestPki::new();
    let standin = MattermostStandIn::https(&pki);
    let wrong = icinga.dir().join("wrong-password");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    let serve = serve(&icinga, &standin, &pki, &wrong);
    let body = click(&serve, &standin, service_context("web1", "http"));
    assert!(ephemeral(&body).contains("HTTP 401"), "{body}");
    assert!(
        ephemeral(&body).contains("MATTERMOST_ICINGA_USER"),
        "{body}"
    );
    assert_eq!(icinga.service("web1", "http")["acknowledgement"], 0.0);
}
