//! `bluegreen-local-api`: what a client of the `bluegreen-local` daemon needs.
//!
//! The admin API's JSON types ([`api`]), the HTTP client ([`client::Client`]) and
//! reading the bearer token from the daemon's state directory ([`token`]). The
//! provider links this crate rather than the daemon, so it does not carry the
//! daemon's server, front door and supervisor.

pub mod api;
pub mod client;
pub mod pid_space;
pub mod release;
pub mod token;
