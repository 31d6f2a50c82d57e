//! The alert storm: 500 `notify` processes started at once against a
//! stand-in that rate-limits (429 with Retry-After, like Mattermost's
//! token bucket), answers every 10th request with 500 and resets the first
//! connections mid-response or answers them too slowly. Then `flush` runs
//! until the spool is empty. Once through the incoming webhook, once in
//! API mode (each alert a problem of its own: a root post through the REST
//! API, its id on the problem's record).
//!
//! Evidence, from the stand-in's records and the exit codes: every alert is
//! delivered, none lost; every process ends delivered (0) or spooled (75);
//! an alert is delivered twice only if its `notify` spooled it after a
//! request timed out (the server had accepted it but the answer came too
//! late) — those are counted and printed with the other figures. The
//! figures go to stderr: `cargo test ... storm:: -- --nocapture`.

use crate::spool::{alert_id, exit, Rig};
use crate::support::{require_tool, Behaviour, MattermostStandIn, TestPki};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Concurrent `notify` processes.
const ALERTS: usize = 500;

/// Requests answered too slowly to be confirmed, though accepted.
const SLOW_ANSWERS: usize = 5;

/// Raises the soft open-files limit to the hard one: 500 children, their
/// pipes and the stand-in's sockets exceed the common 1024.
fn raise_nofile_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read or write the struct we pass by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A starting gate: the test holds an exclusive `flock` on a file and each
/// child is `flock -s <file> mattermost-notify ...`, so all of them wait
/// until the gate opens and then start at the same moment — truly
/// concurrent, not paced by how fast the test can fork.
struct Gate {
    file: File,
}

impl Gate {
    fn closed(path: &Path) -> Gate {
        let file = File::create(path).expect("gate file");
        // SAFETY: flock on a descriptor `file` keeps open.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "lock the gate");
        Gate { file }
    }

    /// `cmd`, to be run behind the gate at `path`.
    fn behind(path: &Path, flock: &Path, cmd: &Command) -> Command {
        let mut gated = Command::new(flock);
        gated.arg("-s").arg(path).arg(cmd.get_program());
        gated.args(cmd.get_args());
        gated.env_clear();
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                gated.env(k, v);
            }
        }
        gated
    }

    fn open(self) {
        // SAFETY: as above.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// One alert of the storm: a switch died, so 500 different services on
/// 100 hosts fail at once (each its own problem, so none waits for another).
fn storm_alert(rig: &Rig, id: &str) -> Command {
    storm_event(rig, id, false)
}

/// The storm's PROBLEM of `id`, or (`recovery`) its RECOVERY.
fn storm_event(rig: &Rig, id: &str, recovery: bool) -> Command {
    let n: usize = id.trim_start_matches("storm").parse().unwrap_or(0);
    let (t, state, output) = match recovery {
        false => ("PROBLEM", "2", format!("CRITICAL - alert {id} end")),
        true => ("RECOVERY", "0", format!("OK - recovered {id} end")),
    };
    let mut cmd = rig.command();
    cmd.args(["notify", "--type", "Service", "--notificationtype", t])
        .args(["--hostuuid", &format!("host{:03}", n % 100)])
        .args(["--serviceuuid", &format!("svc{}", n / 100)])
        .args(["--state", state, "--output", &output]);
    cmd
}

#[test]
fn storm_of_500_concurrent_alerts_loses_none() {
    storm(false);
}

#[test]
fn api_storm_of_500_concurrent_alerts_loses_none() {
    storm(true);
}

/// The storm through the webhook, or in API mode (`api`).
fn storm(api: bool) {
    let Some(flock) = require_tool(&["/usr/bin/flock", "/bin/flock"]) else {
        return;
    };
    raise_nofile_limit();
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    // The first requests: resets, and a few answers so slow that the
    // client gives up after the server has accepted the post — the only
    // way a duplicate may arise.
    let resets = || std::iter::repeat_n(Behaviour::ResetMidResponse, 10);
    let slow = Behaviour::Trickle(Duration::from_millis(300));
    mm.script(
        resets()
            .chain(std::iter::repeat_n(slow, SLOW_ANSWERS))
            .chain(resets()),
    );
    mm.rate_limit(20.0, 40.0).failure_share(0.1);
    let ca = pki.ca_file.to_string_lossy();
    let settings = [
        ("MATTERMOST_CA_FILE", &*ca),
        ("MATTERMOST_RETRY_BUDGET", "6"),
        ("MATTERMOST_LOG_LEVEL", "warn"),
        // One post per alert: this storm tests the spool and retries.
        ("MATTERMOST_DIGEST", "0"),
    ];
    let rig = if api {
        Rig::api(&mm.api_url(), &settings)
    } else {
        Rig::new(&mm.url(), &settings)
    };
    // What a delivery is: Mattermost's `ok` to a webhook post, or a REST
    // post created (201).
    let (delivered_status, mode) = if api {
        (201, "API mode")
    } else {
        (200, "webhook")
    };

    let gate_path = rig.dir.join("gate");
    let gate = Gate::closed(&gate_path);
    let ids: Vec<String> = (0..ALERTS).map(|i| format!("storm{i:04}")).collect();
    let mut children: Vec<(String, Child)> = ids
        .iter()
        .map(|id| {
            let child = Gate::behind(&gate_path, &flock, &storm_alert(&rig, id))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn notify");
            (id.clone(), child)
        })
        .collect();
    let started = Instant::now();
    gate.open();
    let mut exits: BTreeMap<String, Option<i32>> = BTreeMap::new();
    let mut peak_running = 0;
    while !children.is_empty() {
        let mut running = Vec::with_capacity(children.len());
        for (id, mut child) in children {
            match child.try_wait().expect("try_wait") {
                Some(status) => {
                    exits.insert(id, status.code());
                }
                None => running.push((id, child)),
            }
        }
        peak_running = peak_running.max(running.len());
        children = running;
        std::thread::sleep(Duration::from_millis(20));
    }
    let notify_time = started.elapsed();
    let direct: BTreeSet<&String> = exits
        .iter()
        .filter(|(_, c)| **c == Some(exit::OK))
        .map(|(id, _)| id)
        .collect();
    let spooled: BTreeSet<&String> = exits
        .iter()
        .filter(|(_, c)| **c == Some(exit::SPOOLED))
        .map(|(id, _)| id)
        .collect();
    let odd: Vec<_> = exits
        .iter()
        .filter(|(_, c)| **c != Some(exit::OK) && **c != Some(exit::SPOOLED))
        .collect();
    assert!(
        odd.is_empty(),
        "every notify is delivered or spooled: {odd:?}"
    );

    // Drain the spool the way a timer would: flush, and after a 429 wait
    // for the bucket to refill.
    let mut flush_runs = 0;
    while !rig.entries().is_empty() {
        flush_runs += 1;
        assert!(flush_runs <= 60, "spool not drained after 60 flush runs");
        let out = rig.flush_cmd().output().expect("flush");
        match out.status.code() {
            Some(exit::OK) => {}
            Some(exit::SPOOLED) => std::thread::sleep(Duration::from_secs(1)),
            other => panic!(
                "flush exited {other:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    let reqs = mm.requests();
    let count = |status: u16| reqs.iter().filter(|r| r.answered == status).count();
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    for r in reqs.iter().filter(|r| r.answered == delivered_status) {
        let id = alert_id(&r.body).expect("every post carries its alert id");
        *accepted.entry(id).or_default() += 1;
    }
    let delivered: BTreeSet<&String> = accepted.keys().collect();
    let missing: Vec<&String> = ids.iter().filter(|id| !delivered.contains(id)).collect();
    let duplicated: Vec<(&String, &usize)> = accepted.iter().filter(|(_, n)| **n > 1).collect();
    let duplicates: usize = duplicated.iter().map(|(_, n)| **n - 1).sum();
    eprintln!(
        "storm ({mode}): sent {ALERTS}, delivered {} ({} directly), spooled {}, duplicates \
         {duplicates}, lost {}; peak concurrent notify processes {peak_running}; requests {} \
         ({delivered_status}: {}, 429: {}, 500: {}, reset: {}); notify phase {:.1} s, \
         {flush_runs} flush runs, total {:.1} s",
        delivered.len(),
        direct.len(),
        spooled.len(),
        missing.len(),
        reqs.len(),
        count(delivered_status),
        count(429),
        count(500),
        count(0),
        notify_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    assert!(missing.is_empty(), "lost alerts: {missing:?}");
    assert_eq!(delivered.len(), ALERTS);
    // Each too-slow answer used up its process's budget, so it is spooled
    // and sent again: at least that many duplicates, all of spooled alerts
    // (a loaded machine may add a few more of the same kind).
    assert!(
        duplicates >= SLOW_ANSWERS,
        "{duplicates} duplicates, but {SLOW_ANSWERS} answers came too late: {duplicated:?}"
    );
    for (id, _) in &duplicated {
        assert!(
            spooled.contains(id),
            "{id} was delivered twice although its notify never spooled it"
        );
    }
    assert!(count(429) > 0, "the storm did hit the rate limit");
    assert!(!spooled.is_empty(), "the storm did overflow the budget");

    // The node's state (in the spool directory here) took 500 concurrent
    // writers: one whole record per problem, no temporary file left.
    let problems = rig.spool.join("problems");
    let mut records = 0;
    for item in std::fs::read_dir(&problems).expect("problems/") {
        let path = item.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with(".tmp-"), "temporary file left: {name}");
        let text = std::fs::read_to_string(&path).expect("record");
        assert!(
            text.starts_with("v=2\nproblem=") && text.contains("\nstate=open\n"),
            "{name}: {text:?}"
        );
        // API mode: every root's id reached its record, even when `flush`
        // posted it.
        assert!(!api || text.contains("\npost="), "{name}: {text:?}");
        records += 1;
    }
    assert_eq!(records, ALERTS, "one record per problem");
    if api {
        let posts = mm.posts();
        assert_eq!(
            posts.len(),
            ALERTS + duplicates,
            "one root per alert, and one per duplicate"
        );
        assert!(posts.iter().all(|p| p.root_id.is_empty()), "all roots");
    }
}

/// The same storm with digests on (the default): the first alerts of the
/// window go out one by one, the rest in a few digest posts sent by one
/// leader under Mattermost's default limiter (10/s, burst 100). Counts go
/// to stderr; none may be lost.
#[test]
fn storm_of_500_concurrent_alerts_in_digests_loses_none() {
    digest_storm(false);
}

/// In API mode a storm's new problems go into digests too: REST posts
/// whose threads their problems' later events reply in.
#[test]
fn api_storm_of_500_concurrent_alerts_in_digests_loses_none() {
    digest_storm(true);
}

/// API mode: the switch comes back and all problems recover at once. Each
/// recovery shows once, in its problem's thread (the digest's, for those
/// announced in one), most of them in digest replies: far fewer requests
/// than recoveries.
fn recovery_wave(
    rig: &Rig,
    mm: &MattermostStandIn,
    flock: &Path,
    ids: &[String],
    digest_posts: &BTreeSet<&str>,
) {
    let before = mm.requests().len();
    let posts_before = mm.posts().len();
    let gate_path = rig.dir.join("gate2");
    let gate = Gate::closed(&gate_path);
    let children: Vec<Child> = ids
        .iter()
        .map(|id| {
            Gate::behind(&gate_path, flock, &storm_event(rig, id, true))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn notify")
        })
        .collect();
    let started = Instant::now();
    gate.open();
    for mut c in children {
        let code = c.wait().expect("wait").code();
        assert!(
            code == Some(exit::OK) || code == Some(exit::SPOOLED),
            "{code:?}"
        );
    }
    let flush_runs = drain(rig);
    let reqs = mm.requests();
    let wave = reqs.get(before..).unwrap_or_default();
    let posts = mm.posts();
    let new = posts.get(posts_before..).unwrap_or_default();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for p in new {
        let text = format!("{}{}", p.message, p.props);
        for id in ids
            .iter()
            .filter(|id| text.contains(&format!("recovered {id} end")))
        {
            *seen.entry(id.as_str()).or_default() += 1;
        }
    }
    let missing = ids
        .iter()
        .filter(|id| !seen.contains_key(id.as_str()))
        .count();
    let twice = seen.values().filter(|&&n| n > 1).count();
    let in_digest_threads = new
        .iter()
        .filter(|p| digest_posts.contains(p.root_id.as_str()))
        .count();
    let top_level = new.iter().filter(|p| p.root_id.is_empty()).count();
    eprintln!(
        "recovery wave (API mode): {} recoveries, visible {}, lost {missing}, twice {twice}; \
         requests {} (429: {}), replies {} ({in_digest_threads} in digest threads), top-level \
         {top_level}; {flush_runs} flush runs, {:.1} s",
        ids.len(),
        seen.len(),
        wave.len(),
        wave.iter().filter(|r| r.answered == 429).count(),
        new.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(missing, 0, "lost recoveries");
    assert_eq!(twice, 0, "no recovery twice");
    assert_eq!(top_level, 0, "every recovery replies in its thread");
    assert!(
        wave.len() * 5 <= ids.len(),
        "{} requests for {} recoveries",
        wave.len(),
        ids.len()
    );
}

/// Runs `flush` every 0.5 s until the spool and the digest queue are
/// empty; how many runs it took (at most 30).
fn drain(rig: &Rig) -> usize {
    let mut flush_runs = 0;
    while !rig.entries().is_empty() || queued_items(&rig.spool) > 0 {
        flush_runs += 1;
        assert!(flush_runs <= 30, "not drained after 30 flush runs");
        let _ = rig.flush_cmd().output().expect("flush");
        std::thread::sleep(Duration::from_millis(500));
    }
    flush_runs
}

/// Alerts waiting in the digest queue of `spool`.
fn queued_items(spool: &Path) -> usize {
    std::fs::read_dir(spool.join("digest"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".item"))
                .count()
        })
        .unwrap_or(0)
}

/// The digest storm through the webhook, or in API mode (`api`).
fn digest_storm(api: bool) {
    let Some(flock) = require_tool(&["/usr/bin/flock", "/bin/flock"]) else {
        return;
    };
    raise_nofile_limit();
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    mm.rate_limit(10.0, 100.0);
    let ca = pki.ca_file.to_string_lossy();
    let settings = [
        ("MATTERMOST_CA_FILE", &*ca),
        ("MATTERMOST_RETRY_BUDGET", "15"),
        ("MATTERMOST_LOG_LEVEL", "warn"),
    ];
    let (rig, delivered_status, mode) = if api {
        (Rig::api(&mm.api_url(), &settings), 201, "API mode")
    } else {
        (Rig::new(&mm.url(), &settings), 200, "webhook")
    };
    let gate_path = rig.dir.join("gate");
    let gate = Gate::closed(&gate_path);
    let ids: Vec<String> = (0..ALERTS).map(|i| format!("storm{i:04}")).collect();
    let children: Vec<(String, Child)> = ids
        .iter()
        .map(|id| {
            let child = Gate::behind(&gate_path, &flock, &storm_alert(&rig, id))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn notify");
            (id.clone(), child)
        })
        .collect();
    let started = Instant::now();
    gate.open();
    let mut exits: BTreeMap<String, Option<i32>> = BTreeMap::new();
    for (id, mut child) in children {
        exits.insert(id, child.wait().expect("wait").code());
    }
    let notify_time = started.elapsed();
    let odd: Vec<_> = exits
        .iter()
        .filter(|(_, c)| **c != Some(exit::OK) && **c != Some(exit::SPOOLED))
        .collect();
    assert!(odd.is_empty(), "every notify is delivered or kept: {odd:?}");
    let flush_runs = drain(&rig);
    let reqs = mm.requests();
    let count = |status: u16| reqs.iter().filter(|r| r.answered == status).count();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in reqs.iter().filter(|r| r.answered == delivered_status) {
        let text = String::from_utf8_lossy(&r.body);
        let mut in_post = BTreeSet::new();
        for id in ids
            .iter()
            .filter(|id| text.contains(&format!("alert {id} end")))
        {
            if in_post.insert(id.clone()) {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    let missing: Vec<&String> = ids.iter().filter(|id| !seen.contains_key(*id)).collect();
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    let digests = reqs
        .iter()
        .filter(|r| {
            r.answered == delivered_status
                && String::from_utf8_lossy(&r.body).contains("problems on")
        })
        .count();
    eprintln!(
        "storm with digests ({mode}): sent {ALERTS}, visible {}, lost {}, duplicates {duplicates}; \
         requests {} ({delivered_status}: {}, 429: {}), digest posts {digests}; followers and \
         leader done in {:.1} s, {flush_runs} flush runs, total {:.1} s",
        seen.len(),
        missing.len(),
        reqs.len(),
        count(delivered_status),
        count(429),
        notify_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    assert!(missing.is_empty(), "lost alerts: {missing:?}");
    assert!(digests > 0, "the storm went into digests");
    // More than a post's 100 rows: the digest is split, and says so.
    let parts = reqs
        .iter()
        .filter(|r| {
            r.answered == delivered_status
                && String::from_utf8_lossy(&r.body).contains("(part 1 of")
        })
        .count();
    assert!(parts > 0, "a split digest names its parts");
    if api {
        // Each digested problem is followed: its record points at the
        // digest's post, the thread its later events reply in.
        let posts = mm.posts();
        let digest_posts: BTreeSet<&str> = posts
            .iter()
            .filter(|p| p.message.contains("problems on"))
            .map(|p| p.id.as_str())
            .collect();
        let records: Vec<String> = std::fs::read_dir(rig.spool.join("problems"))
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
        let pointing = records
            .iter()
            .filter(|r| {
                r.lines().any(|l| {
                    l.strip_prefix("post=")
                        .is_some_and(|p| digest_posts.contains(p))
                })
            })
            .count();
        eprintln!(
            "storm with digests ({mode}): {} records, {pointing} point at a digest post",
            records.len()
        );
        assert_eq!(records.len(), ALERTS);
        assert!(
            pointing * 10 >= ALERTS * 8,
            "{pointing} of {ALERTS} records point at their digest"
        );
        recovery_wave(&rig, &mm, &flock, &ids, &digest_posts);
    }
    assert!(
        reqs.len() * 20 <= ALERTS + 20 * 10,
        "{} requests for {ALERTS} alerts",
        reqs.len()
    );
}
