//! The small inline SVG chart of a colour's requests per second over 15 minutes.

use std::fmt::Write;

const W: f64 = 150.0;
const H: f64 = 30.0;

/// A polyline of `series` (requests per `width_s` seconds, oldest first) as requests per
/// second, scaled to its own peak, with the peak in the title for screen readers.
pub fn sparkline(series: &[u64], width_s: u64) -> String {
    let rate = |n: u64| n as f64 / width_s.max(1) as f64;
    let peak = series.iter().copied().max().map(rate).unwrap_or(0.0);
    let minutes = series.len() as u64 * width_s / 60;
    let mut points = String::new();
    let step = if series.len() > 1 {
        W / (series.len() - 1) as f64
    } else {
        W
    };
    for (i, n) in series.iter().enumerate() {
        let y = if peak > 0.0 {
            H - 2.0 - (rate(*n) / peak) * (H - 4.0)
        } else {
            H - 2.0
        };
        let _ = write!(points, "{:.1},{:.1} ", i as f64 * step, y);
    }
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\"><title>requests/s over the last {minutes} min, peak {peak:.1}/s</title><polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" points=\"{}\"/></svg>",
        points.trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_to_the_peak_and_names_it() {
        let svg = sparkline(&[0, 30, 60], 30);
        assert!(svg.contains("peak 2.0/s"), "{svg}");
        assert!(svg.contains("over the last 1 min"), "{svg}");
        // Zero at the bottom, the peak at the top.
        assert!(svg.contains("0.0,28.0 75.0,15.0 150.0,2.0"), "{svg}");
        assert!(sparkline(&[0, 0], 30).contains("150.0,28.0"));
    }
}
