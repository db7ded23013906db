-- Where the HTTP→HTTPS redirect of a domain is checked (80 unless the site lives on other ports).
ALTER TABLE domains ADD COLUMN http_port BIGINT NOT NULL DEFAULT 80;
