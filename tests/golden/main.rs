//! Tests of the payload renderer as Mattermost sees it: golden JSON for
//! every notification type × host/service × state, DESIGN §3 checks on
//! every payload, property tests over hostile text, size limits, and the
//! receiver's replies to a click.
//!
//! Re-generate the fixtures after an intended change with
//! `BLESS=1 cargo test -p mattermost-notify-core --test golden`, then review
//! `git diff tests/data/golden`.

mod checks;
mod digest;
mod fixtures;
mod matrix;
mod props;
mod replies;
mod sizes;
mod thread;
