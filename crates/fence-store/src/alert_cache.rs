//! The cache of decoded alert sets. Alert sets never change once stored, and one burst's sets are read by every
//! channel it goes to, often at the same moment: each set is read and decoded once however many senders ask for
//! it together (one cell per set, filled by the first asker while the others wait). Past `MAX_SETS` sets, its
//! configured number of alerts (`cache.alerts`) or its configured bytes (`cache.alert_bytes`) it lets go of every
//! set nobody is using; a set that is being loaded or that a send still holds stays shared, so however big a burst,
//! each set is decoded once at a time and not once per channel (with either bound at `0`, only those are kept).

use fence_core::Alert;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Alert sets kept at most.
const MAX_SETS: usize = 512;
/// Alerts kept at most by default, over all sets: a 10,000-finding burst (10,000) fits; each alert is about 450 bytes
/// decoded, so this holds about 4.5 MB (50,000 held 19 MiB more at 100,000 findings, BENCHMARKS.md, "Memory: the alert-set cache").
pub const DEFAULT_MAX_ALERTS: usize = 10_000;
/// Bytes kept at most by default, over all sets (about 2,000 alerts of the usual size): sets a send holds are kept
/// whatever this says, so the bound matters only to sets that no send is using (BENCHMARKS.md, "The alert-set cache
/// by bytes").
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;

/// A decoded set and what it costs: its stored JSON (the text the alerts' strings were decoded from) plus the fixed
/// size of each alert slot. An estimate that grows with the set's text, however long its titles and URLs.
#[derive(Debug)]
struct Loaded {
    set: Arc<Vec<Alert>>,
    bytes: usize,
}

type Cell = Arc<OnceCell<Loaded>>;

/// What the cache holds: alerts and their estimated bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheHeld {
    pub alerts: usize,
    pub bytes: usize,
}

#[derive(Debug)]
pub(crate) struct AlertCache {
    sets: Mutex<HashMap<String, Cell>>,
    /// Alerts kept at most beyond those in use; 0: only sets in use are kept.
    max_alerts: usize,
    /// Estimated bytes kept at most beyond the sets in use; 0: only sets in use are kept.
    max_bytes: usize,
}

impl Default for AlertCache {
    fn default() -> Self {
        AlertCache::new(DEFAULT_MAX_ALERTS, DEFAULT_MAX_BYTES)
    }
}

/// Whether anyone but the cache holds the cell or its set: a load under way, or a send's alerts.
fn in_use(cell: &Cell) -> bool {
    Arc::strong_count(cell) > 1 || cell.get().is_some_and(|l| Arc::strong_count(&l.set) > 1)
}

fn held(sets: &HashMap<String, Cell>) -> CacheHeld {
    sets.values()
        .filter_map(|c| c.get())
        .fold(CacheHeld::default(), |h, l| CacheHeld {
            alerts: h.alerts + l.set.len(),
            bytes: h.bytes + l.bytes,
        })
}

impl AlertCache {
    pub(crate) fn new(max_alerts: usize, max_bytes: usize) -> Self {
        AlertCache {
            sets: Mutex::default(),
            max_alerts,
            max_bytes,
        }
    }

    fn off(&self) -> bool {
        self.max_alerts == 0 || self.max_bytes == 0
    }

    /// The set `id`, from the cache or from `load` (run once for all concurrent askers of the same set), which gives
    /// the decoded alerts and the length of the text they were decoded from.
    pub(crate) async fn get_or_load<F, Fut, E>(
        &self,
        id: &str,
        load: F,
    ) -> Result<Arc<Vec<Alert>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(Vec<Alert>, usize), E>>,
    {
        let cell = {
            let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
            if !sets.contains_key(id) {
                let kept = held(&sets);
                if sets.len() >= MAX_SETS
                    || kept.alerts >= self.max_alerts
                    || kept.bytes >= self.max_bytes
                {
                    sets.retain(|_, cell| in_use(cell));
                }
            }
            sets.entry(id.to_string()).or_default().clone()
        };
        let set = cell
            .get_or_try_init(|| async {
                let (alerts, text_len) = load().await?;
                let bytes = text_len + alerts.capacity() * std::mem::size_of::<Alert>();
                Ok(Loaded {
                    set: Arc::new(alerts),
                    bytes,
                })
            })
            .await?
            .set
            .clone();
        drop(cell);
        if self.off() {
            // Nothing is kept for later: the set goes once the last send that holds it is done with it.
            let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
            sets.retain(|_, cell| in_use(cell));
        }
        Ok(set)
    }

    /// Alerts and bytes held now (for the metrics).
    pub(crate) fn held(&self) -> CacheHeld {
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        if self.off() {
            sets.retain(|_, cell| in_use(cell));
        }
        held(&sets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn notice() -> Alert {
        Alert::ChannelBroken(fence_core::alert::ChannelBrokenAlert {
            channel_name: "x".into(),
            error: "e".into(),
            hint: "h".into(),
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_configured_size_bounds_what_is_kept_and_zero_keeps_nothing() {
        let load =
            |n: usize| move || async move { Ok::<_, ()>(((0..n).map(|_| notice()).collect(), 10)) };
        let cache = AlertCache::new(3, usize::MAX);
        cache.get_or_load("a", load(2)).await.expect("a");
        cache.get_or_load("b", load(2)).await.expect("b");
        assert_eq!(
            cache.held().alerts,
            4,
            "the bound is checked before adding a set"
        );
        cache.get_or_load("c", load(1)).await.expect("c");
        assert_eq!(cache.held().alerts, 1, "over the bound: started over");
        for off in [AlertCache::new(0, usize::MAX), AlertCache::new(10, 0)] {
            off.get_or_load("a", load(2)).await.expect("a");
            assert_eq!(off.held(), CacheHeld::default());
        }
    }

    #[tokio::test]
    async fn the_byte_bound_counts_each_sets_text_and_slots() {
        let slot = std::mem::size_of::<Alert>();
        let load = |n: usize, text: usize| {
            move || async move {
                let mut alerts = Vec::with_capacity(n);
                alerts.extend((0..n).map(|_| notice()));
                Ok::<_, ()>((alerts, text))
            }
        };
        // Room for two sets of one alert with 1,000 bytes of text, not three.
        let cache = AlertCache::new(1_000, 2 * (1_000 + slot));
        cache.get_or_load("a", load(1, 1_000)).await.expect("a");
        cache.get_or_load("b", load(1, 1_000)).await.expect("b");
        assert_eq!(
            cache.held(),
            CacheHeld {
                alerts: 2,
                bytes: 2 * (1_000 + slot)
            }
        );
        cache.get_or_load("c", load(1, 1_000)).await.expect("c");
        assert_eq!(
            cache.held().alerts,
            1,
            "at the byte bound, the sets nobody uses are let go before c is added"
        );
        // A set with long text fills it past the bound: the next set starts over.
        cache
            .get_or_load("long", load(1, 100_000))
            .await
            .expect("long");
        cache.get_or_load("d", load(1, 10)).await.expect("d");
        assert_eq!(cache.held().bytes, 10 + slot);
    }

    #[tokio::test]
    async fn a_set_in_use_stays_shared_past_the_bound_and_with_the_cache_off() {
        for max in [1, 0] {
            let cache = AlertCache::new(max, usize::MAX);
            let loads = AtomicUsize::new(0);
            let load = |n: usize| {
                loads.fetch_add(1, Ordering::SeqCst);
                async move { Ok::<_, ()>(((0..n).map(|_| notice()).collect::<Vec<_>>(), 10)) }
            };
            let held = cache.get_or_load("a", || load(2)).await.expect("a");
            cache.get_or_load("b", || load(2)).await.expect("b");
            let again = cache.get_or_load("a", || load(2)).await.expect("a again");
            assert!(
                Arc::ptr_eq(&held, &again),
                "cache.alerts = {max}: one copy of a set in use"
            );
            assert_eq!(
                loads.load(Ordering::SeqCst),
                2,
                "cache.alerts = {max}: a was decoded once"
            );
            drop((held, again));
            cache.get_or_load("c", || load(1)).await.expect("c");
            assert_eq!(
                cache.held().alerts,
                if max == 0 { 0 } else { 1 },
                "cache.alerts = {max}: sets nobody uses are let go"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_askers_of_one_set_load_it_once() {
        let cache = Arc::new(AlertCache::default());
        let loads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, loads) = (cache.clone(), loads.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_load("set-1", || async {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok::<_, ()>((Vec::new(), 0))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert!(t.await.expect("join").is_ok());
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_load_is_tried_again_by_the_next_asker() {
        let cache = AlertCache::default();
        let first = cache
            .get_or_load("s", || async { Err::<(Vec<Alert>, usize), _>("down") })
            .await;
        assert!(first.is_err());
        let second = cache
            .get_or_load("s", || async { Ok::<_, &str>((Vec::new(), 0)) })
            .await;
        assert!(second.is_ok());
    }
}
