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
