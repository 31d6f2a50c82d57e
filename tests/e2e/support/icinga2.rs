//! A real Icinga 2 daemon (Debian bookworm's `icinga2`, 2.13) for a test:
//! started unprivileged in a temporary directory from a given objects
//! configuration (DESIGN §11), its REST API on a loopback port, stopped
//! (TERM, then KILL) and its directory removed on drop.
//!
//! The harness writes the daemon's whole configuration itself: the node's
//! endpoint and zone, an `ApiListener` on 127.0.0.1, the checker, the
//! `ExternalCommandListener` on a FIFO in the directory, and two API users:
//! [`API_USER`] with exactly the permissions given (the product's user; the
//! README's list by default) and a harness user with every permission, used
//! only to look at the result through Icinga's own API. `icinga2 api setup`
//! (with the same directory constants) makes the CA and the certificate for
//! `localhost`; the caller's objects follow the generated header.
//!
//! ```ignore
//! let Some(icinga) = Icinga2::start(r#"object Host "web1" { check_command = "dummy"; vars.dummy_state = 2 }"#) else { return };
//! icinga.wait_for("web1 DOWN", |i| i.host("web1")["state"] == 1.0);
//! ```

use super::TempDir;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the daemon.
pub const ICINGA2: &str = "/usr/sbin/icinga2";

/// The API user the product logs in as.
pub const API_USER: &str = "mattermost";

/// The permissions the README gives [`API_USER`]: what `serve` needs for
/// every action it offers, nothing more.
pub const README_PERMISSIONS: &[&str] = &[
    "actions/acknowledge-problem",
    "actions/remove-acknowledgement",
    "actions/schedule-downtime",
    "actions/reschedule-check",
];

/// The harness's own user (every permission), for looking at results.
const HARNESS_USER: &str = "harness";

/// Objects that turn problems around fast: checks every second, one
/// attempt. Use as `import "fast"` in hosts and services.
pub const FAST_TEMPLATES: &str = r#"
template Host "fast" {
  check_command = "dummy"
  check_interval = 1s
  retry_interval = 1s
  max_check_attempts = 1
}
template Service "fast" {
  check_command = "dummy"
  check_interval = 1s
  retry_interval = 1s
  max_check_attempts = 1
}
"#;

/// A running daemon.
pub struct Icinga2 {
    child: Child,
    /// The API port on 127.0.0.1 (the certificate names `localhost`).
    pub port: u16,
    /// The CA that signed the API's certificate (PEM).
    pub ca_file: PathBuf,
    /// A file holding [`API_USER`]'s password (mode 0600, no newline).
    pub password_file: PathBuf,
    /// The `ExternalCommandListener` FIFO.
    pub command_pipe: PathBuf,
    password: String,
    harness_password: String,
    log: PathBuf,
    agent: ureq::Agent,
    dir: TempDir,
}

impl std::fmt::Debug for Icinga2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Icinga2")
            .field("port", &self.port)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl Icinga2 {
    /// Starts a daemon with `objects` and [`README_PERMISSIONS`]; `None`
    /// when `icinga2` is not installed and `CI` is not set (skipped with a
    /// reason). Panics when it does not come up.
    pub fn start(objects: &str) -> Option<Icinga2> {
        Icinga2::start_with_permissions(objects, README_PERMISSIONS)
    }

    /// [`Icinga2::start`] with [`API_USER`] given exactly `permissions`.
    pub fn start_with_permissions(objects: &str, permissions: &[&str]) -> Option<Icinga2> {
        Icinga2::start_with_env(objects, permissions, &[])
    }

    /// [`Icinga2::start_with_permissions`] with `env` added to the daemon's
    /// environment, which its commands inherit (`MATTERMOST_CONFIG` for a
    /// NotificationCommand that names no config file).
    pub fn start_with_env(
        objects: &str,
        permissions: &[&str],
        env: &[(&str, String)],
    ) -> Option<Icinga2> {
        super::require_tool(&[ICINGA2])?;
        // The port is picked by binding port 0 and letting go; another
        // test may take it in between, so a failed start is tried again.
        let mut last = String::new();
        for _ in 0..3 {
            match Icinga2::try_start(objects, permissions, env) {
                Ok(i) => return Some(i),
                Err(why) => last = why,
            }
        }
        panic!("icinga2 did not start:\n{last}");
    }

    fn try_start(
        objects: &str,
        permissions: &[&str],
        env: &[(&str, String)],
    ) -> Result<Icinga2, String> {
        let dir = TempDir::new();
        for sub in ["etc", "data", "log", "cache", "spool", "run"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
        }
        let constants = constants(dir.path());
        let setup = Command::new(ICINGA2)
            .args(["api", "setup", "--cn", "localhost"])
            .args(&constants)
            .envs(run_as())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running icinga2 api setup: {e}"))?;
        if !setup.status.success() {
            return Err(format!(
                "icinga2 api setup failed:\n{}{}",
                String::from_utf8_lossy(&setup.stdout),
                String::from_utf8_lossy(&setup.stderr)
            ));
        }
        let port = free_port();
        let password = random_hex();
        let harness_password = random_hex();
        let command_pipe = dir.join("run/icinga2.cmd");
        let perms = permissions
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let conf = format!(
            r#"const NodeName = "localhost"
const ZoneName = "localhost"
include <itl>
object Endpoint NodeName {{}}
object Zone ZoneName {{ endpoints = [ NodeName ] }}
object ApiListener "api" {{
  bind_host = "127.0.0.1"
  bind_port = {port}
  accept_config = false
  accept_commands = false
}}
object CheckerComponent "checker" {{}}
object ExternalCommandListener "command" {{ command_path = {pipe:?} }}
object ApiUser {API_USER:?} {{
  password = {password:?}
  permissions = [ {perms} ]
}}
object ApiUser {HARNESS_USER:?} {{
  password = {harness_password:?}
  permissions = [ "*" ]
}}
{FAST_TEMPLATES}
{objects}
"#,
            pipe = command_pipe.display().to_string(),
        );
        let main = dir.write("etc/mattermost-test.conf", conf);
        let password_file = dir.write("api-password", &password);
        let log = dir.join("daemon.log");
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(ICINGA2)
            .arg("daemon")
            .arg("-c")
            .arg(&main)
            .args(&constants)
            .envs(run_as())
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting icinga2: {e}"))?;
        let ca_file = dir.join("data/certs/ca.crt");
        let agent = agent(&ca_file)?;
        let mut icinga = Icinga2 {
            child,
            port,
            ca_file,
            password_file,
            command_pipe,
            password,
            harness_password,
            log,
            agent,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = icinga.child.try_wait() {
                return Err(format!("icinga2 exited ({status}):\n{}", icinga.log()));
            }
            if icinga.log().contains("Cannot bind") {
                return Err(format!("port {port} taken:\n{}", icinga.log()));
            }
            if let Ok((200, _)) = icinga.harness_get("/v1/status/IcingaApplication") {
                if icinga.command_pipe.exists() {
                    return Ok(icinga);
                }
            }
            if Instant::now() > deadline {
                return Err(format!("the API did not answer in 60 s:\n{}", icinga.log()));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `https://localhost:<port>`: the name the certificate carries.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// [`API_USER`]'s password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The daemon's own log (stdout and stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The temporary directory the daemon runs in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// GET `path` as the harness user: status and JSON body.
    pub fn harness_get(&self, path: &str) -> Result<(u16, serde_json::Value), String> {
        let url = format!("{}{path}", self.url());
        let mut resp = self
            .agent
            .get(&url)
            .header("Authorization", basic(HARNESS_USER, &self.harness_password))
            .header("Accept", "application/json")
            .call()
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status().as_u16();
        let mut body = String::new();
        resp.body_mut()
            .as_reader()
            .read_to_string(&mut body)
            .map_err(|e| e.to_string())?;
        let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
        Ok((status, json))
    }

    /// POST `body` to `path` as `user` with `password` (the harness user
    /// when `None`): status and JSON body. For setting up a case, or for
    /// showing what Icinga answers.
    pub fn post_as(
        &self,
        user: Option<(&str, &str)>,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value), String> {
        let (u, p) = user.unwrap_or((HARNESS_USER, &self.harness_password));
        let url = format!("{}{path}", self.url());
        let mut resp = self
            .agent
            .post(&url)
            .header("Authorization", basic(u, p))
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status().as_u16();
        let mut text = String::new();
        resp.body_mut()
            .as_reader()
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Ok((status, json))
    }

    /// The attributes of host `name` (`state`, `acknowledgement`,
    /// `downtime_depth`, `last_check`, …), or `Null` when there is none.
    pub fn host(&self, name: &str) -> serde_json::Value {
        self.attrs(&format!("/v1/objects/hosts/{}", pct(name)))
    }

    /// The attributes of service `service` on `host`, or `Null`.
    pub fn service(&self, host: &str, service: &str) -> serde_json::Value {
        self.attrs(&format!(
            "/v1/objects/services/{}",
            pct(&format!("{host}!{service}"))
        ))
    }

    /// Every object of `kind` (`comments`, `downtimes`), attributes only.
    pub fn objects(&self, kind: &str) -> Vec<serde_json::Value> {
        match self.harness_get(&format!("/v1/objects/{kind}")) {
            Ok((200, v)) => v["results"]
                .as_array()
                .map(|r| r.iter().map(|o| o["attrs"].clone()).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn attrs(&self, path: &str) -> serde_json::Value {
        match self.harness_get(path) {
            Ok((200, v)) => v["results"][0]["attrs"].clone(),
            _ => serde_json::Value::Null,
        }
    }

    /// Waits (up to 60 s) until `done` holds; panics naming `what` and
    /// showing the daemon's log otherwise.
    pub fn wait_for(&self, what: &str, done: impl Fn(&Icinga2) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if done(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "icinga2: {what} did not happen within 60 s; log:\n{}",
            self.log()
        );
    }
}

impl Drop for Icinga2 {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `-D` constants that keep every file of the daemon in `dir`.
fn constants(dir: &Path) -> Vec<String> {
    [
        ("ConfigDir", "etc"),
        ("DataDir", "data"),
        ("LogDir", "log"),
        ("CacheDir", "cache"),
        ("SpoolDir", "spool"),
        ("InitRunDir", "run"),
    ]
    .iter()
    .map(|(name, sub)| format!("-D{name}={}", dir.join(sub).display()))
    .collect()
}

/// `ICINGA2_USER` and `ICINGA2_GROUP`: whoever runs the test.
fn run_as() -> [(&'static str, String); 2] {
    let id = |flag: &str| {
        Command::new("id")
            .arg(flag)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    [("ICINGA2_USER", id("-un")), ("ICINGA2_GROUP", id("-gn"))]
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn agent(ca_file: &Path) -> Result<ureq::Agent, String> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig};
    // The CA exists once `api setup` ran, which is before the daemon starts.
    let pem = std::fs::read(ca_file).map_err(|e| format!("{}: {e}", ca_file.display()))?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::new_with_certs(&certs))
        .build();
    Ok(ureq::Agent::config_builder()
        .tls_config(tls)
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into())
}

fn basic(user: &str, password: &str) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let raw = format!("{user}:{password}");
    let mut out = String::from("Basic ");
    for chunk in raw.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn basic_auth_is_rfc7617() {
    assert_eq!(
        basic("Aladdin", "open sesame"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
    assert_eq!(basic("a", "b"), "Basic YTpi");
}
