//! Flyway's file naming: `V<version>__<description>.sql` for versioned
//! migrations, `R__<description>.sql` for repeatable ones, and Flyway's
//! version ordering (parts split on `.` or `_`, compared as whole numbers).

use std::cmp::Ordering;
use std::fmt;

/// A migration version such as `1.3.0`, compared part by part as numbers.
///
/// Flyway stores the version with `_` replaced by `.`, and treats missing
/// trailing parts as zero: `1.3` and `1.3.0` are the same version.
#[derive(Debug, Clone, Eq)]
pub struct Version {
    /// As Flyway writes it to the history table (`1_3` becomes `1.3`).
    text: String,
    /// Each part's digits without leading zeros (`"0"` stays `""`), so parts
    /// of any length compare without overflow (Flyway uses BigInteger).
    parts: Vec<String>,
}

/// Why a version string is not a Flyway version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Nothing before the `__` separator.
    #[error("the version is empty")]
    Empty,
    /// A part that is not made of digits, e.g. `1.3a`.
    #[error("{version:?} is not a version: each part between `.` or `_` must be a whole number (e.g. 1.3.0)")]
    NotNumeric {
        /// The offending version text.
        version: String,
    },
}

impl Version {
    /// Parses `1.3.0`, `1_3_0` or `20240101120000`.
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        if s.is_empty() {
            return Err(VersionError::Empty);
        }
        let text = s.replace('_', ".");
        let mut parts = Vec::new();
        for part in text.split('.') {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::NotNumeric {
                    version: s.to_string(),
                });
            }
            parts.push(part.trim_start_matches('0').to_string());
        }
        Ok(Version { text, parts })
    }

    /// The version as stored in the history table.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn part(&self, i: usize) -> &str {
        self.parts.get(i).map(String::as_str).unwrap_or("")
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        for i in 0..n {
            let (a, b) = (self.part(i), other.part(i));
            // Without leading zeros, a longer number is a bigger one.
            let ord = a.len().cmp(&b.len()).then_with(|| a.cmp(b));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a file name says a migration is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameKind {
    /// `V<version>__…`: applied once, in version order.
    Versioned(Version),
    /// `R__…`: applied after the versioned ones whenever its checksum changes.
    Repeatable,
    /// `U<version>__…`: a Flyway Teams undo script, never applied by this provider.
    Undo(Version),
}

/// A parsed migration file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationName {
    /// Versioned, repeatable or undo.
    pub kind: NameKind,
    /// The description with underscores read as spaces, as Flyway stores it.
    pub description: String,
}

/// Why a `.sql` file name is not a Flyway migration name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}; name migrations V<version>__<description>.sql (e.g. V1.3.0__add_customer_preferences.sql) or R__<description>.sql")]
pub struct NamingError {
    /// The file name.
    pub file: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The separator between version and description.
const SEPARATOR: &str = "__";
/// The only suffix read as a migration.
const SUFFIX: &str = ".sql";

/// Parses a file name. `Ok(None)` for files that are not `.sql` (READMEs,
/// `.conf` files): only a `.sql` file with a wrong name is an error, because
/// silently skipping it would silently skip a schema change.
pub fn parse_file_name(file: &str) -> Result<Option<MigrationName>, NamingError> {
    let Some(stem) = file.strip_suffix(SUFFIX) else {
        return Ok(None);
    };
    let bad = |reason: &str| NamingError {
        file: file.to_string(),
        reason: reason.to_string(),
    };
    let (prefix, rest) = match stem.chars().next() {
        Some(c @ ('V' | 'R' | 'U')) => (c, &stem[1..]),
        _ => {
            return Err(bad(
                "it does not start with V (versioned) or R (repeatable)",
            ))
        }
    };
    let Some(sep) = rest.find(SEPARATOR) else {
        return Err(bad(
            "there is no `__` between the version and the description",
        ));
    };
    let (version, description) = (&rest[..sep], &rest[sep + SEPARATOR.len()..]);
    let description = description.replace('_', " ");
    if description.trim().is_empty() {
        return Err(bad("the description after `__` is empty"));
    }
    let kind = match prefix {
        'R' if version.is_empty() => NameKind::Repeatable,
        'R' => return Err(bad("a repeatable migration (R__) has no version")),
        _ => {
            let v = Version::parse(version).map_err(|e| bad(&e.to_string()))?;
            if prefix == 'V' {
                NameKind::Versioned(v)
            } else {
                NameKind::Undo(v)
            }
        }
    };
    Ok(Some(MigrationName { kind, description }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).expect("valid version")
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(v("1.10") > v("1.9"));
        assert!(v("2") > v("1.99.99"));
        assert!(v("1.3.1") > v("1.3"));
        assert_eq!(v("1.3"), v("1.3.0"));
        assert_eq!(v("1.03"), v("1.3"));
        assert_eq!(v("1_3_0"), v("1.3.0"));
        assert_eq!(v("1_3_0").as_str(), "1.3.0");
        assert!(v("20240101120000") > v("20231231235959"));
        assert!(v("123456789012345678901234567890") > v("99999999999999999999999999999"));
    }

    #[test]
    fn bad_versions_are_rejected() {
        assert!(Version::parse("").is_err());
        assert!(Version::parse("1.a").is_err());
        assert!(Version::parse("1..2").is_err());
        assert!(Version::parse(".1").is_err());
    }

    #[test]
    fn names_parse_like_flyway() {
        let n = parse_file_name("V1.3.0__add_customer_preferences.sql")
            .unwrap()
            .unwrap();
        assert_eq!(n.kind, NameKind::Versioned(v("1.3.0")));
        assert_eq!(n.description, "add customer preferences");
        let r = parse_file_name("R__refresh_views.sql").unwrap().unwrap();
        assert_eq!(r.kind, NameKind::Repeatable);
        assert_eq!(r.description, "refresh views");
        let u = parse_file_name("U2__undo.sql").unwrap().unwrap();
        assert_eq!(u.kind, NameKind::Undo(v("2")));
        assert_eq!(parse_file_name("README.md").unwrap(), None);
    }

    #[test]
    fn bad_names_are_errors() {
        for name in [
            "v1__lower.sql",
            "V1_missing_separator.sql",
            "V__no_version.sql",
            "V1.x__bad.sql",
            "R1__versioned_repeatable.sql",
            "V1__.sql",
            "create_table.sql",
        ] {
            let err = parse_file_name(name).expect_err(name);
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
