-- The dashboard's trends, per organization and UTC day (days since 1970-01-01), as rows of changes that add up to
-- it, like finding_counts: findings first seen (ingest appends one row per batch), findings closed (resolved or
-- false positive), findings triaged for the first time with the time it took (acknowledged, false positive,
-- snoozed or resolved: triaged_at), and findings resolved with the time their resolve period lasted (from first
-- seen, or from the last reopen: resolve_from). The trigger writes them in the transaction that changes the status;
-- the minute job sums them up (Store::compact_finding_days).
ALTER TABLE findings ADD COLUMN triaged_at BIGINT;
ALTER TABLE findings ADD COLUMN resolved_at BIGINT;
ALTER TABLE findings ADD COLUMN resolve_from BIGINT;
CREATE TABLE finding_days (
    seq BIGSERIAL PRIMARY KEY,
    org_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    opened BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    triaged BIGINT NOT NULL DEFAULT 0,
    triage_ms BIGINT NOT NULL DEFAULT 0,
    resolved BIGINT NOT NULL DEFAULT 0,
    resolve_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX finding_days_org ON finding_days (org_id, day);
INSERT INTO finding_days (org_id, day, opened)
    SELECT org_id, first_seen / 86400000, COUNT(*) FROM findings GROUP BY org_id, first_seen / 86400000;
INSERT INTO finding_days (org_id, day, closed)
    SELECT org_id, updated_at / 86400000, COUNT(*) FROM findings
    WHERE status IN ('resolved', 'false_positive') GROUP BY org_id, updated_at / 86400000;
CREATE FUNCTION finding_days_status() RETURNS trigger AS $$
BEGIN
    IF OLD.triaged_at IS NULL AND NEW.status <> 'open' THEN
        INSERT INTO finding_days (org_id, day, triaged, triage_ms)
            VALUES (NEW.org_id, NEW.updated_at / 86400000, 1, GREATEST(NEW.updated_at - NEW.first_seen, 0));
        NEW.triaged_at := NEW.updated_at;
    END IF;
    IF NEW.status IN ('resolved', 'false_positive') AND OLD.status NOT IN ('resolved', 'false_positive') THEN
        INSERT INTO finding_days (org_id, day, closed) VALUES (NEW.org_id, NEW.updated_at / 86400000, 1);
    END IF;
    IF NEW.status = 'resolved' THEN
        INSERT INTO finding_days (org_id, day, resolved, resolve_ms)
            VALUES (NEW.org_id, NEW.updated_at / 86400000, 1, GREATEST(NEW.updated_at - COALESCE(OLD.resolve_from, OLD.first_seen), 0));
        NEW.resolved_at := NEW.updated_at;
    ELSIF NEW.status = 'open' THEN
        NEW.resolved_at := NULL;
        IF OLD.status IN ('resolved', 'false_positive') THEN
            NEW.resolve_from := NEW.updated_at;
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER finding_days_status BEFORE UPDATE OF status ON findings
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION finding_days_status();
