//! Moving bytes to Mattermost: [`webhook`] posts a rendered payload to an
//! incoming webhook and classifies the answer; [`http`] is the small
//! HTTP/1.1 client (rustls, ring) it and `serve`'s API calls use;
//! [`retry`] spends one alert's time budget on as many attempts as fit.

pub mod http;
pub mod retry;
pub mod webhook;
