-- Escalation and Acknowledge (SPEC §11): who acknowledged a finding and when; and per channel with an escalation,
-- how far its sent vulnerability deliveries have been looked at (`scanned_to`, a sent_at), moved by compare-and-set
-- in the commit that queues the channel's escalation, so each delivery escalates once across processes. Sent
-- deliveries of a channel are read in sent_at order by a partial index.
ALTER TABLE findings ADD COLUMN acknowledged_by TEXT;
ALTER TABLE findings ADD COLUMN acknowledged_at INTEGER;
CREATE TABLE escalation_marks (
    channel_id TEXT PRIMARY KEY,
    scanned_to INTEGER NOT NULL
);
CREATE INDEX deliveries_channel_sent ON deliveries (channel_id, sent_at) WHERE state = 'sent';
