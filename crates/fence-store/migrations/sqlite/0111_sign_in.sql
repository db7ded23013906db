-- Sign in with Slack / OpenID Connect: a user's identity at the provider (issuer and subject, unique together),
-- and the sign-ins under way: the hash of each one's state (also the browser's cookie), its nonce and PKCE
-- verifier, the page to return to, and until when it may finish (it is deleted when it finishes, once).
ALTER TABLE users ADD COLUMN oidc_issuer TEXT;
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc_identity ON users (oidc_issuer, oidc_subject);

CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    next TEXT,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);
