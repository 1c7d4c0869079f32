-- Directory, devices, messaging and files: the embedded SQLite schema, version 1.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('dir_version', '0');

CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE departments (
  id          INTEGER PRIMARY KEY,
  parent_id   INTEGER REFERENCES departments(id),
  name        TEXT NOT NULL,
  sort_order  INTEGER NOT NULL DEFAULT 0,
  origin      TEXT NOT NULL DEFAULT 'local',
  external_id TEXT,
  version     INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX departments_sibling_name ON departments (COALESCE(parent_id, 0), name);
CREATE INDEX departments_parent ON departments (parent_id, sort_order);
CREATE INDEX departments_version ON departments (version);
CREATE UNIQUE INDEX departments_external ON departments (origin, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE users (
  id              INTEGER PRIMARY KEY,
  account         TEXT NOT NULL COLLATE NOCASE UNIQUE,
  name            TEXT NOT NULL,
  pinyin          TEXT NOT NULL,
  pinyin_initials TEXT NOT NULL,
  mobile          TEXT NOT NULL DEFAULT '',
  email           TEXT NOT NULL DEFAULT '',
  phone           TEXT NOT NULL DEFAULT '',
  title           TEXT NOT NULL DEFAULT '',
  gender          TEXT NOT NULL DEFAULT 'unknown' CHECK (gender IN ('male', 'female', 'unknown')),
  status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  authorised      INTEGER NOT NULL DEFAULT 0 CHECK (authorised IN (0, 1)),
  -- 1 once an administrator (or auto-authorise at first login) decided; auto-authorise never overrides a decision
  auth_decided    INTEGER NOT NULL DEFAULT 0 CHECK (auth_decided IN (0, 1)),
  blocked         INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
  password_hash   TEXT,
  sort_order      INTEGER NOT NULL DEFAULT 0,
  origin          TEXT NOT NULL DEFAULT 'local',
  external_id     TEXT,
  version         INTEGER NOT NULL,
  row_version     INTEGER NOT NULL DEFAULT 1,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX users_version ON users (version);
CREATE INDEX users_pinyin ON users (pinyin);
CREATE INDEX users_mobile ON users (mobile) WHERE mobile <> '';
CREATE UNIQUE INDEX users_external ON users (origin, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE user_departments (
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  dept_id    INTEGER NOT NULL REFERENCES departments(id),
  is_main    INTEGER NOT NULL DEFAULT 0 CHECK (is_main IN (0, 1)),
  sort_order INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, dept_id)
) WITHOUT ROWID;
CREATE INDEX user_departments_dept ON user_departments (dept_id, sort_order);

-- Deleted directory objects, so clients can fetch deltas that include removals.
CREATE TABLE dir_tombstones (
  kind      TEXT NOT NULL CHECK (kind IN ('dept', 'user', 'group')),
  object_id INTEGER NOT NULL,
  version   INTEGER NOT NULL,
  PRIMARY KEY (kind, object_id)
) WITHOUT ROWID;
CREATE INDEX dir_tombstones_version ON dir_tombstones (version);

CREATE TABLE groups (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  owner_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
  origin      TEXT NOT NULL DEFAULT 'local',
  external_id TEXT,
  version     INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX groups_version ON groups (version);
CREATE UNIQUE INDEX groups_external ON groups (origin, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE group_members (
  group_id  INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id, group_id);

-- People who may exceed the group member limit (F-6.1).
CREATE TABLE group_limit_exempt (
  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE
);

CREATE TABLE devices (
  id             INTEGER PRIMARY KEY,
  user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  device_key     TEXT NOT NULL,
  type           TEXT NOT NULL,
  name           TEXT NOT NULL DEFAULT '',
  push_token     TEXT,
  last_seen_at   INTEGER,
  last_address   TEXT,
  created_at     INTEGER NOT NULL,
  UNIQUE (user_id, device_key)
);

CREATE TABLE device_tokens (
  token_hash TEXT PRIMARY KEY,
  device_id  INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX device_tokens_device ON device_tokens (device_id);

CREATE TABLE device_commands (
  id           INTEGER PRIMARY KEY,
  device_id    INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  kind         TEXT NOT NULL CHECK (kind IN ('force_offline', 'wipe')),
  issued_by    TEXT NOT NULL,
  issued_at    INTEGER NOT NULL,
  delivered_at INTEGER,
  acked_at     INTEGER
);
CREATE INDEX device_commands_pending ON device_commands (device_id) WHERE acked_at IS NULL;

CREATE TABLE messages (
  id          INTEGER PRIMARY KEY,
  sender_id   INTEGER NOT NULL,
  cmid        TEXT NOT NULL,
  conv_kind   TEXT NOT NULL CHECK (conv_kind IN ('user', 'group')),
  conv_id     INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  body        TEXT NOT NULL,
  mentions    TEXT,
  origin      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  recalled_at INTEGER,
  UNIQUE (sender_id, cmid)
);
CREATE INDEX messages_conv ON messages (conv_kind, conv_id, id);

-- Each recipient's inbox: seq 1, 2, 3... with no gaps, per user.
CREATE TABLE inbox (
  user_id    INTEGER NOT NULL,
  seq        INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  PRIMARY KEY (user_id, seq)
) WITHOUT ROWID;

CREATE TABLE read_state (
  user_id    INTEGER NOT NULL,
  conv_kind  TEXT NOT NULL,
  conv_id    INTEGER NOT NULL,
  up_to      INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, conv_kind, conv_id)
) WITHOUT ROWID;
CREATE INDEX read_state_conv ON read_state (conv_kind, conv_id, up_to);

-- Content-addressed blobs (sha256) and who may read them.
CREATE TABLE files (
  id         TEXT PRIMARY KEY,
  size       INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Who uploaded a blob (they may always read it back).
CREATE TABLE file_uploads (
  file_id    TEXT NOT NULL REFERENCES files(id),
  user_id    INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (file_id, user_id)
) WITHOUT ROWID;

-- Messages that carry a blob: members of their conversations may read it.
CREATE TABLE message_files (
  file_id    TEXT NOT NULL,
  message_id INTEGER NOT NULL,
  PRIMARY KEY (file_id, message_id)
) WITHOUT ROWID;

CREATE TABLE login_log (
  id         INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL,
  account    TEXT NOT NULL,
  user_id    INTEGER,
  device_key TEXT,
  client     TEXT,
  address    TEXT,
  ok         INTEGER NOT NULL,
  reason     TEXT
);
CREATE INDEX login_log_at ON login_log (at);

CREATE TABLE action_log (
  id     INTEGER PRIMARY KEY,
  at     INTEGER NOT NULL,
  actor  TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  detail TEXT
);
CREATE INDEX action_log_at ON action_log (at);
