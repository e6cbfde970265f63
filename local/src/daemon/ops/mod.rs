//! Operations of the admin API, by what they change: an environment's definition,
//! its colours, its routing, its lock; its metrics; the checks on their input and
//! the audit of their refusals, which they share.

mod audited;
mod define;
mod deploy;
mod locks;
mod metrics;
mod routing;
mod validate;
