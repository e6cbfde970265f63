//! Colour processes: command templates, ports, signals, logs and the supervisor.

pub mod command;
pub mod logs;
pub mod ports;
pub mod procfs;
pub mod supervisor;
