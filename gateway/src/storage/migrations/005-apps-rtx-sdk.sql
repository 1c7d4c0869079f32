-- Messages from apps (F-10.3: SendNotify of the RTX-compatible 8012 front; the
-- open API's apps reuse this), and the secret of the gateway's SSO signatures
-- (SignAuth.cgi, the client request sso.sign). docs/protocol/rtx-sdk-compat.md.

-- An app that sends messages. `key` is the id clients see in the conversation
-- {kind: "app", id: key}; the row id is what messages store. An app's messages
-- carry sender_id = -apps.id (user ids are positive), so the (sender_id, cmid)
-- de-duplication works for apps as it does for people.
CREATE TABLE apps (
  id         INTEGER PRIMARY KEY,
  key        TEXT NOT NULL UNIQUE,
  name       TEXT NOT NULL,
  origin     TEXT NOT NULL DEFAULT 'builtin',
  created_at INTEGER NOT NULL
);
-- The built-in system app: notifications from scripts and systems (SendNotify.cgi).
INSERT INTO apps (id, key, name, origin, created_at) VALUES (1, 'system', '系统通知', 'builtin', 0);

-- conv_kind gains 'app' (conv_id = apps.id). SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with the same rows and ids.
CREATE TABLE messages_v5 (
  id          INTEGER PRIMARY KEY,
  sender_id   INTEGER NOT NULL,
  cmid        TEXT NOT NULL,
  conv_kind   TEXT NOT NULL CHECK (conv_kind IN ('user', 'group', 'app')),
  conv_id     INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  body        TEXT NOT NULL,
  mentions    TEXT,
  origin      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  recalled_at INTEGER,
  UNIQUE (sender_id, cmid)
);
INSERT INTO messages_v5 (id, sender_id, cmid, conv_kind, conv_id, kind, body, mentions, origin, created_at, recalled_at)
  SELECT id, sender_id, cmid, conv_kind, conv_id, kind, body, mentions, origin, created_at, recalled_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v5 RENAME TO messages;
CREATE INDEX messages_conv ON messages (conv_kind, conv_id, id);

-- The key of the gateway's SSO signatures (HMAC-SHA256), made on first use.
-- Replacing it invalidates every signature handed out.
CREATE TABLE sso_secret (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  secret     BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
