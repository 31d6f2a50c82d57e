//! `serve`: the real binary receiving button callbacks on loopback and
//! acknowledging through a FIFO, a regular file or the openITCOCKPIT API.
//!
//! The [`kit`] here (start `serve`, sign a context the documented way, send
//! raw HTTP, read a FIFO) is shared with `security` and `nagios`.

use kit::{callback, click_body, Fifo, SECRET};
use std::time::Duration;

/// Helpers for driving `serve`.
pub mod kit {
    use ring::hmac;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// The shared secret the tests' `serve` uses (64 hex characters).
    pub const SECRET: &str = "5f0c3b8e1d2a4f6b7c9e0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d";
    /// The path of `MATTERMOST_ACK_URL`.
    pub const ACK_PATH: &str = "/mattermost/ack";
    /// Far in the future (2096).
    pub const FAR: u64 = 4_000_000_000;

    /// A temp dir removed on drop.
    #[derive(Debug)]
    pub struct Dir(pub PathBuf);

    impl Dir {
        /// A fresh directory.
        pub fn new(tag: &str) -> Dir {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "mn-twoway-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).expect("temp dir");
            Dir(p)
        }
        /// `dir/name`.
        pub fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A running `serve`, killed on drop. Its stderr is collected.
    pub struct Serve {
        child: Child,
        /// The port it listens on.
        pub port: u16,
        /// The address to connect to.
        pub host: &'static str,
        stderr: Arc<Mutex<String>>,
        /// The secret file `serve` reads (the notify side can share it).
        pub secret_file: PathBuf,
        /// Keeps the secret file alive.
        _dir: Dir,
    }

    /// What to start `serve` with.
    pub struct Options<'a> {
        /// `--command-file`.
        pub command_file: Option<&'a Path>,
        /// `--oitc-url`.
        pub oitc_url: Option<&'a str>,
        /// Extra environment.
        pub env: Vec<(&'a str, String)>,
        /// `--tls-cert`, `--tls-key`.
        pub tls: Option<(&'a Path, &'a Path)>,
        /// `--listen`; `127.0.0.1:0` when `None`.
        pub listen: Option<&'a str>,
    }

    impl Serve {
        /// Starts `serve` on 127.0.0.1, port chosen by the OS.
        pub fn start(opts: Options<'_>) -> Serve {
            let dir = Dir::new("serve");
            let secret = dir.join("ack.secret");
            std::fs::write(&secret, format!("{SECRET}\n")).expect("secret");
            // The settings come from a config file, as in production.
            let conf = dir.join("serve.conf");
            std::fs::write(
                &conf,
                format!(
                    "MATTERMOST_ACK_URL=https://mon.example{ACK_PATH}\n\
                     MATTERMOST_ACK_SECRET_FILE={}\n",
                    secret.display()
                ),
            )
            .expect("config");
            let mut cmd = crate::support::command(&conf);
            let listen = opts.listen.unwrap_or("127.0.0.1:0");
            cmd.args(["serve", "--listen", listen]);
            if let Some(p) = opts.command_file {
                cmd.arg("--command-file").arg(p);
            }
            if let Some(u) = opts.oitc_url {
                cmd.args(["--oitc-url", u]);
            }
            if let Some((c, k)) = opts.tls {
                cmd.arg("--tls-cert").arg(c).arg("--tls-key").arg(k);
            }
            for (k, v) in opts.env {
                cmd.env(k, v);
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start serve");
            let stderr = Arc::new(Mutex::new(String::new()));
            let (tx, rx) = mpsc::channel();
            let pipe = child.stderr.take().expect("stderr");
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        let port = rest.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                        let _ = tx.send(port);
                    }
                    let mut s = sink.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            });
            let port = match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(Some(p)) => p,
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("serve did not start:\n{}", stderr.lock().unwrap());
                }
            };
            Serve {
                child,
                port,
                host: if listen.starts_with('[') {
                    "::1"
                } else {
                    "127.0.0.1"
                },
                stderr,
                secret_file: secret,
                _dir: dir,
            }
        }

        /// Everything `serve` wrote to stderr so far.
        pub fn stderr(&self) -> String {
            self.stderr.lock().unwrap().clone()
        }

        /// Waits (bounded) until stderr contains `needle`; returns stderr.
        pub fn wait_stderr(&self, needle: &str) -> String {
            for _ in 0..400 {
                let s = self.stderr();
                if s.contains(needle) {
                    return s;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("serve never logged {needle:?}:\n{}", self.stderr());
        }

        /// Whether the process is still running.
        pub fn alive(&mut self) -> bool {
            matches!(self.child.try_wait(), Ok(None))
        }

        /// POSTs `body` to the ack path; returns status and body.
        pub fn post(&self, body: &[u8]) -> (u16, String) {
            self.post_to(ACK_PATH, body)
        }

        /// POSTs `body` to the dialog path (the ack path plus `/dialog`).
        pub fn submit(&self, body: &[u8]) -> (u16, String) {
            self.post_to(&format!("{ACK_PATH}/dialog"), body)
        }

        /// POSTs `body` to `path`; returns status and body.
        pub fn post_to(&self, path: &str, body: &[u8]) -> (u16, String) {
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let mut raw = head.into_bytes();
            raw.extend_from_slice(body);
            self.raw(&raw)
        }

        /// Sends raw bytes, reads until the server closes; status and body.
        pub fn raw(&self, bytes: &[u8]) -> (u16, String) {
            let mut s = TcpStream::connect((self.host, self.port)).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            // The server may answer and close before reading everything
            // (413); a write error then is expected.
            let _ = s.write_all(bytes);
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            split_response(&out)
        }
    }

    impl Drop for Serve {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Status code and body of a raw HTTP/1.1 response.
    pub fn split_response(out: &[u8]) -> (u16, String) {
        let text = String::from_utf8_lossy(out).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// The ack context fields, in canonical order (without `sig`).
    pub const SIGNED: [&str; 9] = [
        "v", "action", "kind", "host", "service", "problem", "label", "text", "exp",
    ];

    /// The problem id [`service_context`] and [`host_context`] sign.
    pub const PROBLEM: &str = "4711";

    /// The documented canonical bytes (core/src/ack.rs), written out here
    /// independently so a change to the format fails this test.
    pub fn canonical(ctx: &serde_json::Map<String, serde_json::Value>) -> Vec<u8> {
        let mut out = b"mattermost-notify ack context\n".to_vec();
        for k in SIGNED {
            let v = ctx.get(k).and_then(|v| v.as_str()).unwrap_or("");
            out.extend_from_slice(format!("{k}={}:{v}\n", v.len()).as_bytes());
        }
        out
    }

    /// HMAC-SHA256 of the canonical bytes as lowercase hex.
    pub fn sign(secret: &[u8], ctx: &serde_json::Map<String, serde_json::Value>) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let tag = hmac::sign(&key, &canonical(ctx));
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A service context signed with [`SECRET`], valid until [`FAR`].
    pub fn service_context(
        host: &str,
        service: &str,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut c = serde_json::Map::new();
        for (k, v) in [
            ("v", "2"),
            ("action", "ack"),
            ("kind", "service"),
            ("host", host),
            ("service", service),
            ("problem", PROBLEM),
            ("label", &format!("{service} on {host}")),
            ("text", ""),
            ("exp", &FAR.to_string()),
        ] {
            c.insert(k.into(), v.into());
        }
        resign(&mut c);
        c
    }

    /// A host context signed with [`SECRET`], valid until [`FAR`].
    pub fn host_context(host: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut c = service_context(host, "x");
        c.insert("kind".into(), "host".into());
        c.insert("service".into(), "".into());
        c.insert("label".into(), host.into());
        resign(&mut c);
        c
    }

    /// `c` doing `action` instead, signed again.
    pub fn with_action(
        mut c: serde_json::Map<String, serde_json::Value>,
        action: &str,
    ) -> serde_json::Map<String, serde_json::Value> {
        c.insert("action".into(), action.into());
        resign(&mut c);
        c
    }

    /// A dialog submission as Mattermost posts it for the user and channel
    /// of [`callback`].
    pub fn submission(state: &str, fields: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "type": "dialog_submission",
            "callback_id": "mattermostnotify",
            "state": state,
            "user_id": "rgh4sbpaxbf7zm4fqnbbt1nhqa",
            "channel_id": "q5xmbctzqjgfxb5r9c1xqz5ytr",
            "team_id": "d5p1cwsbkjnb8yk5f4x5c6n8ny",
            "cancelled": false,
            "submission": fields,
        }))
        .unwrap()
    }

    /// Recomputes `sig` with [`SECRET`].
    pub fn resign(c: &mut serde_json::Map<String, serde_json::Value>) {
        let sig = sign(SECRET.as_bytes(), c);
        c.insert("sig".into(), sig.into());
    }

    /// The callback Mattermost sends for a click by `user`.
    pub fn callback(
        user: &str,
        context: serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Value {
        serde_json::json!({
            "user_id": "rgh4sbpaxbf7zm4fqnbbt1nhqa",
            "user_name": user,
            "channel_id": "q5xmbctzqjgfxb5r9c1xqz5ytr",
            "channel_name": "ops",
            "team_id": "d5p1cwsbkjnb8yk5f4x5c6n8ny",
            "team_domain": "acme",
            "post_id": "ws6kqsd6rffx5bxfz4f8ydbtby",
            "trigger_id": "dHJpZ2dlcg==",
            "type": "",
            "data_source": "",
            "context": context,
        })
    }

    /// Clicks the button `ctx` as `alice` with a fresh trigger id from
    /// `standin` (as Mattermost puts one into every click); returns the body.
    pub fn click(
        serve: &Serve,
        standin: &crate::support::MattermostStandIn,
        ctx: serde_json::Map<String, serde_json::Value>,
    ) -> String {
        click_as(serve, standin, "alice", ctx)
    }

    /// [`click`] by `user`.
    pub fn click_as(
        serve: &Serve,
        standin: &crate::support::MattermostStandIn,
        user: &str,
        ctx: serde_json::Map<String, serde_json::Value>,
    ) -> String {
        let mut cb = callback(user, ctx);
        cb["trigger_id"] = standin.issue_trigger_id().into();
        let (status, body) = serve.post(&serde_json::to_vec(&cb).unwrap());
        assert_eq!(status, 200, "{body}\n{}", serve.stderr());
        body
    }

    /// Clicks a dialog button (as `user`) and returns the state of the
    /// dialog it opened at `standin`.
    pub fn open_dialog_as(
        serve: &Serve,
        standin: &crate::support::MattermostStandIn,
        user: &str,
        ctx: serde_json::Map<String, serde_json::Value>,
    ) -> String {
        let before = standin.dialogs().len();
        let body = click_as(serve, standin, user, ctx);
        assert_eq!(body, "{}", "{}", serve.stderr());
        let dialogs = standin.dialogs();
        assert_eq!(
            dialogs.len(),
            before + 1,
            "no dialog opened:\n{}",
            serve.stderr()
        );
        let d = dialogs.last().unwrap();
        assert!(d["url"]
            .as_str()
            .unwrap()
            .ends_with("/mattermost/ack/dialog"));
        d["dialog"]["state"].as_str().unwrap().to_string()
    }

    /// [`open_dialog_as`] by `alice`.
    pub fn open_dialog(
        serve: &Serve,
        standin: &crate::support::MattermostStandIn,
        ctx: serde_json::Map<String, serde_json::Value>,
    ) -> String {
        open_dialog_as(serve, standin, "alice", ctx)
    }

    /// The `ephemeral_text` of a click's answer ("" when there is none).
    pub fn ephemeral(body: &str) -> String {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["ephemeral_text"].as_str().unwrap_or("").to_string()
    }

    /// A valid service click by `alice` as bytes.
    pub fn click_body(host: &str, service: &str) -> Vec<u8> {
        serde_json::to_vec(&callback("alice", service_context(host, service))).unwrap()
    }

    /// A named pipe with a reader thread that forwards each line.
    pub struct Fifo {
        /// The pipe's path.
        pub path: PathBuf,
        lines: Option<mpsc::Receiver<String>>,
        _dir: Dir,
    }

    impl Fifo {
        /// A FIFO nobody reads.
        pub fn without_reader() -> Fifo {
            let dir = Dir::new("fifo");
            let path = dir.join("nagios.cmd");
            let ok = Command::new("mkfifo")
                .arg(&path)
                .status()
                .expect("run mkfifo")
                .success();
            assert!(ok, "mkfifo failed");
            Fifo {
                path,
                lines: None,
                _dir: dir,
            }
        }

        /// A FIFO with a reader collecting lines.
        pub fn with_reader() -> Fifo {
            let mut f = Fifo::without_reader();
            // Opened read+write so the open does not wait for a writer and
            // the reader never sees end-of-file between writers.
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&f.path)
                .expect("open fifo");
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(file).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            f.lines = Some(rx);
            f
        }

        /// The next line written to the pipe (bounded wait).
        pub fn next_line(&self) -> String {
            self.lines
                .as_ref()
                .expect("fifo has a reader")
                .recv_timeout(Duration::from_secs(20))
                .expect("a line on the command pipe")
        }

        /// Whether another line is waiting right now.
        pub fn has_more(&self) -> bool {
            self.lines.as_ref().is_some_and(|rx| rx.try_recv().is_ok())
        }
    }

    /// Starts `serve` writing to `path` with extra env.
    pub fn serve_on(path: &Path, env: Vec<(&str, String)>) -> Serve {
        Serve::start(Options {
            command_file: Some(path),
            oitc_url: None,
            env,
            tls: None,
            listen: None,
        })
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {body}"))
}

/// Splits `[<time>] CMD;...` and checks the time is a plausible now.
fn command_fields(line: &str) -> Vec<String> {
    let (time, rest) = line
        .strip_prefix('[')
        .and_then(|l| l.split_once("] "))
        .unwrap_or_else(|| panic!("not an external command: {line:?}"));
    let t: u64 = time.parse().expect("time");
    assert!(t > 1_700_000_000, "time {t}");
    rest.split(';').map(String::from).collect()
}

#[test]
fn service_click_writes_one_line_to_the_fifo_and_updates_the_post() {
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let (status, body) = serve.post(&click_body("web1", "HTTP"));
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    let att = &v["update"]["props"]["attachments"][0];
    assert_eq!(att["title"], "Acknowledged: HTTP on web1");
    assert_eq!(att["color"], "#1895f5");
    let text = att["text"].as_str().unwrap();
    assert!(text.starts_with("Acknowledged by @alice at "), "{text}");
    assert!(text.ends_with(" UTC"), "{text}");
    // The Ack button is gone; the updated post offers Unack (and Recheck).
    let ids: Vec<&str> = att["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["unack", "recheck"]);
    assert_eq!(v["update"]["message"], "");
    assert_eq!(v["ephemeral_text"], "You acknowledged HTTP on web1.");
    let line = fifo.next_line();
    assert_eq!(
        command_fields(&line),
        [
            "ACKNOWLEDGE_SVC_PROBLEM",
            "web1",
            "HTTP",
            "2",
            "0",
            "1",
            "alice",
            "Acknowledged via Mattermost by @alice"
        ]
    );
    let log = serve.wait_stderr("acknowledged via command file");
    assert!(
        log.contains(r#"POST "/mattermost/ack" -> 200 user="alice" target="HTTP on web1""#),
        "{log}"
    );
    assert!(!log.contains(SECRET), "secret in the log");
    // Exactly one line: a second click's line is the next one read.
    let (status, _) = serve.post(&click_body("web2", "DNS"));
    assert_eq!(status, 200);
    assert!(fifo.next_line().contains(";web2;DNS;"));
    assert!(!fifo.has_more());
}

#[test]
fn host_click_appends_to_a_regular_file_and_notify_flag_is_configurable() {
    let dir = kit::Dir::new("regular");
    let file = dir.join("commands.log");
    std::fs::write(&file, "").unwrap();
    let serve = kit::serve_on(&file, vec![("MATTERMOST_ACK_NOTIFY", "1".into())]);
    let body = serde_json::to_vec(&callback("bob.smith", kit::host_context("db-1"))).unwrap();
    let (status, reply) = serve.post(&body);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        json(&reply)["update"]["props"]["attachments"][0]["title"],
        "Acknowledged: db-1"
    );
    let written = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 1, "{written:?}");
    assert_eq!(
        command_fields(lines[0]),
        [
            "ACKNOWLEDGE_HOST_PROBLEM",
            "db-1",
            "2",
            "1",
            "1",
            "bob.smith",
            "Acknowledged via Mattermost by @bob.smith"
        ]
    );
    assert!(written.ends_with('\n'));
}

#[test]
fn keep_alive_connection_serves_several_requests() {
    use std::io::{Read, Write};
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    for host in ["ka1", "ka2", "ka3"] {
        let body = click_body(host, "svc");
        let req = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            kit::ACK_PATH,
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        s.write_all(&body).unwrap();
        // Read exactly one response: head, then Content-Length bytes.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).expect("response head");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.to_ascii_lowercase().contains("connection: keep-alive"));
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(String::from)
            })
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).unwrap();
        assert!(fifo.next_line().contains(&format!(";{host};svc;")));
    }
}

#[test]
fn fifo_without_reader_answers_at_once_with_an_explanation() {
    let fifo = Fifo::without_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let (status, body) = serve.post(&click_body("web1", "HTTP"));
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert!(
        v.get("update").is_none(),
        "post must stay unchanged: {body}"
    );
    let text = v["ephemeral_text"].as_str().unwrap();
    assert!(text.contains("not reading its command pipe"), "{text}");
}

#[test]
fn full_pipe_times_out_with_an_explanation() {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fifo = Fifo::without_reader();
    // A reader that never reads, then fill the pipe to the brim.
    let _reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo.path)
        .unwrap();
    let mut filler = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo.path)
        .unwrap();
    let chunk = [b'x'; 4096];
    loop {
        match filler.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("filling the pipe: {e}"),
        }
    }
    let serve = kit::serve_on(&fifo.path, vec![]);
    let (status, body) = serve.post(&click_body("web1", "HTTP"));
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert!(v.get("update").is_none(), "{body}");
    assert!(
        v["ephemeral_text"]
            .as_str()
            .unwrap()
            .contains("stayed full"),
        "{body}"
    );
}

#[test]
fn missing_command_file_is_explained_and_not_created() {
    let dir = kit::Dir::new("missing");
    let path = dir.join("nagios.cmd");
    let serve = kit::serve_on(&path, vec![]);
    let (status, body) = serve.post(&click_body("web1", "HTTP"));
    assert_eq!(status, 200);
    assert!(json(&body)["ephemeral_text"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
    assert!(!path.exists(), "a missing pipe must not become a file");
}

#[test]
fn other_paths_are_404_and_other_methods_405() {
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let (s, _) =
        serve.raw(b"POST /other HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    assert_eq!(s, 404);
    let (s, _) = serve.raw(
        format!(
            "GET {} HTTP/1.1\r\nConnection: close\r\n\r\n",
            kit::ACK_PATH
        )
        .as_bytes(),
    );
    assert_eq!(s, 405);
    let (s, _) = serve.raw(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(s, 404);
    let (status, _) = serve.post(&click_body("after", "404s"));
    assert_eq!(status, 200);
    assert!(fifo.next_line().contains(";after;404s;"));
}

#[test]
fn serve_without_secret_file_or_backend_names_the_setting() {
    let out = std::process::Command::new(crate::bin())
        .env_clear()
        .env("MATTERMOST_ACK_URL", "https://mon.example/ack")
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--command-file",
            "/nonexistent",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MATTERMOST_ACK_SECRET_FILE"));

    let dir = kit::Dir::new("short");
    let short = dir.join("short.secret");
    std::fs::write(&short, "too short\n").unwrap();
    let out = std::process::Command::new(crate::bin())
        .env_clear()
        .env("MATTERMOST_ACK_URL", "https://mon.example/ack")
        .env("MATTERMOST_ACK_SECRET_FILE", &short)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--command-file",
            "/nonexistent",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 32"), "{err}");
    assert!(!err.contains("too short"), "secret content leaked: {err}");

    let long = dir.join("long.secret");
    std::fs::write(&long, SECRET).unwrap();
    let out = std::process::Command::new(crate::bin())
        .env_clear()
        .env("MATTERMOST_ACK_URL", "https://mon.example/ack")
        .env("MATTERMOST_ACK_SECRET_FILE", &long)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    // A missing backend is a setting to fix (78), not a wrong flag (64).
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    for name in [
        "MATTERMOST_COMMAND_FILE",
        "--command-file",
        "MATTERMOST_OITC_URL",
        "--oitc-url",
    ] {
        assert!(err.contains(name), "{name}: {err}");
    }

    let out = std::process::Command::new(crate::bin())
        .env_clear()
        .env("MATTERMOST_ACK_URL", "https://mon.example/ack")
        .env("MATTERMOST_ACK_SECRET_FILE", &long)
        .env("MATTERMOST_OITC_URL", "https://oitc.example")
        .env("MATTERMOST_OITC_API_KEY", "k")
        .env("MATTERMOST_SYSLOG", "0")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--command-file", "/nonexistent"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("MATTERMOST_OITC_URL") && err.contains("MATTERMOST_COMMAND_FILE"),
        "{err}"
    );
    assert!(err.contains("not several"), "{err}");
}

fn standin_base(standin: &crate::support::MattermostStandIn, scheme: &str) -> String {
    let host = if scheme == "https" {
        "localhost"
    } else {
        "127.0.0.1"
    };
    format!("{scheme}://{host}:{}", standin.port())
}

#[test]
fn openitcockpit_backend_sends_the_api_call_with_the_key_in_the_header() {
    use crate::support::{Behaviour, MattermostStandIn, TestPki};
    let pki = TestPki::new();
    let oitc = MattermostStandIn::https(&pki);
    oitc.set_default(Behaviour::Status {
        status: 200,
        body: r#"{"message":"Command added successfully to queue"}"#.into(),
    });
    let base = standin_base(&oitc, "https");
    let mut serve = kit::Serve::start(kit::Options {
        command_file: None,
        oitc_url: Some(&base),
        env: vec![
            ("MATTERMOST_OITC_API_KEY", "f3c1d2e4a5b6oitcapikey".into()),
            ("MATTERMOST_CA_FILE", pki.ca_file.display().to_string()),
        ],
        tls: None,
        listen: None,
    });
    let (status, body) = serve.post(&click_body(
        "c36b8048-93ce-4385-ac19-ab5c90574b77",
        "74f14950-a58f-4f18-b6c3-5cfa9dffef4e",
    ));
    assert_eq!(status, 200, "{body}");
    assert!(json(&body).get("update").is_some(), "{body}");
    let reqs = oitc.wait_for_requests(1, Duration::from_secs(20));
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/nagios_module/cmd/submit.json");
    assert_eq!(
        r.header("authorization"),
        Some("X-OITC-API f3c1d2e4a5b6oitcapikey")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        serde_json::json!({
            "command": "ACKNOWLEDGE_SVC_PROBLEM",
            "hostUuid": "c36b8048-93ce-4385-ac19-ab5c90574b77",
            "serviceUuid": "74f14950-a58f-4f18-b6c3-5cfa9dffef4e",
            "sticky": 2, "notify": 0, "persistent": 1,
            "author": "alice",
            "comment": "Acknowledged via Mattermost by @alice"
        })
    );
    // The key stays on the receiver: not in the reply, not in the log.
    assert!(!body.contains("oitcapikey"));
    let log = serve.wait_stderr("acknowledged via openITCOCKPIT");
    assert!(!log.contains("oitcapikey"), "{log}");
    assert!(serve.alive());
}

/// The other actions through openITCOCKPIT's API, as the README's table
/// says: a recheck with `check_time`, an unack, a service downtime and a
/// host downtime with its services (two calls), each with the times.
#[test]
fn openitcockpit_backend_sends_every_action_with_the_apis_names() {
    use crate::support::{Behaviour, MattermostStandIn, TestPki};
    let pki = TestPki::new();
    let oitc = MattermostStandIn::https(&pki);
    oitc.set_default(Behaviour::Status {
        status: 200,
        body: r#"{"message":"Command added successfully to queue"}"#.into(),
    });
    let dialogs = MattermostStandIn::https(&pki);
    let base = standin_base(&oitc, "https");
    let serve = kit::Serve::start(kit::Options {
        command_file: None,
        oitc_url: Some(&base),
        env: vec![
            ("MATTERMOST_OITC_API_KEY", "f3c1d2e4a5b6oitcapikey".into()),
            ("MATTERMOST_CA_FILE", pki.ca_file.display().to_string()),
            ("MATTERMOST_ACTIONS", "ack,downtime,recheck".into()),
            ("MATTERMOST_URL", dialogs.base_url()),
        ],
        tls: None,
        listen: None,
    });
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let t0 = now();
    let body = kit::click(
        &serve,
        &dialogs,
        kit::with_action(kit::service_context("h-uuid", "s-uuid"), "recheck"),
    );
    assert!(
        kit::ephemeral(&body).starts_with("You asked for a recheck"),
        "{body}"
    );
    let body = kit::click(
        &serve,
        &dialogs,
        kit::with_action(kit::host_context("h-uuid"), "unack"),
    );
    assert!(
        kit::ephemeral(&body).starts_with("You removed the acknowledgement"),
        "{body}"
    );
    let state = kit::open_dialog(
        &serve,
        &dialogs,
        kit::with_action(kit::service_context("h-uuid", "s-uuid"), "downtime"),
    );
    let (status, body) = serve.submit(&kit::submission(
        &state,
        serde_json::json!({"preset": "1h", "comment": "patching"}),
    ));
    assert_eq!((status, body.as_str()), (200, "{}"), "{}", serve.stderr());
    let state = kit::open_dialog(
        &serve,
        &dialogs,
        kit::with_action(kit::host_context("h-uuid"), "downtime"),
    );
    let (status, body) = serve.submit(&kit::submission(
        &state,
        serde_json::json!({"preset": "4h", "comment": "", "services": true}),
    ));
    assert_eq!((status, body.as_str()), (200, "{}"), "{}", serve.stderr());
    let t1 = now();
    let reqs = oitc.wait_for_requests(5, Duration::from_secs(20));
    assert_eq!(reqs.len(), 5, "{reqs:?}");
    for r in &reqs {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/nagios_module/cmd/submit.json")
        );
        assert_eq!(
            r.header("authorization"),
            Some("X-OITC-API f3c1d2e4a5b6oitcapikey")
        );
    }
    let mut bodies: Vec<serde_json::Value> = reqs.iter().map(|r| r.json()).collect();
    // The times are "now": check them, then compare the rest exactly.
    let mut take = |i: usize, k: &str| -> u64 {
        let v = bodies[i][k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k}: {}", bodies[i]));
        assert!((t0..=t1).contains(&v) || k == "end_time", "{k} {v}");
        bodies[i].as_object_mut().unwrap().remove(k);
        v
    };
    take(0, "check_time");
    for (i, secs) in [(2, 3600), (3, 4 * 3600), (4, 4 * 3600)] {
        let start = take(i, "start_time");
        assert_eq!(take(i, "end_time"), start + secs);
    }
    assert_eq!(
        bodies,
        [
            serde_json::json!({"command": "SCHEDULE_FORCED_SVC_CHECK",
                "hostUuid": "h-uuid", "serviceUuid": "s-uuid"}),
            serde_json::json!({"command": "REMOVE_HOST_ACKNOWLEDGEMENT", "hostUuid": "h-uuid"}),
            serde_json::json!({"command": "SCHEDULE_SVC_DOWNTIME",
                "hostUuid": "h-uuid", "serviceUuid": "s-uuid", "fixed": 1, "trigger_id": 0,
                "duration": 3600, "author": "alice", "comment": "patching"}),
            serde_json::json!({"command": "SCHEDULE_HOST_DOWNTIME", "hostUuid": "h-uuid",
                "fixed": 1, "trigger_id": 0, "duration": 14400, "author": "alice",
                "comment": "Downtime via Mattermost by @alice"}),
            serde_json::json!({"command": "SCHEDULE_HOST_SVC_DOWNTIME", "hostUuid": "h-uuid",
                "fixed": 1, "trigger_id": 0, "duration": 14400, "author": "alice",
                "comment": "Downtime via Mattermost by @alice"}),
        ]
    );
}

#[test]
fn openitcockpit_refusal_leaves_the_post_and_explains() {
    use crate::support::{Behaviour, MattermostStandIn};
    let oitc = MattermostStandIn::http();
    oitc.set_default(Behaviour::Status {
        status: 403,
        body: "forbidden".into(),
    });
    let base = standin_base(&oitc, "http");
    let serve = kit::Serve::start(kit::Options {
        command_file: None,
        oitc_url: Some(&base),
        env: vec![("MATTERMOST_OITC_API_KEY", "wrongkey".into())],
        tls: None,
        listen: None,
    });
    let (status, body) = serve.post(&click_body("h", "s"));
    assert_eq!(status, 200);
    let v = json(&body);
    assert!(v.get("update").is_none(), "{body}");
    assert!(
        v["ephemeral_text"].as_str().unwrap().contains("HTTP 403"),
        "{body}"
    );
}

#[test]
fn https_receiver_answers_with_the_given_certificate() {
    use crate::support::TestPki;
    let pki = TestPki::new();
    let fifo = Fifo::with_reader();
    let mut serve = kit::Serve::start(kit::Options {
        command_file: Some(&fifo.path),
        oitc_url: None,
        env: vec![],
        tls: Some((&pki.leaf_cert_file, &pki.leaf_key_file)),
        listen: None,
    });
    // Plain HTTP to the TLS port: refused without harm.
    let (status, _) = serve.raw(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(status, 0);
    let pem = std::fs::read(&pki.ca_file).unwrap();
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let url = format!("https://localhost:{}{}", serve.port, kit::ACK_PATH);
    let mut resp = agent
        .post(&url)
        .header("Content-Type", "application/json")
        .send(&click_body("tls-host", "tls-svc")[..])
        .expect("HTTPS request");
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.body_mut().read_to_string().unwrap();
    assert!(json(&body).get("update").is_some(), "{body}");
    assert!(fifo.next_line().contains(";tls-host;tls-svc;"));
    assert!(serve.alive());
}

/// Runs `notify --dry-run` with `conf` lines; returns the payload JSON.
fn notify_dry_run(conf: &str, args: &[&str]) -> std::process::Output {
    let dir = kit::Dir::new("notify");
    let path = dir.join("notify.conf");
    std::fs::write(&path, conf).unwrap();
    let mut cmd = crate::support::command(&path);
    cmd.args(["notify", "--dry-run"]).args(args);
    cmd.output().expect("run notify")
}

const SERVICE_PROBLEM: [&str; 10] = [
    "--type",
    "Service",
    "--notificationtype",
    "PROBLEM",
    "--hostuuid",
    "web1",
    "--serviceuuid",
    "HTTP",
    "--state",
    "2",
];

#[test]
fn notify_button_round_trips_through_serve_and_keeps_the_mention() {
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let ack_url = format!("http://127.0.0.1:{}{}", serve.port, kit::ACK_PATH);
    let conf = format!(
        "MATTERMOST_TWO_WAY=1\nMATTERMOST_ACK_URL={ack_url}\nMATTERMOST_ACK_SECRET_FILE={}\n\
         MATTERMOST_ACK_TTL=1h\nMATTERMOST_MENTION=@oncall\n",
        serve.secret_file.display()
    );
    let out = notify_dry_run(&conf, &SERVICE_PROBLEM);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let post: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(post["text"], "@oncall");
    let action = &post["attachments"][0]["actions"][0];
    assert_eq!(action["integration"]["url"], ack_url.as_str());
    let context = action["integration"]["context"].clone();
    assert_eq!(context["v"], "2");
    let problem = context["problem"].as_str().unwrap();
    assert!(!problem.is_empty(), "the button names its problem");
    let exp: u64 = context["exp"].as_str().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(exp > now && exp <= now + 3600 + 5, "exp {exp} now {now}");
    // The secret is nowhere in the post.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(SECRET));
    let cb = callback("mm.carol", context.as_object().unwrap().clone());
    let (status, reply) = serve.post(&serde_json::to_vec(&cb).unwrap());
    assert_eq!(status, 200, "{reply}");
    let v = json(&reply);
    assert_eq!(v["update"]["message"], "@oncall");
    assert_eq!(
        v["update"]["props"]["attachments"][0]["title"],
        "Acknowledged: HTTP on web1"
    );
    assert_eq!(
        command_fields(&fifo.next_line()),
        [
            "ACKNOWLEDGE_SVC_PROBLEM",
            "web1",
            "HTTP",
            "2",
            "0",
            "1",
            "mm.carol",
            "Acknowledged via Mattermost by @mm.carol"
        ]
    );
}

#[test]
fn notify_signs_the_cores_problem_id_into_the_button() {
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let dir = kit::Dir::new("problem-id");
    let conf = dir.join("notify.conf");
    std::fs::write(
        &conf,
        format!(
            "MATTERMOST_TWO_WAY=1\nMATTERMOST_ACK_URL=http://127.0.0.1:{}{}\n\
             MATTERMOST_ACK_SECRET_FILE={}\n",
            serve.port,
            kit::ACK_PATH,
            serve.secret_file.display()
        ),
    )
    .unwrap();
    let out = crate::support::command(&conf)
        .env("NAGIOS_SERVICEPROBLEMID", "90210")
        .args(["notify", "--dry-run"])
        .args(SERVICE_PROBLEM)
        .output()
        .expect("run notify");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let post: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let context = post["attachments"][0]["actions"][0]["integration"]["context"]
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(context["problem"], "90210");
    // Another problem id under the same signature is refused.
    let mut moved = context.clone();
    moved.insert("problem".into(), "90211".into());
    let (status, _) = serve.post(&serde_json::to_vec(&callback("carol", moved)).unwrap());
    assert_eq!(status, 403);
    let (status, reply) = serve.post(&serde_json::to_vec(&callback("carol", context)).unwrap());
    assert_eq!(status, 200, "{reply}");
    assert!(fifo.next_line().contains(";web1;HTTP;2;0;1;carol;"));
    assert!(!fifo.has_more());
}

#[test]
fn notify_openitcockpit_mode_uses_the_original_url_and_no_context() {
    let conf = "MATTERMOST_TWO_WAY=1\nMATTERMOST_ACK_MODE=openitcockpit\n\
                MATTERMOST_OITC_URL=https://oitc.example/\nMATTERMOST_OITC_API_KEY=abc123\n";
    let out = notify_dry_run(conf, &SERVICE_PROBLEM);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let post: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let integration = &post["attachments"][0]["actions"][0]["integration"];
    assert_eq!(
        integration["url"],
        "https://oitc.example/mattermost_module/acknowledge/service.json?hostuuid=web1&serviceuuid=HTTP&apikey=abc123"
    );
    assert!(
        integration.get("context").is_none() || integration["context"] == serde_json::json!({})
    );
    // Recovery posts get no button.
    let mut recovery = SERVICE_PROBLEM;
    recovery[3] = "RECOVERY";
    recovery[9] = "0";
    let out = notify_dry_run(conf, &recovery);
    let post: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(post["attachments"][0].get("actions").is_none());
}

#[test]
fn notify_two_way_misconfiguration_names_the_setting() {
    // The post goes out without a button (exit 0); the error names the setting.
    let out = notify_dry_run("MATTERMOST_TWO_WAY=1\n", &SERVICE_PROBLEM);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MATTERMOST_ACK_URL"));
    let post: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(post["attachments"][0].get("actions").is_none());
    let dir = kit::Dir::new("weak");
    let weak = dir.join("weak.secret");
    std::fs::write(&weak, "hunter2\n").unwrap();
    let conf = format!(
        "MATTERMOST_ACK_URL=https://mon.example/ack\nMATTERMOST_ACK_SECRET_FILE={}\n",
        weak.display()
    );
    let out = notify_dry_run(&conf, &[&SERVICE_PROBLEM[..], &["--two-way"]].concat());
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("MATTERMOST_ACK_SECRET_FILE") && err.contains("at least 32"),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
}

#[test]
fn listens_on_ipv6_loopback() {
    let fifo = Fifo::with_reader();
    let serve = kit::Serve::start(kit::Options {
        command_file: Some(&fifo.path),
        oitc_url: None,
        env: vec![],
        tls: None,
        listen: Some("[::1]:0"),
    });
    let (status, body) = serve.post(&click_body("v6host", "v6svc"));
    assert_eq!(status, 200, "{body}");
    assert!(fifo.next_line().contains(";v6host;v6svc;"));
}

#[test]
fn expect_100_continue_is_honoured() {
    use std::io::{Read, Write};
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let body = click_body("continued", "svc");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        kit::ACK_PATH,
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(&body).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(kit::split_response(&rest).0, 200);
    assert!(fifo.next_line().contains(";continued;svc;"));
}
