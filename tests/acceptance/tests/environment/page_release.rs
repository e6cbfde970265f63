//! The daemon's page watched in Debian's headless Chromium while Terraform runs real
//! releases (issue 16 acceptance): a good one under load (deploying, validating with
//! the health gate and the smoke test, switching, watching with live figures, done)
//! and a faulty one rolled back by the watch with its measured rate. The browser
//! records what the page showed as server-sent events changed it, so no phase can
//! slip between two polls; each routing change must reach the DOM within 1 s of the
//! daemon installing it. Then the emergency switch from the page, behind the token.
//!
//! The page is the daemon's, not Terraform's, so this runs on one CLI: the first
//! configured (the newest).

use std::time::Duration;

use bluegreen_acceptance::harness::browser::{artifact_path, Browser};
use bluegreen_acceptance::harness::{announce, Load, Terraform, Workspace};
use serde_json::Value as Json;

use crate::{
    apply_rolled_back_under_load, bluegreen, destroy_and_check, expect_match, Fixture, ADDRESS,
    LOAD_BOUNDS,
};

/// Records in the page, at every DOM change of the `#live` part: each (release, phase)
/// in the order shown, the release card's text and error-rate class as last shown in
/// that phase, and each routing revision with its live colour and the time it appeared.
const RECORDER: &str = r#"
const rec = window.__rec = {phases: [], text: {}, rate: {}, live: []};
const sample = () => {
  const card = document.getElementById('env-shop');
  if (!card) return;
  const now = Date.now();
  const rel = card.querySelector('.release');
  if (rel && rel.dataset.phase) {
    const key = rel.dataset.release + ' ' + rel.dataset.phase;
    const last = rec.phases[rec.phases.length - 1];
    if (!last || last.key !== key) {
      rec.phases.push({key, release: rel.dataset.release, phase: rel.dataset.phase, t: now});
    }
    rec.text[key] = rel.innerText;
    const rate = rel.querySelector('.figures .rate');
    if (rate) rec.rate[key] = rate.className;
  }
  const revision = Number(card.dataset.revision);
  const l = rec.live[rec.live.length - 1];
  if (!l || l.revision !== revision) rec.live.push({color: card.dataset.live, revision, t: now});
};
new MutationObserver(sample).observe(document.getElementById('live'),
  {subtree: true, childList: true, attributes: true, characterData: true});
sample();
return true;
"#;

/// What the browser recorded.
struct Recording(Json);

impl Recording {
    fn read(browser: &Browser) -> Recording {
        Recording(browser.js("return window.__rec"))
    }

    /// The phases the page showed for `release`, in order.
    fn phases(&self, release: &str) -> Vec<String> {
        self.0["phases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["release"] == release)
            .filter_map(|p| p["phase"].as_str().map(str::to_owned))
            .collect()
    }

    /// The release card's text as last shown in `phase`.
    fn text(&self, release: &str, phase: &str) -> &str {
        self.0["text"][format!("{release} {phase}")]
            .as_str()
            .unwrap_or_default()
    }

    /// The error rate's class as last shown in `phase` (`rate ok`, `rate warn`, `rate crit`).
    fn rate_class(&self, release: &str, phase: &str) -> &str {
        self.0["rate"][format!("{release} {phase}")]
            .as_str()
            .unwrap_or_default()
    }

    /// Each routing revision above `after` the page showed: (colour, revision, browser ms).
    fn routing_after(&self, after: u64) -> Vec<(String, u64, f64)> {
        self.0["live"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| {
                Some((
                    l["color"].as_str()?.to_owned(),
                    l["revision"].as_u64()?,
                    l["t"].as_f64()?,
                ))
            })
            .filter(|(_, revision, _)| *revision > after)
            .collect()
    }
}

/// Fails unless `seen` holds `wanted` in this order (other phases may sit between).
fn assert_in_order(seen: &[String], wanted: &[&str], what: &str) {
    let mut rest = seen.iter();
    for w in wanted {
        assert!(
            rest.any(|s| s == w),
            "{what}: the page showed the phases {seen:?}, expected {wanted:?} in this order"
        );
    }
}

/// Routing revisions above `after` as the daemon installed them, in order: (revision,
/// colour, ms since the epoch of the audit entry written right after the table went in).
fn installed_after(fx: &Fixture, browser: &Browser, after: u64) -> Vec<(u64, String, f64)> {
    let audit = fx
        .daemon
        .api()
        .get(&format!("/v1/audit?environment={}&limit=1000", fx.name))
        .unwrap_or_else(|e| panic!("reading the audit log: {e}"));
    audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let revision = e["revision"].as_u64().filter(|r| *r > after)?;
            let time = e["time"].as_str()?;
            // The browser parses the daemon's RFC 3339 time: both clocks are this machine's.
            let installed = browser
                .js(&format!("return Date.parse({time:?})"))
                .as_f64()
                .unwrap_or_else(|| panic!("the audit time {time:?} does not parse"));
            Some((revision, e["to_color"].as_str()?.to_owned(), installed))
        })
        .collect()
}

/// How long after the daemon installed each routing revision the page showed it, in
/// ms, with the colour: every one it showed must be under 1 s, and every revision that
/// stayed in force at least half a second must have been shown (a shorter one may fall
/// between two of the page's frames, 100 ms apart, on a busy machine).
fn switch_delays(
    fx: &Fixture,
    browser: &Browser,
    after: u64,
    seen: &[(String, u64, f64)],
) -> Vec<(String, f64)> {
    let installed = installed_after(fx, browser, after);
    for (i, (revision, color, at)) in installed.iter().enumerate() {
        let held = installed
            .get(i + 1)
            .map_or(f64::INFINITY, |next| next.2 - at);
        assert!(
            held < 500.0 || seen.iter().any(|s| s.1 == *revision),
            "routing revision {revision} ({color}) was in force {held:.0} ms, but the page never showed it; it showed {seen:?}"
        );
    }
    seen.iter()
        .map(|(color, revision, shown)| {
            let at = installed
                .iter()
                .find(|i| i.0 == *revision)
                .unwrap_or_else(|| panic!("no audit entry for routing revision {revision}"))
                .2;
            let delay = shown - at;
            assert!(
                delay < 1000.0,
                "routing revision {revision} ({color}) appeared on the page {delay:.0} ms after the daemon installed it, expected under 1 s"
            );
            (color.clone(), delay)
        })
        .collect()
}

fn revision(fx: &Fixture) -> u64 {
    fx.daemon.api().environment(&fx.name)["routing"]["revision"]
        .as_u64()
        .unwrap_or(0)
}

fn phase_is(release: &str, phase: &str) -> String {
    format!(
        "const r = document.querySelector('#env-shop .release'); return !!r && r.dataset.release === {release:?} && r.dataset.phase === {phase:?};"
    )
}

#[test]
fn a_real_release_and_its_rollback_are_watched_live_in_chromium() {
    let tf = &Terraform::all()[0];
    let test = "page_release";
    let fx = Fixture::new(test, tf, "shop");
    let env = fx
        .env("1.2.0")
        .var("AGOG_FAULTY_VERSION", "1.3.1")
        .var("AGOG_ERROR_RATE", "0.05");
    let ws = Workspace::new(test, tf, &bluegreen());
    ws.write_config(&fx.config(&env.hcl()));
    ws.init();
    ws.apply();
    let front = fx.front_door();

    let browser = Browser::start();
    browser.open(&format!("{}/", fx.daemon.endpoint()));
    browser.wait_for(
        "the event stream connects",
        "return document.getElementById('stream').textContent === 'live';",
        Duration::from_secs(10),
        "body",
    );
    assert_eq!(browser.js(RECORDER), Json::Bool(true));

    // A good release under traffic.
    let before = revision(&fx);
    ws.write_config(&fx.config(&env.clone().version("1.3.0").hcl()));
    let load = Load::start(&front.url("/api/version"), 4, LOAD_BOUNDS);
    ws.apply();
    load.stop();
    let id = ws
        .show()
        .resource(ADDRESS)
        .str("last_deployment.id")
        .to_owned();
    browser.wait_for(
        "1.3.0 done",
        &phase_is(&id, "done"),
        Duration::from_secs(10),
        "#env-shop .release",
    );
    let rec = Recording::read(&browser);
    let phases = rec.phases(&id);
    assert_in_order(&phases, &["validating", "watching", "done"], "1.3.0");
    let validating = rec.text(&id, "validating");
    assert!(
        validating.contains("release 1.3.0 (blue 1.2.0 → green)")
            && validating.contains("deploying 1.3.0 to green"),
        "while validating the page showed:\n{validating}"
    );
    let watching = rec.text(&id, "watching");
    let figures =
        regex::Regex::new(r"watch \d+\.\ds of 3\.0s: (\d+\.\d\d)% errors \((\d+) of (\d+)\)")
            .expect("regex");
    let Some(live_figures) = figures.captures(watching) else {
        panic!("while watching the page showed no live figures:\n{watching}");
    };
    assert_eq!(rec.rate_class(&id, "watching"), "rate ok", "{watching}");
    let done = rec.text(&id, "done");
    for expected in [
        "health check passed on green",
        "smoke test \"orders\" passed on green",
        "front door switched to green",
        "1.3.0 is live on green",
    ] {
        assert!(
            done.contains(expected),
            "{expected:?} missing from the page when done:\n{done}"
        );
    }
    let switched = rec.routing_after(before);
    assert_eq!(
        switched.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["green"],
        "the routing changes the page showed"
    );
    let good_delays = switch_delays(&fx, &browser, before, &switched);

    // A faulty release, rolled back by the watch.
    let before = revision(&fx);
    ws.write_config(&fx.config(&env.clone().version("1.3.1").hcl()));
    let (apply, _) = apply_rolled_back_under_load(&ws, &fx, "green");
    expect_match(&ws, &apply, r"Error: Release of 1\.3\.1 rolled back");
    let releases = fx
        .daemon
        .api()
        .get(&format!("/v1/environments/{}/releases", fx.name))
        .unwrap_or_else(|e| panic!("reading the releases: {e}"));
    let faulty = &releases["releases"][0];
    let faulty_id = faulty["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(faulty["version"], "1.3.1", "{faulty}");
    browser.wait_for(
        "1.3.1 rolled back",
        &phase_is(&faulty_id, "rolled_back"),
        Duration::from_secs(10),
        "#env-shop .release",
    );
    let rec = Recording::read(&browser);
    assert_in_order(
        &rec.phases(&faulty_id),
        &["validating", "watching", "rolled_back"],
        "1.3.1",
    );
    let rolled_back = rec.text(&faulty_id, "rolled_back");
    let reason = faulty["reason"].as_str().unwrap_or_default();
    let rate = regex::Regex::new(
        r"error rate (\d+\.\d\d)% \((\d+) of (\d+) requests answered 5xx\) is above max_error_rate 1\.00%",
    )
    .expect("regex");
    let Some(measured) = rate.captures(reason) else {
        panic!("the rollback's reason lacks its rate: {faulty}");
    };
    assert!(
        rolled_back.contains("rolled_back") && rolled_back.contains(&measured[0]),
        "the page shows the rollback with its measured rate {:?}:\n{rolled_back}",
        &measured[0]
    );
    assert_eq!(
        rec.rate_class(&faulty_id, "rolled_back"),
        "rate crit",
        "{rolled_back}"
    );
    let flips = rec.routing_after(before);
    assert_eq!(
        flips.last().map(|s| s.0.as_str()),
        Some("green"),
        "the page shows the rollback: {flips:?}"
    );
    let rollback_delays = switch_delays(&fx, &browser, before, &flips);
    let timeline = browser.js("return document.querySelector('#env-shop .timeline').textContent");
    let timeline = timeline.as_str().unwrap_or_default();
    assert!(
        timeline.contains("1.3.1 rolled_back") && timeline.contains("1.3.0 done"),
        "the recent releases:\n{timeline}"
    );
    let shot = artifact_path(test, "rolled-back.png");
    let bytes = browser.screenshot(&shot);
    assert!(bytes > 10_000, "a {bytes}-byte screenshot is blank");

    // Read-only without the token; the emergency switch once it is entered.
    assert_eq!(
        browser.js("return document.querySelector('#env-shop button.switch').disabled"),
        Json::Bool(true),
        "the switch button is disabled until the token is entered"
    );
    let token = fx.daemon.api().token().expect("the admin token");
    browser.js(&format!(
        "document.getElementById('token').value = {token:?};
         document.getElementById('operator').value = 'oncall';
         document.querySelector('#token-form button').click();
         window.confirm = (q) => {{ window.lastConfirm = q; return true; }};
         window.alert = (m) => {{ window.lastAlert = m; }};"
    ));
    browser.wait_for(
        "the switch button armed",
        "const b = document.querySelector('#env-shop button.switch'); return !!b && !b.disabled;",
        Duration::from_secs(5),
        "#env-shop",
    );
    browser.js("document.querySelector('#env-shop button.switch').click()");
    browser.wait_for(
        "the page's emergency switch",
        "const c = document.getElementById('env-shop'); return !!c && c.dataset.live === 'blue';",
        Duration::from_secs(5),
        "#env-shop",
    );
    assert_eq!(
        browser.js("return window.lastConfirm"),
        Json::from("Switch shop: all traffic from green (1.3.0) to blue (1.3.1)?")
    );
    let audit = fx
        .daemon
        .api()
        .get("/v1/audit?environment=shop&limit=1000")
        .expect("the audit log");
    let last = audit["entries"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&last["actor"], &last["to_color"]),
        (&Json::from("page:oncall"), &Json::from("blue")),
        "{last}"
    );
    let html = browser.js("return document.documentElement.outerHTML");
    assert!(
        !browser.url().contains(&token) && !html.as_str().unwrap_or_default().contains(&token),
        "the token is neither in the URL nor in the page"
    );
    assert!(!fx.daemon.log().contains(&token), "nor in the daemon's log");
    announce(&format!(
        "acceptance: {test} on Terraform v{}: 1.3.0 phases {phases:?}, watch figures {} % ({} of {}), switch on the page after {good_delays:?} ms; 1.3.1 rolled back at {}% ({} of {}), switch and rollback on the page after {rollback_delays:?} ms; screenshot {} ({bytes} bytes)",
        tf.version_string(),
        &live_figures[1],
        &live_figures[2],
        &live_figures[3],
        &measured[1],
        &measured[2],
        &measured[3],
        shot.display()
    ));
    destroy_and_check(&ws, &fx);
}
