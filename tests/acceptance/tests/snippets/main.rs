//! The documentation as a newcomer follows it: every HCL snippet of the
//! README, docs/ and the examples' and modules' READMEs goes through
//! `terraform init` and `terraform validate` with the locally built provider,
//! and the README says what the tests need.
//!
//! Build the binaries first: `cargo build --workspace --bins`.

mod fences;
mod hcl;
mod readme;

use std::path::{Path, PathBuf};

pub use bluegreen_acceptance::harness::terraform::repo_root;

/// The Markdown files whose snippets a user copies: README.md, docs/**/*.md,
/// examples/**/README.md and modules/**/README.md, relative to the repository root.
pub fn documentation_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![PathBuf::from("README.md")];
    markdown_under(&root, Path::new("docs"), &|_| true, &mut files);
    for dir in ["examples", "modules"] {
        markdown_under(
            &root,
            Path::new(dir),
            &|name| name == "README.md",
            &mut files,
        );
    }
    files
}

/// Appends the Markdown files under `root/dir` whose name `keep` accepts,
/// sorted, skipping build output and Terraform's own directories.
fn markdown_under(root: &Path, dir: &Path, keep: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = dir.join(&name);
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && !matches!(name.as_str(), "target" | ".terraform" | "node_modules") {
            markdown_under(root, &rel, keep, out);
        } else if !is_dir && name.ends_with(".md") && keep(&name) {
            out.push(rel);
        }
    }
}

/// The text of a documentation file; panics naming it when it cannot be read.
pub fn read_doc(rel: &Path) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
