//! Moving bytes to Mattermost: [`webhook`] posts a rendered payload to an
//! incoming webhook over ureq + rustls (ring) and classifies the answer;
//! [`retry`] spends one alert's time budget on as many attempts as fit.

pub mod retry;
pub mod webhook;
