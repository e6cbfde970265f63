//! `bluegreen-local audit [ENV] [--limit N] [--json]`: the audit log, oldest first,
//! from the daemon (which reads `DIR/audit.log`).

use bluegreen_local::api::AuditEntry;
use bluegreen_local::client::Client;

/// One line per entry: time, environment, actor, action, outcome, what changed and the
/// message, in columns a terminal (or `grep`) reads.
pub fn render(entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return "no audit entries\n".into();
    }
    let name = |v: serde_json::Result<serde_json::Value>| {
        v.ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let mut out = String::new();
    for e in entries {
        let change = e.change();
        out.push_str(&format!(
            "{:<24} {:<12} {:<24} {:<12} {:<8} {}{}\n",
            e.time,
            e.environment,
            e.actor,
            name(serde_json::to_value(e.action)),
            name(serde_json::to_value(e.outcome)),
            if change.is_empty() {
                String::new()
            } else {
                format!("{change}  ")
            },
            e.message
        ));
    }
    out
}

/// Prints the last `limit` entries, of one environment or all.
pub async fn run(
    client: &Client,
    environment: Option<&str>,
    limit: usize,
    json: bool,
) -> anyhow::Result<()> {
    let entries = client.audit(environment, Some(limit)).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        print!("{}", render(&entries));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bluegreen_local::api::{AuditAction, Color, Outcome};

    use super::*;

    #[test]
    fn a_release_reads_as_one_line_with_its_change_and_reason() {
        let e = AuditEntry {
            time: "2026-12-03T08:10:09.000Z".into(),
            actor: "terraform".into(),
            environment: "shop".into(),
            action: AuditAction::Release,
            from_version: Some("1.2.0".into()),
            to_version: Some("1.3.0".into()),
            from_color: Some(Color::Blue),
            to_color: Some(Color::Green),
            revision: None,
            outcome: Outcome::Failed,
            message: "release shop-1.3.0-1 rolled back: error rate 25.00%".into(),
        };
        assert_eq!(
            render(&[e]),
            "2026-12-03T08:10:09.000Z shop         terraform                release      failed   blue 1.2.0 → green 1.3.0  release shop-1.3.0-1 rolled back: error rate 25.00%\n"
        );
        assert_eq!(render(&[]), "no audit entries\n");
    }
}
