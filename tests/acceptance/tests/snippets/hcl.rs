//! Every HCL snippet of the documentation parses and validates against the
//! provider's schema, as a user who pastes it into `main.tf` would find.

use bluegreen_acceptance::harness::output::unwrapped;
use bluegreen_acceptance::harness::provider::bluegreen;
use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::fences::{fences, Fence};
use crate::{documentation_files, read_doc};

/// One snippet and where a reader finds it.
struct Snippet {
    /// `README.md:60`.
    place: String,
    fence: Fence,
}

fn snippets() -> Vec<Snippet> {
    let mut out = Vec::new();
    for rel in documentation_files() {
        for fence in fences(&read_doc(&rel)) {
            // Snippets of azurerm resources need the azurerm provider from
            // the registry, which these offline tests cannot install; they
            // are named in the run's output rather than silently passed.
            if fence.is_hcl() && fence.text.contains("resource \"azurerm_") {
                announce(&format!(
                    "snippets: {}:{} uses azurerm: not validated here (no registry access)",
                    rel.display(),
                    fence.line
                ));
            } else if fence.is_hcl() {
                out.push(Snippet {
                    place: format!("{}:{}", rel.display(), fence.line),
                    fence,
                });
            }
        }
    }
    out
}

/// The configuration a user would have after pasting `snippet`: a fragment
/// without `required_providers` gets the block that names agog/bluegreen, as
/// every configuration using the provider has it somewhere.
fn as_configuration(snippet: &str) -> String {
    if snippet.contains("required_providers") {
        snippet.to_string()
    } else {
        format!("{}\n{snippet}", bluegreen().required_providers_block())
    }
}

#[test]
fn every_hcl_snippet_validates() {
    let snippets = snippets();
    assert!(
        snippets.iter().any(|s| s.place.starts_with("README.md:")),
        "no ```hcl snippet found in README.md: the extraction is broken"
    );
    on_every_cli("every_hcl_snippet_validates", |tf| {
        let ws = Workspace::new("every_hcl_snippet_validates", tf, &bluegreen());
        let mut broken = Vec::new();
        for snippet in &snippets {
            ws.write_config(&as_configuration(&snippet.fence.text));
            let mut out = ws.run(&["init", "-input=false"]);
            if out.success() {
                out = ws.run(&["validate"]);
            }
            if !out.success() {
                broken.push(format!(
                    "{} (```{}): `terraform {}` exited {:?}:\n{}",
                    snippet.place,
                    snippet.fence.lang,
                    out.args.join(" "),
                    out.code,
                    indent(&unwrapped(&out.plain()))
                ));
            }
        }
        announce(&format!(
            "acceptance: every_hcl_snippet_validates on Terraform v{}: {} snippets from {} files, {} broken",
            tf.version_string(),
            snippets.len(),
            documentation_files().len(),
            broken.len()
        ));
        if !broken.is_empty() {
            let dir = ws.dir().display().to_string();
            panic!(
                "{} of {} documentation snippets do not validate (work dir {dir}):\n\n{}",
                broken.len(),
                snippets.len(),
                broken.join("\n\n")
            );
        }
    });
}

fn indent(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn fragments_get_the_provider_requirement() {
    let fragment = "resource \"bluegreen_environment\" \"api\" {}\n";
    let config = as_configuration(fragment);
    assert!(config.contains("source  = \"agog/bluegreen\""), "{config}");
    assert!(config.ends_with(fragment), "{config}");
    let whole = "terraform {\n  required_providers {}\n}\n";
    assert_eq!(as_configuration(whole), whole);
}
