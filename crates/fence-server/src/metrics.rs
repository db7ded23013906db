//! Process metrics in Prometheus text format: counters and the delivery latency histogram live here; gauges
//! (deliveries by state, queue depth, broken and degraded channels) are read from the store at scrape time so every
//! process reports the shared truth.

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the delivery latency histogram.
const BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    pub findings_ingested: AtomicU64,
    pub messages_sent: AtomicU64,
    pub rate_limited: AtomicU64,
    pub send_failures: AtomicU64,
    /// Certificate monitor checks that recorded a certificate, and those that could not reach one.
    pub certificate_checks: AtomicU64,
    pub certificate_check_failures: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ms: AtomicU64,
}

impl Metrics {
    /// Records the time from a delivery's creation to Slack's acceptance.
    pub fn observe_latency_ms(&self, ms: i64) {
        let ms = ms.max(0) as u64;
        let secs = ms as f64 / 1000.0;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// The process counters, in Prometheus text format.
    fn counters(&self, s: &mut String) {
        let counter = |s: &mut String, name: &str, help: &str, v: u64| {
            s.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        };
        counter(
            s,
            "fence_findings_ingested_total",
            "Findings accepted through the API.",
            self.findings_ingested.load(Ordering::Relaxed),
        );
        counter(
            s,
            "fence_certificate_checks_total",
            "Monitored domains whose certificate the monitor checked.",
            self.certificate_checks.load(Ordering::Relaxed),
        );
        counter(
            s,
            "fence_certificate_check_failures_total",
            "Monitored domains the monitor could not check (unreachable, timed out, no TLS).",
            self.certificate_check_failures.load(Ordering::Relaxed),
        );
        counter(
            s,
            "fence_messages_sent_total",
            "Messages Slack accepted.",
            self.messages_sent.load(Ordering::Relaxed),
        );
        counter(
            s,
            "fence_rate_limited_total",
            "429 answers received from Slack.",
            self.rate_limited.load(Ordering::Relaxed),
        );
        counter(
            s,
            "fence_send_failures_total",
            "Send attempts that failed (retryable or not).",
            self.send_failures.load(Ordering::Relaxed),
        );
    }

    /// `cached`: alerts and bytes held now in the store's alert-set cache (bounded, see `fence-store::alert_cache`).
    pub fn render(
        &self,
        stats: &fence_store::deliveries::OutboxStats,
        cached: fence_store::CacheHeld,
    ) -> String {
        let (by_state, held, broken_channels) =
            (&stats.by_state, stats.held, stats.broken_channels);
        let mut s = String::new();
        self.counters(&mut s);
        s.push_str("# HELP fence_deliveries Deliveries by state.\n# TYPE fence_deliveries gauge\n");
        for state in ["pending", "sending", "sent", "dead"] {
            let n = by_state
                .iter()
                .find(|(k, _)| k == state)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            s.push_str(&format!("fence_deliveries{{state=\"{state}\"}} {n}\n"));
        }
        s.push_str(&format!("fence_deliveries{{state=\"held\"}} {held}\n"));
        let depth: i64 = by_state
            .iter()
            .filter(|(k, _)| k == "pending" || k == "sending")
            .map(|(_, n)| n)
            .sum();
        s.push_str(&format!("# HELP fence_queue_depth Deliveries waiting to be sent.\n# TYPE fence_queue_depth gauge\nfence_queue_depth {depth}\n"));
        s.push_str(&format!("# HELP fence_channels_broken Channels Slack stopped accepting messages for.\n# TYPE fence_channels_broken gauge\nfence_channels_broken {broken_channels}\n"));
        s.push_str(&format!("# HELP fence_channels_degraded Bot-token channels whose bot may not post, posting through their webhook.\n# TYPE fence_channels_degraded gauge\nfence_channels_degraded {}\n", stats.degraded_channels));
        s.push_str(&format!("# HELP fence_destinations_in_outage Destinations whose back-off reached the probe interval: tried once per interval until they answer.\n# TYPE fence_destinations_in_outage gauge\nfence_destinations_in_outage {}\n", stats.destinations_in_outage));
        s.push_str(&format!("# HELP fence_alert_cache_alerts Alerts held in the decoded alert-set cache (at most cache.alerts beyond the sets a send is using).\n# TYPE fence_alert_cache_alerts gauge\nfence_alert_cache_alerts {}\n", cached.alerts));
        s.push_str(&format!("# HELP fence_alert_cache_bytes Estimated bytes of the decoded alert sets cached (at most cache.alert_bytes beyond the sets a send is using).\n# TYPE fence_alert_cache_bytes gauge\nfence_alert_cache_bytes {}\n", cached.bytes));
        s.push_str("# HELP fence_delivery_latency_seconds Time from a delivery's creation to Slack's acceptance.\n# TYPE fence_delivery_latency_seconds histogram\n");
        for (i, b) in BUCKETS.iter().enumerate() {
            s.push_str(&format!(
                "fence_delivery_latency_seconds_bucket{{le=\"{b}\"}} {}\n",
                self.latency_buckets[i].load(Ordering::Relaxed)
            ));
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        s.push_str(&format!(
            "fence_delivery_latency_seconds_bucket{{le=\"+Inf\"}} {count}\n"
        ));
        s.push_str(&format!(
            "fence_delivery_latency_seconds_sum {}\n",
            self.latency_sum_ms.load(Ordering::Relaxed) as f64 / 1000.0
        ));
        s.push_str(&format!("fence_delivery_latency_seconds_count {count}\n"));
        s
    }
}
