//! Release alerts (the provider's `notification` blocks): the engine's
//! outcomes as events with a severity, sent to Slack, Teams, PagerDuty or
//! any webhook in each service's documented shape. An alert never fails a
//! release and holds it up by at most its `timeout`.

pub mod config;
pub mod event;
pub mod payload;
pub mod send;
pub mod sink;
#[cfg(test)]
pub(crate) mod tests;

pub use config::{Format, Notification};
pub use event::{EventKind, Figures, ReleaseContext, ReleaseEvent, Severity};
pub use send::Notifier;
pub use sink::Sink;
