-- The scan queue is served round-robin across organizations: the next scan is of the organization whose latest
-- scan started longest ago.
CREATE INDEX scans_org_started ON scans (org_id, started_at);
