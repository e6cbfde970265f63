//! `bluegreen-local switch ENV COLOR`: the on-call emergency switch.

use anyhow::bail;
use bluegreen_local::api::{Color, ProcessStatus, RoutingUpdate};
use bluegreen_local::client::Client;

/// The audit actor: `cli:<user>`, from $USER, $LOGNAME, or the password database.
pub(super) fn operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(login_name)
        .unwrap_or_else(|| {
            // SAFETY: getuid has no preconditions.
            format!("uid{}", unsafe { libc::getuid() })
        });
    format!("cli:{user}")
}

fn login_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: passwd is plain data, fully written by getpwuid_r on success.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to live, correctly sized storage owned here.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points to a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    name.to_str().ok().map(str::to_owned)
}

/// Sends all traffic of `environment` to `color`.
pub async fn run(
    client: &Client,
    environment: &str,
    color: Color,
    force: bool,
    message: Option<String>,
) -> anyhow::Result<()> {
    let env = client.get_environment(environment).await?;
    let target = env.colors.get(color);
    if env.routing.primary == Some(color) && env.routing.canary.is_none() {
        println!(
            "{environment}: {color} ({}) already receives all traffic; nothing changed",
            target.version.as_deref().unwrap_or("no version")
        );
        return Ok(());
    }
    if target.status != ProcessStatus::Running {
        bail!(
            "{environment}: {color} is {} (version {}), so it cannot take traffic; deploy it first (terraform apply)",
            target.status,
            target.version.as_deref().unwrap_or("none")
        );
    }
    let from = env
        .routing
        .primary
        .map(|c| {
            format!(
                "{c} ({})",
                env.colors.get(c).version.as_deref().unwrap_or("no version")
            )
        })
        .unwrap_or_else(|| "nothing".into());
    let routing = client
        .set_routing(
            environment,
            &RoutingUpdate {
                primary: Some(color),
                canary: None,
                tenant_header: Some(env.routing.tenant_header.clone()),
                actor: Some(operator()),
                action: None,
                if_revision: Some(env.routing.revision),
                lock_owner: None,
                force,
                message: Some(message.unwrap_or_else(|| "emergency switch from the CLI".into())),
            },
        )
        .await?;
    println!(
        "{environment}: all traffic now goes to {color} ({}), was {from}; routing revision {}. The next `terraform plan` shows this as drift.",
        target.version.as_deref().unwrap_or("no version"),
        routing.revision
    );
    Ok(())
}
