-- Findings silenced after their alerts were queued (false positive, resolved, snoozed), found by the dispatcher
-- before every send without reading the burst's open findings row by row. Partial: new (open) findings never
-- touch it, so ingest does not pay for it.
CREATE INDEX findings_quiet ON findings (org_id, updated_at) WHERE status IN ('false_positive', 'resolved', 'snoozed');
