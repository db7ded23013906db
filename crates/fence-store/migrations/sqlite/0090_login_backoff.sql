-- Log-in back-off is kept per (account, client address): a guesser slows down only itself, and cannot lock the
-- account's owner out from elsewhere.
ALTER TABLE login_failures ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE login_failures ADD COLUMN attempt_id TEXT NOT NULL DEFAULT '';
DROP INDEX login_failures_email;
CREATE INDEX login_failures_email_ip ON login_failures (email, ip, at);
CREATE INDEX login_failures_at ON login_failures (at);
CREATE INDEX login_failures_attempt ON login_failures (attempt_id);
