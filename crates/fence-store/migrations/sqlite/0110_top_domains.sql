-- The dashboard's most affected domains: each organization's ten domains with the most open findings, as counted
-- by the minute job (Store::refresh_top_domains) from the domain-first index, so the dashboard reads ten rows
-- instead of counting a million findings; at most a minute old.
CREATE TABLE top_domains (
    org_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    open_findings BIGINT NOT NULL,
    counted_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, domain)
);
