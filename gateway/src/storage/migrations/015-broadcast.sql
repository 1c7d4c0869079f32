-- System broadcast (F-4.10) and members' broadcast rights (F-6.2); docs/broadcast.md.

-- Members allowed to broadcast from their clients. `scope`: 'all' = to
-- everyone, any department or person; 'dept' = only to their own departments
-- (with subdepartments) and the people in them. A deleted member loses it.
CREATE TABLE broadcast_rights (
  user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  scope      TEXT NOT NULL CHECK (scope IN ('all', 'dept')),
  granted_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Every broadcast, by a member or an administrator. The sender's name and
-- account are kept as they were, so the history outlives the account.
-- `targets` is JSON {all, depts, users}; `reached` the people whose inbox got
-- it. A row is 'sending' from the rate-limit check until the message is
-- stored, then 'sent' (a send that fails removes its row).
CREATE TABLE broadcasts (
  id              INTEGER PRIMARY KEY,
  sender_kind     TEXT NOT NULL CHECK (sender_kind IN ('member', 'admin')),
  sender_user_id  INTEGER,
  sender_admin_id INTEGER,
  sender_name     TEXT NOT NULL,
  sender_account  TEXT NOT NULL,
  title           TEXT NOT NULL,
  targets         TEXT NOT NULL,
  online_only     INTEGER NOT NULL CHECK (online_only IN (0, 1)),
  message_id      INTEGER,
  reached         INTEGER NOT NULL DEFAULT 0,
  status          TEXT NOT NULL CHECK (status IN ('sending', 'sent')),
  created_at      INTEGER NOT NULL
);
CREATE INDEX broadcasts_member ON broadcasts (sender_user_id, created_at) WHERE sender_user_id IS NOT NULL;
CREATE INDEX broadcasts_created ON broadcasts (created_at);
