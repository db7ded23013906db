-- Every filter combination the API serves by index reads newest first from an index of its own, however many
-- findings are stored; others are a bounded scan (Store::list_findings).
CREATE INDEX findings_severity ON findings (org_id, severity, id);
CREATE INDEX findings_domain ON findings (org_id, domain, id);
CREATE INDEX findings_status ON findings (org_id, status, id);
CREATE INDEX findings_severity_status ON findings (org_id, severity, status, id);
CREATE INDEX findings_domain_severity_status ON findings (org_id, domain, severity, status, id);
-- Nothing reads findings by change time any more (the send-time check has its partial index, findings_quiet).
DROP INDEX findings_updated;
-- How many findings an organization has, kept by ingest (findings are never deleted), instead of counting them.
ALTER TABLE organizations ADD COLUMN findings_count INTEGER NOT NULL DEFAULT 0;
UPDATE organizations SET findings_count = (SELECT COUNT(*) FROM findings f WHERE f.org_id = organizations.id);
