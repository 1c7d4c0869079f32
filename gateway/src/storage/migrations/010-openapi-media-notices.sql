-- Media of the open API (docs/open-api.md "Media"): the spec's mediaId
-- (32 hex digits, '-', the size in bytes) names a blob of the files service
-- (content-addressed, table files) with the display name and type the app gave
-- at upload. `app_row` (apps.id) is the app that may use it.
CREATE TABLE openapi_media (
  media_id   TEXT PRIMARY KEY,
  app_row    INTEGER NOT NULL,
  file_id    TEXT NOT NULL,
  name       TEXT NOT NULL,
  type       TEXT NOT NULL CHECK (type IN ('image', 'file', 'voice', 'video')),
  size       INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX openapi_media_file ON openapi_media (file_id);

-- A user's avatar (open API avatar/set, avatar/get): a blob of the files service.
CREATE TABLE user_avatars (
  user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  file_id    TEXT NOT NULL,
  name       TEXT NOT NULL,
  size       INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- App badge counts (待办数, open API set.ent.notice) per user and app; a count
-- of 0 deletes the row. Kept so a client that logs in later is told them.
CREATE TABLE app_badges (
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  app_row    INTEGER NOT NULL,
  count      INTEGER NOT NULL CHECK (count > 0),
  tip        TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, app_row)
) WITHOUT ROWID;
