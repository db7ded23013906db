-- Reminders already sent per channel and finding, and jobs that must run once across processes.
CREATE TABLE reminder_marks (
    channel_id TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, finding_id)
);

CREATE TABLE jobs (
    name TEXT PRIMARY KEY,
    next_run_at INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
);
