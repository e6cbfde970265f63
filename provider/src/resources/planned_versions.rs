//! What the environments planned in this run will run once applied.
//!
//! A split planned in the same run as its environment cannot ask the platform
//! about a version that environment has not deployed yet (or an environment
//! not created yet). Terraform plans the environment first when the split
//! references its `name`, in the same provider process, so the environment's
//! plan leaves its versions here and the split's plan checks against them;
//! the apply, which runs after the environment's, checks the platform itself.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tfplugin::model::Field;

/// Versions per environment name, as planned in this run.
#[derive(Debug, Default)]
pub struct PlannedVersions {
    by_environment: Mutex<BTreeMap<String, Vec<Option<String>>>>,
}

/// What this run's plan says about a version of an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedRun {
    /// No environment of that name was planned in this run.
    NotPlanned,
    /// The environment's plan deploys it (or a version not known yet, which may be it).
    Deploys,
    /// The environment's plan deploys neither as `version` nor as `candidate_version`.
    DoesNotDeploy,
}

impl PlannedVersions {
    /// Records the versions (`version`, `candidate_version`) a
    /// `bluegreen_environment` called `name` is planned to run; null ones are
    /// none, unknown ones may be any.
    pub fn record(&self, name: &str, versions: &[&Field<String>]) {
        let versions = versions
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| v.known().cloned())
            .collect();
        self.slots().insert(name.to_string(), versions);
    }

    /// Whether `environment`, as planned in this run, will run `version`.
    pub fn runs(&self, environment: &str, version: &str) -> PlannedRun {
        match self.slots().get(environment) {
            None => PlannedRun::NotPlanned,
            Some(versions)
                if versions
                    .iter()
                    .any(|v| v.as_deref().is_none_or(|v| v == version)) =>
            {
                PlannedRun::Deploys
            }
            Some(_) => PlannedRun::DoesNotDeploy,
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Option<String>>>> {
        // A panic elsewhere leaves the map consistent: each insert is one step.
        self.by_environment
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(v: &str) -> Field<String> {
        Field::Known(v.to_string())
    }

    #[test]
    fn answers_from_the_recorded_plan() {
        let planned = PlannedVersions::default();
        assert_eq!(planned.runs("api", "1.3.0"), PlannedRun::NotPlanned);
        planned.record("api", &[&known("1.2.0"), &known("1.3.0")]);
        assert_eq!(planned.runs("api", "1.3.0"), PlannedRun::Deploys);
        assert_eq!(planned.runs("api", "1.2.0"), PlannedRun::Deploys);
        assert_eq!(planned.runs("api", "1.4.0"), PlannedRun::DoesNotDeploy);
        assert_eq!(planned.runs("web", "1.3.0"), PlannedRun::NotPlanned);
        planned.record("api", &[&known("1.2.0"), &Field::Null]);
        assert_eq!(planned.runs("api", "1.3.0"), PlannedRun::DoesNotDeploy);
        planned.record("api", &[&known("1.2.0"), &Field::Unknown]);
        assert_eq!(planned.runs("api", "1.3.0"), PlannedRun::Deploys);
    }
}
