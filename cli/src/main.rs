//! `mattermost-notify`: the notification command a monitoring core runs for
//! every alert, plus the `serve` receiver for Acknowledge buttons.
//!
//! Shape (after ripgrep): raw flags → a resolved config → `run() -> Result`
//! → `main` maps the result to an exit code in exactly one place.

mod deliver;
mod error;
mod flush;
mod notify;
mod retry;
mod spool;

use argh::FromArgs;
use error::{code, Error};

/// Mattermost notifications and Acknowledge buttons for Naemon, Nagios 4,
/// openITCOCKPIT and Icinga.
#[derive(FromArgs, Debug)]
struct Cli {
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Command {
    Notify(notify::NotifyArgs),
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Notify(args) => notify::run(args),
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
            eprintln!("mattermost-notify: {e}");
            e.exit_code()
        }
    };
    std::process::exit(exit);
}
