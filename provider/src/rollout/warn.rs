//! The seed's warning threshold during the post-switch watch: an error rate
//! above `warn_error_rate` (0.5%) but not above `max_error_rate` (1%) is
//! worth a person's look, not a rollback. It is reported once per release,
//! as a step, an alert and (through the notification sink) a warning
//! diagnostic on the apply.

use super::attempt::Attempt;
use super::PostSwitch;
use crate::notify::{sink, Figures};
use crate::platform::Metrics;

/// The warning the figures give, in words with figures; `None` below the
/// warning threshold, above the rollback one (a breach), or too early to judge.
pub fn warning(m: &Metrics, rules: &PostSwitch) -> Option<String> {
    let judged = m.requests >= rules.min_requests && m.requests > 0;
    (judged && m.error_rate > rules.warn_error_rate && m.error_rate <= rules.max_error_rate).then(|| {
        format!(
            "error rate {:.2}% ({} of {} requests answered 5xx) is above warn_error_rate {:.2}% (rollback above max_error_rate {:.2}%)",
            m.error_rate * 100.0,
            m.errors,
            m.requests,
            rules.warn_error_rate * 100.0,
            rules.max_error_rate * 100.0
        )
    })
}

/// Hands the watch's latest figures to the alerts, and reports the warning
/// the first time they give one (`warned` remembers it across polls).
pub async fn observe(
    attempt: &mut Attempt<'_>,
    m: Option<&Metrics>,
    baseline: Option<&Metrics>,
    rules: &PostSwitch,
    warned: &mut bool,
) {
    let Some(m) = m else { return };
    sink::figures(Figures::from_metrics(m, baseline));
    if *warned {
        return;
    }
    if let Some(text) = warning(m, rules) {
        *warned = true;
        let text = format!(
            "{} ({}) on {}: {text}",
            attempt.version, attempt.environment.name, attempt.color
        );
        attempt.step(format!("warning: {text}")).await;
        sink::warning(&text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(requests: u64, errors: u64) -> Metrics {
        Metrics {
            requests,
            errors,
            error_rate: errors as f64 / requests.max(1) as f64,
            latency: None,
        }
    }

    #[test]
    fn warns_between_half_a_percent_and_the_rollback_threshold() {
        let rules = PostSwitch::default();
        assert_eq!(rules.warn_error_rate, 0.005);
        assert_eq!(
            warning(&m(1000, 7), &rules).as_deref(),
            Some("error rate 0.70% (7 of 1000 requests answered 5xx) is above warn_error_rate 0.50% (rollback above max_error_rate 1.00%)")
        );
        assert_eq!(warning(&m(1000, 5), &rules), None, "0.5% is not above 0.5%");
        assert!(
            warning(&m(1000, 10), &rules).is_some(),
            "1% is not a breach yet"
        );
        assert_eq!(
            warning(&m(1000, 11), &rules),
            None,
            "above 1% is a breach, not a warning"
        );
        assert_eq!(warning(&m(10, 1), &rules), None, "fewer than min_requests");
    }
}
