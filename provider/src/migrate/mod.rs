//! Flyway-compatible versioned SQL migrations with expand/contract
//! classification: the library behind `bluegreen_migration` and
//! `terraform-provider-bluegreen migrations check`.
//!
//! - [`naming`]: `V<version>__<description>.sql`, `R__<description>.sql`, version order
//! - [`checksum`]: Flyway's CRC-32 checksum
//! - [`source`]: reading a migrations folder
//! - [`sql`]: splitting statements with the parser, transaction placement
//! - [`classify`]: expand / contract / unknown, and squawk's lock-safety warnings
//! - [`database`], [`history`], [`lock`], [`runner`]: applying them, Flyway's way
//! - [`status`]: the folder against the history (pending, modified, missing…)
//! - [`gate`]: refusing breaking migrations while older versions serve

pub mod checksum;
pub mod classify;
pub mod database;
pub mod gate;
pub mod history;
pub mod lock;
pub mod naming;
pub mod runner;
pub mod source;
pub mod sql;
pub mod status;

pub use classify::{Analysis, Class, Finding};
pub use database::{DatabaseUrl, Dialect};
pub use history::HistoryTable;
pub use naming::Version;
pub use runner::{migrate, MigrateError, Session};
pub use source::{Migration, MigrationSet};
pub use status::{Problem, Status};
