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

use tfplugin::Value;

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
    /// Records a `bluegreen_environment` planned value (null when destroyed).
    pub fn record(&self, planned: &Value) {
        let Some(name) = planned.get("name").as_str() else {
            return;
        };
        let versions = ["version", "candidate_version"]
            .iter()
            .map(|a| planned.get(a))
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().map(str::to_string))
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

    fn env(version: Value, candidate: Value) -> Value {
        Value::object([
            ("name", Value::from("api")),
            ("version", version),
            ("candidate_version", candidate),
        ])
    }

    #[test]
    fn answers_from_the_recorded_plan() {
        let planned = PlannedVersions::default();
        assert_eq!(planned.runs("api", "1.3.0"), PlannedRun::NotPlanned);
        planned.record(&env(Value::from("1.2.0"), Value::from("1.3.0")));
        assert_eq!(planned.runs("api", "1.3.0"), PlannedRun::Deploys);
        assert_eq!(planned.runs("api", "1.2.0"), PlannedRun::Deploys);
        assert_eq!(planned.runs("api", "1.4.0"), PlannedRun::DoesNotDeploy);
        assert_eq!(planned.runs("web", "1.3.0"), PlannedRun::NotPlanned);
        planned.record(&env(Value::from("1.2.0"), Value::Null));
        assert_eq!(planned.runs("api", "1.3.0"), PlannedRun::DoesNotDeploy);
        planned.record(&env(Value::from("1.2.0"), Value::Unknown));
        assert_eq!(planned.runs("api", "1.3.0"), PlannedRun::Deploys);
    }
}
