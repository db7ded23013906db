-- Messages posted with a bot token, per channel and finding: their ts threads follow-ups and allows updates.
CREATE TABLE slack_messages (
    channel_id TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    slack_channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    -- 1 when the message announced this finding alone (it can be re-rendered and updated).
    single BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, finding_id)
);
CREATE INDEX slack_messages_finding ON slack_messages (finding_id);
