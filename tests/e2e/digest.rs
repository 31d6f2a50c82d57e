//! Digests (issue 12): a storm's alerts beyond the threshold go out in a
//! few digest posts sent by one leader; followers exit at once; nothing
//! is lost when the leader is killed; order holds; `MATTERMOST_DIGEST=0`
//! keeps one post per alert.

use crate::spool::{exit, Rig};
use crate::support::{MattermostStandIn, Recorded};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every `alert <id> end` in the accepted posts, with how often it was seen.
fn visible(reqs: &[Recorded]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for r in reqs.iter().filter(|r| r.answered == 200) {
        let text = String::from_utf8_lossy(&r.body);
        let mut rest = text.as_ref();
        // A post of its own names its alert in the fallback and the text.
        let mut in_post = std::collections::BTreeSet::new();
        while let Some(start) = rest.find("alert ") {
            rest = &rest[start + 6..];
            if let Some(end) = rest.find(" end") {
                if !rest[..end].contains(' ') && in_post.insert(rest[..end].to_string()) {
                    *seen.entry(rest[..end].to_string()).or_default() += 1;
                }
            }
        }
    }
    seen
}

fn rig(mm: &MattermostStandIn, extra: &[(&str, &str)]) -> Rig {
    let mut settings = vec![
        ("MATTERMOST_DIGEST_WINDOW", "1"),
        ("MATTERMOST_DIGEST_THRESHOLD", "3"),
        ("MATTERMOST_RETRY_BUDGET", "8"),
    ];
    settings.extend_from_slice(extra);
    Rig::new(&mm.url(), &settings)
}

/// `notify` for a PROBLEM (or RECOVERY) of service `svc<n>` on `host<n % 7>`.
fn alert(rig: &Rig, n: usize, recovery: bool) -> Command {
    let mut cmd = rig.command();
    let (t, state) = if recovery {
        ("RECOVERY", "0")
    } else {
        ("PROBLEM", "2")
    };
    cmd.args(["notify", "--type", "Service", "--notificationtype", t])
        .args(["--hostuuid", &format!("host{}", n % 7)])
        .args(["--serviceuuid", &format!("svc{n}")])
        .args(["--state", state])
        .args([
            "--output",
            &format!("CRITICAL - alert d{n:03}{t} end\nsecond line"),
        ]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

fn wait_all(children: Vec<Child>) -> Vec<Option<i32>> {
    children
        .into_iter()
        .map(|mut c| c.wait().expect("wait").code())
        .collect()
}

fn queued(rig: &Rig) -> usize {
    std::fs::read_dir(rig.spool.join("digest"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".item"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_storm_becomes_a_few_digest_posts_and_loses_nothing() {
    let mm = MattermostStandIn::http();
    let rig = rig(&mm, &[]);
    const N: usize = 40;
    let started = Instant::now();
    let children: Vec<Child> = (0..N)
        .map(|n| alert(&rig, n, false).spawn().expect("spawn"))
        .collect();
    let codes = wait_all(children);
    let notify_phase = started.elapsed();
    assert!(codes.iter().all(|c| *c == Some(exit::OK)), "{codes:?}");
    let reqs = mm.requests();
    let seen = visible(&reqs);
    eprintln!(
        "digest storm: {N} alerts, {} requests, {} visible, notify phase {:.1} s",
        reqs.len(),
        seen.len(),
        notify_phase.as_secs_f64()
    );
    assert_eq!(seen.len(), N, "every alert is visible: {seen:?}");
    assert!(seen.values().all(|&n| n == 1), "none twice: {seen:?}");
    // The first three one by one, the rest in a handful of digests.
    assert!(reqs.len() <= 3 + 4, "{} requests", reqs.len());
    let digests: Vec<serde_json::Value> = reqs
        .iter()
        .map(Recorded::json)
        .filter(|j| {
            j["text"]
                .as_str()
                .is_some_and(|t| t.contains("problems on"))
        })
        .collect();
    assert!(!digests.is_empty(), "at least one digest post");
    let d = &digests[0];
    let table = d["attachments"][0]["text"].as_str().unwrap();
    assert!(
        table.starts_with("|   | Host | Service | Output |"),
        "{table}"
    );
    assert!(
        !table.contains("second line"),
        "only the output's first line"
    );
    assert_eq!(queued(&rig), 0, "the queue is empty");
    // Each digested problem is still followed: its record points at the digest.
    let records = std::fs::read_dir(rig.spool.join("problems")).unwrap();
    let texts: Vec<String> = records
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(texts.len(), N);
}

#[test]
fn a_follower_exits_at_once_while_the_leader_collects() {
    let mm = MattermostStandIn::http();
    let rig = rig(
        &mm,
        &[
            ("MATTERMOST_DIGEST_THRESHOLD", "0"),
            ("MATTERMOST_DIGEST_WINDOW", "3"),
        ],
    );
    let mut leader = alert(&rig, 0, false).spawn().expect("leader");
    let deadline = Instant::now() + Duration::from_secs(5);
    while queued(&rig) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(queued(&rig), 1, "the leader queued its alert");
    let t = Instant::now();
    let out = alert(&rig, 1, false).status().expect("follower");
    let follower = t.elapsed();
    eprintln!(
        "digest follower: exited in {:.1} ms",
        follower.as_secs_f64() * 1e3
    );
    assert_eq!(out.code(), Some(exit::OK));
    assert!(
        leader.try_wait().unwrap().is_none(),
        "the leader still collects"
    );
    assert!(
        mm.requests().is_empty(),
        "nothing sent before the window ends"
    );
    assert_eq!(leader.wait().unwrap().code(), Some(exit::OK));
    let reqs = mm.requests();
    assert_eq!(reqs.len(), 1, "one digest carries both");
    assert_eq!(visible(&reqs).len(), 2);
}

#[test]
fn a_leader_killed_at_random_moments_loses_nothing() {
    let mm = MattermostStandIn::http();
    let rig = rig(&mm, &[("MATTERMOST_DIGEST_THRESHOLD", "0")]);
    let mut seed = std::process::id() as u64 | 1;
    let mut rand = |max: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % max
    };
    let mut killed = 0;
    const ROUNDS: usize = 4;
    const PER_ROUND: usize = 8;
    for round in 0..ROUNDS {
        let mut children: Vec<Child> = (0..PER_ROUND)
            .map(|i| {
                alert(&rig, round * PER_ROUND + i, false)
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        std::thread::sleep(Duration::from_millis(200 + rand(1200)));
        for c in children.iter_mut() {
            if c.try_wait().unwrap().is_none() {
                c.kill().expect("SIGKILL");
                killed += 1;
            }
        }
        wait_all(children);
    }
    let before_flush = visible(&mm.requests()).len();
    let out = rig.flush();
    assert_eq!(
        out.status.code(),
        Some(exit::OK),
        "{}",
        crate::support::stderr(&out)
    );
    let seen = visible(&mm.requests());
    let twice: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "digest kill: {} alerts, {killed} processes killed, {before_flush} visible before \
         flush, {} after, {twice} sent twice",
        ROUNDS * PER_ROUND,
        seen.len()
    );
    assert!(killed > 0, "some leader was killed");
    assert_eq!(seen.len(), ROUNDS * PER_ROUND, "nothing lost: {seen:?}");
    assert_eq!(queued(&rig), 0);
}

#[test]
fn a_recovery_follows_its_problem_into_the_digest() {
    let mm = MattermostStandIn::http();
    let rig = rig(&mm, &[("MATTERMOST_DIGEST_THRESHOLD", "0")]);
    let mut leader = alert(&rig, 5, false).spawn().expect("problem");
    let deadline = Instant::now() + Duration::from_secs(5);
    while queued(&rig) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Past the window's count or not, the recovery of a queued problem is
    // queued behind it.
    let rec = rig
        .command()
        .args([
            "notify",
            "--type",
            "Service",
            "--notificationtype",
            "RECOVERY",
        ])
        .args([
            "--hostuuid",
            "host5",
            "--serviceuuid",
            "svc5",
            "--state",
            "0",
        ])
        .args([
            "--output",
            "OK - alert r005 end",
            "--digest-threshold",
            "99",
        ])
        .status()
        .unwrap();
    assert_eq!(rec.code(), Some(exit::OK));
    assert_eq!(leader.wait().unwrap().code(), Some(exit::OK));
    let reqs = mm.requests();
    assert_eq!(reqs.len(), 1, "one digest with both rows");
    let table = reqs[0].json()["attachments"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    let p = table.find("alert d005PROBLEM end").expect("problem row");
    let r = table.find("alert r005 end").expect("recovery row");
    assert!(p < r, "the recovery after its problem: {table}");
    assert!(reqs[0].json()["text"]
        .as_str()
        .unwrap()
        .contains("1 recovered"));
}

#[test]
fn digests_off_keeps_one_post_per_alert() {
    let mm = MattermostStandIn::http();
    let rig = rig(&mm, &[("MATTERMOST_DIGEST", "0")]);
    let children: Vec<Child> = (0..12)
        .map(|n| alert(&rig, n, false).spawn().expect("spawn"))
        .collect();
    assert!(wait_all(children).iter().all(|c| *c == Some(exit::OK)));
    let reqs = mm.requests();
    assert_eq!(reqs.len(), 12);
    assert!(reqs
        .iter()
        .all(|r| !String::from_utf8_lossy(&r.body).contains("problems on")));
}

/// Both digest actions through the real `serve`, sharing the state
/// directory with `notify` as the README says: the menu acknowledges one
/// problem, **Acknowledge all** the others (never one twice), a second
/// click acknowledges nothing, and a list changed on disk is refused.
#[test]
fn a_digest_is_acknowledged_through_serve_one_and_all() {
    use crate::serve::kit::{callback, serve_on, Fifo};
    let mm = MattermostStandIn::http();
    let fifo = Fifo::with_reader();
    let serve = serve_on(&fifo.path, vec![]);
    let state = crate::serve::kit::Dir::new("digest-state");
    let rig = rig(
        &mm,
        &[
            ("MATTERMOST_DIGEST_THRESHOLD", "0"),
            ("MATTERMOST_TWO_WAY", "1"),
            ("MATTERMOST_ACK_URL", "https://mon.example/mattermost/ack"),
            (
                "MATTERMOST_ACK_SECRET_FILE",
                &serve.secret_file.to_string_lossy(),
            ),
            ("MATTERMOST_STATE_DIR", &state.0.to_string_lossy()),
        ],
    );
    let children: Vec<Child> = (0..3)
        .map(|n| alert(&rig, n, false).spawn().unwrap())
        .collect();
    assert!(wait_all(children).iter().all(|c| *c == Some(exit::OK)));
    let reqs = mm.requests();
    assert_eq!(reqs.len(), 1, "one digest");
    let post = reqs[0].json();
    let actions = post["attachments"][0]["actions"]
        .as_array()
        .unwrap()
        .clone();
    let context = |i: usize| {
        actions[i]["integration"]["context"]
            .as_object()
            .unwrap()
            .clone()
    };
    let options = actions[1]["options"].as_array().unwrap();
    assert_eq!(options.len(), 3);
    let id = context(0)["problem"].as_str().unwrap().to_string();
    assert!(state.0.join("digests").join(format!("{id}.list")).exists());
    let record = std::fs::read_dir(state.0.join("problems"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let record = std::fs::read_to_string(record.path()).unwrap();
    assert!(
        record.contains(&format!("\ndigest={id}\n")),
        "followed: {record}"
    );
    // Restart serve on the notify side's state directory.
    drop(serve);
    let serve = serve_on(
        &fifo.path,
        vec![(
            "MATTERMOST_STATE_DIR",
            state.0.to_string_lossy().into_owned(),
        )],
    );
    let click = |ctx: serde_json::Map<String, serde_json::Value>| {
        let (status, body) = serve.post(&serde_json::to_vec(&callback("alice", ctx)).unwrap());
        (
            status,
            serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default(),
        )
    };
    // The menu: the second problem.
    let mut one = context(1);
    one.insert("selected_option".into(), options[1]["value"].clone());
    let (status, reply) = click(one.clone());
    assert_eq!(status, 200, "{reply}");
    // Rows are in arrival order: the option's text names the problem.
    let picked = options[1]["text"].as_str().unwrap().to_string();
    let k: usize = picked
        .trim_start_matches("svc")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let eph = reply["ephemeral_text"].as_str().unwrap();
    assert_eq!(eph, format!("You acknowledged {picked}."));
    let line = fifo.next_line();
    assert!(
        line.contains(&format!("ACKNOWLEDGE_SVC_PROBLEM;host{k};svc{k};")),
        "{line}"
    );
    // All: the other two.
    let (status, reply) = click(context(0));
    assert_eq!(status, 200);
    assert!(reply["update"]["message"]
        .as_str()
        .unwrap()
        .contains("Acknowledged by @alice"));
    assert!(reply["ephemeral_text"]
        .as_str()
        .unwrap()
        .contains("You acknowledged 2 problem(s)"));
    let mut acked = vec![fifo.next_line(), fifo.next_line()];
    acked.sort();
    let others: Vec<usize> = (0..3).filter(|n| *n != k).collect();
    for (line, n) in acked.iter().zip(others) {
        assert!(line.contains(&format!(";host{n};svc{n};")), "{acked:?}");
    }
    // Again: nothing twice.
    let (_, reply) = click(context(0));
    let eph = reply["ephemeral_text"].as_str().unwrap();
    assert!(
        eph.starts_with("Nothing was acknowledged. 3 had been acknowledged"),
        "{eph}"
    );
    let (_, reply) = click(one);
    assert!(reply["ephemeral_text"]
        .as_str()
        .unwrap()
        .contains("already"));
    assert!(!fifo.has_more(), "no command twice");
    // A forged signature, and a list changed on disk.
    let mut forged = context(0);
    forged.insert("label".into(), "other".into());
    assert_eq!(click(forged).0, 403);
    let list = state.0.join("digests").join(format!("{id}.list"));
    let text = std::fs::read_to_string(&list)
        .unwrap()
        .replace("svc", "svX");
    std::fs::write(&list, text).unwrap();
    let mut zero = context(1);
    zero.insert("selected_option".into(), "0".into());
    let (status, reply) = click(zero);
    assert_eq!(status, 200);
    let eph = reply["ephemeral_text"].as_str().unwrap_or_default();
    assert!(eph.starts_with("Nothing was acknowledged."), "{reply}");
    assert!(
        !fifo.has_more(),
        "a changed list acknowledges nothing: {reply}"
    );
    // Read by serve's logger thread: wait for the line, bounded.
    serve.wait_stderr("does not hash to its name");
}

/// The one way a row is posted twice: the server accepted a digest but
/// its answer came after the attempt's timeout, so the leader posted it
/// again. Counted and printed.
#[test]
fn a_digest_accepted_after_its_timeout_is_the_only_repeat_and_is_counted() {
    use crate::support::Behaviour;
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::Trickle(Duration::from_millis(300))]);
    let rig = rig(
        &mm,
        &[
            ("MATTERMOST_DIGEST_THRESHOLD", "0"),
            ("MATTERMOST_TIMEOUT", "2"),
        ],
    );
    let children: Vec<Child> = (0..5)
        .map(|n| alert(&rig, n, false).spawn().unwrap())
        .collect();
    assert!(wait_all(children).iter().all(|c| *c == Some(exit::OK)));
    let reqs = mm.requests();
    let seen = visible(&reqs);
    let repeats: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "digest timeout: {} requests, {} alerts, {repeats} rows posted twice",
        reqs.len(),
        seen.len()
    );
    assert_eq!(reqs.len(), 2, "the slow digest and its retry");
    assert_eq!(seen.len(), 5);
    assert_eq!(
        repeats, 5,
        "exactly the rows of the post whose answer came late"
    );
    assert_eq!(queued(&rig), 0);
}

/// The shared view of the rate limit: what one process learns the next
/// uses. An answer that took the bucket's last token makes the next alert
/// spool at once, without a request; a 429's `Retry-After` makes an alert
/// queued behind the spool wait rather than send; `flush` then sends
/// everything, its first request re-checking the view.
#[test]
fn a_process_that_knows_the_bucket_is_empty_spools_without_sending() {
    use crate::support::{run, stderr, Behaviour};
    let mm = MattermostStandIn::http();
    let last_token = Behaviour::Answer {
        status: 200,
        content_type: "text/plain".into(),
        headers: vec![
            ("X-RateLimit-Remaining".into(), "0".into()),
            ("X-RateLimit-Reset".into(), "1".into()),
        ],
        body: "ok".into(),
    };
    mm.script([
        last_token,
        Behaviour::RateLimited {
            retry_after_secs: 4,
        },
    ]);
    let rig = rig(
        &mm,
        &[("MATTERMOST_DIGEST", "0"), ("MATTERMOST_RETRY_BUDGET", "2")],
    );
    assert_eq!(
        alert(&rig, 0, false).status().unwrap().code(),
        Some(exit::OK)
    );
    let view = std::fs::read_to_string(rig.spool.join("ratelimit")).expect("the view is shared");
    assert!(view.starts_with("remaining=0\n"), "{view}");
    let out = run(alert(&rig, 1, false).stderr(Stdio::piped()));
    assert_eq!(out.status.code(), Some(exit::SPOOLED));
    assert!(
        stderr(&out).contains("without sending: the server's rate limit is exhausted"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        mm.requests().len(),
        1,
        "no request into a known-empty bucket"
    );
    // The view ran out; flush's first request meets the 429, which says 4 s.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(rig.flush().status.code(), Some(exit::SPOOLED));
    assert_eq!(mm.requests().len(), 2);
    // Behind the waiting alert, a fresh one waits for the bucket, not sends.
    let out = run(alert(&rig, 2, false).stderr(Stdio::piped()));
    assert_eq!(out.status.code(), Some(exit::SPOOLED), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rate limit is exhausted"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mm.requests().len(), 2, "no request into a known 429");
    std::thread::sleep(Duration::from_secs(4));
    let out = rig.flush();
    assert_eq!(out.status.code(), Some(exit::OK), "{}", stderr(&out));
    assert_eq!(visible(&mm.requests()).len(), 3, "nothing lost");
}
