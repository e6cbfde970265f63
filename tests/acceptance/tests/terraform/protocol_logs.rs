//! The trace logs of an apply and a destroy are clean: every plugin started also
//! exited, gracefully, and the provider's hclog lines were understood.

use bluegreen_acceptance::harness::{on_every_cli, Output, Workspace};

use crate::{bgtest, config};

fn assert_clean(ws: &Workspace, out: &Output) {
    let log = &out.log;
    for bad in [
        "plugin failed to exit gracefully",
        "Unrecognized remote plugin message",
    ] {
        if log.contains(bad) {
            ws.fail(Some(out), &format!("the trace log shows {bad:?}"));
        }
    }
    let started = log
        .lines()
        .filter(|l| l.contains("starting plugin:"))
        .count();
    let exited = log.lines().filter(|l| l.contains("plugin exited")).count();
    if started == 0 || exited < started {
        ws.fail(
            Some(out),
            &format!("{started} plugins started but only {exited} \"plugin exited\" lines"),
        );
    }
    // go-plugin parses hclog JSON into levelled lines; unparsed JSON would
    // show up verbatim.
    let raw_json = out
        .provider_log_lines(&ws.provider().plugin_name())
        .iter()
        .filter(|l| l.contains("\"@level\""))
        .count();
    if raw_json > 0 {
        ws.fail(
            Some(out),
            &format!("{raw_json} provider log lines were not parsed as hclog JSON"),
        );
    }
}

#[test]
fn clean_protocol_logs() {
    on_every_cli("clean_protocol_logs", |tf| {
        let mut ws = Workspace::new("clean_protocol_logs", tf, &bgtest());
        // This test asserts on the logs itself, with a better message.
        ws.strict_plugin_logs = false;
        ws.write_config(&config(
            "resource \"bgtest_thing\" \"a\" {\n  name = \"logged\"\n}\n",
        ));
        ws.init();
        let apply = ws.apply();
        assert_clean(&ws, &apply);
        let info = apply
            .provider_log_lines(&ws.provider().plugin_name())
            .iter()
            .any(|l| l.contains("[INFO]") && l.contains("created bgtest_thing"));
        if !info {
            ws.fail(
                Some(&apply),
                "the provider's INFO line \"created bgtest_thing\" is not in the trace log at INFO",
            );
        }
        let destroy = ws.destroy();
        assert_clean(&ws, &destroy);
    });
}
