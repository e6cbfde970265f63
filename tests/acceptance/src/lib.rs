//! Acceptance testing for terraform-provider-bluegreen: a harness that drives
//! the real Terraform CLIs ([`harness`]) and `bgtest`, a provider built only
//! for tests that exercises plugin protocol 6 end to end ([`testprovider`]).

pub mod harness;
pub mod testprovider;
