-- A digest counts a period's new findings and picks its top ones by CVSS: both read only this index's range for the
-- period (first_seen only grows, so ingest appends to it), never the findings themselves (Store::new_findings).
CREATE INDEX findings_first_seen ON findings (org_id, first_seen, cvss, severity_rank, id);
