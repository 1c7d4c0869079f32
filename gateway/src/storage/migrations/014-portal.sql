-- The mobile workbench (F-4.1) and portal templates (F-5.1); docs/admin-api-portal.md.

-- Custom workbench banner images: PNG or JPEG of at most 1 MB, checked by
-- their first bytes, named by the sha256 of their bytes (like app_logos), kept
-- in the database so they travel in backups. The six built-in banners ship
-- with the product (gateway/assets/workbench) and are never stored here.
CREATE TABLE workbench_images (
  name       TEXT PRIMARY KEY,
  mime       TEXT NOT NULL CHECK (mime IN ('image/png', 'image/jpeg')),
  bytes      BLOB NOT NULL,
  created_at INTEGER NOT NULL
);

-- The workbench every client shows above its apps: one row. `banners` is a
-- JSON array of {image, link}: `image` is `default-1`…`default-6` or the name
-- of a row of workbench_images; `link` an http(s) URL or null.
CREATE TABLE workbench (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  title      TEXT NOT NULL,
  banners    TEXT NOT NULL,
  version    INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
INSERT INTO workbench (id, title, banners, version, updated_at)
  VALUES (1, '工作台', '[{"image":"default-1","link":null},{"image":"default-2","link":null},{"image":"default-3","link":null}]', 1, 0);

-- Portal templates. The default template (is_default = 1: every app a person
-- may see, every member) always exists. A custom template names its apps in
-- sections (JSON [{title, apps: [app row ids]}]) and its members (JSON
-- {depts, users}; a department counts with its subdepartments). A person gets
-- the custom template with the lowest `priority` that includes them, else the
-- default.
CREATE TABLE portal_templates (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0,
  priority   INTEGER NOT NULL,
  sections   TEXT NOT NULL DEFAULT '[]',
  members    TEXT NOT NULL DEFAULT '{"depts":[],"users":[]}',
  version    INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX portal_templates_one_default ON portal_templates (is_default) WHERE is_default = 1;
INSERT INTO portal_templates (id, name, is_default, priority, created_at, updated_at) VALUES (1, '默认模板', 1, 0, 0, 0);
