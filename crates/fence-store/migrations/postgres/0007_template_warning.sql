-- The last send-time failure of a channel's custom template (the default rendering was sent instead).
ALTER TABLE channels ADD COLUMN template_warning TEXT;
