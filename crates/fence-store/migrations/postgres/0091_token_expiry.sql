-- A token may expire: it stops authenticating at expires_at (ms since the epoch); NULL never expires.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
