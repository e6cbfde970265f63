//! Shared pieces of the benchmark programs: the HTTP load generator, process guards,
//! statistics, machine description, and the local platform, `wrk` and `nginx` drivers.

pub mod cpu;
pub mod daemon;
pub mod load;
pub mod machine;
pub mod nginx;
pub mod process;
pub mod rounds;
pub mod rss;
pub mod stats;
pub mod table;
pub mod tools;
pub mod wrk;
