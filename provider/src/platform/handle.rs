//! The environment's platform handle: what every [`super::Platform`] call is
//! given, so that a call needs no earlier call (no `define` first) to find its
//! environment. Locally the name is enough; a cloud platform adds the ids of
//! the resources it acts on.

use std::fmt;

use super::azure::AzureTarget;
use super::TargetSpec;

/// An environment as its platform knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnvironmentRef {
    /// The environment's name (the resource's `name`).
    pub name: String,
    /// Where it lives on its platform.
    pub target: TargetRef,
}

/// The platform-specific identity of an environment: Azure's carries the
/// container app id, the Front Door route id and the origin group ids, taken
/// from the resource's `azure` block or recovered from the platform (tags on the
/// app) by [`super::Platform::locate`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetRef {
    /// On the local daemon, which finds environments by name.
    Local,
    /// On Azure: the resources the environment acts on.
    Azure(AzureTarget),
}

impl EnvironmentRef {
    /// The local environment `name`.
    pub fn local(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            target: TargetRef::Local,
        }
    }

    /// The handle of environment `name` as its configuration declares it.
    pub fn for_target(name: impl Into<String>, target: &TargetSpec) -> Self {
        match target {
            TargetSpec::Local { .. } => Self::local(name),
            TargetSpec::Azure { target, .. } => Self {
                name: name.into(),
                target: TargetRef::Azure(target.clone()),
            },
        }
    }
}

/// The name: what messages call the environment.
impl fmt::Display for EnvironmentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}
