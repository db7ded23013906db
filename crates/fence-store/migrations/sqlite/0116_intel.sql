-- Exploitability intelligence (SPEC §11), instance-wide: CISA KEV and FIRST EPSS by CVE, each replaced atomically
-- from a staging table so a reload writes only the rows that changed; what each feed was when last loaded; and per
-- finding when its "Now Known Exploited" alert was raised (once). Findings are matched to a feed by their CVE.
CREATE TABLE intel_kev (
    cve TEXT PRIMARY KEY,
    date_added TEXT NOT NULL,
    due_date TEXT,
    ransomware INTEGER NOT NULL
);
CREATE TABLE intel_kev_next (
    cve TEXT PRIMARY KEY,
    date_added TEXT NOT NULL,
    due_date TEXT,
    ransomware INTEGER NOT NULL
);
CREATE TABLE intel_epss (
    cve TEXT PRIMARY KEY,
    score REAL NOT NULL,
    percentile REAL NOT NULL
);
CREATE TABLE intel_epss_next (
    cve TEXT PRIMARY KEY,
    score REAL NOT NULL,
    percentile REAL NOT NULL
);
CREATE TABLE intel_feeds (
    feed TEXT PRIMARY KEY,
    entries INTEGER NOT NULL,
    loaded_at INTEGER NOT NULL
);
ALTER TABLE findings ADD COLUMN kev_alerted_at INTEGER;
CREATE INDEX findings_cve ON findings (cve, status) WHERE cve IS NOT NULL;
