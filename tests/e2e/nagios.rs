//! Proof with a real core: Debian's nagios4 runs from a temporary directory
//! with a failing host and a failing service; its notification commands are
//! our binary (`notify --two-way`) posting to the loopback Mattermost
//! stand-in over HTTPS. The test plays Mattermost: it takes each post's
//! Acknowledge button (URL and signed context) and sends `serve` the
//! callback a click produces. nagios4's `status.dat` must then show both
//! problems acknowledged, sticky, by the Mattermost user.

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

/// Writes nagios.cfg and the objects; returns the nagios.cfg path.
fn configure(dir: &TempDir, notify_conf: &Path) -> String {
    let d = dir.path().display().to_string();
    std::fs::create_dir_all(dir.join("rw")).unwrap();
    std::fs::create_dir_all(dir.join("spool")).unwrap();
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
    let mut bin = support::bin().display().to_string();
    if let Some(runner) = std::env::var_os("MATTERMOST_NOTIFY_RUNNER").filter(|r| !r.is_empty()) {
        bin = format!("{} {bin}", runner.to_string_lossy());
    }
    let notify = format!(
        "/usr/bin/env MATTERMOST_CONFIG={} {bin} notify --two-way",
        notify_conf.display()
    );
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
    check_command check_critical
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

#[test]
fn nagios4_problems_are_acknowledged_by_a_mattermost_click() {
    let Some(nagios4) = support::require_tool(&["/usr/sbin/nagios4"]) else {
        return;
    };
    let dir = TempDir::new();
    let pki = TestPki::new();
    let mattermost = MattermostStandIn::https(&pki);
    // notify (run by nagios4) and serve share the node's state directory.
    let state = dir.join("state");
    let serve = kit::Serve::start(kit::Options {
        command_file: Some(&dir.join("rw/nagios.cmd")),
        oitc_url: None,
        env: vec![("MATTERMOST_STATE_DIR", state.display().to_string())],
        tls: None,
        listen: None,
    });
    let ack_url = format!("http://127.0.0.1:{}{}", serve.port, kit::ACK_PATH);
    let notify_conf = dir.write(
        "mattermost-notify.conf",
        format!(
            "MATTERMOST_WEBHOOK_URL={}\nMATTERMOST_CA_FILE={}\nMATTERMOST_TWO_WAY=1\n\
             MATTERMOST_ACK_URL={ack_url}\nMATTERMOST_ACK_SECRET_FILE={}\nMATTERMOST_SYSLOG=0\n\
             MATTERMOST_SPOOL_DIR={}\nMATTERMOST_STATE_DIR={}\n",
            mattermost.url_with_host("localhost"),
            pki.ca_file.display(),
            serve.secret_file.display(),
            dir.join("spool").display(),
            state.display()
        ),
    );
    let cfg = configure(&dir, &notify_conf);
    let verify = Command::new(&nagios4).args(["-v", &cfg]).output().unwrap();
    assert!(
        verify.status.success(),
        "nagios4 -v rejects the test config:\n{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let _nagios = Nagios(
        Command::new(&nagios4)
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nagios4"),
    );

    // The two PROBLEM posts, each with a button.
    let posts = mattermost.wait_for_requests(2, Duration::from_secs(120));
    assert!(
        posts.len() >= 2,
        "expected 2 posts, got {}\nnagios.log:\n{}",
        posts.len(),
        nagios_log(&dir)
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
            nagios_log(&dir),
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
    let log = nagios_log(&dir);
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
