//! API mode end to end: the real binary against the stand-in's REST API.
//! One problem is one conversation (a root post with its button, compact
//! replies in its thread, the root edited to where the problem stands);
//! operations wait in the spool in order while Mattermost is away; each
//! refusal names the setting to fix; the token appears nowhere.

use crate::support::standin_rest::{StandinPost, BOT_TOKEN, CHANNEL, OTHER_CHANNEL_ID, TEAM};
use crate::support::{self, assert_exit, stderr, Behaviour, MattermostStandIn, TempDir};
use std::process::Output;
use std::time::Duration;

/// A node in API mode: its config, token file, spool and state directory.
pub struct Node {
    /// The directory everything is in.
    pub dir: TempDir,
    /// The config file.
    pub conf: std::path::PathBuf,
}

impl Node {
    /// API mode towards `mm`, with two-way buttons; `extra` config lines.
    pub fn new(mm: &MattermostStandIn, extra: &str) -> Node {
        let dir = TempDir::new();
        let token = dir.write("bot.token", format!("{BOT_TOKEN}\n"));
        let secret = dir.write("ack.secret", "0123456789abcdef0123456789abcdef0123\n");
        let conf = dir.write(
            "api.conf",
            format!(
                "MATTERMOST_URL={}\nMATTERMOST_BOT_TOKEN_FILE={}\nMATTERMOST_TEAM={TEAM}\n\
                 MATTERMOST_CHANNEL={CHANNEL}\nMATTERMOST_TWO_WAY=1\n\
                 MATTERMOST_ACK_URL=https://mon.example/mattermost/ack\n\
                 MATTERMOST_ACK_SECRET_FILE={}\nMATTERMOST_STATE_DIR={}\n{extra}",
                mm.api_url(),
                token.display(),
                secret.display(),
                dir.join("state").display()
            ),
        );
        Node { dir, conf }
    }

    /// Runs `notify` for web1/http with these type, state and problem ids.
    pub fn notify(&self, t: &str, state: &str, id: &str, last: &str, extra: &[&str]) -> Output {
        let mut cmd = support::command(&self.conf);
        cmd.args([
            "notify",
            "--type",
            "Service",
            "--notificationtype",
            t,
            "--hostuuid",
            "web1",
            "--serviceuuid",
            "http",
            "--state",
            state,
            "--problemid",
            id,
            "--lastproblemid",
            last,
            "--output",
        ]);
        cmd.arg(match state {
            "0" => "OK - fine",
            "1" => "WARNING - slow",
            _ => "CRITICAL - connection refused",
        });
        cmd.args(extra);
        let out = support::run(&mut cmd);
        assert_no_token(&out);
        out
    }

    /// Runs `flush`.
    pub fn flush(&self) -> Output {
        let out = support::run(support::command(&self.conf).arg("flush"));
        assert_no_token(&out);
        out
    }

    /// Spooled entries.
    pub fn spooled(&self) -> usize {
        std::fs::read_dir(self.dir.join("spool"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .count()
            })
            .unwrap_or(0)
    }
}

/// Panics if the bot token shows up in any output.
pub fn assert_no_token(out: &Output) {
    for bytes in [&out.stderr, &out.stdout] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(BOT_TOKEN), "the bot token leaked:\n{text}");
    }
}

/// The replies of `root`, in order.
pub fn thread(posts: &[StandinPost], root: &str) -> Vec<String> {
    posts
        .iter()
        .filter(|p| p.root_id == root)
        .map(|p| p.message.clone())
        .collect()
}

/// Roots (posts outside threads), in order.
pub fn roots(posts: &[StandinPost]) -> Vec<&StandinPost> {
    posts.iter().filter(|p| p.root_id.is_empty()).collect()
}

#[test]
fn one_problem_is_one_conversation() {
    let mm = MattermostStandIn::http();
    let node = Node::new(&mm, "");
    assert_exit(&node.notify("PROBLEM", "2", "10", "0", &[]), 0);
    let posts = mm.posts();
    assert_eq!(posts.len(), 1, "one root post");
    let root = &posts[0];
    assert_eq!(root.channel_id, crate::support::standin_rest::CHANNEL_ID);
    assert_eq!(root.attachment()["color"], "#d9534f");
    let context = &root.attachment()["actions"][0]["integration"]["context"];
    assert_eq!(
        context["problem"], "10",
        "the button is tied to the problem"
    );
    // The root's id is on the node's record.
    let records: Vec<_> = std::fs::read_dir(node.dir.join("state/problems"))
        .unwrap()
        .flatten()
        .collect();
    let record = std::fs::read_to_string(records[0].path()).unwrap();
    assert!(record.contains(&format!("post={}", root.id)), "{record}");

    // Re-notification, unchanged: one short reply, no edit.
    assert_exit(&node.notify("PROBLEM", "2", "10", "0", &[]), 0);
    // Worse: reply and edit.
    assert_exit(&node.notify("PROBLEM", "1", "10", "0", &[]), 0);
    assert_exit(
        &node.notify(
            "ACKNOWLEDGEMENT",
            "1",
            "10",
            "0",
            &["--ackauthor", "alice", "--ackcomment", "on it"],
        ),
        0,
    );
    assert_exit(&node.notify("RECOVERY", "0", "0", "10", &[]), 0);
    let posts = mm.posts();
    let replies = thread(&posts, &root.id);
    assert_eq!(replies.len(), 4, "{replies:#?}");
    assert!(
        replies[0].starts_with("**Still Critical** · CRITICAL"),
        "{}",
        replies[0]
    );
    assert!(replies[1].starts_with("**Now Warning**"), "{}", replies[1]);
    assert!(
        replies[2].contains("**Acknowledged** by alice · on it"),
        "{}",
        replies[2]
    );
    assert!(replies[3].contains("**Recovered** after"), "{}", replies[3]);
    let root = posts.iter().find(|p| p.id == root.id).unwrap();
    assert_eq!(
        root.history.len(),
        3,
        "edited for warning, ack and recovery"
    );
    let att = root.attachment();
    assert_eq!(att["color"], "#5cb85c", "green once recovered");
    assert!(att.get("actions").is_none(), "no button once recovered");
    let status = att["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["title"] == "Status")
        .unwrap();
    let status = status["value"].as_str().unwrap();
    assert!(
        status.contains("Acknowledged by alice at ") && status.contains("Recovered at "),
        "{status}"
    );
    // The edit after the ack offered Unack instead of Ack already.
    let (_, acked_props) = &root.history[2];
    assert_eq!(acked_props["attachments"][0]["color"], "#1895f5");
    assert_eq!(
        button_ids(&acked_props["attachments"][0]),
        ["unack", "downtime", "recheck"]
    );

    // The next problem is a new root.
    assert_exit(&node.notify("PROBLEM", "2", "11", "0", &[]), 0);
    let posts = mm.posts();
    let all_roots = roots(&posts);
    assert_eq!(all_roots.len(), 2);
    assert_eq!(
        all_roots[1].attachment()["actions"][0]["integration"]["context"]["problem"],
        "11"
    );
    assert!(thread(&posts, &all_roots[1].id).is_empty());
}

#[test]
fn alerts_of_no_open_problem_are_posts_of_their_own_and_webhook_mode_is_untouched() {
    let mm = MattermostStandIn::http();
    let node = Node::new(&mm, "");
    assert_exit(
        &node.notify("DOWNTIMESTART", "0", "0", "0", &["--ackauthor", "bob"]),
        0,
    );
    let posts = mm.posts();
    assert_eq!(posts.len(), 1);
    assert!(posts[0].root_id.is_empty());
    assert!(posts[0].attachment()["title"]
        .as_str()
        .unwrap()
        .contains("Downtime start"));
    // Without the token file the same settings are webhook mode.
    let (dir, mut cmd) = support::isolated();
    let hook = MattermostStandIn::http();
    cmd.env("MATTERMOST_URL", mm.api_url())
        .env("MATTERMOST_WEBHOOK_URL", hook.url());
    cmd.args(support::SERVICE_PROBLEM);
    assert_exit(&support::run(&mut cmd), 0);
    assert_eq!(
        hook.requests()[0].path,
        format!("/hooks/{}", support::HOOK_ID)
    );
    assert_eq!(mm.posts().len(), 1, "no REST post in webhook mode");
    drop(dir);
}

#[test]
fn operations_wait_in_order_while_mattermost_is_away() {
    let mm = MattermostStandIn::http();
    mm.set_default(Behaviour::ServerError);
    let node = Node::new(&mm, "MATTERMOST_RETRY_BUDGET=1\n");
    assert_exit(&node.notify("PROBLEM", "2", "20", "0", &[]), 75);
    assert_exit(
        &node.notify("ACKNOWLEDGEMENT", "2", "20", "0", &["--ackauthor", "alice"]),
        75,
    );
    let out = node.notify("RECOVERY", "0", "0", "20", &[]);
    assert_exit(&out, 75);
    assert_eq!(node.spooled(), 5, "root; reply and edit; reply and edit");
    assert!(mm.posts().is_empty());
    mm.set_default(Behaviour::Ok);
    assert_exit(&node.flush(), 0);
    let posts = mm.posts();
    let all_roots = roots(&posts);
    assert_eq!(all_roots.len(), 1, "{posts:#?}");
    let replies = thread(&posts, &all_roots[0].id);
    assert_eq!(
        replies.len(),
        2,
        "the replies found their root: {replies:#?}"
    );
    assert!(replies[0].contains("Acknowledged") && replies[1].contains("Recovered"));
    assert_eq!(all_roots[0].history.len(), 2);
    assert_eq!(all_roots[0].attachment()["color"], "#5cb85c");
    assert_eq!(node.spooled(), 0);
}

#[test]
fn refusals_name_the_setting_and_never_show_the_token() {
    let mm = MattermostStandIn::http();
    let wrong = TempDir::new();
    let bad_token = wrong.write("t", "not0the0token\n");
    for (extra, exit, needle) in [
        (
            format!("MATTERMOST_BOT_TOKEN_FILE={}\n", bad_token.display()),
            69,
            "MATTERMOST_BOT_TOKEN_FILE",
        ),
        (
            "MATTERMOST_CHANNEL=nope\n".to_string(),
            69,
            "MATTERMOST_TEAM and MATTERMOST_CHANNEL",
        ),
        (
            format!("MATTERMOST_CHANNEL_ID={OTHER_CHANNEL_ID}\n"),
            69,
            "not a member of the channel",
        ),
        (
            "MATTERMOST_BOT_TOKEN_FILE=/nonexistent/token\n".to_string(),
            78,
            "MATTERMOST_BOT_TOKEN_FILE",
        ),
    ] {
        let node = Node::new(&mm, &extra);
        let out = node.notify("PROBLEM", "2", "30", "0", &[]);
        assert_exit(&out, exit);
        let err = stderr(&out);
        assert!(err.contains(needle), "{extra}: {err}");
    }
    // 429 and 5xx are retried as for webhooks.
    mm.script([
        Behaviour::RateLimited {
            retry_after_secs: 0,
        },
        Behaviour::ServerError,
    ]);
    let node = Node::new(&mm, "MATTERMOST_RETRY_BUDGET=10\n");
    assert_exit(&node.notify("PROBLEM", "2", "31", "0", &[]), 0);
    assert_eq!(roots(&mm.posts()).len(), 1);
}

#[test]
fn a_damaged_record_means_a_new_root_and_a_log_line() {
    let mm = MattermostStandIn::http();
    let node = Node::new(&mm, "MATTERMOST_LOG_LEVEL=info\n");
    assert_exit(&node.notify("PROBLEM", "2", "40", "0", &[]), 0);
    let record = std::fs::read_dir(node.dir.join("state/problems"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    std::fs::write(&record, "v=2\nproblem=\u{1}\n").unwrap();
    let out = node.notify("PROBLEM", "2", "40", "0", &[]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert_eq!(roots(&mm.posts()).len(), 2, "a new root, not a lost alert");
    let _ = Duration::ZERO;
}

/// `serve` in API mode for `mm`, sharing `node`'s state directory, spool
/// and settings; acknowledgements go to `fifo`.
fn api_serve(
    mm: &MattermostStandIn,
    node: &Node,
    fifo: &crate::serve::kit::Fifo,
) -> crate::serve::kit::Serve {
    let token = node.dir.join("bot.token");
    crate::serve::kit::Serve::start(crate::serve::kit::Options {
        command_file: Some(&fifo.path),
        oitc_url: None,
        env: vec![
            (
                "MATTERMOST_STATE_DIR",
                node.dir.join("state").display().to_string(),
            ),
            (
                "MATTERMOST_SPOOL_DIR",
                node.dir.join("spool").display().to_string(),
            ),
            ("MATTERMOST_URL", mm.api_url()),
            ("MATTERMOST_BOT_TOKEN_FILE", token.display().to_string()),
            ("MATTERMOST_TEAM", TEAM.into()),
            ("MATTERMOST_CHANNEL", CHANNEL.into()),
        ],
        tls: None,
        listen: None,
    })
}

#[test]
fn a_click_edits_the_root_and_adds_one_reply() {
    let mm = MattermostStandIn::http();
    let fifo = crate::serve::kit::Fifo::with_reader();
    // Boot the node first (for its token), then serve, then point the
    // node's buttons at serve's secret.
    let boot = Node::new(&mm, "");
    let serve = api_serve(&mm, &boot, &fifo);
    let node = Node {
        conf: boot.dir.write(
            "api2.conf",
            format!(
                "{}MATTERMOST_ACK_SECRET_FILE={}\n",
                std::fs::read_to_string(&boot.conf).unwrap(),
                serve.secret_file.display()
            ),
        ),
        dir: boot.dir,
    };
    assert_exit(&node.notify("PROBLEM", "2", "50", "0", &[]), 0);
    let root = mm.posts().remove(0);
    let context = root.attachment()["actions"][0]["integration"]["context"]
        .as_object()
        .unwrap()
        .clone();
    // A click from another post of the problem is refused.
    let mut elsewhere = crate::serve::kit::callback("alice", context.clone());
    elsewhere["post_id"] = "p0000000000000000000000999".into();
    let (status, reply) = serve.post(&serde_json::to_vec(&elsewhere).unwrap());
    assert_eq!(status, 200);
    assert!(reply.contains("not the current post"), "{reply}");
    // The click on the root.
    let mut click = crate::serve::kit::callback("alice", context);
    click["post_id"] = root.id.clone().into();
    let (status, reply) = serve.post(&serde_json::to_vec(&click).unwrap());
    assert_eq!(status, 200, "{reply}");
    let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(v["ephemeral_text"], "You acknowledged http on web1.");
    assert!(
        v.get("update").is_none(),
        "the REST API edits the root, once"
    );
    assert!(fifo.next_line().starts_with('['));
    let posts = mm.posts();
    let root_now = posts.iter().find(|p| p.id == root.id).unwrap();
    assert_eq!(root_now.history.len(), 1);
    assert_eq!(root_now.attachment()["color"], "#1895f5");
    assert_eq!(
        button_ids(root_now.attachment()),
        ["unack", "downtime", "recheck"],
        "Ack gone, Unack offered"
    );
    let replies = thread(&posts, &root.id);
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0].contains("**Acknowledged** by @alice at "),
        "{}",
        replies[0]
    );
    // The core's ACKNOWLEDGEMENT notification (ack notify on) adds nothing.
    assert_exit(
        &node.notify("ACKNOWLEDGEMENT", "2", "50", "0", &["--ackauthor", "alice"]),
        0,
    );
    assert_eq!(
        thread(&mm.posts(), &root.id).len(),
        1,
        "each event shows once"
    );
}

#[test]
fn test_checks_token_channel_membership_post_and_edit() {
    let mm = MattermostStandIn::http();
    let node = Node::new(&mm, "");
    let out = support::run(support::command(&node.conf).arg("test"));
    assert_exit(&out, 0);
    assert_no_token(&out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in [
        "check token: ok",
        "check channel: ok: channel id ch0ps",
        "check membership: ok: the bot is a member",
        "check post: ok: the bot may post",
        "check edit: ok: the bot may edit its posts",
        "result: delivered: the test post was posted and edited",
    ] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
    let posts = mm.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].history.len(), 1, "posted, then edited");
    let edited = posts[0].attachment()["text"].as_str().unwrap().to_string();
    assert!(
        edited.contains("edited: the bot may post and edit"),
        "{edited}"
    );
    // Not a member: the membership check fails and names what to do.
    let node = Node::new(&mm, &format!("MATTERMOST_CHANNEL_ID={OTHER_CHANNEL_ID}\n"));
    let out = support::run(support::command(&node.conf).arg("test"));
    assert_exit(&out, 69);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("check membership: FAILED") && text.contains("add it"),
        "{text}"
    );
}

/// A node whose buttons are signed with `serve`'s secret, and `serve` in
/// API mode beside it, writing to `fifo`.
fn node_with_serve(
    mm: &MattermostStandIn,
    fifo: &crate::serve::kit::Fifo,
) -> (Node, crate::serve::kit::Serve) {
    let boot = Node::new(mm, "");
    let serve = api_serve(mm, &boot, fifo);
    let node = Node {
        conf: boot.dir.write(
            "api2.conf",
            format!(
                "{}MATTERMOST_ACK_SECRET_FILE={}\n",
                std::fs::read_to_string(&boot.conf).unwrap(),
                serve.secret_file.display()
            ),
        ),
        dir: boot.dir,
    };
    (node, serve)
}

/// A click on `root`'s button `action` as Mattermost sends it; `serve`'s
/// answer.
fn click_on(
    serve: &crate::serve::kit::Serve,
    mm: &MattermostStandIn,
    root: &StandinPost,
    action: &str,
) -> serde_json::Value {
    let button = root.attachment()["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|b| b["id"] == action))
        .unwrap_or_else(|| panic!("no {action} button on {:?}", root.attachment()));
    let context = button["integration"]["context"]
        .as_object()
        .unwrap()
        .clone();
    let mut click = crate::serve::kit::callback("alice", context);
    click["post_id"] = root.id.clone().into();
    click["trigger_id"] = mm.issue_trigger_id().into();
    let (status, reply) = serve.post(&serde_json::to_vec(&click).unwrap());
    assert_eq!(status, 200, "{reply}\n{}", serve.stderr());
    serde_json::from_str(&reply).unwrap()
}

/// The root `id` as the stand-in has it now.
fn current(mm: &MattermostStandIn, id: &str) -> StandinPost {
    mm.posts().into_iter().find(|p| p.id == id).unwrap()
}

#[test]
fn every_action_from_mattermost_edits_the_root_and_tells_the_thread() {
    let mm = MattermostStandIn::http();
    let fifo = crate::serve::kit::Fifo::with_reader();
    let (node, serve) = node_with_serve(&mm, &fifo);
    assert_exit(&node.notify("PROBLEM", "2", "60", "0", &[]), 0);
    let root = mm.posts().remove(0);
    assert_eq!(
        button_ids(root.attachment()),
        ["ack", "downtime", "recheck"]
    );

    // Recheck: the core is asked, the thread told, the root left alone.
    let v = click_on(&serve, &mm, &root, "recheck");
    assert!(v.get("update").is_none(), "{v}");
    assert!(fifo
        .next_line()
        .contains("SCHEDULE_FORCED_SVC_CHECK;web1;http;"));
    let posts = mm.posts();
    assert!(thread(&posts, &root.id)[0].starts_with("**Recheck** asked for by @alice at "));
    assert!(
        current(&mm, &root.id).history.is_empty(),
        "a recheck edits nothing"
    );

    // Downtime: a dialog, then its submission edits the root (which a
    // webhook post could not) and tells the thread.
    let v = click_on(&serve, &mm, &root, "downtime");
    assert_eq!(v, serde_json::json!({}), "the dialog opens");
    let state = mm.dialogs().last().unwrap()["dialog"]["state"]
        .as_str()
        .unwrap()
        .to_string();
    let sub = crate::serve::kit::submission(
        &state,
        serde_json::json!({"preset": "1h", "comment": "patching"}),
    );
    let (status, body) = serve.submit(&sub);
    assert_eq!((status, body.as_str()), (200, "{}"), "{}", serve.stderr());
    assert!(fifo
        .next_line()
        .contains("SCHEDULE_SVC_DOWNTIME;web1;http;"));
    let in_downtime = current(&mm, &root.id);
    assert_eq!(button_ids(in_downtime.attachment()), ["ack", "recheck"]);
    let replies = thread(&mm.posts(), &root.id);
    assert!(
        replies[1].starts_with("💤 **Downtime** set by @alice at ")
            && replies[1].contains("patching"),
        "{}",
        replies[1]
    );

    // Ack, then Unack: the root turns blue and back, its buttons follow.
    let v = click_on(&serve, &mm, &in_downtime, "ack");
    assert_eq!(v["ephemeral_text"], "You acknowledged http on web1.");
    assert!(fifo
        .next_line()
        .contains("ACKNOWLEDGE_SVC_PROBLEM;web1;http;"));
    let acked = current(&mm, &root.id);
    assert_eq!(acked.attachment()["color"], "#1895f5");
    assert_eq!(button_ids(acked.attachment()), ["unack", "recheck"]);
    let v = click_on(&serve, &mm, &acked, "unack");
    assert_eq!(
        v["ephemeral_text"],
        "You removed the acknowledgement of http on web1."
    );
    assert!(fifo
        .next_line()
        .contains("REMOVE_SVC_ACKNOWLEDGEMENT;web1;http"));
    let unacked = current(&mm, &root.id);
    assert_eq!(unacked.attachment()["color"], "#d9534f");
    assert_eq!(button_ids(unacked.attachment()), ["ack", "recheck"]);

    let replies = thread(&mm.posts(), &root.id);
    assert_eq!(replies.len(), 4, "{replies:#?}");
    assert!(replies[2].contains("**Acknowledged** by @alice"));
    assert!(replies[3].contains("**Acknowledgement removed** by @alice"));
    assert_eq!(unacked.history.len(), 3, "downtime, ack, unack");
    // The core's DOWNTIMESTART for the downtime set here adds nothing.
    assert_exit(
        &node.notify("DOWNTIMESTART", "2", "60", "0", &["--ackauthor", "alice"]),
        0,
    );
    assert_eq!(
        thread(&mm.posts(), &root.id).len(),
        4,
        "each event shows once"
    );
}

/// The ids of an attachment's buttons, in order.
fn button_ids(attachment: &serde_json::Value) -> Vec<String> {
    attachment["actions"].as_array().map_or(Vec::new(), |a| {
        a.iter()
            .map(|b| b["id"].as_str().unwrap_or("").to_string())
            .collect()
    })
}

/// `notify` of a notification `t` of service `svc<n>` on `web<n % 3>`
/// (problem id `900 + n`), to be started.
fn storm_alert(node: &Node, n: usize, t: &str) -> std::process::Command {
    let (state, id, last) = match t {
        "RECOVERY" => ("0", "0".to_string(), format!("{}", 900 + n)),
        _ => ("2", format!("{}", 900 + n), "0".to_string()),
    };
    let mut cmd = support::command(&node.conf);
    cmd.args(["notify", "--type", "Service", "--notificationtype", t])
        .args(["--hostuuid", &format!("web{}", n % 3)])
        .args(["--serviceuuid", &format!("svc{n}")])
        .args([
            "--state",
            state,
            "--problemid",
            &id,
            "--lastproblemid",
            &last,
        ])
        .args(["--output", &format!("CRITICAL - alert s{n:02} end")]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// The alerts (`sNN`) a post shows, in its table or its attachment.
fn alerts_in(p: &StandinPost) -> Vec<String> {
    let text = serde_json::to_string(&p.props).unwrap();
    let mut seen = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("alert s") {
        let id = &rest[at + 6..at + 9];
        if !seen.iter().any(|s| s == id) {
            seen.push(id.to_string());
        }
        rest = &rest[at + 9..];
    }
    seen
}

#[test]
fn a_storm_in_api_mode_is_a_digest_whose_thread_follows_its_problems() {
    let mm = MattermostStandIn::http();
    let fifo = crate::serve::kit::Fifo::with_reader();
    let (node, serve) = node_with_serve(&mm, &fifo);
    let node = Node {
        conf: node.dir.write(
            "storm.conf",
            format!(
                "{}MATTERMOST_DIGEST_WINDOW=2\nMATTERMOST_DIGEST_THRESHOLD=3\n",
                std::fs::read_to_string(&node.conf).unwrap()
            ),
        ),
        dir: node.dir,
    };
    const N: usize = 12;
    let children: Vec<_> = (0..N)
        .map(|n| storm_alert(&node, n, "PROBLEM").spawn().expect("spawn"))
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_exit(&out, 0);
    }
    let posts = mm.posts();
    let all = roots(&posts);
    let digests: Vec<&StandinPost> = all
        .iter()
        .copied()
        .filter(|p| p.message.contains("problems on"))
        .collect();
    assert!(!digests.is_empty(), "a digest: {posts:#?}");
    // Every alert shows once: a few roots of their own, the rest digested.
    let mut shown: Vec<String> = all.iter().flat_map(|p| alerts_in(p)).collect();
    shown.sort();
    let want: Vec<String> = (0..N).map(|n| format!("s{n:02}")).collect();
    assert_eq!(shown, want, "each alert once");
    assert!(
        all.len() < N,
        "{} posts for {N} alerts: the storm was not digested",
        all.len()
    );
    // The biggest digest (a storm may cross a window's edge).
    let digest = *digests.iter().max_by_key(|d| alerts_in(d).len()).unwrap();
    assert!(alerts_in(digest).len() >= 3, "{digest:#?}");
    assert!(digest.props["attachments"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("|   | Host | Service | Output |"));
    // A problem first announced in the digest replies in its thread, and
    // the digest (many problems' post) is never rewritten for one.
    let digested = alerts_in(digest)[0].clone();
    let n: usize = digested[1..].parse().unwrap();
    // In the next window: the first alerts of a window go out one by one.
    std::thread::sleep(Duration::from_millis(2100));
    let out = storm_alert(&node, n, "RECOVERY").output().unwrap();
    assert_exit(&out, 0);
    let posts = mm.posts();
    let replies = thread(&posts, &digest.id);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0].contains("Recovered") && replies[0].contains(&format!("alert {digested} end")),
        "{}",
        replies[0]
    );
    assert!(current(&mm, &digest.id).history.is_empty(), "not edited");
    // Acknowledge all: the core acknowledges the digest's open problems;
    // the thread says so once.
    let reply = click_on(&serve, &mm, &current(&mm, &digest.id), "ackall");
    let rows = alerts_in(digest).len();
    assert_eq!(
        reply["ephemeral_text"],
        format!("You acknowledged {} problem(s) of this digest. 1 had recovered or have a newer problem.", rows - 1),
        "{reply}"
    );
    for _ in 1..rows {
        assert!(fifo.next_line().contains("ACKNOWLEDGE_SVC_PROBLEM;web"));
    }
    let replies = thread(&mm.posts(), &digest.id);
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(
        replies[1].contains("**Acknowledged** by @alice at ")
            && replies[1].ends_with(&format!(": {} problems of this digest", rows - 1)),
        "{}",
        replies[1]
    );
    // The core's ACKNOWLEDGEMENT of a digested problem adds nothing more.
    let other: usize = alerts_in(digest)[1][1..].parse().unwrap();
    let mut ack = storm_alert(&node, other, "ACKNOWLEDGEMENT");
    ack.args(["--ackauthor", "alice"]);
    assert_exit(&ack.output().unwrap(), 0);
    assert_eq!(thread(&mm.posts(), &digest.id).len(), 2, "each event once");

    // The storm ends: every other problem recovers at once. A digest's
    // problems recover in its thread, most of them in a digest reply.
    let before = mm.posts().len();
    let children: Vec<_> = (0..N)
        .filter(|&m| m != n)
        .map(|m| storm_alert(&node, m, "RECOVERY").spawn().expect("spawn"))
        .collect();
    for c in children {
        assert_exit(&c.wait_with_output().unwrap(), 0);
    }
    let posts = mm.posts();
    let wave = &posts[before..];
    let in_digest: Vec<&StandinPost> = wave.iter().filter(|p| p.root_id == digest.id).collect();
    let mut recovered: Vec<String> = in_digest
        .iter()
        .flat_map(|p| {
            let mut ids = alerts_in(p);
            // A single reply names its alert in the message.
            if let Some(at) = p.message.find("alert s") {
                ids.push(p.message[at + 6..at + 9].to_string());
            }
            ids
        })
        .collect();
    recovered.sort();
    let mut want: Vec<String> = alerts_in(digest)
        .into_iter()
        .filter(|id| *id != digested)
        .collect();
    want.sort();
    assert_eq!(
        recovered, want,
        "each recovery once, in the digest's thread"
    );
    assert!(
        in_digest.iter().any(|p| p.message.contains(" recover")),
        "a digest reply: {in_digest:#?}"
    );
    assert!(
        wave.iter().all(|p| !p.root_id.is_empty()),
        "recoveries reply in their threads, none is a post of its own: {wave:#?}"
    );
    assert!(current(&mm, &digest.id).history.is_empty(), "never edited");
}

/// What a core sees when a command reaches its pipe: the line, and what
/// the node's problem records said at that moment.
fn core_watching_records(
    fifo: &crate::serve::kit::Fifo,
    state: std::path::PathBuf,
) -> std::sync::mpsc::Receiver<(String, String)> {
    use std::io::BufRead;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo.path)
        .expect("open fifo");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
            let records: String = std::fs::read_dir(state.join("problems"))
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.file_name().to_string_lossy().ends_with(".rec"))
                        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                        .collect()
                })
                .unwrap_or_default();
            if tx.send((line, records)).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn the_core_hears_of_a_click_only_once_the_record_notes_it() {
    let mm = MattermostStandIn::http();
    // serve writes to this pipe; the test plays the core reading it.
    let fifo = crate::serve::kit::Fifo::without_reader();
    let (node, serve) = node_with_serve(&mm, &fifo);
    let core = core_watching_records(&fifo, node.dir.join("state"));
    assert_exit(&node.notify("PROBLEM", "2", "70", "0", &[]), 0);
    let root = mm.posts().remove(0);
    let answer = click_on(&serve, &mm, &root, "ack");
    assert_eq!(answer["ephemeral_text"], "You acknowledged http on web1.");
    let (line, records) = core
        .recv_timeout(Duration::from_secs(20))
        .expect("the command");
    assert!(line.contains("ACKNOWLEDGE_SVC_PROBLEM;web1;http"), "{line}");
    // The `notify` of the core's ACKNOWLEDGEMENT, started the moment the
    // core has the command, finds the click in the record: no second reply.
    assert!(
        records.contains("\nack_by=alice\n"),
        "the record when the core had the command:\n{records}"
    );
    assert_exit(
        &node.notify("ACKNOWLEDGEMENT", "2", "70", "0", &["--ackauthor", "alice"]),
        0,
    );
    assert_eq!(thread(&mm.posts(), &root.id).len(), 1, "each event once");
}

#[test]
fn a_click_the_core_does_not_take_leaves_the_record_as_it_was() {
    let mm = MattermostStandIn::http();
    // Nobody reads the pipe: the core is down, the command fails.
    let fifo = crate::serve::kit::Fifo::without_reader();
    let (node, serve) = node_with_serve(&mm, &fifo);
    assert_exit(&node.notify("PROBLEM", "2", "71", "0", &[]), 0);
    let root = mm.posts().remove(0);
    let answer = click_on(&serve, &mm, &root, "ack");
    let text = answer["ephemeral_text"].as_str().unwrap_or_default();
    assert!(text.starts_with("Could not acknowledge"), "{answer}");
    let records: String = std::fs::read_dir(node.dir.join("state/problems"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    assert!(records.contains("problem=71"), "{records}");
    assert!(!records.contains("ack_by=alice"), "put back:\n{records}");
    assert!(thread(&mm.posts(), &root.id).is_empty(), "nothing was done");
    // The next notification of the problem still offers Acknowledge.
    assert_exit(&node.notify("PROBLEM", "1", "71", "0", &[]), 0);
    let now = current(&mm, &root.id);
    assert_eq!(button_ids(now.attachment())[0], "ack", "{now:#?}");
}
