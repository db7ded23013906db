-- The dashboard's trends, per organization and UTC day (days since 1970-01-01), as rows of changes that add up to
-- it, like finding_counts: findings first seen (ingest appends one row per batch), findings closed (resolved or
-- false positive), findings triaged for the first time with the time it took (acknowledged, false positive,
-- snoozed or resolved: triaged_at), and findings resolved with the time their resolve period lasted (from first
-- seen, or from the last reopen: resolve_from). The trigger writes them in the transaction that changes the status;
-- the minute job sums them up (Store::compact_finding_days).
ALTER TABLE findings ADD COLUMN triaged_at INTEGER;
ALTER TABLE findings ADD COLUMN resolved_at INTEGER;
ALTER TABLE findings ADD COLUMN resolve_from INTEGER;
CREATE TABLE finding_days (
    seq INTEGER PRIMARY KEY,
    org_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    opened INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0,
    triaged INTEGER NOT NULL DEFAULT 0,
    triage_ms INTEGER NOT NULL DEFAULT 0,
    resolved INTEGER NOT NULL DEFAULT 0,
    resolve_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX finding_days_org ON finding_days (org_id, day);
-- What history allows: every finding opened on its first day; those closed now, on the day they last changed.
INSERT INTO finding_days (org_id, day, opened)
    SELECT org_id, first_seen / 86400000, COUNT(*) FROM findings GROUP BY org_id, first_seen / 86400000;
INSERT INTO finding_days (org_id, day, closed)
    SELECT org_id, updated_at / 86400000, COUNT(*) FROM findings
    WHERE status IN ('resolved', 'false_positive') GROUP BY org_id, updated_at / 86400000;
CREATE TRIGGER finding_days_status AFTER UPDATE OF status ON findings
    WHEN OLD.status IS NOT NEW.status BEGIN
    INSERT INTO finding_days (org_id, day, triaged, triage_ms)
        SELECT NEW.org_id, NEW.updated_at / 86400000, 1, MAX(NEW.updated_at - NEW.first_seen, 0)
        WHERE OLD.triaged_at IS NULL AND NEW.status <> 'open';
    INSERT INTO finding_days (org_id, day, closed)
        SELECT NEW.org_id, NEW.updated_at / 86400000, 1
        WHERE NEW.status IN ('resolved', 'false_positive') AND OLD.status NOT IN ('resolved', 'false_positive');
    INSERT INTO finding_days (org_id, day, resolved, resolve_ms)
        SELECT NEW.org_id, NEW.updated_at / 86400000, 1, MAX(NEW.updated_at - COALESCE(OLD.resolve_from, OLD.first_seen), 0)
        WHERE NEW.status = 'resolved';
    UPDATE findings SET
        triaged_at = CASE WHEN triaged_at IS NULL AND NEW.status <> 'open' THEN NEW.updated_at ELSE triaged_at END,
        resolved_at = CASE WHEN NEW.status = 'resolved' THEN NEW.updated_at WHEN NEW.status = 'open' THEN NULL ELSE resolved_at END,
        resolve_from = CASE WHEN NEW.status = 'open' AND OLD.status IN ('resolved', 'false_positive') THEN NEW.updated_at ELSE resolve_from END
        WHERE id = NEW.id;
END;
