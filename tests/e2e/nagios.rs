//! Proof with a real core: Debian's nagios4 runs from a temporary directory
//! with a failing host and a failing service; its notification commands are
//! our binary (`notify --two-way`) posting to the loopback Mattermost
//! stand-in over HTTPS. The test plays Mattermost: it takes each post's
//! Acknowledge button (URL and signed context) and sends `serve` the
//! callback a click produces. nagios4's `status.dat` must then show both
//! problems acknowledged, sticky, by the Mattermost user. A second nagios4
//! gets every action (Ack, Unack, Recheck, and Comment and Downtime through
//! dialog submissions), each checked in `status.dat` too.

use crate::serve::kit;
use crate::support::{self, MattermostStandIn, TempDir, TestPki};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Mattermost user who clicks.
const CLICKER: &str = "mm.alice";

/// nagios4 as a child process; stopped (TERM, then KILL) on drop.
pub struct Nagios(pub Child);

impl Drop for Nagios {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn write_script(dir: &TempDir, name: &str, body: &str) -> String {
    let path = dir.write(name, format!("#!/bin/sh\n{body}\n"));
    support::set_mode(&path, 0o755);
    path.display().to_string()
}

/// The user nagios4 runs as: root in CI; the current user otherwise.
pub fn nagios_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn nagios_group() -> String {
    let out = Command::new("id").arg("-gn").output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The acknowledge test's problems: host db-down DOWN, service "HTTP shop"
/// of host web-up CRITICAL.
const PROBLEMS: &str = r#"
define host {
    host_name db-down
    address 192.0.2.10
    check_command check_down
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    notification_period 24x7
    notification_interval 0
    notification_options d,u,r
    contacts mattermost
}
define host {
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
}
define service {
    host_name web-up
    service_description HTTP shop
    check_command check_critical
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    notification_period 24x7
    notification_interval 0
    notification_options w,u,c,r
    contacts mattermost
}
"#;

/// Writes nagios.cfg, the commands and contact every test shares, the
/// templates `fast-host` and `fast-service` (checked every second, one
/// attempt, notifying `mattermost` once) and `hosts` (the test's hosts and
/// services); returns the nagios.cfg path.
fn configure(dir: &TempDir, notify_conf: &Path, hosts: &str) -> String {
    let check_down = write_script(
        dir,
        "check_down",
        "echo 'DOWN - no route to test host'\nexit 2",
    );
    let check_up = write_script(dir, "check_up", "echo 'UP - answers'\nexit 0");
    let check_critical = write_script(
        dir,
        "check_critical",
        "echo 'CRITICAL - HTTP 503 Service Unavailable'\nexit 2",
    );
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
    command_name check_down
    command_line {check_down}
}}
define command {{
    command_name check_up
    command_line {check_up}
}}
define command {{
    command_name check_critical
    command_line {check_critical}
}}
define command {{
    command_name notify_host_mattermost
    command_line {notify} --type Host --notificationtype "$NOTIFICATIONTYPE$" --hostuuid "$HOSTNAME$" --state "$HOSTSTATEID$" --output "$HOSTOUTPUT$" --problemid "$HOSTPROBLEMID$" --lastproblemid "$LASTHOSTPROBLEMID$"
}}
define command {{
    command_name notify_service_mattermost
    command_line {notify} --type Service --notificationtype "$NOTIFICATIONTYPE$" --hostuuid "$HOSTNAME$" --serviceuuid "$SERVICEDESC$" --state "$SERVICESTATEID$" --output "$SERVICEOUTPUT$" --problemid "$SERVICEPROBLEMID$" --lastproblemid "$LASTSERVICEPROBLEMID$"
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
    name fast-host
    register 0
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    notification_period 24x7
    notification_interval 0
    notification_options d,u,r
    contacts mattermost
}}
define service {{
    name fast-service
    register 0
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    notification_period 24x7
    notification_interval 0
    notification_options w,u,c,r
    contacts mattermost
}}
{hosts}
"#
    );
    dir.write("objects.cfg", objects);
    write_main_cfg(dir)
}

/// The start of a notification command line: our binary's `notify
/// --two-way` with `notify_conf` (through the runner, under qemu).
pub fn notify_command(notify_conf: &Path) -> String {
    let mut bin = support::bin().display().to_string();
    if let Some(runner) = std::env::var_os("MATTERMOST_NOTIFY_RUNNER").filter(|r| !r.is_empty()) {
        bin = format!("{} {bin}", runner.to_string_lossy());
    }
    format!(
        "/usr/bin/env MATTERMOST_CONFIG={} {bin} notify --two-way",
        notify_conf.display()
    )
}

/// Writes nagios.cfg for the objects in `objects.cfg` of `dir`: every
/// path in `dir`, one-second intervals, the command pipe at `rw/nagios.cmd`;
/// returns its path.
pub fn write_main_cfg(dir: &TempDir) -> String {
    let d = dir.path().display().to_string();
    std::fs::create_dir_all(dir.join("rw")).unwrap();
    std::fs::create_dir_all(dir.join("spool")).unwrap();
    let cfg = format!(
        "log_file={d}/nagios.log
cfg_file={d}/objects.cfg
object_cache_file={d}/objects.cache
precached_object_file={d}/objects.precache
status_file={d}/status.dat
status_update_interval=1
nagios_user={user}
nagios_group={group}
check_external_commands=1
command_file={d}/rw/nagios.cmd
query_socket={d}/rw/nagios.qh
lock_file={d}/nagios.lock
temp_file={d}/nagios.tmp
temp_path={d}
check_result_path={d}/spool
state_retention_file={d}/retention.dat
retain_state_information=0
use_retained_program_state=0
use_retained_scheduling_info=0
interval_length=1
use_syslog=0
log_notifications=1
log_external_commands=1
enable_notifications=1
execute_service_checks=1
execute_host_checks=1
service_inter_check_delay_method=n
host_inter_check_delay_method=n
check_result_reaper_frequency=1
enable_flap_detection=0
enable_environment_macros=0
check_for_updates=0
bare_update_check=1
log_rotation_method=n
daemon_dumps_core=0
",
        user = nagios_user(),
        group = nagios_group(),
    );
    dir.write("nagios.cfg", cfg).display().to_string()
}

/// `status.dat` as (block type, fields) pairs.
pub fn status_blocks(path: &Path) -> Vec<(String, HashMap<String, String>)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut blocks = Vec::new();
    let mut current: Option<(String, HashMap<String, String>)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_suffix('{') {
            current = Some((name.trim().to_string(), HashMap::new()));
        } else if line == "}" {
            blocks.extend(current.take());
        } else if let (Some((_, fields)), Some((k, v))) = (current.as_mut(), line.split_once('=')) {
            fields.insert(k.to_string(), v.to_string());
        }
    }
    blocks
}

pub fn find<'a>(
    blocks: &'a [(String, HashMap<String, String>)],
    kind: &str,
    want: &[(&str, &str)],
) -> Option<&'a HashMap<String, String>> {
    blocks
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, f)| f)
        .find(|f| {
            want.iter()
                .all(|(k, v)| f.get(*k).map(String::as_str) == Some(*v))
        })
}

pub fn nagios_log(dir: &TempDir) -> String {
    std::fs::read_to_string(dir.join("nagios.log")).unwrap_or_default()
}

/// nagios4 running `hosts` from a temp dir, its notifications our binary
/// (`notify --two-way`, plus `notify_extra` settings) posting to a
/// stand-in, and `serve` (plus `serve_env`) on its command pipe; notify
/// and serve share the node's state directory. Fields drop in order:
/// nagios4 stops first.
struct Rig {
    _nagios: Nagios,
    serve: kit::Serve,
    mattermost: MattermostStandIn,
    /// Where `serve` opens dialogs (`MATTERMOST_URL` when `actions` is given).
    dialogs: MattermostStandIn,
    ack_url: String,
    _pki: TestPki,
    dir: TempDir,
}

impl Rig {
    /// `actions`, when given, is `MATTERMOST_ACTIONS` for notify and serve,
    /// both with `MATTERMOST_URL` at [`Rig::dialogs`]. `None` when nagios4
    /// is missing (and CI is not set).
    fn start(hosts: &str, actions: Option<&str>) -> Option<Rig> {
        let nagios4 = support::require_tool(&["/usr/sbin/nagios4"])?;
        let dir = TempDir::new();
        let pki = TestPki::new();
        let mattermost = MattermostStandIn::https(&pki);
        let dialogs = MattermostStandIn::https(&pki);
        let state = dir.join("state");
        let mut env = vec![("MATTERMOST_STATE_DIR", state.display().to_string())];
        let mut notify_extra = String::new();
        if let Some(list) = actions {
            notify_extra = format!(
                "MATTERMOST_ACTIONS={list}\nMATTERMOST_URL={}\n",
                dialogs.base_url()
            );
            env.extend([
                ("MATTERMOST_ACTIONS", list.to_string()),
                ("MATTERMOST_URL", dialogs.base_url()),
                ("MATTERMOST_CA_FILE", pki.ca_file.display().to_string()),
            ]);
        }
        let serve = kit::Serve::start(kit::Options {
            command_file: Some(&dir.join("rw/nagios.cmd")),
            oitc_url: None,
            env,
            tls: None,
            listen: None,
        });
        let ack_url = format!("http://127.0.0.1:{}{}", serve.port, kit::ACK_PATH);
        let notify_conf = dir.write(
            "mattermost-notify.conf",
            format!(
                "MATTERMOST_WEBHOOK_URL={}\nMATTERMOST_CA_FILE={}\nMATTERMOST_TWO_WAY=1\n\
                 MATTERMOST_ACK_URL={ack_url}\nMATTERMOST_ACK_SECRET_FILE={}\nMATTERMOST_SYSLOG=0\n\
                 MATTERMOST_SPOOL_DIR={}\nMATTERMOST_STATE_DIR={}\n{notify_extra}",
                mattermost.url_with_host("localhost"),
                pki.ca_file.display(),
                serve.secret_file.display(),
                dir.join("spool").display(),
                state.display()
            ),
        );
        let cfg = configure(&dir, &notify_conf, hosts);
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
        Some(Rig {
            _nagios: nagios,
            serve,
            mattermost,
            dialogs,
            ack_url,
            _pki: pki,
            dir,
        })
    }

    fn status(&self) -> Vec<(String, HashMap<String, String>)> {
        status_blocks(&self.dir.join("status.dat"))
    }

    /// Waits (bounded) until `found` picks something out of status.dat;
    /// returns it.
    fn wait_status<T>(
        &self,
        what: &str,
        found: impl Fn(&[(String, HashMap<String, String>)]) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(t) = found(&self.status()) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "status.dat never showed {what}\nstatus.dat:\n{}\nnagios.log:\n{}\nserve:\n{}",
                std::fs::read_to_string(self.dir.join("status.dat")).unwrap_or_default(),
                nagios_log(&self.dir),
                self.serve.stderr()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn nagios4_problems_are_acknowledged_by_a_mattermost_click() {
    let Some(rig) = Rig::start(PROBLEMS, None) else {
        return;
    };
    let (dir, mattermost, serve, ack_url) = (&rig.dir, &rig.mattermost, &rig.serve, &rig.ack_url);

    // The two PROBLEM posts, each with a button.
    let posts = mattermost.wait_for_requests(2, Duration::from_secs(120));
    assert!(
        posts.len() >= 2,
        "expected 2 posts, got {}\nnagios.log:\n{}",
        posts.len(),
        nagios_log(dir)
    );
    let mut clicked = Vec::new();
    let mut used = Vec::new();
    for post in &posts {
        let v = post.json();
        let Some(action) = v["attachments"][0]["actions"].get(0) else {
            continue;
        };
        let integration = &action["integration"];
        assert_eq!(integration["url"], ack_url.as_str());
        let context = integration["context"].as_object().expect("context").clone();
        let kind = context["kind"].as_str().unwrap_or("").to_string();
        // The core's problem id, signed into the button.
        let problem = context["problem"].as_str().unwrap_or("");
        assert!(
            problem.parse::<u64>().is_ok_and(|id| id > 0),
            "the button carries nagios4's problem id: {context:?}"
        );
        let callback = kit::callback(CLICKER, context.clone());
        used.push((kind.clone(), problem.to_string(), callback.clone()));
        let (status, reply) = serve.post(&serde_json::to_vec(&callback).unwrap());
        assert_eq!(status, 200, "{reply}");
        let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert!(
            reply["update"]["props"]["attachments"][0]["text"]
                .as_str()
                .unwrap_or("")
                .starts_with(&format!("Acknowledged by @{CLICKER} at ")),
            "{reply}"
        );
        clicked.push(kind);
    }
    clicked.sort();
    assert_eq!(clicked, ["host", "service"], "posts: {posts:?}");

    // nagios4 reads the pipe and writes status.dat every second.
    let status = dir.join("status.dat");
    let deadline = Instant::now() + Duration::from_secs(60);
    let comment = format!("Acknowledged via Mattermost by @{CLICKER}");
    loop {
        let blocks = status_blocks(&status);
        let host = find(
            &blocks,
            "hoststatus",
            &[
                ("host_name", "db-down"),
                ("problem_has_been_acknowledged", "1"),
            ],
        );
        let svc = find(
            &blocks,
            "servicestatus",
            &[
                ("host_name", "web-up"),
                ("service_description", "HTTP shop"),
                ("problem_has_been_acknowledged", "1"),
            ],
        );
        let host_comment = find(
            &blocks,
            "hostcomment",
            &[
                ("host_name", "db-down"),
                ("author", CLICKER),
                ("comment_data", &comment),
            ],
        );
        let svc_comment = find(
            &blocks,
            "servicecomment",
            &[
                ("host_name", "web-up"),
                ("service_description", "HTTP shop"),
                ("author", CLICKER),
                ("comment_data", &comment),
            ],
        );
        if let (Some(h), Some(s), Some(_), Some(_)) = (host, svc, host_comment, svc_comment) {
            // Sticky (2), as the command line asked.
            assert_eq!(h.get("acknowledgement_type").map(String::as_str), Some("2"));
            assert_eq!(s.get("acknowledgement_type").map(String::as_str), Some("2"));
            // Each button was tied to the problem nagios4 is tracking.
            for (kind, problem, _) in &used {
                let block = if kind == "host" { h } else { s };
                assert_eq!(
                    block.get("current_problem_id").map(String::as_str),
                    Some(problem.as_str()),
                    "{kind} button's problem id is nagios4's current one"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "status.dat never showed both acknowledgements by {CLICKER}\nnagios.log:\n{}\nserve:\n{}",
            nagios_log(dir),
            serve.stderr()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // A button that acknowledged cannot be used again.
    for (kind, _, callback) in &used {
        let (status, reply) = serve.post(&serde_json::to_vec(callback).unwrap());
        assert_eq!(status, 200, "{reply}");
        assert!(
            reply.contains("cannot be used again") && !reply.contains("\"update\""),
            "second click of the {kind} button: {reply}"
        );
    }
    let log = nagios_log(dir);
    assert!(
        log.contains(&format!(
            "EXTERNAL COMMAND: ACKNOWLEDGE_HOST_PROBLEM;db-down;2;0;1;{CLICKER};"
        )),
        "{log}"
    );
    assert_eq!(
        log.matches("EXTERNAL COMMAND: ACKNOWLEDGE_").count(),
        2,
        "one acknowledgement per button: {log}"
    );
    assert!(
        log.contains(&format!(
            "EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web-up;HTTP shop;2;0;1;{CLICKER};"
        )),
        "{log}"
    );
}

/// The every-action test's objects: host db-down DOWN with an OK service pg;
/// host web-up with three CRITICAL services, cron checked only hourly.
const EVERY_ACTION: &str = r#"
define host {
    use fast-host
    host_name db-down
    address 192.0.2.10
    check_command check_down
}
define service {
    use fast-service
    host_name db-down
    service_description pg
    check_command check_up
}
define host {
    use fast-host
    host_name web-up
    address 192.0.2.20
    check_command check_up
}
define service {
    use fast-service
    host_name web-up
    service_description HTTP shop
    check_command check_critical
}
define service {
    use fast-service
    host_name web-up
    service_description disk
    check_command check_critical
}
define service {
    use fast-service
    host_name web-up
    service_description cron
    check_command check_critical
    check_interval 3600
    retry_interval 3600
}
"#;

type Ctx = serde_json::Map<String, serde_json::Value>;
type Block = HashMap<String, String>;

/// The buttons of each problem post, keyed by "host" or "host/service":
/// (action id, signed context) in the post's order.
fn buttons(posts: &[support::Recorded]) -> HashMap<String, Vec<(String, Ctx)>> {
    let mut out = HashMap::new();
    for post in posts {
        let v = post.json();
        let Some(actions) = v["attachments"][0]["actions"].as_array() else {
            continue;
        };
        let list: Vec<(String, Ctx)> = actions
            .iter()
            .map(|a| {
                let ctx = a["integration"]["context"].as_object().unwrap().clone();
                (a["id"].as_str().unwrap().to_string(), ctx)
            })
            .collect();
        let Some((_, c)) = list.first() else { continue };
        let key = match c["service"].as_str().unwrap_or("") {
            "" => c["host"].as_str().unwrap().to_string(),
            svc => format!("{}/{svc}", c["host"].as_str().unwrap()),
        };
        out.insert(key, list);
    }
    out
}

fn button(all: &HashMap<String, Vec<(String, Ctx)>>, target: &str, id: &str) -> Ctx {
    all[target]
        .iter()
        .find(|(a, _)| a == id)
        .unwrap_or_else(|| panic!("no {id} button on {target}'s post: {:?}", all[target]))
        .1
        .clone()
}

fn num(block: &Block, key: &str) -> u64 {
    block
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} in {block:?}"))
}

fn svc<'a>(
    blocks: &'a [(String, Block)],
    kind: &str,
    host: &str,
    service: &str,
    more: &[(&str, &str)],
) -> Option<&'a Block> {
    let mut want = vec![("host_name", host), ("service_description", service)];
    want.extend_from_slice(more);
    find(blocks, kind, &want)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Every action through `serve` and the command pipe, each seen in
/// nagios4's status.dat: Ack (sticky, by the clicker), Unack (from the
/// updated post), Comment through a dialog submission (the cleaned comment,
/// not sticky, notifying: nagios4 then sends the ACKNOWLEDGEMENT), a replay
/// of it refused, a one-hour service downtime, a host downtime with its
/// services, and a recheck of a service checked only hourly.
#[test]
fn nagios4_carries_out_every_action_as_status_dat_shows() {
    let Some(rig) = Rig::start(EVERY_ACTION, Some("ack,comment,downtime,recheck")) else {
        return;
    };
    let (serve, dialogs) = (&rig.serve, &rig.dialogs);
    // The four problem posts: db-down, and web-up's HTTP shop, disk, cron.
    let posts = rig
        .mattermost
        .wait_for_requests(4, Duration::from_secs(120));
    let all = buttons(&posts);
    let mut targets: Vec<&str> = all.keys().map(String::as_str).collect();
    targets.sort();
    assert_eq!(
        targets,
        ["db-down", "web-up/HTTP shop", "web-up/cron", "web-up/disk"],
        "nagios.log:\n{}",
        nagios_log(&rig.dir)
    );
    for (target, list) in &all {
        let ids: Vec<&str> = list.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(ids, ["ack", "comment", "downtime"], "{target}");
    }
    let shop = "HTTP shop";

    // Ack: one click, sticky (2), the default comment by the clicker.
    let body = kit::click_as(
        serve,
        dialogs,
        CLICKER,
        button(&all, "web-up/HTTP shop", "ack"),
    );
    assert_eq!(
        kit::ephemeral(&body),
        "You acknowledged HTTP shop on web-up."
    );
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    let update = &reply["update"]["props"]["attachments"][0]["actions"];
    assert_eq!(update[0]["id"], "unack", "{reply}");
    let unack = update[0]["integration"]["context"]
        .as_object()
        .unwrap()
        .clone();
    let default_comment = format!("Acknowledged via Mattermost by @{CLICKER}");
    let acked = rig.wait_status("HTTP shop acknowledged by the clicker", |b| {
        let s = svc(
            b,
            "servicestatus",
            "web-up",
            shop,
            &[("problem_has_been_acknowledged", "1")],
        )?;
        svc(
            b,
            "servicecomment",
            "web-up",
            shop,
            &[("author", CLICKER), ("comment_data", &default_comment)],
        )?;
        Some(s.clone())
    });
    assert_eq!(acked["acknowledgement_type"], "2", "sticky: {acked:?}");

    // Unack: the updated post's button.
    let body = kit::click_as(serve, dialogs, CLICKER, unack);
    assert_eq!(
        kit::ephemeral(&body),
        "You removed the acknowledgement of HTTP shop on web-up."
    );
    let unacked = rig.wait_status("HTTP shop no longer acknowledged", |b| {
        svc(
            b,
            "servicestatus",
            "web-up",
            shop,
            &[("problem_has_been_acknowledged", "0")],
        )
        .cloned()
    });
    // Still the same CRITICAL problem: the removal, not a recovery, ended the
    // acknowledgement. (nagios4 4.4 leaves acknowledgement_type as it was.)
    assert_eq!(unacked["current_state"], "2", "{unacked:?}");
    assert_eq!(
        unacked["current_problem_id"], acked["current_problem_id"],
        "{unacked:?}"
    );

    // Comment: the dialog, then its submission as Mattermost posts it. CR,
    // LF and NUL become blanks: the injected line stays part of the comment.
    let state = kit::open_dialog_as(
        serve,
        dialogs,
        CLICKER,
        button(&all, "web-up/HTTP shop", "comment"),
    );
    let sub = kit::submission(
        &state,
        serde_json::json!({
            "comment": "disk swapped\r\n[1] REMOVE_SVC_ACKNOWLEDGEMENT;web-up;HTTP shop\u{0}; see INC-7",
            "sticky": false,
            "notify": true,
        }),
    );
    let (status, body) = serve.submit(&sub);
    assert_eq!((status, body.as_str()), (200, "{}"), "{}", serve.stderr());
    let cleaned = "disk swapped  [1] REMOVE_SVC_ACKNOWLEDGEMENT;web-up;HTTP shop ; see INC-7";
    let commented = rig.wait_status("HTTP shop acknowledged with the dialog's comment", |b| {
        let s = svc(
            b,
            "servicestatus",
            "web-up",
            shop,
            &[("problem_has_been_acknowledged", "1")],
        )?;
        svc(
            b,
            "servicecomment",
            "web-up",
            shop,
            &[("author", CLICKER), ("comment_data", cleaned)],
        )?;
        Some(s.clone())
    });
    assert_eq!(
        commented["acknowledgement_type"], "1",
        "not sticky: {commented:?}"
    );
    // Notify was ticked: nagios4 notifies the contacts of the acknowledgement.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !nagios_log(&rig.dir).contains(&format!(
        "SERVICE NOTIFICATION: mattermost;web-up;{shop};ACKNOWLEDGEMENT (CRITICAL)"
    )) {
        assert!(
            Instant::now() < deadline,
            "no ACKNOWLEDGEMENT notification:\n{}",
            nagios_log(&rig.dir)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Replayed: refused in the dialog, nothing more reaches nagios4.
    let (status, body) = serve.submit(&sub);
    assert_eq!(status, 200);
    assert!(body.contains("cannot be used again"), "{body}");

    // Downtime for a service: one hour from now, fixed, by the clicker.
    let state = kit::open_dialog_as(
        serve,
        dialogs,
        CLICKER,
        button(&all, "web-up/disk", "downtime"),
    );
    let t0 = unix_now();
    let (status, body) = serve.submit(&kit::submission(
        &state,
        serde_json::json!({"preset": "1h", "comment": "patching"}),
    ));
    assert_eq!((status, body.as_str()), (200, "{}"), "{}", serve.stderr());
    let d = rig.wait_status("a downtime of web-up/disk", |b| {
        svc(
            b,
            "servicestatus",
            "web-up",
            "disk",
            &[("scheduled_downtime_depth", "1")],
        )?;
        svc(b, "servicedowntime", "web-up", "disk", &[]).cloned()
    });
    assert_eq!(d["author"], CLICKER, "{d:?}");
    assert_eq!(d["comment"], "patching", "{d:?}");
    assert_eq!(d["fixed"], "1", "{d:?}");
    assert_eq!(num(&d, "duration"), 3600, "{d:?}");
    assert_eq!(num(&d, "end_time") - num(&d, "start_time"), 3600, "{d:?}");
    assert!(num(&d, "start_time").abs_diff(t0) <= 5, "{d:?} t0 {t0}");

    // Downtime for a host with its services: four hours, the default comment.
    let state = kit::open_dialog_as(serve, dialogs, CLICKER, button(&all, "db-down", "downtime"));
    let (status, body) = serve.submit(&kit::submission(
        &state,
        serde_json::json!({"preset": "4h", "comment": "", "services": true}),
    ));
    assert_eq!((status, body.as_str()), (200, "{}"), "{}", serve.stderr());
    let comment = format!("Downtime via Mattermost by @{CLICKER}");
    let (h, s) = rig.wait_status("downtimes of db-down and its service pg", |b| {
        find(
            b,
            "hoststatus",
            &[("host_name", "db-down"), ("scheduled_downtime_depth", "1")],
        )?;
        svc(
            b,
            "servicestatus",
            "db-down",
            "pg",
            &[("scheduled_downtime_depth", "1")],
        )?;
        let h = find(b, "hostdowntime", &[("host_name", "db-down")])?;
        let s = svc(b, "servicedowntime", "db-down", "pg", &[])?;
        Some((h.clone(), s.clone()))
    });
    for d in [&h, &s] {
        assert_eq!(d["author"], CLICKER, "{d:?}");
        assert_eq!(d["comment"], comment, "{d:?}");
        assert_eq!(d["fixed"], "1", "{d:?}");
        assert_eq!(num(d, "duration"), 4 * 3600, "{d:?}");
    }

    // Recheck: cron is checked hourly, so a check now is the recheck's. The
    // button is the one a post listing recheck first carries.
    let before = rig.wait_status("cron checked once", |b| {
        svc(b, "servicestatus", "web-up", "cron", &[])
            .filter(|s| num(s, "last_check") > 0)
            .cloned()
    });
    let t0 = unix_now();
    assert!(
        num(&before, "next_check") > t0 + 600,
        "cron's next check is far: {before:?}"
    );
    let recheck = kit::with_action(button(&all, "web-up/cron", "ack"), "recheck");
    let body = kit::click_as(serve, dialogs, CLICKER, recheck);
    assert!(
        kit::ephemeral(&body).starts_with("You asked for a recheck of cron on web-up"),
        "{body}"
    );
    let after = rig.wait_status("cron checked after the click", |b| {
        svc(b, "servicestatus", "web-up", "cron", &[])
            .filter(|s| {
                num(s, "last_check") > num(&before, "last_check") && num(s, "last_check") >= t0
            })
            .cloned()
    });
    assert!(
        num(&after, "next_check") > t0 + 600,
        "back to hourly: {after:?}"
    );

    // Each click became exactly its command, and nothing else was injected.
    let log = nagios_log(&rig.dir);
    let commands: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("EXTERNAL COMMAND: ").map(|(_, c)| c))
        .map(|c| c.split(';').next().unwrap_or(""))
        .collect();
    assert_eq!(
        commands,
        [
            "ACKNOWLEDGE_SVC_PROBLEM",
            "REMOVE_SVC_ACKNOWLEDGEMENT",
            "ACKNOWLEDGE_SVC_PROBLEM",
            "SCHEDULE_SVC_DOWNTIME",
            "SCHEDULE_HOST_DOWNTIME",
            "SCHEDULE_HOST_SVC_DOWNTIME",
            "SCHEDULE_FORCED_SVC_CHECK",
        ],
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web-up;{shop};0;1;1;{CLICKER};{cleaned}"
        )),
        "{log}"
    );
}
