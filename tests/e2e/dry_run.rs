//! `notify --dry-run`: the payload printed, no network, no config needed.

use std::process::Command;

#[test]
fn dry_run_prints_json_and_needs_no_config() {
    let out = Command::new(crate::bin())
        .args([
            "notify",
            "--type",
            "Service",
            "--notificationtype",
            "PROBLEM",
        ])
        .args([
            "--hostuuid",
            "web1",
            "--serviceuuid",
            "http",
            "--state",
            "2",
        ])
        .args(["--output", "CRITICAL - down", "--dry-run"])
        .env_clear()
        .output()
        .expect("run binary");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert!(v.is_object());
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
