//! Instant rollback: setting `version` back to the release the idle colour
//! still runs is a pure front-door switch: the same process keeps running,
//! and the provider spends well under a second on it.

use std::time::Duration;

use bluegreen_acceptance::harness::output::log_time_ms;
use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::{bluegreen, destroy_and_check, Fixture, ADDRESS};

/// The provider's time budget for an instant rollback (issue 3).
const BUDGET: Duration = Duration::from_secs(1);

/// Time from the provider's "updating" (ApplyResourceChange received) to
/// its log line that the switch is done, from the trace log of one apply.
fn provider_time(log: &str) -> Option<Duration> {
    let provider: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-bluegreen"))
        .collect();
    let start = provider
        .iter()
        .find(|l| l.contains("updating") && l.contains("ApplyResourceChange"))?;
    let end = provider
        .iter()
        .find(|l| l.contains("is live on blue") && l.contains("outcome=switched"))?;
    let (a, b) = (log_time_ms(start)?, log_time_ms(end)?);
    Some(Duration::from_millis(b.checked_sub(a)?))
}

#[test]
fn instant_rollback_keeps_the_process() {
    on_every_cli("instant_rollback_keeps_the_process", |tf| {
        let test = "instant_rollback_keeps_the_process";
        let fx = Fixture::new("rollback", tf, "shop");
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
        ws.init();
        ws.apply();
        let blue_pid = fx.daemon.api().color_pid(&fx.name, "blue");
        ws.write_config(&fx.config(&fx.env("1.3.0").hcl()));
        ws.apply();
        fx.front_door().assert_serves(5, "1.3.0", "green");
        let api = fx.daemon.api();
        let before = (
            api.color_pid(&fx.name, "blue"),
            api.color_pid(&fx.name, "green"),
        );
        assert!(
            before.0.is_some(),
            "blue is kept running for instant rollback"
        );
        assert_eq!(before.0, blue_pid, "the release of 1.3.0 restarted blue");

        ws.write_config(&fx.config(&fx.env("1.2.0").hcl()));
        let apply = ws.run_ok(&["apply", "-auto-approve"]);
        let provider = provider_time(&apply.log);
        let after = (
            api.color_pid(&fx.name, "blue"),
            api.color_pid(&fx.name, "green"),
        );
        announce(&format!(
            "acceptance: {test} on Terraform v{}: rollback apply {:.2}s wall, provider {}; blue pid {:?} -> {:?}, green pid {:?} -> {:?}",
            tf.version_string(),
            apply.elapsed.as_secs_f64(),
            provider.map_or("n/a".to_string(), |d| format!("{} ms", d.as_millis())),
            before.0,
            after.0,
            before.1,
            after.1
        ));

        assert_eq!(
            after.0, before.0,
            "blue was restarted by the rollback (pid changed)"
        );
        assert_eq!(
            after.1, before.1,
            "green was restarted by the rollback (pid changed)"
        );
        fx.front_door().assert_serves(50, "1.2.0", "blue");
        let state = ws.show();
        let env = state.resource(ADDRESS);
        assert_eq!(env.str("version"), "1.2.0");
        assert_eq!(env.str("live_color"), "blue");
        assert_eq!(env.str("previous_version"), "1.3.0");
        assert_eq!(env.str("last_deployment.outcome"), "switched");
        let Some(provider) = provider else {
            ws.fail(
                Some(&apply),
                "the trace log lacks the provider's \"updating\" and \"is live on blue\" lines",
            );
        };
        if provider >= BUDGET {
            ws.fail(
                Some(&apply),
                &format!(
                    "the instant rollback took {provider:?} of provider time (budget {BUDGET:?})"
                ),
            );
        }
        ws.assert_plan_empty("after the instant rollback");
        destroy_and_check(&ws, &fx);
    });
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn reads_log_times() {
        assert_eq!(
            log_time_ms("2025-10-30T10:30:01.250Z [INFO]  x"),
            Some(37_801_250)
        );
        let log = "2025-10-30T10:30:01.250Z [INFO]  provider.terraform-provider-bluegreen_v0.1.0: updating: tf_rpc=ApplyResourceChange\n\
                   2025-10-30T10:30:01.400Z [INFO]  provider.terraform-provider-bluegreen_v0.1.0: 1.2.0 is live on blue; green kept: outcome=switched\n";
        assert_eq!(provider_time(log), Some(Duration::from_millis(150)));
    }
}
