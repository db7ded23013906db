-- Retention finds what aged out by index: sent deliveries by send time, alert sets no delivery refers to, old audit.
CREATE INDEX deliveries_sent ON deliveries (state, sent_at);
CREATE INDEX deliveries_alert_set ON deliveries (alert_set_id);
CREATE INDEX audit_created ON audit_log (created_at);
