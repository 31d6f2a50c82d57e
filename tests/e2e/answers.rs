//! What servers answer: `Retry-After` and `X-RateLimit-Reset` in every
//! shape a server or proxy sends (zero, huge, negative, an HTTP-date, a
//! unix time, garbage), and a 2xx that is not Mattermost's `ok` (a login
//! portal, another service, an empty body). Each case ends in a documented
//! outcome: delivered once, or kept in the spool (75) with a message that
//! says what answered. The stand-in's recorded requests are the evidence.

use crate::spool::{alert_id, delivered_ids, exit, Rig};
use crate::support::{
    assert_exit, assert_no_secret, isolated, run, stderr, Behaviour, MattermostStandIn, HOOK_ID,
};
use mattermost_notify_core::render::UtcTime;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A 429 with exactly these headers (and Mattermost's body).
fn limited(headers: &[(&str, &str)]) -> Behaviour {
    Behaviour::Answer {
        status: 429,
        content_type: "text/plain; charset=utf-8".into(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: "limit exceeded\n".into(),
    }
}

/// A 2xx with this content type and body.
fn success(status: u16, content_type: &str, body: &str) -> Behaviour {
    Behaviour::Answer {
        status,
        content_type: content_type.into(),
        headers: Vec::new(),
        body: body.into(),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// RFC 9110's IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`.
fn imf_fixdate(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = UtcTime::from_unix(unix);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(unix / 86_400 % 7) as usize],
        t.day,
        MONTHS[usize::from(t.month - 1)],
        t.year,
        t.hour,
        t.minute,
        t.second
    )
}

/// After the alert was kept, the real server comes back and `flush`
/// delivers exactly that alert.
fn flush_delivers(rig: &Rig, id: &str) {
    let entries = rig.entries();
    assert_eq!(entries.len(), 1, "one spooled alert");
    let body = std::fs::read(&entries[0]).expect("read entry");
    assert_eq!(alert_id(&body).as_deref(), Some(id));
    let mm = MattermostStandIn::http();
    rig.configure(&mm.url(), &[]);
    assert_exit(&rig.flush(), exit::OK);
    assert_eq!(delivered_ids(&mm.requests()), [id]);
    assert!(rig.entries().is_empty());
}

/// The measure: one alert, a 3 s budget, a server answering every
/// request `429` with `Retry-After: 0`. Before the fix the binary retried
/// at once, in a tight loop, for the whole budget (hundreds of requests);
/// now each 429 backs off at least as long as a failed attempt would, so
/// the count is that of exponential backoff: 250 ms, 500 ms, 1 s ceilings
/// leave room for at most four requests in 3 s.
#[test]
fn retry_after_zero_backs_off_instead_of_hammering() {
    let mm = MattermostStandIn::http();
    mm.set_default(Behaviour::RateLimited {
        retry_after_secs: 0,
    });
    let rig = Rig::new(&mm.url(), &[("MATTERMOST_RETRY_BUDGET", "3")]);
    let out = rig.notify("zerowait");
    assert_exit(&out, exit::SPOOLED);
    let requests = mm.requests().len();
    eprintln!("requests for one alert, 429 Retry-After: 0, 3 s budget: {requests}");
    assert!(
        (2..=4).contains(&requests),
        "{requests} requests: a zero Retry-After must back off like a failure"
    );
    flush_delivers(&rig, "zerowait");
}

/// `Retry-After: 2^64-1` overflowed `wait + MIN_ATTEMPT_TIMEOUT` and
/// aborted the process, losing the alert. A wait longer than the budget is
/// not waited: the alert is kept at once.
#[test]
fn huge_retry_after_keeps_the_alert_instead_of_aborting() {
    for value in ["18446744073709551615", "99999999999999999999999999"] {
        let mm = MattermostStandIn::http();
        mm.set_default(limited(&[("Retry-After", value)]));
        let rig = Rig::new(&mm.url(), &[]);
        let out = rig.notify("hugewait");
        assert_exit(&out, exit::SPOOLED);
        assert_eq!(mm.requests().len(), 1, "Retry-After: {value} is not waited");
        assert!(
            stderr(&out).contains("429"),
            "the message names the answer: {}",
            stderr(&out)
        );
        flush_delivers(&rig, "hugewait");
    }
}

/// A huge `X-RateLimit-Reset` without `Retry-After` is handled the same way.
#[test]
fn huge_rate_limit_reset_keeps_the_alert() {
    let mm = MattermostStandIn::http();
    mm.set_default(limited(&[("X-RateLimit-Reset", "18446744073709551615")]));
    let rig = Rig::new(&mm.url(), &[]);
    assert_exit(&rig.notify("hugereset"), exit::SPOOLED);
    assert_eq!(mm.requests().len(), 1);
    flush_delivers(&rig, "hugereset");
}

/// `Retry-After` as an HTTP-date (RFC 9110 allows it; proxies send it) is
/// honoured: the retry comes no earlier than the date.
#[test]
fn http_date_retry_after_is_honoured() {
    let mm = MattermostStandIn::http();
    // Three whole seconds ahead: the date has a resolution of one second,
    // so the wait the binary computes is more than two seconds.
    let date = imf_fixdate(unix_now() + 3);
    mm.script([limited(&[("Retry-After", &date)])]);
    let rig = Rig::new(&mm.url(), &[("MATTERMOST_RETRY_BUDGET", "8")]);
    assert_exit(&rig.notify("datewait"), exit::OK);
    let reqs = mm.requests();
    let answered: Vec<u16> = reqs.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [429, 200]);
    let waited = reqs[1].received.duration_since(reqs[0].received);
    assert!(
        waited >= Duration::from_secs(2),
        "the retry came {waited:?} after a 429 asking until {date}"
    );
}

/// An HTTP-date beyond the budget keeps the alert at once; one in the
/// past is a zero wait and backs off like a failure.
#[test]
fn http_dates_far_ahead_or_in_the_past() {
    let mm = MattermostStandIn::http();
    mm.set_default(limited(&[("Retry-After", &imf_fixdate(unix_now() + 3600))]));
    let rig = Rig::new(&mm.url(), &[]);
    assert_exit(&rig.notify("dateahead"), exit::SPOOLED);
    assert_eq!(mm.requests().len(), 1, "an hour is not waited");
    flush_delivers(&rig, "dateahead");

    let mm = MattermostStandIn::http();
    mm.script([limited(&[("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")])]);
    let rig = Rig::new(&mm.url(), &[]);
    assert_exit(&rig.notify("datepast"), exit::OK);
    let answered: Vec<u16> = mm.requests().iter().map(|r| r.answered).collect();
    assert_eq!(answered, [429, 200]);
}

/// `X-RateLimit-Reset` as a unix time (some proxies send one instead of
/// Mattermost's seconds-until-reset) is read as that time, not as a wait
/// of 56 years.
#[test]
fn rate_limit_reset_as_a_unix_time_is_a_point_in_time() {
    let mm = MattermostStandIn::http();
    let reset = (unix_now() + 2).to_string();
    mm.script([limited(&[("X-RateLimit-Reset", &reset)])]);
    let rig = Rig::new(&mm.url(), &[("MATTERMOST_RETRY_BUDGET", "8")]);
    assert_exit(&rig.notify("unixreset"), exit::OK);
    let answered: Vec<u16> = mm.requests().iter().map(|r| r.answered).collect();
    assert_eq!(answered, [429, 200]);
}

/// Negative, fractional and garbage values are no wait the server named:
/// the default wait applies and the retry is delivered.
#[test]
fn negative_and_garbage_values_fall_back_to_the_default_wait() {
    for value in ["-5", "1.5", "soon", "", "Sunday, 06-Nov-94 08:49:37 GMT"] {
        let mm = MattermostStandIn::http();
        mm.script([limited(&[
            ("Retry-After", value),
            ("X-RateLimit-Reset", value),
        ])]);
        let rig = Rig::new(&mm.url(), &[("MATTERMOST_RETRY_BUDGET", "4")]);
        let out = rig.notify("garbage");
        assert_exit(&out, exit::OK);
        let reqs = mm.requests();
        let answered: Vec<u16> = reqs.iter().map(|r| r.answered).collect();
        assert_eq!(answered, [429, 200], "Retry-After: {value:?}");
        let waited = reqs[1].received.duration_since(reqs[0].received);
        assert!(
            waited >= Duration::from_millis(900),
            "Retry-After: {value:?} waited {waited:?}, not the 1 s default"
        );
    }
}

/// A login portal answering 200 with an HTML page is not Mattermost: the
/// alert is kept, the message says what answered (status, content type,
/// the page's title), never the webhook URL, and it is not retried (the
/// same portal answers the same way; see cli/src/transport/retry.rs).
#[test]
fn login_portal_200_is_not_a_delivery() {
    let mm = MattermostStandIn::http();
    mm.set_default(success(
        200,
        "text/html; charset=utf-8",
        &format!(
            "<!DOCTYPE html>\n<html><head><TITLE>\n  Sign in \u{2013} Corp SSO\n</TITLE></head>\
             <body><form action=\"/login?next=/hooks/{HOOK_ID}\">…</form></body></html>"
        ),
    ));
    let rig = Rig::new(&mm.url(), &[]);
    let out = rig.notify("portal");
    assert_exit(&out, exit::SPOOLED);
    assert_no_secret(&out);
    let err = stderr(&out);
    for part in [
        "HTTP 200",
        "text/html",
        "Sign in \u{2013} Corp SSO",
        "not Mattermost",
    ] {
        assert!(err.contains(part), "the message names {part:?}: {err}");
    }
    assert_eq!(mm.requests().len(), 1, "a wrong answer is not retried");

    // `flush` against the same portal keeps it too.
    let out = rig.flush();
    assert_exit(&out, exit::SPOOLED);
    assert!(stderr(&out).contains("Sign in"), "{}", stderr(&out));
    assert_eq!(rig.entries().len(), 1);
    flush_delivers(&rig, "portal");
}

/// Another service's `{}`, a default page that echoes the request (the
/// hook id must not reach the log), a 204 with no body, and a 200 with an
/// empty body are not Mattermost's `ok` either.
#[test]
fn foreign_or_empty_2xx_is_not_a_delivery() {
    let echo = format!("Welcome to nginx!\r\nYou asked for /hooks/{HOOK_ID} (hook {HOOK_ID}).");
    for (answer, shows) in [
        (success(200, "application/json", "{}"), "{}"),
        (
            success(200, "text/plain", &echo),
            "Welcome to nginx! You asked for /hooks/***",
        ),
        (success(204, "text/plain", ""), "HTTP 204"),
        (success(200, "text/plain", ""), "empty body"),
    ] {
        let mm = MattermostStandIn::http();
        mm.set_default(answer);
        let rig = Rig::new(&mm.url(), &[]);
        let out = rig.notify("foreign");
        assert_exit(&out, exit::SPOOLED);
        assert_no_secret(&out);
        let err = stderr(&out);
        assert!(err.contains(shows), "the message shows {shows:?}: {err}");
        flush_delivers(&rig, "foreign");
    }
}

/// Mattermost's own `ok`, with or without a trailing newline, stays a
/// delivery (the check is not stricter than the server).
#[test]
fn mattermost_ok_is_still_a_delivery() {
    let mm = MattermostStandIn::http();
    mm.script([success(200, "text/plain", "ok\n")]);
    let rig = Rig::new(&mm.url(), &[]);
    assert_exit(&rig.notify("okline"), exit::OK);
    assert!(rig.entries().is_empty());
}

/// `mattermost-notify test` against a login portal says FAILED and what
/// answered, instead of "delivered".
#[test]
fn test_post_to_a_login_portal_fails_and_says_what_answered() {
    let mm = MattermostStandIn::http();
    mm.set_default(success(
        200,
        "text/html",
        "<html><head><title>Captive portal</title></head></html>",
    ));
    let (_dir, mut cmd) = isolated();
    cmd.arg("test").env("MATTERMOST_WEBHOOK_URL", mm.url());
    let out = run(&mut cmd);
    // EX_TEMPFAIL, as for any answer that did not confirm the post.
    assert_exit(&out, 75);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(stdout.contains("\"Captive portal\""), "{stdout}");
    assert!(stdout.contains("not Mattermost"), "{stdout}");
    assert_no_secret(&out);
}
