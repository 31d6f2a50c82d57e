//! API mode with a real core: one service problem's whole life in Debian's
//! nagios4 (temporary directory, one-second intervals), its notifications
//! our binary in API mode against the stand-in's REST API over HTTPS, and
//! `serve` in API mode acting on nagios4's command pipe.
//!
//! The check reads a state file the test flips. The life: the service
//! fails → one root post; the Acknowledge click (on the root, through
//! `serve`) → the root shows it acknowledged and the thread has it, and
//! nagios4's own ACKNOWLEDGEMENT notification adds nothing; the check
//! recovers → the root is green without buttons and the thread has the
//! recovery; the service fails again → a new root post. The second test
//! takes Mattermost away during the ack and the recovery: both wait in the
//! spool, and after `flush` the thread reads root, ack, recovery. Each
//! test prints the thread as the stand-in recorded it (`-- --nocapture`).

use crate::api::{roots, thread};
use crate::nagios::{find, nagios_log, notify_command, status_blocks, write_main_cfg, Nagios};
use crate::serve::kit;
use crate::support::standin_rest::{StandinPost, BOT_TOKEN, CHANNEL, CHANNEL_ID, TEAM};
use crate::support::{self, Behaviour, MattermostStandIn, TempDir, TestPki};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Mattermost user who clicks.
const CLICKER: &str = "mm.alice";

/// How long nagios4 may take for a check and its notification.
const NAGIOS_WAIT: Duration = Duration::from_secs(60);

/// nagios4, `serve` and the stand-in, sharing one node's state and spool.
struct Life {
    dir: TempDir,
    mm: MattermostStandIn,
    serve: kit::Serve,
    notify_conf: PathBuf,
    _nagios: Nagios,
    _pki: TestPki,
}

impl Life {
    /// Everything running, the service OK; `None` (skipped, or failed
    /// under CI) without nagios4.
    fn start() -> Option<Life> {
        let nagios4 = support::require_tool(&["/usr/sbin/nagios4"])?;
        let dir = TempDir::new();
        let pki = TestPki::new();
        let mm = MattermostStandIn::https(&pki);
        let token = dir.write("bot.token", format!("{BOT_TOKEN}\n"));
        let node_env = |serve_side: bool| {
            let mut env = vec![
                ("MATTERMOST_URL", mm.api_url()),
                ("MATTERMOST_BOT_TOKEN_FILE", token.display().to_string()),
                ("MATTERMOST_TEAM", TEAM.to_string()),
                ("MATTERMOST_CHANNEL", CHANNEL.to_string()),
                ("MATTERMOST_CA_FILE", pki.ca_file.display().to_string()),
                (
                    "MATTERMOST_STATE_DIR",
                    dir.join("state").display().to_string(),
                ),
                (
                    "MATTERMOST_SPOOL_DIR",
                    dir.join("mm-spool").display().to_string(),
                ),
                ("MATTERMOST_RETRY_BUDGET", "2".to_string()),
                ("MATTERMOST_SYSLOG", "0".to_string()),
            ];
            if serve_side {
                // nagios4 then notifies about the acknowledgement too: it
                // must add nothing to the thread.
                env.push(("MATTERMOST_ACK_NOTIFY", "1".to_string()));
            }
            env
        };
        dir.write("shop.state", "2\n");
        let serve = kit::Serve::start(kit::Options {
            command_file: Some(&dir.join("rw/nagios.cmd")),
            oitc_url: None,
            env: node_env(true),
            tls: None,
            listen: None,
        });
        let mut conf: String = node_env(false)
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        conf.push_str(&format!(
            "MATTERMOST_TWO_WAY=1\nMATTERMOST_ACK_URL=http://127.0.0.1:{}{}\n\
             MATTERMOST_ACK_SECRET_FILE={}\n",
            serve.port,
            kit::ACK_PATH,
            serve.secret_file.display()
        ));
        let notify_conf = dir.write("mattermost-notify.conf", conf);
        let cfg = configure(&dir, &notify_conf);
        let verify = Command::new(&nagios4).args(["-v", &cfg]).output().unwrap();
        assert!(
            verify.status.success(),
            "nagios4 -v rejects the test config:\n{}",
            String::from_utf8_lossy(&verify.stdout)
        );
        let nagios = Nagios(
            Command::new(&nagios4)
                .arg(&cfg)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nagios4"),
        );
        Some(Life {
            dir,
            mm,
            serve,
            notify_conf,
            _nagios: nagios,
            _pki: pki,
        })
    }

    /// Makes the service's check answer OK (`true`) or CRITICAL.
    fn service_ok(&self, ok: bool) {
        self.dir.write("shop.state", if ok { "0\n" } else { "2\n" });
    }

    /// Waits until `done` holds for the stand-in's posts; panics after
    /// [`NAGIOS_WAIT`] with `what` and nagios4's log.
    fn wait_posts(&self, what: &str, done: impl Fn(&[StandinPost]) -> bool) -> Vec<StandinPost> {
        let deadline = Instant::now() + NAGIOS_WAIT;
        loop {
            let posts = self.mm.posts();
            if done(&posts) {
                return posts;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never happened; posts:\n{posts:#?}\nnagios.log:\n{}\nserve:\n{}",
                nagios_log(&self.dir),
                self.serve.stderr()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until nagios4's log contains `needle`.
    fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + NAGIOS_WAIT;
        while !nagios_log(&self.dir).contains(needle) {
            assert!(
                Instant::now() < deadline,
                "nagios.log never said {needle:?}:\n{}",
                nagios_log(&self.dir)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Clicks the root's Acknowledge button as [`CLICKER`] would in
    /// Mattermost; returns `serve`'s answer.
    fn click_ack(&self, root: &StandinPost) -> serde_json::Value {
        let ack = root.attachment()["actions"]
            .as_array()
            .and_then(|a| a.iter().find(|b| b["id"] == "ack"))
            .expect("the root offers Ack");
        let context = ack["integration"]["context"]
            .as_object()
            .expect("context")
            .clone();
        let mut click = kit::callback(CLICKER, context);
        click["post_id"] = root.id.clone().into();
        click["channel_id"] = CHANNEL_ID.into();
        let (status, reply) = self.serve.post(&serde_json::to_vec(&click).unwrap());
        assert_eq!(status, 200, "{reply}");
        serde_json::from_str(&reply).expect("JSON answer")
    }

    /// Waits until nagios4's status shows the service acknowledged by
    /// [`CLICKER`].
    fn wait_acknowledged(&self) {
        let deadline = Instant::now() + NAGIOS_WAIT;
        loop {
            let blocks = status_blocks(&self.dir.join("status.dat"));
            let acked = find(
                &blocks,
                "servicestatus",
                &[
                    ("host_name", "web-up"),
                    ("service_description", "HTTP shop"),
                    ("problem_has_been_acknowledged", "1"),
                ],
            );
            let by = find(&blocks, "servicecomment", &[("author", CLICKER)]);
            if acked.is_some() && by.is_some() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nagios4 never showed the acknowledgement:\n{}\nserve:\n{}",
                nagios_log(&self.dir),
                self.serve.stderr()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs `flush` with the node's settings (its spool, not the one the
    /// test harness puts beside a config).
    fn flush(&self) -> std::process::Output {
        let mut cmd = support::command(&self.notify_conf);
        cmd.env("MATTERMOST_SPOOL_DIR", self.dir.join("mm-spool"));
        support::run(cmd.arg("flush"))
    }

    /// Entries waiting in the node's spool.
    fn spooled(&self) -> usize {
        std::fs::read_dir(self.dir.join("mm-spool"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .count()
            })
            .unwrap_or(0)
    }
}

/// One host that is up and its service, whose check answers by the state
/// file; the contact notifies through our binary in API mode.
fn configure(dir: &TempDir, notify_conf: &std::path::Path) -> String {
    let state = dir.join("shop.state");
    let check_shop = crate::nagios::write_script(
        dir,
        "check_shop",
        &format!(
            "if [ \"$(cat {})\" = 0 ]; then echo 'OK - shop answers'; exit 0; fi\n\
             echo 'CRITICAL - HTTP 503 Service Unavailable'\nexit 2",
            state.display()
        ),
    );
    let check_up = crate::nagios::write_script(dir, "check_up", "echo 'UP - answers'\nexit 0");
    let notify = notify_command(notify_conf);
    // No ';' in command lines: it starts a comment in object files.
    let objects = format!(
        r#"
define timeperiod {{
    timeperiod_name 24x7
    alias 24x7
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}}
define command {{
    command_name check_up
    command_line {check_up}
}}
define command {{
    command_name check_shop
    command_line {check_shop}
}}
define command {{
    command_name notify_host_mattermost
    command_line {notify} --type Host --notificationtype "$NOTIFICATIONTYPE$" --hostuuid "$HOSTNAME$" --state "$HOSTSTATEID$" --output "$HOSTOUTPUT$" --problemid "$HOSTPROBLEMID$" --lastproblemid "$LASTHOSTPROBLEMID$"
}}
define command {{
    command_name notify_service_mattermost
    command_line {notify} --type Service --notificationtype "$NOTIFICATIONTYPE$" --hostuuid "$HOSTNAME$" --serviceuuid "$SERVICEDESC$" --state "$SERVICESTATEID$" --output "$SERVICEOUTPUT$" --ackauthor "$NOTIFICATIONAUTHOR$" --ackcomment "$NOTIFICATIONCOMMENT$" --problemid "$SERVICEPROBLEMID$" --lastproblemid "$LASTSERVICEPROBLEMID$"
}}
define contact {{
    contact_name mattermost
    alias Mattermost
    host_notifications_enabled 1
    service_notifications_enabled 1
    host_notification_period 24x7
    service_notification_period 24x7
    host_notification_options d,u,r
    service_notification_options w,u,c,r
    host_notification_commands notify_host_mattermost
    service_notification_commands notify_service_mattermost
}}
define host {{
    host_name web-up
    address 192.0.2.20
    check_command check_up
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    notification_period 24x7
    notification_interval 0
    contacts mattermost
}}
define service {{
    host_name web-up
    service_description HTTP shop
    check_command check_shop
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    notification_period 24x7
    notification_interval 0
    notification_options w,u,c,r
    contacts mattermost
}}
"#
    );
    dir.write("objects.cfg", objects);
    write_main_cfg(dir)
}

/// The ids of the root's buttons, in order.
fn buttons(root: &StandinPost) -> Vec<String> {
    root.attachment()["actions"]
        .as_array()
        .map_or(Vec::new(), |a| {
            a.iter()
                .map(|b| b["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
}

/// The root's `Status` field.
fn status_field(props: &serde_json::Value) -> String {
    props["attachments"][0]["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["title"] == "Status"))
        .and_then(|f| f["value"].as_str())
        .unwrap_or("")
        .to_string()
}

/// The conversation of `root` as the stand-in recorded it: the root as
/// created, each edit, the replies in order.
fn transcript(posts: &[StandinPost], root: &StandinPost) -> String {
    let line = |props: &serde_json::Value| {
        let a = &props["attachments"][0];
        let ids: Vec<&str> = a["actions"].as_array().map_or(Vec::new(), |b| {
            b.iter().filter_map(|b| b["id"].as_str()).collect()
        });
        format!(
            "{} | colour {} | buttons [{}] | Status: {}",
            a["title"].as_str().unwrap_or(""),
            a["color"].as_str().unwrap_or(""),
            ids.join(", "),
            status_field(props).replace('\n', " / ")
        )
    };
    let mut versions: Vec<&serde_json::Value> = root.history.iter().map(|(_, p)| p).collect();
    versions.push(&root.props);
    let mut out = format!("root post {}:\n  created: {}\n", root.id, line(versions[0]));
    for (i, v) in versions.iter().enumerate().skip(1) {
        out.push_str(&format!("  edit {i}:  {}\n", line(v)));
    }
    for reply in thread(posts, &root.id) {
        out.push_str(&format!("  reply:   {reply}\n"));
    }
    out
}

/// The colour root `id` shows now ("" if it is not there).
fn root_colour(posts: &[StandinPost], id: &str) -> String {
    posts
        .iter()
        .find(|p| p.id == id)
        .and_then(|p| p.attachment()["color"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn nagios4_problem_lives_in_one_thread_in_api_mode() {
    let Some(life) = Life::start() else {
        return;
    };
    // The service fails: one root post, with its buttons, tied to
    // nagios4's problem id.
    let posts = life.wait_posts("the root post", |p| !p.is_empty());
    let root = posts[0].clone();
    assert!(root.root_id.is_empty() && root.channel_id == CHANNEL_ID);
    assert_eq!(root.attachment()["color"], "#d9534f");
    assert_eq!(buttons(&root), ["ack", "downtime", "recheck"]);
    let problem = root.attachment()["actions"][0]["integration"]["context"]["problem"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(problem.parse::<u64>().is_ok_and(|id| id > 0), "{problem}");

    // The Acknowledge click: the clicker's confirmation only; nagios4 is
    // acknowledged; the root shows it and the thread has it, once.
    let answer = life.click_ack(&root);
    assert_eq!(
        answer["ephemeral_text"], "You acknowledged HTTP shop on web-up.",
        "{answer}"
    );
    assert!(
        answer.get("update").is_none(),
        "the REST API edits the root"
    );
    life.wait_acknowledged();
    // A reply comes before its root edit: wait for both.
    let posts = life.wait_posts("the ack in the thread and on the root", |p| {
        thread(p, &root.id).len() == 1 && root_colour(p, &root.id) == "#1895f5"
    });
    let acked = posts.iter().find(|p| p.id == root.id).unwrap();
    assert_eq!(acked.attachment()["color"], "#1895f5");
    assert_eq!(buttons(acked), ["unack", "downtime", "recheck"]);
    assert!(status_field(&acked.props).contains(&format!("Acknowledged by {CLICKER} at ")));
    assert!(thread(&posts, &root.id)[0].contains(&format!("**Acknowledged** by @{CLICKER} at ")));
    // nagios4 notifies about the acknowledgement (serve asked it to): the
    // thread already has it.
    life.wait_log("SERVICE NOTIFICATION: mattermost;web-up;HTTP shop;ACKNOWLEDGEMENT");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        thread(&life.mm.posts(), &root.id).len(),
        1,
        "each event shows once"
    );

    // The check recovers: the root is green without buttons; the thread
    // has the recovery.
    life.service_ok(true);
    let posts = life.wait_posts("the recovery in the thread and on the root", |p| {
        thread(p, &root.id).len() == 2 && root_colour(p, &root.id) == "#5cb85c"
    });
    let replies = thread(&posts, &root.id);
    assert!(replies[1].contains("**Recovered** after"), "{}", replies[1]);
    let recovered = posts.iter().find(|p| p.id == root.id).unwrap();
    assert_eq!(recovered.attachment()["color"], "#5cb85c");
    assert!(buttons(recovered).is_empty(), "no button once recovered");
    let status = status_field(&recovered.props);
    assert!(
        status.contains("Acknowledged by ") && status.contains("Recovered at "),
        "{status}"
    );
    assert_eq!(
        recovered.history.len(),
        2,
        "edited for the ack and the recovery"
    );
    eprintln!(
        "nagios4 API mode, the problem's thread as the stand-in recorded it:\n{}",
        transcript(&posts, recovered)
    );

    // It fails again: a new problem, a new root post.
    life.service_ok(false);
    let posts = life.wait_posts("the second root", |p| roots(p).len() == 2);
    let second = roots(&posts)[1];
    assert_ne!(second.id, root.id);
    assert_eq!(buttons(second), ["ack", "downtime", "recheck"]);
    let second_problem = &second.attachment()["actions"][0]["integration"]["context"]["problem"];
    assert_ne!(
        second_problem.as_str(),
        Some(problem.as_str()),
        "nagios4's new problem id"
    );
    assert!(thread(&posts, &second.id).is_empty());
    assert_eq!(
        thread(&posts, &root.id).len(),
        2,
        "the old thread is left as it was"
    );
}

#[test]
fn nagios4_ack_and_recovery_wait_for_mattermost_in_order() {
    let Some(life) = Life::start() else {
        return;
    };
    let posts = life.wait_posts("the root post", |p| !p.is_empty());
    let root = posts[0].clone();
    // Mattermost goes away: connections are closed at once.
    life.mm.set_default(Behaviour::CloseImmediately);
    let answer = life.click_ack(&root);
    assert_eq!(
        answer["ephemeral_text"], "You acknowledged HTTP shop on web-up.",
        "{answer}"
    );
    life.wait_acknowledged();
    assert!(
        life.spooled() >= 2,
        "the ack's reply and edit wait in the spool"
    );
    life.service_ok(true);
    life.wait_log("SERVICE NOTIFICATION: mattermost;web-up;HTTP shop;OK;");
    let deadline = Instant::now() + NAGIOS_WAIT;
    while life.spooled() < 4 {
        assert!(
            Instant::now() < deadline,
            "the recovery's reply and edit never reached the spool ({} waiting)\n{}",
            life.spooled(),
            nagios_log(&life.dir)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(life.spooled(), 4, "ack: reply, edit; recovery: reply, edit");
    assert_eq!(life.mm.posts().len(), 1, "nothing reached Mattermost");
    // Mattermost is back: flush sends them in order.
    life.mm.set_default(Behaviour::Ok);
    let out = life.flush();
    support::assert_exit(&out, 0);
    assert_eq!(life.spooled(), 0, "flush: {}", support::stderr(&out));
    let posts = life.mm.posts();
    let replies = thread(&posts, &root.id);
    assert_eq!(replies.len(), 2, "{posts:#?}");
    assert!(
        replies[0].contains(&format!("**Acknowledged** by @{CLICKER}")),
        "{}",
        replies[0]
    );
    assert!(replies[1].contains("**Recovered** after"), "{}", replies[1]);
    let root_now = posts.iter().find(|p| p.id == root.id).unwrap();
    assert_eq!(root_now.history.len(), 2);
    assert_eq!(
        root_now.history[1].1["attachments"][0]["color"], "#1895f5",
        "acked, then"
    );
    assert_eq!(root_now.attachment()["color"], "#5cb85c", "recovered");
    assert_eq!(roots(&posts).len(), 1);
    eprintln!(
        "nagios4 API mode after an outage and flush, the thread as the stand-in recorded it:\n{}",
        transcript(&posts, root_now)
    );
}
