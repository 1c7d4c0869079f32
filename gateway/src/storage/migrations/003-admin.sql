-- Console administration (F-2.2, F-3.9): administrator accounts, roles with
-- rights and department scopes, console sessions, and the administrator action log.

CREATE TABLE admin_accounts (
  id                  INTEGER PRIMARY KEY,
  -- fixed after creation; 3-32 characters of letters, digits, . _ - (checked by the service)
  username            TEXT NOT NULL COLLATE NOCASE UNIQUE,
  password_hash       TEXT NOT NULL,
  display_name        TEXT NOT NULL DEFAULT '',
  disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at          INTEGER NOT NULL,
  password_changed_at INTEGER NOT NULL
);

-- A role carries rights and a scope. The built-in super-admin role has every right
-- (implicitly, including rights added later) over the whole organisation.
-- A role with no scope rows covers the whole organisation only when builtin = 1
-- or whole_org = 1; otherwise its department-bound rights reach no department.
CREATE TABLE admin_roles (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL COLLATE NOCASE UNIQUE,
  builtin    INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
  whole_org  INTEGER NOT NULL DEFAULT 0 CHECK (whole_org IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX admin_roles_one_builtin ON admin_roles (builtin) WHERE builtin = 1;

-- No CHECK on the right's value: new rights must not need a table rebuild.
CREATE TABLE admin_role_rights (
  role_id INTEGER NOT NULL REFERENCES admin_roles(id) ON DELETE CASCADE,
  "right" TEXT NOT NULL,
  PRIMARY KEY (role_id, "right")
) WITHOUT ROWID;

-- A scope is a set of department subtrees. Deleting a department drops it from every
-- scope (a scope never silently covers a later department that reuses the id).
CREATE TABLE admin_role_scopes (
  role_id INTEGER NOT NULL REFERENCES admin_roles(id) ON DELETE CASCADE,
  dept_id INTEGER NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
  PRIMARY KEY (role_id, dept_id)
) WITHOUT ROWID;
CREATE INDEX admin_role_scopes_dept ON admin_role_scopes (dept_id);

-- Roles are never deleted while assigned (the service refuses), hence no cascade on role_id.
CREATE TABLE admin_account_roles (
  account_id INTEGER NOT NULL REFERENCES admin_accounts(id) ON DELETE CASCADE,
  role_id    INTEGER NOT NULL REFERENCES admin_roles(id),
  PRIMARY KEY (account_id, role_id)
) WITHOUT ROWID;
CREATE INDEX admin_account_roles_role ON admin_account_roles (role_id);

-- Console sessions: only the SHA-256 of the cookie token is stored.
CREATE TABLE admin_sessions (
  token_hash   TEXT PRIMARY KEY,
  account_id   INTEGER NOT NULL REFERENCES admin_accounts(id) ON DELETE CASCADE,
  csrf_token   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  address      TEXT,
  user_agent   TEXT
) WITHOUT ROWID;
CREATE INDEX admin_sessions_account ON admin_sessions (account_id, created_at);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

-- What administrators did. No foreign key: entries outlive the accounts they name.
-- before_json / after_json never hold secrets (the service strips them).
CREATE TABLE admin_action_log (
  id             INTEGER PRIMARY KEY,
  at             INTEGER NOT NULL,
  admin_id       INTEGER,
  admin_username TEXT NOT NULL,
  action         TEXT NOT NULL,
  target_kind    TEXT,
  target_id      TEXT,
  target_label   TEXT,
  before_json    TEXT,
  after_json     TEXT,
  address        TEXT
);
CREATE INDEX admin_action_log_at ON admin_action_log (at);
CREATE INDEX admin_action_log_admin ON admin_action_log (admin_id, at);
CREATE INDEX admin_action_log_action ON admin_action_log (action, at);
CREATE INDEX admin_action_log_target ON admin_action_log (target_kind, target_id, at);

INSERT INTO admin_roles (id, name, builtin, whole_org, created_at, updated_at)
VALUES (1, '超级管理员', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
