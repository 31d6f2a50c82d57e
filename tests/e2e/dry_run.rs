//! `notify --dry-run`: the payload printed, no network, no config needed.

use std::ffi::OsString;
use std::process::{Command, Output};

fn dry_run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    Command::new(crate::bin())
        .arg("notify")
        .args(args.into_iter().map(Into::into))
        .arg("--dry-run")
        .env_clear()
        .output()
        .expect("run binary")
}

fn payload(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON payload")
}

const SERVICE_PROBLEM: &[&str] = &[
    "--type",
    "Service",
    "--notificationtype",
    "PROBLEM",
    "--hostuuid",
    "web1",
    "--serviceuuid",
    "http",
    "--state",
    "2",
];

#[test]
fn dry_run_prints_the_service_problem_payload() {
    let out = dry_run(
        SERVICE_PROBLEM
            .iter()
            .copied()
            .chain(["--output", "CRITICAL - down ``` @all"]),
    );
    let v = payload(&out);
    let a = &v["attachments"][0];
    assert_eq!(a["title"], "🚨 PROBLEM: http on web1 is Critical!");
    assert_eq!(a["color"], "#d9534f");
    assert_eq!(a["text"], "````\nCRITICAL - down ``` @all\n````");
    assert!(v.get("text").is_none(), "no mention unless configured");
    let fields = a["fields"].as_array().expect("fields");
    assert!(fields
        .iter()
        .any(|f| f["title"] == "Service" && f["value"] == "http"));
    assert!(a["footer"].as_str().expect("footer").ends_with(" UTC"));
}

#[test]
fn no_emoji_switch_reaches_the_title() {
    let v = payload(&dry_run(
        SERVICE_PROBLEM.iter().copied().chain(["--no-emoji"]),
    ));
    assert_eq!(
        v["attachments"][0]["title"],
        "PROBLEM: http on web1 is Critical!"
    );
}

#[cfg(unix)]
#[test]
fn invalid_utf8_in_output_becomes_replacement_characters() {
    use std::os::unix::ffi::OsStringExt;
    let bad = OsString::from_vec(b"CRITICAL \xff\xfe disk".to_vec());
    let mut args: Vec<OsString> = SERVICE_PROBLEM.iter().map(OsString::from).collect();
    args.push("--output".into());
    args.push(bad);
    let out = dry_run(args);
    assert_eq!(out.status.code(), Some(0));
    let v = payload(&out);
    let text = v["attachments"][0]["text"].as_str().expect("text");
    assert!(text.contains("CRITICAL \u{fffd}\u{fffd} disk"), "{text}");
}

#[test]
fn service_alert_without_serviceuuid_is_usage_error_naming_the_flag() {
    let out = Command::new(crate::bin())
        .args([
            "notify",
            "--type",
            "Service",
            "--hostuuid",
            "web1",
            "--dry-run",
        ])
        .output()
        .expect("run binary");
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--serviceuuid"));
}

/// Every two-way setting of the notify side is also a flag, and the flags
/// win over the environment.
#[test]
fn two_way_settings_work_as_flags() {
    let dir = crate::support::TempDir::new();
    let secret = dir.write("ack.secret", "0123456789abcdef0123456789abcdef\n");
    let mut args: Vec<OsString> = SERVICE_PROBLEM.iter().map(Into::into).collect();
    args.extend(
        [
            "--two-way",
            "--ack-mode",
            "receiver",
            "--ack-url",
            "https://mon.example.com/mattermost/ack",
            "--ack-ttl",
            "1h",
            "--ack-secret-file",
        ]
        .map(OsString::from),
    );
    args.push(secret.into_os_string());
    let out = Command::new(crate::bin())
        .arg("notify")
        .args(args)
        .arg("--dry-run")
        .env_clear()
        .env("MATTERMOST_ACK_URL", "https://wrong.example.com/ack")
        .output()
        .expect("run binary");
    let v = payload(&out);
    let action = &v["attachments"][0]["actions"][0];
    assert_eq!(
        action["integration"]["url"],
        "https://mon.example.com/mattermost/ack"
    );
    let ctx = &action["integration"]["context"];
    let exp: u64 = ctx["exp"].as_str().expect("exp").parse().expect("number");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(exp > now && exp <= now + 3600 + 5, "exp {exp}, now {now}");
    assert!(ctx["sig"].as_str().is_some_and(|s| s.len() == 64));
}

#[test]
fn a_graph_template_becomes_the_attachments_image() {
    let out = dry_run(SERVICE_PROBLEM.iter().copied().chain([
        "--servicedisplayname",
        "HTTP shop/€",
        "--image-url",
        "https://pnp.example/pnp4nagios/index.php/image?host={hostname}&srv={servicename}&view=1",
    ]));
    let v = payload(&out);
    assert_eq!(
        v["attachments"][0]["image_url"],
        "https://pnp.example/pnp4nagios/index.php/image?host=web1&srv=HTTP%20shop%2F%E2%82%AC&view=1"
    );
}

#[test]
fn a_dry_run_leaves_no_trace_on_the_node() {
    let dir = crate::support::TempDir::new();
    let spool = dir.join("spool");
    let out = Command::new(crate::bin())
        .arg("notify")
        .args(SERVICE_PROBLEM)
        .arg("--dry-run")
        .env_clear()
        .env("MATTERMOST_SPOOL_DIR", &spool)
        .env("MATTERMOST_SYSLOG", "0")
        .output()
        .expect("run binary");
    payload(&out);
    assert!(
        !spool.exists(),
        "a dry run created the spool/state directory"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("error"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
