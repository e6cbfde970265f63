//! The gate's `websocket_check` against the fake's colours (a real loopback
//! WebSocket endpoint at `/ws`) and a loopback TLS server.

use super::*;
use crate::rollout::WebSocketCheck;

fn with_websocket(path: &str, send: Option<&str>, expect: Option<&str>) -> ReleaseSpec {
    let mut spec = spec("1.3.0");
    spec.health.websocket = Some(WebSocketCheck {
        path: path.into(),
        send: send.map(str::to_string),
        expect_message: expect.map(str::to_string),
    });
    spec
}

#[tokio::test]
async fn a_colour_that_switches_protocols_and_answers_passes() {
    let fake = live_blue(Script::default()).await;
    let spec = with_websocket("/ws", Some("version"), Some(r#""version":"{version}""#));
    let report = release(&fake, &spec).await.unwrap();
    assert_eq!(report.outcome, Outcome::Released, "{:?}", report.steps);
    assert_eq!(fake.routing().primary, Some(Color::Green));
    let steps = report.steps.join("\n");
    assert!(
        steps.contains("websocket check passed on green: ws://127.0.0.1:")
            && steps.contains(r#"/ws switched protocols, first message "{\"version\":\"1.3.0\"}""#),
        "{steps}"
    );
}

#[tokio::test]
async fn a_refused_handshake_fails_the_gate_and_moves_nothing() {
    let fake = live_blue(Script::default()).await;
    fake.script(|s| {
        s.smoke
            .insert("/live".into(), (404, r#"{"error":"no route"}"#.into()));
    });
    let err = release(&fake, &with_websocket("/live", None, None))
        .await
        .unwrap_err();
    assert_eq!(err.outcome(), Outcome::GateFailed, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("websocket_check failed on green (1.3.0): ws://127.0.0.1:")
            && text.contains(
                r#"/live: answered HTTP 404, expected 101 Switching Protocols: {"error":"no route"}. No traffic was moved"#
            ),
        "{text}"
    );
    assert_eq!(fake.routes(), vec![]);
    assert_eq!(fake.routing().primary, Some(Color::Blue));
}

#[tokio::test]
async fn a_first_message_without_the_text_fails_the_gate() {
    let fake = live_blue(Script::default()).await;
    let spec = with_websocket("/ws", Some("version"), Some("2.0.0"));
    let err = release(&fake, &spec).await.unwrap_err();
    assert_eq!(err.outcome(), Outcome::GateFailed, "{err}");
    assert!(
        err.to_string()
            .contains(r#"the first message "{\"version\":\"1.3.0\"}" does not contain "2.0.0""#),
        "{err}"
    );
    assert_eq!(fake.routes(), vec![]);
}

#[tokio::test]
async fn a_colour_that_never_speaks_first_fails_within_the_probe_timeout() {
    // The fake's endpoint only answers: waiting for it to speak first times
    // out after health_check.timeout (300 ms here), not the whole deadline.
    let fake = live_blue(Script::default()).await;
    let started = Instant::now();
    let err = release(&fake, &with_websocket("/ws", None, Some("hello")))
        .await
        .unwrap_err();
    assert_eq!(err.outcome(), Outcome::GateFailed, "{err}");
    assert!(
        err.to_string().contains("/ws: no answer within 300ms"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.routes(), vec![]);
}

#[tokio::test]
async fn wss_is_verified_against_the_gate_trust() {
    let server = TlsServer::start(r#"{"status":"healthy"}"#).await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url.replace("https://", "wss://") + "/ws";
    // Trusted: the TLS handshake succeeds and the HTTP answer is judged.
    let trusted = Http::with_ca_file(&server.write_ca(dir.path())).unwrap();
    let err = trusted
        .websocket(&url, None, false, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        err.starts_with("answered HTTP 200, expected 101 Switching Protocols"),
        "{err}"
    );
    // Untrusted: refused at TLS, saying which setting adds the CA.
    let err = Http::new()
        .websocket(&url, None, false, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        err.contains("is not trusted") && err.contains("ca_certificate_file"),
        "{err}"
    );
}
