//! `bluegreen-local status [ENV] [--json] [--watch]`.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use bluegreen_local::api::{AppHealth, Color, ColorStatus, EnvironmentStatus, Release};
use bluegreen_local::client::Client;
use bluegreen_local::time::now_rfc3339;

fn paint(color: Color, tty: bool) -> String {
    match (tty, color) {
        (false, c) => c.to_string(),
        (true, Color::Blue) => "\x1b[1;34mblue\x1b[0m ".into(),
        (true, Color::Green) => "\x1b[1;32mgreen\x1b[0m".into(),
    }
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
                s.push_str(&format!(" + tenants {}", c.tenants.join(",")));
            }
            s
        }
        _ => "idle".into(),
    }
}

/// Renders environments as a table for people, each with its running or last
/// release when it had one.
pub fn render(envs: &[(EnvironmentStatus, Option<Release>)], tty: bool) -> String {
    let mut out = String::new();
    if envs.is_empty() {
        out.push_str("no environments (terraform apply creates them)\n");
    }
    for (env, release) in envs {
        let live = match (env.routing.primary, &env.live_version) {
            (Some(c), Some(v)) => format!("{c} {v}"),
            (Some(c), None) => c.to_string(),
            _ => "none (no traffic served)".into(),
        };
        out.push_str(&format!(
            "{}  front door {}  live: {live}  routing rev {}{}\n",
            env.name,
            env.endpoint,
            env.routing.revision,
            env.routing
                .updated_by
                .as_deref()
                .map(|by| format!(" by {by}"))
                .unwrap_or_default()
        ));
        if let Some(f) = env.front_door.as_ref().filter(|f| !f.listening) {
            out.push_str(&format!(
                "  FRONT DOOR DOWN: not listening on {}: {} (since {}, {} failed binds; retrying with backoff)\n",
                f.address,
                f.error.as_deref().unwrap_or("not bound"),
                f.down_since.as_deref().unwrap_or("-"),
                f.bind_attempts
            ));
        }
        if let Some(l) = &env.lock {
            out.push_str(&format!(
                "  locked by {} since {} (expires {})\n",
                l.owner, l.since, l.expires_at
            ));
        }
        out.push_str(&format!(
            "  {:<6} {:<12} {:<9} {:<8} {:<6} {:<8} {:<20} {:<11} {:<26} {:<22} {}\n",
            "COLOR",
            "VERSION",
            "STATUS",
            "PID",
            "PORT",
            "RESTARTS",
            "TRAFFIC",
            "CONNECTIONS",
            "TUNNELS",
            "UPGRADES",
            "LAST EXIT"
        ));
        for color in Color::ALL {
            let c = env.colors.get(color);
            out.push_str(&format!(
                "  {:<6} {:<12} {:<9} {:<8} {:<6} {:<8} {:<20} {:<11} {:<26} {:<22} {}\n",
                paint(color, tty),
                c.version.as_deref().unwrap_or("-"),
                c.status.to_string(),
                c.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                c.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                c.restarts,
                traffic(env, color),
                c.open_connections,
                tunnels(c),
                format!(
                    "{} accepted, {} refused",
                    c.upgrades_accepted, c.upgrades_refused
                ),
                c.last_exit.as_deref().unwrap_or("-"),
            ));
        }
        for color in Color::ALL {
            if let Some(h) = &env.colors.get(color).health {
                out.push_str(&health_line(color, h, tty));
            }
        }
        if let Some(r) = release {
            out.push_str(&super::release::render(r, tty));
        }
    }
    out
}

/// The application's own health of one colour, as its health path last answered.
fn health_line(color: Color, h: &AppHealth, tty: bool) -> String {
    let verdict = match (h.ok, tty) {
        (true, false) => "ok",
        (false, false) => "FAILING",
        (true, true) => "\x1b[32mok\x1b[0m",
        (false, true) => "\x1b[1;31mFAILING\x1b[0m",
    };
    format!(
        "  {:<6} health {verdict}: {} (checked {})\n",
        paint(color, tty),
        h.summary(),
        h.checked_at
    )
}

/// Open WebSocket (upgraded) connections of a colour, and how those of its retirements
/// ended: on their own within the drain, or closed at its deadline.
fn tunnels(c: &ColorStatus) -> String {
    format!(
        "{} open, {} drained, {} cut",
        c.open_tunnels, c.tunnels_drained, c.tunnels_cut
    )
}

/// Clears a terminal and puts the cursor at the top left.
const CLEAR: &str = "\x1b[2J\x1b[H";

/// How often `--watch` redraws.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The environments to show, each with its newest release.
async fn read(
    client: &Client,
    environment: Option<&str>,
) -> anyhow::Result<Vec<(EnvironmentStatus, Option<Release>)>> {
    let envs = match environment {
        Some(name) => vec![client.get_environment(name).await?],
        None => client.list_environments().await?,
    };
    let mut out = Vec::with_capacity(envs.len());
    for env in envs {
        // A daemon that predates release progress answers 404: show the rest. Any
        // other failure is said, not shown as "no release".
        let release = match client.releases(&env.name).await {
            Ok(r) => r.into_iter().next(),
            Err(bluegreen_local::client::ClientError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        out.push((env, release));
    }
    Ok(out)
}

/// Redraws the status every second until Ctrl-C, for a terminal on a server without
/// a browser. A failed read is shown in the frame and retried: the view outlives a
/// daemon restart.
pub async fn watch(client: &Client, environment: Option<&str>) -> anyhow::Result<()> {
    let tty = std::io::stdout().is_terminal();
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        let body = match read(client, environment).await {
            Ok(envs) => render(&envs, tty),
            Err(e) => format!("cannot read the status: {e}\n"),
        };
        let frame = format!(
            "{CLEAR}bluegreen-local status at {} (every {}s; Ctrl-C to stop)\n\n{body}",
            now_rfc3339(),
            WATCH_EVERY.as_secs()
        );
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(frame.as_bytes())?;
        stdout.flush()?;
    }
}

/// An environment as `--json` prints it: the admin API's environment object with its
/// running or last release (`last_release`, the newest of `GET …/releases`, or null), as
/// the table shows it.
fn json_object(env: &EnvironmentStatus, release: Option<&Release>) -> serde_json::Value {
    let mut value = serde_json::to_value(env).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "last_release".into(),
            serde_json::to_value(release).unwrap_or_default(),
        );
    }
    value
}

/// Prints the status of one or all environments.
pub async fn run(client: &Client, environment: Option<&str>, json: bool) -> anyhow::Result<()> {
    let envs = read(client, environment).await?;
    if json {
        let objects: Vec<serde_json::Value> = envs
            .iter()
            .map(|(env, release)| json_object(env, release.as_ref()))
            .collect();
        let text = match (environment, objects.first()) {
            (Some(_), Some(env)) => serde_json::to_string_pretty(env)?,
            _ => serde_json::to_string_pretty(&objects)?,
        };
        println!("{text}");
    } else {
        print!("{}", render(&envs, std::io::stdout().is_terminal()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bluegreen_local::api::HealthCheckResult;

    use super::*;

    #[test]
    fn health_line_names_each_check_and_the_verdict() {
        let h = AppHealth {
            checked_at: "2026-12-03T08:30:00Z".into(),
            http_status: Some(503),
            status: Some("unhealthy".into()),
            checks: vec![
                HealthCheckResult {
                    name: "database".into(),
                    status: "failing".into(),
                    ok: false,
                },
                HealthCheckResult {
                    name: "cache".into(),
                    status: "ok".into(),
                    ok: true,
                },
            ],
            error: None,
            ok: false,
        };
        assert_eq!(
            health_line(Color::Green, &h, false),
            "  green  health FAILING: unhealthy (HTTP 503): database failing · cache ok (checked 2026-12-03T08:30:00Z)\n"
        );
    }
}
