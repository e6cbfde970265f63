//! Ctrl-C during a long apply: Terraform asks the provider to stop, the
//! create returns promptly with our error, and the plugin exits cleanly.

use std::time::{Duration, Instant};

use bluegreen_acceptance::harness::{announce, on_every_cli, Workspace};

use crate::{bgtest, config, things};

const SLOW: &str = r#"
resource "bgtest_thing" "slow" {
  name  = "slow"
  delay = "60s"
}
"#;

#[test]
fn stop_on_interrupt() {
    on_every_cli("stop_on_interrupt", |tf| {
        let ws = Workspace::new("stop_on_interrupt", tf, &bgtest());
        ws.write_config(&config(SLOW));
        ws.init();
        let mut apply = ws.spawn(&["apply", "-auto-approve"]);

        // Interrupt only once the provider is inside the create, waiting.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ws.trace_log().contains("waiting for the configured delay") {
            if let Some(status) = apply.try_wait() {
                let out = ws.wait(apply, Duration::from_secs(1));
                ws.fail(
                    Some(&out),
                    &format!("apply ended ({status}) before the create started"),
                );
            }
            if Instant::now() > deadline {
                let out = ws.wait(apply, Duration::ZERO);
                ws.fail(
                    Some(&out),
                    "the provider never started waiting for the delay",
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let interrupted = Instant::now();
        apply
            .signal_group(libc::SIGINT)
            .expect("send SIGINT to terraform");
        let out = ws.wait(apply, Duration::from_secs(30));
        let took = interrupted.elapsed();
        announce(&format!(
            "acceptance: stop_on_interrupt on Terraform v{}: exited {took:?} after SIGINT",
            tf.version_string()
        ));

        if took > Duration::from_secs(10) {
            ws.fail(
                Some(&out),
                &format!("Terraform took {took:?} to exit after SIGINT"),
            );
        }
        if out.success() {
            ws.fail(Some(&out), "an interrupted apply must fail");
        }
        let text = out.plain();
        if !text.contains(r#"bgtest_thing "slow": stopped by Terraform"#) {
            ws.fail(
                Some(&out),
                "the output lacks the provider's \"stopped by Terraform\" error",
            );
        }
        if out.log.contains("plugin failed to exit gracefully") {
            ws.fail(Some(&out), "the plugin did not exit gracefully");
        }
        if !out.log.contains("StopProvider") && !out.log.contains("stop requested") {
            ws.fail(
                Some(&out),
                "the trace log shows no StopProvider call reaching the provider",
            );
        }
        // Nothing was created.
        let state = ws.show();
        assert!(
            state.managed_addresses().is_empty(),
            "state after a stopped create: {:?}",
            state.addresses()
        );
        assert!(
            things(&ws).is_empty(),
            "store after a stopped create: {:?}",
            things(&ws)
        );
    });
}
