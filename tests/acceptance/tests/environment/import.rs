//! Import by name into a working directory with no state: the next plan is
//! empty, and the imported state reports what the platform runs.

use bluegreen_acceptance::harness::{on_every_cli, Workspace};

use crate::{bluegreen, destroy_and_check, unwrapped, Fixture, ADDRESS};

#[test]
fn import_by_name_then_plan_is_empty() {
    on_every_cli("import_by_name_then_plan_is_empty", |tf| {
        let test = "import_by_name_then_plan_is_empty";
        let fx = Fixture::new("import", tf, "orders");
        // Released by another working directory (another pipeline).
        let origin = Workspace::new(test, tf, &bluegreen());
        let full = |v: &str| fx.config(&fx.env(v).var("AGOG_ERROR_RATE", "0").hcl());
        origin.write_config(&full("1.2.0"));
        origin.init();
        origin.apply();
        origin.write_config(&full("1.3.0"));
        origin.apply();
        let pids = |c: &str| fx.daemon.api().color_pid(&fx.name, c);
        let before = (pids("blue"), pids("green"));

        // The importer's configuration has only the required arguments: an
        // import cannot know configuration-only blocks such as the gates.
        let ws = origin.sibling("importer");
        ws.write_config(&fx.config(&fx.env("1.3.0").var("AGOG_ERROR_RATE", "0").minimal().hcl()));
        ws.init();
        let import = ws.run_ok(&["import", ADDRESS, &fx.name]);
        assert!(
            import.stdout.contains("Import successful!"),
            "{}",
            import.stdout
        );
        ws.assert_plan_empty("after import by name");

        let state = ws.show();
        let api = state.resource(ADDRESS);
        assert_eq!(api.str("id"), fx.name);
        assert_eq!(api.str("name"), fx.name);
        assert_eq!(api.str("version"), "1.3.0");
        assert_eq!(api.str("live_color"), "green");
        assert_eq!(api.str("idle_color"), "blue");
        assert_eq!(api.str("colors.blue.version"), "1.2.0");
        assert_eq!(api.str("colors.green.version"), "1.3.0");
        assert_eq!(
            api.str("local.listen"),
            format!("127.0.0.1:{}", fx.front_port)
        );
        assert_eq!(api.str("local.env.AGOG_ERROR_RATE"), "0");

        // Gates are configuration only: adding them is an in-place update
        // that touches nothing on the platform.
        ws.write_config(&full("1.3.0"));
        let plan = ws.plan();
        let text = unwrapped(&plan.stdout);
        assert_eq!(
            plan.code,
            Some(2),
            "adding gate blocks is a change:\n{}",
            plan.stdout
        );
        assert!(
            !text.contains("~ version") && text.contains("+ health_check {"),
            "adding gate blocks changes only them:\n{}",
            plan.stdout
        );
        ws.apply();
        assert_eq!(
            (pids("blue"), pids("green")),
            before,
            "adding gate blocks restarted a colour"
        );
        ws.assert_plan_empty("after adding the gate blocks");
        fx.front_door().assert_serves(20, "1.3.0", "green");

        destroy_and_check(&ws, &fx);
    });
}
