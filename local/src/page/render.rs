//! The page's HTML: the document once, and the live part (cards and audit) that
//! `/events` sends again at every change. Every value from the daemon is escaped.

use std::fmt::Write;

use super::chart::{latency_sparkline, sparkline};
use super::{ColorView, EnvView, Snapshot, CHART_WIDTH_S};
use crate::api::{
    AppHealth, AuditEntry, Color, EnvironmentStatus, ErrorThresholds, ProcessStatus, RateLevel,
    Release, ReleasePhase,
};
/// Steps of the last release shown on a card.
const STEPS_SHOWN: usize = 8;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn json_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The whole document: header, token form (used by the script only), the live part.
pub fn render_page(s: &Snapshot) -> String {
    let mut h = String::with_capacity(16 * 1024);
    h.push_str(concat!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<title>bluegreen-local</title><link rel=\"stylesheet\" href=\"/page.css\">",
        "<script src=\"/page.js\" defer></script></head><body>",
        "<header><h1>bluegreen-local</h1>",
        "<span id=\"stream\" class=\"badge\" title=\"live updates\">snapshot</span>",
        "<form id=\"token-form\" hidden>",
        "<label>admin token <input id=\"token\" type=\"password\" autocomplete=\"off\" size=\"20\"></label> ",
        "<label>your name <input id=\"operator\" type=\"text\" autocomplete=\"off\" size=\"10\"></label> ",
        "<button type=\"submit\">enable switching</button></form>",
        "<span id=\"token-state\" hidden></span>",
        "<noscript><p class=\"muted\">A static snapshot (read-only): reload for news, or enable JavaScript for live updates.</p></noscript>",
        "</header><main id=\"live\">"
    ));
    h.push_str(&render_live(s));
    h.push_str("</main></body></html>");
    h
}

/// The live part: the cards and the audit log, as `#live` holds them.
pub fn render_live(s: &Snapshot) -> String {
    let mut h = String::with_capacity(12 * 1024);
    let _ = write!(
        h,
        "<p class=\"muted\">as of <time id=\"as-of\">{}</time></p>",
        esc(&s.at)
    );
    if s.envs.is_empty() {
        h.push_str("<p class=\"muted\">No environments yet. <code>terraform apply</code> creates them.</p>");
    }
    h.push_str("<div class=\"cards\">");
    for env in &s.envs {
        card(&mut h, env);
    }
    h.push_str("</div>");
    audit(&mut h, &s.audit);
    h
}

fn card(h: &mut String, env: &EnvView) {
    let st = &env.status;
    let name = esc(&st.name);
    let live = st.routing.primary;
    let _ = write!(
        h,
        "<section class=\"card\" id=\"env-{name}\" data-env=\"{name}\" data-live=\"{}\" data-live-version=\"{}\" data-revision=\"{}\">",
        live.map(Color::as_str).unwrap_or(""),
        esc(st.live_version.as_deref().unwrap_or("")),
        st.routing.revision,
    );
    let _ = write!(
        h,
        "<h2>{name} <span class=\"muted\">front door <a href=\"{0}\">{0}</a> · routing rev {1}</span></h2>",
        esc(&st.endpoint),
        st.routing.revision
    );
    if let Some(f) = st.front_door.as_ref().filter(|f| !f.listening) {
        let _ = write!(
            h,
            "<p class=\"alert crit\">front door down: not listening on {}: {} (since {}, {} failed binds; retrying)</p>",
            esc(&f.address),
            esc(f.error.as_deref().unwrap_or("not bound")),
            esc(f.down_since.as_deref().unwrap_or("-")),
            f.bind_attempts
        );
    }
    if let Some(l) = &st.lock {
        let _ = write!(
            h,
            "<p class=\"lock\">locked by <b>{}</b> since {} (expires {})</p>",
            esc(&l.owner),
            esc(&l.since),
            esc(&l.expires_at)
        );
    }
    routing(h, st);
    if let Some(r) = env.releases.first() {
        release(h, r);
    } else {
        h.push_str("<p class=\"release muted\" data-phase=\"\">No release reported yet.</p>");
    }
    colors(h, st, &env.colors, &thresholds(&env.releases));
    app_health(h, st);
    switch_buttons(h, st);
    timeline(h, &env.releases);
    h.push_str("</section>");
}

fn routing(h: &mut String, st: &EnvironmentStatus) {
    h.push_str("<div class=\"routing\">");
    for color in Color::ALL {
        let c = st.colors.get(color);
        let role = if st.routing.primary == Some(color) {
            "live"
        } else {
            "idle"
        };
        let _ = write!(
            h,
            "<div class=\"side {role} {color}\" data-role=\"{role}\" data-color=\"{color}\"><span class=\"label\">{role}</span> <b>{color}</b> <span class=\"version\">{}</span> <span class=\"status {}\">{}</span></div>",
            esc(c.version.as_deref().unwrap_or("—")),
            c.status,
            c.status,
        );
    }
    h.push_str("</div>");
}

fn traffic(st: &EnvironmentStatus, color: Color) -> String {
    let r = &st.routing;
    match &r.canary {
        Some(c) if c.color == color => {
            let mut s = format!("canary {}%", c.weight);
            if !c.tenants.is_empty() {
                let _ = write!(s, " + {} tenant(s)", c.tenants.len());
            }
            s
        }
        Some(c) if r.primary == Some(color) => {
            format!("primary ({}% to canary)", c.weight)
        }
        _ if r.primary == Some(color) => "100%".into(),
        _ => "none".into(),
    }
}

/// The error-rate thresholds of the newest release that reported its watch's
/// figures (its `post_switch` settings); the seed's 0.5% / 1% before any did.
fn thresholds(releases: &[Release]) -> ErrorThresholds {
    releases
        .iter()
        .find_map(|r| r.figures.as_ref())
        .map_or(ErrorThresholds::SEED, |f| f.thresholds())
}

fn rate_class(rate: f64, t: &ErrorThresholds) -> &'static str {
    match t.level(rate) {
        RateLevel::Critical => "crit",
        RateLevel::Warn => "warn",
        RateLevel::Ok => "ok",
    }
}

fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1} ms"))
        .unwrap_or_else(|| "—".into())
}

fn colors(h: &mut String, st: &EnvironmentStatus, views: &[ColorView], t: &ErrorThresholds) {
    h.push_str("<table class=\"colors\"><tr><th>colour</th><th>traffic</th><th>errors (1 min)</th><th>p50</th><th>p95</th><th>p99</th><th>req/s</th><th>requests/s, 15 min</th><th>p95, 15 min</th><th>in flight</th><th>open connections</th><th>tunnels (open / drained / cut)</th><th>upgrades (accepted / refused)</th></tr>");
    for v in views {
        let m = &v.last_minute;
        let secs = ((m.until.saturating_sub(m.since)) as f64 / 1000.0).max(1.0);
        let cs = st.colors.get(v.color);
        let _ = write!(
            h,
            "<tr data-color=\"{c}\"><td class=\"{c}\">{c}</td><td>{}</td><td class=\"rate {}\" title=\"warning above {:.2}%, critical above {:.2}%\">{:.2}% <span class=\"muted\">({}/{})</span></td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td class=\"{c}\">{}</td><td class=\"{c}\">{}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td><td>{} / {}</td></tr>",
            esc(&traffic(st, v.color)),
            rate_class(m.error_rate, t),
            t.warn * 100.0,
            t.critical * 100.0,
            m.error_rate * 100.0,
            m.errors_5xx,
            m.requests,
            ms(m.p50_ms),
            ms(m.p95_ms),
            ms(m.p99_ms),
            m.requests as f64 / secs,
            sparkline(&v.series, CHART_WIDTH_S),
            latency_sparkline(&v.p95_series, CHART_WIDTH_S),
            cs.in_flight,
            cs.open_connections,
            cs.open_tunnels,
            cs.tunnels_drained,
            cs.tunnels_cut,
            cs.upgrades_accepted,
            cs.upgrades_refused,
            c = v.color,
        );
    }
    h.push_str("</table>");
}

/// The application's own checks per colour, as its health path last answered; nothing
/// when the environment has no health path or no colour runs.
fn app_health(h: &mut String, st: &EnvironmentStatus) {
    let lines: Vec<String> = Color::ALL
        .into_iter()
        .filter_map(|c| Some(health_line(c, st.colors.get(c).health.as_ref()?)))
        .collect();
    if lines.is_empty() {
        return;
    }
    h.push_str("<ul class=\"health\">");
    for line in lines {
        h.push_str(&line);
    }
    h.push_str("</ul>");
}

/// One colour's health: status word and HTTP status, then each check, ok in green,
/// anything else in red; or why the endpoint did not answer.
fn health_line(color: Color, a: &AppHealth) -> String {
    let mut h = format!(
        "<li data-color=\"{color}\" data-health=\"{}\"><span class=\"{color}\">{color}</span> health ",
        if a.ok { "ok" } else { "failing" }
    );
    if let Some(e) = &a.error {
        let _ = write!(
            h,
            "<span class=\"check bad\">unreachable: {}</span>",
            esc(e)
        );
    } else {
        let word = a.status.as_deref().unwrap_or("no status");
        // The word and the HTTP status on their own: a failing check is shown by itself.
        let word_ok = a
            .status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("healthy") || s.eq_ignore_ascii_case("ok"))
            && a.http_status.is_some_and(|s| (200..300).contains(&s));
        let _ = write!(
            h,
            "<span class=\"check {}\">{}</span>",
            if word_ok { "ok" } else { "bad" },
            esc(word)
        );
        if let Some(code) = a.http_status {
            let _ = write!(h, " <span class=\"muted\">(HTTP {code})</span>");
        }
        for (i, c) in a.checks.iter().enumerate() {
            let _ = write!(
                h,
                "{}<span class=\"check {}\" data-check=\"{}\">{} {}</span>",
                if i == 0 { ": " } else { " · " },
                if c.ok { "ok" } else { "bad" },
                esc(&c.name),
                esc(&c.name),
                esc(&c.status)
            );
        }
    }
    let _ = write!(
        h,
        " <span class=\"muted\">checked {}</span></li>",
        esc(&a.checked_at)
    );
    h
}

fn release(h: &mut String, r: &Release) {
    let phase = r.phase.as_str();
    let class = match r.phase {
        ReleasePhase::Done => "ok",
        ReleasePhase::RolledBack | ReleasePhase::Failed => "crit",
        _ => "running",
    };
    let _ = write!(
        h,
        "<div class=\"release {class}\" data-phase=\"{phase}\" data-release=\"{}\"><p>release <b>{}</b> ",
        esc(&r.id),
        esc(&r.version)
    );
    if let (Some(from), Some(to)) = (r.previous_color, r.color) {
        let _ = write!(
            h,
            "({from} {} → {to}) ",
            esc(r.previous_version.as_deref().unwrap_or("—"))
        );
    } else if let Some(to) = r.color {
        let _ = write!(h, "(on {to}) ");
    }
    let _ = write!(h, "<span class=\"phase\">{phase}</span>");
    let path: Vec<&str> = r.phases.iter().map(|m| m.phase.as_str()).collect();
    let _ = write!(
        h,
        " <span class=\"muted\">{} · started {}</span></p>",
        esc(&path.join(" → ")),
        esc(&r.started_at)
    );
    if let Some(f) = &r.figures {
        let t = f.thresholds();
        let _ = write!(
            h,
            "<p class=\"figures\">watch {} of {}: <span class=\"rate {}\">{:.2}%</span> errors ({} of {}), warning above {:.2}%, rollback above {:.2}%{}</p>",
            crate::time::seconds(f.elapsed_ms),
            crate::time::seconds(f.window_ms),
            rate_class(f.error_rate, &t),
            f.error_rate * 100.0,
            f.errors,
            f.requests,
            t.warn * 100.0,
            t.critical * 100.0,
            f.latency_ms
                .map(|l| format!(
                    ", {} {l:.1} ms",
                    esc(f.latency_statistic.as_deref().unwrap_or("latency"))
                ))
                .unwrap_or_default()
        );
    }
    if let Some(reason) = &r.reason {
        let _ = write!(h, "<p class=\"reason\">{}</p>", esc(reason));
    }
    if !r.steps.is_empty() {
        h.push_str("<ol class=\"steps\">");
        if r.steps.len() > STEPS_SHOWN || r.steps_dropped > 0 {
            let hidden = r.steps.len().saturating_sub(STEPS_SHOWN) as u64 + r.steps_dropped;
            let _ = write!(h, "<li class=\"muted\">… {hidden} earlier step(s)</li>");
        }
        for s in r
            .steps
            .iter()
            .skip(r.steps.len().saturating_sub(STEPS_SHOWN))
        {
            let class = if s.text.contains("failed") {
                " class=\"crit\""
            } else {
                ""
            };
            let _ = write!(
                h,
                "<li{class}><span class=\"muted\">{} {}</span> {}</li>",
                esc(s.time.get(11..19).unwrap_or(&s.time)),
                s.phase,
                esc(&s.text)
            );
        }
        h.push_str("</ol>");
    }
    h.push_str("</div>");
}

/// One button per idle colour that runs a version; the script enables them once a
/// token is entered, and reads what to confirm from the data attributes.
fn switch_buttons(h: &mut String, st: &EnvironmentStatus) {
    for color in Color::ALL {
        let c = st.colors.get(color);
        if st.routing.primary == Some(color) || c.status != ProcessStatus::Running {
            continue;
        }
        let Some(version) = c.version.as_deref() else {
            continue;
        };
        let from = st.routing.primary;
        let _ = write!(
            h,
            "<button class=\"switch\" disabled data-env=\"{}\" data-to=\"{color}\" data-to-version=\"{}\" data-from=\"{}\" data-from-version=\"{}\" data-revision=\"{}\" title=\"enter the admin token above to enable\">switch live to {color} ({})</button>",
            esc(&st.name),
            esc(version),
            from.map(Color::as_str).unwrap_or(""),
            esc(st.live_version.as_deref().unwrap_or("")),
            st.routing.revision,
            esc(version),
        );
    }
}

fn timeline(h: &mut String, releases: &[Release]) {
    if releases.len() < 2 {
        return;
    }
    h.push_str("<details class=\"timeline\"><summary>recent releases</summary><ol>");
    for r in releases {
        let _ = write!(
            h,
            "<li><span class=\"muted\">{}</span> {} <span class=\"phase {}\">{}</span> {}</li>",
            esc(&r.started_at),
            esc(&r.version),
            r.phase,
            r.phase,
            esc(r.reason.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</ol></details>");
}

fn audit(h: &mut String, entries: &[AuditEntry]) {
    h.push_str("<h2>Audit log <span class=\"muted\">(newest first)</span></h2><table class=\"audit\"><tr><th>time</th><th>environment</th><th>actor</th><th>action</th><th>outcome</th><th>change</th><th>message</th></tr>");
    for e in entries {
        let action = json_name(&e.action);
        let _ = write!(
            h,
            "<tr class=\"{}\" data-action=\"{action}\"><td>{}</td><td>{}</td><td>{}</td><td>{action}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            json_name(&e.outcome),
            esc(&e.time),
            esc(&e.environment),
            esc(&e.actor),
            json_name(&e.outcome),
            esc(&e.change()),
            esc(&e.message),
        );
    }
    h.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::HealthCheckResult;

    #[test]
    fn thresholds_colour_the_rate() {
        let seed = ErrorThresholds::SEED;
        assert_eq!(rate_class(0.0, &seed), "ok");
        assert_eq!(rate_class(0.005, &seed), "ok");
        assert_eq!(rate_class(0.006, &seed), "warn");
        assert_eq!(rate_class(0.0101, &seed), "crit");
    }

    /// A page with one environment whose release's watch reads `rate` against
    /// `warn_error_rate` (`None`: a provider that predates it) and a 1% rollback.
    async fn page_with_watch(rate: f64, warn_error_rate: Option<f64>) -> String {
        use crate::api::{EnvironmentSpec, ReleaseEvent, WatchFigures};
        let dir = tempfile::tempdir().expect("tempdir");
        let daemon = crate::daemon::Daemon::open(dir.path(), "0".repeat(64))
            .await
            .expect("daemon");
        let spec = EnvironmentSpec {
            command: vec!["/bin/true".into()],
            env: Default::default(),
            listen: "127.0.0.1:0".into(),
            drain_timeout_ms: 1_000,
            upstream_timeout_ms: crate::api::DEFAULT_UPSTREAM_TIMEOUT_MS,
            tenant_header: "X-Tenant-ID".into(),
            trust_forwarded_headers: false,
            health_path: None,
        };
        daemon.define("shop", spec, None).await.expect("define");
        let requests = 10_000;
        let errors = (rate * requests as f64).round() as u64;
        daemon
            .report_release(
                "shop",
                ReleaseEvent {
                    release_id: "shop-1.3.0-1".into(),
                    version: "1.3.0".into(),
                    phase: ReleasePhase::Watching,
                    color: Some(Color::Green),
                    previous_color: Some(Color::Blue),
                    previous_version: Some("1.2.0".into()),
                    step: None,
                    figures: Some(WatchFigures {
                        elapsed_ms: 20_000,
                        window_ms: 60_000,
                        requests,
                        errors,
                        error_rate: errors as f64 / requests as f64,
                        max_error_rate: 0.01,
                        warn_error_rate,
                        latency_ms: None,
                        latency_statistic: None,
                    }),
                    reason: None,
                    actor: None,
                },
            )
            .expect("report");
        render_page(&super::super::snapshot(&daemon))
    }

    #[tokio::test]
    async fn the_watch_rate_is_coloured_against_the_releases_own_thresholds() {
        // 0.30%: below the seed's 0.5% warning, above this release's 0.2%.
        let page = page_with_watch(0.003, Some(0.002)).await;
        assert!(
            page.contains("<span class=\"rate warn\">0.30%</span> errors (30 of 10000), warning above 0.20%, rollback above 1.00%"),
            "{page}"
        );
        // The colours' own rates are judged by the same thresholds.
        assert!(
            page.contains("title=\"warning above 0.20%, critical above 1.00%\""),
            "{page}"
        );
        // From a provider without warn_error_rate: the seed's 0.5%.
        let older = page_with_watch(0.003, None).await;
        assert!(
            older.contains(
                "<span class=\"rate ok\">0.30%</span> errors (30 of 10000), warning above 0.50%"
            ),
            "{older}"
        );
        let critical = page_with_watch(0.012, Some(0.002)).await;
        assert!(
            critical.contains("<span class=\"rate crit\">1.20%</span>"),
            "{critical}"
        );
    }

    #[test]
    fn health_line_colours_each_check() {
        let check = |name: &str, status: &str, ok: bool| HealthCheckResult {
            name: name.into(),
            status: status.into(),
            ok,
        };
        let mut a = AppHealth {
            checked_at: "2026-12-03T08:30:00Z".into(),
            http_status: Some(200),
            status: Some("healthy".into()),
            checks: vec![
                check("database", "ok", true),
                check("equipment", "ok (23/23 connected)", true),
            ],
            error: None,
            ok: true,
        };
        assert_eq!(
            health_line(Color::Blue, &a),
            "<li data-color=\"blue\" data-health=\"ok\"><span class=\"blue\">blue</span> health <span class=\"check ok\">healthy</span> <span class=\"muted\">(HTTP 200)</span>: <span class=\"check ok\" data-check=\"database\">database ok</span> · <span class=\"check ok\" data-check=\"equipment\">equipment ok (23/23 connected)</span> <span class=\"muted\">checked 2026-12-03T08:30:00Z</span></li>"
        );
        a.http_status = Some(503);
        a.status = Some("unhealthy".into());
        a.checks[0] = check("database", "<failing>", false);
        a.ok = false;
        let line = health_line(Color::Green, &a);
        assert!(line.contains("data-health=\"failing\""), "{line}");
        assert!(
            line.contains("<span class=\"check bad\">unhealthy</span>"),
            "{line}"
        );
        assert!(
            line.contains(
                "<span class=\"check bad\" data-check=\"database\">database &lt;failing&gt;</span>"
            ),
            "{line}"
        );
        a.error = Some("no answer within 1000 ms".into());
        assert!(health_line(Color::Green, &a)
            .contains("<span class=\"check bad\">unreachable: no answer within 1000 ms</span>"));
    }

    #[test]
    fn escapes_what_the_daemon_reports() {
        assert_eq!(
            esc("<script>\"a\" & 'b'"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;"
        );
    }
}
