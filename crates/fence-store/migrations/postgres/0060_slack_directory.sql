-- The cached directory of each Slack workspace Fence resolves mention names in (users, user groups, channels),
-- read in the background and shared by every process. A workspace is keyed by its team id ("team:T…") or by a
-- keyed hash of the bot token ("token:…") when its team is unknown — never by the token itself.
CREATE TABLE slack_workspaces (
    workspace TEXT PRIMARY KEY,
    -- The bot token the background refresh reads with, encrypted like channel bot tokens.
    token_enc TEXT NOT NULL,
    -- When a save last asked for this workspace; when the last complete read finished (NULL: never read).
    requested_at BIGINT NOT NULL,
    refreshed_at BIGINT,
    -- The last read's failures per list ({"usergroups.list": "missing_scope (needs usergroups:read)"}).
    errors TEXT NOT NULL DEFAULT '{}'
);

-- One user (by its unique username), user group (by handle) or channel (by name) of a workspace; name lower-cased
-- for look-ups, label as Slack spells it.
CREATE TABLE slack_directory (
    workspace TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (workspace, kind, id)
);
CREATE INDEX slack_directory_by_name ON slack_directory (workspace, kind, name);

-- The organization's own Slack install ("Add to Slack"): its workspace and bot token (encrypted), with which
-- channels that have no bot token of their own (plain webhooks) resolve mention names.
CREATE TABLE slack_org_installs (
    org_id TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    team_id TEXT NOT NULL,
    bot_token_enc TEXT NOT NULL,
    installed_at BIGINT NOT NULL
);
