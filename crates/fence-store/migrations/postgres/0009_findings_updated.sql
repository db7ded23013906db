-- Findings triaged recently, looked up at send time.
CREATE INDEX findings_updated ON findings (org_id, updated_at);
