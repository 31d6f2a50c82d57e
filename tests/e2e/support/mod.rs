//! Shared support for the end-to-end tests: a throw-away directory, a test
//! PKI, a loopback Mattermost stand-in, a real tinyproxy, a real Icinga 2
//! daemon, and the rule for tests that need an external tool.
//!
//! Everything here binds 127.0.0.1 port 0 (or a port it just got that way)
//! and talks to nothing else.

#![allow(dead_code)] // each test module uses a different part

pub mod icinga2;
pub mod pki;
pub mod standin;
pub mod syslog;
pub mod tinyproxy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use pki::TestPki;
#[allow(unused_imports)]
pub use standin::{Behaviour, MattermostStandIn, Recorded};
pub use syslog::SyslogSink;
pub use tinyproxy::Tinyproxy;

/// The webhook id the stand-in's URL carries: the secret that must never
/// appear in any output of the binary.
pub const HOOK_ID: &str = "q8n3kx7fdbgzmcw1pey5tj9aho";

/// A directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh, empty directory (mode 0700).
    pub fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "mattermost-notify-e2e-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        set_mode(&path, 0o700);
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `dir/name`.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `contents` to `dir/name` with mode 0600; returns the path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        set_mode(&path, 0o600);
        path
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sets unix permission bits.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Whether an external tool the test needs is there. When it is missing the
/// test is skipped with a printed reason under plain `cargo test`, but CI
/// (env `CI` set) must have it, so there it panics.
///
/// ```ignore
/// let Some(tinyproxy) = require_tool(&["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]) else { return };
/// ```
pub fn require_tool(candidates: &[&str]) -> Option<PathBuf> {
    if let Some(found) = candidates.iter().map(PathBuf::from).find(|p| p.is_file()) {
        return Some(found);
    }
    skip_or_fail_under_ci(&format!(
        "this test needs {} (not installed; .ci/run installs it)",
        candidates.join(" or ")
    ));
    None
}

/// The one rule for a test that cannot run here: under `CI` (env set) it
/// panics with `reason`, since CI must run every test; under plain `cargo
/// test` it prints `SKIPPED: <reason>` and the caller returns.
pub fn skip_or_fail_under_ci(reason: &str) {
    skip_or_fail(std::env::var_os("CI").is_some(), reason);
}

/// [`skip_or_fail_under_ci`] with the environment read by the caller, so
/// the rule itself is testable without changing the process environment.
pub fn skip_or_fail(ci: bool, reason: &str) {
    if ci {
        panic!("CI is set but {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// The binary under test: `MATTERMOST_NOTIFY_BIN` when set (CI points it at
/// a cross-built static binary run through qemu), else the one cargo built.
pub fn bin() -> PathBuf {
    match std::env::var_os("MATTERMOST_NOTIFY_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(crate::bin()),
    }
}

/// A `Command` for the binary with an empty environment (only `PATH` kept)
/// and `MATTERMOST_CONFIG` pointing at `config`, so no test ever reads
/// `/etc/mattermost-notify.conf`. `MATTERMOST_NOTIFY_RUNNER` (e.g.
/// `qemu-aarch64-static`) is put in front when set.
pub fn command(config: &Path) -> Command {
    let mut cmd = match std::env::var_os("MATTERMOST_NOTIFY_RUNNER") {
        Some(runner) if !runner.is_empty() => {
            let mut c = Command::new(runner);
            c.arg(bin());
            c
        }
        _ => Command::new(bin()),
    };
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("MATTERMOST_CONFIG", config);
    // Undelivered alerts go to a spool beside the config, never to
    // /var/spool, and a short retry budget keeps failing runs fast.
    if let Some(dir) = config.parent() {
        cmd.env("MATTERMOST_SPOOL_DIR", dir.join("spool"));
    }
    cmd.env("MATTERMOST_RETRY_BUDGET", "2");
    // The logger must not write test noise into the host's journal.
    cmd.env("MATTERMOST_SYSLOG", "0");
    cmd
}

/// Runs `cmd` and returns its output, panicking only if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run mattermost-notify")
}

/// Stderr as text, for assertions.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Panics with the exit code and stderr unless the run exited with `code`.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status {:?}, expected {code}\nstderr:\n{}\nstdout:\n{}",
        out.status,
        stderr(out),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A temp dir with an empty config file in it, and the `Command` for the
/// binary pointed at that file.
pub fn isolated() -> (TempDir, Command) {
    let dir = TempDir::new();
    let conf = dir.write("empty.conf", "");
    let cmd = command(&conf);
    (dir, cmd)
}

/// The arguments of a typical service PROBLEM, in the original module's
/// options.
pub const SERVICE_PROBLEM: &[&str] = &[
    "notify",
    "--type",
    "Service",
    "--notificationtype",
    "PROBLEM",
    "--hostuuid",
    "web1",
    "--serviceuuid",
    "http",
    "--state",
    "2",
    "--output",
    "CRITICAL - connection refused",
];

/// Panics if the secret hook id shows up in any output of the run.
pub fn assert_no_secret(out: &Output) {
    for (name, bytes) in [("stderr", &out.stderr), ("stdout", &out.stdout)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(HOOK_ID),
            "the webhook secret leaked into {name}:\n{text}"
        );
    }
}
