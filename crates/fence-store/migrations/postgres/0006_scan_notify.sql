-- Where to post a scan's summary besides the channels (the response URL of the Slack command that queued it).
ALTER TABLE scans ADD COLUMN notify_url TEXT;
