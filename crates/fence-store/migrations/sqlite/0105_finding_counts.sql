-- How many findings each organization has per severity and status, as rows of changes that add up to it: ingest
-- appends one per severity and batch, a trigger two per status or severity change (in the transaction that makes
-- it), and a job sums them up every minute (Store::compact_finding_counts). Only appended to, so writers on
-- PostgreSQL never wait for one another's counter rows; the dashboard sums a few hundred rows, not a million.
CREATE TABLE finding_counts (
    seq INTEGER PRIMARY KEY,
    org_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL
);
CREATE INDEX finding_counts_org ON finding_counts (org_id);
INSERT INTO finding_counts (org_id, severity, status, n)
    SELECT org_id, severity, status, COUNT(*) FROM findings GROUP BY org_id, severity, status;
CREATE TRIGGER finding_counts_change AFTER UPDATE OF status, severity ON findings
    WHEN OLD.status IS NOT NEW.status OR OLD.severity IS NOT NEW.severity BEGIN
    INSERT INTO finding_counts (org_id, severity, status, n) VALUES (OLD.org_id, OLD.severity, OLD.status, -1);
    INSERT INTO finding_counts (org_id, severity, status, n) VALUES (NEW.org_id, NEW.severity, NEW.status, 1);
END;
