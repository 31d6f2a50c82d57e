//! End-to-end tests: the real `mattermost-notify` binary against real peers
//! on loopback. One harness, a module per area (after ripgrep's `tests/`).

mod support;

mod answers;
mod api;
mod config;
mod degrade;
mod deliver;
mod digest;
mod dry_run;
mod faults;
mod icinga;
mod logging;
mod nagios;
mod nagios_api;
mod order;
mod proxy;
mod readme;
mod replay;
mod security;
mod seed;
mod serve;
mod serve_load;
mod skips;
mod spool;
mod standin_rest_selftest;
mod standin_selftest;
mod storm;
mod trust;
mod usage;

/// Path of the binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mattermost-notify")
}
