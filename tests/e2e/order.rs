//! Order: a new alert never overtakes alerts already waiting in the spool,
//! and a RECOVERY never reaches Mattermost before its PROBLEM — not when
//! the PROBLEM waits in the spool, and not when it is still being retried
//! by another process.

use crate::spool::{alert_id, dead_url, exit, Rig};
use crate::support::{assert_exit, run, Behaviour, MattermostStandIn};
use std::process::Command;
use std::time::Duration;

/// `notify` for a service PROBLEM (`recovery == false`) or RECOVERY of
/// web1/http whose output carries `id`.
fn event(rig: &Rig, recovery: bool, id: &str) -> Command {
    let (kind, state, word) = if recovery {
        ("RECOVERY", "0", "OK")
    } else {
        ("PROBLEM", "2", "CRITICAL")
    };
    let mut cmd = rig.command();
    cmd.args(["notify", "--type", "Service", "--notificationtype", kind])
        .args([
            "--hostuuid",
            "web1",
            "--serviceuuid",
            "http",
            "--state",
            state,
        ])
        .args(["--output", &format!("{word} - alert {id} end")]);
    cmd
}

fn accepted(mm: &MattermostStandIn) -> Vec<String> {
    mm.requests()
        .iter()
        .filter(|r| r.answered == 200)
        .filter_map(|r| alert_id(&r.body))
        .collect()
}

#[test]
fn a_recovery_queues_behind_its_spooled_problem() {
    let rig = Rig::new(&dead_url(), &[]);
    assert_exit(&run(&mut event(&rig, false, "problem")), exit::SPOOLED);
    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[]);
    assert_exit(&run(&mut event(&rig, true, "recovery")), exit::OK);
    assert_eq!(accepted(&mm), ["problem", "recovery"]);
    assert!(rig.entries().is_empty());
}

#[test]
fn a_recovery_waits_for_its_problem_still_being_retried() {
    let mm = MattermostStandIn::http();
    // The PROBLEM's first attempt gets no answer (it times out after 1 s
    // and is retried); everything after that is answered at once.
    mm.script([Behaviour::HangAfterRequest]);
    let rig = Rig::new(
        &mm.url(),
        &[
            ("MATTERMOST_TIMEOUT", "1"),
            ("MATTERMOST_RETRY_BUDGET", "8"),
        ],
    );
    let mut problem = event(&rig, false, "problem")
        .spawn()
        .expect("spawn problem");
    // The RECOVERY starts while the PROBLEM's first attempt hangs.
    let started = std::time::Instant::now();
    while mm.requests().is_empty() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let recovery = run(&mut event(&rig, true, "recovery"));
    let problem = problem.wait().expect("problem");
    assert_eq!(problem.code(), Some(exit::OK));
    assert_exit(&recovery, exit::OK);
    assert_eq!(
        accepted(&mm),
        ["problem", "recovery"],
        "the recovery must not be posted while its problem is still on its way"
    );
}

#[test]
fn alerts_of_different_problems_are_not_held_up_by_each_other() {
    let mm = MattermostStandIn::http();
    mm.script([Behaviour::HangAfterRequest]);
    let rig = Rig::new(
        &mm.url(),
        &[
            ("MATTERMOST_TIMEOUT", "3"),
            ("MATTERMOST_RETRY_BUDGET", "8"),
        ],
    );
    let mut slow = rig.notify_cmd("slow").spawn().expect("spawn");
    let started = std::time::Instant::now();
    while mm.requests().is_empty() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Another service: its lock is its own.
    let other = run(rig
        .command()
        .args([
            "notify",
            "--type",
            "Service",
            "--notificationtype",
            "PROBLEM",
        ])
        .args(["--hostuuid", "web1", "--serviceuuid", "dns", "--state", "2"])
        .args(["--output", "CRITICAL - alert other end"]));
    assert_exit(&other, exit::OK);
    assert_eq!(accepted(&mm), ["other"], "sent while the first still hangs");
    assert_eq!(slow.wait().expect("slow").code(), Some(exit::OK));
}
