//! `--icinga-url`: Icinga 2's REST API (DESIGN §11), the two-way path for
//! Icinga 2 without its deprecated command pipe.
//!
//! `POST <base>/v1/actions/<action>` with HTTP basic auth of an `ApiUser`
//! (`MATTERMOST_ICINGA_USER`, its password read from
//! `MATTERMOST_ICINGA_PASSWORD_FILE`) and `Accept: application/json`; the
//! bodies name the object with a fixed filter and `filter_vars`
//! ([`mattermost_notify_core::command::write_icinga_body`]). TLS trusts
//! `MATTERMOST_ICINGA_CA_FILE` (Icinga's own CA, `/var/lib/icinga2/certs/ca.crt`)
//! or else the bundled roots; no proxy.
//!
//! Each answer becomes a sentence for the clicker: 409 "already
//! acknowledged" or "OK now", 401 the login, 403 the ApiUser's
//! permissions, 404 no such object (Icinga also answers an empty 500 when
//! a filter matches nothing), 503 a reload in progress.

use super::{Backend, BackendError};
use crate::config::{key, Config};
use crate::error::Error;
use crate::transport::http::tls::{ca_file, client_config, Roots};
use crate::transport::http::{basic_auth, Client, Request, Url};
use mattermost_notify_core::command::core_command::icinga_path;
use mattermost_notify_core::command::{write_icinga_body, CoreCommand};
use mattermost_notify_core::limits::ICINGA_BODY_BUF_LEN;
use std::time::Duration;

/// Timeout of one Icinga 2 API call, connect to last byte.
pub const ICINGA_TIMEOUT: Duration = Duration::from_secs(10);

/// The Icinga 2 API backend.
pub struct Icinga {
    base: String,
    authorization: String,
    client: Client,
}

impl std::fmt::Debug for Icinga {
    // By hand: the authorization holds the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Icinga")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Icinga {
    /// The backend for `MATTERMOST_ICINGA_URL` and its user, password file
    /// and CA file; each error names its setting.
    pub fn new(cfg: &Config) -> Result<Icinga, Error> {
        let base = cfg
            .url(key::ICINGA_URL)?
            .ok_or_else(|| cfg.invalid(key::ICINGA_URL, "required"))?
            .trim_end_matches('/')
            .to_string();
        let user = cfg.require(key::ICINGA_USER)?;
        if user.contains(':') || user.chars().any(char::is_control) {
            return Err(cfg.invalid(
                key::ICINGA_USER,
                "may not contain ':' or control characters",
            ));
        }
        let file = cfg.get(key::ICINGA_PASSWORD_FILE).ok_or_else(|| {
            cfg.invalid(
                key::ICINGA_PASSWORD_FILE,
                "required with MATTERMOST_ICINGA_URL: a file holding the ApiUser's password",
            )
        })?;
        let raw = std::fs::read(file).map_err(|e| {
            cfg.invalid(
                key::ICINGA_PASSWORD_FILE,
                format!("cannot read {file}: {e}"),
            )
        })?;
        let password = std::str::from_utf8(&raw)
            .map_err(|_| cfg.invalid(key::ICINGA_PASSWORD_FILE, format!("{file} is not UTF-8")))?
            .trim_end_matches(['\n', '\r']);
        if password.is_empty() || password.chars().any(char::is_control) {
            return Err(cfg.invalid(
                key::ICINGA_PASSWORD_FILE,
                format!("{file} must hold one line: the password"),
            ));
        }
        Url::parse(&base)
            .map_err(|e| cfg.invalid(key::ICINGA_URL, format!("is not a valid URL: {e}")))?;
        let roots = match cfg.get(key::ICINGA_CA_FILE) {
            None => Roots::Bundled,
            Some(path) => {
                Roots::Only(ca_file(path).map_err(|why| cfg.invalid(key::ICINGA_CA_FILE, why))?)
            }
        };
        let tls =
            client_config(roots).map_err(|e| cfg.invalid(key::ICINGA_CA_FILE, e.to_string()))?;
        Ok(Icinga {
            base,
            authorization: basic_auth(user, password),
            client: Client::new(tls, ICINGA_TIMEOUT, ICINGA_TIMEOUT),
        })
    }
}

impl Backend for Icinga {
    fn carry(&self, cmd: &CoreCommand<'_>) -> Result<(), BackendError> {
        let mut buf = [0u8; ICINGA_BODY_BUF_LEN];
        let n = write_icinga_body(cmd, &mut buf).map_err(|e| BackendError {
            user: "the request was refused.".into(),
            log: format!("command refused: {e}"),
        })?;
        let url = format!("{}{}", self.base, icinga_path(cmd));
        let unreachable = |why: String| BackendError {
            user: "Icinga 2 could not be reached.".into(),
            log: format!("Icinga 2 {url}: {why}"),
        };
        let target = Url::parse(&url).map_err(|e| unreachable(e.to_string()))?;
        let headers = [
            ("Authorization", self.authorization.as_str()),
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
        ];
        let resp = self
            .client
            .send(&Request::post(
                &target,
                &headers,
                buf.get(..n).unwrap_or_default(),
            ))
            .map_err(|e| unreachable(e.to_string()))?;
        let status = resp.status;
        let raw = resp.body;
        match explain(status, &raw) {
            None => Ok(()),
            Some(user) => Err(BackendError {
                user,
                log: format!(
                    "Icinga 2 {url} answered HTTP {status}: {}",
                    String::from_utf8_lossy(&raw)
                        .chars()
                        .take(300)
                        .collect::<String>()
                ),
            }),
        }
    }

    fn describe(&self) -> String {
        format!("Icinga 2 API {}", self.base)
    }
}

#[derive(serde::Deserialize)]
struct Answer<'a> {
    #[serde(borrow, default)]
    results: heapless::Vec<Outcome<'a>, 16>,
}

#[derive(serde::Deserialize)]
struct Outcome<'a> {
    // Icinga writes codes as integers; a float here would pull the whole
    // float parser into the binary for nothing.
    #[serde(default)]
    code: u16,
    #[serde(default)]
    status: &'a str,
}

/// `None` when Icinga did it; else the sentence for the clicker.
fn explain(status: u16, body: &[u8]) -> Option<String> {
    let parsed = serde_json_core::from_slice::<Answer<'_>>(body)
        .ok()
        .map(|(a, _)| a);
    let results = parsed.as_ref().map(|a| a.results.as_slice()).unwrap_or(&[]);
    // The worst per-object code decides; the HTTP status when there is none.
    let code = results
        .iter()
        .map(|r| r.code)
        .find(|c| !(200..300).contains(c))
        .unwrap_or(status);
    let said = results
        .iter()
        .map(|r| r.status)
        .find(|s| !s.is_empty())
        .unwrap_or("");
    match code {
        200..=299 if !results.is_empty() || status == 200 => {
            if results.is_empty() {
                Some("Icinga 2 found no such host or service.".into())
            } else {
                None
            }
        }
        409 if said.contains("already acknowledged") => {
            Some("Icinga 2 says it is already acknowledged.".into())
        }
        409 if said.contains(" OK") || said.contains(" UP") || said.contains("no problem") => {
            Some("Icinga 2 says it is OK now; there is nothing to acknowledge.".into())
        }
        409 => Some(format!(
            "Icinga 2 refused it as a conflict ({}).",
            first_sentence(said)
        )),
        401 => Some(
            "Icinga 2 refused the receiver's login (HTTP 401): check MATTERMOST_ICINGA_USER \
             and its password file."
                .into(),
        ),
        403 => Some(
            "the receiver's Icinga 2 ApiUser lacks the permission for this action (HTTP 403)."
                .into(),
        ),
        404 => Some("Icinga 2 knows no such host or service (HTTP 404).".into()),
        // A filter that matches nothing is answered 500 with no results.
        500 if parsed.is_some() && results.is_empty() => {
            Some("Icinga 2 knows no such host or service.".into())
        }
        503 => Some(
            "Icinga 2 is not ready (HTTP 503), probably reloading its configuration; \
             try again in a minute."
                .into(),
        ),
        other => Some(format!("Icinga 2 answered HTTP {other}.")),
    }
}

fn first_sentence(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).take(200).collect();
    s.trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_sentences() {
        let ok = br#"{"results":[{"code":200,"status":"Successfully acknowledged problem for object 'web1!http'."}]}"#;
        assert_eq!(explain(200, ok), None);
        let again =
            br#"{"results":[{"code":409,"status":"Service web1!http is already acknowledged."}]}"#;
        assert_eq!(
            explain(409, again).unwrap(),
            "Icinga 2 says it is already acknowledged."
        );
        let fine = br#"{"results":[{"code":409,"status":"Host web1 is UP."}]}"#;
        assert!(explain(409, fine).unwrap().contains("OK now"));
        assert!(explain(
            401,
            b"<h1>Unauthorized. Please check your user credentials.</h1>"
        )
        .unwrap()
        .contains("MATTERMOST_ICINGA_USER"));
        assert!(
            explain(404, br#"{"error":404,"status":"No objects found."}"#)
                .unwrap()
                .contains("no such host")
        );
        assert!(explain(500, br#"{"results":[]}"#)
            .unwrap()
            .contains("no such host"));
        assert!(explain(503, b"").unwrap().contains("reloading"));
        assert!(explain(403, br#"{"error":403,"status":"No permission"}"#)
            .unwrap()
            .contains("permission"));
        assert_eq!(explain(502, b"").unwrap(), "Icinga 2 answered HTTP 502.");
    }
}
