//! The README's own definitions, run by real cores.
//!
//! Admins copy the README's command, contact and notification definitions
//! into their cores, so CI runs exactly those: every fenced block that
//! starts with a file-name comment (`# /etc/nagios4/conf.d/mattermost.cfg`,
//! `// /etc/icinga2/conf.d/mattermost.conf`) is taken out of `README.md`
//! and loaded, changing only paths (the binary, `/etc/mattermost-notify/`),
//! into Debian's `nagios4` and `icinga2` running from a temporary
//! directory. What the README leaves to the core's stock configuration
//! (check commands, templates) the test supplies, with plugins whose
//! output is full of shell metacharacters, backtick runs and mentions: the
//! posts must carry that output exactly, mentions defused, nothing of it
//! executed. A README edit that breaks a definition, or drops one, fails
//! here.
//!
//! With `MATTERMOST_NOTIFY_BIN=/usr/bin/mattermost-notify` (CI, after
//! installing the package) the README's binary path is used as it stands.

use crate::nagios::{self, Nagios};
use crate::serve::kit;
use crate::support::{self, MattermostStandIn, Recorded, TempDir, TestPki};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const README: &str = include_str!("../../README.md");

/// The Mattermost user who clicks.
const CLICKER: &str = "mm.readme";

/// Every fenced code block of `text`, without its fences; indented blocks
/// (in lists) lose their indentation.
pub fn fenced_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, Vec<String>)> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        match &mut open {
            None if trimmed.starts_with("```") => {
                let fence: String = trimmed.chars().take_while(|c| *c == '`').collect();
                open = Some((indent, fence, Vec::new()));
            }
            None => {}
            Some((_, fence, lines)) if trimmed.trim_end() == fence.as_str() => {
                blocks.push(lines.join("\n") + "\n");
                open = None;
            }
            Some((indent, _, lines)) => {
                let cut = line
                    .char_indices()
                    .take_while(|(i, c)| *i < *indent && *c == ' ')
                    .count();
                lines.push(line[cut..].to_string());
            }
        }
    }
    blocks
}

/// The README block that starts with a comment naming `file`
/// (`# file` or `// file`, optionally followed by a remark).
pub fn readme_block(file: &str) -> String {
    let named = |first: &str| {
        [format!("# {file}"), format!("// {file}")]
            .iter()
            .any(|c| first == c || first.starts_with(&format!("{c} ")))
    };
    let found: Vec<String> = fenced_blocks(README)
        .into_iter()
        .filter(|b| named(b.lines().next().unwrap_or("")))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "README.md must have exactly one code block starting with `# {file}` \
         (tests/e2e/readme.rs runs it in a real core)"
    );
    found.into_iter().next().unwrap()
}

/// The README block that contains `needle`.
fn readme_block_with(needle: &str) -> String {
    fenced_blocks(README)
        .into_iter()
        .find(|b| b.contains(needle))
        .unwrap_or_else(|| panic!("README.md has no code block with {needle:?}"))
}

/// Where the README's paths go in a test.
struct Paths<'a> {
    /// Replaces `/etc/mattermost-notify/`.
    etc: &'a Path,
}

/// `text` with the README's paths replaced, nothing else: the binary, and
/// the `/etc/mattermost-notify` directory (not `/etc/mattermost-notify.conf`).
fn localize(text: &str, paths: &Paths<'_>) -> String {
    const ETC: &str = "/etc/mattermost-notify";
    let bin = support::bin().display().to_string();
    let text = text.replace("/usr/bin/mattermost-notify", &bin);
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(ETC) {
        let after = &rest[at + ETC.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with('.') {
            out.push_str(ETC);
        } else {
            out.push_str(&paths.etc.display().to_string());
        }
        rest = after;
    }
    out + rest
}

/// A plugin's output, line by line, with what a post must show of it.
struct Hostile {
    /// The plugin prints this (a `|` starts the performance data, which
    /// the core keeps out of the output).
    printed: String,
    /// `$SERVICEOUTPUT$` / `$HOSTOUTPUT$`: the first line before the `|`.
    output: String,
    /// The long output (the lines after the first).
    long_output: String,
}

/// Plugin output that would run commands if a shell saw it (each would
/// create a `pwned-*` file in `dir`), with backtick runs and mentions.
fn hostile_output(dir: &Path, what: &str) -> Hostile {
    let d = dir.display();
    let output = format!(
        "{what} - <!channel> @all @here ```` run $(touch {d}/pwned-1) `touch {d}/pwned-2` ; \
         touch {d}/pwned-3 ; \"dq\" 'sq' a && b $5 ${{HOME}} <b>x</b> ~user"
    );
    let long_output = format!("long: ``` @channel $(touch {d}/pwned-4) >{d}/pwned-5");
    Hostile {
        printed: format!("{output} | perf=1;touch {d}/pwned-6\n{long_output}\n"),
        output,
        long_output,
    }
}

/// A plugin printing `h` and exiting with `code`; the heredoc keeps the
/// shell running the plugin away from its text.
fn plugin(dir: &TempDir, name: &str, h: &Hostile, code: u8) -> String {
    nagios::write_script(
        dir,
        name,
        &format!(
            "cat <<'PLUGIN_OUTPUT'\n{}PLUGIN_OUTPUT\nexit {code}",
            h.printed
        ),
    )
}

impl Hostile {
    /// What Nagios 4 makes of it: it turns every `;` of plugin output into
    /// `:` (its field separator in logs and external commands) before any
    /// notification sees it.
    fn as_nagios_keeps_it(&self) -> Hostile {
        Hostile {
            printed: self.printed.clone(),
            output: self.output.replace(';', ":"),
            long_output: self.long_output.replace(';', ":"),
        }
    }
}

impl Hostile {
    /// What Icinga 2 makes of it: `$service.output$` is the whole text but
    /// the performance data (the space before the `|` kept), long output
    /// included; there is no separate long-output macro.
    fn as_icinga2_keeps_it(&self) -> Hostile {
        Hostile {
            printed: self.printed.clone(),
            output: format!("{} \n{}", self.output, self.long_output),
            long_output: String::new(),
        }
    }
}

/// No plugin text ran: none of the `pwned-*` files exists.
fn assert_nothing_ran(dir: &Path) {
    let ran: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pwned-"))
        .collect();
    assert!(ran.is_empty(), "plugin output was executed: {ran:?}");
}

/// The post shows the output exactly in its code block, and nowhere
/// outside code can a mention reach anyone.
fn assert_intact_and_defused(post: &Recorded, h: &Hostile) {
    let v = post.json();
    let a = &v["attachments"][0];
    let text = a["text"].as_str().unwrap_or_default();
    let fence = "`````"; // longer than the output's run of four
    let mut want = format!("{fence}\n{}\n", h.output);
    if !h.long_output.is_empty() {
        want.push_str(&format!("{}\n", h.long_output));
    }
    want.push_str(fence);
    assert_eq!(text, want, "the code block holds the output as printed");
    let fallback = a["fallback"].as_str().unwrap_or_default();
    assert!(
        fallback.contains("<\u{2060}!channel> @\u{2060}all @\u{2060}here"),
        "mentions outside code are defused: {fallback:?}"
    );
    for outside in [&v["text"], &a["fallback"], &a["title"], &a["fields"]] {
        let s = outside.to_string();
        for mention in ["@all", "@here", "@channel", "<!channel>"] {
            assert!(!s.contains(mention), "{mention} outside code: {s}");
        }
    }
}

/// An acknowledgement comment as someone with acknowledge rights could
/// type it in the web UI (in the argument form it would go through the
/// shell, or be stripped by `illegal_macro_output_chars`). It holds what
/// plugin output cannot: a `|` and a `;`.
fn hostile_comment(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "on it <!channel> @all; $(touch {d}/pwned-7) `touch {d}/pwned-8` | tee {d}/pwned-9 \
         && echo \"q\" 'q' ```"
    )
}

/// Acknowledges `host` (and `service`) with `comment`, notifying, as a
/// person would in the web UI: one line into the core's command pipe.
fn acknowledge_with_comment(pipe: &Path, host: &str, service: &str, comment: &str) {
    use std::io::Write;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let line =
        format!("[{now}] ACKNOWLEDGE_SVC_PROBLEM;{host};{service};1;1;1;mm.admin;{comment}\n");
    let mut fifo = std::fs::OpenOptions::new().write(true).open(pipe).unwrap();
    fifo.write_all(line.as_bytes()).unwrap();
}

/// The ACKNOWLEDGEMENT post of `service` shows the comment exactly, mentions
/// defused (a field is outside code), and its author.
fn assert_comment_intact(posts: &[Recorded], service: &str, comment: &str) {
    let ack = posts_where(posts, |v| {
        title(v).contains("Acknowledgement for service") && title(v).contains(service)
    });
    let v = ack
        .first()
        .unwrap_or_else(|| panic!("no acknowledgement post for {service}: {posts:?}"))
        .json();
    let field = |name: &str| {
        v["attachments"][0]["fields"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["title"] == name))
            .map(|f| f["value"].as_str().unwrap_or_default().to_string())
    };
    let defused = comment.replace('@', "@\u{2060}").replace('<', "<\u{2060}");
    assert_eq!(field("Comment").as_deref(), Some(defused.as_str()), "{v}");
    assert_eq!(field("Author").as_deref(), Some("mm.admin"), "{v}");
}

/// The posts for which `pick` holds.
fn posts_where(posts: &[Recorded], pick: impl Fn(&serde_json::Value) -> bool) -> Vec<Recorded> {
    posts.iter().filter(|p| pick(&p.json())).cloned().collect()
}

fn title(v: &serde_json::Value) -> String {
    v["attachments"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The README's Nagios definitions (commands, contact, 24x7, the web1 host
/// and service, the team routing) in Debian's nagios4, with Debian's stock
/// `illegal_macro_output_chars` set: a service and a host go CRITICAL and
/// DOWN with hostile output; the posts carry it intact and defused, the
/// main contact's posts (two-way) carry buttons with nagios4's problem
/// ids, whose clicks acknowledge both problems; the database team's
/// contact posts one-way to its channel through its own config file.
#[test]
fn readme_nagios_definitions_deliver_hostile_output_and_acknowledge() {
    let Some(nagios4) = support::require_tool(&["/usr/sbin/nagios4"]) else {
        return;
    };
    let dir = TempDir::new();
    let d = dir.path().display().to_string();
    let pki = TestPki::new();
    let mattermost = MattermostStandIn::https(&pki);
    let state = dir.join("mm-spool");
    let serve = kit::Serve::start(kit::Options {
        command_file: Some(&dir.join("rw/nagios.cmd")),
        oitc_url: None,
        env: vec![("MATTERMOST_STATE_DIR", state.display().to_string())],
        tls: None,
        listen: None,
    });
    let ack_url = format!("http://127.0.0.1:{}{}", serve.port, kit::ACK_PATH);
    let delivery = format!(
        "MATTERMOST_WEBHOOK_URL={}\nMATTERMOST_CA_FILE={}\nMATTERMOST_SYSLOG=0\n\
         MATTERMOST_SPOOL_DIR={}\n",
        mattermost.url_with_host("localhost"),
        pki.ca_file.display(),
        state.display(),
    );
    let main_conf = dir.write(
        "mattermost-notify.conf",
        format!(
            "{delivery}MATTERMOST_TWO_WAY=1\nMATTERMOST_ACK_URL={ack_url}\n\
             MATTERMOST_ACK_SECRET_FILE={}\n",
            serve.secret_file.display()
        ),
    );
    let etc = dir.join("etc/mattermost-notify");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("db.conf"),
        format!("{delivery}MATTERMOST_CHANNEL=db-alerts\n"),
    )
    .unwrap();
    let paths = Paths { etc: &etc };

    // What Debian's nagios4 and monitoring-plugins define, as plugins
    // that fail with hostile output (web1 itself stays UP: Nagios holds
    // back service notifications while a host is down).
    let http = hostile_output(dir.path(), "CRITICAL");
    let down = hostile_output(dir.path(), "DOWN");
    let check_http = plugin(&dir, "check_http", &http, 2);
    let check_down = plugin(&dir, "check_down", &down, 2);
    let (http, down) = (http.as_nagios_keeps_it(), down.as_nagios_keeps_it());
    let check_up = nagios::write_script(&dir, "check_up", "echo 'PING OK'\nexit 0");
    let host_check = nagios::write_script(
        &dir,
        "check_host",
        &format!("case \"$1\" in 192.0.2.66) exec {check_down} ;; *) exec {check_up} ;; esac"),
    );
    dir.write(
        "stock.cfg",
        format!(
            "define command {{\n    command_name check-host-alive\n    command_line {host_check} $HOSTADDRESS$\n}}\n\
             define command {{\n    command_name check_http\n    command_line {check_http}\n}}\n\
             define service {{\n    host_name web1\n    service_description Disk\n\
             \x20   check_command check_http\n    max_check_attempts 1\n    check_interval 5\n\
             \x20   check_period 24x7\n    notification_period 24x7\n    notification_interval 0\n\
             \x20   notification_options w,u,c,r\n    contacts mattermost\n}}\n\
             define host {{\n    host_name db1\n    alias Database 1\n    address 192.0.2.66\n\
             \x20   check_command check-host-alive\n    max_check_attempts 1\n    check_interval 5\n\
             \x20   check_period 24x7\n    notification_period 24x7\n    notification_interval 0\n\
             \x20   notification_options d,u,r\n    contacts mattermost,mattermost-db\n}}\n"
        ),
    );
    let readme_files = [
        "/etc/nagios4/conf.d/timeperiod-24x7.cfg",
        "/etc/nagios4/conf.d/mattermost.cfg",
        "/etc/nagios4/conf.d/mattermost-teams.cfg",
        "/etc/nagios4/conf.d/web1.cfg",
    ];
    let mut cfg_files = vec![format!("{d}/stock.cfg")];
    for (i, file) in readme_files.iter().enumerate() {
        let name = format!("readme-{i}.cfg");
        dir.write(&name, localize(&readme_block(file), &paths));
        cfg_files.push(format!("{d}/{name}"));
    }
    std::fs::create_dir_all(dir.join("rw")).unwrap();
    std::fs::create_dir_all(dir.join("checkresults")).unwrap();
    let cfg = format!(
        "{objects}\nlog_file={d}/nagios.log
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
check_result_path={d}/checkresults
state_retention_file={d}/retention.dat
retain_state_information=0
use_retained_program_state=0
use_retained_scheduling_info=0
interval_length=1
use_syslog=0
log_notifications=1
log_external_commands=1
enable_notifications=1
service_inter_check_delay_method=n
host_inter_check_delay_method=n
check_result_reaper_frequency=1
enable_flap_detection=0
check_for_updates=0
bare_update_check=1
log_rotation_method=n
daemon_dumps_core=0
# Debian's stock setting: it keeps the shell from running plugin text in
# the argument form, and does not touch the environment macros.
illegal_macro_output_chars=`~$&|'\"<>
# From the README:
{readme_cfg}",
        objects = cfg_files
            .iter()
            .map(|f| format!("cfg_file={f}"))
            .collect::<Vec<_>>()
            .join("\n"),
        user = nagios::nagios_user(),
        group = nagios::nagios_group(),
        readme_cfg = readme_block("/etc/nagios4/nagios.cfg"),
    );
    let cfg = dir.write("nagios.cfg", cfg).display().to_string();
    let verify = Command::new(&nagios4).args(["-v", &cfg]).output().unwrap();
    assert!(
        verify.status.success(),
        "nagios4 -v rejects the README's definitions:\n{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let _nagios = Nagios(
        Command::new(&nagios4)
            .arg(&cfg)
            // The README's commands read the default config file; here it
            // is the test's (the team's command names its own).
            .env("MATTERMOST_CONFIG", &main_conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nagios4"),
    );

    // The service and host PROBLEMs through the main contact, and the
    // host's through the database team's.
    let deadline = Instant::now() + Duration::from_secs(120);
    let posts = loop {
        let posts = mattermost.requests();
        let service = posts_where(&posts, |v| title(v).contains("HTTP on web1"));
        let host = posts_where(&posts, |v| title(v).contains("db1 is Down"));
        let disk = posts_where(&posts, |v| title(v).contains("Disk on web1"));
        if !service.is_empty() && host.len() >= 2 && !disk.is_empty() {
            break posts;
        }
        assert!(
            Instant::now() < deadline,
            "expected a service post and two host posts, got {posts:?}\nnagios.log:\n{}",
            nagios::nagios_log(&dir)
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_nothing_ran(dir.path());
    let team = posts_where(&posts, |v| v["channel"] == "db-alerts");
    assert_eq!(team.len(), 1, "one post for the database team: {posts:?}");
    let team_post = team[0].json();
    assert!(title(&team_post).contains("db1 is Down"), "{team_post}");
    assert!(
        team_post["attachments"][0].get("actions").is_none(),
        "the team's config is one-way: {team_post}"
    );
    assert_intact_and_defused(&team[0], &down);

    // Disk is acknowledged in the core, with a hostile comment; the others
    // by clicks.
    let comment = hostile_comment(dir.path());
    acknowledge_with_comment(&dir.join("rw/nagios.cmd"), "web1", "Disk", &comment);
    let main = posts_where(&posts, |v| {
        v.get("channel").is_none() && !title(v).contains("Disk on web1")
    });
    let mut clicked = Vec::new();
    for post in &main {
        let v = post.json();
        let is_service = title(&v).contains("HTTP on web1");
        assert_intact_and_defused(post, if is_service { &http } else { &down });
        let action = &v["attachments"][0]["actions"][0];
        let context = action["integration"]["context"]
            .as_object()
            .unwrap_or_else(|| panic!("two-way: a button on {v}"))
            .clone();
        assert_eq!(action["integration"]["url"], ack_url.as_str());
        let problem = context["problem"].as_str().unwrap_or("").to_string();
        assert!(
            problem.parse::<u64>().is_ok_and(|id| id > 0),
            "nagios4's problem id from the environment: {context:?}"
        );
        let (status, reply) =
            serve.post(&serde_json::to_vec(&kit::callback(CLICKER, context.clone())).unwrap());
        assert_eq!(status, 200, "{reply}");
        assert!(reply.contains("\"update\""), "{reply}");
        clicked.push((is_service, problem));
    }
    clicked.sort();
    clicked.dedup_by(|a, b| a.0 == b.0);
    assert_eq!(clicked.len(), 2, "a host and a service button: {main:?}");

    let status = dir.join("status.dat");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let blocks = nagios::status_blocks(&status);
        let acked = [
            ("hoststatus", "db1", None),
            ("servicestatus", "web1", Some("HTTP")),
        ]
        .map(|(kind, host, service)| {
            let mut want = vec![("host_name", host), ("problem_has_been_acknowledged", "1")];
            want.extend(service.map(|s| ("service_description", s)));
            nagios::find(&blocks, kind, &want).cloned()
        });
        if let [Some(host), Some(service)] = acked {
            for (is_service, problem) in &clicked {
                let block = if *is_service { &service } else { &host };
                assert_eq!(
                    block.get("current_problem_id"),
                    Some(problem),
                    "the button named the problem nagios4 tracks"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "status.dat never showed both acknowledgements\nnagios.log:\n{}\nserve:\n{}",
            nagios::nagios_log(&dir),
            serve.stderr()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let log = nagios::nagios_log(&dir);
    assert!(
        log.contains(&format!(
            "EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web1;HTTP;2;0;1;{CLICKER};"
        )),
        "{log}"
    );
    let acked = wait_for_post(&mattermost, "Acknowledgement for service", "Disk");
    assert_comment_intact(&acked, "Disk", &comment);
    assert_nothing_ran(dir.path());
}

/// Waits (up to 60 s) for a post whose title holds both `a` and `b`;
/// returns every post so far.
fn wait_for_post(mattermost: &MattermostStandIn, a: &str, b: &str) -> Vec<Recorded> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let posts = mattermost.requests();
        if !posts_where(&posts, |v| title(v).contains(a) && title(v).contains(b)).is_empty() {
            return posts;
        }
        assert!(
            Instant::now() < deadline,
            "no post with {a:?} and {b:?}: {posts:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The README's Icinga 2 definitions (both NotificationCommands with their
/// `env` mapping, the User, both apply rules, the web1 host and service) in
/// Debian's icinga2: the service and a host go CRITICAL and DOWN with
/// hostile output, the posts carry it intact and defused (Icinga 2 has no
/// problem ids: the buttons carry the ones notify made up), and clicks
/// reach Icinga 2 through its external command pipe and acknowledge both.
#[test]
fn readme_icinga2_definitions_deliver_hostile_output_and_acknowledge() {
    if support::require_tool(&[support::icinga2::ICINGA2]).is_none() {
        return;
    }
    let dir = TempDir::new();
    let pki = TestPki::new();
    let mattermost = MattermostStandIn::https(&pki);
    let state = dir.join("mm-spool");
    let serve_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let ack_url = format!("http://127.0.0.1:{serve_port}{}", kit::ACK_PATH);
    // serve starts once the daemon's pipe exists; its secret is the kit's.
    let secret = dir.write("ack.secret", format!("{}\n", kit::SECRET));
    let conf = dir.write(
        "mattermost-notify.conf",
        format!(
            "MATTERMOST_WEBHOOK_URL={}\nMATTERMOST_CA_FILE={}\nMATTERMOST_SYSLOG=0\n\
             MATTERMOST_SPOOL_DIR={}\nMATTERMOST_TWO_WAY=1\nMATTERMOST_ACK_URL={ack_url}\n\
             MATTERMOST_ACK_SECRET_FILE={}\n",
            mattermost.url_with_host("localhost"),
            pki.ca_file.display(),
            state.display(),
            secret.display(),
        ),
    );
    let http = hostile_output(dir.path(), "CRITICAL");
    let down = hostile_output(dir.path(), "DOWN");
    let check_http = plugin(&dir, "check_http", &http, 2);
    let check_down = plugin(&dir, "check_down", &down, 2);
    let (http, down) = (http.as_icinga2_keeps_it(), down.as_icinga2_keeps_it());
    let check_up = nagios::write_script(&dir, "check_up", "echo 'PING OK'\nexit 0");
    let host_check = nagios::write_script(
        &dir,
        "check_host",
        &format!("case \"$1\" in 192.0.2.66) exec {check_down} ;; *) exec {check_up} ;; esac"),
    );
    let etc = dir.join("etc/mattermost-notify");
    let paths = Paths { etc: &etc };
    // What Debian's icinga2 has in conf.d and the ITL's plugins, with
    // plugins that fail with hostile output, plus a host that is DOWN.
    let stock = format!(
        r#"
object NotificationComponent "notification" {{ }}
object CheckCommand "hostalive" {{ command = [ {host_check:?}, "$address$" ] }}
object CheckCommand "http" {{ command = [ {check_http:?} ] }}
template Host "generic-host" {{
  check_command = "hostalive"
  max_check_attempts = 1
  check_interval = 1s
  retry_interval = 1s
}}
template Service "generic-service" {{
  max_check_attempts = 1
  check_interval = 1s
  retry_interval = 1s
}}
object Host "db1" {{
  import "generic-host"
  address = "192.0.2.66"
  vars.notification.mattermost = true
}}
object Service "Disk" {{
  import "generic-service"
  host_name = "web1"
  check_command = "http"
}}
"#
    );
    let objects = [
        stock,
        localize(&readme_block("/etc/icinga2/conf.d/mattermost.conf"), &paths),
        localize(&readme_block("/etc/icinga2/conf.d/web1.conf"), &paths),
    ]
    .join("\n");
    let Some(icinga) = support::icinga2::Icinga2::start_with_env(
        &objects,
        support::icinga2::README_PERMISSIONS,
        // The README's commands read the default config file; here the test's.
        &[("MATTERMOST_CONFIG", conf.display().to_string())],
    ) else {
        return;
    };
    let listen = format!("127.0.0.1:{serve_port}");
    let serve = kit::Serve::start(kit::Options {
        command_file: Some(&icinga.command_pipe),
        oitc_url: None,
        env: vec![("MATTERMOST_STATE_DIR", state.display().to_string())],
        tls: None,
        listen: Some(&listen),
    });

    let deadline = Instant::now() + Duration::from_secs(120);
    let (service, host) = loop {
        let posts = mattermost.requests();
        let service = posts_where(&posts, |v| title(v).contains("HTTP on web1"));
        let host = posts_where(&posts, |v| title(v).contains("db1 is Down"));
        let disk = posts_where(&posts, |v| title(v).contains("Disk on web1"));
        if let (Some(s), Some(h), false) = (service.first(), host.first(), disk.is_empty()) {
            break (s.clone(), h.clone());
        }
        assert!(
            Instant::now() < deadline,
            "expected a service and a host post, got {posts:?}\nicinga2:\n{}",
            icinga.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_nothing_ran(dir.path());
    assert_intact_and_defused(&service, &http);
    assert_intact_and_defused(&host, &down);
    for post in [&service, &host] {
        let v = post.json();
        let context = v["attachments"][0]["actions"][0]["integration"]["context"]
            .as_object()
            .unwrap_or_else(|| panic!("two-way: a button on {v}"))
            .clone();
        assert!(
            context["problem"].as_str().is_some_and(|p| !p.is_empty()),
            "notify made up a problem id: {context:?}"
        );
        let (status, reply) =
            serve.post(&serde_json::to_vec(&kit::callback(CLICKER, context)).unwrap());
        assert_eq!(status, 200, "{reply}");
        assert!(
            reply.contains("\"update\""),
            "{reply}\nserve:\n{}",
            serve.stderr()
        );
    }
    // Sticky (2), as the command line asks; the author is the clicker.
    icinga.wait_for("web1/HTTP and db1 acknowledged", |i| {
        i.service("web1", "HTTP")["acknowledgement"] == 2.0
            && i.host("db1")["acknowledgement"] == 2.0
    });
    let comment = hostile_comment(dir.path());
    acknowledge_with_comment(&icinga.command_pipe, "web1", "Disk", &comment);
    let acked = wait_for_post(&mattermost, "Acknowledgement for service", "Disk");
    assert_comment_intact(&acked, "Disk", &comment);
    let comments = icinga.objects("comments");
    for (host, service) in [("web1", "HTTP"), ("db1", "")] {
        assert!(
            comments.iter().any(|c| c["host_name"] == host
                && c["service_name"] == service
                && c["author"] == CLICKER),
            "an acknowledgement comment by {CLICKER} on {host}!{service}: {comments:?}"
        );
    }
    assert_nothing_ran(dir.path());
}

/// The README's two-way secret commands, run as root, give a secret the
/// notify user (`nagios`) can reach and read: its button is signed.
#[test]
fn readme_two_way_secret_is_readable_by_the_notify_user() {
    if !running_as_root() {
        support::skip_or_fail_under_ci("this test creates files for the user nagios: run as root");
        return;
    }
    if !user_exists("nagios") {
        support::skip_or_fail_under_ci(
            "this test needs the user nagios (.ci/run installs nagios4)",
        );
        return;
    }
    let dir = TempDir::new();
    // The test's own folders must not be what stops the user.
    support::set_mode(dir.path(), 0o755);
    let etc = dir.join("etc/mattermost-notify");
    let setup = localize(
        &readme_block_with("openssl rand -hex 32 > /etc/mattermost-notify/ack.secret"),
        &Paths { etc: &etc },
    );
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    support::set_mode(&dir.join("etc"), 0o755);
    let out = Command::new("sh").args(["-ec", &setup]).output().unwrap();
    assert!(
        out.status.success(),
        "{setup}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = etc.join("ack.secret");
    // A copy the user can run: the build tree may sit in a directory only
    // its owner can enter (a clone in `mktemp -d`).
    let bin = dir.join("mattermost-notify");
    std::fs::copy(support::bin(), &bin).unwrap();
    support::set_mode(&bin, 0o755);
    let out = Command::new("runuser")
        .args(["-u", "nagios", "--"])
        .arg(&bin)
        .args(support::SERVICE_PROBLEM)
        .args([
            "--dry-run",
            "--two-way",
            "--ack-url",
            "https://mon.example/ack",
        ])
        .arg("--ack-secret-file")
        .arg(&secret)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("MATTERMOST_CONFIG", "/dev/null")
        .env("MATTERMOST_SYSLOG", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("MATTERMOST_ACK_SECRET_FILE"),
        "the notify user cannot use the secret: {stderr}"
    );
    let post: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        post["attachments"][0]["actions"][0]["integration"]["context"]["sig"].is_string(),
        "{post}"
    );
    // And nobody else can read it.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o007, 0, "others can read the secret: {mode:o}");
}

/// The flush units the README shows are the files the package installs.
#[test]
fn readme_flush_units_are_the_shipped_files() {
    let contrib = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib");
    for unit in [
        "mattermost-notify-flush.service",
        "mattermost-notify-flush.timer",
    ] {
        let shipped = std::fs::read_to_string(contrib.join(unit)).unwrap();
        assert_eq!(
            readme_block(&format!("/lib/systemd/system/{unit}")),
            shipped,
            "README.md shows {unit} as cli/contrib/{unit} is"
        );
    }
    let serve = std::fs::read_to_string(contrib.join("mattermost-notify-serve.service")).unwrap();
    let exec = serve.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(
        exec.starts_with("ExecStart=/usr/bin/mattermost-notify "),
        "the serve unit starts the installed binary: {exec}"
    );
    assert!(
        README.contains(exec.trim_start_matches("ExecStart=")),
        "README.md shows the serve unit's command line: {exec}"
    );
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg(name)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn fenced_blocks_are_found_indented_and_by_name() {
    let text =
        "x\n```sh\n# /a/b.cfg\nline\n```\n\n1. item\n\n   ```\n   # /c\n     deeper\n   ```\n";
    assert_eq!(
        fenced_blocks(text),
        ["# /a/b.cfg\nline\n", "# /c\n  deeper\n"]
    );
}
