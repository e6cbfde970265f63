//! What the README promises a newcomer about running the tests and waiting
//! for a release.

use std::path::Path;

use bluegreen_test_postgres::URL_ENV;

use crate::fences::fences;
use crate::read_doc;

/// The paragraph of `text` that starts with `start`, its lines joined.
fn paragraph(text: &str, start: &str) -> Option<String> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(start));
    let first = lines.next()?;
    let rest = lines.take_while(|l| !l.trim().is_empty());
    Some(
        std::iter::once(first)
            .chain(rest)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[test]
fn readme_needs_names_postgresql_and_how_tests_find_it() {
    let readme = read_doc(Path::new("README.md"));
    let needs = paragraph(&readme, "Needs:").expect("README.md has a \"Needs:\" paragraph");
    assert!(
        needs.contains("PostgreSQL"),
        "README.md's \"Needs:\" omits PostgreSQL, which `make test` uses: {needs}"
    );
    assert!(
        readme.contains(URL_ENV),
        "README.md does not say how the tests find PostgreSQL ({URL_ENV}, or a throwaway server)"
    );
}

#[test]
fn readme_says_why_a_release_waits_for_its_watch() {
    let readme = read_doc(Path::new("README.md"));
    let release = fences(&readme)
        .into_iter()
        .find(|f| f.is_hcl() && f.text.contains("post_switch") && f.text.contains("window"))
        .expect("README.md declares a release with a post_switch window");
    // The prose right after the snippet, up to the next heading.
    let after: String = readme
        .lines()
        .skip(release.line + release.text.lines().count() + 1)
        .take_while(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    for needle in ["Still modifying", "TF_LOG=info"] {
        assert!(
            after.contains(needle),
            "README.md's release snippet (line {}) should say that apply waits out the post-switch window \
             and how to watch it (expected {needle:?} after it): {after}",
            release.line
        );
    }
}
