//! The emulator's clock: wall time that can run faster than real time, so a
//! 20-minute Front Door propagation or an hour of metrics takes seconds in a test.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A scaled clock: emulated time advances `scale` times as fast as real time.
#[derive(Debug)]
pub struct Clock {
    inner: Mutex<Anchor>,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    real: Instant,
    emulated_ms: f64,
    scale: f64,
}

impl Clock {
    /// A clock starting at the current wall time, running at `scale`.
    pub fn new(scale: f64) -> Self {
        let emulated_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0);
        Clock {
            inner: Mutex::new(Anchor {
                real: Instant::now(),
                emulated_ms,
                scale: sanitize(scale),
            }),
        }
    }

    fn anchor(&self) -> Anchor {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Emulated milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        let a = self.anchor();
        (a.emulated_ms + a.real.elapsed().as_secs_f64() * 1000.0 * a.scale) as u64
    }

    /// The current speed-up factor.
    pub fn scale(&self) -> f64 {
        self.anchor().scale
    }

    /// Changes the speed-up from now on; emulated time stays continuous.
    pub fn set_scale(&self, scale: f64) {
        let mut a = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        a.emulated_ms += a.real.elapsed().as_secs_f64() * 1000.0 * a.scale;
        a.real = Instant::now();
        a.scale = sanitize(scale);
    }

    /// The real duration that `emulated` takes at the current scale.
    pub fn real_duration(&self, emulated: Duration) -> Duration {
        Duration::from_secs_f64(emulated.as_secs_f64() / self.scale())
    }
}

/// Keeps the scale positive and finite, so time never runs backwards or stops.
fn sanitize(scale: f64) -> f64 {
    if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    }
}

/// Real wall-clock milliseconds since the Unix epoch (tokens live in real time,
/// because clients compare their expiry with their own clock).
pub fn real_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Formats unix milliseconds as RFC 3339 UTC with seconds precision, as ARM does
/// in metrics (`2021-04-20T09:00:00Z`).
pub fn rfc3339_seconds(ms: u64) -> String {
    let t = at(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Formats unix milliseconds as RFC 3339 UTC with milliseconds.
pub fn rfc3339_millis(ms: u64) -> String {
    let t = at(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn at(ms: u64) -> OffsetDateTime {
    let ms = time::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX));
    OffsetDateTime::UNIX_EPOCH.saturating_add(ms)
}

/// Parses an RFC 3339 timestamp into unix milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Parses the ISO 8601 durations Azure Monitor uses (`PT1M`, `PT5M`, `PT1H`,
/// `P1D`, `PT30S`) into milliseconds.
pub fn parse_iso_duration(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_uppercase();
    let rest = text.strip_prefix('P')?;
    let (days, time_part) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut ms: u64 = 0;
    if !days.is_empty() {
        let n: u64 = days.strip_suffix('D')?.parse().ok()?;
        ms += n * 86_400_000;
    }
    let mut number = String::new();
    for c in time_part.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        ms += n * match c {
            'H' => 3_600_000,
            'M' => 60_000,
            'S' => 1_000,
            _ => return None,
        };
    }
    if !number.is_empty() || ms == 0 {
        return None;
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_iso_duration("PT1M"), Some(60_000));
        assert_eq!(parse_iso_duration("PT1H"), Some(3_600_000));
        assert_eq!(parse_iso_duration("P1D"), Some(86_400_000));
        assert_eq!(parse_iso_duration("PT1H30M"), Some(5_400_000));
        assert_eq!(parse_iso_duration("1M"), None);
        assert_eq!(parse_iso_duration("PT"), None);
    }

    #[test]
    fn timestamps_round_trip() {
        let ms = parse_rfc3339("2021-04-20T09:00:00Z").unwrap_or(0);
        assert_eq!(rfc3339_seconds(ms), "2021-04-20T09:00:00Z");
        assert_eq!(
            parse_rfc3339("2021-04-20T09:00:00.000Z"),
            Some(1_618_909_200_000)
        );
    }

    #[test]
    fn scaled_clock_runs_faster() {
        let clock = Clock::new(1000.0);
        let start = clock.now_ms();
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now_ms() - start >= 10_000);
        assert_eq!(
            clock.real_duration(Duration::from_secs(1000)),
            Duration::from_secs(1)
        );
    }
}
