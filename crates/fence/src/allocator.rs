//! The C allocator's settings for the `fence` process: how many malloc arenas glibc keeps, and from what size it
//! maps a block on its own instead of carving it from an arena.
//!
//! glibc gives each thread that finds the allocator busy an arena of its own (up to eight per core) and keeps what
//! is freed there for that arena. Fence's threads — tokio's workers and one per SQLite connection — take turns at
//! the transient peaks of an ingest, a send or a report, so the process kept every arena's peak at once. glibc also
//! raises its mapping threshold to the largest block freed so far (the 19 MiB of a password hash, at the first
//! sign-in), after which every block below that stays in an arena when freed. One arena per core keeps threads from
//! waiting on each other (one arena for all made the 1,000-channel burst 0.8 s slower); the fixed threshold gives
//! large blocks back. At 100,000 findings the server held 55–61 MiB with glibc's defaults and 41 with these, and the
//! 1,000-channel burst peaked at 118–125 MiB instead of 134–140 (BENCHMARKS.md, "Memory: the C allocator").

/// The arenas Fence asks for when the operator has not chosen (`MALLOC_ARENA_MAX`): one per core the process may
/// run on, as many as tokio has workers.
pub fn arenas() -> i32 {
    std::thread::available_parallelism()
        .map_or(2, |n| i32::try_from(n.get()).unwrap_or(64).clamp(1, 64))
}

/// Blocks of this size and more are mapped on their own and given back when freed (`MALLOC_MMAP_THRESHOLD_`);
/// glibc's own starting value, kept fixed.
pub const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Applies [`arenas`] and [`MMAP_THRESHOLD`], each unless the operator set it in the environment (glibc has read
/// that already). Call first in `main`, before any thread starts.
pub fn configure() {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    let chosen =
        |env: &str, tunable: &str| std::env::var_os(env).is_some() || tunables.contains(tunable);
    if !chosen("MALLOC_ARENA_MAX", "glibc.malloc.arena_max") {
        set(Setting::ArenaMax, arenas());
    }
    if !chosen("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold") {
        set(Setting::MmapThreshold, MMAP_THRESHOLD);
    }
}

/// The `mallopt` parameters Fence sets.
#[derive(Clone, Copy)]
enum Setting {
    ArenaMax,
    MmapThreshold,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set(setting: Setting, value: i32) {
    let param = match setting {
        Setting::ArenaMax => libc::M_ARENA_MAX,
        Setting::MmapThreshold => libc::M_MMAP_THRESHOLD,
    };
    // SAFETY: `mallopt` takes two integers and no pointers, and glibc serialises it with its allocator; `configure`
    // runs before any other thread exists. A refused value leaves glibc's default, which is safe.
    unsafe {
        libc::mallopt(param, value);
    }
}

/// Other C libraries (musl, macOS) have neither per-thread arenas nor a moving threshold.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set(_setting: Setting, _value: i32) {}
