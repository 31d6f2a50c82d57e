//! Spool and state trust: a spool others could change is never read or
//! written; entries are opened without following links or blocking, only
//! regular files of ours within a size cap are sent, and what is planted
//! is moved aside; a lost alert is logged as a summary, never as its
//! payload (which holds the signed button).

use crate::spool::{dead_url, exit, Rig};
use crate::support::{
    assert_exit, run, set_mode, skip_or_fail_under_ci, stderr, syslog::SyslogSink,
    MattermostStandIn,
};
use std::time::{Duration, Instant};

/// A post that would be delivered if anyone sent it.
const PLANTED: &str = r#"{"text":"planted by someone else @all"}"#;

#[test]
fn a_spool_others_can_write_to_is_never_used() {
    let rig = Rig::new(&dead_url(), &[]);
    std::fs::create_dir(&rig.spool).unwrap();
    std::fs::write(
        rig.spool
            .join("00000000000000000001-0000000001-000000.json"),
        PLANTED,
    )
    .unwrap();
    set_mode(&rig.spool, 0o777);
    let out = rig.notify("shared");
    assert_exit(&out, 78);
    let err = stderr(&out);
    assert!(err.contains("ALERT NOT KEPT"), "{err}");
    assert!(
        err.contains("MATTERMOST_SPOOL_DIR") && err.contains("chmod 700"),
        "{err}"
    );
    assert_eq!(rig.entries().len(), 1, "nothing written into it");

    // Mattermost is back: flush refuses the directory and sends nothing.
    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[]);
    let out = rig.flush();
    assert_exit(&out, 78);
    assert!(stderr(&out).contains("chmod 700"), "{}", stderr(&out));
    // A fresh alert still goes directly.
    assert_exit(&rig.notify("direct"), exit::OK);
    let bodies: Vec<String> = mm
        .requests()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(!bodies[0].contains("planted"), "{bodies:?}");
}

#[test]
fn a_spool_owned_by_another_user_is_never_used() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip_or_fail_under_ci("this test chowns a directory to another user and needs root");
        return;
    }
    let rig = Rig::new(&dead_url(), &[]);
    std::fs::create_dir(&rig.spool).unwrap();
    set_mode(&rig.spool, 0o700);
    std::os::unix::fs::chown(&rig.spool, Some(65534), Some(65534)).unwrap();
    let out = rig.notify("foreign");
    assert_exit(&out, 78);
    let err = stderr(&out);
    assert!(err.contains("owned by uid 65534"), "{err}");
    assert!(rig.entries().is_empty());
}

#[test]
fn planted_links_fifos_and_huge_files_are_moved_aside_unread() {
    let rig = Rig::new(&dead_url(), &[]);
    assert_exit(&rig.notify("genuine"), exit::SPOOLED);
    let outside = rig.dir.join("outside.json");
    std::fs::write(&outside, PLANTED).unwrap();
    let entry = |n: u32| {
        rig.spool
            .join(format!("0000000000000000000{n}-0000000001-000000.json"))
    };
    std::os::unix::fs::symlink(&outside, entry(1)).unwrap();
    let fifo = std::ffi::CString::new(entry(2).into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let mut huge = String::from(r#"{"text":""#);
    huge.push_str(&"x".repeat(300 * 1024));
    huge.push_str("\"}");
    std::fs::write(entry(3), huge).unwrap();

    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[]);
    // A FIFO opened for reading without O_NONBLOCK would hang flush forever.
    let mut child = rig.flush_cmd().spawn().expect("flush");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("flush hung on a planted entry");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(exit::OK));
    let sent: Vec<String> = mm
        .requests()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(sent.len(), 1, "only the genuine alert is sent: {sent:?}");
    assert!(sent[0].contains("alert genuine end"));
    assert_eq!(rig.failed().len(), 3, "the planted three are moved aside");
    for n in 1..=3 {
        let name = entry(n)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".json", ".answer");
        let answer = std::fs::read_to_string(rig.spool.join("failed").join(name)).unwrap();
        assert!(answer.starts_with("not sent: "), "{answer}");
    }
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        PLANTED,
        "the link's target is untouched"
    );
}

#[test]
fn an_alert_that_cannot_be_kept_is_logged_without_its_signed_payload() {
    let rig = Rig::new(&dead_url(), &[("MATTERMOST_SPOOL_MAX_FILES", "0")]);
    let secret = rig
        .dir
        .write("ack.secret", "0123456789abcdef0123456789abcdef\n");
    let sink = SyslogSink::bind(rig.dir.path());
    let mut cmd = rig.notify_cmd("lost");
    cmd.args(["--two-way", "--ack-url", "https://mon.example/ack"])
        .arg("--ack-secret-file")
        .arg(&secret)
        .env("MATTERMOST_SYSLOG", sink.path());
    let out = run(&mut cmd);
    assert_exit(&out, exit::SPOOL_FULL);
    let errors = sink.errors();
    let lost: Vec<&String> = errors
        .iter()
        .filter(|l| l.contains("ALERT NOT KEPT"))
        .collect();
    assert_eq!(lost.len(), 1, "{errors:?}");
    let line = lost[0];
    assert!(
        line.contains("PROBLEM http on web1, state Critical"),
        "{line}"
    );
    assert!(line.contains("alert lost end"), "{line}");
    for signed in ["\"sig\"", "integration", "attachments"] {
        assert!(
            !line.contains(signed),
            "the payload leaked into syslog: {line}"
        );
        assert!(!stderr(&out).contains(signed), "{}", stderr(&out));
    }
}
