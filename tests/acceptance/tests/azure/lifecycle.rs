//! A release's life on Azure: create (deploy to blue, gate, route to blue),
//! update (one deploy, one switch), instant rollback (a switch alone),
//! import by Container App id into another working directory (the next plan
//! is empty), destroy (no app, route or origin group deleted).

use bluegreen_acceptance::harness::on_every_cli;

use crate::{Fixture, ADDRESS};

#[test]
fn create_update_rollback_import_destroy() {
    on_every_cli("azure_lifecycle", |tf| {
        let test = "azure_lifecycle";
        let fx = Fixture::new("azlife", tf, "orders");
        let ws = fx.workspace(test, tf);

        // Create: 1.0.0 on blue, the route on blue's origin group, the edge serving it.
        ws.write_config(&fx.config(&fx.env("1.0.0").hcl()));
        ws.init();
        ws.apply();
        let state = ws.show();
        let api = state.resource(ADDRESS);
        assert_eq!(api.str("version"), "1.0.0");
        assert_eq!(api.str("live_color"), "blue");
        assert_eq!(api.str("idle_color"), "green");
        assert_eq!(api.str("colors.blue.version"), "1.0.0");
        fx.assert_route_to("blue");
        fx.assert_edge_serves(5, "1.0.0");
        ws.assert_plan_empty("after create");
        ws.refresh();
        ws.assert_plan_empty("after refresh");

        // Update: exactly one deploy (app PATCH) and one switch (route PATCH).
        fx.azure.clear_journal();
        ws.write_config(&fx.config(&fx.env("1.1.0").hcl()));
        ws.apply();
        let journal = fx.azure.journal();
        let deploys = fx.deploys(&journal);
        let switches = fx.route_patches(&journal);
        assert_eq!(
            (deploys.len(), switches.len()),
            (1, 1),
            "an update must be one app PATCH and one route PATCH; the writes were {:#?}",
            bluegreen_acceptance::harness::azure_emulator::writes_of(&journal)
        );
        let image = deploys[0]["body"].to_string();
        assert!(image.contains("agog/orders:1.1.0"), "deployed {image}");
        let api_state = ws.show();
        let api = api_state.resource(ADDRESS);
        assert_eq!(api.str("live_color"), "green");
        assert_eq!(api.str("previous_version"), "1.0.0");
        fx.assert_route_to("green");
        fx.assert_edge_serves(5, "1.1.0");
        ws.assert_plan_empty("after update");

        // Instant rollback: blue still runs 1.0.0, so only the route moves.
        fx.azure.clear_journal();
        ws.write_config(&fx.config(&fx.env("1.0.0").hcl()));
        ws.apply();
        let journal = fx.azure.journal();
        assert_eq!(
            (fx.deploys(&journal).len(), fx.route_patches(&journal).len()),
            (0, 1),
            "an instant rollback is a route PATCH alone; the writes were {:#?}",
            bluegreen_acceptance::harness::azure_emulator::writes_of(&journal)
        );
        fx.assert_route_to("blue");
        fx.assert_edge_serves(5, "1.0.0");
        let rolled = ws.show();
        assert_eq!(rolled.resource(ADDRESS).str("live_color"), "blue");

        // Import by Container App id, as another pipeline would: the
        // importer's configuration has only the required arguments.
        let importer = ws.sibling("importer");
        fx.prepare(&importer);
        importer.write_config(&fx.config(&fx.env("1.0.0").minimal().hcl()));
        importer.init();
        let import = importer.run_ok(&["import", ADDRESS, &fx.app_id()]);
        assert!(
            import.stdout.contains("Import successful!"),
            "{}",
            import.stdout
        );
        importer.assert_plan_empty("after import by Container App id");
        let imported = importer.show();
        let api = imported.resource(ADDRESS);
        assert_eq!(api.str("name"), "orders");
        assert_eq!(api.str("version"), "1.0.0");
        assert_eq!(api.str("live_color"), "blue");
        assert_eq!(api.str("colors.green.version"), "1.1.0");
        assert!(
            api.str("azure.container_app_id")
                .eq_ignore_ascii_case(&fx.app_id()),
            "imported {}",
            api.str("azure.container_app_id")
        );
        // Forget it there, so that only one working directory destroys it.
        importer.run_ok(&["state", "rm", ADDRESS]);

        // Destroy: the infrastructure stays its owner's.
        fx.azure.clear_journal();
        ws.destroy();
        assert!(ws.show().managed_addresses().is_empty());
        let journal = fx.azure.journal();
        let deletes: Vec<String> =
            bluegreen_acceptance::harness::azure_emulator::writes_of(&journal)
                .into_iter()
                .filter(|w| w.starts_with("DELETE"))
                .collect();
        let owned = ["/containerapps/", "/routes/", "/origingroups/"];
        let dropped: Vec<&String> = deletes
            .iter()
            .filter(|d| {
                let d = d.to_ascii_lowercase();
                owned.iter().any(|o| d.contains(o))
            })
            .collect();
        assert!(
            dropped.is_empty(),
            "destroy deleted infrastructure it does not own: {dropped:?}"
        );
        // Everything is still there, and the app still serves through the edge.
        for key in [
            "container_app_id",
            "front_door_route_id",
            "blue_origin_group_id",
            "green_origin_group_id",
        ] {
            fx.azure.resource(&fx.azure.seeded(key));
        }
    });
}
