//! The read-only HTML dashboard at `GET /`: environments, colours, routing, audit.

use std::fmt::Write;

use crate::api::{AuditEntry, Color, EnvironmentStatus, ProcessStatus};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn traffic(env: &EnvironmentStatus, color: Color) -> String {
    let r = &env.routing;
    if r.primary == Some(color) {
        return "live".into();
    }
    match &r.canary {
        Some(c) if c.color == color => {
            let mut s = format!("canary {}%", c.weight);
            if !c.tenants.is_empty() {
                s.push_str(&format!(" + {}", c.tenants.join(", ")));
            }
            s
        }
        _ => "idle".into(),
    }
}

/// Renders the dashboard page.
pub fn render(envs: &[EnvironmentStatus], audit: &[AuditEntry]) -> String {
    let mut h = String::from(concat!(
        "<!doctype html><html><head><meta charset=\"utf-8\">",
        "<meta http-equiv=\"refresh\" content=\"5\"><title>bluegreen-local</title><style>",
        "body{font-family:system-ui,sans-serif;margin:2em;color:#222}",
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left}",
        ".blue{color:#1565c0;font-weight:bold}.green{color:#2e7d32;font-weight:bold}",
        ".live{background:#fff3c4}.crashed{color:#c62828}.muted{color:#777}",
        "</style></head><body><h1>bluegreen-local</h1>"
    ));
    if envs.is_empty() {
        h.push_str("<p class=\"muted\">No environments yet. <code>terraform apply</code> creates them.</p>");
    }
    for env in envs {
        let _ = write!(
            h,
            "<h2>{} <span class=\"muted\">· front door <a href=\"{}\">{}</a> · routing rev {}</span></h2>",
            esc(&env.name),
            esc(&env.endpoint),
            esc(&env.endpoint),
            env.routing.revision
        );
        if let Some(f) = env.front_door.as_ref().filter(|f| !f.listening) {
            let _ = write!(
                h,
                "<p class=\"crashed\">front door down: not listening on {}: {} (since {}, {} failed binds; retrying)</p>",
                esc(&f.address),
                esc(f.error.as_deref().unwrap_or("not bound")),
                esc(f.down_since.as_deref().unwrap_or("-")),
                f.bind_attempts
            );
        }
        if let Some(l) = &env.lock {
            let _ = write!(
                h,
                "<p>🔒 locked by <b>{}</b> since {} (expires {})</p>",
                esc(&l.owner),
                esc(&l.since),
                esc(&l.expires_at)
            );
        }
        h.push_str("<table><tr><th>colour</th><th>version</th><th>status</th><th>pid</th><th>address</th><th>restarts</th><th>traffic</th><th>in flight</th><th>open connections</th><th>tunnels (open / drained / cut)</th><th>upgrades (accepted / refused)</th></tr>");
        for color in Color::ALL {
            let c = env.colors.get(color);
            let t = traffic(env, color);
            let _ = write!(
                h,
                "<tr class=\"{}\"><td class=\"{color}\">{color}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td><td>{} / {}</td></tr>",
                if t == "live" { "live" } else { "" },
                esc(c.version.as_deref().unwrap_or("—")),
                if c.status == ProcessStatus::Crashed { "crashed" } else { "" },
                c.status,
                c.pid.map(|p| p.to_string()).unwrap_or_else(|| "—".into()),
                esc(c.address.as_deref().unwrap_or("—")),
                c.restarts,
                esc(&t),
                c.in_flight,
                c.open_connections,
                c.open_tunnels,
                c.tunnels_drained,
                c.tunnels_cut,
                c.upgrades_accepted,
                c.upgrades_refused,
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>Recent audit</h2><table><tr><th>time</th><th>environment</th><th>actor</th><th>action</th><th>outcome</th><th>message</th></tr>");
    for e in audit.iter().rev() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.time),
            esc(&e.environment),
            esc(&e.actor),
            esc(&serde_json::to_value(e.action)
                .map(|v| v.as_str().unwrap_or("").to_owned())
                .unwrap_or_default()),
            esc(&serde_json::to_value(e.outcome)
                .map(|v| v.as_str().unwrap_or("").to_owned())
                .unwrap_or_default()),
            esc(&e.message),
        );
    }
    h.push_str("</table></body></html>");
    h
}
