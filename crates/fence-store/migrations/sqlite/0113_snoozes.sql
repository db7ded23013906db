-- Snoozes that end: the scheduler wakes findings whose snooze is over (status back to open, a "Snooze ended"
-- follow-up to the channels that take them), found by this index however many findings are stored.
CREATE INDEX findings_snoozed ON findings (snoozed_until) WHERE status = 'snoozed';
