-- Scans (built-in, external, imports), observed certificates with the expiry thresholds already alerted, and the
-- last digest sent per channel.
CREATE TABLE scans (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    domain TEXT NOT NULL,
    scan_type TEXT NOT NULL,
    -- builtin (run by Fence's workers), external (results posted by a scanner), import (a file)
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by TEXT,
    error TEXT,
    critical INTEGER NOT NULL DEFAULT 0,
    high INTEGER NOT NULL DEFAULT 0,
    medium INTEGER NOT NULL DEFAULT 0,
    low INTEGER NOT NULL DEFAULT 0,
    info INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    duration_ms INTEGER,
    lease_owner TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX scans_status ON scans (status, created_at);
CREATE INDEX scans_org ON scans (org_id, id);

CREATE TABLE certificates (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    domain TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    not_before INTEGER,
    not_after INTEGER NOT NULL,
    issuer TEXT NOT NULL,
    sans TEXT NOT NULL,
    -- JSON list of the day thresholds already alerted for this fingerprint
    alerted TEXT NOT NULL DEFAULT '[]',
    observed_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, domain)
);

CREATE TABLE digest_marks (
    channel_id TEXT PRIMARY KEY,
    last_fire_at INTEGER NOT NULL
);
