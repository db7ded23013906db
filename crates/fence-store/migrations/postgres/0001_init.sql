-- Fence schema (PostgreSQL). Times are milliseconds since the Unix epoch (BIGINT) so both dialects agree.
CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    plan TEXT NOT NULL,
    slack_team_id TEXT,
    triage_allow TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    label TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    monitor_certificates BIGINT NOT NULL DEFAULT 0,
    port BIGINT NOT NULL DEFAULT 443,
    renew_url TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE findings (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    fingerprint TEXT NOT NULL,
    domain TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank BIGINT NOT NULL,
    cvss DOUBLE PRECISION,
    cvss_vector TEXT,
    cve TEXT,
    owasp TEXT,
    category TEXT,
    affected_url TEXT,
    description TEXT,
    remediation TEXT,
    scanner TEXT,
    scan_id TEXT,
    detected_at BIGINT,
    status TEXT NOT NULL,
    snoozed_until BIGINT,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, fingerprint)
);
CREATE INDEX findings_org_id ON findings (org_id, id);

CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    webhook_url_enc TEXT NOT NULL,
    webhook_hint TEXT NOT NULL,
    destination TEXT NOT NULL,
    bot_token_enc TEXT,
    slack_channel_id TEXT,
    channel TEXT,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    status_error TEXT,
    status_hint TEXT,
    status_since BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX channels_org ON channels (org_id);

-- Alerts are stored once per ingest (or notice) and shared by every channel's delivery.
CREATE TABLE alert_sets (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    alerts TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    finding_id TEXT,
    alert_set_id TEXT NOT NULL,
    -- Which alerts of the set this channel gets (JSON list of indices); NULL for all of them.
    alert_indices TEXT,
    alert_count BIGINT NOT NULL,
    severity_rank BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    plain_fallback BIGINT NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    first_attempt_at BIGINT,
    sent_at BIGINT,
    last_error TEXT,
    claim_token TEXT,
    claim_until BIGINT
);
CREATE INDEX deliveries_state_due ON deliveries (state, due_at);
CREATE INDEX deliveries_dest ON deliveries (destination, state, due_at);
CREATE INDEX deliveries_channel ON deliveries (channel_id, state);
CREATE INDEX deliveries_claim ON deliveries (claim_token);

CREATE TABLE lanes (
    destination TEXT PRIMARY KEY,
    next_slot_at BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_org ON audit_log (org_id, id);
