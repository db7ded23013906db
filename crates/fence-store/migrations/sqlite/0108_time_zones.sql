-- Time zones the web pages show times in: the organization's (an IANA name, UTC until an admin sets one), and
-- each user's own (NULL: the organization's).
ALTER TABLE organizations ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE users ADD COLUMN timezone TEXT;
