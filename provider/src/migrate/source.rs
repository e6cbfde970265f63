//! Reading a migrations folder: every `.sql` file named the Flyway way,
//! with its checksum, its `-- bluegreen:requires` header and its analysis.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::checksum::flyway_checksum;
use super::classify::{analyze, Analysis};
use super::naming::{parse_file_name, NameKind, NamingError, Version};

/// The header that names the oldest application version a breaking
/// migration tolerates: `-- bluegreen:requires 1.3.0`.
pub const REQUIRES_DIRECTIVE: &str = "bluegreen:requires";

/// Versioned or repeatable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Applied once, in version order.
    Versioned(Version),
    /// Re-applied whenever its checksum changes, after the versioned ones.
    Repeatable,
}

/// One migration file.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Path relative to the folder, `/`-separated: Flyway's `script` column.
    pub script: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// Versioned or repeatable.
    pub kind: Kind,
    /// The description from the file name, underscores read as spaces.
    pub description: String,
    /// Flyway's checksum of the file.
    pub checksum: i32,
    /// The application version named by `-- bluegreen:requires`, if any.
    pub requires: Option<String>,
    /// The file's SQL.
    pub sql: String,
    /// Statements, class, reasons and lint warnings.
    pub analysis: Analysis,
}

impl Migration {
    /// The version of a versioned migration.
    pub fn version(&self) -> Option<&Version> {
        match &self.kind {
            Kind::Versioned(v) => Some(v),
            Kind::Repeatable => None,
        }
    }
    /// The file name without folders, for messages.
    pub fn file_name(&self) -> &str {
        self.script.rsplit('/').next().unwrap_or(&self.script)
    }
    /// `1.3.0` or `R__refresh_views.sql`: how messages name it.
    pub fn label(&self) -> String {
        match &self.kind {
            Kind::Versioned(v) => format!("V{v}"),
            Kind::Repeatable => self.script.clone(),
        }
    }
}

/// A problem with the folder's files.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The folder cannot be read.
    #[error("cannot read migrations folder {dir}: {source}")]
    ReadDir {
        /// The folder.
        dir: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A `.sql` file not named the Flyway way.
    #[error(transparent)]
    Naming(#[from] NamingError),
    /// Two files with the same version (`1.3` and `1.3.0` are the same).
    #[error("{first} and {second} both have version {version}; every versioned migration needs its own version: renumber one of them")]
    DuplicateVersion {
        /// The version.
        version: String,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// Two repeatable migrations with the same description.
    #[error("{first} and {second} are both the repeatable migration {description:?}; Flyway tells repeatables apart by description: rename one")]
    DuplicateRepeatable {
        /// The description.
        description: String,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// A `-- bluegreen:requires` header without a version.
    #[error("{script}:{line}: `-- {REQUIRES_DIRECTIVE}` needs an application version, e.g. `-- {REQUIRES_DIRECTIVE} 1.3.0`")]
    EmptyRequires {
        /// The file.
        script: String,
        /// Its line.
        line: usize,
    },
}

/// Every problem found in a folder (all of them, so one plan shows them all).
#[derive(Debug)]
pub struct SourceErrors(pub Vec<SourceError>);

impl fmt::Display for SourceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for SourceErrors {}

/// The migrations of one folder, in the order Flyway applies them.
#[derive(Debug, Clone, Default)]
pub struct MigrationSet {
    /// Versioned migrations, lowest version first.
    pub versioned: Vec<Migration>,
    /// Repeatable migrations, by description.
    pub repeatable: Vec<Migration>,
    /// Files that are Flyway migrations of a kind this provider never
    /// applies (undo scripts), for the CLI to mention.
    pub skipped: Vec<String>,
}

impl MigrationSet {
    /// Reads every `.sql` file under `dir` (recursively, like Flyway).
    pub fn load(dir: &Path) -> Result<MigrationSet, SourceErrors> {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        collect(dir, dir, &mut files, &mut errors);
        files.sort();
        let mut set = MigrationSet::default();
        let mut read = Vec::new();
        for (script, path) in files {
            let name = match parse_file_name(script.rsplit('/').next().unwrap_or(&script)) {
                Ok(Some(name)) => name,
                Ok(None) => continue,
                Err(e) => {
                    errors.push(
                        NamingError {
                            file: script.clone(),
                            reason: e.reason,
                        }
                        .into(),
                    );
                    continue;
                }
            };
            let kind = match name.kind {
                NameKind::Versioned(v) => Kind::Versioned(v),
                NameKind::Repeatable => Kind::Repeatable,
                NameKind::Undo(_) => {
                    set.skipped.push(script);
                    continue;
                }
            };
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(source) => {
                    errors.push(SourceError::ReadFile {
                        path: path.display().to_string(),
                        source,
                    });
                    continue;
                }
            };
            let sql = String::from_utf8_lossy(&bytes).into_owned();
            let requires = match requires_header(&sql) {
                Ok(r) => r,
                Err(line) => {
                    errors.push(SourceError::EmptyRequires {
                        script: script.clone(),
                        line,
                    });
                    None
                }
            };
            read.push(ReadScript {
                checksum: flyway_checksum(&bytes),
                script,
                path,
                kind,
                description: name.description,
                requires,
                sql,
            });
        }
        let texts: Vec<&str> = read.iter().map(|r| r.sql.as_str()).collect();
        let analyses = analyze_all(&texts);
        for (script, analysis) in read.into_iter().zip(analyses) {
            let migration = script.into_migration(analysis);
            match migration.kind {
                Kind::Versioned(_) => set.versioned.push(migration),
                Kind::Repeatable => set.repeatable.push(migration),
            }
        }
        set.versioned.sort_by(|a, b| a.version().cmp(&b.version()));
        for pair in set.versioned.windows(2) {
            if pair[0].version() == pair[1].version() {
                errors.push(SourceError::DuplicateVersion {
                    version: pair[1]
                        .version()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    first: pair[0].script.clone(),
                    second: pair[1].script.clone(),
                });
            }
        }
        set.repeatable
            .sort_by(|a, b| a.description.cmp(&b.description));
        for pair in set.repeatable.windows(2) {
            if pair[0].description == pair[1].description {
                errors.push(SourceError::DuplicateRepeatable {
                    description: pair[1].description.clone(),
                    first: pair[0].script.clone(),
                    second: pair[1].script.clone(),
                });
            }
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(SourceErrors(errors))
        }
    }

    /// Versioned migrations first, then repeatables: the order they apply in.
    pub fn all(&self) -> impl Iterator<Item = &Migration> {
        self.versioned.iter().chain(self.repeatable.iter())
    }

    /// The versioned migration with this version.
    pub fn versioned(&self, v: &Version) -> Option<&Migration> {
        self.versioned.iter().find(|m| m.version() == Some(v))
    }

    /// The repeatable migration with this description.
    pub fn repeatable(&self, description: &str) -> Option<&Migration> {
        self.repeatable
            .iter()
            .find(|m| m.description == description)
    }
}

/// A migration read from disk, before its (parallel) analysis.
struct ReadScript {
    checksum: i32,
    script: String,
    path: PathBuf,
    kind: Kind,
    description: String,
    requires: Option<String>,
    sql: String,
}

impl ReadScript {
    fn into_migration(self, analysis: Analysis) -> Migration {
        Migration {
            checksum: self.checksum,
            analysis,
            script: self.script,
            path: self.path,
            kind: self.kind,
            description: self.description,
            requires: self.requires,
            sql: self.sql,
        }
    }
}

/// Most threads [`analyze_all`] uses.
const MAX_ANALYSIS_THREADS: usize = 16;

/// Analyses every text, in order, on up to one thread per CPU: files are
/// independent, and parsing and linting them is nearly all of a check's time
/// (measured in BENCHMARKS.md, issue 4). Threads take the next file as they
/// finish one, since file sizes vary widely.
fn analyze_all(texts: &[&str]) -> Vec<Analysis> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_ANALYSIS_THREADS)
        .min(texts.len());
    if threads <= 1 {
        return texts.iter().map(|t| analyze(t)).collect();
    }
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(text) = texts.get(i) else {
                return done;
            };
            done.push((i, analyze(text)));
        }
    };
    let mut results = std::thread::scope(|scope| {
        // A helper the OS refuses to start is no error: the others do its share.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, worker).ok())
            .collect();
        // This thread works too; a panic in a helper is re-raised here.
        let mut results = worker();
        for helper in helpers {
            match helper.join() {
                Ok(done) => results.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    });
    // Every index was taken exactly once: sorting restores the files' order.
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, analysis)| analysis).collect()
}

/// Files under `dir`, as (relative `/`-separated path, full path).
fn collect(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(String, PathBuf)>,
    errors: &mut Vec<SourceError>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            errors.push(SourceError::ReadDir {
                dir: dir.display().to_string(),
                source,
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Editors' and VCS's hidden files are not migrations.
        if name.starts_with('.') {
            continue;
        }
        // `metadata` follows symlinks, as Flyway's file scanner does.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            collect(root, &path, files, errors);
        } else if meta.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let script = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((script, path));
        }
    }
}

/// The version named by the first `-- bluegreen:requires` line comment;
/// `Err(line)` when it names none.
pub fn requires_header(sql: &str) -> Result<Option<String>, usize> {
    for (i, line) in sql.lines().enumerate() {
        let Some(comment) = line.trim_start().strip_prefix("--") else {
            continue;
        };
        let Some(rest) = comment.trim_start().strip_prefix(REQUIRES_DIRECTIVE) else {
            continue;
        };
        return match rest.split_whitespace().next() {
            Some(v) => Ok(Some(v.to_string())),
            None => Err(i + 1),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_analysis_keeps_the_files_order() {
        let texts: Vec<String> = (0..97)
            .map(|i| match i % 3 {
                0 => format!("CREATE TABLE t{i} (id bigint);\n"),
                1 => format!("ALTER TABLE t{i} DROP COLUMN c;\nSELECT {i};\n"),
                _ => format!("DO $$ BEGIN END $$;\n{}", "SELECT 1;\n".repeat(i)),
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let parallel = analyze_all(&refs);
        assert_eq!(parallel.len(), texts.len());
        for (text, a) in texts.iter().zip(&parallel) {
            let b = analyze(text);
            assert_eq!(a.class, b.class, "{text}");
            assert_eq!(a.reasons, b.reasons, "{text}");
            assert_eq!(a.warnings, b.warnings, "{text}");
            assert_eq!(a.statements, b.statements, "{text}");
        }
    }

    #[test]
    fn requires_header_is_read() {
        assert_eq!(
            requires_header("-- bluegreen:requires 1.3.0\nALTER TABLE t ALTER c SET NOT NULL;"),
            Ok(Some("1.3.0".into()))
        );
        assert_eq!(
            requires_header("--   bluegreen:requires   v2  (after the switch)\n"),
            Ok(Some("v2".into()))
        );
        assert_eq!(
            requires_header("SELECT 1;\n-- bluegreen:requires\n"),
            Err(2)
        );
        assert_eq!(requires_header("-- requires nothing\n"), Ok(None));
    }
}
