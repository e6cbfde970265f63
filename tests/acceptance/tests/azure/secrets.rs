//! `TF_LOG=trace` of a whole run (create, update, destroy) holds neither
//! the client secret nor a token the emulator issued, and neither does state.

use bluegreen_acceptance::harness::on_every_cli;

use crate::Fixture;

#[test]
fn trace_log_and_state_hold_no_secret_or_token() {
    on_every_cli("azure_no_secrets", |tf| {
        let test = "azure_no_secrets";
        let fx = Fixture::new("azsecret", tf, "orders");
        let ws = fx.workspace(test, tf);
        ws.write_config(&fx.config(&fx.env("1.0.0").hcl()));
        ws.init();
        ws.apply();
        ws.write_config(&fx.config(&fx.env("1.1.0").hcl()));
        ws.apply();
        let state = std::fs::read_to_string(ws.state_file()).unwrap_or_default();
        ws.destroy();

        let secret = fx.azure.field("client_secret");
        let log = ws.trace_log();
        assert!(
            log.contains("provider.terraform-provider-bluegreen"),
            "the trace log has no provider lines: is TF_LOG=trace in effect?"
        );
        assert!(
            !log.contains(&secret),
            "the trace log holds the client secret"
        );
        assert!(
            !state.contains(&secret),
            "the state holds the client secret"
        );
        // The emulator's tokens are JWT-shaped: header.payload.signature,
        // starting with the base64 of '{"'.
        let jwt = regex::Regex::new(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.").expect("regex");
        if let Some(token) = jwt.find(&log) {
            ws.fail(
                None,
                &format!("the trace log holds a token: {}…", &token.as_str()[..20]),
            );
        }
        let bearer = regex::Regex::new(r"(?i)bearer\s+[A-Za-z0-9_.-]{20,}").expect("regex");
        assert!(
            !bearer.is_match(&log),
            "the trace log holds an Authorization header"
        );
    });
}
