//! Shared pieces of the benchmark programs: the HTTP load generator, process guards,
//! statistics, machine description, the local platform, `wrk` and `nginx` drivers, and the
//! synthetic SQL migration corpus.

pub mod arm_journal;
pub mod cpu;
pub mod daemon;
pub mod load;
pub mod machine;
pub mod nginx;
pub mod process;
pub mod rounds;
pub mod rss;
pub mod sqlgen;
pub mod stats;
pub mod table;
pub mod tools;
pub mod wrk;
