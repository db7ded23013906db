-- One organization per Slack workspace, enforced by the database so two claims at once cannot both win. Earlier
-- versions checked before writing; if a race ever left a workspace on two organizations, the older one (the one
-- Slack requests were already routed to) keeps it.
UPDATE organizations SET slack_team_id = NULL
 WHERE slack_team_id IS NOT NULL
   AND EXISTS (SELECT 1 FROM organizations o
                WHERE o.slack_team_id = organizations.slack_team_id
                  AND (o.created_at < organizations.created_at
                       OR (o.created_at = organizations.created_at AND o.id < organizations.id)));
CREATE UNIQUE INDEX organizations_slack_team ON organizations (slack_team_id);

-- "Add to Slack" attempts: each bound to the admin's session and to a nonce kept in an HttpOnly cookie, used once.
CREATE TABLE slack_installs (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    user_id TEXT NOT NULL,
    session_hash TEXT NOT NULL,
    nonce_hash TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX slack_installs_expires ON slack_installs (expires_at);
