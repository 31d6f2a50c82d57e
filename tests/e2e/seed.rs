//! The original openITCOCKPIT module's two notification commands, verbatim
//! from its manual, with our binary in place of
//! `/usr/share/openitcockpit/app/cake4/bin/cake MattermostModule.mattermost_notification`
//! and the core's macros replaced by a sample alert; plus the same alert
//! taken from environment macros alone.

use crate::support::{assert_exit, isolated, run, MattermostStandIn, TestPki};

const ORIGINAL: &str =
    "/usr/share/openitcockpit/app/cake4/bin/cake MattermostModule.mattermost_notification";

const HOST_COMMAND: &str = r#"/usr/share/openitcockpit/app/cake4/bin/cake MattermostModule.mattermost_notification --type Host --notificationtype "$NOTIFICATIONTYPE$" --hostuuid "$HOSTNAME$" --state "$HOSTSTATEID$" --output "$HOSTOUTPUT$" --ackauthor "$NOTIFICATIONAUTHOR$" --ackcomment "$NOTIFICATIONCOMMENT$""#;

const SERVICE_COMMAND: &str = r#"/usr/share/openitcockpit/app/cake4/bin/cake MattermostModule.mattermost_notification --type Service --notificationtype "$NOTIFICATIONTYPE$" --hostuuid "$HOSTNAME$" --serviceuuid "$SERVICEDESC$" --state "$SERVICESTATEID$" --output "$SERVICEOUTPUT$" --ackauthor "$NOTIFICATIONAUTHOR$" --ackcomment "$NOTIFICATIONCOMMENT$""#;

/// A sample alert as openITCOCKPIT fills the macros (names are UUIDs).
const SAMPLE: &[(&str, &str)] = &[
    ("$NOTIFICATIONTYPE$", "PROBLEM"),
    ("$HOSTNAME$", "c36b8048-93ce-4385-ac19-ab5c90574b77"),
    ("$SERVICEDESC$", "74f14950-a58f-4f18-b6c3-5cfa9dffef4e"),
    ("$HOSTSTATEID$", "1"),
    ("$SERVICESTATEID$", "2"),
    ("$HOSTOUTPUT$", "CRITICAL - 10.0.0.7: rta nan, lost 100%"),
    (
        "$SERVICEOUTPUT$",
        "HTTP CRITICAL: HTTP/1.1 503 Service Unavailable - 512 bytes",
    ),
    ("$NOTIFICATIONAUTHOR$", ""),
    ("$NOTIFICATIONCOMMENT$", ""),
];

/// Substitutes the macros, swaps the program, and splits the line as
/// `/bin/sh` would for these lines (blanks separate, `"..."` groups).
fn argv(line: &str) -> Vec<String> {
    let mut line = line.replacen(ORIGINAL, "mattermost-notify notify", 1);
    for (name, value) in SAMPLE {
        line = line.replace(name, value);
    }
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

fn deliver_verbatim(line: &str) {
    let pki = TestPki::new();
    let mm = MattermostStandIn::https(&pki);
    let words = argv(line);
    assert_eq!(words[0], "mattermost-notify");
    let (_dir, mut cmd) = isolated();
    cmd.args(&words[1..])
        .env("MATTERMOST_WEBHOOK_URL", mm.url())
        .env("MATTERMOST_CA_FILE", &pki.ca_file);
    let out = run(&mut cmd);
    assert_exit(&out, 0);
    let reqs = mm.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    assert!(reqs[0].json().is_object());
}

#[test]
fn original_host_command_line_delivers() {
    let words = argv(HOST_COMMAND);
    assert!(words.contains(&"c36b8048-93ce-4385-ac19-ab5c90574b77".to_string()));
    assert!(
        words.contains(&String::new()),
        "empty macros stay empty arguments"
    );
    deliver_verbatim(HOST_COMMAND);
}

#[test]
fn original_service_command_line_delivers() {
    deliver_verbatim(SERVICE_COMMAND);
}

/// The alert given as options, or only as `NAGIOS_*` environment macros,
/// renders the same payload.
#[test]
fn environment_macros_stand_in_for_absent_options() {
    let macros = [
        ("NAGIOS_NOTIFICATIONTYPE", "PROBLEM"),
        ("NAGIOS_HOSTNAME", "web1"),
        ("NAGIOS_HOSTDISPLAYNAME", "Web server 1"),
        ("NAGIOS_HOSTADDRESS", "192.0.2.10"),
        ("NAGIOS_SERVICEDESC", "http"),
        ("NAGIOS_SERVICEDISPLAYNAME", "HTTP"),
        ("NAGIOS_SERVICESTATEID", "2"),
        ("NAGIOS_SERVICEOUTPUT", "CRITICAL - connection refused"),
        ("NAGIOS_LONGSERVICEOUTPUT", "line 2\nline 3"),
        ("NAGIOS_NOTIFICATIONAUTHOR", "alice"),
        ("NAGIOS_NOTIFICATIONCOMMENT", "looking"),
    ];
    let (_dir, mut from_env) = isolated();
    from_env
        .args(["notify", "--dry-run"])
        .env("NAGIOS_TIMET", "1764284280");
    for (k, v) in macros {
        from_env.env(k, v);
    }
    let (_dir2, mut from_flags) = isolated();
    from_flags
        .args(["notify", "--dry-run", "--type", "Service"])
        .args(["--notificationtype", "PROBLEM", "--hostuuid", "web1"])
        .args([
            "--hostdisplayname",
            "Web server 1",
            "--hostaddress",
            "192.0.2.10",
        ])
        .args(["--serviceuuid", "http", "--servicedisplayname", "HTTP"])
        .args(["--state", "2", "--output", "CRITICAL - connection refused"])
        .args(["--longoutput", "line 2\nline 3"])
        .args(["--ackauthor", "alice", "--ackcomment", "looking"])
        .env("NAGIOS_TIMET", "1764284280");
    let a = run(&mut from_env);
    let b = run(&mut from_flags);
    assert_exit(&a, 0);
    assert_exit(&b, 0);
    assert_eq!(
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout)
    );

    // Icinga 1 exports the same macros as ICINGA_*.
    let (_dir4, mut icinga) = isolated();
    icinga
        .args(["notify", "--dry-run"])
        .env("ICINGA_TIMET", "1764284280");
    for (k, v) in macros {
        icinga.env(k.replacen("NAGIOS_", "ICINGA_", 1), v);
    }
    let c = run(&mut icinga);
    assert_exit(&c, 0);
    assert_eq!(
        String::from_utf8_lossy(&c.stdout),
        String::from_utf8_lossy(&b.stdout)
    );

    // Without any host the type cannot be inferred: a usage error.
    let (_dir3, mut nothing) = isolated();
    let out = run(nothing.args(["notify", "--dry-run"]));
    assert_exit(&out, 64);
}
