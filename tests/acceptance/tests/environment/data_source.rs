//! Data source `bluegreen_environment`: live and idle colour, the version on
//! each colour, and the endpoint, for pipelines that need to know where a
//! release will land.

use bluegreen_acceptance::harness::{on_every_cli, Step, TestCase};

use crate::{bluegreen, Fixture};

const DATA: &str = r#"
data "bluegreen_environment" "api" {
  name = bluegreen_environment.api.name
}

output "lands_on" {
  value = data.bluegreen_environment.api.idle_color
}
"#;

#[test]
fn data_source_reports_colours() {
    on_every_cli("data_source_reports_colours", |tf| {
        let fx = Fixture::new("data", tf, "shop");
        let config = |v: &str| fx.config(&format!("{}{DATA}", fx.env(v).hcl()));
        let front = fx.front_door().base;
        TestCase::new("data_source_reports_colours", bluegreen())
            .step(Step::new(config("1.2.0")))
            .step(Step::new(config("1.3.0")).after(move |ws| {
                // After the step's refresh: what the platform runs now.
                let state = ws.show();
                let data = state.resource("data.bluegreen_environment.api");
                assert_eq!(data.str("id"), "shop");
                assert_eq!(data.str("version"), "1.3.0");
                assert_eq!(data.str("live_color"), "green");
                assert_eq!(data.str("idle_color"), "blue");
                assert_eq!(data.str("colors.green.version"), "1.3.0");
                assert_eq!(data.str("colors.blue.version"), "1.2.0");
                assert_eq!(data.str("colors.green.status"), "running");
                assert_eq!(data.str("colors.blue.status"), "running");
                assert!(
                    data.str("colors.blue.address")
                        .starts_with("http://127.0.0.1:"),
                    "{}",
                    data.str("colors.blue.address")
                );
                assert_eq!(data.str("endpoint"), front);
                let output = ws.run_ok(&["output", "-raw", "lands_on"]);
                assert_eq!(output.stdout.trim(), "blue", "where the next release lands");
            }))
            .run_on(tf);
    });
}
