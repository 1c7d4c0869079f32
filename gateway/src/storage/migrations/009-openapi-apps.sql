-- Apps of the open API (/cgi, docs/open-api.md): every app is keyed by
-- (buin, appId) and holds the EncodingAESKey its messages are encrypted with
-- (sealed with the data directory's secret box, docs/sync.md "Secrets").
-- The built-in `system` app (SendNotify.cgi) has no appId until an admin gives
-- it one. `kind`: builtin (made by the gateway for itself), system (the
-- assistants the spec names: sysOrgAssistant, sysMsgAssistant...), custom.
-- `rights`: JSON array of the open-API areas the app may call (docs/open-api.md
-- "Rights"). `visibility`: JSON {"all":true} or {"depts":[ids],"users":[ids]},
-- the people the app may reach and who see it. `token_gen` is part of every
-- access token the app holds: bumping it (new key, app disabled or deleted)
-- ends them all at once.
ALTER TABLE apps ADD COLUMN buin INTEGER;
ALTER TABLE apps ADD COLUMN app_id TEXT;
ALTER TABLE apps ADD COLUMN aes_key TEXT;
ALTER TABLE apps ADD COLUMN kind TEXT NOT NULL DEFAULT 'builtin' CHECK (kind IN ('builtin', 'system', 'custom'));
ALTER TABLE apps ADD COLUMN rights TEXT NOT NULL DEFAULT '[]';
ALTER TABLE apps ADD COLUMN visibility TEXT NOT NULL DEFAULT '{"all":true}';
ALTER TABLE apps ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE apps ADD COLUMN token_gen INTEGER NOT NULL DEFAULT 1;
ALTER TABLE apps ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE apps ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
-- The app's callback (wire spec §6): its URL and Token (sealed); messages to
-- it are encrypted with the app's own EncodingAESKey.
ALTER TABLE apps ADD COLUMN callback_url TEXT;
ALTER TABLE apps ADD COLUMN callback_token TEXT;
CREATE UNIQUE INDEX apps_buin_app_id ON apps (buin, app_id) WHERE app_id IS NOT NULL;

-- The key of the open API's access tokens (HMAC-SHA256), made on first use.
-- Tokens are stateless (docs/open-api.md "Tokens"): many valid at once per
-- app, 7200 s each, and they survive restarts. Replacing this key ends every
-- token handed out.
CREATE TABLE openapi_secret (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  secret     BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
