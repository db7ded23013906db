-- The certificate monitor's schedule per domain: when it was last checked, and a lease so that one process checks
-- it at a time (Store::claim_certificate_checks); several processes share a pass.
ALTER TABLE domains ADD COLUMN cert_checked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN cert_lease_owner TEXT;
ALTER TABLE domains ADD COLUMN cert_lease_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX domains_certificate_due ON domains (monitor_certificates, cert_checked_at);
