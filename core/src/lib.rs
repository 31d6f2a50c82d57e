//! The pure, allocation-free core of `mattermost-notify`.
//!
//! Everything that decides what a Mattermost post, an ack context or an
//! external-command line *says* lives here: the notification model
//! ([`model`]), the payload renderer ([`render`]) writing JSON into a
//! caller's `&mut [u8]`, untrusted-text handling ([`text`]), the signed
//! acknowledgement context ([`ack`]), parsing of Mattermost's button
//! callback ([`callback`]) and external-command lines ([`command`]), and
//! the waits rate-limiting servers ask for ([`retry_after`]), and the
//! conversation of a problem in API mode: its root post, the root's edits
//! and the compact replies in its thread ([`thread`]).
//!
//! Panic rule: no function in this crate panics, for any input, as long as
//! it is given the buffer the documentation names. Every capacity is a named
//! constant in [`limits`].
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo
    )
)]

pub mod ack;
pub mod ack_reply;
pub mod action_reply;
pub mod actions;
pub mod callback;
pub mod command;
pub mod dialog;
pub mod digest_list;
pub mod hex;
pub mod json;
pub mod limits;
pub mod model;
pub mod render;
pub mod retry_after;
pub mod text;
pub mod thread;

pub use model::{Kind, Notification, NotificationType, State};
pub use render::{render_payload, RenderError, RenderOptions};
