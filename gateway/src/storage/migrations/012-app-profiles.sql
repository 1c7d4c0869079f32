-- What people see of an app (docs/admin-api-apps.md, F-4.2–F-4.4): a
-- description, a logo (the sha256 name of a row of app_logos), the app's home
-- page URL, the third-party mobile-app jump (a URL or app scheme that mobile
-- clients open; desktop clients hide it), and the members who manage the app
-- (JSON array of user ids; they are people of the organisation, not console
-- administrators).
ALTER TABLE apps ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN logo TEXT;
ALTER TABLE apps ADD COLUMN home_url TEXT;
ALTER TABLE apps ADD COLUMN mobile_url TEXT;
ALTER TABLE apps ADD COLUMN managers TEXT NOT NULL DEFAULT '[]';

-- App logos: PNG or JPEG images of at most 512 KB, checked by their first
-- bytes, named by the sha256 of their bytes (so a name never needs escaping
-- and the same image is stored once). Kept in the database so a logo is
-- written in one transaction with the app that uses it and travels in backups.
CREATE TABLE app_logos (
  name       TEXT PRIMARY KEY,
  mime       TEXT NOT NULL CHECK (mime IN ('image/png', 'image/jpeg')),
  bytes      BLOB NOT NULL,
  created_at INTEGER NOT NULL
);

-- The file-transfer assistant (F-4.2): a conversation with yourself across
-- devices. Its messages are ordinary 1:1 messages to oneself; this row lets
-- administrators name, describe, show or hide it like the other apps.
INSERT OR IGNORE INTO apps (key, name, origin, created_at, kind, rights, visibility)
  VALUES ('fileTransfer', '文件传输助手', 'builtin', 0, 'system', '[]', '{"all":true}');
