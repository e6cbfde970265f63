//! Canary ramp steps that saw too little traffic to judge: fewer than
//! `progressive.min_requests` canary requests (none included), or no figures
//! from the platform. Like the post-switch watch's [`super::unjudged`], such
//! a step does not stop the ramp, since nothing showed the canary is bad, but
//! it did not pass either: its step says so, and once the ramp reached its
//! final weight the apply gets one warning diagnostic and one `warning`
//! alert naming every such step, so that nobody takes an unwatched ramp for
//! a healthy one.

use std::time::Duration;

use super::canary::Progressive;
use super::clock::format_duration;
use super::unjudged::plural;
use crate::notify::sink;
use crate::platform::{Color, Metrics};

/// One step that was not judged.
#[derive(Debug, Clone, PartialEq)]
pub struct UnjudgedStep {
    /// The step's weight, percent.
    pub weight: u8,
    /// Requests the canary answered during the step; `None`: the platform
    /// reported no figures.
    pub requests: Option<u64>,
}

impl UnjudgedStep {
    /// The step's verdict from its last figures: `None` when they are enough
    /// to judge (the thresholds were applied to them).
    pub fn from_step(weight: u8, m: Option<&Metrics>, min_requests: u64) -> Option<UnjudgedStep> {
        let requests = m.map(|m| m.requests);
        if requests.is_some_and(|n| n >= min_requests) {
            return None;
        }
        Some(UnjudgedStep { weight, requests })
    }

    /// "10% (3 requests)".
    fn brief(&self) -> String {
        match self.requests {
            Some(n) => format!("{}% ({n} request{})", self.weight, plural(n)),
            None => format!("{}% (no figures from the platform)", self.weight),
        }
    }
}

/// A ramp's steps that were not judged, and what the ramp was.
#[derive(Debug, Clone, PartialEq)]
pub struct UnjudgedSteps {
    /// The canary version.
    pub version: String,
    /// The colour it runs on.
    pub color: Color,
    /// The ramp's `min_requests`.
    pub min_requests: u64,
    /// The ramp's `interval`.
    pub interval: Duration,
    /// Steps the ramp went through.
    pub ramped: usize,
    /// Of which these were not judged, in order.
    pub steps: Vec<UnjudgedStep>,
}

impl UnjudgedSteps {
    /// None yet, for a ramp of `version` on `color`.
    pub fn new(version: &str, color: Color, progressive: &Progressive) -> Self {
        Self {
            version: version.to_string(),
            color,
            min_requests: progressive.rules.min_requests,
            interval: progressive.interval,
            ramped: 0,
            steps: Vec::new(),
        }
    }

    /// The step's text in the report: "step 10% not judged: the canary saw
    /// 3 requests on green in 30s, fewer than min_requests = 20".
    pub fn step(&self, s: &UnjudgedStep) -> String {
        let interval = format_duration(self.interval);
        match s.requests {
            Some(n) => format!(
                "step {}% not judged: the canary saw {n} request{} on {} in {interval}, fewer than min_requests = {}",
                s.weight,
                plural(n),
                self.color,
                self.min_requests
            ),
            None => format!(
                "step {}% not judged: the platform reported no figures for {} during the {interval} step",
                s.weight, self.color
            ),
        }
    }

    /// "10% (3 requests), 25% (0 requests)".
    fn named(&self) -> String {
        let each: Vec<String> = self.steps.iter().map(UnjudgedStep::brief).collect();
        each.join(", ")
    }

    /// "2 of 3 ramp steps".
    fn count(&self) -> String {
        format!(
            "{} of {} ramp step{}",
            self.steps.len(),
            self.ramped,
            if self.ramped == 1 { "" } else { "s" }
        )
    }

    /// What the outcome message adds.
    pub fn note(&self) -> String {
        format!(
            "{} not judged by their traffic: {}",
            self.count(),
            self.named()
        )
    }

    /// The diagnostic's and the alert's text: what happened and what to do.
    pub fn reason(&self, weight: u8) -> String {
        format!(
            "progressive: {} of the canary {} on {} had fewer than min_requests = {} requests (or no figures from the platform) in their {} interval and were not judged by its traffic: {}. The ramp went on to {weight}%: the canary was not set back, and it did not pass either. Check its error rate and latency yourself now (bluegreen-local status, or the platform's metrics); to have the ramp judged, send traffic during the ramp, lengthen progressive.interval, or lower progressive.min_requests",
            self.count(),
            self.version,
            self.color,
            self.min_requests,
            format_duration(self.interval),
            self.named(),
        )
    }

    /// The alert's one line.
    pub fn headline(&self, environment: &str, weight: u8) -> String {
        format!(
            "{environment}: canary {} is at {weight}% but {} not judged (min_requests {})",
            self.version,
            self.count(),
            self.min_requests
        )
    }

    /// Says so, once per ramp: a `warning` alert and a warning diagnostic on
    /// `progressive`. Nothing when every step was judged.
    pub fn report(&self, environment: &str, weight: u8) {
        if !self.steps.is_empty() {
            sink::unjudged_ramp(&self.headline(environment, weight), &self.reason(weight));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::PostSwitch;

    fn m(requests: u64) -> Metrics {
        Metrics {
            requests,
            errors: 0,
            error_rate: 0.0,
            latency: None,
        }
    }

    fn ramp() -> UnjudgedSteps {
        let p = Progressive {
            steps: vec![10, 25],
            interval: Duration::from_secs(30),
            rules: PostSwitch::default(),
        };
        UnjudgedSteps::new("1.3.0", Color::Green, &p)
    }

    #[test]
    fn steps_with_fewer_than_min_requests_are_named_with_their_counts_and_the_fix() {
        assert_eq!(UnjudgedStep::from_step(10, Some(&m(20)), 20), None);
        let mut r = ramp();
        r.ramped = 3;
        let three = UnjudgedStep::from_step(10, Some(&m(3)), 20).unwrap();
        assert_eq!(
            r.step(&three),
            "step 10% not judged: the canary saw 3 requests on green in 30s, fewer than min_requests = 20"
        );
        let blind = UnjudgedStep::from_step(25, None, 20).unwrap();
        assert_eq!(
            r.step(&blind),
            "step 25% not judged: the platform reported no figures for green during the 30s step"
        );
        r.steps = vec![
            three,
            blind,
            UnjudgedStep::from_step(40, Some(&m(1)), 20).unwrap(),
        ];
        assert_eq!(
            r.reason(50),
            "progressive: 3 of 3 ramp steps of the canary 1.3.0 on green had fewer than min_requests = 20 requests (or no figures from the platform) in their 30s interval and were not judged by its traffic: 10% (3 requests), 25% (no figures from the platform), 40% (1 request). The ramp went on to 50%: the canary was not set back, and it did not pass either. Check its error rate and latency yourself now (bluegreen-local status, or the platform's metrics); to have the ramp judged, send traffic during the ramp, lengthen progressive.interval, or lower progressive.min_requests"
        );
        assert_eq!(
            r.headline("shop", 50),
            "shop: canary 1.3.0 is at 50% but 3 of 3 ramp steps not judged (min_requests 20)"
        );
        // min_requests = 0: every step is judged, even one that saw nothing.
        assert_eq!(UnjudgedStep::from_step(10, Some(&m(0)), 0), None);
    }
}
