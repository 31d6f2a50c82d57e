//! The spool and `flush`: alerts kept when Mattermost is away, sent oldest
//! first, removed only after a 2xx, never twice under concurrent flushers,
//! refused ones moved to `failed/`. Also the [`Rig`] the reliability tests
//! (`faults`, `storm`) share.

use crate::support::{
    assert_exit, command, run, stderr, tinyproxy::free_port, Behaviour, MattermostStandIn,
    Recorded, TempDir,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Exit codes `notify` and `flush` document (cli/src/error.rs).
pub(crate) mod exit {
    pub const OK: i32 = 0;
    pub const REFUSED: i32 = 69;
    pub const SPOOL_FULL: i32 = 73;
    pub const SPOOL_UNWRITABLE: i32 = 74;
    pub const SPOOLED: i32 = 75;
}

/// A config file, a spool directory and helpers to run `notify` / `flush`
/// with them.
pub(crate) struct Rig {
    pub dir: TempDir,
    pub spool: PathBuf,
    config: PathBuf,
}

impl Rig {
    /// A rig posting to `url` with a 2 s retry budget, plus `extra` settings.
    pub fn new(url: &str, extra: &[(&str, &str)]) -> Rig {
        let dir = TempDir::new();
        let spool = dir.join("spool");
        let rig = Rig {
            config: dir.join("mattermost-notify.conf"),
            spool,
            dir,
        };
        rig.configure(url, extra);
        rig
    }

    /// Rewrites the config file: same spool, new URL and extras.
    pub fn configure(&self, url: &str, extra: &[(&str, &str)]) {
        let mut text = format!(
            "MATTERMOST_WEBHOOK_URL={url}\nMATTERMOST_SPOOL_DIR={}\n\
             MATTERMOST_RETRY_BUDGET=2\nMATTERMOST_LOG_LEVEL=info\n",
            self.spool.display()
        );
        for (k, v) in extra {
            text.push_str(&format!("{k}={v}\n"));
        }
        self.dir.write("mattermost-notify.conf", text);
    }

    /// A rig in API mode towards the REST API at `base` (`MATTERMOST_URL`),
    /// posting to the stand-in's channel by id, plus `extra` settings; the
    /// state directory is the spool directory (the default).
    pub fn api(base: &str, extra: &[(&str, &str)]) -> Rig {
        let rig = Rig::new("http://unused.invalid/hooks/x", &[]);
        rig.configure_api(base, extra);
        rig
    }

    /// Rewrites the config file for API mode: same spool and token, `base`
    /// and `extra`.
    pub fn configure_api(&self, base: &str, extra: &[(&str, &str)]) {
        let token = self.dir.write(
            "bot.token",
            format!("{}\n", crate::support::standin_rest::BOT_TOKEN),
        );
        let mut text = format!(
            "MATTERMOST_URL={base}\nMATTERMOST_BOT_TOKEN_FILE={}\n\
             MATTERMOST_CHANNEL_ID={}\nMATTERMOST_SPOOL_DIR={}\n\
             MATTERMOST_RETRY_BUDGET=2\nMATTERMOST_LOG_LEVEL=info\n",
            token.display(),
            crate::support::standin_rest::CHANNEL_ID,
            self.spool.display()
        );
        for (k, v) in extra {
            text.push_str(&format!("{k}={v}\n"));
        }
        self.dir.write("mattermost-notify.conf", text);
    }

    /// The binary with this rig's config file deciding spool and budget
    /// (the support's safe defaults for them are environment variables,
    /// which would win over the file).
    pub fn command(&self) -> Command {
        let mut cmd = command(&self.config);
        cmd.env_remove("MATTERMOST_SPOOL_DIR")
            .env_remove("MATTERMOST_RETRY_BUDGET");
        cmd
    }

    /// `notify` for one service alert whose output carries `id`.
    pub fn notify_cmd(&self, id: &str) -> Command {
        let mut cmd = self.command();
        cmd.args([
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
        .args(["--output", &format!("CRITICAL - alert {id} end")]);
        cmd
    }

    /// Runs `notify` for `id`.
    pub fn notify(&self, id: &str) -> Output {
        run(&mut self.notify_cmd(id))
    }

    /// `flush`.
    pub fn flush_cmd(&self) -> Command {
        let mut cmd = self.command();
        cmd.arg("flush");
        cmd
    }

    /// Runs `flush`.
    pub fn flush(&self) -> Output {
        run(&mut self.flush_cmd())
    }

    /// Spooled entries, oldest first.
    pub fn entries(&self) -> Vec<PathBuf> {
        json_files(&self.spool)
    }

    /// Refused alerts in `failed/`.
    pub fn failed(&self) -> Vec<PathBuf> {
        json_files(&self.spool.join("failed"))
    }
}

/// `*.json` files in `dir` (hidden ones excluded), sorted by name.
pub(crate) fn json_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = read
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| !n.starts_with('.') && n.ends_with(".json"))
        })
        .collect();
    v.sort();
    v
}

/// A URL nobody listens on: a port bound and released.
pub(crate) fn dead_url() -> String {
    format!("http://127.0.0.1:{}/hooks/deadhook", free_port())
}

/// The alert id inside a payload (`alert <id> end` in the output text).
pub(crate) fn alert_id(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.find("alert ")? + "alert ".len();
    let rest = text.get(start..)?;
    let end = rest.find(" end")?;
    Some(rest.get(..end)?.to_string())
}

/// Ids of the posts the stand-in accepted (answered 200), in order.
pub(crate) fn delivered_ids(reqs: &[Recorded]) -> Vec<String> {
    reqs.iter()
        .filter(|r| r.answered == 200)
        .filter_map(|r| alert_id(&r.body))
        .collect()
}

/// Ids of the posts the stand-in created through the REST API (201), in
/// order.
pub(crate) fn posted_ids(reqs: &[Recorded]) -> Vec<String> {
    reqs.iter()
        .filter(|r| r.answered == 201 && r.path == "/api/v4/posts")
        .filter_map(|r| alert_id(&r.body))
        .collect()
}

/// Keeps `n` alerts `prefix-0..n` in the rig's spool (server unreachable).
fn spool_alerts(rig: &Rig, prefix: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    for id in &ids {
        let out = run(rig.notify_cmd(id).args(["--retry-budget", "0.3"]));
        assert_exit(&out, exit::SPOOLED);
    }
    ids
}

#[test]
fn unreachable_server_spools_then_flush_sends_oldest_first_and_empties() {
    let rig = Rig::new(&dead_url(), &[]);
    let ids = spool_alerts(&rig, "order", 4);
    let entries = rig.entries();
    assert_eq!(entries.len(), 4);
    for (entry, id) in entries.iter().zip(&ids) {
        let body = std::fs::read(entry).expect("read entry");
        assert_eq!(alert_id(&body).as_deref(), Some(id.as_str()));
        let _: serde_json::Value = serde_json::from_slice(&body).expect("entry is JSON");
    }
    let mode = std::fs::metadata(&rig.spool).expect("spool").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700,
        "a missing spool directory is created private"
    );

    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[]);
    let out = rig.flush();
    assert_exit(&out, exit::OK);
    assert_eq!(delivered_ids(&mm.requests()), ids);
    assert!(rig.entries().is_empty(), "flush removes what it sent");
    assert!(stderr(&out).contains("4 sent"), "{}", stderr(&out));
}

#[test]
fn flush_stops_at_429_and_keeps_the_rest() {
    let rig = Rig::new(&dead_url(), &[]);
    let ids = spool_alerts(&rig, "ratelimited", 3);
    let mm = MattermostStandIn::http();
    mm.script([
        Behaviour::Ok,
        Behaviour::RateLimited {
            retry_after_secs: 1,
        },
    ]);
    rig.configure(&mm.url(), &[]);
    assert_exit(&rig.flush(), exit::SPOOLED);
    assert_eq!(mm.requests().len(), 2, "no request after the 429");
    assert_eq!(delivered_ids(&mm.requests()), ids[..1]);
    let left: Vec<Option<String>> = rig
        .entries()
        .iter()
        .map(|p| alert_id(&std::fs::read(p).expect("read")))
        .collect();
    assert_eq!(left, [Some(ids[1].clone()), Some(ids[2].clone())]);

    // The next run sends the rest, still in order.
    assert_exit(&rig.flush(), exit::OK);
    assert_eq!(delivered_ids(&mm.requests()), ids);
}

#[test]
fn flush_moves_a_refused_alert_to_failed_with_the_answer_and_goes_on() {
    let rig = Rig::new(&dead_url(), &[]);
    let ids = spool_alerts(&rig, "refusedinflush", 2);
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::channel_locked()]);
    rig.configure(&mm.url(), &[]);
    assert_exit(&rig.flush(), exit::OK);
    assert!(rig.entries().is_empty());
    assert_eq!(delivered_ids(&mm.requests()), ids[1..]);
    let failed = rig.failed();
    assert_eq!(failed.len(), 1);
    let body = std::fs::read(&failed[0]).expect("failed entry");
    assert_eq!(alert_id(&body).as_deref(), Some(ids[0].as_str()));
    let answer = std::fs::read_to_string(failed[0].with_extension("answer")).expect("answer");
    assert!(answer.contains("status: 403"), "{answer}");
    assert!(
        answer.contains("web.incoming_webhook.channel_locked.app_error"),
        "{answer}"
    );
}

#[test]
fn concurrent_flushers_never_send_an_alert_twice() {
    let rig = Rig::new(&dead_url(), &[]);
    let ids = spool_alerts(&rig, "concurrent", 30);
    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[]);
    let children: Vec<_> = (0..6)
        .map(|_| rig.flush_cmd().spawn().expect("spawn flush"))
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("flush");
        assert_exit(&out, exit::OK);
    }
    let mut got = delivered_ids(&mm.requests());
    assert_eq!(got.len(), ids.len(), "each alert exactly once: {got:?}");
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
    assert!(rig.entries().is_empty());
}

#[test]
fn a_new_alert_queues_behind_waiting_alerts_and_drains_them_in_order() {
    let rig = Rig::new(&dead_url(), &[]);
    let ids = spool_alerts(&rig, "backlog", 12);
    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[]);
    assert_exit(&rig.notify("fresh"), exit::OK);
    let got = delivered_ids(&mm.requests());
    let mut want = ids.clone();
    want.push("fresh".to_string());
    assert_eq!(
        got, want,
        "the waiting alerts first, oldest first, then the new one"
    );
    assert!(rig.entries().is_empty());
}

#[test]
fn a_full_spool_still_tries_the_alert_and_says_so_loudly_when_it_fails() {
    let rig = Rig::new(&dead_url(), &[("MATTERMOST_SPOOL_MAX_FILES", "2")]);
    spool_alerts(&rig, "full", 2);
    let out = rig.notify("overflow");
    assert_exit(&out, exit::SPOOL_FULL);
    let err = stderr(&out);
    assert!(err.contains("MATTERMOST_SPOOL_DIR"), "{err}");
    assert!(err.contains("MATTERMOST_SPOOL_MAX_FILES"), "{err}");
    assert!(
        err.contains("alert overflow end"),
        "the payload is in the log: {err}"
    );
    assert_eq!(rig.entries().len(), 2);

    // Full, but the server is back: the alert is delivered directly.
    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[("MATTERMOST_SPOOL_MAX_FILES", "2")]);
    assert_exit(&rig.notify("direct"), exit::OK);
    assert_eq!(delivered_ids(&mm.requests())[0], "direct");
}

#[test]
fn byte_bound_applies_too() {
    let rig = Rig::new(&dead_url(), &[("MATTERMOST_SPOOL_MAX_BYTES", "10")]);
    let out = rig.notify("toobig");
    assert_exit(&out, exit::SPOOL_FULL);
    assert!(
        stderr(&out).contains("alert toobig end"),
        "{}",
        stderr(&out)
    );
    assert!(rig.entries().is_empty());
}

#[test]
fn flush_with_an_empty_or_missing_spool_succeeds() {
    let mm = MattermostStandIn::http();
    let rig = Rig::new(&mm.url(), &[]);
    assert_exit(&rig.flush(), exit::OK);
    assert!(mm.requests().is_empty());
}

#[test]
fn flag_overrides_the_spool_dir_and_budget() {
    let rig = Rig::new(&dead_url(), &[]);
    let other = rig.dir.join("other-spool");
    let out = run(rig
        .notify_cmd("flagged")
        .args(["--spool-dir", &other.to_string_lossy()])
        .args(["--retry-budget", "1"]));
    assert_exit(&out, exit::SPOOLED);
    assert_eq!(json_files(&other).len(), 1);
    assert!(rig.entries().is_empty());
}

#[test]
fn bad_reliability_settings_are_config_errors_naming_them() {
    let rig = Rig::new(&dead_url(), &[("MATTERMOST_SPOOL_MAX_FILES", "many")]);
    let out = rig.notify("badbound");
    assert_exit(&out, 78);
    let err = stderr(&out);
    assert!(err.contains("MATTERMOST_SPOOL_MAX_FILES"), "{err}");
    assert!(err.contains("--spool-max-files"), "{err}");

    let rig = Rig::new(&dead_url(), &[]);
    let out = run(rig.notify_cmd("badbudget").args(["--retry-budget", "soon"]));
    assert_exit(&out, 78);
    let err = stderr(&out);
    assert!(err.contains("MATTERMOST_RETRY_BUDGET"), "{err}");
    assert!(err.contains("--retry-budget"), "{err}");
}

#[test]
fn a_refusal_that_cannot_be_kept_is_loud_with_the_payload() {
    let mm = MattermostStandIn::http();
    mm.set_default(Behaviour::invalid_hook());
    let rig = Rig::new(&mm.url(), &[("MATTERMOST_SPOOL_MAX_FILES", "1")]);
    assert_exit(&rig.notify("firstrefusal"), exit::REFUSED);
    assert_eq!(rig.failed().len(), 1);
    let out = rig.notify("secondrefusal");
    assert_exit(&out, exit::SPOOL_FULL);
    let err = stderr(&out);
    assert!(err.contains("ALERT NOT KEPT"), "{err}");
    assert!(
        err.contains("web.incoming_webhook.invalid.app_error"),
        "{err}"
    );
    assert!(err.contains("alert secondrefusal end"), "{err}");
    assert_eq!(rig.failed().len(), 1);
}

#[test]
fn flush_flags_override_the_config() {
    let rig = Rig::new(&dead_url(), &[]);
    let ids = spool_alerts(&rig, "flushflags", 3);
    let elsewhere = rig.dir.join("elsewhere");
    std::fs::rename(&rig.spool, &elsewhere).expect("move the spool");
    let mm = MattermostStandIn::http();
    let out = run(rig
        .flush_cmd()
        .args(["--spool-dir", &elsewhere.to_string_lossy()])
        .args(["--webhook-url", &mm.url()])
        .args(["--limit", "2"]));
    assert_exit(&out, exit::SPOOLED);
    assert_eq!(delivered_ids(&mm.requests()), ids[..2]);
    assert_eq!(json_files(&elsewhere).len(), 1, "--limit left one");
}

#[test]
fn an_alert_stopped_by_a_missing_delivery_setting_is_kept_for_flush() {
    let rig = Rig::new("", &[]);
    let out = rig.notify("cfgerr");
    assert_exit(&out, 78);
    let err = stderr(&out);
    assert!(
        err.contains("MATTERMOST_WEBHOOK_URL") && err.contains("kept in the spool"),
        "{err}"
    );
    assert_eq!(rig.entries().len(), 1);

    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[]);
    assert_exit(&rig.flush(), exit::OK);
    assert_eq!(delivered_ids(&mm.requests()), ["cfgerr".to_string()]);
    assert!(rig.entries().is_empty());
}
