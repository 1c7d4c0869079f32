-- The RTX plugin channel (port 7014): the connection code, and the gateway's
-- side of the reliable stream to the adapter (docs/protocol/plugin-v1.md).

-- The connection code shown in the console (Settings → RTX integration). Kept
-- in clear like an API key: the console must show it again; never logged.
CREATE TABLE rtx_connection_code (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  code TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

-- One row per adapter stream (adapter id). Exactly one row is bound: the
-- stream the gateway's outbound frames go to. '' is the placeholder bound
-- before any adapter ever connected.
CREATE TABLE plugin_stream (
  adapter_id TEXT PRIMARY KEY,
  bound INTEGER NOT NULL DEFAULT 0 CHECK (bound IN (0, 1)),
  in_seq INTEGER NOT NULL DEFAULT 0,     -- highest seq from the adapter durably processed
  out_seq INTEGER NOT NULL DEFAULT 0,    -- last seq handed out to a frame for the adapter
  out_acked INTEGER NOT NULL DEFAULT 0,  -- highest seq the adapter acknowledged
  name TEXT NOT NULL DEFAULT '',
  software TEXT NOT NULL DEFAULT '',
  first_seen_at INTEGER NOT NULL,
  last_seen_at INTEGER
);
CREATE UNIQUE INDEX plugin_stream_one_bound ON plugin_stream (bound) WHERE bound = 1;
INSERT INTO plugin_stream (adapter_id, bound, first_seen_at) VALUES ('', 1, 0);

-- Frames for the adapter not yet acknowledged, in seq order per stream.
CREATE TABLE plugin_outbox (
  adapter_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (adapter_id, seq)
) WITHOUT ROWID;
