//! `mattermost-notify`: the notification command a monitoring core runs for
//! every alert, plus the `serve` receiver for Acknowledge buttons.
//!
//! Shape (after ripgrep): raw flags → a resolved config → `run() -> Result`
//! → `main` maps the result to an exit code in exactly one place.

mod ack_button;
mod config;
mod decoration;
mod error;
mod logger;
mod notify;
mod outbox;
mod serve;
mod test_post;
mod transport;

use argh::FromArgs;
use config::{key, Config};
use error::{code, Error};

/// Mattermost notifications and Acknowledge buttons for Naemon, Nagios 4,
/// openITCOCKPIT and Icinga.
#[derive(FromArgs, Debug)]
struct Cli {
    /// config file (MATTERMOST_CONFIG; default /etc/mattermost-notify.conf)
    #[argh(option)]
    config: Option<String>,
    /// error, warn, info, debug or trace (MATTERMOST_LOG_LEVEL; default warn)
    #[argh(option)]
    log_level: Option<String>,
    /// syslog: 1 (/dev/log, the default), 0, or a socket path (MATTERMOST_SYSLOG)
    #[argh(option)]
    syslog: Option<String>,
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

fn run(cli: Cli) -> Result<(), Error> {
    // Log to stderr from the start (config warnings), at the level the flag
    // or environment asks for; the file may change it below.
    let early = cli
        .log_level
        .clone()
        .or_else(|| config::env_value(key::LOG_LEVEL))
        .and_then(|v| logger::parse_level(&v))
        .unwrap_or(log::LevelFilter::Warn);
    logger::init(early, None);
    let mut cfg = Config::load(cli.config.as_deref())?;
    cfg.set_flag(key::LOG_LEVEL, cli.log_level);
    cfg.set_flag(key::SYSLOG, cli.syslog);
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
    match cli.command {
        Command::Notify(args) => notify::run(args, cfg),
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
    let cli = match Cli::from_args(&[name], &rest) {
        Ok(cli) => cli,
        Err(early) => {
            // --help prints to stdout and succeeds; a parse error is usage.
            let ok = early.status.is_ok();
            if ok {
                println!("{}", early.output);
                std::process::exit(code::OK);
            }
            eprintln!("{}", early.output);
            std::process::exit(code::USAGE);
        }
    };
    let exit = match run(cli) {
        Ok(()) => code::OK,
        Err(e) => {
            // Through the logger: redacted, and in syslog too.
            log::error!("{e}");
            e.exit_code()
        }
    };
    std::process::exit(exit);
}
