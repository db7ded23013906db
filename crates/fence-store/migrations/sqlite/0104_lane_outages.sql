-- A destination's failing streak: how many attempts in a row failed with a retryable error, and since when. Back-off
-- grows with the streak until it reaches the probe interval; from then on the destination is in an outage, probed
-- once per interval, and its deliveries do not age toward max_retry_age (Dispatcher::retry_or_probe).
ALTER TABLE lanes ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lanes ADD COLUMN outage_since BIGINT;
