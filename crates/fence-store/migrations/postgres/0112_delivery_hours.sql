-- The dashboard's delivery health per organization and hour (hours since 1970-01-01, UTC), as rows of changes that
-- add up to it, like finding_days: messages Slack accepted (the group commit of sent claims appends one row per
-- hour it covers), 429 answers and failed attempts (appended with the claim's outcome). The minute job sums them up
-- (Store::compact_delivery_hours) and drops hours older than 30 days.
CREATE TABLE delivery_hours (
    seq BIGSERIAL PRIMARY KEY,
    org_id TEXT NOT NULL,
    hour BIGINT NOT NULL,
    sent BIGINT NOT NULL DEFAULT 0,
    rate_limited BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX delivery_hours_org ON delivery_hours (org_id, hour);
-- What history allows: each sent delivery still stored as one message (a coalesced message counted several times).
INSERT INTO delivery_hours (org_id, hour, sent)
    SELECT org_id, sent_at / 3600000, COUNT(*) FROM deliveries
    WHERE state = 'sent' AND sent_at IS NOT NULL
    GROUP BY org_id, sent_at / 3600000;
