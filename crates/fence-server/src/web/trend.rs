//! The dashboard's charts: the trend over the last 30 or 90 days, from the daily rollups (`Store::finding_days`) —
//! new and closed findings per day as an SVG bar chart drawn here (numbers and labels only; the template escapes
//! them), and the mean time to triage and to resolve over the period — and messages sent per hour over the last day.

use fence_store::days::{Day, DAY_MS};
use serde::Serialize;

/// The chart's drawing area, in SVG user units (it scales to the page's width).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 140.0;

/// One bar: where it is, and what it says when pointed at.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// `opened` or `closed` (the stylesheet colours them).
    pub class: &'static str,
}

/// A day of the chart with its label (the bars' tooltip).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Column {
    pub bars: Vec<Bar>,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trend {
    pub days: i64,
    pub width: f64,
    pub height: f64,
    pub columns: Vec<Column>,
    /// Dates under the chart: first, middle and last day, with their x.
    pub ticks: Vec<(f64, String)>,
    pub opened: i64,
    pub closed: i64,
    pub max: i64,
    /// Mean time to triage and to resolve over the period ("3 h 12 min"), and how many findings each mean is of.
    pub triage: Option<(String, i64)>,
    pub resolve: Option<(String, i64)>,
}

/// "Dec 1" for a day (UTC) since the epoch.
fn day_label(day: i64) -> String {
    jiff::Timestamp::from_millisecond(day.saturating_mul(DAY_MS))
        .map(|t| t.strftime("%b %-d").to_string())
        .unwrap_or_default()
}

/// A duration as people say it: "under a minute", "42 min", "3 h 12 min", "2 d 4 h".
pub fn human_duration(ms: i64) -> String {
    let mins = ms.max(0) / 60_000;
    let (d, h, m) = (mins / 1440, mins % 1440 / 60, mins % 60);
    match (d, h, m) {
        (0, 0, 0) => "under a minute".into(),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

fn mean(total_ms: i64, n: i64) -> Option<(String, i64)> {
    (n > 0).then(|| (human_duration(total_ms / n), n))
}

/// The trend of `days` (one per day, oldest first).
pub fn trend(days: &[Day]) -> Trend {
    let n = days.len().max(1) as f64;
    let max = days
        .iter()
        .map(|d| d.opened.max(d.closed))
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = WIDTH / n;
    let bar_w = (slot * 0.4).max(0.5);
    let height = |v: i64| HEIGHT * v.max(0) as f64 / max as f64;
    let columns = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = i as f64 * slot + slot * 0.1;
            let bars = [("opened", d.opened, 0.0), ("closed", d.closed, bar_w)]
                .into_iter()
                .filter(|(_, v, _)| *v > 0)
                .map(|(class, v, dx)| Bar {
                    x: round(x + dx),
                    y: round(HEIGHT - height(v)),
                    w: round(bar_w),
                    h: round(height(v)),
                    class,
                })
                .collect();
            Column {
                bars,
                label: format!(
                    "{}: {} new, {} closed",
                    day_label(d.day),
                    d.opened,
                    d.closed
                ),
            }
        })
        .collect();
    let ticks = match days {
        [] => Vec::new(),
        [only] => vec![(0.0, day_label(only.day))],
        _ => [0, days.len() / 2, days.len() - 1]
            .into_iter()
            .map(|i| (round(i as f64 * slot), day_label(days[i].day)))
            .collect(),
    };
    let sum = |f: fn(&Day) -> i64| days.iter().map(f).sum::<i64>();
    Trend {
        days: days.len() as i64,
        width: WIDTH,
        height: HEIGHT,
        columns,
        ticks,
        opened: sum(|d| d.opened),
        closed: sum(|d| d.closed),
        max,
        triage: mean(sum(|d| d.triage_ms), sum(|d| d.triaged)),
        resolve: mean(sum(|d| d.resolve_ms), sum(|d| d.resolved)),
    }
}

/// Messages sent in each hour of the last day (oldest first) as bars of one class, and their sum.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sparkline {
    pub width: f64,
    pub height: f64,
    pub bars: Vec<Bar>,
    pub total: i64,
}

pub fn sparkline(values: &[i64]) -> Sparkline {
    let (width, height) = (240.0, 40.0);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let slot = width / values.len().max(1) as f64;
    let bars = values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0)
        .map(|(i, v)| {
            let h = height * *v as f64 / max;
            Bar {
                x: round(i as f64 * slot),
                y: round(height - h),
                w: round(slot * 0.8),
                h: round(h),
                class: "sent",
            }
        })
        .collect();
    Sparkline {
        width,
        height,
        bars,
        total: values.iter().sum(),
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_day_and_means_read_as_durations() {
        let day0 = 20_423; // 2025-12-01
        let days: Vec<Day> = (0..30)
            .map(|i| Day {
                day: day0 + i,
                opened: if i == 29 { 40 } else { i % 3 },
                closed: i % 2,
                triaged: 2,
                triage_ms: 2 * 3 * 3_600_000,
                resolved: if i == 0 { 1 } else { 0 },
                resolve_ms: if i == 0 {
                    2 * 86_400_000 + 5 * 3_600_000
                } else {
                    0
                },
            })
            .collect();
        let t = trend(&days);
        assert_eq!(t.columns.len(), 30);
        assert_eq!(t.max, 40);
        let last = &t.columns[29];
        // The busiest day's "new" bar is the chart's full height; an empty value draws no bar.
        assert_eq!(last.bars[0].h, HEIGHT);
        assert_eq!(last.bars[0].y, 0.0);
        assert!(t.columns[0].bars.is_empty(), "day 0 had nothing");
        assert_eq!(last.label, "Dec 30: 40 new, 1 closed");
        assert_eq!(t.ticks[0].1, "Dec 1");
        assert_eq!(t.triage, Some(("3 h 0 min".into(), 60)));
        assert_eq!(t.resolve, Some(("2 d 5 h".into(), 1)));
        assert_eq!(human_duration(30_000), "under a minute");
        assert_eq!(human_duration(42 * 60_000), "42 min");
        let s = sparkline(&[0, 2, 4]);
        assert_eq!((s.total, s.bars.len()), (6, 2));
        assert_eq!(s.bars[1].h, 40.0);
        let empty = trend(&[]);
        assert!(empty.triage.is_none() && empty.columns.is_empty());
    }
}
