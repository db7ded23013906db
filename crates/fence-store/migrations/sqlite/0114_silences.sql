-- Silences (SPEC §12): matchers (JSON, `fence_core::silence::Matchers`), a reason, an author and an expiry; ending
-- one early moves its expiry to now. `matched` counts the findings it kept quiet. A finding stored while a silence
-- matched it names it in `silence_id`; `rule` and `package` are what silences match besides the finding's own
-- fields. Findings under a silence are found by a partial index, however many others are stored.
CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    matchers TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    matched INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX silences_org_expiry ON silences (org_id, expires_at);
ALTER TABLE findings ADD COLUMN rule TEXT;
ALTER TABLE findings ADD COLUMN package TEXT;
ALTER TABLE findings ADD COLUMN silence_id TEXT;
CREATE INDEX findings_silenced ON findings (org_id, silence_id) WHERE silence_id IS NOT NULL;
