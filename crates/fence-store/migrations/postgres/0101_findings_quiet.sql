-- Findings silenced after their alerts were queued (false positive, resolved, snoozed), found by the dispatcher
-- before every send without reading the burst's open findings row by row.
CREATE INDEX findings_quiet ON findings (org_id, status, updated_at);
