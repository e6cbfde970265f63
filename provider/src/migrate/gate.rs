//! The plan-time gate: a breaking (contract or unknown) migration waits until
//! no colour that can receive traffic runs a version older than the one it
//! requires (`-- bluegreen:requires <version>`, or by default the live version).

use std::cmp::Ordering;

use crate::platform::{Color, ColorPhase, EnvironmentState};

use super::classify::Class;
use super::source::Migration;

/// A colour that can receive traffic, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingColor {
    /// Blue or green.
    pub color: Color,
    /// The version it runs.
    pub version: String,
    /// `live`, `canary` or `kept for rollback`.
    pub role: &'static str,
}

/// What the gate knows about the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traffic {
    /// No `environment` is set: the colours are unknown.
    NoEnvironment,
    /// The environment does not exist (yet): nothing serves.
    Absent,
    /// The colours that can receive traffic, and the live version.
    Serving {
        /// Environment name.
        environment: String,
        /// Colours receiving or able to receive traffic.
        colors: Vec<ServingColor>,
        /// The live colour's version.
        live_version: Option<String>,
    },
}

impl Traffic {
    /// Reads an environment's state: the live colour, the canary colour, and
    /// the idle colour while it still runs a version (kept for rollback).
    pub fn from_state(environment: &str, state: &EnvironmentState) -> Traffic {
        let mut colors = Vec::new();
        let live = state.live_color();
        let canary = state.routing.canary.as_ref().map(|c| c.color);
        for color in Color::ALL {
            let c = state.color(color);
            let Some(version) = c.version.clone() else {
                continue;
            };
            let role = if Some(color) == live {
                "live"
            } else if Some(color) == canary {
                "canary"
            } else if c.phase != ColorPhase::Stopped && c.phase != ColorPhase::Stopping {
                "kept for rollback"
            } else {
                continue;
            };
            colors.push(ServingColor {
                color,
                version,
                role,
            });
        }
        Traffic::Serving {
            environment: environment.to_string(),
            colors,
            live_version: state.live_version(),
        }
    }
}

/// A breaking migration the gate refuses, with the reasons and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The migration file.
    pub script: String,
    /// Contract or unknown.
    pub class: Class,
    /// What the migration is refused for.
    pub detail: String,
}

/// Compares application versions: numeric parts numerically (`1.10` > `1.9`),
/// a leading `v` ignored, other text compared as text.
pub fn compare_app_versions(a: &str, b: &str) -> Ordering {
    fn parts(s: &str) -> Vec<&str> {
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        s.split(['.', '_', '-', '+']).collect()
    }
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let (x, y) = (
            pa.get(i).copied().unwrap_or("0"),
            pb.get(i).copied().unwrap_or("0"),
        );
        let ord = match (x.parse::<u128>(), y.parse::<u128>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// The refusals for `migrations` given the traffic. Expand migrations always pass.
pub fn check(migrations: &[&Migration], traffic: &Traffic) -> Vec<Refusal> {
    let mut out = Vec::new();
    for m in migrations.iter().filter(|m| m.analysis.class.is_breaking()) {
        let class = m.analysis.class;
        let reasons: Vec<String> = m
            .analysis
            .reasons
            .iter()
            .map(|r| r.located(&m.script))
            .collect();
        let why = format!("It is {class} because:\n  {}", reasons.join("\n  "));
        let article = if class.to_string().starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        let detail = match traffic {
            Traffic::Absent => continue,
            Traffic::NoEnvironment => format!(
                "{} is {} {class} migration, and no `environment` is set, so nothing shows which application versions still \
                 receive traffic. {why}\nSet `environment` to the bluegreen_environment this database serves, or set \
                 allow_breaking = true if no running version depends on what it changes.",
                m.script,
                article
            ),
            Traffic::Serving { environment, colors, live_version } => {
                let required = m.requires.clone().or_else(|| live_version.clone());
                let Some(required) = required else { continue };
                let blockers: Vec<&ServingColor> =
                    colors.iter().filter(|c| compare_app_versions(&c.version, &required) == Ordering::Less).collect();
                if blockers.is_empty() {
                    continue;
                }
                let source = if m.requires.is_some() {
                    format!("it requires application version {required} (its `-- bluegreen:requires` header)")
                } else {
                    format!("it requires the live version {required} everywhere (add `-- bluegreen:requires <version>` to say otherwise)")
                };
                let who: Vec<String> =
                    blockers.iter().map(|c| format!("{} runs {} ({})", c.color, c.version, c.role)).collect();
                format!(
                    "{} is {} {class} migration and {source}, but in environment {environment:?} {}. {why}\n\
                     Wait until no colour that can receive traffic runs an older version (release {required} and stop the \
                     previous colour, e.g. keep_previous = false, or end the canary), or set allow_breaking = true.",
                    m.script,
                    article,
                    who.join(" and ")
                )
            }
        };
        out.push(Refusal {
            script: m.script.clone(),
            class,
            detail,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_versions_compare_numerically() {
        assert_eq!(compare_app_versions("1.10.0", "1.9.9"), Ordering::Greater);
        assert_eq!(compare_app_versions("v1.3.0", "1.3"), Ordering::Equal);
        assert_eq!(compare_app_versions("1.2.0", "1.3.0"), Ordering::Less);
        assert_eq!(
            compare_app_versions("1.3.0-rc1", "1.3.0"),
            Ordering::Greater
        );
    }
}
