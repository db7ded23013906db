//! The workers, edges that run on their own time instead of a request's: the dispatcher (stored deliveries to Slack),
//! the scan workers (queued built-in scans) and the scheduler (reminders, digests, the certificate monitor). Each
//! calls the services; none calls another edge.

pub mod dispatcher;
pub mod scan_worker;
pub mod scheduler;
