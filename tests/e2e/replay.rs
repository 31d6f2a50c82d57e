//! Buttons that cannot be replayed or misapplied: `notify` records each
//! host's or service's current problem in the node's state directory, and
//! `serve` refuses — with an ephemeral explanation, writing nothing — a
//! second click of a button that acknowledged (however its signature is
//! spelled), a button of a problem that has recovered, and a button of a
//! problem that a newer one has replaced.

use crate::serve::kit::{self, callback, resign, service_context, Fifo, Serve};
use crate::support::{assert_exit, command, run, MattermostStandIn, TempDir};
use std::path::{Path, PathBuf};

struct Node {
    dir: TempDir,
    state: PathBuf,
    mm: MattermostStandIn,
    fifo: Fifo,
    serve: Serve,
}

impl Node {
    fn new() -> Node {
        let dir = TempDir::new();
        let state = dir.join("state");
        let fifo = Fifo::with_reader();
        let serve = kit::serve_on(
            &fifo.path,
            vec![("MATTERMOST_STATE_DIR", state.display().to_string())],
        );
        Node {
            dir,
            state,
            mm: MattermostStandIn::http(),
            fifo,
            serve,
        }
    }

    /// `notify` for web1/HTTP: a PROBLEM with `--problemid id`, or a
    /// RECOVERY with `--lastproblemid id`.
    fn notify(&self, recovery: bool, id: &str) {
        let conf = self.dir.write("notify.conf", "");
        let mut cmd = command(&conf);
        cmd.env("MATTERMOST_STATE_DIR", &self.state)
            .env("MATTERMOST_WEBHOOK_URL", self.mm.url())
            .args(["notify", "--type", "Service", "--hostuuid", "web1"])
            .args(["--serviceuuid", "HTTP"]);
        if recovery {
            cmd.args(["--notificationtype", "RECOVERY", "--state", "0"])
                .args(["--output", "OK", "--lastproblemid", id]);
        } else {
            cmd.args(["--notificationtype", "PROBLEM", "--state", "2"])
                .args(["--output", "CRITICAL", "--problemid", id]);
        }
        assert_exit(&run(&mut cmd), 0);
    }

    /// A click of a button for `problem`, valid until `exp`.
    fn click(&self, problem: &str, exp: u64) -> String {
        let mut c = service_context("web1", "HTTP");
        c.insert("problem".into(), problem.into());
        c.insert("exp".into(), exp.to_string().into());
        resign(&mut c);
        self.post(c)
    }

    fn post(&self, c: serde_json::Map<String, serde_json::Value>) -> String {
        let (status, body) = self
            .serve
            .post(&serde_json::to_vec(&callback("alice", c)).unwrap());
        assert_eq!(status, 200, "{body}");
        body
    }

    fn acked(&self) -> bool {
        let line = self.fifo.next_line();
        line.contains("ACKNOWLEDGE_SVC_PROBLEM;web1;HTTP;")
    }
}

fn record(state: &Path) -> String {
    let dir = state.join("problems");
    let file = std::fs::read_dir(&dir)
        .expect("problems/")
        .next()
        .expect("one record")
        .expect("entry")
        .path();
    std::fs::read_to_string(file).expect("record")
}

#[test]
fn a_button_acknowledges_once_however_its_signature_is_spelled() {
    let node = Node::new();
    node.notify(false, "101");
    assert!(record(&node.state).contains("problem=101\nstate=open"));
    let first = node.click("101", kit::FAR);
    assert!(first.contains("\"update\""), "{first}");
    assert!(node.acked());
    let again = node.click("101", kit::FAR);
    assert!(again.contains("cannot be used again"), "{again}");
    // The same signature in upper case is the same button.
    let mut c = service_context("web1", "HTTP");
    c.insert("problem".into(), "101".into());
    resign(&mut c);
    let upper = c["sig"].as_str().unwrap().to_ascii_uppercase();
    c.insert("sig".into(), upper.into());
    let shouted = node.post(c);
    assert!(shouted.contains("cannot be used again"), "{shouted}");
    assert!(!node.fifo.has_more(), "nothing more reached the pipe");
}

#[test]
fn a_button_of_a_recovered_or_replaced_problem_is_refused() {
    let node = Node::new();
    node.notify(false, "201");
    node.notify(true, "201");
    assert!(record(&node.state).contains("problem=201\nstate=closed"));
    let recovered = node.click("201", kit::FAR);
    assert!(recovered.contains("has recovered"), "{recovered}");
    assert!(!recovered.contains("\"update\""));

    // The next outage of the same service is a new problem: the old
    // button must not acknowledge it.
    node.notify(false, "202");
    let stale = node.click("201", kit::FAR - 1);
    assert!(stale.contains("newer problem"), "{stale}");
    assert!(!node.fifo.has_more(), "nothing reached the pipe");

    let current = node.click("202", kit::FAR);
    assert!(current.contains("\"update\""), "{current}");
    assert!(node.acked());
}

#[test]
fn a_recovery_of_an_older_problem_leaves_the_current_one_open() {
    let node = Node::new();
    node.notify(false, "301");
    node.notify(false, "302");
    node.notify(true, "301");
    assert!(record(&node.state).contains("problem=302\nstate=open"));
    let current = node.click("302", kit::FAR);
    assert!(current.contains("\"update\""), "{current}");
    assert!(node.acked());
}

#[test]
fn serve_refuses_to_start_on_a_state_directory_others_can_write() {
    let dir = TempDir::new();
    let state = dir.join("state");
    std::fs::create_dir(&state).unwrap();
    crate::support::set_mode(&state, 0o777);
    let fifo = Fifo::without_reader();
    let conf = dir.write(
        "serve.conf",
        format!(
            "MATTERMOST_ACK_URL=https://mon.example/ack\nMATTERMOST_ACK_SECRET_FILE={}\n\
             MATTERMOST_STATE_DIR={}\n",
            dir.write("ack.secret", kit::SECRET).display(),
            state.display()
        ),
    );
    let out = run(command(&conf)
        .args(["serve", "--listen", "127.0.0.1:0", "--command-file"])
        .arg(&fifo.path));
    assert_exit(&out, 78);
    let err = crate::support::stderr(&out);
    assert!(
        err.contains("MATTERMOST_STATE_DIR") && err.contains("chmod 700"),
        "{err}"
    );
}
