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
    /// Bytes counted so far; the permits held are their KiB, rounded up (a body that arrives a byte at a time costs
    /// what it holds, not a KiB per piece).
    bytes: usize,
    held: Option<SemaphorePermit<'static>>,
}

impl BodyMemory {
    /// Nothing yet of the budget shared by every request.
    pub fn none() -> Self {
        Self::of(&BODY_MEMORY)
    }

    fn of(from: &'static Semaphore) -> Self {
        BodyMemory {
            from,
            bytes: 0,
            held: None,
        }
    }

    /// `bytes` more of the budget, or `None` while requests in flight hold it.
    pub fn grow(&mut self, bytes: usize) -> Option<()> {
        let total = self.bytes.checked_add(bytes)?;
        let kib = u32::try_from(total.div_ceil(1024).saturating_sub(self.kib())).ok()?;
        if kib > 0 {
            let more = self.from.try_acquire_many(kib).ok()?;
            match &mut self.held {
                Some(held) => held.merge(more),
                None => self.held = Some(more),
            }
        }
        self.bytes = total;
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
        for _ in 0..3 * 1024 {
            b.grow(1).expect("a byte at a time");
        }
        assert_eq!(b.kib(), 3, "3 KiB that arrived a byte at a time hold 3 KiB");
        drop(b);
        let mut b = BodyMemory::of(pool);
        drop(a);
        b.grow(100 * 1024).expect("all of it once given back");
        assert_eq!(pool.available_permits(), 0);
    }
}
