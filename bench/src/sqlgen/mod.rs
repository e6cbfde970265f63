//! The synthetic migration corpus of `bench-migrations-check`: varied PostgreSQL
//! DDL and DML over a schema that grows as it is written, from a fixed seed (same
//! seed, same files, on every machine), so that the benchmark's figures can be
//! compared across runs and builds.

mod constraints;
mod corpus;
mod data;
mod generator;
mod model;
mod objects;
mod rng;
mod tables;
mod vocabulary;

pub use corpus::synthetic_corpus;

#[cfg(test)]
mod tests {
    use super::synthetic_corpus;

    /// FNV-1a over every file's name and text, in order.
    fn fingerprint(files: &[(String, String)]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, text) in files {
            for b in name.bytes().chain([0]).chain(text.bytes()).chain([0]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }

    /// The corpus BENCHMARKS.md was measured on must not drift: this fingerprint
    /// was taken from the generator before it moved out of the benchmark binary
    /// (`bench-migrations-check --write-corpus DIR --statements 400 --files 12 --seed 7`).
    #[test]
    fn same_seed_same_corpus_as_before() {
        let (files, statements) = synthetic_corpus(400, 12, 7);
        assert_eq!(files.len(), 12);
        assert_eq!(statements, 389);
        assert_eq!(files[0].0, "V1__rename.sql");
        assert_eq!(fingerprint(&files), 0x4390_3296_dbf8_d4a0);
    }

    #[test]
    fn another_seed_another_corpus() {
        let (a, _) = synthetic_corpus(400, 12, 7);
        let (b, _) = synthetic_corpus(400, 12, 8);
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
