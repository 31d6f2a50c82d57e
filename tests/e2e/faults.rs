//! Fault injection: what `notify` does when the network, the server or the
//! local disk misbehave. Every case ends in one of the documented outcomes —
//! delivered once, kept in the spool (75), kept in `failed/` (69), or a loud
//! error carrying the payload (73/74) — never a silent loss. Budgets are
//! 2–4 s so the suite stays fast; the stand-in's recorded requests, not the
//! test's own clock, are the evidence.

use crate::spool::{alert_id, dead_url, delivered_ids, exit, json_files, posted_ids, Rig};
use crate::support::{
    assert_exit, stderr, tinyproxy::free_port, Behaviour, MattermostStandIn, TestPki,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

/// After a fault that kept the alert, the server comes back and `flush`
/// delivers exactly that alert.
fn flush_delivers(rig: &Rig, id: &str) {
    let entries = rig.entries();
    assert_eq!(entries.len(), 1, "one spooled alert");
    let body = std::fs::read(&entries[0]).expect("read entry");
    assert_eq!(alert_id(&body).as_deref(), Some(id));
    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[]);
    assert_exit(&rig.flush(), exit::OK);
    assert_eq!(delivered_ids(&mm.requests()), [id]);
    assert!(rig.entries().is_empty());
}

#[test]
fn connection_refused_is_retried_then_spooled() {
    let rig = Rig::new(&dead_url(), &[]);
    let out = rig.notify("refused");
    assert_exit(&out, exit::SPOOLED);
    let err = stderr(&out);
    assert!(
        err.contains("spool"),
        "the log line says where it went: {err}"
    );
    assert!(
        !err.contains("deadhook"),
        "the webhook secret never appears: {err}"
    );
    flush_delivers(&rig, "refused");
}

#[test]
fn accepted_then_silent_times_out_within_the_budget_and_spools() {
    let mm = MattermostStandIn::http();
    mm.set_default(Behaviour::AcceptSilent);
    let rig = Rig::new(&mm.url(), &[]);
    assert_exit(&rig.notify("silent"), exit::SPOOLED);
    assert!(mm.connections() >= 1);
    assert!(mm.requests().is_empty(), "the server never read a request");
    flush_delivers(&rig, "silent");
}

#[test]
fn reset_mid_response_is_retried_and_delivered_once() {
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::ResetMidResponse]);
    let rig = Rig::new(&mm.url(), &[]);
    assert_exit(&rig.notify("reset"), exit::OK);
    let reqs = mm.requests();
    let answered: Vec<u16> = reqs.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [0, 200], "reset, then one accepted retry");
    assert_eq!(delivered_ids(&reqs), ["reset"]);
    assert!(rig.entries().is_empty());
}

#[test]
fn slow_trickle_times_out_and_spools_a_possible_duplicate() {
    let mm = MattermostStandIn::http();
    mm.set_default(Behaviour::Trickle(Duration::from_millis(200)));
    let rig = Rig::new(&mm.url(), &[]);
    assert_exit(&rig.notify("trickle"), exit::SPOOLED);
    // The server accepted the post but the answer never arrived in time:
    // the one case where keeping the alert can deliver it twice.
    let reqs = mm.wait_for_requests(1, Duration::from_secs(30));
    assert_eq!(delivered_ids(&reqs), ["trickle"]);
    mm.set_default(Behaviour::Ok);
    rig.configure(&mm.url(), &[]);
    assert_exit(&rig.flush(), exit::OK);
    assert_eq!(delivered_ids(&mm.requests()), ["trickle", "trickle"]);
}

#[test]
fn server_error_then_ok_is_delivered_once() {
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::ServerError]);
    let rig = Rig::new(&mm.url(), &[]);
    assert_exit(&rig.notify("fivehundred"), exit::OK);
    let answered: Vec<u16> = mm.requests().iter().map(|r| r.answered).collect();
    assert_eq!(answered, [500, 200]);
    assert_eq!(delivered_ids(&mm.requests()), ["fivehundred"]);
    assert!(rig.entries().is_empty(), "nothing spooled");
}

#[test]
fn rate_limited_waits_retry_after_then_delivers() {
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::RateLimited {
        retry_after_secs: 2,
    }]);
    let rig = Rig::new(&mm.url(), &[("MATTERMOST_RETRY_BUDGET", "5")]);
    assert_exit(&rig.notify("ratelimited"), exit::OK);
    let reqs = mm.requests();
    let answered: Vec<u16> = reqs.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [429, 200]);
    let waited = reqs[1].received.duration_since(reqs[0].received);
    assert!(
        waited >= Duration::from_secs(2),
        "the retry came {waited:?} after the 429, before its Retry-After"
    );
}

#[test]
fn rate_limit_longer_than_the_budget_spools_at_once() {
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::RateLimited {
        retry_after_secs: 60,
    }]);
    let rig = Rig::new(&mm.url(), &[]);
    assert_exit(&rig.notify("longwait"), exit::SPOOLED);
    assert_eq!(
        mm.requests().len(),
        1,
        "no retry that would be refused again"
    );
    flush_delivers(&rig, "longwait");
}

#[test]
fn permanent_refusal_is_not_retried_and_goes_to_failed() {
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::invalid_hook()]);
    let rig = Rig::new(&mm.url(), &[]);
    let out = rig.notify("refusedforgood");
    assert_exit(&out, exit::REFUSED);
    assert_eq!(mm.requests().len(), 1, "a 400 is never retried");
    assert!(rig.entries().is_empty());
    let failed = rig.failed();
    assert_eq!(failed.len(), 1);
    let body = std::fs::read(&failed[0]).expect("failed entry");
    assert_eq!(alert_id(&body).as_deref(), Some("refusedforgood"));
    let answer = std::fs::read_to_string(failed[0].with_extension("answer")).expect("answer");
    assert!(answer.contains("status: 400"), "{answer}");
    assert!(
        answer.contains("web.incoming_webhook.invalid.app_error"),
        "{answer}"
    );
    assert!(stderr(&out).contains("failed"), "{}", stderr(&out));
}

#[test]
fn tls_failure_spools_and_sends_nothing() {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let rig = Rig::new(
        &mm.url(),
        &[("MATTERMOST_CA_FILE", &pki.other_ca_file.to_string_lossy())],
    );
    assert_exit(&rig.notify("tls"), exit::SPOOLED);
    assert!(mm.connections() >= 1, "it did try");
    assert!(
        mm.requests().is_empty(),
        "no request over an unverified TLS"
    );
    flush_delivers(&rig, "tls");
}

#[test]
fn proxy_down_spools_and_never_goes_direct() {
    let mm = MattermostStandIn::http();
    let proxy = format!("http://127.0.0.1:{}", free_port());
    let rig = Rig::new(
        &mm.url(),
        &[("MATTERMOST_USE_PROXY", "1"), ("MATTERMOST_PROXY", &proxy)],
    );
    assert_exit(&rig.notify("proxydown"), exit::SPOOLED);
    assert_eq!(mm.connections(), 0, "no bypass of the configured proxy");
    flush_delivers(&rig, "proxydown");
}

#[test]
fn unwritable_spool_is_a_loud_error_with_the_payload() {
    let rig = Rig::new(&dead_url(), &[]);
    // Root ignores permission bits; a file where the directory should be
    // stops root too.
    std::fs::write(&rig.spool, b"not a directory").expect("file in the way");
    let out = rig.notify("unwritable");
    assert_exit(&out, exit::SPOOL_UNWRITABLE);
    let err = stderr(&out);
    assert!(err.contains("MATTERMOST_SPOOL_DIR"), "{err}");
    assert!(
        err.contains("alert unwritable end"),
        "payload in the log: {err}"
    );
}

/// A small tmpfs mounted for one test; unmounted when dropped.
struct SmallFs(PathBuf);

impl SmallFs {
    /// Mounts a 64 KiB tmpfs on `at`. `None` with a printed reason when this
    /// machine does not let us mount (not root, or no CAP_SYS_ADMIN, as in
    /// an unprivileged container) under plain `cargo test`; panics under
    /// `CI`, which must run this test (the rule of `require_tool`), and
    /// when mounting should work but fails.
    fn mount(at: &Path) -> Option<SmallFs> {
        if let Some(why) = mount_not_permitted() {
            crate::support::skip_or_fail_under_ci(&format!(
                "cannot mount a small tmpfs here: {why}"
            ));
            return None;
        }
        std::fs::create_dir_all(at).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
            .arg(at)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount -t tmpfs failed although permitted");
        Some(SmallFs(at.to_path_buf()))
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Why mounting is not possible, if it is not: not root, or the
/// effective capabilities lack CAP_SYS_ADMIN (bit 21).
fn mount_not_permitted() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
    };
    if field("Uid:").as_deref() != Some("0") {
        return Some("not root".into());
    }
    let cap = field("CapEff:").and_then(|v| u64::from_str_radix(&v, 16).ok());
    match cap {
        Some(bits) if bits & (1 << 21) != 0 => None,
        _ => Some("no CAP_SYS_ADMIN".into()),
    }
}

#[test]
fn full_file_system_is_a_loud_error_with_the_payload_and_no_partial_file() {
    let rig = Rig::new(&dead_url(), &[]);
    let Some(_fs) = SmallFs::mount(&rig.spool) else {
        return;
    };
    // Fill it: write until the file system says no.
    let filler = rig.spool.join("filler.bin");
    let mut f = std::fs::File::create(&filler).expect("filler");
    let chunk = [0u8; 4096];
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
    drop(f);
    let out = rig.notify("diskfull");
    assert_exit(&out, exit::SPOOL_UNWRITABLE);
    let err = stderr(&out);
    assert!(err.contains("MATTERMOST_SPOOL_DIR"), "{err}");
    assert!(
        err.contains("alert diskfull end"),
        "payload in the log: {err}"
    );
    let names: Vec<String> = std::fs::read_dir(&rig.spool)
        .expect("spool")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".json") || n.starts_with(".tmp-")),
        "no partial entry or temp file left: {names:?}"
    );
}

/// xorshift for kill delays; seeded from the clock so runs differ.
fn delays(n: usize, max_ms: u64) -> Vec<Duration> {
    let mut x = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_millis(x % max_ms)
        })
        .collect()
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_partial_entry() {
    let rig = Rig::new(&dead_url(), &[("MATTERMOST_RETRY_BUDGET", "0.3")]);
    let plan = delays(150, 20);
    let mut killed = 0;
    for (batch, chunk) in plan.chunks(10).enumerate() {
        let mut children: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let id = format!("kill{batch}x{i}");
                let child = rig
                    .notify_cmd(&id)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn notify");
                (*d, child)
            })
            .collect();
        children.sort_by_key(|(d, _)| *d);
        let start = std::time::Instant::now();
        for (d, child) in &mut children {
            std::thread::sleep(d.saturating_sub(start.elapsed()));
            if child.try_wait().expect("try_wait").is_none() {
                let _ = child.kill();
                killed += 1;
            }
        }
        for (_, mut child) in children {
            let _ = child.wait();
        }
    }
    let entries = rig.entries();
    for e in &entries {
        let body = std::fs::read(e).expect("read entry");
        let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&body);
        assert!(
            parsed.is_ok() && alert_id(&body).is_some(),
            "partial entry {}: {:?}",
            e.display(),
            String::from_utf8_lossy(&body)
        );
    }
    let temps: Vec<PathBuf> = std::fs::read_dir(&rig.spool)
        .map(|r| r.map(|e| e.expect("entry").path()).collect())
        .unwrap_or_default();
    let temps: Vec<PathBuf> = temps
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
        })
        .collect();
    eprintln!(
        "sigkill: {} processes, {killed} killed, {} complete entries, {} temp files left",
        plan.len(),
        entries.len(),
        temps.len()
    );
    assert!(killed > 0, "some processes were killed mid-run");
    // Age what the killed writers left, so flush cleans it up.
    let long_ago = SystemTime::now() - Duration::from_secs(3600);
    for t in &temps {
        std::fs::File::options()
            .write(true)
            .open(t)
            .and_then(|f| f.set_modified(long_ago))
            .expect("age temp file");
    }
    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[]);
    assert_exit(&rig.flush(), exit::OK);
    let reqs = mm.requests();
    assert_eq!(
        reqs.len(),
        entries.len(),
        "flush sent exactly the complete entries"
    );
    for r in &reqs {
        assert_eq!(
            r.answered, 200,
            "every flushed body was a whole, valid post"
        );
    }
    assert!(json_files(&rig.spool).is_empty());
    let left = std::fs::read_dir(&rig.spool)
        .expect("spool")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        })
        .count();
    assert_eq!(left, 0, "old temp files are cleaned by flush");
}

// API mode: the same faults for the REST API's operations. A root post's
// operation is kept, retried and refused as a webhook payload is; the
// spool keeps the operation, and `flush` posts it as the problem's root.

/// The REST base URL of a port nothing listens on.
fn dead_api_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// After a fault that kept the root's operation, Mattermost comes back and
/// `flush` posts exactly that alert, as the problem's root (its id on the
/// problem's record).
fn api_flush_posts(rig: &Rig, id: &str) {
    let entries = rig.entries();
    assert_eq!(entries.len(), 1, "one spooled operation");
    let body = std::fs::read(&entries[0]).expect("read entry");
    assert!(
        body.starts_with(b"mattermost-notify op 1\nop=root\n"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(alert_id(&body).as_deref(), Some(id));
    let mm = MattermostStandIn::http();
    rig.configure_api(&mm.api_url(), &[]);
    assert_exit(&rig.flush(), exit::OK);
    assert_eq!(posted_ids(&mm.requests()), [id]);
    assert!(rig.entries().is_empty());
    let root = &mm.posts()[0];
    let record = json_files_or_records(&rig.spool.join("problems"));
    assert!(
        record
            .iter()
            .any(|r| r.contains(&format!("post={}", root.id))),
        "the root's id is on the record: {record:?}"
    );
}

/// The texts of the problem records in `dir`.
fn json_files_or_records(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn api_connection_refused_spools_the_operation() {
    let rig = Rig::api(&dead_api_url(), &[]);
    let out = rig.notify("apirefused");
    assert_exit(&out, exit::SPOOLED);
    assert!(stderr(&out).contains("spool"), "{}", stderr(&out));
    api_flush_posts(&rig, "apirefused");
}

#[test]
fn api_server_error_then_ok_is_posted_once() {
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::ServerError]);
    let rig = Rig::api(&mm.api_url(), &[]);
    assert_exit(&rig.notify("apifivehundred"), exit::OK);
    let answered: Vec<u16> = mm.requests().iter().map(|r| r.answered).collect();
    assert_eq!(answered, [500, 201]);
    assert_eq!(posted_ids(&mm.requests()), ["apifivehundred"]);
    assert_eq!(mm.posts().len(), 1);
    assert!(rig.entries().is_empty(), "nothing spooled");
}

#[test]
fn api_rate_limited_waits_retry_after_then_posts() {
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::RateLimited {
        retry_after_secs: 2,
    }]);
    let rig = Rig::api(&mm.api_url(), &[("MATTERMOST_RETRY_BUDGET", "5")]);
    assert_exit(&rig.notify("apiratelimited"), exit::OK);
    let reqs = mm.requests();
    let answered: Vec<u16> = reqs.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [429, 201]);
    let waited = reqs[1].received.duration_since(reqs[0].received);
    assert!(
        waited >= Duration::from_secs(2),
        "the retry came {waited:?} after the 429, before its Retry-After"
    );
    assert_eq!(posted_ids(&reqs), ["apiratelimited"]);
}

#[test]
fn api_permanent_403_goes_to_failed_naming_the_setting() {
    let mm = MattermostStandIn::http();
    // A channel the bot is not a member of: 403, never retried.
    let other = crate::support::standin_rest::OTHER_CHANNEL_ID;
    let rig = Rig::api(&mm.api_url(), &[("MATTERMOST_CHANNEL_ID", other)]);
    let out = rig.notify("apiforbidden");
    assert_exit(&out, exit::REFUSED);
    let answered: Vec<u16> = mm.requests().iter().map(|r| r.answered).collect();
    assert_eq!(answered, [403], "a 403 is never retried");
    assert!(mm.posts().is_empty());
    assert!(rig.entries().is_empty());
    let failed = rig.failed();
    assert_eq!(failed.len(), 1);
    let body = std::fs::read(&failed[0]).expect("failed entry");
    assert_eq!(alert_id(&body).as_deref(), Some("apiforbidden"));
    let answer = std::fs::read_to_string(failed[0].with_extension("answer")).expect("answer");
    assert!(answer.contains("status: 403"), "{answer}");
    let err = stderr(&out);
    assert!(
        err.contains("failed") && err.contains("MATTERMOST_CHANNEL_ID"),
        "the refusal names the setting to fix: {err}"
    );
}
