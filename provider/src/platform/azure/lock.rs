//! The environment lock on Azure: a tag `bluegreen-lock` on the Container
//! App, written through the tags API at scope (tags.rs), so taking, renewing
//! and releasing it never PATCHes the app and never touches its other tags.
//!
//! The tag's value is `<nonce> <since> <expires> <owner>`: a random nonce
//! (this process's id and this grant's), when the holder took it and when it
//! lapses (RFC 3339, UTC), and who holds it ("terraform (pid …) on host in
//! dir", cut to fit ARM's 256 characters).
//!
//! Taking it: read the tag; a live lock of someone else is refused with who
//! holds it and until when ([`LockHeld`], the same "locked by …" the local
//! platform reports); a lapsed one is taken over. Otherwise merge our value,
//! wait a settle delay (at least 1 s), read again: our nonce → granted;
//! another's → refused as held by them. ARM tags have no compare-and-swap
//! (no ETag on the tags API), so this is a write-then-verify lock, and what
//! it guarantees is bounded by the settle delay:
//!
//! - Two runs whose read→write gaps do not overlap: the second reads the
//!   first's tag and is refused. Two whose writes land within the settle
//!   delay of each other: both re-read after both writes, see the same last
//!   writer, and exactly one is granted.
//! - The race window: a run whose write lands more than the settle delay
//!   after another's (its read came before the other's write, and its write
//!   took longer than the delay: a request retried after throttling, a
//!   paused machine) overwrites a lock already granted, and both proceed.
//!   The holder's next renewal (every 15 s) then finds the other's tag and
//!   warns; the Front Door route PATCH of a switch is still one atomic write.
//! - Expiry is judged on each run's own clock: clocks more than a few
//!   seconds apart shorten or lengthen a lapsed lock's grace by that much.
//!
//! Renewing keeps the nonce and moves the expiry; releasing deletes the tag
//! only while it still carries our nonce (read first, then ARM's Delete of
//! the exact name/value pair), so a lock taken over by another run stays.

use std::sync::OnceLock;
use std::time::Duration;

use azure_core::time::{parse_rfc3339, to_rfc3339, OffsetDateTime};
use azure_core::Uuid;
use tokio_util::sync::CancellationToken;

use super::client::ArmClient;
use super::resource_id::ResourceId;
use super::tags::{delete_tags, merge_tags, read_tags, Tags};
use super::wait::pause;
use crate::platform::{Failure, Lease, LockHeld, PlatformError};

/// The tag holding the lock.
pub const LOCK_TAG: &str = "bluegreen-lock";

/// Settle delay of [`acquire`]: longer than an ARM write usually takes, so
/// two acquirers' writes land within it of each other (see the module doc).
pub const SETTLE: Duration = Duration::from_secs(2);

/// The shortest settle delay accepted.
pub const MIN_SETTLE: Duration = Duration::from_secs(1);

/// ARM's limit on a tag value, in characters.
const MAX_TAG_VALUE: usize = 256;

/// Takes the lock of `environment` (the tag on `app`) for `owner` for `ttl`,
/// waiting [`SETTLE`] to verify the grant.
pub async fn acquire(
    client: &ArmClient,
    app: &ResourceId,
    environment: &str,
    owner: &str,
    ttl: Duration,
    stop: &CancellationToken,
) -> Result<Lease, PlatformError> {
    acquire_settling(client, app, environment, owner, ttl, SETTLE, stop).await
}

/// [`acquire`] with another settle delay (at least [`MIN_SETTLE`]).
pub async fn acquire_settling(
    client: &ArmClient,
    app: &ResourceId,
    environment: &str,
    owner: &str,
    ttl: Duration,
    settle: Duration,
    stop: &CancellationToken,
) -> Result<Lease, PlatformError> {
    let now = OffsetDateTime::now_utc();
    let tags = read_tags(client, app, stop).await?;
    let since = match current(&tags) {
        Some(held) if held.is_ours(owner) => held.since,
        Some(held) if held.live(now) => return Err(held.refusal(app, environment, now)),
        _ => now,
    };
    let ours = LockValue {
        nonce: new_nonce(),
        since,
        expires: second_after(now + ttl),
        owner: fit_owner(owner),
    };
    merge_tags(client, app, &lock_tags(ours.render()), stop).await?;
    pause(
        settle.max(MIN_SETTLE),
        stop,
        &format!("waiting to verify the lock of environment {environment:?}"),
    )
    .await?;
    let after = read_tags(client, app, stop).await?;
    match current(&after) {
        Some(held) if held.nonce == ours.nonce => {
            tracing::debug!(environment, app = %app, "environment lock granted");
            Ok(Lease {
                owner: owner.to_string(),
            })
        }
        Some(held) => Err(held.refusal(app, environment, OffsetDateTime::now_utc())),
        None => Err(PlatformError::Refused(Failure {
            code: "lock_contended".into(),
            message: format!(
                "the lock tag {LOCK_TAG} of environment {environment:?} on {app} was removed while this run was taking it: another run released or broke it at the same moment; run apply again"
            ),
            request_id: None,
            correlation_id: None,
            retryable: true,
        })),
    }
}

/// Extends the lock this process holds for `lease.owner` to `ttl` from now.
pub async fn renew(
    client: &ArmClient,
    app: &ResourceId,
    environment: &str,
    lease: &Lease,
    ttl: Duration,
    stop: &CancellationToken,
) -> Result<(), PlatformError> {
    let now = OffsetDateTime::now_utc();
    let tags = read_tags(client, app, stop).await?;
    match current(&tags) {
        Some(held) if held.is_ours(&lease.owner) => {
            let renewed = LockValue {
                expires: second_after(now + ttl),
                ..held
            };
            merge_tags(client, app, &lock_tags(renewed.render()), stop).await?;
            Ok(())
        }
        Some(held) if held.live(now) => Err(held.refusal(app, environment, now)),
        _ => Err(PlatformError::Refused(Failure {
            code: "lock_not_held".into(),
            message: format!(
                "the lock of environment {environment:?} (tag {LOCK_TAG} on {app}) is no longer held by {}: it lapsed or was broken; run apply again",
                lease.owner
            ),
            request_id: None,
            correlation_id: None,
            retryable: false,
        })),
    }
}

/// Releases the lock if this process still holds it; a lapsed or absent lock
/// is released already, and another run's live lock stays (refused as held).
pub async fn release(
    client: &ArmClient,
    app: &ResourceId,
    environment: &str,
    lease: &Lease,
    stop: &CancellationToken,
) -> Result<(), PlatformError> {
    let now = OffsetDateTime::now_utc();
    let tags = read_tags(client, app, stop).await?;
    match current(&tags) {
        Some(held) if held.is_ours(&lease.owner) => {
            // The exact name/value pair: ARM deletes it only while the value
            // is still ours, should another run take the lock meanwhile.
            delete_tags(client, app, &lock_tags(held.render()), stop).await?;
            tracing::debug!(environment, app = %app, "environment lock released");
            Ok(())
        }
        Some(held) if held.live(now) => Err(held.refusal(app, environment, now)),
        _ => Ok(()),
    }
}

fn lock_tags(value: String) -> Tags {
    Tags::from([(LOCK_TAG.to_string(), value)])
}

/// The lock the tags carry; a value that is not one of ours is no lock
/// (someone edited the tag by hand) and is taken over.
fn current(tags: &Tags) -> Option<LockValue> {
    let (_, raw) = tags
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(LOCK_TAG))?;
    let parsed = LockValue::parse(raw);
    if parsed.is_none() {
        tracing::warn!(value = %raw, "the {LOCK_TAG} tag is not a lock this provider wrote; taking it over");
    }
    parsed
}

/// This process's part of every nonce: a renewal or release by another
/// process with the same (cut) owner text does not take this one's lock.
fn process_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| Uuid::new_v4().simple().to_string()[..8].to_string())
}

fn new_nonce() -> String {
    let grant = Uuid::new_v4().simple().to_string();
    format!("{}{}", process_id(), &grant[..8])
}

/// The owner text cut to what fits beside nonce and times in a tag value.
fn fit_owner(owner: &str) -> String {
    // nonce (16) + 2 × RFC 3339 seconds (20) + 3 spaces.
    let room = MAX_TAG_VALUE - (16 + 20 + 20 + 3);
    owner.chars().take(room).collect()
}

/// The value of the lock tag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LockValue {
    nonce: String,
    since: OffsetDateTime,
    expires: OffsetDateTime,
    owner: String,
}

impl LockValue {
    fn render(&self) -> String {
        format!(
            "{} {} {} {}",
            self.nonce,
            seconds(self.since),
            seconds(self.expires),
            self.owner
        )
    }

    fn parse(raw: &str) -> Option<LockValue> {
        let mut parts = raw.splitn(4, ' ');
        let nonce = parts.next()?.to_string();
        let since = parse_rfc3339(parts.next()?).ok()?;
        let expires = parse_rfc3339(parts.next()?).ok()?;
        let owner = parts.next()?.to_string();
        (nonce.len() == 16 && nonce.chars().all(|c| c.is_ascii_hexdigit())).then_some(LockValue {
            nonce,
            since,
            expires,
            owner,
        })
    }

    fn live(&self, now: OffsetDateTime) -> bool {
        self.expires > now
    }

    /// Written by this process for `owner`.
    fn is_ours(&self, owner: &str) -> bool {
        self.nonce.starts_with(process_id()) && self.owner == fit_owner(owner)
    }

    fn refusal(&self, app: &ResourceId, environment: &str, now: OffsetDateTime) -> PlatformError {
        let left = (self.expires - now).whole_seconds().max(0) as u64;
        let pair = format!("{LOCK_TAG}={}", self.render()).replace('\'', r"'\''");
        PlatformError::Locked(Box::new(LockHeld {
            environment: environment.to_string(),
            owner: self.owner.clone(),
            since: seconds(self.since),
            expires_at: seconds(self.expires),
            expires_in_secs: Some(left),
            unlock_command: Some(format!(
                "az tag update --resource-id {} --operation Delete --tags '{pair}'",
                app.as_str()
            )),
        }))
    }
}

/// `at` rounded up to a whole second: the tag shows seconds, and a lease
/// must not end before the time asked for.
fn second_after(at: OffsetDateTime) -> OffsetDateTime {
    match at.replace_nanosecond(0) {
        Ok(whole) if whole < at => whole + time::Duration::SECOND,
        _ => at,
    }
}

/// RFC 3339 to the second, in UTC: what the tag and messages show.
fn seconds(at: OffsetDateTime) -> String {
    let whole = at.replace_nanosecond(0).unwrap_or(at);
    to_rfc3339(&whole.to_offset(time::UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(owner: &str, expires_in: i64) -> LockValue {
        let now = OffsetDateTime::now_utc();
        LockValue {
            nonce: new_nonce(),
            since: now,
            expires: now + time::Duration::seconds(expires_in),
            owner: fit_owner(owner),
        }
    }

    #[test]
    fn a_value_reads_back_as_written_and_fits_a_tag() {
        let long_owner = format!("terraform (pid 42) on host in /{}", "d".repeat(400));
        let v = value(&long_owner, 60);
        let rendered = v.render();
        assert!(rendered.chars().count() <= MAX_TAG_VALUE, "{rendered}");
        let back = LockValue::parse(&rendered).expect("parses");
        assert_eq!(back.nonce, v.nonce);
        assert_eq!(back.owner, v.owner);
        assert_eq!(seconds(back.expires), seconds(v.expires));
        assert!(back.is_ours(&long_owner), "a cut owner is still ours");
    }

    #[test]
    fn hand_written_values_are_no_lock() {
        for raw in [
            "",
            "locked",
            "zz 2026-12-02T10:00:00Z 2026-12-02T10:01:00Z me",
        ] {
            assert_eq!(LockValue::parse(raw), None, "{raw}");
        }
        let tags = Tags::from([(LOCK_TAG.to_string(), "please do not deploy".to_string())]);
        assert_eq!(current(&tags), None);
    }

    #[test]
    fn another_process_with_the_same_owner_text_is_not_us() {
        let mut v = value("terraform (pid 7) on ci in /src", 60);
        assert!(v.is_ours("terraform (pid 7) on ci in /src"));
        assert!(!v.is_ours("terraform (pid 8) on ci in /src"));
        v.nonce = format!("{}{}", "0".repeat(8), &v.nonce[8..]);
        if process_id() != "00000000" {
            assert!(!v.is_ours("terraform (pid 7) on ci in /src"));
        }
    }

    #[test]
    fn a_refusal_names_holder_expiry_and_the_az_command_that_breaks_it() {
        let app = ResourceId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/orders",
        )
        .unwrap();
        let v = value("terraform (pid 9) on laptop in /it's", 30);
        let PlatformError::Locked(held) = v.refusal(&app, "prod", OffsetDateTime::now_utc()) else {
            panic!("not a LockHeld");
        };
        assert_eq!(held.owner, "terraform (pid 9) on laptop in /it's");
        assert!(matches!(held.expires_in_secs, Some(29 | 30)));
        let command = held.unlock_command.clone().expect("az command");
        assert!(
            command.starts_with("az tag update --resource-id /subscriptions/s/"),
            "{command}"
        );
        assert!(
            command.contains(r"/it'\''s'"),
            "single quote escaped: {command}"
        );
        let shown = PlatformError::Locked(held).to_string();
        assert!(shown.contains("locked by terraform (pid 9)"), "{shown}");
    }
}
