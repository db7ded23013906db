//! What JSON request bodies may hold in memory together. A body's bytes and then the values parsed from them
//! (costed by `fence_core::json_budget`, at most `MAX_TREE` for one body) are counted against one budget shared by
//! every request in flight (`BODY_MEMORY`, 192 MiB): while requests hold it all, the next answers 503 with
//! `Retry-After` instead of growing the process.

use tokio::sync::{Semaphore, SemaphorePermit};

/// Memory that request bodies in flight may hold together, raw and parsed, in KiB.
const BODY_MEMORY_KIB: usize = 192 * 1024;

static BODY_MEMORY: Semaphore = Semaphore::const_new(BODY_MEMORY_KIB);

/// A share of the request-body budget, given back when dropped.
#[derive(Debug)]
pub struct BodyMemory {
    from: &'static Semaphore,
    held: Option<SemaphorePermit<'static>>,
}

impl BodyMemory {
    /// Nothing yet of the budget shared by every request.
    pub fn none() -> Self {
        Self::of(&BODY_MEMORY)
    }

    fn of(from: &'static Semaphore) -> Self {
        BodyMemory { from, held: None }
    }

    /// `bytes` more of the budget, or `None` while requests in flight hold it.
    pub fn grow(&mut self, bytes: usize) -> Option<()> {
        let kib = u32::try_from(bytes.div_ceil(1024)).ok()?;
        if kib == 0 {
            return Some(());
        }
        let more = self.from.try_acquire_many(kib).ok()?;
        match &mut self.held {
            Some(held) => held.merge(more),
            None => self.held = Some(more),
        }
        Some(())
    }

    /// The share held, in KiB.
    pub fn kib(&self) -> usize {
        self.held.as_ref().map_or(0, SemaphorePermit::num_permits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_budget_is_refused_past_its_size_and_given_back_when_dropped() {
        let pool: &'static Semaphore = Box::leak(Box::new(Semaphore::new(100)));
        let mut a = BodyMemory::of(pool);
        a.grow(60 * 1024).expect("room");
        a.grow(1).expect("room");
        assert_eq!(a.kib(), 61);
        let mut b = BodyMemory::of(pool);
        assert!(b.grow(40 * 1024).is_none(), "more than is left is refused");
        assert_eq!(b.kib(), 0);
        drop(a);
        b.grow(100 * 1024).expect("all of it once given back");
        assert_eq!(pool.available_permits(), 0);
    }
}
