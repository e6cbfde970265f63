//! A stand-in for the Azure CLI, for credentials that run `az account
//! get-access-token` (link or copy it as `az` on PATH). It asks the emulator
//! named by `BLUEGREEN_AZURE_EMULATOR_ADMIN_URL` for a token and prints it in
//! the CLI's JSON shape. Only the commands credentials use are supported.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};

const ADMIN_ENV: &str = "BLUEGREEN_AZURE_EMULATOR_ADMIN_URL";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["--version", ..] | ["version", ..] => {
            println!("azure-cli                         2.67.0 (bluegreen Azure emulator stand-in)");
            return ExitCode::SUCCESS;
        }
        ["account", "get-access-token", rest @ ..] => get_access_token(rest),
        ["account", "show", ..] => account_show(),
        _ => Err((
            2,
            format!("ERROR: 'az {}' is not supported by the emulator's az stand-in; it answers 'account get-access-token' and 'account show'.", args.join(" ")),
        )),
    };
    match result {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

/// The value following `flag` (or `-o` for `--output`).
fn flag<'a>(rest: &[&'a str], names: &[&str]) -> Option<&'a str> {
    rest.windows(2)
        .find(|w| names.contains(&w[0]))
        .map(|w| w[1])
}

fn get_access_token(rest: &[&str]) -> Result<Value, (u8, String)> {
    if let Some(output) = flag(rest, &["--output", "-o"]) {
        if output != "json" {
            return Err((
                2,
                format!("ERROR: the stand-in prints only --output json, not '{output}'."),
            ));
        }
    }
    let body = json!({
        "resource": flag(rest, &["--resource"]),
        "scope": flag(rest, &["--scope", "--scopes"]),
    });
    admin("POST", "/admin/cli-token", Some(body))
}

fn account_show() -> Result<Value, (u8, String)> {
    // Logged out, the CLI knows no account either.
    if admin("GET", "/admin/settings", None)?["cli_logged_in"] == json!(false) {
        return Err((1, "ERROR: Please run 'az login' to setup account.".into()));
    }
    let info = admin("GET", "/admin/info", None)?;
    Ok(json!({
        "environmentName": "AzureCloud",
        "id": info["subscription_id"],
        "isDefault": true,
        "name": "bluegreen Azure emulator",
        "state": "Enabled",
        "tenantId": info["tenant_id"],
        "user": {"name": info["client_id"], "type": "servicePrincipal"},
    }))
}

/// One request to the emulator's admin API (plain HTTP/1.1 on loopback).
fn admin(method: &str, path: &str, body: Option<Value>) -> Result<Value, (u8, String)> {
    let url = std::env::var(ADMIN_ENV).map_err(|_| {
        (
            1,
            format!(
                "ERROR: Please run 'az login' to setup account. ({ADMIN_ENV} names no emulator.)"
            ),
        )
    })?;
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let unreachable = |e: std::io::Error| {
        (
            1,
            format!("ERROR: the emulator at {url} did not answer: {e}"),
        )
    };
    let mut stream = TcpStream::connect(host).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(unreachable)?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(request.as_bytes()).map_err(unreachable)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(unreachable)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if status == 200 {
        Ok(value)
    } else {
        let message = value["error"]
            .as_str()
            .unwrap_or("unexpected answer")
            .to_string();
        Err((1, format!("ERROR: {message}")))
    }
}
