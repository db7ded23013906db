//! The cache of decoded alert sets. Alert sets never change once stored, and one burst's sets are read by every
//! channel it goes to, often at the same moment: each set is read and decoded once however many senders ask for
//! it together (one cell per set, filled by the first asker while the others wait). Past `MAX_SETS` sets or its
//! configured number of alerts (`cache.alerts`) it lets go of every set nobody is using; a set that is being
//! loaded or that a send still holds stays shared, so however big a burst, each set is decoded once at a time and
//! not once per channel (with `0`, only those are kept).

use fence_core::Alert;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Alert sets kept at most.
const MAX_SETS: usize = 512;
/// Alerts kept at most by default, over all sets: a 10,000-finding burst (10,000) fits; each alert is about 450 bytes
/// decoded, so this holds about 4.5 MB (50,000 held 19 MiB more at 100,000 findings, BENCHMARKS.md, "Memory: the alert-set cache").
pub const DEFAULT_MAX_ALERTS: usize = 10_000;

type Cell = Arc<OnceCell<Arc<Vec<Alert>>>>;

#[derive(Debug)]
pub(crate) struct AlertCache {
    sets: Mutex<HashMap<String, Cell>>,
    /// Alerts kept at most beyond those in use; 0: only sets in use are kept.
    max_alerts: usize,
}

impl Default for AlertCache {
    fn default() -> Self {
        AlertCache::new(DEFAULT_MAX_ALERTS)
    }
}

/// Whether anyone but the cache holds the cell or its set: a load under way, or a send's alerts.
fn in_use(cell: &Cell) -> bool {
    Arc::strong_count(cell) > 1 || cell.get().is_some_and(|set| Arc::strong_count(set) > 1)
}

impl AlertCache {
    pub(crate) fn new(max_alerts: usize) -> Self {
        AlertCache {
            sets: Mutex::default(),
            max_alerts,
        }
    }

    /// The set `id`, from the cache or from `load` (run once for all concurrent askers of the same set).
    pub(crate) async fn get_or_load<F, Fut, E>(
        &self,
        id: &str,
        load: F,
    ) -> Result<Arc<Vec<Alert>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<Alert>, E>>,
    {
        let cell = {
            let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
            if !sets.contains_key(id) {
                let kept: usize = sets.values().filter_map(|c| c.get()).map(|s| s.len()).sum();
                if sets.len() >= MAX_SETS || kept >= self.max_alerts {
                    sets.retain(|_, cell| in_use(cell));
                }
            }
            sets.entry(id.to_string()).or_default().clone()
        };
        let set = cell
            .get_or_try_init(|| async { load().await.map(Arc::new) })
            .await?
            .clone();
        drop(cell);
        if self.max_alerts == 0 {
            // Nothing is kept for later: the set goes once the last send that holds it is done with it.
            let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
            sets.retain(|_, cell| in_use(cell));
        }
        Ok(set)
    }

    /// Alerts held now (for the metrics).
    pub(crate) fn alerts_held(&self) -> usize {
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        if self.max_alerts == 0 {
            sets.retain(|_, cell| in_use(cell));
        }
        sets.values().filter_map(|c| c.get()).map(|s| s.len()).sum()
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
            |n: usize| move || async move { Ok::<_, ()>((0..n).map(|_| notice()).collect()) };
        let cache = AlertCache::new(3);
        cache.get_or_load("a", load(2)).await.expect("a");
        cache.get_or_load("b", load(2)).await.expect("b");
        assert_eq!(
            cache.alerts_held(),
            4,
            "the bound is checked before adding a set"
        );
        cache.get_or_load("c", load(1)).await.expect("c");
        assert_eq!(cache.alerts_held(), 1, "over the bound: started over");
        let off = AlertCache::new(0);
        off.get_or_load("a", load(2)).await.expect("a");
        assert_eq!(off.alerts_held(), 0);
    }

    #[tokio::test]
    async fn a_set_in_use_stays_shared_past_the_bound_and_with_the_cache_off() {
        for max in [1, 0] {
            let cache = AlertCache::new(max);
            let loads = AtomicUsize::new(0);
            let load = |n: usize| {
                loads.fetch_add(1, Ordering::SeqCst);
                async move { Ok::<_, ()>((0..n).map(|_| notice()).collect::<Vec<_>>()) }
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
                cache.alerts_held(),
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
                        Ok::<_, ()>(Vec::new())
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
            .get_or_load("s", || async { Err::<Vec<Alert>, _>("down") })
            .await;
        assert!(first.is_err());
        let second = cache
            .get_or_load("s", || async { Ok::<_, &str>(Vec::new()) })
            .await;
        assert!(second.is_ok());
    }
}
