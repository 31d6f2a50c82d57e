//! `mattermost-notify`: the notification command a monitoring core runs for
//! every alert, plus the `serve` receiver for Acknowledge buttons.
//!
//! Shape (after ripgrep): raw flags → a resolved config → `run() -> Result`
//! → `main` maps the result to an exit code in exactly one place.

mod ack_button;
mod cmdline;
mod config;
mod conversation;
mod deadline;
mod decoration;
mod error;
mod logger;
mod notify;
mod outbox;
mod private_dir;
mod serve;
mod state;
mod test_post;
mod transport;

use argh::FromArgs;
use cmdline::Parsed;
use config::{key, Config};
use error::{code, Error};
use std::io::Write;

/// Mattermost notifications and Acknowledge buttons for Naemon, Nagios 4,
/// openITCOCKPIT and Icinga.
#[derive(FromArgs, Debug)]
struct Cli {
    /// config file (MATTERMOST_CONFIG; default /etc/mattermost-notify.conf);
    /// also after the command
    #[argh(option)]
    config: Option<String>,
    /// error, warn, info, debug or trace (MATTERMOST_LOG_LEVEL; default
    /// warn); also after the command
    #[argh(option)]
    log_level: Option<String>,
    /// syslog: 1 (/dev/log, the default), 0, or a socket path
    /// (MATTERMOST_SYSLOG); also after the command
    #[argh(option)]
    syslog: Option<String>,
    /// print the version and exit
    #[argh(switch)]
    #[allow(dead_code)] // read by cmdline::parse, before argh
    version: bool,
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    Notify(notify::NotifyArgs),
    Test(test_post::TestArgs),
    Serve(serve::ServeArgs),
    Flush(outbox::flush::FlushArgs),
}

/// Where to log until the config file is read: the environment's
/// `MATTERMOST_LOG_LEVEL` and `MATTERMOST_SYSLOG`, else warn and `/dev/log`.
fn init_early_logging() {
    let level = config::env_value(key::LOG_LEVEL)
        .and_then(|v| logger::parse_level(&v))
        .unwrap_or(log::LevelFilter::Warn);
    let syslog = config::env_value(key::SYSLOG);
    let syslog = match syslog.as_deref().map(str::trim) {
        Some(path) if path.starts_with('/') => Some(path),
        Some(off) if ["0", "false", "no", "off"].contains(&off.to_ascii_lowercase().as_str()) => {
            None
        }
        _ => Some(logger::DEV_LOG),
    };
    logger::init(level, syslog);
}

/// Reads the config file and sets up logging as it, the environment and
/// the flags say; returns the config.
fn init_logging(
    config: Option<&str>,
    log_level: Option<String>,
    syslog: Option<String>,
) -> Result<Config, Error> {
    // Until the file is read, the flag's level (config warnings need one).
    if let Some(level) = log_level.as_deref().and_then(logger::parse_level) {
        log::set_max_level(level);
    }
    let mut cfg = Config::load(config)?;
    cfg.set_flag(key::LOG_LEVEL, log_level);
    cfg.set_flag(key::SYSLOG, syslog);
    let level = match cfg.get(key::LOG_LEVEL) {
        None => log::LevelFilter::Warn,
        Some(v) => logger::parse_level(v).ok_or_else(|| {
            cfg.invalid(
                key::LOG_LEVEL,
                format!("{v:?} is not error, warn, info, debug or trace"),
            )
        })?,
    };
    let syslog = match cfg.get(key::SYSLOG) {
        None => Some(logger::DEV_LOG),
        Some(path) if path.starts_with('/') => Some(path),
        Some(_) if cfg.bool(key::SYSLOG)? => Some(logger::DEV_LOG),
        Some(_) => None,
    };
    logger::init(level, syslog);
    for secret in cfg.secrets() {
        logger::add_secret(&secret);
    }
    Ok(cfg)
}

/// Runs the command; `problems` are usage errors the command line had.
/// `notify` still sends its alert (and then exits 64 if nothing worse
/// happened); every other command refuses to run on a wrong command line.
fn run(cli: Cli, problems: Vec<String>) -> Result<(), Error> {
    let cfg = init_logging(cli.config.as_deref(), cli.log_level, cli.syslog)?;
    for p in &problems {
        log::error!("usage: {p}");
    }
    let refuse = || {
        Err(Error::Usage(format!(
            "{} problem(s) on the command line (above); nothing done",
            problems.len()
        )))
    };
    match cli.command {
        Command::Notify(args) => match notify::run(args, cfg) {
            Ok(()) if !problems.is_empty() => Err(Error::Usage(format!(
                "the alert was sent, but the command line has {} problem(s) (above): \
                 fix the command definition",
                problems.len()
            ))),
            result => result,
        },
        _ if !problems.is_empty() => refuse(),
        Command::Test(args) => test_post::run(args, cfg),
        Command::Serve(args) => serve::run(args, cfg),
        Command::Flush(args) => outbox::flush::run(args, cfg),
    }
}

/// Arguments as the OS gave them. Invalid UTF-8 is converted lossily: a
/// monitoring core passes plugin output verbatim, and a crash would lose the
/// alert.
fn os_args() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn main() {
    let args = os_args();
    let name = args
        .first()
        .map(String::as_str)
        .unwrap_or("mattermost-notify");
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    // Cores throw a command's stderr away: even a usage error must reach
    // syslog, so the logger exists before the command line is read.
    init_early_logging();
    let commands: Vec<&str> = <Command as argh::SubCommands>::COMMANDS
        .iter()
        .map(|c| c.name)
        .collect();
    let exit = match cmdline::parse::<Cli>(name, &rest, &commands) {
        // writeln, not println: a closed stdout (`| head`) is no panic.
        Parsed::Help(text) => {
            let _ = writeln!(std::io::stdout(), "{text}");
            code::OK
        }
        Parsed::Version => {
            let _ = writeln!(
                std::io::stdout(),
                "mattermost-notify {}",
                env!("CARGO_PKG_VERSION")
            );
            code::OK
        }
        Parsed::Unusable { globals, error } => {
            let get = |option: &str| {
                globals
                    .iter()
                    .find(|(o, _)| *o == option)
                    .map(|(_, v)| v.clone())
            };
            // Log where the config says, if it can be read; else where
            // the environment said.
            let _ = init_logging(
                get("--config").as_deref(),
                get("--log-level"),
                get("--syslog"),
            );
            log::error!("usage: {error}");
            code::USAGE
        }
        Parsed::Run { cli, problems } => match run(cli, problems) {
            Ok(()) => code::OK,
            Err(e) => {
                // Through the logger: redacted, and in syslog too.
                log::error!("{e}");
                e.exit_code()
            }
        },
    };
    std::process::exit(exit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Parsed<Cli> {
        let commands: Vec<&str> = <Command as argh::SubCommands>::COMMANDS
            .iter()
            .map(|c| c.name)
            .collect();
        cmdline::parse::<Cli>("mattermost-notify", args, &commands)
    }

    fn notify(parsed: Parsed<Cli>) -> (Cli, notify::NotifyArgs, Vec<String>) {
        match parsed {
            Parsed::Run { cli, problems } => match cli.command {
                Command::Notify(ref args) => {
                    let args = notify::NotifyArgs {
                        output: args.output.clone(),
                        ackcomment: args.ackcomment.clone(),
                        hostuuid: args.hostuuid.clone(),
                        no_emoji: args.no_emoji,
                        ..Default::default()
                    };
                    (cli, args, problems)
                }
                other => panic!("not notify: {other:?}"),
            },
            other => panic!("not run: {other:?}"),
        }
    }

    #[test]
    fn global_options_after_the_command_work() {
        let (cli, args, problems) = notify(parse(&[
            "notify",
            "--hostuuid",
            "h",
            "--config",
            "/etc/mm.conf",
            "--log-level",
            "info",
            "--syslog",
            "0",
        ]));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(cli.config.as_deref(), Some("/etc/mm.conf"));
        assert_eq!(cli.log_level.as_deref(), Some("info"));
        assert_eq!(cli.syslog.as_deref(), Some("0"));
        assert_eq!(args.hostuuid.as_deref(), Some("h"));
    }

    #[test]
    fn values_that_look_like_options_stay_values() {
        let (cli, args, problems) = notify(parse(&[
            "notify",
            "--output",
            "--config",
            "--ackcomment",
            "--bogus",
            "--hostuuid",
            "--syslog",
            "--unknown",
            "--no-emoji",
        ]));
        assert_eq!(args.output.as_deref(), Some("--config"));
        assert_eq!(args.ackcomment.as_deref(), Some("--bogus"));
        assert_eq!(args.hostuuid.as_deref(), Some("--syslog"));
        assert!(args.no_emoji);
        assert_eq!((cli.config, cli.syslog), (None, None));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("--unknown"), "{problems:?}");
    }

    #[test]
    fn unknown_options_strays_and_repeats_are_set_aside_and_named() {
        let (_, args, problems) = notify(parse(&[
            "notify",
            "--output",
            "first",
            "--servicedesc",
            "http",
            "stray",
            "--output",
            "second",
            "--hostuuid",
            "h",
        ]));
        assert_eq!(args.output.as_deref(), Some("first"));
        assert_eq!(args.hostuuid.as_deref(), Some("h"));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("--servicedesc") && problems[0].contains("value after it"));
        assert!(problems[1].contains("\"stray\""));
        assert!(problems[2].contains("--output given twice"));
    }

    #[test]
    fn version_help_and_hopeless_lines() {
        assert!(matches!(parse(&["--version"]), Parsed::Version));
        assert!(matches!(
            parse(&["--config", "x", "--version"]),
            Parsed::Version
        ));
        assert!(matches!(parse(&["notify", "--help"]), Parsed::Help(_)));
        assert!(matches!(
            parse(&["notify", "--bogus", "--help"]),
            Parsed::Help(_)
        ));
        let (_, args, _) = notify(parse(&["notify", "--output", "--version"]));
        assert_eq!(args.output.as_deref(), Some("--version"));
        match parse(&["--syslog", "/run/log.sock", "notfy", "--type", "Host"]) {
            Parsed::Unusable { globals, error } => {
                assert_eq!(globals, [("--syslog", "/run/log.sock".to_string())]);
                assert!(error.contains("\"notfy\""), "{error}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(&[]), Parsed::Unusable { .. }));
    }
}
