//! The provider binary: a Terraform plugin when Terraform starts it, a small
//! CLI (version, schema, docs) when a person does.

use std::process::ExitCode;

fn main() -> ExitCode {
    terraform_provider_bluegreen::cli::main()
}
