//! Helpers shared by the migration tests.

#![allow(dead_code)]

pub mod postgres;

use std::path::Path;

/// Writes `files` (name, content) into `dir`.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create test folder");
        }
        std::fs::write(path, content).expect("write test migration");
    }
}
