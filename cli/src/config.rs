//! Configuration: one name per setting, used three ways.
//!
//! `MATTERMOST_WEBHOOK_URL` is a `KEY=value` line in the config file
//! (default `/etc/mattermost-notify.conf`, systemd `EnvironmentFile`
//! syntax), the environment variable of the same name, and the flag
//! `--webhook-url`. Later layers win: file < environment < flags. The store
//! is a plain key → value map; typed getters turn a value into what the
//! caller needs and name the key, the flag and where the value came from
//! when it is invalid. Subcommands add their flags with [`Config::set_flag`].

use crate::error::Error;
use mattermost_notify_core::render::{Priority, StateSet};
use mattermost_notify_core::State;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The config file read when neither `--config` nor `MATTERMOST_CONFIG` is set.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/mattermost-notify.conf";

/// The names of all settings, as constants so a typo is a compile error.
pub mod key {
    macro_rules! keys {
        ($($name:ident),* $(,)?) => {
            $(
                #[doc = concat!("`MATTERMOST_", stringify!($name), "`")]
                pub const $name: &str = concat!("MATTERMOST_", stringify!($name));
            )*
        };
    }
    keys!(
        CONFIG,
        LOG_LEVEL,
        SYSLOG,
        WEBHOOK_URL,
        CA_FILE,
        INSECURE,
        USE_PROXY,
        PROXY,
        CONNECT_TIMEOUT,
        TIMEOUT,
        CHANNEL,
        USERNAME,
        ICON_URL,
        MENTION,
        MENTION_STATES,
        PRIORITY,
        PRIORITY_STATES,
        HOST_URL,
        SERVICE_URL,
        UI_BASE_URL,
        IMAGE_URL,
        SOURCE,
        NO_EMOJI,
        TWO_WAY,
        ACK_MODE,
        ACK_URL,
        ACK_SECRET_FILE,
        ACK_TTL,
        ACK_NOTIFY,
        ACTIONS,
        URL,
        ALLOWED_USERS,
        ALLOWED_USER_IDS,
        ALLOWED_TEAMS,
        ALLOWED_CHANNELS,
        OITC_URL,
        OITC_API_KEY,
        COMMAND_FILE,
        ICINGA_URL,
        ICINGA_USER,
        ICINGA_PASSWORD_FILE,
        ICINGA_CA_FILE,
        RETRY_BUDGET,
        SPOOL_DIR,
        SPOOL_MAX_FILES,
        SPOOL_MAX_BYTES,
        STATE_DIR,
        CLOSED_RETENTION,
        BOT_TOKEN_FILE,
        TEAM,
        CHANNEL_ID,
        DIGEST,
        DIGEST_WINDOW,
        DIGEST_THRESHOLD,
    );
}

/// One known setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Name in the file and the environment.
    pub key: &'static str,
    /// Its flag, derived from the key (`MATTERMOST_WEBHOOK_URL` → `--webhook-url`);
    /// empty for a secret that must not appear in `ps`.
    pub flag: &'static str,
    /// Whether the value is a secret (redacted in logs; the file holding it
    /// must not be readable by others).
    pub secret: bool,
    /// One line for the README's reference.
    pub help: &'static str,
}

macro_rules! settings {
    ($( $key:ident $flag:literal $secret:literal $help:literal ;)*) => {
        /// Every setting the program knows, in README order.
        pub const SETTINGS: &[Setting] = &[
            $( Setting { key: key::$key, flag: $flag, secret: $secret, help: $help }, )*
        ];
    };
}

settings! {
    CONFIG "--config" false "config file (default /etc/mattermost-notify.conf); env or flag only";
    LOG_LEVEL "--log-level" false "error, warn (default), info, debug or trace";
    SYSLOG "--syslog" false "1: also log to /dev/log when it exists (default); 0: don't; or a socket path";
    WEBHOOK_URL "--webhook-url" true "the incoming webhook URL (required)";
    CA_FILE "--ca-file" false "PEM file of CAs to trust instead of the bundled roots";
    INSECURE "--insecure" false "1: do not verify the server's certificate (logged loudly)";
    USE_PROXY "--use-proxy" false "1: connect through a proxy (the original's 'Use Proxy Server')";
    PROXY "--proxy" false "proxy URL; default HTTPS_PROXY/ALL_PROXY/HTTP_PROXY; NO_PROXY honoured";
    CONNECT_TIMEOUT "--connect-timeout" false "seconds to connect (default 5)";
    TIMEOUT "--timeout" false "seconds for the whole request (default 15)";
    CHANNEL "--channel" false "channel override (name, #name or @user); API mode: the channel's name in MATTERMOST_TEAM";
    USERNAME "--username" false "username override";
    ICON_URL "--icon-url" false "icon URL override";
    MENTION "--mention" false "a mention such as @oncall added to problem posts";
    MENTION_STATES "--mention-states" false "states that get the mention (default DOWN,UNREACHABLE,CRITICAL)";
    PRIORITY "--priority" false "message priority for problem posts: important or urgent";
    PRIORITY_STATES "--priority-states" false "states that get the priority (default DOWN,CRITICAL)";
    HOST_URL "--host-url" false "title link for host alerts; {hostuuid} {hostname}";
    SERVICE_URL "--service-url" false "title link for service alerts; also {serviceuuid} {servicename}";
    UI_BASE_URL "--ui-base-url" false "openITCOCKPIT base URL: links <base>/a/hosts/browser/{hostuuid}";
    IMAGE_URL "--image-url" false "graph image for every post (PNP4Nagios, Grafana); the title-link placeholders";
    SOURCE "--source" false "footer source name";
    NO_EMOJI "--no-emoji" false "1: no emoji in titles";
    TWO_WAY "--two-way" false "1: Acknowledge buttons on problem posts";
    ACK_MODE "--ack-mode" false "where buttons point: receiver (our serve, signed; default) or openitcockpit";
    ACK_URL "--ack-url" false "URL Mattermost posts button clicks to (the serve receiver)";
    ACK_SECRET_FILE "--ack-secret-file" false "file holding the key that signs button contexts";
    ACK_TTL "--ack-ttl" false "how long a button stays valid: seconds or 30m, 12h, 7d (default 7d)";
    ACK_NOTIFY "--ack-notify" false "1: acknowledgements notify contacts";
    ACTIONS "--actions" false "buttons on problem posts: ack, comment, downtime, recheck (default ack,downtime,recheck; at most three shown)";
    URL "--url" false "the Mattermost server's base URL; serve opens comment and downtime dialogs there; with MATTERMOST_BOT_TOKEN_FILE: API mode (threads)";
    ALLOWED_USERS "--allowed-users" false "Mattermost users allowed to acknowledge (comma-separated)";
    ALLOWED_USER_IDS "--allowed-user-ids" false "Mattermost user ids allowed to acknowledge (comma-separated; ids cannot be renamed)";
    ALLOWED_TEAMS "--allowed-teams" false "Mattermost teams allowed to acknowledge";
    ALLOWED_CHANNELS "--allowed-channels" false "Mattermost channels allowed to acknowledge";
    OITC_URL "--oitc-url" false "openITCOCKPIT base URL for API acknowledgements";
    OITC_API_KEY "" true "openITCOCKPIT API key (file or environment only: a flag would show it in ps)";
    COMMAND_FILE "--command-file" false "the monitoring core's external command pipe";
    ICINGA_URL "--icinga-url" false "Icinga 2 API base URL, e.g. https://icinga.example:5665 (serve acts through its API)";
    ICINGA_USER "--icinga-user" false "the Icinga 2 ApiUser serve logs in as";
    ICINGA_PASSWORD_FILE "--icinga-password-file" false "file holding that ApiUser's password";
    ICINGA_CA_FILE "--icinga-ca-file" false "PEM CA that signed the Icinga 2 API's certificate (default: the bundled roots)";
    RETRY_BUDGET "--retry-budget" false "seconds a notification may spend retrying";
    SPOOL_DIR "--spool-dir" false "directory keeping undelivered posts";
    SPOOL_MAX_FILES "--spool-max-files" false "most posts the spool keeps";
    SPOOL_MAX_BYTES "--spool-max-bytes" false "most bytes the spool keeps";
    STATE_DIR "--state-dir" false "the node's state directory shared by notify and serve (default: the spool directory)";
    CLOSED_RETENTION "--closed-retention" false "how long recovered problems' records are kept: seconds or 30m, 12h, 7d (default 7d)";
    BOT_TOKEN_FILE "--bot-token-file" false "file holding the bot account's token (API mode; never the token itself)";
    TEAM "--team" false "API mode: the team name of MATTERMOST_CHANNEL";
    CHANNEL_ID "--channel-id" false "API mode: the channel id (instead of MATTERMOST_TEAM and MATTERMOST_CHANNEL)";
    DIGEST "--digest" false "0: one post per alert even in a storm; 1: digests (default)";
    DIGEST_WINDOW "--digest-window" false "seconds a storm's digest collects alerts (default 3)";
    DIGEST_THRESHOLD "--digest-threshold" false "alerts of a window posted one by one before the rest go into digests (default 10)";
}

/// The known setting called `key`.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of the config file.
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// The environment variable of the same name.
    Env,
    /// The command-line flag.
    Flag,
}

/// The layered key → value store.
#[derive(Debug, Default)]
pub struct Config {
    values: BTreeMap<&'static str, (String, Origin)>,
    /// The file read, if any.
    pub file: Option<PathBuf>,
}

impl Config {
    /// Reads the config file, then the environment over it.
    ///
    /// The file is `path` (from `--config`), else `MATTERMOST_CONFIG`, else
    /// [`DEFAULT_CONFIG_FILE`]. A missing default file is fine; a missing
    /// file that was asked for is an error.
    pub fn load(path: Option<&str>) -> Result<Config, Error> {
        let env_path = env_value(key::CONFIG).filter(|p| !p.is_empty());
        let (path, explicit) = match (path, env_path) {
            (Some(p), _) => (PathBuf::from(p), true),
            (None, Some(p)) => (PathBuf::from(p), true),
            (None, None) => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let mut config = Config::default();
        match std::fs::read(&path) {
            Ok(bytes) => {
                config.read_file(&path, &String::from_utf8_lossy(&bytes));
                warn_if_exposed(&path, &config);
                config.file = Some(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {}
            Err(e) => {
                return Err(Error::config(
                    key::CONFIG,
                    format!("cannot read config file {}: {e} (--config)", path.display()),
                ))
            }
        }
        for s in SETTINGS {
            if let Some(v) = env_value(s.key) {
                config.values.insert(s.key, (v, Origin::Env));
            }
        }
        Ok(config)
    }

    /// Applies the lines of a config file (systemd `EnvironmentFile`
    /// syntax: `KEY=value`, `#`/`;` comments, blank lines, optional single
    /// or double quotes). Unknown keys and malformed lines are warned
    /// about, naming the line, and skipped.
    pub fn read_file(&mut self, path: &Path, text: &str) {
        // Editors on other systems may leave a byte-order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let at = format!("{} line {}", path.display(), i + 1);
            let Some((name, value)) = line.split_once('=') else {
                log::warn!("{at}: not a KEY=value line; ignored");
                continue;
            };
            let name = name.trim();
            let Some(s) = setting(name) else {
                log::warn!("{at}: unknown setting {name:?}; ignored");
                continue;
            };
            let value = match unquote(value.trim()) {
                Ok(v) => v,
                Err(why) => {
                    log::warn!("{at}: {why}; {name} ignored");
                    continue;
                }
            };
            let origin = Origin::File {
                path: path.to_path_buf(),
                line: i + 1,
            };
            self.values.insert(s.key, (value, origin));
        }
    }

    /// Sets `key` from its flag when the flag was given.
    pub fn set_flag(&mut self, key: &'static str, value: Option<String>) {
        if let Some(v) = value {
            self.values.insert(key, (v, Origin::Flag));
        }
    }

    /// Sets a boolean `key` to `1` when its switch was given (a switch can
    /// only turn a setting on).
    pub fn set_switch(&mut self, key: &'static str, on: bool) {
        if on {
            self.values.insert(key, ("1".to_string(), Origin::Flag));
        }
    }

    /// The value of `key`, trimmed; `None` when unset or empty (an empty
    /// value in a later layer unsets an earlier one).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(|(v, _)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Where the value of `key` came from.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.values.get(key).map(|(_, o)| o)
    }

    /// The configured values of every secret setting, for the log redactor.
    pub fn secrets(&self) -> Vec<String> {
        SETTINGS
            .iter()
            .filter(|s| s.secret)
            .filter_map(|s| self.get(s.key))
            .map(str::to_string)
            .collect()
    }

    /// An error for `key` that names its flag and where the value came from.
    pub fn invalid(&self, key: &'static str, problem: impl std::fmt::Display) -> Error {
        let (flag, help) = setting(key).map_or(("", ""), |s| (s.flag, s.help));
        let from = match self.origin(key) {
            Some(Origin::File { path, line }) => format!("{} line {line}; ", path.display()),
            Some(Origin::Env) => "from the environment; ".to_string(),
            Some(Origin::Flag) => "from the command line; ".to_string(),
            None => String::new(),
        };
        if flag.is_empty() {
            Error::config(key, format!("{problem} ({from}{help})"))
        } else {
            Error::config(key, format!("{problem} ({from}flag {flag}: {help})"))
        }
    }

    /// The value of a required setting.
    pub fn require(&self, key: &'static str) -> Result<&str, Error> {
        self.get(key)
            .ok_or_else(|| self.invalid(key, "required but not set"))
    }

    /// A boolean: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`; unset is `false`.
    pub fn bool(&self, key: &'static str) -> Result<bool, Error> {
        let Some(v) = self.get(key) else {
            return Ok(false);
        };
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(self.invalid(
                key,
                format!("{v:?} is not 1/0, true/false, yes/no or on/off"),
            )),
        }
    }

    /// A whole number, `default` when unset.
    #[allow(dead_code)] // for the spool's settings
    pub fn u64(&self, key: &'static str, default: u64) -> Result<u64, Error> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| self.invalid(key, format!("{v:?} is not a whole number"))),
        }
    }

    /// A positive number of seconds (fractions allowed, at most a day),
    /// `default` when unset.
    pub fn seconds(&self, key: &'static str, default: Duration) -> Result<Duration, Error> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        match parse_seconds(v) {
            Some(d) if !d.is_zero() && d <= Duration::from_secs(86_400) => Ok(d),
            _ => Err(self.invalid(
                key,
                format!("{v:?} is not a number of seconds between 0 and 86400"),
            )),
        }
    }

    /// An http(s) URL (checked for scheme and host only).
    pub fn url(&self, key: &'static str) -> Result<Option<&str>, Error> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let rest = v
            .strip_prefix("https://")
            .or_else(|| v.strip_prefix("http://"));
        match rest {
            Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(Some(v)),
            _ => Err(self.invalid(
                key,
                format!(
                    "{:?} is not an http:// or https:// URL with a host",
                    crate::logger::redact(v)
                ),
            )),
        }
    }

    /// A comma-separated set of state names (`DOWN,CRITICAL`, any case),
    /// `default` when unset.
    pub fn states(&self, key: &'static str, default: StateSet) -> Result<StateSet, Error> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let mut set = StateSet::EMPTY;
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let state = STATE_NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    self.invalid(
                        key,
                        format!("{name:?} is not one of UP, DOWN, UNREACHABLE, OK, WARNING, CRITICAL, UNKNOWN"),
                    )
                })?;
            set = set.with(state);
        }
        Ok(set)
    }

    /// A Mattermost message priority: `important` or `urgent`.
    pub fn priority(&self, key: &'static str) -> Result<Option<Priority>, Error> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("important") => Ok(Some(Priority::Important)),
            Some("urgent") => Ok(Some(Priority::Urgent)),
            Some(v) => Err(self.invalid(key, format!("{v:?} is not important or urgent"))),
        }
    }
}

const STATE_NAMES: [(&str, State); 7] = [
    ("UP", State::Up),
    ("DOWN", State::Down),
    ("UNREACHABLE", State::Unreachable),
    ("OK", State::Ok),
    ("WARNING", State::Warning),
    ("CRITICAL", State::Critical),
    ("UNKNOWN", State::Unknown),
];

/// An environment variable, read lossily (invalid UTF-8 never stops us).
pub fn env_value(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// The value part of a `KEY=value` line: `"..."` with `\"`, `\\`, `\n`
/// escapes, `'...'` verbatim, or bare text.
fn unquote(v: &str) -> Result<String, &'static str> {
    let mut chars = v.chars();
    match chars.next() {
        Some('"') => {
            let mut out = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return trailing(chars.as_str(), out),
                    '\\' => match chars.next() {
                        Some('n') => out.push('\n'),
                        Some(other) => out.push(other),
                        None => break,
                    },
                    c => out.push(c),
                }
            }
            Err("unterminated double quote")
        }
        Some('\'') => match chars.as_str().split_once('\'') {
            Some((inner, rest)) => trailing(rest, inner.to_string()),
            None => Err("unterminated single quote"),
        },
        _ => Ok(v.to_string()),
    }
}

fn trailing(rest: &str, value: String) -> Result<String, &'static str> {
    let rest = rest.trim();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(value)
    } else {
        Err("text after the closing quote")
    }
}

/// Warns when a file holding a secret can be read by every user. Group
/// read is fine: the README recommends mode 0640 with the group of the
/// monitoring core's user, which must read the file.
fn warn_if_exposed(path: &Path, config: &Config) {
    let holds_secret: Vec<&str> = SETTINGS
        .iter()
        .filter(|s| s.secret)
        .filter(|s| matches!(config.origin(s.key), Some(Origin::File { .. })))
        .map(|s| s.key)
        .collect();
    if !holds_secret.is_empty() {
        warn_if_readable_by_all(path, &holds_secret.join(", "));
    }
}

/// Warns when `path`, holding the secret of `what` (settings' names), can
/// be read by every user: the one check for the config file, the ack
/// secret and the bot token.
pub fn warn_if_readable_by_all(path: &Path, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o004 != 0 {
        log::warn!(
            "{} holds {what} but is readable by every user (mode {mode:03o}); \
             run: chmod 0640 {}",
            path.display(),
            path.display()
        );
    }
}

/// `15`, `2.5`, `.25`: decimal seconds, at most nine decimals. By hand and
/// without floating point: `f64` parsing and formatting cost 35 KB of the
/// binary's 2 MiB budget (tests/bench/PERFORMANCE.md), and a setting
/// needs no more than this.
fn parse_seconds(v: &str) -> Option<Duration> {
    let v = v.trim();
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || frac.len() > 9 || !digits(whole) || !digits(frac) {
        return None;
    }
    // Too many digits for a u64 is no setting either.
    let secs = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let nanos = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    Some(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's configuration table is the reference admins read: every
    /// setting must be in it, with its flag, in the row of its key.
    #[test]
    fn readme_documents_every_setting_with_its_flag() {
        let readme = include_str!("../../README.md");
        for s in SETTINGS {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", s.key)))
                .unwrap_or_else(|| panic!("README has no table row for {}", s.key));
            if !s.flag.is_empty() {
                assert!(row.contains(&format!("`{}`", s.flag)), "{row}");
            }
        }
    }

    /// The man page template has the place `.ci/package` fills with the
    /// README's table above, and the version placeholder.
    #[test]
    fn man_page_template_takes_the_settings_and_the_version() {
        let man = include_str!("../contrib/mattermost-notify.1");
        let marker = man.lines().filter(|l| l.starts_with(".\\\" @SETTINGS@"));
        assert_eq!(marker.count(), 1);
        assert!(man.contains("\"mattermost\\-notify @VERSION@\""));
    }

    /// The package's sample config names only settings that exist, each
    /// commented out (a fresh install changes nothing).
    #[test]
    fn sample_config_names_known_settings_all_commented_out() {
        let sample = include_str!("../contrib/mattermost-notify.conf");
        let mut named = 0;
        for line in sample.lines() {
            if let Some(rest) = line.strip_prefix("#MATTERMOST_") {
                let key = format!("MATTERMOST_{}", rest.split('=').next().unwrap_or(""));
                assert!(
                    setting(&key).is_some(),
                    "unknown setting in the sample: {line}"
                );
                named += 1;
            }
            assert!(
                !line.starts_with("MATTERMOST_"),
                "not commented out: {line}"
            );
        }
        assert!(named >= 20, "{named}");
        let c = from_file(sample);
        assert!(SETTINGS.iter().all(|s| c.get(s.key).is_none()));
    }

    fn from_file(text: &str) -> Config {
        let mut c = Config::default();
        c.read_file(Path::new("test.conf"), text);
        c
    }

    #[test]
    fn file_syntax_follows_systemd_environment_files() {
        let c = from_file(
            "\u{feff}# comment\n\n; also a comment\r\nMATTERMOST_CHANNEL=ops\r\n \
             MATTERMOST_USERNAME = \"Nagios \\\"bot\\\"\" \nMATTERMOST_SOURCE='mon 1' # note\n\
             MATTERMOST_ICON_URL=\"unterminated\nNOT_A_LINE\nMATTERMOST_NOPE=1\n",
        );
        assert_eq!(c.get(key::CHANNEL), Some("ops"));
        assert_eq!(c.get(key::USERNAME), Some("Nagios \"bot\""));
        assert_eq!(c.get(key::SOURCE), Some("mon 1"));
        assert_eq!(c.get(key::ICON_URL), None);
        assert_eq!(
            c.origin(key::CHANNEL),
            Some(&Origin::File {
                path: PathBuf::from("test.conf"),
                line: 4
            })
        );
    }

    #[test]
    fn flags_win_and_empty_values_unset() {
        let mut c = from_file("MATTERMOST_CHANNEL=file\nMATTERMOST_USERNAME=bot\n");
        c.set_flag(key::CHANNEL, Some("flag".into()));
        c.set_flag(key::USERNAME, Some(String::new()));
        c.set_flag(key::ICON_URL, None);
        assert_eq!(c.get(key::CHANNEL), Some("flag"));
        assert_eq!(c.get(key::USERNAME), None);
        assert_eq!(c.get(key::ICON_URL), None);
    }

    #[test]
    fn seconds_are_decimal_numbers() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("15", Some(ms(15_000))),
            (" 2.5 ", Some(ms(2_500))),
            (".25", Some(ms(250))),
            ("3.", Some(ms(3_000))),
            ("0.000000001", Some(Duration::from_nanos(1))),
            ("0.0000000001", None),
            ("1e3", None),
            ("-1", None),
            ("+1", None),
            ("1.2.3", None),
            (".", None),
            ("", None),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(parse_seconds(text), want, "{text:?}");
        }
        let c = from_file(
            "MATTERMOST_TIMEOUT=0
MATTERMOST_RETRY_BUDGET=86400.5
",
        );
        assert!(c.seconds(key::TIMEOUT, ms(1)).is_err());
        assert!(c.seconds(key::RETRY_BUDGET, ms(1)).is_err());
    }

    proptest::proptest! {
        /// Any text: a duration or `None`, never a panic.
        #[test]
        fn seconds_never_panic(text in ".{0,40}") {
            let _ = parse_seconds(&text);
        }
    }

    #[test]
    fn typed_getters_name_key_flag_and_line() {
        let c = from_file("MATTERMOST_TIMEOUT=soon\nMATTERMOST_INSECURE=maybe\n");
        let e = c.seconds(key::TIMEOUT, Duration::from_secs(1)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("MATTERMOST_TIMEOUT"), "{text}");
        assert!(text.contains("--timeout"), "{text}");
        assert!(text.contains("test.conf line 1"), "{text}");
        assert_eq!(e.exit_code(), 78);
        assert!(c.bool(key::INSECURE).is_err());
        assert!(!c.bool(key::USE_PROXY).unwrap());
        let e = c.require(key::WEBHOOK_URL).unwrap_err().to_string();
        assert!(e.contains("MATTERMOST_WEBHOOK_URL") && e.contains("--webhook-url"));
    }

    #[test]
    fn states_priority_and_urls_parse() {
        let c = from_file(
            "MATTERMOST_MENTION_STATES=down, Critical\nMATTERMOST_PRIORITY=URGENT\n\
             MATTERMOST_PRIORITY_STATES=down,broken\nMATTERMOST_HOST_URL=ftp://x\n",
        );
        let s = c.states(key::MENTION_STATES, StateSet::EMPTY).unwrap();
        assert!(s.contains(State::Down) && s.contains(State::Critical));
        assert!(!s.contains(State::Warning));
        assert_eq!(c.priority(key::PRIORITY).unwrap(), Some(Priority::Urgent));
        assert!(c
            .states(key::PRIORITY_STATES, StateSet::EMPTY)
            .unwrap_err()
            .to_string()
            .contains("\"broken\""));
        assert!(c.url(key::HOST_URL).is_err());
    }

    #[test]
    fn every_flag_is_derived_from_its_key() {
        for s in SETTINGS {
            let derived = format!(
                "--{}",
                s.key
                    .trim_start_matches("MATTERMOST_")
                    .to_ascii_lowercase()
                    .replace('_', "-")
            );
            if s.secret && s.flag.is_empty() {
                continue; // deliberately no flag: it would show in `ps`
            }
            assert_eq!(s.flag, derived);
        }
    }
}
