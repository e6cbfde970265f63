//! WebSockets through a release: a connection opened to 1.2.0 stays on it past the
//! switch (for `drain_timeout`, 1 s here) while plain requests already reach 1.3.0,
//! is then closed by the front door and counted as cut (in the status API and the
//! release's `last_deployment.message`); new connections reach 1.3.0.
//! The client is `tungstenite`, the colour the demo app's `/ws`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bluegreen_acceptance::harness::{announce, on_every_cli, AppSocket, Workspace};

use crate::{bluegreen, destroy_and_check, Fixture, ADDRESS};

#[test]
fn a_websocket_outlives_the_switch_until_the_drain_and_new_ones_reach_the_release() {
    on_every_cli("websocket_across_a_release", |tf| {
        let test = "websocket_across_a_release";
        let fx = Fixture::new("websocket", tf, "shop");
        let env = fx.env("1.2.0");
        let ws = Workspace::new(test, tf, &bluegreen());
        ws.write_config(&fx.config(&env.hcl()));
        ws.init();
        ws.apply();
        let front = fx.front_door();
        let mut old = AppSocket::open(&front.base, &[]).expect("a WebSocket to 1.2.0");
        assert_eq!(old.color, "blue");
        assert_eq!(
            old.version().expect("version"),
            ("1.2.0".into(), "blue".into())
        );

        // While the release runs, watch the old connection beside plain requests.
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (done, front) = (done.clone(), front.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut new_seen_at = None;
                let mut old_after_new = 0u32;
                let mut old_ended_at = None;
                // Bounded: the apply takes seconds; 60 s means something hangs.
                while !done.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
                    if new_seen_at.is_none() && front.answer().is_ok_and(|a| a.version == "1.3.0") {
                        new_seen_at = Some(started.elapsed());
                    }
                    if old_ended_at.is_none() {
                        match old.version() {
                            Ok((v, _)) => {
                                assert_eq!(v, "1.2.0", "the old WebSocket moved");
                                if new_seen_at.is_some() {
                                    old_after_new += 1;
                                }
                            }
                            Err(_) => old_ended_at = Some(started.elapsed()),
                        }
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                (new_seen_at, old_after_new, old_ended_at)
            })
        };
        ws.write_config(&fx.config(&env.clone().version("1.3.0").hcl()));
        ws.apply();
        done.store(true, Ordering::Relaxed);
        let (new_seen_at, old_after_new, old_ended_at) = watcher.join().expect("watcher");
        announce(&format!(
            "acceptance: {test} on Terraform v{}: 1.3.0 served from {new_seen_at:?}; the old WebSocket answered 1.2.0 {old_after_new} times after that and was closed at {old_ended_at:?}",
            tf.version_string()
        ));
        let (Some(new_at), Some(ended_at)) = (new_seen_at, old_ended_at) else {
            panic!("1.3.0 served from {new_seen_at:?}, old WebSocket closed at {old_ended_at:?}");
        };
        assert!(
            old_after_new > 0,
            "the old WebSocket was closed before 1.3.0 took traffic (at {ended_at:?}, switch seen at {new_at:?})"
        );
        // The drain is 1 s; the watcher polls every 50 ms or so.
        let open_after_switch = ended_at.saturating_sub(new_at);
        assert!(
            open_after_switch >= Duration::from_millis(700),
            "the old WebSocket lasted only {open_after_switch:?} after the switch, the drain is 1s"
        );

        let mut new = AppSocket::open(&front.base, &[]).expect("a WebSocket to 1.3.0");
        assert_eq!(new.color, "green");
        assert_eq!(
            new.version().expect("version"),
            ("1.3.0".into(), "green".into())
        );
        new.close();
        let status = fx
            .daemon
            .api()
            .get(&format!("/v1/environments/{}", fx.name))
            .expect("environment status");
        assert_eq!(status["colors"]["blue"]["tunnels_cut"], 1, "{status}");
        assert_eq!(status["colors"]["blue"]["open_tunnels"], 0, "{status}");
        // The release says so too: the watch (3 s) outlasts the drain (1 s).
        let state = ws.show();
        let message = state.resource(ADDRESS).str("last_deployment.message");
        // (Only the WebSocket talked to 1.3.0 during its watch: the message
        // also says it was not judged by its traffic.)
        assert!(
            message.contains(
                "; WebSocket connections of 1.2.0 on blue since the switch: 0 drained, 1 cut at the drain deadline"
            ),
            "{message}"
        );

        destroy_and_check(&ws, &fx);
    });
}
