-- What the open API's organisation, group and session endpoints keep beside
-- the directory (docs/open-api.md "Organisation", "Groups", "Sessions").
-- Department and user ids are the directory's own: the API's dept id is
-- departments.id, its userId is users.account and its gid is users.id. Rows
-- here go with their directory row (ON DELETE CASCADE).

-- A department's alias (dept/getid): unique when set.
CREATE TABLE openapi_dept_alias (
  dept_id INTEGER PRIMARY KEY REFERENCES departments(id) ON DELETE CASCADE,
  alias   TEXT NOT NULL UNIQUE
);

-- Per user: the short code, extra attributes (JSON [{name, value}]), the
-- needchangepwd flag, how the user authenticates (0 local, 1 rtx, 2 third
-- party) and when the user quit (user/quit; null = not quit).
CREATE TABLE openapi_user_extra (
  user_id          INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  short_code       TEXT NOT NULL DEFAULT '',
  attrs            TEXT NOT NULL DEFAULT '[]',
  need_change_pwd  INTEGER NOT NULL DEFAULT 0 CHECK (need_change_pwd IN (0, 1)),
  auth_type        INTEGER NOT NULL DEFAULT 0,
  quit_at          INTEGER
);

-- Per user and department: position, weight and sort id (deptDetail).
CREATE TABLE openapi_user_dept (
  user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  dept_id  INTEGER NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
  position TEXT NOT NULL DEFAULT '',
  weight   INTEGER NOT NULL DEFAULT 0,
  sort_id  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, dept_id)
) WITHOUT ROWID;

-- The GUID-looking id the API gives a group or a session, and for sessions
-- their version (int64, bumped on every change) and type.
CREATE TABLE openapi_groups (
  guid     TEXT PRIMARY KEY,
  group_id INTEGER NOT NULL UNIQUE REFERENCES groups(id) ON DELETE CASCADE,
  kind     TEXT NOT NULL CHECK (kind IN ('group', 'session')),
  version  INTEGER NOT NULL DEFAULT 1,
  type     TEXT NOT NULL DEFAULT 'multi'
) WITHOUT ROWID;

-- Full-sync jobs (org/replaceall, org/xmlsync): state 1 running, 3 done,
-- 4 failed; `desc` is what getjobresult shows.
CREATE TABLE openapi_jobs (
  id          TEXT PRIMARY KEY,
  app_row     INTEGER NOT NULL,
  type        TEXT NOT NULL,
  state       INTEGER NOT NULL CHECK (state IN (1, 3, 4)),
  desc        TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  finished_at INTEGER
) WITHOUT ROWID;
CREATE INDEX openapi_jobs_running ON openapi_jobs (state) WHERE state = 1;
