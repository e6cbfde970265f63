//! Where configuration values come from besides the configuration itself.
//!
//! Its own module, below both, so that the configuration and the platform
//! settings it resolves read variables without importing each other.

/// Where configuration values come from besides the config itself.
pub trait Env {
    /// An environment variable, if set and non-empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}
