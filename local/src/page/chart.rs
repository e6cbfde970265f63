//! The small inline SVG charts of a colour over 15 minutes: requests per second, and
//! p95 latency.

use std::fmt::Write;

const W: f64 = 150.0;
const H: f64 = 30.0;

/// A polyline of `series` (requests per second of each `width_s` seconds, oldest
/// first), scaled to its own peak, with the peak in the title for screen readers.
pub fn sparkline(series: &[f64], width_s: u64) -> String {
    let values: Vec<Option<f64>> = series.iter().map(|r| Some(*r)).collect();
    let peak = values.iter().flatten().copied().fold(0.0, f64::max);
    let minutes = series.len() as u64 * width_s / 60;
    draw(
        &values,
        peak,
        "chart",
        &format!("requests/s over the last {minutes} min, peak {peak:.1}/s"),
    )
}

/// A line of `series` (the p95 latency, ms, of each `width_s` seconds, oldest first;
/// None for a window without requests, left as a gap), scaled to its own peak, with
/// the peak in the title.
pub fn latency_sparkline(series: &[Option<f64>], width_s: u64) -> String {
    let peak = series.iter().flatten().copied().fold(0.0, f64::max);
    let minutes = series.len() as u64 * width_s / 60;
    let title = if series.iter().any(Option::is_some) {
        format!("p95 latency over the last {minutes} min, peak {peak:.1} ms")
    } else {
        format!("p95 latency over the last {minutes} min: no requests")
    };
    draw(series, peak, "chart latency", &title)
}

/// One polyline per run of known values (a lone value is a dot), zero at the bottom
/// and `peak` at the top.
fn draw(values: &[Option<f64>], peak: f64, class: &str, title: &str) -> String {
    let step = if values.len() > 1 {
        W / (values.len() - 1) as f64
    } else {
        W
    };
    let point = |i: usize, v: f64| {
        let y = if peak > 0.0 {
            H - 2.0 - (v / peak) * (H - 4.0)
        } else {
            H - 2.0
        };
        (i as f64 * step, y)
    };
    let mut shapes = String::new();
    let mut i = 0;
    while i < values.len() {
        let run: Vec<(f64, f64)> = values[i..]
            .iter()
            .enumerate()
            .map_while(|(k, v)| v.map(|v| point(i + k, v)))
            .collect();
        match run.as_slice() {
            [] => i += 1,
            [(x, y)] => {
                let _ = write!(
                    shapes,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"1.5\" fill=\"currentColor\"/>"
                );
                i += 1;
            }
            points => {
                let mut list = String::new();
                for (x, y) in points {
                    let _ = write!(list, "{x:.1},{y:.1} ");
                }
                let _ = write!(
                    shapes,
                    "<polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" points=\"{}\"/>",
                    list.trim_end()
                );
                i += points.len();
            }
        }
    }
    format!(
        "<svg class=\"{class}\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\"><title>{title}</title>{shapes}</svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_to_the_peak_and_names_it() {
        let svg = sparkline(&[0.0, 1.0, 2.0], 30);
        assert!(svg.contains("peak 2.0/s"), "{svg}");
        assert!(svg.contains("over the last 1 min"), "{svg}");
        // Zero at the bottom, the peak at the top.
        assert!(svg.contains("0.0,28.0 75.0,15.0 150.0,2.0"), "{svg}");
        assert!(sparkline(&[0.0, 0.0], 30).contains("150.0,28.0"));
    }

    #[test]
    fn latency_leaves_gaps_where_nothing_was_answered() {
        let svg = latency_sparkline(&[Some(5.0), Some(10.0), None, Some(2.5), None], 30);
        assert!(
            svg.starts_with("<svg class=\"chart latency\"")
                && svg.contains("<title>p95 latency over the last 2 min, peak 10.0 ms</title>"),
            "{svg}"
        );
        // Two points joined, a gap, a lone point as a dot at a quarter of the peak.
        assert!(
            svg.contains("points=\"0.0,15.0 37.5,2.0\"/><circle cx=\"112.5\" cy=\"21.5\""),
            "{svg}"
        );
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        let empty = latency_sparkline(&[None; 30], 30);
        assert!(
            empty.contains("<title>p95 latency over the last 15 min: no requests</title></svg>"),
            "{empty}"
        );
    }
}
