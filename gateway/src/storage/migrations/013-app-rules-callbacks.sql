-- People talking to apps (docs/apps-callbacks.md): keyword auto-reply rules,
-- custom menus, and the persisted queue of callbacks to the app's server.

-- Keyword auto-reply (F-4.6). `match`: exact | contains | regex | default (the
-- reply when no other rule matched; `pattern` is then ''). Higher `priority`
-- is tried first, ties by id. `reply_kind`/`reply_body`: an app message
-- (kind and JSON body as the messaging layer validates them).
CREATE TABLE app_reply_rules (
  id          INTEGER PRIMARY KEY,
  app_row_id  INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  match       TEXT NOT NULL CHECK (match IN ('exact', 'contains', 'regex', 'default')),
  pattern     TEXT NOT NULL DEFAULT '',
  priority    INTEGER NOT NULL DEFAULT 0,
  reply_kind  TEXT NOT NULL,
  reply_body  TEXT NOT NULL,
  enabled     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX app_reply_rules_app ON app_reply_rules (app_row_id, priority DESC, id);

-- Custom menus (F-4.7): the whole menu of an app as JSON (at most 3 items of
-- at most 5 sub-items, validated by the service).
CREATE TABLE app_menus (
  app_row_id  INTEGER PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
  menu        TEXT NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  updated_at  INTEGER NOT NULL
);

-- Callbacks to the app's server (F-4.8, wire spec §6). One row per payload;
-- `payload` is the plaintext JSON (encrypted afresh for every attempt).
-- `state`: pending (waiting for next_at; an app's deliveries go out in id
-- order, one at a time) | delivered | failed (24 h passed, or refused by the
-- outbound guard). `replay_of`: the delivery this one replays from the console.
CREATE TABLE app_callback_deliveries (
  id            INTEGER PRIMARY KEY,
  app_row_id    INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  package_id    TEXT NOT NULL,
  msg_type      TEXT NOT NULL,
  payload       TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts      INTEGER NOT NULL DEFAULT 0,
  next_at       INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  delivered_at  INTEGER,
  last_error    TEXT,
  replay_of     INTEGER
);
CREATE INDEX app_callback_pending ON app_callback_deliveries (state, app_row_id, id);
CREATE INDEX app_callback_app ON app_callback_deliveries (app_row_id, id);

-- Every attempt of a delivery: when, how long, the HTTP status if any, and the
-- outcome (acked | http_error | not_acked | timeout | network | refused | redirect).
CREATE TABLE app_callback_attempts (
  id           INTEGER PRIMARY KEY,
  delivery_id  INTEGER NOT NULL REFERENCES app_callback_deliveries (id) ON DELETE CASCADE,
  at           INTEGER NOT NULL,
  duration_ms  INTEGER NOT NULL,
  http_status  INTEGER,
  outcome      TEXT NOT NULL,
  detail       TEXT
);
CREATE INDEX app_callback_attempts_delivery ON app_callback_attempts (delivery_id, id);
