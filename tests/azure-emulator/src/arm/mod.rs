//! Azure Resource Manager: bearer authentication, api-version enforcement,
//! subscription throttling, fault scripts, then the resource providers.

pub mod apps;
pub mod cdn;
pub mod lro;
pub mod merge;
pub mod paging;
pub mod path;
pub mod resources;
pub mod tags;

use crate::faults::{self, FaultAction};
use crate::front::Incoming;
use crate::metrics;
use crate::reply::Reply;
use crate::state::State;
use crate::Shared;

/// One hour of emulated time, ARM's throttling window.
const HOUR_MS: u64 = 3_600_000;

/// Answers an ARM request.
pub fn handle(shared: &Shared, req: &Incoming) -> Reply {
    let now = shared.clock.now_ms();
    let mut st = shared.lock();
    lro::advance(&mut st, now);

    if let Err(reply) = authenticate(shared, &st, req) {
        return reply;
    }
    let is_read = req.method == "GET" || req.method == "HEAD";
    let remaining = match throttle(shared, &mut st, now, is_read) {
        Ok(remaining) => remaining,
        Err(reply) => return reply,
    };
    let remaining_header = if is_read {
        "x-ms-ratelimit-remaining-subscription-reads"
    } else {
        "x-ms-ratelimit-remaining-subscription-writes"
    };
    let scripted_failure = match faults::take(&mut st.faults, &req.method, &req.path) {
        Some(FaultAction::Respond {
            status,
            retry_after,
            code,
            message,
        }) => {
            let mut reply = Reply::arm_error(status, &code, message);
            if let Some(seconds) = retry_after {
                reply = reply.header("Retry-After", seconds.to_string());
            }
            return reply.header(remaining_header, remaining.to_string());
        }
        Some(FaultAction::LroFailed { code, message }) => Some((code, message)),
        None => None,
    };
    let ctx = Ctx {
        shared,
        now,
        scripted_failure,
    };
    route(&ctx, &mut st, req).header(remaining_header, remaining.to_string())
}

/// What a provider handler needs besides the state.
pub struct Ctx<'a> {
    /// Clock, credentials, base URL.
    pub shared: &'a Shared,
    /// Emulated now (ms).
    pub now: u64,
    /// A scripted failure for the operation this write starts.
    pub scripted_failure: Option<(String, String)>,
}

fn route(ctx: &Ctx, st: &mut State, req: &Incoming) -> Reply {
    let lower = req.path.to_ascii_lowercase();
    if let Some(reply) = lro::route(ctx, st, req) {
        return reply;
    }
    if lower.ends_with("/providers/microsoft.insights/metrics") {
        if let Err(reply) = require_api_version(req, path::INSIGHTS_API, "metrics") {
            return reply;
        }
        return metrics::query(ctx, st, req);
    }
    if let Some(sub) = subscription_of(&req.path) {
        if !sub.eq_ignore_ascii_case(&ctx.shared.credentials.subscription_id) {
            return Reply::arm_error(
                404,
                "SubscriptionNotFound",
                format!("The subscription '{sub}' could not be found."),
            );
        }
    }
    if let Some(reply) = apps::list_by_subscription(&ctx.shared.base_url, st, req) {
        return reply;
    }
    if tags::is_tags_path(&lower) {
        return tags::handle(st, req);
    }
    match path::ResourcePath::parse(&req.path) {
        Some(p) => resources::handle(ctx, st, req, &p),
        None => Reply::arm_error(
            404,
            "InvalidResourceType",
            format!(
                "The path '{}' names no resource type this emulator serves (Microsoft.App containerApps, Microsoft.Cdn profiles, Microsoft.Insights metrics, Microsoft.Resources tags).",
                req.path
            ),
        ),
    }
}

fn subscription_of(path: &str) -> Option<&str> {
    let mut segs = path.trim_start_matches('/').split('/');
    match segs.next() {
        Some(s) if s.eq_ignore_ascii_case("subscriptions") => segs.next(),
        _ => None,
    }
}

/// Checks the bearer token; ARM answers 401 with `WWW-Authenticate` otherwise.
fn authenticate(shared: &Shared, st: &State, req: &Incoming) -> Result<(), Reply> {
    let challenge = |error_description: &str| {
        format!(
            "Bearer authorization_uri=\"{}/{}\", error=\"invalid_token\", error_description=\"{error_description}\"",
            shared.base_url, shared.credentials.tenant_id
        )
    };
    let token = req
        .header("authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return Err(Reply::arm_error(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
        .header(
            "WWW-Authenticate",
            challenge("The authentication failed because of missing 'Authorization' header."),
        ));
    };
    match st.tokens.get(token) {
        None => Err(Reply::arm_error(
            401,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        )
        .header(
            "WWW-Authenticate",
            challenge("The access token is invalid."),
        )),
        Some(expires) if *expires <= crate::clock::real_now_ms() => Err(Reply::arm_error(
            401,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        )
        .header(
            "WWW-Authenticate",
            challenge("The access token has expired."),
        )),
        Some(_) => Ok(()),
    }
}

/// Counts the request against the subscription's hourly budget; returns what
/// remains (ARM's `x-ms-ratelimit-remaining-subscription-*` headers).
fn throttle(shared: &Shared, st: &mut State, now: u64, is_read: bool) -> Result<u32, Reply> {
    if now.saturating_sub(st.throttle.window_start_ms) >= HOUR_MS {
        st.throttle.window_start_ms = now;
        st.throttle.reads = 0;
        st.throttle.writes = 0;
    }
    let (used, limit) = if is_read {
        (&mut st.throttle.reads, st.settings.reads_per_hour)
    } else {
        (&mut st.throttle.writes, st.settings.writes_per_hour)
    };
    if *used >= limit {
        let left_ms = (st.throttle.window_start_ms + HOUR_MS).saturating_sub(now);
        let real = shared
            .clock
            .real_duration(std::time::Duration::from_millis(left_ms));
        let seconds = real.as_secs() + 1;
        let kind = if is_read { "read" } else { "write" };
        return Err(Reply::arm_error(
            429,
            "SubscriptionRequestsThrottled",
            format!("Number of '{kind}' requests for subscription '{}' exceeded the limit of '{limit}' for time interval '01:00:00'. Please try again after '{seconds}' seconds.", shared.credentials.subscription_id),
        )
        .header("Retry-After", seconds.to_string()));
    }
    *used += 1;
    Ok(limit - *used)
}

/// Enforces `api-version`: missing or malformed is `MissingApiVersionParameter`
/// / `InvalidApiVersionParameter`; well-formed but unsupported is
/// `NoRegisteredProviderFound`, as ARM answers.
pub fn require_api_version(req: &Incoming, supported: &str, type_name: &str) -> Result<(), Reply> {
    let Some(version) = req.query("api-version") else {
        return Err(Reply::arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    if version == supported {
        return Ok(());
    }
    let well_formed = version.len() >= 10
        && version[..10].chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (version.len() == 10 || version[10..].starts_with("-preview"));
    if !well_formed {
        return Err(Reply::arm_error(
            400,
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{version}' is invalid. The supported versions are '{supported}'."
            ),
        ));
    }
    Err(Reply::arm_error(
        400,
        "NoRegisteredProviderFound",
        format!("No registered resource provider found for location 'global' and API version '{version}' for type '{type_name}'. The supported api-versions are '{supported}'."),
    ))
}
