//! The workers, edges that run on their own time instead of a request's: the dispatcher (stored deliveries to Slack;
//! its heartbeat renews its leases),
//! the scan workers (queued built-in scans), the scheduler (reminders, digests, the certificate monitor) and the
//! directory worker (Slack workspaces' users, groups and channels, for mention names) and, on PostgreSQL, the
//! listener (other processes' work announced by notification). Each
//! calls the services; none calls another edge.

pub mod directory;
pub mod dispatcher;
pub mod heartbeat;
pub mod listen;
pub mod scan_worker;
pub mod scheduler;
