-- A destination's failing streak: how many attempts in a row failed with a retryable error, since when, and when it
-- became an outage: the back-off reached the probe interval, or the streak lasted that long (slow failures such as
-- timeouts). In an outage the destination is probed once per interval and its deliveries do not age toward
-- max_retry_age (Dispatcher::retry_or_die).
ALTER TABLE lanes ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lanes ADD COLUMN streak_since BIGINT;
ALTER TABLE lanes ADD COLUMN outage_since BIGINT;
