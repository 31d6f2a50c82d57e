//! Reading the command line so that a mistake in it costs no alert.
//!
//! A core's `command_line` is written once and then runs unattended for
//! every alert, and the core throws the command's stderr away. So the
//! command line is first given to argh as it is; only when argh refuses it
//! is it walked token by token: `--config`, `--log-level` and `--syslog`
//! are moved before the subcommand (where a core's `command_line` puts
//! them, after it, is fine), and an option the subcommand does not know,
//! a second copy of one it does, or a stray word is dropped and reported
//! as a usage problem. `main` logs each problem (stderr and syslog) and
//! `notify` still sends the alert its known options describe.
//!
//! Whether a token is a switch, an option taking a value, or unknown is
//! asked of argh itself (it parses the subcommand with just that token),
//! so the walk cannot drift from the option lists, and a value such as
//! `--output "--config"` is never taken for an option.

use argh::FromArgs;

/// Top-level options that take a value and may also follow the subcommand.
pub const GLOBAL_OPTIONS: [&str; 3] = ["--config", "--log-level", "--syslog"];

/// argh's help triggers (its default set).
const HELP: [&str; 2] = ["--help", "help"];

/// The outcome of reading the command line.
#[derive(Debug)]
pub enum Parsed<T> {
    /// Parsed; `problems` are usage errors that were set aside.
    Run {
        /// The arguments.
        cli: T,
        /// One line per dropped token, naming it.
        problems: Vec<String>,
    },
    /// `--help`: print this on stdout, exit 0.
    Help(String),
    /// `--version`.
    Version,
    /// Nothing usable. `globals` are what could be read of `--config`,
    /// `--log-level` and `--syslog`, to log the error where asked.
    Unusable {
        /// `(option, value)` pairs found.
        globals: Vec<(&'static str, String)>,
        /// What is wrong, for the log.
        error: String,
    },
}

/// What argh says a token is, in the subcommand's position.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// A switch, or a help trigger: kept alone.
    Switch,
    /// An option that takes the next token as its value.
    Option,
    /// Not known to the subcommand.
    Unknown,
}

fn classify<T: FromArgs>(name: &str, sub: &str, token: &str) -> Token {
    match T::from_args(&[name], &[sub, token]) {
        Ok(_) => return Token::Switch,
        Err(e) if e.status.is_ok() => return Token::Switch,
        Err(_) => {}
    }
    // "0" parses as every value type the subcommands use (text, paths,
    // numbers).
    match T::from_args(&[name], &[sub, token, "0"]) {
        Ok(_) => Token::Option,
        Err(_) => Token::Unknown,
    }
}

/// Reads `args` (without the program name) for the program `name`;
/// `commands` are the subcommand names.
pub fn parse<T: FromArgs>(name: &str, args: &[&str], commands: &[&str]) -> Parsed<T> {
    match T::from_args(&[name], args) {
        Ok(cli) if !wants_version(args, commands) => {
            return Parsed::Run {
                cli,
                problems: Vec::new(),
            }
        }
        Ok(_) => return Parsed::Version,
        Err(e) if e.status.is_ok() => return Parsed::Help(e.output),
        Err(_) => {}
    }
    let walked = walk::<T>(name, args, commands);
    if walked.version {
        return Parsed::Version;
    }
    let Some(sub) = walked.sub else {
        let error = walked.fatal.unwrap_or_else(|| {
            format!(
                "a command is required: {}; see `{name} --help`",
                commands.join(", ")
            )
        });
        return Parsed::Unusable {
            globals: walked.globals,
            error,
        };
    };
    let mut line: Vec<&str> = Vec::new();
    for (option, value) in &walked.globals {
        line.push(option);
        line.push(value);
    }
    line.extend(walked.top.iter().copied());
    line.push(sub);
    line.extend(walked.rest.iter().copied());
    match T::from_args(&[name], &line) {
        Ok(cli) => Parsed::Run {
            cli,
            problems: walked.problems,
        },
        Err(e) if e.status.is_ok() => Parsed::Help(e.output),
        Err(e) => {
            let mut error = e.output.trim().to_string();
            for p in walked.problems {
                error = format!("{error}; {p}");
            }
            Parsed::Unusable {
                globals: walked.globals,
                error,
            }
        }
    }
}

/// `--version` before the subcommand (or alone).
fn wants_version(args: &[&str], commands: &[&str]) -> bool {
    let mut tokens = args.iter();
    while let Some(t) = tokens.next() {
        match *t {
            "--version" => return true,
            t if GLOBAL_OPTIONS.contains(&t) => {
                tokens.next();
            }
            t if commands.contains(&t) => return false,
            _ => {}
        }
    }
    false
}

#[derive(Debug, Default)]
struct Walked<'a> {
    globals: Vec<(&'static str, String)>,
    top: Vec<&'a str>,
    sub: Option<&'a str>,
    rest: Vec<&'a str>,
    problems: Vec<String>,
    version: bool,
    fatal: Option<String>,
}

impl Walked<'_> {
    fn global(&mut self, option: &'static str, value: Option<&str>) {
        match value {
            None => self
                .problems
                .push(format!("{option} needs a value; ignored")),
            Some(_) if self.globals.iter().any(|(o, _)| *o == option) => self
                .problems
                .push(format!("{option} given twice; the first one is used")),
            Some(v) => self.globals.push((option, v.to_string())),
        }
    }
}

fn walk<'a, T: FromArgs>(name: &str, args: &[&'a str], commands: &[&str]) -> Walked<'a> {
    let mut w = Walked::default();
    let mut tokens = args.iter().copied().peekable();
    // Before the subcommand: globals, --version, help, then the name.
    while let Some(t) = tokens.next() {
        if let Some(option) = GLOBAL_OPTIONS.iter().find(|o| **o == t) {
            w.global(option, tokens.next());
        } else if t == "--version" {
            w.version = true;
        } else if HELP.contains(&t) {
            w.top.push(t);
        } else if commands.contains(&t) {
            w.sub = Some(t);
            break;
        } else if t.starts_with('-') {
            w.problems
                .push(format!("unknown option {t} before the command; ignored"));
        } else {
            w.fatal = Some(format!(
                "unknown command {t:?}: use {}; see `{name} --help`",
                commands.join(", ")
            ));
            return w;
        }
    }
    let Some(sub) = w.sub else {
        return w;
    };
    let mut seen: Vec<&str> = Vec::new();
    while let Some(t) = tokens.next() {
        if let Some(option) = GLOBAL_OPTIONS.iter().find(|o| **o == t) {
            w.global(option, tokens.next());
            continue;
        }
        if t == "--version" {
            w.version = true;
            continue;
        }
        match classify::<T>(name, sub, t) {
            Token::Switch => w.rest.push(t),
            Token::Option => {
                let value = tokens.next();
                if seen.contains(&t) {
                    w.problems
                        .push(format!("{t} given twice; the first value is used"));
                } else if let Some(v) = value {
                    seen.push(t);
                    w.rest.push(t);
                    w.rest.push(v);
                } else {
                    w.problems.push(format!("{t} needs a value; ignored"));
                }
            }
            Token::Unknown if t.starts_with('-') => {
                // Its value, if the next token looks like one, goes too:
                // it would otherwise be a stray word.
                let value = tokens.next_if(|next| !next.starts_with("--"));
                let with = if value.is_some() {
                    " and the value after it"
                } else {
                    ""
                };
                w.problems.push(format!(
                    "unknown option {t}{with} ignored; see `{name} {sub} --help`"
                ));
            }
            Token::Unknown => w.problems.push(format!(
                "unexpected argument {:?} ignored; see `{name} {sub} --help`",
                preview(t)
            )),
        }
    }
    w
}

/// At most 40 characters of a stray word: it may be plugin output.
fn preview(t: &str) -> String {
    match t.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", t.get(..at).unwrap_or("")),
        None => t.to_string(),
    }
}
